#version 330 core
// One vertex shader for every white-box pass, so all passes cover exactly the same pixels.
layout(location = 0) in vec3 position;
#ifdef NORMAL_LOC
layout(location = NORMAL_LOC) in vec3 normal;
#endif
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 P;
uniform mat4 V;
uniform mat4 M;

out vec3 view_normal;

void main()
{
    mat4 light_matrix = P * V;
    gl_Position = light_matrix * M * inst_m * vec4(position, 1.0);
#ifdef NORMAL_LOC
    mat3 N = transpose(inverse(mat3(V * M * inst_m)));
    view_normal = N * normal;
#else
    view_normal = vec3(0.0, 0.0, 1.0);
#endif
}
