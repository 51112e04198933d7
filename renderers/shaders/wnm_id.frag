#version 330 core
// Instance pass: the node's id colour, exactly (no lighting, no blending, no multisampling).
uniform vec3 color;
in vec3 view_normal;
out vec4 frag_color;

void main()
{
    frag_color = vec4(color, 1.0);
}
