// Renders from the studio (run by tests/e2e/test_studio_browser.py with a render worker beside the server): request
// a control pack through a camera, follow its progress, view its passes; then looking through that camera in the
// studio must cover the same pixels as the pack's instance pass at that frame (IoU of the silhouettes).
//
//   node studio_render.cjs CONFIG_JSON   (CONFIG: {base, project, shot, token, chromium, out})
'use strict'

const { chromium } = require('playwright-core')
const path = require('path')

const cfg = JSON.parse(process.argv[2])
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

async function main () {
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage']
  })
  try {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
    const problems = []
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`))
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`) })
    await page.goto(`${cfg.base}/?project=${cfg.project}&shot=${cfg.shot}&frame=0&token=${cfg.token}`)
    await page.waitForSelector('#entity-list li[data-entity="cam"]', { timeout: 15000 })
    await page.selectOption('#look-through', 'cam')
    await page.fill('#renders .r-count', '2')
    await page.selectOption('#renders .r-size', '320,180')
    await page.click('#renders .r-go')
    await page.waitForSelector('#renders progress:not([hidden])', { timeout: 5000 })
    await page.waitForSelector('#renders .r-passes img[data-pass="instance"]', { timeout: 120000 })
    const status = await page.textContent('#renders .r-status')
    await page.waitForFunction(() => [...document.querySelectorAll('#renders .r-passes img')].every((i) => i.complete && i.naturalWidth === 320))
    const passes = await page.$$eval('#renders .r-passes img', (imgs) => imgs.map((i) => i.dataset.pass))
    await page.locator('#renders').screenshot({ path: path.join(cfg.out, 'renders.png') })
    await page.locator('#viewport canvas').screenshot({ path: path.join(cfg.out, 'look-through-cam.png') })
    const iou = await page.evaluate(async () => {
      const img = document.querySelector('#renders .r-passes img[data-pass="instance"]')
      const c = document.createElement('canvas')
      c.width = img.naturalWidth; c.height = img.naturalHeight
      const g = c.getContext('2d')
      g.drawImage(img, 0, 0)
      const px = g.getImageData(0, 0, c.width, c.height).data
      const lens = window.studio.shot.viewport.lensMask('cam', [c.width, c.height])
      let both = 0; let either = 0; let packOn = 0; let lensOn = 0
      for (let i = 0; i < lens.length; i++) {
        const p = px[4 * i] || px[4 * i + 1] || px[4 * i + 2] ? 1 : 0
        packOn += p; lensOn += lens[i]
        if (p && lens[i]) both++
        if (p || lens[i]) either++
      }
      return { iou: either ? both / either : 0, pack_pixels: packOn, studio_pixels: lensOn }
    })
    out({ ev: 'render', status, passes, ...iou, problems })
  } finally {
    await browser.close()
  }
}

main().then(() => process.exit(0)).catch((e) => {
  out({ ev: 'failed', error: String(e && e.stack ? e.stack : e) })
  process.exit(1)
})
