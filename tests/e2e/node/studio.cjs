// The studio in a real browser (Debian's chromium driven by playwright-core): two people on one shot, a viewer,
// and a bad token. Run by tests/e2e/test_studio_browser.py:
//
//   node studio.cjs CONFIG_JSON
//
// CONFIG: {base, project, shot, tokens: {a, b, viewer}, out, chromium}. Prints one JSON line per measurement
// ({"ev": ...}) and exits non-zero, saying why, when something a person would see is wrong.
'use strict'

const { chromium } = require('playwright-core')
const fs = require('fs')
const path = require('path')

const cfg = JSON.parse(process.argv[2])
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const problems = [] // console errors, page errors, failed requests, responses >= 400
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function fail (message) {
  throw new Error(message)
}

function watch (page, name) {
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name} console: ${m.text()}`) })
  page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`${name} request failed: ${r.url()} ${r.failure() && r.failure().errorText}`))
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${name} ${r.status()} ${r.url()}`) })
}

async function open (browser, name, token, frame = 10) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } })
  const page = await context.newPage()
  watch(page, name)
  await page.goto(`${cfg.base}/?project=${cfg.project}&shot=${cfg.shot}&frame=${frame}&token=${token}`)
  await page.waitForSelector('#entity-list li[data-entity="cube"]', { timeout: 15000 })
  await page.waitForFunction(() => window.studio.shot && window.studio.shot.sampler.current !== null)
  return page
}

const headSeq = (page) => page.evaluate(() => window.studio.shot.session.headSeq())
const keyDrawn = (page, frame) => page.evaluate((f) => window.studio.shot.timeline.drawn.some(
  (k) => k.entity === 'cube' && k.path === 'transform.position' && k.frame === f), frame)

