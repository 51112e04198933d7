// The timeline: a canvas dope sheet of the document's tracks, one row per attribute grouped by entity (an
// entity's joint tracks fold into one collapsible row). Scrub on the ruler; double-click a row to add a key;
// click / shift-click / drag a box to select keys; drag keys to move them (snapped to frames; streamed through
// awareness while dragging, one `track.shift` command on release); Delete removes them (one command); Ctrl+C /
// Ctrl+V copy them to the current frame; T cycles their interpolation; the wheel zooms, alt+wheel (or a sideways wheel) pans, shift+wheel scrolls rows.
// Click a numeric track's label for its curve view (js/curves.js: values and bezier tangents).
//
// Like every panel it keeps no copy of the world: `draw()` reads the entities it is given.

import { CurveView, curveable } from './curves.js'

const LABEL_W = 190
const RULER_H = 22
const ROW_H = 18
const KEY_R = 5
const INTERPS = ['constant', 'linear', 'bezier', 'auto']

export class Timeline {
  constructor (canvas, { onScrub, onCommand, onDragPreview, canEdit, toast, valueAt }) {
    this.canvas = canvas
    this.ctx = canvas.getContext('2d')
    this.onScrub = onScrub
    this.onCommand = onCommand
    this.onDragPreview = onDragPreview
    this.canEdit = canEdit
    this.toast = toast
    this.valueAt = valueAt // (entity, path, frame) -> the curve's value there
    this.entities = {}
    this.meta = { frame_start: 0, frame_end: 120 }
    this.frame = 0
    this.view = null // {start, end} frames shown
    this.scrollY = 0
    this.rows = []
    this.open = new Set() // entities whose joint tracks are unfolded
    this.selected = new Map() // "entity\u0000path\u0000frame" -> {entity, path, frame}
    this.clipboard = []
    this.gesture = null
    this.others = []
    this.drawn = [] // keys drawn in the last paint: {entity, path, frame, x, y}
    this.curves = null // a CurveView while one track is shown as curves
    canvas.addEventListener('pointerdown', (e) => this._down(e))
    canvas.addEventListener('pointermove', (e) => this._move(e))
    canvas.addEventListener('pointerup', (e) => this._up(e))
    canvas.addEventListener('dblclick', (e) => this._dblclick(e))
    canvas.addEventListener('wheel', (e) => this._wheel(e), { passive: false })
    canvas.addEventListener('keydown', (e) => this._key(e))
    new ResizeObserver(() => this.draw()).observe(canvas)
  }

  // ------------------------------------------------------------------ layout

  set ({ entities, meta, frame, others }) {
    if (entities) this.entities = entities
    if (meta) this.meta = meta
    if (frame !== undefined) this.frame = frame
    if (others) this.others = others
    const range = `${this.meta.frame_start ?? 0}:${this.meta.frame_end ?? 120}`
    if (!this.view || (!this.zoomed && this.viewRange !== range)) { // fit the shot's range until the user zooms
      const lo = this.meta.frame_start ?? 0; const hi = this.meta.frame_end ?? 120
      const pad = (hi - lo) * 0.02 + 1 // keys on the first and last frames stay clear of the labels and the edge
      this.view = { start: lo - pad, end: hi + pad }
      this.viewRange = range
    }
    this.draw()
  }

  _rows () {
    const rows = []
    for (const id of Object.keys(this.entities).sort()) {
      const e = this.entities[id]
      const tracks = e.tracks || {}
      rows.push({ type: 'entity', entity: id, label: `${id}  (${e.kind})` })
      const paths = Object.keys(tracks).sort()
      const jointPaths = paths.filter((p) => p.startsWith('joints.'))
      for (const p of paths.filter((p) => !p.startsWith('joints.'))) rows.push({ type: 'track', entity: id, path: p, label: p })
      if (jointPaths.length) {
        const open = this.open.has(id)
        const frames = new Set()
        for (const p of jointPaths) for (const row of tracks[p]) frames.add(row[0])
        rows.push({ type: 'joints', entity: id, label: `${open ? '▾' : '▸'} joints (${jointPaths.length} tracks)`, paths: jointPaths, frames: [...frames].sort((a, b) => a - b) })
        if (open) for (const p of jointPaths) rows.push({ type: 'track', entity: id, path: p, label: '   ' + p.slice(7) })
      }
    }
    return rows
  }

