// The entity graph: entities as nodes (coloured by kind) on a ring, directives inside it; edges for parents,
// relations (`attached_to`, `look_at`, `supports`, labelled) and what each directive drives. Drag from one node to
// another to add a relation of the chosen kind (one `relation.add`); click a relation to select it and press
// Delete (or its × button) to remove it (one `relation.remove`). Drawn as SVG from the document each time.

const SVG = 'http://www.w3.org/2000/svg'
const KIND_COLOR = { prop: '#cfd6e4', environment: '#9aa6bd', character: '#8fd18f', camera: '#9ad0ff', light: '#ffe08a' }
const REL_COLOR = { attached_to: '#ff9f6a', look_at: '#6cc3ff', supports: '#b48cff' }

function el (name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  if (text !== undefined) e.textContent = text
  return e
}

export class EntityGraph {
  constructor (root, { onSelect, onCommand, canEdit, toast }) {
    this.root = root
    this.onSelect = onSelect
    this.onCommand = onCommand
    this.canEdit = canEdit
    this.toast = toast
    this.kind = 'look_at'
    this.selectedRelation = null
    this.svg = el('svg', { class: 'graph' })
    root.append(this.svg)
    this.positions = new Map()
    this.drag = null
    this.svg.addEventListener('pointermove', (e) => this._move(e))
    this.svg.addEventListener('pointerup', (e) => this._up(e))
    root.addEventListener('keydown', (e) => {
      if ((e.key === 'Delete' || e.key === 'Backspace') && this.selectedRelation) this.removeRelation(this.selectedRelation)
    })
  }

