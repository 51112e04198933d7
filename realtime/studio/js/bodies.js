// Characters' white-box bodies, as data from the server (SPEC §7.2, `GET /v1/templates`): the same volumes the
// renderer, the agents and the exports use. A character whose skeleton is a template's (same joints and parents,
// any scale) gets that template's volumes scaled by the ratio of its bone lengths (as core.body_volumes matches
// them); any other skeleton is drawn as joints and bones. A server without the route (older) is asked nothing:
// the OpenAPI schema says whether it is there.

export async function loadTemplates (api) {
  try {
    const schema = await (await fetch('/schema/openapi.json')).json()
    if (!schema.paths || !schema.paths['/v1/templates']) return null
    return await api.get('/v1/templates')
  } catch {
    return null
  }
}

const norm = (v) => Math.hypot(...v)

/** {name, scale} of the template `joints` are, or null (a custom skeleton, or one with radius_m). */
export function matchTemplate (templates, joints) {
  if (!templates || !Array.isArray(joints) || !joints.length || joints.some((j) => 'radius_m' in j)) return null
  const mine = new Set(joints.map((j) => `${j.name}\u0000${j.parent}`))
  for (const [name, t] of Object.entries(templates.templates || {})) {
    const ref = t.joints
    if (ref.length !== joints.length || !ref.every((j) => mine.has(`${j.name}\u0000${j.parent}`))) continue
    const total = joints.reduce((s, j) => s + norm(j.offset), 0)
    const base = ref.reduce((s, j) => s + norm(j.offset), 0)
    return total > 0 ? { name, scale: total / base } : null
  }
  return null
}

/** The template's volumes at `scale`: [{name, joint, shape, center, rotation, half}]. */
export function scaledVolumes (templates, name, scale) {
  return templates.templates[name].volumes.map((v) => ({
    ...v, center: v.center.map((x) => x * scale), half: v.half.map((x) => x * scale)
  }))
}
