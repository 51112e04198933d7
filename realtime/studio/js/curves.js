// The timeline's curve view of one numeric track (a float, vec2, vec3 or colour): each component's curve as the
// sampler evaluates it (sample.js `evaluateTrack`, so what is drawn is what core samples), keys as dots. Drag a key
// up or down to change that component's value; select a key to show its tangent handles and drag one to set that
// side's slope (the key becomes `bezier`). Each edit is previewed through awareness and committed as one `key.set`
// on release. Click the label column to go back to the dope sheet.

import { evaluateTrack, trackKind } from './sample.js'

const LABEL_W = 190
const RULER_H = 22
const COLORS = ['#ff6a6a', '#6adf7a', '#6aa8ff', '#e0c060']
const HANDLE_PX = 40
const DOT_R = 4

const asKeys = new WeakMap() // document rows -> key objects for evaluateTrack

function keysOf (rows) {
  let keys = asKeys.get(rows)
  if (!keys) {
    keys = rows.map((r) => {
      const k = { frame: r[0], value: r[1], interp: r[2] }
      if (r[4] != null) k.in_tangent = r[4]
      if (r[5] != null) k.out_tangent = r[5]
      return k
    })
    asKeys.set(rows, keys)
  }
  return keys
}

const comps = (v) => (Array.isArray(v) ? v : [v])

export function curveable (path) {
  try { return trackKind(path) === 'numeric' } catch { return false }
}

export class CurveView {
  constructor (timeline, entity, path) {
    this.t = timeline
    this.entity = entity
    this.path = path
    this.sel = null // {index, comp}
    this.gesture = null
    this.handles = []
  }

  rows () { return this.t._keys(this.entity, this.path) }

  /** value ↔ y over the visible keys' range (with a margin), fixed while a gesture runs */
  _range () {
    if (this.gesture && this.gesture.range) return this.gesture.range
    let lo = Infinity; let hi = -Infinity
    for (const r of this.rows()) for (const x of comps(r[1])) { lo = Math.min(lo, x); hi = Math.max(hi, x) }
    if (!Number.isFinite(lo)) { lo = -1; hi = 1 }
    const pad = Math.max((hi - lo) * 0.2, 0.5)
    return { lo: lo - pad, hi: hi + pad }
  }

  y (v, range = this._range()) {
    const H = this.t.canvas.clientHeight
    return RULER_H + 8 + (range.hi - v) / (range.hi - range.lo) * (H - RULER_H - 16)
  }

  v (y, range = this._range()) {
    const H = this.t.canvas.clientHeight
    return range.hi - (y - RULER_H - 8) / (H - RULER_H - 16) * (range.hi - range.lo)
  }

  /** Where key `index`'s component `comp` is on the page: for tests. */
  where (index, comp = 0) {
    const r = this.rows()[index]
    const rect = this.t.canvas.getBoundingClientRect()
    return { x: rect.left + this.t.frameX(r[0]), y: rect.top + this.y(comps(r[1])[comp]) }
  }

  handleAt (side) {
    const h = this.handles.find((x) => x.side === side)
    if (!h) return null
    const rect = this.t.canvas.getBoundingClientRect()
    return { x: rect.left + h.x, y: rect.top + h.y }
  }

  draw (g, W, H) {
    const rows = this.rows()
    const range = this._range()
    g.fillStyle = '#161a23'; g.fillRect(0, RULER_H, W, H - RULER_H)
    g.fillStyle = '#1d2230'; g.fillRect(0, RULER_H, LABEL_W, H - RULER_H)
    g.fillStyle = '#dde3ef'
    g.fillText(`${this.entity} · ${this.path}`, 6, RULER_H + 12)
    g.fillStyle = '#8792a8'
    g.fillText('curves — click here for keys', 6, RULER_H + 28)
    if (!rows.length) return
    const keys = keysOf(rows)
    const n = comps(rows[0][1]).length
    for (let c = 0; c < n; c++) {
      g.fillStyle = COLORS[c % COLORS.length]
      g.fillText(n > 1 ? 'xyzw'[c] : 'value', 6 + 14 * c, RULER_H + 46)
    }
    const drag = this.gesture && this.gesture.type === 'value' ? this.gesture : null
    const shown = drag ? keys.map((k, i) => (i === drag.index ? { ...k, value: drag.value } : k)) : keys
    // curves, one sample per two pixels, evaluated exactly as core does
    for (let c = 0; c < n; c++) {
      g.strokeStyle = COLORS[c % COLORS.length]
      g.beginPath()
      for (let x = LABEL_W; x <= W; x += 2) {
        const v = comps(evaluateTrack(shown, this.t.xFrame(x), 'numeric'))[c]
        const y = this.y(v, range)
        if (x === LABEL_W) g.moveTo(x, y); else g.lineTo(x, y)
      }
      g.stroke()
    }
    this.dots = []
    shown.forEach((k, i) => {
      const x = this.t.frameX(k.frame)
      comps(k.value).forEach((v, c) => {
        const y = this.y(v, range)
        const on = this.sel && this.sel.index === i && this.sel.comp === c
        g.fillStyle = on ? '#ffcf5a' : COLORS[c % COLORS.length]
        g.beginPath(); g.arc(x, y, on ? DOT_R + 1 : DOT_R, 0, Math.PI * 2); g.fill()
        this.dots.push({ i, c, x, y })
      })
    })
    this.handles = []
    if (this.sel && shown[this.sel.index]) {
      const { index, comp } = this.sel
      const k = shown[index]
      const x = this.t.frameX(k.frame); const y = this.y(comps(k.value)[comp], range)
      for (const side of ['in', 'out']) {
        const slope = this._slope(shown, index, comp, side)
        const dir = side === 'out' ? 1 : -1
        // a handle HANDLE_PX long along the slope, in screen space
        const pxPerFrame = this.t.frameX(1) - this.t.frameX(0)
        const pxPerValue = this.y(0, range) - this.y(1, range)
        const dx = dir; const dy = -dir * slope * pxPerValue / pxPerFrame
        const len = Math.hypot(dx, dy)
        const hx = x + dx / len * HANDLE_PX; const hy = y + dy / len * HANDLE_PX
        g.strokeStyle = '#ffcf5a'; g.beginPath(); g.moveTo(x, y); g.lineTo(hx, hy); g.stroke()
        g.fillStyle = '#ffcf5a'; g.fillRect(hx - 3, hy - 3, 6, 6)
        this.handles.push({ side, x: hx, y: hy })
      }
    }
  }

