#version 450
// One small compute job for the dispatch benchmark: every invocation writes
// one word, so the dispatch cannot be optimised away.
layout(local_size_x = 64) in;
layout(push_constant) uniform Push { uint base; } pc;
layout(std430, binding = 0) buffer Out { uint data[]; } o;
void main() {
  o.data[gl_GlobalInvocationID.x] = gl_GlobalInvocationID.x + pc.base;
}
