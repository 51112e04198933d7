// Scrubbing in the studio, measured in headless chromium (run by tests/e2e/test_studio_browser.py, --runslow):
// a shot of CHARACTERS characters × JOINTS animated joints × KEYS keys each (built in the page from the shot's
// biped, so no server holds it), then every frame of the range is sampled (sample.js), drawn (viewport + timeline)
// and timed: per-frame cost (sampling, viewport with a GPU finish, timeline) and the frames per second it allows.
//
//   node studio_scrub.cjs CONFIG_JSON   (CONFIG: {base, project, shot, token, chromium, characters, joints, keys})
'use strict'

const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])

async function main () {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage']
  })
  try {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 860 } })).newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(`${cfg.base}/?project=${cfg.project}&shot=${cfg.shot}&frame=0&token=${cfg.token}`)
    await page.waitForFunction(() => window.studio.shot && window.studio.shot.sampler.current &&
      window.studio.shot.sampler.current.entities.hero)
    // characters are drawn as their white-box bodies once the templates are in (when the server has them)
    await page.waitForFunction(() => window.studio.shot.viewport.templates !== null, null, { timeout: 10000 }).catch(() => {})
    const result = await page.evaluate(async ({ characters, joints, keys }) => {
      const { sampleJson } = await import('/studio/js/sample.js')
      const shot = window.studio.shot
      const base = shot.sampler.decoded()
      const hero = base.entities.hero
      const names = hero.props.skeleton.map((j) => j.name).slice(0, joints)
      let seed = 1
      const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5 }
      const world = { ...base, entities: {} }
      const docEntities = {}
      for (let c = 0; c < characters; c++) {
        const id = `c${String(c).padStart(2, '0')}`
        const tracks = {}
        const rows = {}
        for (const name of names) {
          const track = []
          for (let k = 0; k < keys; k++) {
            const h = 0.2 * rnd(); const q = [Math.sin(h), 0.1 * rnd(), 0.1 * rnd(), Math.cos(h)]
            const n = Math.hypot(...q)
            track.push({ frame: k, value: q.map((x) => x / n), interp: 'auto', by: 'bench' })
          }
          tracks[`joints.${name}.rotation`] = track
          rows[`joints.${name}.rotation`] = track.map((k) => [k.frame, k.value, k.interp, k.by, null, null])
        }
        const props = { ...hero.props, 'transform.position': [(c % 10) * 1.2 - 6, 0, Math.floor(c / 10) * 1.5 - 3] }
        world.entities[id] = { kind: 'character', name: '', parent: null, props, tracks }
        docEntities[id] = { kind: 'character', name: '', parent: null, props, tracks: rows }
      }
      shot.session.provider.disconnect() // the bench drives the panels itself, off the live document
      const v = shot.viewport
      const tl = shot.timeline
      const t = { sample: [], view: [], timeline: [], total: [] }
      for (let f = 0; f < keys; f++) {
        const t0 = performance.now()
        const s = sampleJson(world, f + 0.5)
        const t1 = performance.now()
        v.update({ entities: docEntities, world: s, others: [], selection: [], lookThrough: '', resolution: [1280, 720] })
        v._render()
        v.renderer.getContext().finish()
        const t2 = performance.now()
        tl.set({ entities: docEntities, frame: f + 0.5 })
        const t3 = performance.now()
        t.sample.push(t1 - t0); t.view.push(t2 - t1); t.timeline.push(t3 - t2); t.total.push(t3 - t0)
      }
      const WARMUP = 5 // the first frames compile shaders and upload geometry: reported apart
      const warmupMs = t.total.slice(0, WARMUP)
      for (const k of Object.keys(t)) t[k] = t[k].slice(WARMUP)
      const stat = (xs) => {
        const s = xs.slice().sort((a, b) => a - b)
        return { mean_ms: xs.reduce((a, b) => a + b, 0) / xs.length, median_ms: s[Math.floor(0.5 * (s.length - 1))], p95_ms: s[Math.floor(0.95 * (s.length - 1))], max_ms: s[s.length - 1] }
      }
      const total = stat(t.total)
      return { characters, joints: names.length, keys, bodies: v.templates !== null, sample: stat(t.sample), viewport: stat(t.view),
        timeline: stat(t.timeline), total, fps_from_mean: 1000 / total.mean_ms, fps_from_median: 1000 / total.median_ms, warmup_ms: warmupMs }
    }, { characters: cfg.characters, joints: cfg.joints, keys: cfg.keys })
    process.stdout.write(JSON.stringify({ ev: 'scrub', ...result, errors }) + '\n')
  } finally {
    await browser.close()
  }
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ev: 'failed', error: String(e && e.stack ? e.stack : e) }) + '\n')
  process.exit(1)
})
