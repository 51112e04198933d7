// Reading a shot's Y.Doc (SPEC §5, README "The document") into the raw world JSON that sample.js takes — the same
// data as Python's `projections.decode.world_from_doc(doc).to_json()` (and GET …/world).
//
// Duck-typed over the Yjs API (getMap, Y.Map get/forEach/toJSON, Y.Array toArray), with no import of yjs, so the
// browser and Node each pass their own Y.Doc. The document layout:
//   meta        Map: project, shot, name, fps, frame_start, frame_end, resolution, agents (Map), head_seq
//   entities    Map id → Map {kind, name, parent, props: Map path → value, tracks: Map path → Array of rows}
//   relations   Map id → Map {kind, subject, object, joint?, offset?}
//   directives  Map id → Map {agent, params}
// Objects inside values are Y.Maps (sorted keys) and lists holding objects are Y.Arrays; toJSON turns both back
// into plain data. A key row is [frame, value, interp, by, in_tangent, out_tangent].
// The reducer may replace a track's Y.Array whole (a compaction): observe the entity's `tracks` map (or
// observeDeep) rather than one Array.

/** Plain data from a Yjs value: Y types through toJSON, BigInts (64-bit integers) as Numbers. */
export function plain (v) {
  if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function' && !Array.isArray(v)) v = v.toJSON()
  return numbers(v)
}

function numbers (v) {
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(numbers)
  if (v !== null && typeof v === 'object') {
    const out = {}
    for (const k of Object.keys(v)) out[k] = numbers(v[k])
    return out
  }
  return v
}

function byKey (a, b) {
  return a < b ? -1 : a > b ? 1 : 0
}

function sortedEntries (ymap) {
  const out = []
  ymap.forEach((v, k) => { out.push([k, v]) })
  return out.sort((a, b) => byKey(a[0], b[0]))
}

/** A key row [frame, value, interp, by, in_tangent, out_tangent] → {frame, value, interp, by, in_tangent?,
 *  out_tangent?} (core.world.key_to_dict: missing tangents are left out). */
export function keyFromRow (row) {
  row = plain(row)
  const k = { frame: Number(row[0]), value: row[1], interp: row[2], by: row[3] }
  if (row[4] != null) k.in_tangent = row[4]
  if (row[5] != null) k.out_tangent = row[5]
  return k
}

/** A track's Y.Array of rows → its keys. */
export function keysFromYArray (arr) {
  const rows = typeof arr.toArray === 'function' ? arr.toArray() : arr
  return rows.map(keyFromRow)
}

/** An entity's Y.Map → {kind, name, parent, props, tracks}. */
export function entityFromYMap (e) {
  const props = plain(e.get('props')) || {}
  const tracks = {}
  const t = e.get('tracks')
  if (t) for (const [path, arr] of sortedEntries(t)) tracks[path] = keysFromYArray(arr)
  const sortedProps = {}
  for (const k of Object.keys(props).sort(byKey)) sortedProps[k] = props[k]
  return { kind: e.get('kind'), name: e.get('name'), parent: e.get('parent') ?? null, props: sortedProps, tracks }
}

/** The `meta` map → {project, shot, name, fps, frame_start, frame_end, resolution, agents, head_seq}. */
export function metaFromDoc (ydoc) {
  const m = plain(ydoc.getMap('meta'))
  const agents = {}
  for (const k of Object.keys(m.agents || {}).sort(byKey)) agents[k] = m.agents[k]
  return {
    project: m.project,
    shot: m.shot,
    name: m.name ?? '',
    fps: Number(m.fps),
    frame_start: Number(m.frame_start),
    frame_end: Number(m.frame_end),
    resolution: m.resolution.map((x) => Math.trunc(Number(x))),
    agents,
    head_seq: Math.trunc(Number(m.head_seq ?? 0)),
  }
}

/** A relation's Y.Map → {kind, subject, object, joint?, offset?}. */
export function relationFromYMap (r) {
  r = plain(r)
  const out = { kind: r.kind, subject: r.subject, object: r.object }
  if (r.joint != null) out.joint = r.joint
  if (r.offset != null) out.offset = r.offset
  return out
}

/** A directive's Y.Map → {agent, params}. */
export function directiveFromYMap (d) {
  d = plain(d)
  return { agent: d.agent, params: d.params ?? {} }
}

/** The shot's Y.Doc → the raw world JSON {meta, entities, relations, directives} (ids in sorted order). */
export function worldFromDoc (ydoc) {
  const entities = {}
  for (const [id, e] of sortedEntries(ydoc.getMap('entities'))) entities[id] = entityFromYMap(e)
  const relations = {}
  for (const [id, r] of sortedEntries(ydoc.getMap('relations'))) relations[id] = relationFromYMap(r)
  const directives = {}
  for (const [id, d] of sortedEntries(ydoc.getMap('directives'))) directives[id] = directiveFromYMap(d)
  return { meta: metaFromDoc(ydoc), entities, relations, directives }
}