  /** The slope (value per frame) of component `comp` at key `index` on one side: its tangent, else the curve's. */
  _slope (keys, index, comp, side) {
    const k = keys[index]
    const given = side === 'out' ? k.out_tangent : k.in_tangent
    if (given != null && k.interp === 'bezier') return comps(given)[comp]
    const f = k.frame; const h = 1e-3
    const a = comps(evaluateTrack(keys, side === 'out' ? f : f - h, 'numeric'))[comp]
    const b = comps(evaluateTrack(keys, side === 'out' ? f + h : f, 'numeric'))[comp]
    return (b - a) / h
  }

  down (x, y) {
    if (x < LABEL_W) { this.t.closeCurves(); return }
    const h = this.handles.find((p) => Math.abs(p.x - x) <= 6 && Math.abs(p.y - y) <= 6)
    if (h) { this.gesture = { type: 'tangent', side: h.side, range: this._range() }; return }
    const d = (this.dots || []).find((p) => Math.hypot(p.x - x, p.y - y) <= DOT_R + 3)
    if (d) {
      this.sel = { index: d.i, comp: d.c }
      const value = structuredClone(this.rows()[d.i][1])
      this.gesture = { type: 'value', index: d.i, comp: d.c, value, y0: y, moved: false, range: this._range() }
    } else {
      this.sel = null
    }
  }

  move (x, y) {
    const gs = this.gesture
    if (!gs) return
    const r = this.rows()
    if (gs.type === 'value') {
      const v = this.v(y, gs.range)
      if (Array.isArray(gs.value)) gs.value[gs.comp] = round(v); else gs.value = round(v)
      gs.moved = true
      this.t.onDragPreview({ entity: this.entity, path: this.path, frame: r[gs.index][0], value: gs.value })
    } else if (gs.type === 'tangent') {
      const k = r[this.sel.index]
      const x0 = this.t.frameX(k[0]); const y0 = this.y(comps(k[1])[this.sel.comp], gs.range)
      const frames = (x - x0) / (this.t.frameX(1) - this.t.frameX(0))
      const values = (this.v(y, gs.range) - this.v(y0, gs.range))
      if ((gs.side === 'out' && frames > 0.01) || (gs.side === 'in' && frames < -0.01)) gs.slope = round(values / frames)
    }
  }

  up () {
    const gs = this.gesture
    this.gesture = null
    if (!gs) return
    this.t.onDragPreview(null)
    const rows = this.rows()
    if (gs.type === 'value' && gs.moved) {
      const r = rows[gs.index]
      const op = { type: 'key.set', id: this.entity, path: this.path, frame: r[0], value: gs.value, interp: r[2] }
      if (r[4] != null) op.in_tangent = r[4]
      if (r[5] != null) op.out_tangent = r[5]
      this.t.commit([op])
    } else if (gs.type === 'tangent' && gs.slope !== undefined) {
      const keys = keysOf(rows)
      const { index, comp } = this.sel
      const r = rows[index]
      const n = comps(r[1]).length
      const side = (s) => Array.from({ length: n }, (_, c) => round(this._slope(keys, index, c, s)))
      const tin = side('in'); const tout = side('out')
      ;(gs.side === 'out' ? tout : tin)[comp] = gs.slope
      const scalar = !Array.isArray(r[1])
      this.t.commit([{ type: 'key.set', id: this.entity, path: this.path, frame: r[0], value: r[1], interp: 'bezier',
        in_tangent: scalar ? tin[0] : tin, out_tangent: scalar ? tout[0] : tout }])
    }
  }
}

function round (x) { return Math.round(x * 1e6) / 1e6 }
