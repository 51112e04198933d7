// The browser's sampler and document decoder checked against Python's answers (tests/e2e/test_js_sampler.py).
//
//   node js_sampler.mjs FIXTURE.json
//
// The fixture, written by Python at test time:
//   cases:      [{name, world (World.to_json()), samples: [{frame, expected (core.sampling.sample_json)}]}]
//   docs:       [{name, update (base64 Yjs update of the reducer's document), world (World.to_json())}]
//   primitives: {rigid: [{m, expected}], decompose: [{m, position, rotation, scale}], temperature: [{k, rgb}],
//                euler: [{angles, order, q}], registry: {path: {type, kinds, animatable, default}}}
// Prints one JSON line {checked, failed, failures: [the first 30]} and exits 1 when anything differs: numbers by more
// than 1e-9 (absolute, or relative beyond 1), quaternion components (q ≡ −q) by more than 1e-6, anything else
// at all.
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import {
  ATTRIBUTES, decompose, quatFromEulerDeg, rigid, sampleEntity, sampleJson, temperatureToRgb,
} from '../../../realtime/studio/js/sample.js'
import { worldFromDoc } from '../../../realtime/studio/js/worlddoc.js'

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
    const got = attempt(`${c.name} @ ${s.frame}`, () => sampleJson(c.world, s.frame))
    if (got === undefined) continue
    compareSample(s.expected, got, `${c.name} @ ${s.frame}`)
  }
  // sampleEntity gives each entity as sampleJson does
  const s = c.samples[0]
  for (const id of Object.keys(s.expected.entities)) {
    const got = attempt(`${c.name} sampleEntity ${id}`, () => sampleEntity(c.world, id, s.frame))
    if (got !== undefined) compareEntity(s.expected.entities[id], got, `${c.name} sampleEntity @ ${s.frame}: ${id}`)
  }
}

for (const d of fixture.docs || []) {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Buffer.from(d.update, 'base64'))
  const got = attempt(`${d.name} worldFromDoc`, () => worldFromDoc(doc))
  if (got !== undefined) compare(d.world, got, `${d.name} worldFromDoc`, true)
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
if (p.registry) {
  const mine = {}
  for (const [path, s] of Object.entries(ATTRIBUTES)) {
    mine[path] = { type: s.type, kinds: [...s.kinds].sort(), animatable: s.animatable, default: s.default }
  }
  compare(p.registry, mine, 'registry', true)
}

console.log(JSON.stringify({ checked, failed, failures }))
process.exit(failed ? 1 : 0)
