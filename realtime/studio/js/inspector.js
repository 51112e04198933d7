// The inspector: the consoles for the selected entity (transform for every kind; camera: focal length ↔ field of
// view, f-stop, focus distance; light: intensity, colour temperature with a swatch, cone). Values shown are the
// sampled ones at the current frame, with units; an edit is one command (a key when the attribute is animated).
// Controls the user's role may not use are disabled (the server refuses them anyway).

import { quatToEulerDeg as eulerDeg } from './consoles.js'

const RAD = Math.PI / 180

function field (label, value, { step = 'any', min, max, unit = '', disabled, onCommit, name }) {
  const l = document.createElement('label')
  l.textContent = `${label}${unit ? ` (${unit})` : ''}`
  const input = document.createElement('input')
  input.type = 'number'
  input.step = step
  input.name = name
  if (min !== undefined) input.min = min
  if (max !== undefined) input.max = max
  input.value = value === undefined || value === null ? '' : String(round(value))
  input.disabled = disabled
  input.addEventListener('change', () => {
    const x = Number(input.value)
    if (input.value !== '' && Number.isFinite(x)) onCommit(x)
  })
  l.append(input)
  return l
}

function vecField (label, value, { unit, disabled, onCommit, name }) {
  const l = document.createElement('label')
  l.textContent = `${label}${unit ? ` (${unit})` : ''}`
  const box = document.createElement('span')
  box.className = 'vec'
  const inputs = [0, 1, 2].map((i) => {
    const input = document.createElement('input')
    input.type = 'number'; input.step = 'any'; input.name = `${name}.${i}`
    input.value = String(round(value[i]))
    input.disabled = disabled
    input.addEventListener('change', () => {
      const v = inputs.map((x) => Number(x.value))
      if (v.every(Number.isFinite)) onCommit(v)
    })
    box.append(input)
    return input
  })
  l.append(box)
  return l
}

/** Approximate sRGB of a black body (Tanner Helland's fit): the swatch beside a colour temperature. */
export function kelvinRgb (k) {
  const t = k / 100
  const r = t <= 66 ? 255 : 329.698727446 * Math.pow(t - 60, -0.1332047592)
  const g = t <= 66 ? 99.4708025861 * Math.log(t) - 161.1195681661 : 288.1221695283 * Math.pow(t - 60, -0.0755148492)
  const b = t >= 66 ? 255 : t <= 19 ? 0 : 138.5177312231 * Math.log(t - 10) - 305.0447927307
  const c = (x) => Math.round(Math.max(0, Math.min(255, x)))
  return `rgb(${c(r)}, ${c(g)}, ${c(b)})`
}

export function renderInspector (root, { id, entity, sampled, canEdit, set, resolution }) {
  if (!id || !entity || !sampled) {
    root.className = 'muted'
    root.textContent = 'Select an entity.'
    return
  }
  root.className = ''
  const disabled = !canEdit
  const props = entity.props || {}
  const parts = []
  const title = document.createElement('div')
  title.innerHTML = '<strong></strong> <span class="muted"></span>'
  title.firstChild.textContent = id
  title.lastChild.textContent = `${entity.kind}${disabled ? ' · read only for your role' : ''}`
  parts.push(title)
  parts.push(vecField('position', sampled.position, { unit: 'm', disabled, name: 'position', onCommit: (v) => set('transform.position', v) }))
  parts.push(vecField('rotation', eulerDeg(sampled.rotation), { unit: '° XYZ', disabled, name: 'rotation', onCommit: (v) => set('transform.rotation', { euler_deg: v, order: 'XYZ' }) }))
  if (['prop', 'environment', 'character'].includes(entity.kind)) {
    parts.push(vecField('scale', sampled.scale, { disabled, name: 'scale', onCommit: (v) => set('transform.scale', v) }))
  }
  const cam = sampled.camera
  if (cam) {
    const sensorW = cam.sensor_mm[0]
    parts.push(field('focal length', cam.focal_length_mm, { unit: 'mm', min: 1, max: 2000, disabled, name: 'focal', onCommit: (x) => set('camera.focal_length_mm', x) }))
    parts.push(field('horizontal fov', cam.fov_deg[0], { unit: '°', min: 0.1, max: 179, disabled, name: 'fov',
      onCommit: (deg) => set('camera.focal_length_mm', sensorW / (2 * Math.tan(deg * RAD / 2))) }))
    parts.push(field('f-stop', cam.f_stop, { min: 0.5, max: 128, disabled, name: 'fstop', onCommit: (x) => set('camera.f_stop', x) }))
    parts.push(field('focus distance', cam.focus_distance_m, { unit: 'm', min: 0, disabled, name: 'focus', onCommit: (x) => set('camera.focus_distance_m', x) }))
    const info = document.createElement('div')
    info.className = 'muted'
    info.textContent = `sensor ${cam.sensor_mm.map(round).join(' × ')} mm · ${resolution.join(' × ')} px`
    parts.push(info)
  }
  const light = sampled.light
  if (light) {
    parts.push(field('intensity', light.intensity, { unit: light.type === 'sun' ? 'W/m²' : 'W', min: 0, disabled, name: 'intensity', onCommit: (x) => set('light.intensity', x) }))
    const temp = props['light.color_temperature_k'] ?? light.color_temperature_k
    const t = field('temperature', temp, { unit: 'K', min: 1000, max: 40000, disabled, name: 'temperature', onCommit: (x) => set('light.color_temperature_k', x) })
    if (typeof temp === 'number') {
      const sw = document.createElement('span')
      sw.className = 'swatch'
      sw.style.background = kelvinRgb(temp)
      t.append(sw)
    }
    parts.push(t)
    if (light.type === 'spot') parts.push(field('cone', light.cone_deg, { unit: '°', min: 1, max: 179, disabled, name: 'cone', onCommit: (x) => set('light.cone_deg', x) }))
  }
  root.replaceChildren(...parts)
}

function round (x) { return typeof x === 'number' ? Math.round(x * 1e4) / 1e4 : x }
