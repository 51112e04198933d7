// The studio across a server restart (run by tests/e2e/test_studio_browser.py): the page, left open, reconnects
// and resyncs by itself — no reload — and shows an edit made on the restarted server; then, holding a document of
// another reducer version, it is closed with 4410 and starts over from a fresh document, again without a reload.
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
    const backMs = Date.now() - t0

    // a document from another reducer version (a server client id >= 2^32 that is not this shot's): on the next
    // sync the server closes with 4410, and the page drops its document and resyncs a fresh one by itself
    await page.evaluate(async () => {
      const Y = await import('yjs')
      const s = window.studio.shot.session
      const stale = new Y.Doc()
      stale.clientID = 2 ** 32 + 12345
      stale.getMap('entities').set('stale-entity', new Y.Map())
      Y.applyUpdate(s.doc, Y.encodeStateAsUpdate(stale), s.provider) // as if it came from an older server
      s.provider.disconnect()
      s.provider.connect()
    })
    await page.waitForFunction(() => window.studio.shot.session.resyncs === 1, null, { timeout: 10000 })
    await page.waitForFunction(() => document.querySelector('#conn').textContent === 'live', null, { timeout: 10000 })
    await page.waitForSelector('#entity-list li[data-entity="after"]', { timeout: 5000 })
    const afterResync = await page.$$eval('#entity-list .entity-id', (els) => els.map((e) => e.textContent))
    if (afterResync.includes('stale-entity')) throw new Error('the stale document was kept')
    if (!(await page.evaluate(() => window.sameDocument === true))) throw new Error('the page reloaded on 4410')
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`)
    out({ ev: 'done', back_after_ms: backMs, listed, after_4410: afterResync })
  } finally {
    await browser.close()
  }
}

main().then(() => process.exit(0)).catch((e) => {
  out({ ev: 'failed', error: String(e && e.stack ? e.stack : e) })
  process.exit(1)
})