  render ({ entities, relations, directives, selection }) {
    this.state = { entities, relations, directives, selection }
    if (this.drag) return // redrawn when the drag ends
    const W = this.root.clientWidth || 600; const H = this.root.clientHeight || 400
    this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`)
    const ids = Object.keys(entities).sort()
    const dids = Object.keys(directives || {}).sort()
    const cx = W / 2; const cy = H / 2; const R = Math.max(60, Math.min(W, H) / 2 - 50)
    this.positions = new Map(ids.map((id, i) => {
      const a = -Math.PI / 2 + 2 * Math.PI * i / Math.max(ids.length, 1)
      return [id, { x: cx + R * Math.cos(a), y: cy + R * Math.sin(a) }]
    }))
    const dpos = new Map(dids.map((id, i) => {
      const a = -Math.PI / 2 + 2 * Math.PI * (i + 0.5) / Math.max(dids.length, 1)
      return [id, { x: cx + R * 0.45 * Math.cos(a), y: cy + R * 0.45 * Math.sin(a) }]
    }))
    const defs = el('defs')
    for (const [k, c] of Object.entries({ ...REL_COLOR, parent: '#6d7890', directive: '#a0a8b8' })) {
      const m = el('marker', { id: `arrow-${k}`, viewBox: '0 0 10 10', refX: 22, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })
      m.append(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: c }))
      defs.append(m)
    }
    const edges = el('g'); const nodes = el('g')
    const line = (a, b, attrs) => el('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, ...attrs })
    for (const id of ids) {
      const parent = entities[id].parent
      if (parent && this.positions.has(parent)) {
        edges.append(line(this.positions.get(id), this.positions.get(parent), { stroke: '#6d7890', 'stroke-dasharray': '2 3', 'marker-end': 'url(#arrow-parent)', 'data-edge': `parent:${id}` }))
      }
    }
    for (const [rid, r] of Object.entries(relations || {}).sort()) {
      const a = this.positions.get(r.subject); const b = this.positions.get(r.object)
      if (!a || !b) continue
      const g = el('g', { class: 'relation', 'data-relation': rid })
      const sel = rid === this.selectedRelation
      g.append(line(a, b, { stroke: 'transparent', 'stroke-width': 12 }))
      g.append(line(a, b, { stroke: REL_COLOR[r.kind] || '#fff', 'stroke-width': sel ? 3 : 1.6, 'marker-end': `url(#arrow-${r.kind})` }))
      const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }
      g.append(el('text', { x: mid.x, y: mid.y - 4, 'text-anchor': 'middle', class: 'edge-label' }, `${r.kind}${r.joint ? ` (${r.joint})` : ''}`))
      if (sel) {
        const x = el('text', { x: mid.x, y: mid.y + 14, 'text-anchor': 'middle', class: 'edge-remove' }, '× remove')
        x.addEventListener('pointerdown', (e) => { e.stopPropagation(); this.removeRelation(rid) })
        g.append(x)
      }
      g.addEventListener('pointerdown', (e) => { e.stopPropagation(); this.selectedRelation = rid; this.root.focus(); this.render(this.state) })
      edges.append(g)
    }
    for (const did of dids) {
      const d = directives[did]
      const p = dpos.get(did)
      const params = d.params || {}
      for (const target of [params.subject, params.entity, params.camera]) {
        if (typeof target === 'string' && this.positions.has(target)) {
          edges.append(line(p, this.positions.get(target), { stroke: '#a0a8b8', 'stroke-dasharray': '5 4', 'marker-end': 'url(#arrow-directive)' }))
        }
      }
      const n = el('g', { class: 'directive', 'data-directive': did })
      n.append(el('rect', { x: p.x - 34, y: p.y - 11, width: 68, height: 22, rx: 4, fill: '#2a3042', stroke: '#a0a8b8' }))
      n.append(el('text', { x: p.x, y: p.y + 4, 'text-anchor': 'middle', class: 'node-label' }, `${d.agent}: ${did}`))
      nodes.append(n)
    }
    for (const id of ids) {
      const p = this.positions.get(id)
      const kind = entities[id].kind
      const n = el('g', { class: 'node', 'data-entity': id })
      n.append(el('circle', { cx: p.x, cy: p.y, r: 16, fill: '#1d2230', stroke: KIND_COLOR[kind] || '#fff', 'stroke-width': selection.includes(id) ? 4 : 2 }))
      n.append(el('text', { x: p.x, y: p.y + 30, 'text-anchor': 'middle', class: 'node-label' }, id))
      n.append(el('text', { x: p.x, y: p.y + 4, 'text-anchor': 'middle', class: 'node-kind' }, kind[0].toUpperCase()))
      n.addEventListener('pointerdown', (e) => this._down(e, id))
      nodes.append(n)
    }
    this.rubber = el('line', { stroke: REL_COLOR[this.kind], 'stroke-width': 2, 'stroke-dasharray': '4 3', visibility: 'hidden' })
    this.svg.replaceChildren(defs, edges, nodes, this.rubber)
  }

  _point (e) {
    const r = this.svg.getBoundingClientRect()
    const vb = this.svg.viewBox.baseVal
    return { x: (e.clientX - r.left) / r.width * vb.width, y: (e.clientY - r.top) / r.height * vb.height }
  }

  _down (e, id) {
    e.stopPropagation()
    this.svg.setPointerCapture(e.pointerId)
    const p = this.positions.get(id)
    this.drag = { from: id, moved: false }
    for (const [k, v] of Object.entries({ x1: p.x, y1: p.y, x2: p.x, y2: p.y, stroke: REL_COLOR[this.kind] })) this.rubber.setAttribute(k, v)
  }

  _move (e) {
    if (!this.drag) return
    const q = this._point(e)
    this.drag.moved = true
    this.rubber.setAttribute('x2', q.x); this.rubber.setAttribute('y2', q.y)
    this.rubber.setAttribute('visibility', 'visible')
  }

  _up (e) {
    const d = this.drag
    this.drag = null
    if (!d) return
    this.rubber.setAttribute('visibility', 'hidden')
    this.render(this.state)
    const q = this._point(e)
    let to = null
    for (const [id, p] of this.positions) if (Math.hypot(p.x - q.x, p.y - q.y) <= 20) to = id
    if (!d.moved || to === null || to === d.from) { this.onSelect(d.from); return }
    this.addRelation(d.from, to)
  }

  addRelation (subject, object) {
    const kind = this.state.entities[subject].kind
    if (!this.canEdit(kind)) { this.toast(`your role may not relate ${subject} to anything`); return }
    const taken = new Set(Object.keys(this.state.relations || {}))
    let id = `${this.kind}-${subject}-${object}`.slice(0, 60)
    for (let i = 2; taken.has(id); i++) id = `${this.kind}-${subject}-${object}`.slice(0, 56) + `-${i}`
    this.onCommand([{ type: 'relation.add', id, kind: this.kind, subject, object }])
  }

  removeRelation (rid) {
    const r = this.state.relations[rid]
    if (!r) return
    const subject = this.state.entities[r.subject]
    if (subject && !this.canEdit(subject.kind)) { this.toast(`your role may not remove ${rid}`); return }
    this.selectedRelation = null
    this.onCommand([{ type: 'relation.remove', id: rid }])
  }
}
