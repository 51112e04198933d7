// The layout console's asset search (run by tests/e2e/test_studio_assets.py): a layout user searches the asset
// library by text and adds the best hit; another page lists it.
//
//   node studio_assets.cjs CONFIG_JSON   (CONFIG: {base, project, shot, tokens: {a, b}, chromium, query, expect})
'use strict'

const { chromium } = require('playwright-core')

const cfg = JSON.parse(process.argv[2])
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

async function main () {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage']
  })
  try {
    const problems = []
    const open = async (token) => {
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 860 } })).newPage()
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
      page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`) })
      await page.goto(`${cfg.base}/?project=${cfg.project}&shot=${cfg.shot}&token=${token}`)
      await page.waitForFunction(() => window.studio.shot && window.studio.shot.session.headSeq() !== null)
      return page
    }
    const a = await open(cfg.tokens.a)
    const b = await open(cfg.tokens.b)
    await a.fill('#asset-q', cfg.query)
    await a.click('#asset-go')
    await a.waitForSelector('#asset-results li[data-asset]', { timeout: 90000 })
    const hits = await a.$$eval('#asset-results li[data-asset]', (els) => els.map((e) => e.dataset.asset))
    if (hits[0] !== cfg.expect) throw new Error(`"${cfg.query}" found ${hits}`)
    await a.click(`#asset-results li[data-asset="${cfg.expect}"]`)
    await b.waitForSelector(`#entity-list li[data-entity="${cfg.expect}"]`, { timeout: 2000 })
    const geometry = await b.evaluate((id) => window.studio.shot.entities()[id].props.geometry, cfg.expect)
    if (problems.length) throw new Error(problems.join('\n'))
    out({ ev: 'done', hits, geometry })
  } finally {
    await browser.close()
  }
}

main().then(() => process.exit(0)).catch((e) => {
  out({ ev: 'failed', error: String(e && e.stack ? e.stack : e) })
  process.exit(1)
})
