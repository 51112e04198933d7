// The browser's sampler and document decoder checked against Python's answers (tests/e2e/test_js_sampler.py).
//
//   node js_sampler.mjs FIXTURE.json
//
// The fixture, written by Python at test time:
//   cases:      [{name, world (World.to_json()), levels? (core.levels.entity_levels,
//               chair assets meshes), samples: [{frame, expected (core.sampling.sample_json)} or
//               {frame, error: true} where Python raised]}]
//   slopes:     [{keys, m0, m1}] the segment slopes core.tracks uses for numeric tracks
//   streams:    [{name, updates: [base64 update of each event, in order], worlds: [World.to_json() after each]}]
//   docs:       [{name, update (base64 Yjs update of the reducer's document), world (World.to_json())}]
//   primitives: {rigid: [{m, expected}], decompose: [{m, position, rotation, scale}], temperature: [{k, rgb}],
//                euler: [{angles, order, q}], slerp: [{a, b, u, q}], auto_slopes: [{t, v, m}],
//                project: [{K, w2c, resolution, points, uv, depth}],
//                registry: {path: {type, kinds, animatable, default}}}
// Prints one JSON line {checked, failed, failures: [the first 30]} and exits 1 when anything differs: numbers by more
// than 1e-9 (absolute, or relative beyond 1), quaternion components (q ≡ −q) by more than 1e-6, anything else
// at all.
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import {
  ATTRIBUTES, autoSlopes, decompose, keySlopes, project, projectionMatrixGL, quatFromEulerDeg, rigid, sampleEntity,
  sampleJson, sampleWorld, slerp, temperatureToRgb, evaluateTrack, valueAt, entityLevels,
} from '../../../realtime/studio/js/sample.js'
import { watchWorld, worldFromDoc } from '../../../realtime/studio/js/worlddoc.js'

const TOL = 1e-9
const QUAT_TOL = 1e-6
const fixture = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const failures = []
let checked = 0
let failed = 0

function fail (where, expected, got, why) {
  failed++
  if (failures.length < 30) failures.push({ where, why, expected, got })
}

function numberClose (e, g, tol) {
  return typeof g === 'number' && Math.abs(e - g) <= tol * Math.max(1, Math.abs(e))
}

function quatClose (e, g) {
  if (!Array.isArray(g) || g.length !== 4) return false
  const same = e.every((c, i) => numberClose(c, g[i], QUAT_TOL))
  const flipped = e.every((c, i) => numberClose(c, -g[i], QUAT_TOL))
  return same || flipped
}

/** Compare expected (from Python) with got (from JS); `exact` demands equality of numbers too. */
function compare (e, g, where, exact = false) {
  checked++
  if (typeof e === 'number') {
    if (exact ? e !== g : !numberClose(e, g, TOL)) fail(where, e, g, 'number')
  } else if (Array.isArray(e)) {
    if (!Array.isArray(g) || g.length !== e.length) return fail(where, e, g, 'array length')
    e.forEach((x, i) => compare(x, g[i], `${where}[${i}]`, exact))
  } else if (e !== null && typeof e === 'object') {
    if (g === null || typeof g !== 'object' || Array.isArray(g)) return fail(where, e, g, 'not an object')
    const ek = Object.keys(e).sort()
    const gk = Object.keys(g).sort()
    if (JSON.stringify(ek) !== JSON.stringify(gk)) return fail(where, ek, gk, 'keys')
    for (const k of ek) compare(e[k], g[k], `${where}.${k}`, exact)
  } else if (e !== g) {
    fail(where, e, g, 'value')
  }
}

/** A sampled entity: its rotation is a quaternion (q ≡ −q), the rest compares as numbers. */
function compareEntity (e, g, where) {
  if (g === null || typeof g !== 'object') return fail(where, e, g, 'not an object')
  const ek = Object.keys(e).sort()
  const gk = Object.keys(g).sort()
  if (JSON.stringify(ek) !== JSON.stringify(gk)) return fail(where, ek, gk, 'keys')
  for (const k of ek) {
    if (k === 'rotation') {
      checked++
      if (!quatClose(e[k], g[k])) fail(`${where}.${k}`, e[k], g[k], 'quaternion')
    } else {
      compare(e[k], g[k], `${where}.${k}`)
    }
  }
}

function compareSample (e, g, where) {
  compare(e.frame, g.frame, `${where}: frame`)
  const ek = Object.keys(e.entities).sort()
  const gk = Object.keys(g.entities || {}).sort()
  if (JSON.stringify(ek) !== JSON.stringify(gk)) return fail(`${where}: entities`, ek, gk, 'keys')
  for (const id of ek) compareEntity(e.entities[id], g.entities[id], `${where}: entities.${id}`)
}

function attempt (where, fn) {
  try {
    return fn()
  } catch (err) {
    fail(where, null, String(err && err.stack || err), 'threw')
    return undefined
  }
}

