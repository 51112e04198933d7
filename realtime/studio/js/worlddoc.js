// Reading a shot's Y.Doc (SPEC §5, README "The document") into the raw world JSON that sample.js takes — the same
// data as Python's `projections.decode.world_from_doc(doc).to_json()` (and GET …/world).
//
// Duck-typed over the Yjs API (getMap, Y.Map get/forEach/toJSON, Y.Array toArray), with no import of yjs, so the
// browser and Node each pass their own Y.Doc. The document layout:
//   meta        Map: project, shot, name, fps, frame_start, frame_end, resolution, agents (Map), head_seq
//   entities    Map id → Map {kind, name, parent, props: Map path → value, tracks: Map path → Array of rows}
//   relations   Map id → Map {kind, subject, object, joint?, offset?, start?, end?}
//   directives  Map id → Map {agent, params}
// Objects inside values are Y.Maps (sorted keys) and lists holding objects are Y.Arrays; toJSON turns both back
// into plain data. A key row is [frame, value, interp, by, in_tangent, out_tangent].
// The reducer may replace a track's Y.Array whole (a compaction): observe the entity's `tracks` map (or
// observeDeep) rather than one Array — watchWorld does, and keeps a live view's world current at the cost of what
// each update touched.

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

function cell (v) { // a row's value or tangent: a number, bool or list of numbers (copied)
  if (Array.isArray(v)) return v.map(numbers)
  return typeof v === 'object' && v !== null ? plain(v) : numbers(v)
}

/** A key row [frame, value, interp, by, in_tangent, out_tangent] → {frame, value, interp, by, in_tangent?,
 *  out_tangent?} (core.world.key_to_dict: missing tangents are left out). */