  openCurves (entity, path) {
    this.curves = new CurveView(this, entity, path)
    this.draw()
  }

  closeCurves () {
    this.curves = null
    this.draw()
  }

  commit (ops) {
    if (!this.canEdit(ops[0].id)) { this.toast(`your role may not edit ${ops[0].id}`); return }
    this.onCommand(ops)
  }

  frameX (frame) {
    const w = this.canvas.clientWidth - LABEL_W
    return LABEL_W + (frame - this.view.start) / (this.view.end - this.view.start) * w
  }

  xFrame (x) {
    const w = this.canvas.clientWidth - LABEL_W
    return this.view.start + (x - LABEL_W) / w * (this.view.end - this.view.start)
  }

  rowY (index) { return RULER_H + index * ROW_H - this.scrollY }

  /** The page coordinates of a row (and a frame on it): for tests. */
  where (entity, path, frame) {
    const i = this.rows.findIndex((r) => r.type === 'track' && r.entity === entity && r.path === path)
    if (i < 0) return null
    const rect = this.canvas.getBoundingClientRect()
    return { x: rect.left + this.frameX(frame), y: rect.top + this.rowY(i) + ROW_H / 2 }
  }

  _keys (entity, path) { return (this.entities[entity] && this.entities[entity].tracks && this.entities[entity].tracks[path]) || [] }

  // ------------------------------------------------------------------ drawing

