#version 450
// Samples a 2D texture at the texel centers (nearest sampler) and at the
// texel corners (linear sampler), one texel per invocation.
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform sampler2D nearest_tex;
layout(set = 0, binding = 1) uniform sampler2D linear_tex;
layout(set = 0, binding = 2) buffer Out { uint nearest[256]; uint linear[256]; };

void main() {
  uvec2 p = gl_GlobalInvocationID.xy;
  vec2 size = vec2(textureSize(nearest_tex, 0));
  uint i = p.y * 16u + p.x;
  nearest[i] = packUnorm4x8(texture(nearest_tex, (vec2(p) + 0.5) / size));
  linear[i] = packUnorm4x8(textureLod(linear_tex, (vec2(p) + 1.0) / size, 0.0));
}
