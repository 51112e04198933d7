// The role consoles beyond the inspector: motion (a joint's local rotation at the current frame, as XYZ Euler
// degrees within the joint's limits; one `key.set` on `joints.<joint>.rotation`) and director (the shot's
// directives with the agents' reports; add, edit, remove — one `directive.*` command each).

const RAD = Math.PI / 180

export function quatToEulerDeg ([x, y, z, w]) { // intrinsic XYZ, as core's {"euler_deg", "order": "XYZ"}
  const m02 = 2 * (x * z + w * y)
  const ry = Math.asin(Math.max(-1, Math.min(1, m02)))
  const rx = Math.atan2(2 * (w * x - y * z), 1 - 2 * (x * x + y * y))
  const rz = Math.atan2(2 * (w * z - x * y), 1 - 2 * (y * y + z * z))
  return [rx / RAD, ry / RAD, rz / RAD]
}

/** The motion console for a character: pick a joint, set its rotation at `frame` (within its limits). */
export function renderMotionConsole (root, { id, entity, frame, rotationOf, canEdit, selectedJoint, onJoint, onSet }) {
  const joints = (entity && entity.props && entity.props.skeleton) || []
  if (!entity || entity.kind !== 'character' || !joints.length) {
    root.replaceChildren()
    return
  }
  const head = document.createElement('h3')
  head.textContent = `motion · ${id} · frame ${Math.round(frame * 100) / 100}`
  const pick = document.createElement('select')
  pick.name = 'joint'
  for (const j of joints) { const o = document.createElement('option'); o.value = j.name; o.textContent = j.name; pick.append(o) }
  const name = joints.some((j) => j.name === selectedJoint) ? selectedJoint : joints[0].name
  pick.value = name
  pick.addEventListener('change', () => onJoint(pick.value))
  const joint = joints.find((j) => j.name === name)
  const limits = joint.limits_deg || null
  const euler = quatToEulerDeg(rotationOf(name))
  const row = document.createElement('span')
  row.className = 'vec'
  const inputs = [0, 1, 2].map((i) => {
    const input = document.createElement('input')
    input.type = 'number'; input.step = '1'; input.name = `joint-rot.${i}`
    if (limits) { input.min = limits[i][0]; input.max = limits[i][1] }
    input.value = String(Math.round(euler[i] * 100) / 100)
    input.disabled = !canEdit
    input.title = limits ? `limits ${limits[i][0]}…${limits[i][1]}°` : 'no limits'
    row.append(input)
    return input
  })
  const commit = () => {
    const v = inputs.map((x) => Number(x.value))
    if (!v.every(Number.isFinite)) return
    if (limits) {
      const bad = v.findIndex((x, i) => x < limits[i][0] || x > limits[i][1])
      if (bad >= 0) { onSet(null, `${name} ${'XYZ'[bad]} must be within ${limits[bad][0]}…${limits[bad][1]}°`); return }
    }
    onSet({ type: 'key.set', id, path: `joints.${name}.rotation`, frame, value: { euler_deg: v, order: 'XYZ' } })
  }
  for (const input of inputs) input.addEventListener('change', commit)
  const label = document.createElement('label')
  label.textContent = 'rotation (° XYZ)'
  label.append(row)
  const jl = document.createElement('label')
  jl.textContent = 'joint'
  jl.append(pick)
  root.replaceChildren(head, jl, label)
}

const DIRECTIVE_AGENTS = ['script', 'shot', 'motion', 'path', 'layout', 'lighting']

/** The director console: directives with their reports; add one (agent + params JSON), edit or remove one. */
export function renderDirectorConsole (root, { directives, canEdit, editing, onEdit, onSubmit, onRemove, freshId }) {
  const list = document.createElement('ul')
  list.className = 'list directives'
  for (const [did, d] of Object.entries(directives).sort()) {
    const li = document.createElement('li')
    li.dataset.directive = did
    const text = document.createElement('span')
    const report = d.params && d.params.report
    text.textContent = `${did} · ${d.agent}${report ? ` — ${typeof report === 'string' ? report : JSON.stringify(report)}` : ''}`
    text.title = JSON.stringify(d.params, null, 1)
    const edit = document.createElement('button'); edit.type = 'button'; edit.textContent = 'edit'; edit.disabled = !canEdit
    edit.addEventListener('click', () => onEdit(did))
    const rm = document.createElement('button'); rm.type = 'button'; rm.textContent = '×'; rm.disabled = !canEdit
    rm.addEventListener('click', () => onRemove(did))
    li.append(text, edit, rm)
    list.append(li)
  }
  const form = document.createElement('form')
  form.className = 'directive-form'
  const agent = document.createElement('select')
  agent.name = 'directive-agent'
  for (const a of DIRECTIVE_AGENTS) { const o = document.createElement('option'); o.value = a; o.textContent = a; agent.append(o) }
  const params = document.createElement('textarea')
  params.name = 'directive-params'
  params.rows = 3
  params.placeholder = '{"text": "alice waves at the camera"}'
  const current = editing && directives[editing]
  if (current) { agent.value = current.agent; agent.disabled = true; const p = { ...current.params }; delete p.report; params.value = JSON.stringify(p) }
  const go = document.createElement('button')
  go.type = 'submit'
  go.textContent = current ? `Update ${editing}` : 'Add directive'
  for (const c of [agent, params, go]) c.disabled = c.disabled || !canEdit
  form.append(agent, params, go)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    let value
    try { value = JSON.parse(params.value || '{}') } catch (err) { onSubmit(null, `params are not JSON: ${err.message}`); return }
    if (current) onSubmit({ type: 'directive.update', id: editing, params: value })
    else onSubmit({ type: 'directive.add', id: freshId(agent.value), agent: agent.value, params: value })
  })
  root.replaceChildren(list, form)
}