export function keyFromRow (row) {
  if (!Array.isArray(row)) row = plain(row)
  const k = { frame: Number(row[0]), value: cell(row[1]), interp: row[2], by: row[3] }
  if (row[4] != null) k.in_tangent = cell(row[4])
  if (row[5] != null) k.out_tangent = cell(row[5])
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

/** A relation's Y.Map → {kind, subject, object, joint?, offset?, start?, end?} (start/end: an attachment's frame
 *  range, where the document has one). */
export function relationFromYMap (r) {
  r = plain(r)
  const out = { kind: r.kind, subject: r.subject, object: r.object }
  if (r.joint != null) out.joint = r.joint
  if (r.offset != null) out.offset = r.offset
  if (r.start != null) out.start = r.start
  if (r.end != null) out.end = r.end
  return out
}

/** A directive's Y.Map → {agent, params}. */
export function directiveFromYMap (d) {
  d = plain(d)
  return { agent: d.agent, params: d.params ?? {} }
}

/** The shot's Y.Doc → the raw world JSON {meta, entities, relations, directives} (ids in sorted order).
 *  Before the document's first sync (no meta yet) meta is null and the rest is empty. */
export function worldFromDoc (ydoc) {
  if (!ydoc.getMap('meta').has('project')) return { meta: null, entities: {}, relations: {}, directives: {} }
  const entities = {}
  for (const [id, e] of sortedEntries(ydoc.getMap('entities'))) entities[id] = entityFromYMap(e)
  return { meta: metaFromDoc(ydoc), entities, relations: relationsFromDoc(ydoc), directives: directivesFromDoc(ydoc) }
}

/** Keep the world JSON of a live Y.Doc up to date, rebuilding only what each transaction touched.
 *
 *  Returns {world (a getter: the current world), stop()}; `onChange(world, touched)` is called after every
 *  transaction that changed the world, touched = {entities: Set of ids, meta, relations, directives}. Each change
 *  gives a NEW world object (and new objects for the entities it touched), while every untouched entity object
 *  and every untouched track's keys array is carried over as it was — so identity comparisons tell a view what
 *  to redraw, and sample.js keeps its prepared tracks. Treat the objects as immutable. */
export function watchWorld (ydoc, onChange = null) {
  let world = worldFromDoc(ydoc)
  let dirty = fresh()
  function fresh () {
    // entities: id → 'all' (rebuild it) or a Set of track paths to re-read ('\u0000fields': kind, name, parent, props)
    return { entities: new Map(), meta: false, relations: false, directives: false }
  }
  const mark = (id, what) => {
    const had = dirty.entities.get(id)
    if (had === 'all' || what === 'all') return dirty.entities.set(id, 'all')
    const marks = had instanceof Set ? had : new Set()
    if (what === 'fields' || had === 'fields') marks.add('\u0000fields')
    if (what instanceof Set) for (const p of what) marks.add(p)
    dirty.entities.set(id, marks)
  }
  const onEntities = (events) => {
    for (const ev of events) {
      const path = ev.path
      const keys = ev.keysChanged || new Set()
      if (path.length === 0) {
        for (const id of keys) mark(id, 'all')
      } else if (path.length === 1) {
        mark(path[0], keys.has('tracks') || keys.has('props') ? 'all' : 'fields')
      } else if (path[1] === 'tracks') {
        mark(path[0], path.length === 2 ? new Set(keys) : new Set([path[2]]))
      } else {
        mark(path[0], 'fields')
      }
    }
  }
  const onMeta = () => { dirty.meta = true }
  const onRelations = () => { dirty.relations = true }
  const onDirectives = () => { dirty.directives = true }
  const maps = [['entities', onEntities], ['meta', onMeta], ['relations', onRelations], ['directives', onDirectives]]
  for (const [name, fn] of maps) ydoc.getMap(name).observeDeep(fn)

  const flush = () => {
    const d = dirty
    dirty = fresh()
    if (!d.entities.size && !d.meta && !d.relations && !d.directives) return
    const next = { ...world }
    if (d.meta) next.meta = ydoc.getMap('meta').has('project') ? metaFromDoc(ydoc) : null
    if (d.relations) next.relations = relationsFromDoc(ydoc)
    if (d.directives) next.directives = directivesFromDoc(ydoc)
    if (d.entities.size) {
      const ymap = ydoc.getMap('entities')
      const entities = { ...world.entities }
      for (const [id, what] of d.entities) {
        const e = ymap.get(id)
        if (e === undefined) delete entities[id]
        else if (what === 'all' || entities[id] === undefined) entities[id] = entityFromYMap(e)
        else entities[id] = patchEntity(entities[id], e, what)
      }
      next.entities = {}
      for (const id of Object.keys(entities).sort(byKey)) next.entities[id] = entities[id]
    }
    world = next
    if (onChange) {
      const { meta, relations, directives } = d
      onChange(world, { entities: new Set(d.entities.keys()), meta, relations, directives })
    }
  }
  ydoc.on('afterTransaction', flush)
  return {
    get world () { return world },
    stop () {
      ydoc.off('afterTransaction', flush)
      for (const [name, fn] of maps) ydoc.getMap(name).unobserveDeep(fn)
    },
  }
}

function patchEntity (old, e, marks) {
  const fields = marks.has('\u0000fields')
  const base = fields ? entityFromYMap({ get: (k) => (k === 'tracks' ? null : e.get(k)) }) : old
  const tracks = { ...old.tracks }
  const ytracks = e.get('tracks')
  for (const path of marks) {
    if (path === '\u0000fields') continue
    const arr = ytracks ? ytracks.get(path) : undefined
    if (arr === undefined) delete tracks[path]
    else tracks[path] = keysFromYArray(arr)
  }
  const sorted = {}
  for (const p of Object.keys(tracks).sort(byKey)) sorted[p] = tracks[p]
  return { kind: base.kind, name: base.name, parent: base.parent, props: base.props, tracks: sorted }
}

function relationsFromDoc (ydoc) {
  const out = {}
  for (const [id, r] of sortedEntries(ydoc.getMap('relations'))) out[id] = relationFromYMap(r)
  return out
}

function directivesFromDoc (ydoc) {
  const out = {}
  for (const [id, d] of sortedEntries(ydoc.getMap('directives'))) out[id] = directiveFromYMap(d)
  return out
}