for (const c of fixture.cases || []) {
  for (const s of c.samples) {
    if (s.error) { // Python raised (a parent or attachment cycle): so must we
      let threw = false
      try { sampleJson(c.world, s.frame) } catch (err) { threw = /cycle/.test(String(err)) }
      checked++
      if (!threw) fail(`${c.name} @ ${s.frame}`, 'a cycle error', 'no error', 'should throw')
      continue
    }
    const got = attempt(`${c.name} @ ${s.frame}`, () => sampleJson(c.world, s.frame))
    if (got === undefined) continue
    compareSample(s.expected, got, `${c.name} @ ${s.frame}`)
  }
  if (c.levels) { // with the chair asset a mesh
    const got = attempt(`${c.name} entityLevels`, () => entityLevels(c.world, (asset) => asset.startsWith('chair')))
    compare(c.levels, got, `${c.name} levels`, true)
  }
  // sampleEntity gives each entity as sampleJson does
  const s = c.samples[0]
  if (s.error) continue
  for (const id of Object.keys(s.expected.entities)) {
    const got = attempt(`${c.name} sampleEntity ${id}`, () => sampleEntity(c.world, id, s.frame))
    if (got !== undefined) compareEntity(s.expected.entities[id], got, `${c.name} sampleEntity @ ${s.frame}: ${id}`)
  }
}

// sampleWorld (the viewport's cheaper form) holds the same matrices, joints and camera as sampleJson
for (const c of fixture.cases || []) {
  const s = c.samples[0]
  if (s.error) continue
  const got = attempt(`${c.name} sampleWorld`, () => sampleWorld(c.world, s.frame))
  if (got === undefined) continue
  for (const [id, e] of Object.entries(s.expected.entities)) {
    const g = got.entities[id]
    const where = `${c.name} sampleWorld @ ${s.frame}: ${id}`
    compare(e.matrix.flat(), g && g.matrix, `${where}.matrix`)
    compare(e.visible, g && g.visible, `${where}.visible`)
    if (e.joints) compare(Object.values(e.joints).map((m) => m.flat()), g.joints.matrices, `${where}.joints`)
    if (e.camera) compare(e.camera.world_to_camera.flat(), g.camera.world_to_camera, `${where}.world_to_camera`)
    if (e.light) compare(e.light, g.light, `${where}.light`)
  }
}

// refusals: what core refuses, the module refuses too
const key = (frame, value, interp = 'linear') => ({ frame, value, interp, by: 'u' })
for (const [what, fn] of [
  ['an empty track', () => evaluateTrack([], 0)],
  ['a non-finite frame', () => evaluateTrack([key(0, 1)], NaN)],
  ['an unknown kind', () => evaluateTrack([key(0, 1)], 0, 'spline')],
  ['an unknown interp', () => evaluateTrack([key(0, 1, 'cubic'), key(1, 2)], 0.5)],
  ['keys out of order', () => evaluateTrack([key(1, 1), key(0, 2)], 0.5)],
  ['a zero quaternion', () => evaluateTrack([key(0, [0, 0, 0, 0])], 0, 'quat')],
  ['an unknown path', () => valueAt({ props: {}, tracks: {} }, 'transform.skew', 0)],
  ['a non-finite frame to sampleJson', () => sampleJson({ meta: null, entities: {}, relations: {} }, Infinity)],
]) {
  checked++
  let threw = false
  try { fn() } catch { threw = true }
  if (!threw) fail(`refuses ${what}`, 'an error', 'no error', 'should throw')
}
checked++
if (valueAt({ kind: 'light', props: {}, tracks: {} }, 'light.color_temperature_k', 0) !== null) {
  fail('valueAt of an unset colour temperature', null, 'a value', 'value')
}

for (const d of fixture.docs || []) {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Buffer.from(d.update, 'base64'))
  const got = attempt(`${d.name} worldFromDoc`, () => worldFromDoc(doc))
  if (got !== undefined) compare(d.world, got, `${d.name} worldFromDoc`, true)
}

// watchWorld follows a document update by update: after each, its world equals a fresh decode and Python's
// world; an entity the update did not touch keeps its object, and in one it touched the unchanged tracks mostly
// keep their key arrays (so sample.js keeps them prepared)
for (const st of fixture.streams || []) {
  const doc = new Y.Doc()
  let touched = null
  let reused = 0
  let unchanged = 0
  const w = watchWorld(doc, (world, t) => {
    touched = t
    if (world !== w.world) fail(`${st.name} onChange`, 'the current world', 'another object', 'identity')
  })
  st.updates.forEach((u, i) => {
    const before = w.world
    touched = null
    Y.applyUpdate(doc, Buffer.from(u, 'base64'))
    const now = w.world
    compare(st.worlds[i], now, `${st.name} update ${i}`, true)
    compare(worldFromDoc(doc), now, `${st.name} update ${i} vs worldFromDoc`, true)
    for (const [id, e] of Object.entries(now.entities)) {
      const old = before.entities[id]
      if (old === undefined) continue
      checked++
      if ((touched === null || !touched.entities.has(id)) && old !== e) {
        fail(`${st.name} update ${i}: entities.${id}`, 'the same object', 'a new one', 'untouched entity rebuilt')
      }
      if (old === e) continue
      for (const [path, keys] of Object.entries(e.tracks)) { // in an entity the update touched
        if (old.tracks[path] === undefined || JSON.stringify(old.tracks[path]) !== JSON.stringify(keys)) continue
        unchanged++
        if (old.tracks[path] === keys) reused++
      }
    }
  })
  checked++
  if (reused < unchanged * 0.8) {
    fail(`${st.name} watchWorld`, 'unchanged key arrays carried over', { reused, unchanged }, 'reuse')
  }
  w.stop()
}

