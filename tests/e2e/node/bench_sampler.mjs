// 50 characters × 33 joints (30 keyed) × 240 keys: timings of sample.js (no document decoding)
//   node tests/e2e/node/bench_sampler.mjs
import { sampleWorld, sampleJson } from '../../../realtime/studio/js/sample.js'
let seed = 1
const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5 }
const joints = Array.from({ length: 33 }, (_, j) => ({
  name: `j${j}`, parent: j ? `j${Math.floor((j - 1) / 2)}` : null, offset: [rnd(), rnd(), rnd()],
}))
const entities = {}
for (let c = 0; c < 50; c++) {
  const tracks = {}
  for (let j = 0; j < 30; j++) {
    tracks[`joints.j${j}.rotation`] = Array.from({ length: 240 }, (_, f) => {
      const q = [rnd() * 0.2, rnd() * 0.2, rnd() * 0.2, 1]; const n = Math.hypot(...q)
      return { frame: f, value: q.map((x) => x / n), interp: ['auto', 'linear', 'bezier'][f % 3], by: 'u' }
    })
  }
  const props = { skeleton: joints, 'transform.position': [c, 0, 0] }
  entities[`c${c}`] = { kind: 'character', name: '', parent: null, props, tracks }
}
const world = { meta: { resolution: [1280, 720] }, entities, relations: {}, directives: {} }
let t = performance.now(); sampleWorld(world, 0.5)
console.log(`first frame (prepares 360k keys): ${(performance.now() - t).toFixed(1)} ms`)
for (const [name, fn] of [['sampleWorld', sampleWorld], ['sampleJson', sampleJson]]) {
  t = performance.now(); let n = 0
  const cpu = process.cpuUsage()
  for (let f = 0; f < 240; f += 0.37) { fn(world, f); n++ }
  const used = process.cpuUsage(cpu)
  console.log(`${name}: ${((performance.now() - t) / n).toFixed(2)} ms a frame ` +
    `(${((used.user + used.system) / 1000 / n).toFixed(2)} ms of CPU)`)
}
