#version 450
// The demo scene's shading: the vertex color, lit by a soft diagonal light
// and darkened towards the corners of the image.
layout(location = 0) in vec3 v_color;
layout(location = 0) out vec4 out_color;

void main() {
  vec2 uv = gl_FragCoord.xy / 256.0;
  float light = 0.75 + 0.25 * (1.0 - uv.x * 0.5 - uv.y * 0.5);
  float vignette = 1.0 - 0.35 * dot(uv - 0.5, uv - 0.5);
  out_color = vec4(v_color * light * vignette, 1.0);
}