const p = fixture.primitives || {}
for (const [i, r] of (p.rigid || []).entries()) {
  const got = attempt(`rigid[${i}]`, () => rigid(r.m.flat()))
  if (got !== undefined) compare(r.expected.flat(), got, `rigid[${i}]`)
}
for (const [i, r] of (p.decompose || []).entries()) {
  const got = attempt(`decompose[${i}]`, () => decompose(r.m.flat()))
  if (got === undefined) continue
  compare(r.position, got.position, `decompose[${i}].position`)
  compare(r.scale, got.scale, `decompose[${i}].scale`)
  checked++
  if (!quatClose(r.rotation, got.rotation)) fail(`decompose[${i}].rotation`, r.rotation, got.rotation, 'quaternion')
}
for (const [i, r] of (p.temperature || []).entries()) {
  compare(r.rgb, attempt(`temperature[${i}]`, () => temperatureToRgb(r.k)), `temperature[${i}] ${r.k} K`)
}
for (const [i, r] of (p.euler || []).entries()) {
  const got = attempt(`euler[${i}]`, () => quatFromEulerDeg(r.angles, r.order))
  checked++
  if (got !== undefined && !quatClose(r.q, got)) fail(`euler[${i}]`, r.q, got, 'quaternion')
}
for (const [i, r] of (p.project || []).entries()) {
  const w2c = r.w2c.flat()
  const P = projectionMatrixGL(r.K, r.resolution, 0.01, 1000)
  // depth: the near plane maps to NDC z −1, the far plane to +1
  for (const [d, want] of [[0.01, -1], [1000, 1]]) {
    compare(want, (P[10] * -d + P[11]) / (P[14] * -d + P[15]), `projectionMatrixGL[${i}] depth ${d}`)
  }
  r.points.forEach((pt, j) => {
    const got = attempt(`project[${i}][${j}]`, () => project(r.K, w2c, pt))
    if (got === undefined) return
    compare([...r.uv[j], r.depth[j]], got, `project[${i}][${j}]`)
    // the GL projection puts the point on the same pixel
    const c = [0, 1, 2].map((k) =>
      w2c[4 * k] * pt[0] + w2c[4 * k + 1] * pt[1] + w2c[4 * k + 2] * pt[2] + w2c[4 * k + 3])
    const clip = [0, 1, 3].map((k) => P[4 * k] * c[0] + P[4 * k + 1] * c[1] + P[4 * k + 2] * c[2] + P[4 * k + 3])
    const px = [(clip[0] / clip[2] + 1) * r.resolution[0] / 2, (1 - clip[1] / clip[2]) * r.resolution[1] / 2]
    compare(r.uv[j], px, `projectionMatrixGL[${i}][${j}]`)
  })
}
for (const [i, r] of (fixture.slopes || []).entries()) {
  const got = attempt(`keySlopes[${i}]`, () => keySlopes(r.keys))
  if (got === undefined) continue
  const scalar = !Array.isArray(r.keys[0].value)
  const as = (row) => (scalar ? row[0] : row)
  r.keys.forEach((k, j) => {
    const constIn = j > 0 && r.keys[j - 1].interp === 'constant'
    const constOut = j < r.keys.length - 1 && k.interp === 'constant'
    compare(j === 0 || constIn ? null : as(r.m1[j - 1]), got[j].in, `keySlopes[${i}][${j}].in`)
    compare(j === r.keys.length - 1 || constOut ? null : as(r.m0[j]), got[j].out, `keySlopes[${i}][${j}].out`)
  })
}
for (const [i, r] of (p.slerp || []).entries()) {
  const got = attempt(`slerp[${i}]`, () => slerp(r.a, r.b, r.u))
  checked++
  if (got !== undefined && !r.q.every((c, k) => numberClose(c, got[k], TOL))) fail(`slerp[${i}]`, r.q, got, 'number')
}
for (const [i, r] of (p.auto_slopes || []).entries()) {
  compare(r.m, attempt(`autoSlopes[${i}]`, () => autoSlopes(r.t, r.v)), `autoSlopes[${i}]`)
}
if (p.registry) {
  const mine = {}
  for (const [path, s] of Object.entries(ATTRIBUTES)) {
    mine[path] = { type: s.type, kinds: [...s.kinds].sort(), animatable: s.animatable, default: s.default }
  }
  compare(p.registry, mine, 'registry', true)
}

console.log(JSON.stringify({ checked, failed, failures }))
process.exit(failed ? 1 : 0)
