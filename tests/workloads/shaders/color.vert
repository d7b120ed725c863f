#version 450
// Position and color straight through (the graphics workloads).
layout(location = 0) in vec3 pos;
layout(location = 1) in vec3 color;
layout(location = 0) out vec3 v_color;

void main() {
  v_color = color;
  gl_Position = vec4(pos, 1.0);
}