  draw () {
    const c = this.canvas
    const dpr = window.devicePixelRatio || 1
    const W = c.clientWidth; const H = c.clientHeight
    if (!W || !H || !this.view) return
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) {
      c.width = Math.round(W * dpr); c.height = Math.round(H * dpr)
    }
    const g = this.ctx
    g.setTransform(dpr, 0, 0, dpr, 0, 0)
    g.fillStyle = '#161a23'; g.fillRect(0, 0, W, H)
    const openKey = [...this.open].sort().join('\u0000')
    if (this._rowsOf !== this.entities || this._rowsOpen !== openKey) { // rows change with the document only
      this.rows = this._rows()
      this._rowsOf = this.entities
      this._rowsOpen = openKey
    }
    this.drawn = []
    this.drawnGhosts = [] // others' key drags drawn: {entity, path, frame, user}
    const anySelected = this.selected.size > 0
    const fLo = this.xFrame(LABEL_W - KEY_R); const fHi = this.xFrame(W + KEY_R)
    const drag = this.gesture && this.gesture.type === 'keys' ? this.gesture : null
    g.font = '11px system-ui, sans-serif'
    g.textBaseline = 'middle'
    // frame-range shading and grid
    const x0 = this.frameX(this.meta.frame_start ?? 0); const x1 = this.frameX(this.meta.frame_end ?? 120)
    g.fillStyle = '#1b2030'; g.fillRect(Math.max(x0, LABEL_W), RULER_H, Math.max(0, x1 - Math.max(x0, LABEL_W)), H)
    const step = this._tickStep()
    g.strokeStyle = '#232a3a'; g.fillStyle = '#8792a8'
    for (let f = Math.ceil(this.view.start / step) * step; f <= this.view.end; f += step) {
      const x = this.frameX(f)
      g.beginPath(); g.moveTo(x, RULER_H); g.lineTo(x, H); g.stroke()
      g.fillText(String(f), x + 2, RULER_H / 2)
    }
    if (this.curves && !this._keys(this.curves.entity, this.curves.path).length) this.curves = null // track gone
    if (this.curves) this.curves.draw(g, W, H)
    // rows
    if (!this.curves) this.rows.forEach((r, i) => {
      const y = this.rowY(i)
      if (y + ROW_H < RULER_H || y > H) return
      if (r.type !== 'track') { g.fillStyle = '#20263a'; g.fillRect(0, y, W, ROW_H) }
      g.fillStyle = r.type === 'track' ? '#b9c2d6' : '#dde3ef'
      g.save(); g.beginPath(); g.rect(0, y, LABEL_W - 4, ROW_H); g.clip()
      g.fillText(r.label, 6, y + ROW_H / 2); g.restore()
      if (r.type === 'track') {
        const keys = this._keys(r.entity, r.path)
        for (let k = firstAtOrAfter(keys, drag ? -Infinity : fLo); k < keys.length; k++) {
          const row = keys[k]
          const frame = row[0]
          if (!drag && frame > fHi) break
          const sel = anySelected && this.selected.has(keyId(r.entity, r.path, frame))
          const x = this.frameX(drag && sel ? frame + drag.by : frame)
          if (x < LABEL_W - KEY_R || x > W + KEY_R) continue
          this._diamond(g, x, y + ROW_H / 2, row[2], sel, false)
          this.drawn.push({ entity: r.entity, path: r.path, frame, x, y: y + ROW_H / 2 })
        }
      } else if (r.type === 'joints' && !this.open.has(r.entity)) {
        for (const frame of r.frames) { // the folded joints: one mark per frame that has a key on any joint
          if (frame < fLo) continue
          if (frame > fHi) break
          this._diamond(g, this.frameX(frame), y + ROW_H / 2, 'auto', false, true)
        }
      }
      // others' key drags on this row
      for (const { state } of this.others) {
        const d = state.drag
        if (d && d.entity === r.entity && d.path === r.path && typeof d.frame === 'number') {
          g.strokeStyle = (state.user && state.user.color) || '#fff'
          const x = this.frameX(d.frame)
          g.strokeRect(x - KEY_R, y + ROW_H / 2 - KEY_R, 2 * KEY_R, 2 * KEY_R)
          this.drawnGhosts.push({ entity: d.entity, path: d.path, frame: d.frame, user: state.user && state.user.id })
        }
      }
    })
    // ruler on top, label gutter, playhead, box selection
    g.fillStyle = '#1d2230'; g.fillRect(0, 0, W, RULER_H)
    g.fillStyle = '#8792a8'
    for (let f = Math.ceil(this.view.start / step) * step; f <= this.view.end; f += step) {
      g.fillText(String(f), this.frameX(f) + 2, RULER_H / 2)
    }
    g.fillStyle = '#1d2230'; g.fillRect(0, 0, LABEL_W, RULER_H)
    g.fillStyle = '#dde3ef'; g.fillText(`frame ${fmt(this.frame)}`, 6, RULER_H / 2)
    g.strokeStyle = '#2c3346'; g.beginPath(); g.moveTo(LABEL_W - 0.5, 0); g.lineTo(LABEL_W - 0.5, H); g.stroke()
    for (const { state } of this.others) {
      if (typeof state.frame !== 'number') continue
      g.strokeStyle = (state.user && state.user.color) || '#888'
      const x = this.frameX(state.frame)
      g.setLineDash([3, 3]); g.beginPath(); g.moveTo(x, RULER_H); g.lineTo(x, H); g.stroke(); g.setLineDash([])
    }
    const px = this.frameX(this.frame)
    if (px >= LABEL_W) {
      g.strokeStyle = '#ff6a5a'; g.beginPath(); g.moveTo(px, 0); g.lineTo(px, H); g.stroke()
    }
    if (this.gesture && this.gesture.type === 'box') {
      const b = this.gesture
      g.strokeStyle = '#6cc3ff'; g.fillStyle = 'rgba(108,195,255,0.12)'
      g.fillRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0); g.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0)
    }
  }

  _diamond (g, x, y, interp, selected, summary) {
    g.fillStyle = selected ? '#ffcf5a' : summary ? '#6d7890' : '#cfd6e4'
    g.beginPath()
    if (interp === 'constant') g.rect(x - KEY_R + 1, y - KEY_R + 1, 2 * KEY_R - 2, 2 * KEY_R - 2)
    else if (interp === 'linear') { g.moveTo(x, y - KEY_R); g.lineTo(x + KEY_R, y + KEY_R - 1); g.lineTo(x - KEY_R, y + KEY_R - 1) }
    else if (interp === 'bezier') g.arc(x, y, KEY_R - 1, 0, Math.PI * 2)
    else { g.moveTo(x, y - KEY_R); g.lineTo(x + KEY_R, y); g.lineTo(x, y + KEY_R); g.lineTo(x - KEY_R, y) }
    g.closePath(); g.fill()
  }

  _tickStep () {
    const span = this.view.end - this.view.start
    const px = (this.canvas.clientWidth - LABEL_W) / span
    for (const s of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]) if (s * px >= 40) return s
    return 1000
  }

  // ------------------------------------------------------------------ input

  _local (e) {
    const r = this.canvas.getBoundingClientRect()
    return { x: e.clientX - r.left, y: e.clientY - r.top }
  }

  _rowAt (y) {
    if (y < RULER_H) return -1
    const i = Math.floor((y + this.scrollY - RULER_H) / ROW_H)
    return i < this.rows.length ? i : -1
  }

  _hitKey (x, y) {
    return this.drawn.find((k) => Math.abs(k.x - x) <= KEY_R + 1 && Math.abs(k.y - y) <= KEY_R + 1) || null
  }

  _down (e) {
    this.canvas.focus()
    this.canvas.setPointerCapture(e.pointerId)
    const { x, y } = this._local(e)
    if (y < RULER_H && x >= LABEL_W) {
      this.gesture = { type: 'scrub' }
      this.onScrub(Math.round(this.xFrame(x)))
      return
    }
    if (this.curves) {
      this.curves.down(x, y)
      this.gesture = { type: 'curves' }
      this.draw()
      return
    }
    const i = this._rowAt(y)
    if (x < LABEL_W) {
      const r = this.rows[i]
      if (r && r.type === 'track' && curveable(r.path)) { this.openCurves(r.entity, r.path); return }
      if (r && r.type === 'joints') {
        if (this.open.has(r.entity)) this.open.delete(r.entity); else this.open.add(r.entity)
        this.draw()
      }
      return
    }
    const hit = this._hitKey(x, y)
    if (hit) {
      const id = keyId(hit.entity, hit.path, hit.frame)
      if (e.shiftKey) {
        if (this.selected.has(id)) this.selected.delete(id); else this.selected.set(id, hit)
      } else if (!this.selected.has(id)) {
        this.selected = new Map([[id, hit]])
      }
      this.gesture = { type: 'keys', x0: x, by: 0, grabbed: hit }
    } else {
      if (!e.shiftKey) this.selected.clear()
      this.gesture = { type: 'box', x0: x, y0: y, x1: x, y1: y }
    }
    this.draw()
  }

  _move (e) {
    const gs = this.gesture
    if (!gs) return
    const { x, y } = this._local(e)
    if (gs.type === 'curves') {
      if (this.curves) { this.curves.move(x, y); this.draw() }
    } else if (gs.type === 'scrub') {
      this.onScrub(Math.round(this.xFrame(Math.max(LABEL_W, x))))
    } else if (gs.type === 'keys') {
      const by = Math.round(this.xFrame(x) - this.xFrame(gs.x0))
      if (by !== gs.by) {
        gs.by = by
        const k = gs.grabbed
        if (this.canEdit(k.entity)) this.onDragPreview({ entity: k.entity, path: k.path, frame: k.frame + by, from: k.frame })
        this.draw()
      }
    } else if (gs.type === 'box') {
      gs.x1 = x; gs.y1 = y
      this.draw()
    }
  }

  _up (e) {
    const gs = this.gesture
    this.gesture = null
    if (!gs) return
    if (gs.type === 'curves') {
      if (this.curves) this.curves.up()
    } else if (gs.type === 'keys') {
      this.onDragPreview(null)
      if (gs.by !== 0) this._commitMove(gs.by)
    } else if (gs.type === 'box') {
      const [xa, xb] = [Math.min(gs.x0, gs.x1), Math.max(gs.x0, gs.x1)]
      const [ya, yb] = [Math.min(gs.y0, gs.y1), Math.max(gs.y0, gs.y1)]
      for (const k of this.drawn) {
        if (k.x >= xa && k.x <= xb && k.y >= ya && k.y <= yb) this.selected.set(keyId(k.entity, k.path, k.frame), k)
      }
    }
    this.draw()
  }

  _editable (keys) {
    const bad = keys.find((k) => !this.canEdit(k.entity))
    if (bad) { this.toast(`your role may not edit ${bad.entity}`); return false }
    return keys.length > 0
  }

  _commitMove (by) {
    const keys = [...this.selected.values()]
    if (!this._editable(keys)) return
    // one command; keys moved right are shifted last-first so none lands on another before it moves
    keys.sort((a, b) => (by > 0 ? b.frame - a.frame : a.frame - b.frame))
    this.onCommand(keys.map((k) => ({ type: 'track.shift', id: k.entity, path: k.path, by, start: k.frame, end: k.frame })))
    this.selected = new Map(keys.map((k) => [keyId(k.entity, k.path, k.frame + by), { ...k, frame: k.frame + by }]))
  }

  _dblclick (e) {
    if (this.curves) return
    const { x, y } = this._local(e)
    const r = this.rows[this._rowAt(y)]
    if (!r || r.type !== 'track' || x < LABEL_W) return
    if (!this.canEdit(r.entity)) { this.toast(`your role may not edit ${r.entity}`); return }
    const frame = Math.round(this.xFrame(x))
    const keys = this._keys(r.entity, r.path)
    if (keys.some((k) => k[0] === frame)) return
    // the new key holds the curve's value at that frame, so adding it changes nothing until it is edited
    const before = keys.filter((k) => k[0] < frame)
    const src = before.length ? before[before.length - 1] : keys[0]
    if (!src) return
    const value = this.valueAt(r.entity, r.path, frame)
    this.onCommand([{ type: 'key.set', id: r.entity, path: r.path, frame, value, interp: src[2] || 'auto' }])
  }

  _key (e) {
    if (e.key === 'Delete' || e.key === 'Backspace') {
      const keys = [...this.selected.values()]
      if (!this._editable(keys)) return
      this.onCommand(keys.map((k) => ({ type: 'key.remove', id: k.entity, path: k.path, frame: k.frame })))
      this.selected.clear()
      e.preventDefault()
    } else if ((e.ctrlKey || e.metaKey) && e.key === 'c') {
      const keys = [...this.selected.values()]
      const first = Math.min(...keys.map((k) => k.frame))
      this.clipboard = keys.map((k) => {
        const row = this._keys(k.entity, k.path).find((r) => r[0] === k.frame)
        return row && { entity: k.entity, path: k.path, offset: k.frame - first, value: row[1], interp: row[2] }
      }).filter(Boolean)
      this.toast(`copied ${this.clipboard.length} key(s)`, 'info')
      e.preventDefault()
    } else if ((e.ctrlKey || e.metaKey) && e.key === 'v') {
      if (!this._editable(this.clipboard)) return
      this.onCommand(this.clipboard.map((k) => ({ type: 'key.set', id: k.entity, path: k.path, frame: this.frame + k.offset, value: k.value, interp: k.interp })))
      e.preventDefault()
    } else if (e.key === 't' || e.key === 'T') {
      const keys = [...this.selected.values()]
      if (!this._editable(keys)) return
      this.onCommand(keys.map((k) => {
        const row = this._keys(k.entity, k.path).find((r) => r[0] === k.frame)
        const next = INTERPS[(INTERPS.indexOf(row[2]) + 1) % INTERPS.length]
        return { type: 'key.set', id: k.entity, path: k.path, frame: k.frame, value: row[1], interp: next }
      }))
    }
  }

  _wheel (e) {
    e.preventDefault()
    if (e.altKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) { // pan in time
      const span = this.view.end - this.view.start
      const by = ((e.altKey ? e.deltaY : e.deltaX) / Math.max(1, this.canvas.clientWidth - LABEL_W)) * span
      this.view = { start: this.view.start + by, end: this.view.end + by }
      this.zoomed = true
    } else if (e.shiftKey) {
      this.scrollY = Math.max(0, Math.min(this.scrollY + e.deltaY, Math.max(0, this.rows.length * ROW_H - 40)))
    } else {
      const { x } = this._local(e)
      const at = this.xFrame(Math.max(LABEL_W, x))
      const k = Math.exp(e.deltaY * 0.001)
      const start = at - (at - this.view.start) * k; const end = at + (this.view.end - at) * k
      if (end - start >= 4 && end - start <= 1e5) { this.view = { start, end }; this.zoomed = true }
    }
    this.draw()
  }
}

/** The index of the first key row at or after `frame` (rows are sorted by frame). */
function firstAtOrAfter (rows, frame) {
  let lo = 0; let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (rows[mid][0] < frame) lo = mid + 1; else hi = mid
  }
  return lo
}

const keyId = (entity, path, frame) => `${entity}\u0000${path}\u0000${frame}`
const fmt = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2))
