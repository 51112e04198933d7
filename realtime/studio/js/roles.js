// What a role may edit (realtime/access.py decides; this only disables the controls it would refuse).

const KINDS_OF = {
  owner: null, // null: every kind
  director: null,
  layout: ['prop', 'environment'],
  camera: ['camera'],
  lighting: ['light'],
  motion: ['character'],
  viewer: [],
  agent: null
}

export function mayEdit (role, kind) {
  if (!(role in KINDS_OF)) return false
  const kinds = KINDS_OF[role]
  return kinds === null || kinds.includes(kind)
}

export const mayWrite = (role) => role in KINDS_OF && role !== 'viewer'
export const mayRestore = mayWrite // rollback and undo: any writer (the server checks each restored op)