async function api (token, method, url, body) {
  const res = await fetch(cfg.base + url, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const data = await res.json()
  if (!res.ok) fail(`${method} ${url}: ${res.status} ${JSON.stringify(data)}`)
  return data
}

async function within (ms, what, predicate) {
  const t0 = Date.now()
  while (!(await predicate())) {
    if (Date.now() - t0 > ms) fail(`${what}: not within ${ms} ms`)
    await sleep(10)
  }
  return Date.now() - t0
}

async function main () {
  fs.mkdirSync(cfg.out, { recursive: true })
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage']
  })
  try {
    const a = await open(browser, 'A', cfg.tokens.a)
    const b = await open(browser, 'B', cfg.tokens.b)
    if (a.url().includes('token=')) fail(`the token stayed in the address bar: ${a.url()}`)
    out({ ev: 'opened', url: a.url() })
    const shot = `/v1/projects/${cfg.project}/shots/${cfg.shot}`

    // an entity created over HTTP appears in an open page within 1 s, its id as text
    await b.evaluate(() => {
      window.crateSeenAt = null
      window.studio.shot.session.addEventListener('doc', () => {
        if (window.crateSeenAt === null && document.querySelector('#entity-list li[data-entity="crate"]')) window.crateSeenAt = Date.now()
      })
    })
    let t0 = Date.now()
    await api(cfg.tokens.a, 'POST', `${shot}/commands`, { command_id: 'e2e-crate', ops: [{ type: 'entity.create', id: 'crate', kind: 'prop', props: { geometry: { primitive: 'box', size: [0.5, 0.5, 0.5] }, 'transform.position': [-1.5, 0, 1] } }] })
    await b.waitForSelector('#entity-list li[data-entity="crate"]', { timeout: 3000 })
    const crateMs = (await b.evaluate(() => window.crateSeenAt)) - t0
    if (!(crateMs <= 1000)) fail(`the entity created over HTTP took ${crateMs} ms to show`)
    out({ ev: 'http_entity_visible_ms', ms: crateMs })
    const listed = await b.$$eval('#entity-list .entity-id', (els) => els.map((e) => e.textContent))
    if (listed.join(',') !== 'cam,crate,cube,hero,key') fail(`entity list shows ${listed}`)

    // a key added in A's timeline appears in B's within 1 s
    const at = await a.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 24))
    if (!at) fail('no timeline row for cube transform.position in A')
    // B notes, in the page, when its timeline first draws the key (its panels redraw on the document's update)
    await b.evaluate(() => {
      const session = window.studio.shot.session
      const seen = () => window.studio.shot.timeline.drawn.some((k) => k.entity === 'cube' && k.frame === 24)
      window.keySeenAt = null
      session.addEventListener('doc', () => { if (window.keySeenAt === null && seen()) window.keySeenAt = Date.now() })
    })
    // the person's action is the double-click event in A (noted by a listener of the test, not the app)
    await a.evaluate(() => {
      window.dblclickAt = null
      document.querySelector('#timeline').addEventListener('dblclick', () => { window.dblclickAt = Date.now() }, { capture: true, once: true })
    })
    await a.mouse.dblclick(at.x, at.y)
    await within(3000, 'the key added in A shown in B', () => keyDrawn(b, 24))
    t0 = await a.evaluate(() => window.dblclickAt)
    const keyMs = (await b.evaluate(() => window.keySeenAt)) - t0
    if (!(keyMs <= 1000)) fail(`the key added in A took ${keyMs} ms to show in B`)
    out({ ev: 'key_visible_in_other_ms', ms: keyMs })
    await within(1000, 'the key added in A shown in A', () => keyDrawn(a, 24))
    const track = (await api(cfg.tokens.b, 'GET', `${shot}/world`)).entities.cube.tracks['transform.position']
    const added24 = track.find((k) => k.frame === 24)
    // the new key holds the curve's value there (halfway between the keys at 0 and 48), not a neighbour's
    if (!added24 || !(added24.value[0] > 0.5 && added24.value[0] < 1.5)) fail(`key at 24: ${JSON.stringify(added24)}`)

    const historyCount = async () => (await api(cfg.tokens.a, 'GET', `${shot}/history?limit=1000`)).entries
    // how many audit rows there are once the newest event A has seen is among them (rows land a moment after updates)
    const settledCount = async () => {
      const head = await headSeq(a)
      let rows = []
      await within(3000, 'the history catching up', async () => (rows = await historyCount()).some((e) => e.seq >= head))
      return rows.length
    }
    // the audit rows after the first n, once there are at least `count` (they land a moment after the update)
    const historyAfter = async (n, count) => {
      let rows = []
      await within(3000, `${count} new history entries`, async () => (rows = (await historyCount()).slice(n)).length >= count)
      await sleep(150)
      return (await historyCount()).slice(n)
    }
    // move the key 24 → 30 by dragging it in A's timeline: previewed in B during the drag, one track.shift on release
    let n0 = await settledCount()
    const k24 = await a.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 24))
    const k30 = await a.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 30))
    await a.mouse.move(k24.x, k24.y)
    await a.mouse.down()
    for (let i = 1; i <= 6; i++) { await a.mouse.move(k24.x + (k30.x - k24.x) * i / 6, k24.y); await sleep(30) }
    await within(1000, 'B previews A\'s key drag', () => b.evaluate(() => window.studio.shot.timeline.drawnGhosts.some((g) => g.frame === 30)))
    await a.mouse.up()
    await within(1000, 'the moved key in B', async () => (await keyDrawn(b, 30)) && !(await keyDrawn(b, 24)))
    let added = await historyAfter(n0, 1)
    if (added.length !== 1 || added[0].op_types.join() !== 'track.shift') fail(`moving a key made ${JSON.stringify(added.map((e) => e.op_types))}`)
    // T cycles the selected key's interpolation (auto → constant): one key.set
    n0 = await settledCount()
    await a.focus('#timeline')
    await a.keyboard.press('t')
    await within(1000, 'the key\'s new interpolation in B', () => b.evaluate(() => {
      const e = window.studio.shot.entities().cube
      return e.tracks['transform.position'].some((row) => row[0] === 30 && row[2] === 'constant')
    }))
    // Delete removes it: one key.remove
    await a.keyboard.press('Delete')
    await within(1000, 'the deleted key gone in B', async () => !(await keyDrawn(b, 30)))
    added = await historyAfter(n0, 2)
    if (added.map((e) => e.op_types.join()).join(' ') !== 'key.set key.remove') fail(`T and Delete made ${JSON.stringify(added.map((e) => e.op_types))}`)
    // box-select the keys at 0 and 48, copy, paste at frame 60 (the playhead): one command of two key.sets
    const k0 = await a.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 0))
    const k48 = await a.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 48))
    await a.mouse.move(k0.x - 8, k0.y - 8); await a.mouse.down(); await a.mouse.move(k48.x + 8, k48.y + 8); await a.mouse.up()
    const selected = await a.evaluate(() => window.studio.shot.timeline.selected.size)
    if (selected !== 2) fail(`box select picked ${selected} keys`)
    await a.keyboard.press('Control+c')
    await a.fill('#frame', '60')
    await a.press('#frame', 'Enter')
    await a.focus('#timeline')
    n0 = await settledCount()
    await a.keyboard.press('Control+v')
    await within(1000, 'pasted keys in B', async () => (await keyDrawn(b, 60)) && (await keyDrawn(b, 108)))
    added = await historyAfter(n0, 1)
    if (added.length !== 1 || added[0].op_types.join() !== 'key.set') fail(`paste made ${JSON.stringify(added.map((e) => e.op_types))}`)
    await a.fill('#frame', '10')
    await a.press('#frame', 'Enter')
    await a.locator('#timeline').screenshot({ path: path.join(cfg.out, 'timeline-after-edits-A.png') })

    // the curve view: drag the key at 48 up (one key.set of its value), then its out-tangent (one key.set, bezier)
    const row = await a.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 0))
    const tlBox = await a.locator('#timeline').boundingBox()
    await a.mouse.click(tlBox.x + 40, row.y)
    await a.waitForFunction(() => window.studio.shot.timeline.curves !== null)
    n0 = await settledCount()
    const dot = await a.evaluate(() => window.studio.shot.timeline.curves.where(1, 0))
    await a.mouse.move(dot.x, dot.y); await a.mouse.down()
    for (let i = 1; i <= 5; i++) { await a.mouse.move(dot.x, dot.y - 6 * i); await sleep(20) }
    await a.mouse.up()
    await within(1000, 'B gets the key\'s new value', () => b.evaluate(() => {
      const r = window.studio.shot.entities().cube.tracks['transform.position'].find((k) => k[0] === 48)
      return r[1][0] > 2.05
    }))
    const handle = await a.evaluate(() => window.studio.shot.timeline.curves.handleAt('out'))
    await a.mouse.move(handle.x, handle.y); await a.mouse.down()
    for (let i = 1; i <= 5; i++) { await a.mouse.move(handle.x + 2 * i, handle.y - 8 * i); await sleep(20) }
    await a.mouse.up()
    await within(1000, 'B gets the bezier tangent', () => b.evaluate(() => {
      const r = window.studio.shot.entities().cube.tracks['transform.position'].find((k) => k[0] === 48)
      return r[2] === 'bezier' && Array.isArray(r[5]) && r[5].length === 3
    }))
    added = await historyAfter(n0, 2)
    if (added.length !== 2 || added.some((e) => e.op_types.join() !== 'key.set')) fail(`curve edits made ${JSON.stringify(added.map((e) => e.op_types))}`)
    await a.locator('#timeline').screenshot({ path: path.join(cfg.out, 'curves-A.png') })
    await a.mouse.click(tlBox.x + 40, row.y) // back to the dope sheet
    await a.waitForFunction(() => window.studio.shot.timeline.curves === null)
    out({ ev: 'curve_edits', tangent: added[1].payload.ops[0].out_tangent })
    out({ ev: 'timeline_edits', move: 'track.shift', interp: 'key.set', delete: 'key.remove', paste_ops: added[0].payload.ops.length })

    // a gizmo drag in A: a ghost in B while dragging, exactly one command on release
    await a.click('#entity-list li[data-entity="cube"]')
    await a.waitForFunction(() => window.studio.shot.viewport.gizmo.object !== undefined)
    const axis = await a.evaluate(() => {
      const v = window.studio.shot.viewport
      const p = v.proxy.position
      return { o: v.toScreen([p.x, p.y, p.z]), x: v.toScreen([p.x + 1, p.y, p.z]) }
    })
    const dir = { x: axis.x.x - axis.o.x, y: axis.x.y - axis.o.y }
    const len = Math.hypot(dir.x, dir.y)
    let grab = null
    for (let px = 8; px < 200 && !grab; px += 3) {
      const p = { x: axis.o.x + dir.x / len * px, y: axis.o.y + dir.y / len * px }
      await a.mouse.move(p.x, p.y)
      if (await a.evaluate(() => window.studio.shot.viewport.gizmo.axis === 'X')) grab = p
    }
    if (!grab) fail('could not find the gizmo\'s X handle in A')
    const before = await headSeq(a)
    const historyBefore = await settledCount()
    await a.mouse.down()
    let ghostSeen = false
    for (let i = 1; i <= 24; i++) {
      await a.mouse.move(grab.x + dir.x / len * 5 * i, grab.y + dir.y / len * 5 * i)
      await sleep(25)
      if (!ghostSeen && await b.evaluate(() => window.studio.shot.viewport.ghosts.size === 1)) ghostSeen = true
    }
    await within(1000, 'B shows A\'s drag as a ghost', () => b.evaluate(() => window.studio.shot.viewport.ghosts.size === 1))
    const presence = await b.textContent('#presence')
    if (!presence.includes('dragging cube.transform.position')) fail(`B's presence list: ${presence}`)
    await b.locator('#viewport canvas').screenshot({ path: path.join(cfg.out, 'viewport-ghost-B.png') })
    if (await headSeq(a) !== before) fail('a command was sent during the drag')
    await a.mouse.up()
    await within(3000, 'the drag committed', async () => (await headSeq(b)) > before)
    await within(1000, 'the ghost left B', () => b.evaluate(() => window.studio.shot.viewport.ghosts.size === 0))
    added = await historyAfter(historyBefore, 1)
    if (added.length !== 1 || added[0].op_types.join() !== 'key.set' || added[0].status !== 'applied') {
      fail(`the drag made ${JSON.stringify(added.map((e) => [e.seq, e.op_types, e.status]))}, not one key.set`)
    }
    const dragOp = added[0].payload.ops[0]
    if (dragOp.id !== 'cube' || dragOp.frame !== 10 || !(dragOp.value[0] > 0.5)) fail(`drag op ${JSON.stringify(dragOp)}`)
    out({ ev: 'drag', ghost_during_drag: ghostSeen, op: dragOp })
    await within(1000, 'A\'s history shows the drag', () => a.evaluate((s) => Boolean(document.querySelector(`#history li[data-seq="${s}"]`)), added[0].seq))
    await a.locator('#viewport canvas').screenshot({ path: path.join(cfg.out, 'viewport-A.png') })
    await a.locator('#timeline').screenshot({ path: path.join(cfg.out, 'timeline-A.png') })
    await a.screenshot({ path: path.join(cfg.out, 'studio-A.png') })

    // undo and redo of A's own last edit (the drag's key at frame 10) with the keyboard, seen in B
    await a.keyboard.press('Control+z')
    await within(2000, 'B sees A\'s undo', async () => !(await keyDrawn(b, 10)))
    await a.keyboard.press('Control+Shift+z')
    await within(2000, 'B sees A\'s redo', () => keyDrawn(b, 10))
    out({ ev: 'undo_redo' })

    // a command the server refuses: the page says why, and nothing changes
    await a.click('#entity-list li[data-entity="cam"]')
    const seqRefused = await headSeq(a)
    await a.fill('#inspector-body input[name="focal"]', '5000')
    await a.press('#inspector-body input[name="focal"]', 'Enter')
    await a.waitForFunction(() => document.querySelector('#toast').classList.contains('show') &&
      document.querySelector('#toast').textContent.startsWith('Refused'), null, { timeout: 3000 })
    const refusedText = await a.textContent('#toast')
    if (!/focal/.test(refusedText)) fail(`the refusal does not give the server's reason: ${refusedText}`)
    await sleep(200)
    if (await headSeq(a) !== seqRefused) fail('a refused command changed the shot')
    out({ ev: 'refused', toast: refusedText })

    // the motion console: A turns a joint of hero at the current frame (one key.set), B gets the joint's track
    await a.click('#entity-list li[data-entity="hero"]')
    await a.waitForSelector('#motion-console select[name="joint"]')
    const joint = await a.$eval('#motion-console select[name="joint"]', (s) => s.options[1].value)
    await a.selectOption('#motion-console select[name="joint"]', joint)
    await a.fill('#motion-console input[name="joint-rot.0"]', '20')
    await a.press('#motion-console input[name="joint-rot.0"]', 'Tab')
    await within(1000, 'B gets the joint key', () => b.evaluate((j) => {
      const t = window.studio.shot.entities().hero.tracks[`joints.${j}.rotation`]
      return Boolean(t && t.length === 1 && t[0][0] === 10)
    }, joint))
    // the director console: a directive added in A is listed in B
    await a.fill('#director textarea[name="directive-params"]', '{"text": "the hero walks to the cube"}')
    await a.click('#director .directive-form button[type="submit"]')
    await b.waitForSelector('#director li[data-directive="script"]', { timeout: 1000 })
      .catch(() => fail('the directive added in A is not listed in B'))
    out({ ev: 'motion_and_director', joint })

    // the entity graph: A drags from cam to cube (look_at): one relation.add, drawn in B's graph; then removed
    await a.click('#tab-graph')
    await b.click('#tab-graph')
    const node = async (page, id) => {
      const box = await page.locator(`#graph g.node[data-entity="${id}"] circle`).boundingBox()
      return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
    }
    const from = await node(a, 'cam'); const to = await node(a, 'cube')
    await a.mouse.move(from.x, from.y)
    await a.mouse.down()
    for (let i = 1; i <= 10; i++) await a.mouse.move(from.x + (to.x - from.x) * i / 10, from.y + (to.y - from.y) * i / 10)
    await a.mouse.up()
    await b.waitForSelector('#graph g.relation[data-relation="look_at-cam-cube"]', { timeout: 1000 })
      .catch(() => fail('the relation drawn in A\'s graph is not in B\'s within 1 s'))
    const relLabel = await b.textContent('#graph g.relation[data-relation="look_at-cam-cube"] .edge-label')
    if (relLabel !== 'look_at') fail(`relation label ${relLabel}`)
    await b.locator('#graph').screenshot({ path: path.join(cfg.out, 'graph-B.png') })
    await a.click('#graph g.relation[data-relation="look_at-cam-cube"] .edge-label')
    await a.click('#graph g.relation[data-relation="look_at-cam-cube"] .edge-remove')
    await b.waitForSelector('#graph g.relation[data-relation="look_at-cam-cube"]', { state: 'detached', timeout: 1000 })
      .catch(() => fail('the relation removed in A is still in B\'s graph'))
    await a.click('#tab-viewport')
    await b.click('#tab-viewport')
    out({ ev: 'graph_relation_added_and_removed' })

    // a rollback in A (to just after the seed) is seen in both
    await a.click(`#history li[data-seq="${cfg.seed_seq}"] button.rollback`)
    for (const [name, page] of [['A', a], ['B', b]]) {
      await page.waitForSelector('#entity-list li[data-entity="crate"]', { state: 'detached', timeout: 2000 })
        .catch(() => fail(`${name} still lists crate after the rollback`))
      await within(2000, `${name} drops the drag's key at 10 after the rollback`, async () => !(await keyDrawn(page, 10)))
    }
    out({ ev: 'rollback_seen' })

    // agent modes: A turns collision off (one shot.configure), B's console follows
    await a.selectOption('#agent-modes select[name="agent-collision"]', 'off')
    await b.waitForFunction(() => document.querySelector('#agent-modes select[name="agent-collision"]').value === 'off', null, { timeout: 1000 })
      .catch(() => fail('B does not show the collision agent off'))

    // read-only time travel: B previews the world just before the crate existed, then goes back to live
    const crateSeq = await b.evaluate(() => window.studio.shot.history.find((e) => (e.entity_ids || []).includes('crate') &&
      e.op_types.includes('entity.create')).seq)
    await b.click(`#history li[data-seq="${crateSeq - 1}"] .ops`)
    await b.waitForSelector('#preview-banner:not([hidden])', { timeout: 2000 })
    await within(5000, 'B previews a world without crate', () => b.evaluate(() => {
      const w = window.studio.shot.sampler.current
      return Boolean(w && w.entities.cube && !w.entities.crate && !window.studio.shot.viewport.objects.has('crate'))
    })).catch(async (e) => fail(`${e.message}: ${await b.textContent('#toast')} ${await b.evaluate(() => JSON.stringify(Object.keys(window.studio.shot.sampler.current.entities)))}`))
    await b.click('#preview-exit')
    await b.waitForSelector('#preview-banner[hidden]', { state: 'attached', timeout: 2000 })
    out({ ev: 'preview_then_live' })

    // fork a take from the seed: A lands on the new shot, which holds the seed's world
    await a.click(`#history li[data-seq="${cfg.seed_seq}"] button.fork`)
    await a.waitForFunction(() => window.studio.shot && window.studio.shot.shot === 's1-take', null, { timeout: 5000 })
    await a.waitForSelector('#entity-list li[data-entity="cube"]', { timeout: 5000 })
    const forked = await a.$$eval('#entity-list .entity-id', (els) => els.map((e) => e.textContent))
    if (forked.join(',') !== 'cam,cube,hero,key') fail(`the forked take lists ${forked}`)
    if (!a.url().includes('shot=s1-take')) fail(`A's address after the fork: ${a.url()}`)
    out({ ev: 'forked', url: a.url() })

    // a viewer cannot edit: controls disabled, no gizmo, no command from the timeline
    const v = await open(browser, 'viewer', cfg.tokens.viewer)
    if (await v.textContent('#role') !== 'viewer') fail('the viewer page does not say viewer')
    for (const id of ['#undo', '#redo', '#add-box', '#add-camera', '#add-light']) {
      if (!(await v.isDisabled(id))) fail(`${id} is enabled for a viewer`)
    }
    await v.click('#entity-list li[data-entity="cube"]')
    await sleep(200)
    if (await v.evaluate(() => window.studio.shot.viewport.gizmo.object !== undefined)) fail('a viewer got a gizmo')
    if (!(await v.isDisabled('#inspector-body input[name="position.0"]'))) fail('a viewer can type a position')
    const seqBefore = await headSeq(v)
    const vat = await v.evaluate(() => window.studio.shot.timeline.where('cube', 'transform.position', 30))
    await v.mouse.dblclick(vat.x, vat.y)
    await sleep(500)
    if (await headSeq(v) !== seqBefore || await keyDrawn(v, 30)) fail('a viewer added a key')
    const toast = await v.textContent('#toast')
    if (!toast.includes('may not edit')) fail(`the viewer was not told why: ${toast}`)
    out({ ev: 'viewer_cannot_edit' })

    if (problems.length) fail(`console errors or failed requests:\n${problems.join('\n')}`)

    // a bad token: back to sign-in, with a message (its 401 is the point, so it is not counted above)
    const ctx = await browser.newContext()
    const bad = await ctx.newPage()
    await bad.goto(`${cfg.base}/?project=${cfg.project}&shot=${cfg.shot}&token=not-a-token`)
    await bad.waitForSelector('#signin:not([hidden])', { timeout: 5000 })
    const msg = await bad.textContent('#signin-message')
    if (!msg.includes('refused')) fail(`bad token message: ${msg}`)
    out({ ev: 'bad_token', message: msg })
  } finally {
    await browser.close()
  }
  out({ ev: 'done' })
}

main().catch((e) => {
  out({ ev: 'failed', error: String(e && e.stack ? e.stack : e) })
  process.exit(1)
})
