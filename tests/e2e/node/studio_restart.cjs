// The studio across a server restart (run by tests/e2e/test_studio_browser.py): the page, left open, reconnects
// and resyncs by itself — no reload — and shows an edit made on the restarted server.
//
//   node studio_restart.cjs CONFIG_JSON   (CONFIG: {base, project, shot, token, chromium})
//   stdout {"ev":"ready"} once the page is live; stdin "restarted" once the server is back with entity "after";
//   stdout {"ev":"done", ...} or {"ev":"failed", error}
'use strict'

const { chromium } = require('playwright-core')
const readline = require('readline')

const cfg = JSON.parse(process.argv[2])
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const lines = readline.createInterface({ input: process.stdin })
const nextLine = () => new Promise((resolve) => lines.once('line', resolve))

async function main () {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage']
  })
  try {
    const page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${cfg.base}/?project=${cfg.project}&shot=${cfg.shot}&token=${cfg.token}`)
    await page.waitForSelector('#entity-list li[data-entity="before"]', { timeout: 15000 })
    await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live')
    await page.evaluate(() => { window.sameDocument = true }) // gone if the page reloads
    out({ ev: 'ready' })
    if ((await nextLine()).trim() !== 'restarted') throw new Error('expected "restarted"')
    const t0 = Date.now()
    await page.waitForSelector('#entity-list li[data-entity="after"]', { timeout: 20000 })
    await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live', null, { timeout: 5000 })
    if (!(await page.evaluate(() => window.sameDocument === true))) throw new Error('the page reloaded')
    const listed = await page.$$eval('#entity-list .entity-id', (els) => els.map((e) => e.textContent))
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`)
    out({ ev: 'done', back_after_ms: Date.now() - t0, listed })
  } finally {
    await browser.close()
  }
}

main().then(() => process.exit(0)).catch((e) => {
  out({ ev: 'failed', error: String(e && e.stack ? e.stack : e) })
  process.exit(1)
})
