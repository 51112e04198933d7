#version 330 core
// Normal pass: camera-space unit normal (OpenGL axes: x right, y up, z towards the viewer) as (n + 1) / 2.
uniform vec3 color;
in vec3 view_normal;
out vec4 frag_color;

void main()
{
    vec3 n = normalize(view_normal);
    if (!gl_FrontFacing) n = -n;
    frag_color = vec4(n * 0.5 + 0.5, 1.0);
}
