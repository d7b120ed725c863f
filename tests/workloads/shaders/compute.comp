#version 450
// out[i] = in[i] * mul + add; per-workgroup sums through shared memory, added
// atomically into total.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer In { uint a[]; };
layout(set = 0, binding = 1) buffer Out { uint total; uint b[]; };
layout(push_constant) uniform Push { uint mul; uint add; uint n; };

shared uint partial[64];

void main() {
  uint i = gl_GlobalInvocationID.x;
  uint l = gl_LocalInvocationID.x;
  uint v = i < n ? a[i] * mul + add : 0u;
  if (i < n) b[i] = v;
  partial[l] = v;
  barrier();
  for (uint s = 32u; s > 0u; s >>= 1) {
    if (l < s) partial[l] += partial[l + s];
    barrier();
  }
  if (l == 0u) atomicAdd(total, partial[0]);
}
