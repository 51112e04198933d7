// User intents → commands (SPEC §4). Pure: each builder returns `{command_id, ops}`; the server executes them and
// the document update that comes back is what changes the screen.

let counter = 0

export function commandId (user = 'studio') {
  counter += 1
  const rand = Math.random().toString(36).slice(2, 8)
  return `studio-${user}-${Date.now().toString(36)}-${counter}-${rand}`
}

export function command (ops, user) {
  return { command_id: commandId(user), ops }
}

export const isAnimated = (entity, path) => Boolean(entity && entity.tracks && entity.tracks[path] &&
  entity.tracks[path].length)

/** Set an attribute as a person expects: a key at `frame` when the attribute is animated, else its static value. */
export function setValue (entity, id, path, value, frame) {
  if (isAnimated(entity, path)) return { type: 'key.set', id, path, frame, value }
  return { type: 'entity.set', id, path, value }
}

export const keySet = (id, path, frame, value, interp) => {
  const op = { type: 'key.set', id, path, frame, value }
  if (interp) op.interp = interp
  return op
}

export const keyRemove = (id, path, frame) => ({ type: 'key.remove', id, path, frame })

/** Move the one key at `frame` by `by` frames. */
export const keyMove = (id, path, frame, by) => ({ type: 'track.shift', id, path, by, start: frame, end: frame })

export function createEntity (kind, id, props = {}) {
  return { type: 'entity.create', id, kind, props }
}

export const ENTITY_DEFAULTS = {
  prop: () => ({ geometry: { primitive: 'box', size: [1, 1, 1] }, 'transform.position': [0, 0, 0] }),
  camera: () => ({ 'transform.position': [0, 1.6, 6], 'camera.focal_length_mm': 35 }),
  light: () => ({ 'light.type': 'point', 'light.intensity': 800, 'transform.position': [2, 3, 2] })
}

/** A fresh id `base`, `base-2`, … not in `taken`. */
export function freshId (base, taken) {
  if (!taken.has(base)) return base
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`
}
