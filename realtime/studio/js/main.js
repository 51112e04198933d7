// The studio's entry: sign-in, the project and shot picker, and the shot view that wires the panels to one
// ShotSession. Deep links: /?project=P&shot=S&frame=F opens that shot at that frame; &token=T signs in (and
// leaves the address bar). State lives in the document (historic), awareness (ephemeral) and this page's few
// local settings (frame, selection, camera looked through, playing).

import { Api } from './api.js'
import { tokenFromAddress, storedToken, storeToken, forgetToken, userOf, colorOf } from './auth.js'
import { ShotSession } from './session.js'
import { SampledWorld } from './sampled.js'
import { valueAt } from './sample.js'
import { Viewport } from './viewport.js'
import { Timeline } from './timeline.js'
import { renderEntities } from './entities.js'
import { renderPresence } from './presence.js'
import { renderHistory } from './history.js'
import { renderInspector } from './inspector.js'
import { EntityGraph } from './graph.js'
import { RendersPanel } from './renders.js'
import { loadTemplates } from './bodies.js'
import { renderAgentModes, renderSuggestions } from './agents.js'
import { renderMotionConsole, renderDirectorConsole } from './consoles.js'
import { command, commandId, createEntity, ENTITY_DEFAULTS, freshId, setValue } from './commands.js'
import { mayEdit, mayRestore, mayWrite } from './roles.js'

const $ = (id) => document.getElementById(id)
const DRAG_HZ = 30

const app = { token: null, user: null, api: null, shot: null }
window.studio = app // for the browser tests and the console

function show (screen) {
  for (const id of ['signin', 'picker', 'studio']) $(id).hidden = id !== screen
}

let toastTimer = null
function toast (text, kind = 'error') {
  const t = $('toast')
  t.textContent = text
  t.className = `show ${kind}`
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => { t.className = '' }, 4000)
}
app.toast = toast

function params () { return new URL(window.location.href).searchParams }
function setAddress (fields) {
  const url = new URL(window.location.href)
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined) url.searchParams.delete(k); else url.searchParams.set(k, String(v))
  }
  window.history.replaceState(null, '', url.pathname + url.search)
}

// ---------------------------------------------------------------- sign-in

function signOut (message) {
  forgetToken()
  if (app.shot) { app.shot.close(); app.shot = null }
  app.token = null
  $('signin-message').textContent = message || ''
  show('signin')
}

async function signIn (token) {
  const api = new Api(token, { onUnauthorized: (e) => signOut(`Signed out: ${e.message}`) })
  try {
    const { projects } = await api.projects()
    storeToken(token)
    app.token = token
    app.user = userOf(token) || 'someone'
    app.api = api
    return projects
  } catch (e) {
    signOut(e.status === 401 ? `That token was refused: ${e.message}` : `Could not sign in: ${e.message}`)
    return null
  }
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const projects = await signIn($('signin-token').value.trim())
  if (projects) openPicker(projects)
})
$('signout').addEventListener('click', () => signOut(''))

// ---------------------------------------------------------------- picker

async function openPicker (projects, project) {
  show('picker')
  setAddress({ project: project || null, shot: null, frame: null })
  $('picker-user').textContent = `signed in as ${app.user}`
  $('picker-message').textContent = ''
  const list = $('project-list')
  list.replaceChildren(...projects.map((p) => {
    const li = document.createElement('li')
    li.textContent = `${p.id} (${p.role})`
    li.dataset.project = p.id
    li.addEventListener('click', () => pickProject(p.id))
    return li
  }))
  if (!projects.length) $('picker-message').textContent = 'You are not a member of any project yet.'
  const first = project || (projects.length === 1 ? projects[0].id : null)
  if (first) pickProject(first)
}

async function pickProject (p) {
  app.pickedProject = p
  setAddress({ project: p })
  for (const li of $('project-list').children) li.classList.toggle('on', li.dataset.project === p)
  $('picker-project').textContent = `in ${p}`
  try {
    const { shots } = await app.api.shots(p)
    $('shot-list').replaceChildren(...shots.map((s) => {
      const li = document.createElement('li')
      const id = s.shot || s.id
      li.textContent = `${id}${s.name ? ` — ${s.name}` : ''}`
      li.dataset.shot = id
      li.addEventListener('click', () => openShot(p, id, 0))
      return li
    }))
  } catch (e) {
    $('picker-message').textContent = e.message
  }
}

$('shot-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const p = app.pickedProject
  if (!p) { $('picker-message').textContent = 'Pick a project first.'; return }
  const id = $('shot-id').value.trim()
  try {
    await app.api.createShot(p, { id, fps: Number($('shot-fps').value), frame_start: 0, frame_end: Number($('shot-frames').value) })
    $('shot-id').value = ''
    openShot(p, id, 0)
  } catch (e) {
    $('picker-message').textContent = `Could not create ${id}: ${e.message}`
  }
})

$('to-picker').addEventListener('click', async () => {
  const p = app.shot && app.shot.project
  if (app.shot) { app.shot.close(); app.shot = null }
  const { projects } = await app.api.projects()
  openPicker(projects, p)
})

// ---------------------------------------------------------------- the shot view

class ShotView {
  constructor (project, shot, frame, role) {
    this.project = project
    this.shot = shot
    this.role = role
    this.frame = frame
    this.selection = []
    this.lookThrough = ''
    this.playing = false
    this.history = []
    this.lastDrag = 0
    this.session = new ShotSession({
      project, shot, token: app.token, user: app.user,
      onSignedOut: (reason) => signOut(`Signed out: ${reason}`),
      onFatal: (reason) => { toast(`Connection refused: ${reason}`); $('conn').textContent = 'refused'; $('conn').className = 'pill bad' }
    })
    this.sampler = new SampledWorld(this.session)
    $('viewport').replaceChildren()
    const oldTimeline = $('timeline') // a fresh canvas: the previous shot's listeners go with the old one
    oldTimeline.replaceWith(oldTimeline.cloneNode())
    this.canEditKind = (kind) => mayEdit(this.role, kind)
    this.canEditId = (id) => { const e = this.entities()[id]; return Boolean(e) && mayEdit(this.role, e.kind) }
    this.viewport = new Viewport($('viewport'), {
      onSelect: (id) => this.select(id),
      onDragMove: (entity, path, value) => this.dragMove(entity, path, value),
      onDragEnd: (entity, path, value) => this.dragEnd(entity, path, value),
      canEdit: this.canEditKind
    })
    this.timeline = new Timeline($('timeline'), {
      onScrub: (f) => this.setFrame(f),
      onCommand: (ops) => this.send(ops),
      onDragPreview: (d) => this.session.setAwareness({ drag: d ? { value: null, ...d } : undefined }),
      canEdit: this.canEditId,
      toast,
      valueAt: (id, path, f) => valueAt(this.sampler.decoded().entities[id], path, f)
    })
    $('graph').replaceChildren()
    this.graph = new EntityGraph($('graph'), {
      onSelect: (id) => this.select(id),
      onCommand: (ops) => this.send(ops),
      canEdit: this.canEditKind,
      toast
    })
    this.graph.kind = $('relation-kind').value
    this.renders = new RendersPanel($('renders'), {
      api: app.api, project, shot, toast, canRender: mayWrite(role),
      frame: () => this.frame,
      camera: () => this.lookThrough || null
    })
    this.session.setAwareness({ user: { id: app.user, name: app.user, color: colorOf(app.user) }, frame, selection: [] })
    this.session.addEventListener('doc', () => this.docChanged())
    this.session.addEventListener('synced', () => this.docChanged())
    this.session.addEventListener('awareness', () => this.awarenessChanged())
    this.session.addEventListener('status', (e) => this.statusChanged(e.detail))
    this.sampler.addEventListener('sampled', () => this.redraw())
    this.sampler.addEventListener('error', (e) => toast(`Could not sample the world: ${e.detail.message}`))
    this.lastHead = null
    this.preview = null
    loadTemplates(app.api).then((t) => {
      if (!t || this.session.closed) return
      this.viewport.templates = t
      this.redraw()
    })
  }

  entities () { return this.session.entities() }
  meta () { return this.session.meta() }
  resolution () { return this.meta().resolution || [1280, 720] }

  close () {
    this.playing = false
    this.session.close()
    this.viewport.dispose()
  }

  statusChanged (status) {
    const el = $('conn')
    el.textContent = status === 'connected' ? 'live' : status
    el.className = `pill ${status === 'connected' ? 'ok' : 'bad'}`
  }

  docChanged () {
    const meta = this.meta()
    $('fps').textContent = meta.fps ? `${meta.fps} fps · ${meta.frame_start}–${meta.frame_end}` : ''
    this.sampler.request(this.frame)
    this.renderPanels()
    if (meta.head_seq !== this.lastHead) {
      this.lastHead = meta.head_seq
      this.loadHistory()
      this.loadSuggestions()
      this.renderAgents()
    }
  }

  async loadHistory (attempt = 0) {
    const ticket = (this.historyTicket = (this.historyTicket || 0) + 1)
    const head = this.meta().head_seq
    try {
      const filters = { actor: $('history-actor').value.trim(), entity: $('history-entity').value.trim(), op: $('history-op').value }
      const { entries } = await app.api.history(this.project, this.shot, filters)
      if (ticket !== this.historyTicket || this.session.closed) return // a newer load is under way
      this.history = entries.slice().reverse()
      this.renderHistory()
      // the audit row of the newest event can land a moment after its document update: ask again
      const newest = entries.length ? entries[entries.length - 1].seq : -1
      const filtered = Object.values(filters).some(Boolean)
      if (!filtered && newest < head && attempt < 20) setTimeout(() => { if (ticket === this.historyTicket) this.loadHistory(attempt + 1) }, 150)
    } catch (e) {
      if (e.status !== 401) toast(`History: ${e.message}`)
    }
  }

  renderHistory () {
    renderHistory($('history'), this.history, {
      canRestore: mayRestore(this.role),
      previewing: this.preview,
      onPreview: (seq) => this.previewAt(this.preview === seq ? null : seq),
      onRollback: (seq) => this.rollback(seq),
      onFork: (seq) => this.fork(seq)
    })
  }

  /** Show the world as it was after `seq` (read only), or the live one again (null). */
  async previewAt (seq) {
    if (seq === null) {
      this.preview = null
      this.sampler.preview = null
    } else {
      try {
        const world = await app.api.worldAt(this.project, this.shot, seq)
        this.preview = seq
        this.sampler.preview = world
      } catch (e) { toast(`Preview: ${e.message}`); return }
    }
    $('preview-banner').hidden = $('preview-exit').hidden = seq === null
    $('preview-banner').textContent = seq === null ? '' : `previewing #${seq} — read only`
    this.renderHistory()
    this.sampler.request(this.frame)
  }

  async fork (seq) {
    const taken = new Set()
    try { for (const s of (await app.api.shots(this.project)).shots) taken.add(s.shot || s.id) } catch { }
    const id = freshId(`${this.shot}-take`, taken)
    try {
      await app.api.fork(this.project, this.shot, { shot: id, at_seq: seq, command_id: commandId(app.user) })
      toast(`Forked ${id} from #${seq}`, 'info')
      openShot(this.project, id, this.frame)
    } catch (e) { toast(`Fork refused: ${e.message}`) }
  }

  async loadSuggestions () {
    try {
      const { suggestions } = await app.api.suggestions(this.project, this.shot)
      renderSuggestions($('suggestions'), suggestions, {
        canDecide: mayWrite(this.role),
        onAccept: (id) => this.decide(id, 'accept'),
        onDismiss: (id) => this.decide(id, 'dismiss')
      })
    } catch (e) {
      $('suggestions').replaceChildren()
    }
  }

  async decide (id, verdict) {
    try {
      const res = await app.api.decide(this.project, this.shot, id, verdict)
      if (res.status === 'rejected') toast(`Refused: ${res.reason}`)
    } catch (e) { toast(`${verdict}: ${e.message}`) }
    this.loadSuggestions()
  }

  renderAgents () {
    renderAgentModes($('agent-modes'), {
      modes: this.meta().agents,
      canConfigure: this.role === 'owner' || this.role === 'director',
      onMode: (agent, mode) => this.send([{ type: 'shot.configure', agents: { [agent]: mode } }])
    })
  }

  awarenessChanged () {
    this.renderPanels()
    this.viewport.update(this.viewState())
  }

  viewState () {
    const entities = this.sampler.preview ? this.sampler.preview.entities : this.entities()
    return { entities, world: this.sampler.current, others: this.session.others(), selection: this.selection, lookThrough: this.lookThrough, resolution: this.resolution() }
  }

  renderPanels () {
    const entities = this.entities()
    const others = this.session.others()
    this.selection = this.selection.filter((id) => id in entities)
    const n = renderEntities($('entity-list'), entities, { selection: this.selection, others, onSelect: (id) => this.select(id) })
    $('entity-count').textContent = String(n)
    renderPresence($('presence'), this.session.localState, others)
    this.timeline.set({ entities, meta: this.meta(), frame: this.frame, others })
    const cams = Object.keys(entities).filter((id) => entities[id].kind === 'camera').sort()
    const sel = $('look-through')
    const want = ['', ...cams].join('\u0000')
    if ([...sel.options].map((o) => o.value).join('\u0000') !== want) {
      sel.replaceChildren(...['', ...cams].map((id) => { const o = document.createElement('option'); o.value = id; o.textContent = id || 'editor view'; return o }))
      sel.value = cams.includes(this.lookThrough) ? this.lookThrough : ''
    }
    this.renderInspector()
    if (!$('graph').hidden) this.renderGraph()
  }

  renderGraph () {
    this.graph.render({ entities: this.entities(), relations: this.session.relations(), directives: this.session.directives(), selection: this.selection })
  }

  renderInspector () {
    // never rebuild a console under the person typing in it (others' awareness changes arrive all the time)
    const typing = (el) => el.contains(document.activeElement) && ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName)
    if (typing($('inspector')) || typing($('director'))) return
    const id = this.selection[0]
    const world = this.sampler.current
    const entity = id && this.entities()[id]
    renderInspector($('inspector-body'), {
      id, entity, sampled: world && world.entities[id], resolution: this.resolution(),
      canEdit: entity ? mayEdit(this.role, entity.kind) : false,
      set: (path, value) => this.send([setValue(entity, id, path, value, this.frame)])
    })
    renderMotionConsole($('motion-console'), {
      id, entity, frame: this.frame, selectedJoint: this.joint,
      canEdit: entity ? mayEdit(this.role, entity.kind) && this.preview === null : false,
      rotationOf: (name) => valueAt(this.sampler.decoded().entities[id], `joints.${name}.rotation`, this.frame),
      onJoint: (name) => { this.joint = name; this.renderInspector() },
      onSet: (op, why) => (op ? this.send([op]) : toast(why))
    })
    this.renderDirector()
  }

  renderDirector () {
    renderDirectorConsole($('director'), {
      directives: this.session.directives(),
      canEdit: mayWrite(this.role),
      editing: this.editingDirective,
      onEdit: (did) => { this.editingDirective = this.editingDirective === did ? null : did; this.renderDirector() },
      onRemove: (did) => this.send([{ type: 'directive.remove', id: did }]),
      onSubmit: async (op, why) => {
        if (!op) { toast(why); return }
        const res = await this.send([op])
        if (res && res.status === 'applied') { this.editingDirective = null; this.renderDirector() }
      },
      freshId: (agent) => freshId(agent, new Set(Object.keys(this.session.directives())))
    })
  }

  redraw () {
    this.viewport.update(this.viewState())
    if (!this.viewport.dragging) this.renderInspector()
  }

  select (id) {
    this.selection = id ? [id] : []
    this.session.setAwareness({ selection: this.selection })
    this.renderPanels()
    this.viewport.update(this.viewState())
  }

  setFrame (f) {
    const meta = this.meta()
    const lo = meta.frame_start ?? 0; const hi = meta.frame_end ?? f
    this.frame = Math.min(Math.max(f, lo), hi)
    $('frame').value = String(Math.round(this.frame * 1000) / 1000)
    setAddress({ frame: Math.round(this.frame * 1000) / 1000 })
    this.session.setAwareness({ frame: this.frame })
    this.sampler.request(this.frame)
    this.timeline.set({ frame: this.frame })
  }

  togglePlay () {
    this.playing = !this.playing
    $('play').textContent = this.playing ? '❚❚' : '▶'
    if (!this.playing) return
    const meta = this.meta()
    const fps = meta.fps || 24
    const lo = meta.frame_start ?? 0; const hi = meta.frame_end ?? 120
    const t0 = performance.now(); const f0 = this.frame
    const tick = (now) => {
      if (!this.playing || this.session.closed) return
      const span = hi - lo + 1
      const f = lo + ((Math.floor(f0 - lo + (now - t0) / 1000 * fps) % span) + span) % span
      if (f !== this.frame) this.setFrame(f)
      requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  }

  // -------------------------------------------------------------- edits

  async send (ops) {
    if (!mayWrite(this.role)) { toast('Your role (viewer) may not edit this shot.'); return null }
    if (this.preview !== null) { toast(`Previewing #${this.preview} (read only): go back to live to edit.`); return null }
    const cmd = command(ops, app.user)
    try {
      const res = this.session.connected ? await this.session.send(cmd) : await app.api.command(this.project, this.shot, cmd)
      if (res.status !== 'applied') {
        toast(`Refused: ${res.reason || res.status}`)
        this.viewport.snapBack()
      }
      return res
    } catch (e) {
      toast(`Refused: ${e.message}`)
      this.viewport.snapBack()
      return null
    }
  }

  dragMove (entity, path, value) {
    const now = performance.now()
    if (now - this.lastDrag < 1000 / DRAG_HZ) return
    this.lastDrag = now
    this.session.setAwareness({ drag: { entity, path, value, frame: this.frame } })
  }

  async dragEnd (entity, path, value) {
    this.session.setAwareness({ drag: undefined })
    const e = this.entities()[entity]
    if (!e) return
    await this.send([setValue(e, entity, path, value, this.frame)])
  }

  async searchAssets (q) {
    const ul = $('asset-results')
    ul.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'searching…' }))
    try {
      const { assets } = await app.api.get(`/v1/assets?q=${encodeURIComponent(q)}&k=6`)
      const canAdd = mayEdit(this.role, 'prop')
      ul.replaceChildren(...assets.map((a) => {
        const li = document.createElement('li')
        li.dataset.asset = a.id
        li.title = canAdd ? `add a ${a.name} (${a.dims.join(' × ')} m) at the origin` : 'your role may not add props'
        const name = document.createElement('span'); name.textContent = `${a.name} · ${a.category}`
        const dims = document.createElement('span'); dims.className = 'kind'; dims.textContent = `${a.dims.map((x) => x.toFixed(2)).join('×')} m`
        li.append(name, dims)
        if (canAdd) li.addEventListener('click', () => this.addAsset(a))
        return li
      }))
    } catch (e) {
      ul.replaceChildren()
      toast(`Asset search: ${e.message}`)
    }
  }

  async addAsset (a) {
    const id = freshId(a.id.replace(/[^A-Za-z0-9_.-]/g, '-'), new Set(Object.keys(this.entities())))
    const res = await this.send([createEntity('prop', id, { geometry: a.geometry, color: a.color, 'transform.position': [0, 0, 0] })])
    if (res && res.status === 'applied') this.select(id)
  }

  async addEntity (kind) {
    const id = freshId(kind === 'prop' ? 'box' : kind, new Set(Object.keys(this.entities())))
    const res = await this.send([createEntity(kind, id, ENTITY_DEFAULTS[kind]())])
    if (res && res.status === 'applied') this.select(id)
  }

  async rollback (seq) {
    try {
      const res = await app.api.rollback(this.project, this.shot, commandId(app.user), seq)
      toast(res.status === 'applied' ? `Rolled back to #${seq}` : `Rollback refused: ${res.reason}`, res.status === 'applied' ? 'info' : 'error')
    } catch (e) { toast(`Rollback refused: ${e.message}`) }
  }

  async undo (redo = false) {
    try {
      const res = await (redo ? app.api.redo : app.api.undo).call(app.api, this.project, this.shot, commandId(app.user))
      if (res.skipped && res.skipped.length) toast(`Left as others changed them: ${res.skipped.join(', ')}`, 'info')
    } catch (e) { toast(`${redo ? 'Redo' : 'Undo'}: ${e.message}`) }
  }
}

async function openShot (project, shot, frame) {
  let info
  try {
    info = await app.api.project(project)
  } catch (e) {
    if (e.status !== 401) { const { projects } = await app.api.projects(); openPicker(projects); $('picker-message').textContent = e.message }
    return
  }
  if (app.shot) app.shot.close()
  show('studio')
  setAddress({ project, shot, frame })
  $('shot-title').textContent = `${project} / ${shot}`
  $('role').textContent = info.role
  $('me').textContent = app.user
  const writer = mayWrite(info.role)
  for (const id of ['undo', 'redo']) $(id).disabled = !writer
  for (const [id, kind] of [['add-box', 'prop'], ['add-camera', 'camera'], ['add-light', 'light']]) $(id).disabled = !mayEdit(info.role, kind)
  app.shot = new ShotView(project, shot, frame, info.role)
  app.shot.setFrame(frame)
}

// ---------------------------------------------------------------- global controls

$('frame').addEventListener('change', () => { const f = Number($('frame').value); if (app.shot && Number.isFinite(f)) app.shot.setFrame(f) })
$('play').addEventListener('click', () => app.shot && app.shot.togglePlay())
$('undo').addEventListener('click', () => app.shot && app.shot.undo(false))
$('redo').addEventListener('click', () => app.shot && app.shot.undo(true))
$('add-box').addEventListener('click', () => app.shot && app.shot.addEntity('prop'))
$('asset-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const q = $('asset-q').value.trim()
  if (app.shot && q) app.shot.searchAssets(q)
})
$('add-camera').addEventListener('click', () => app.shot && app.shot.addEntity('camera'))
$('add-light').addEventListener('click', () => app.shot && app.shot.addEntity('light'))
$('mode-move').addEventListener('click', () => setMode('translate'))
$('mode-rotate').addEventListener('click', () => setMode('rotate'))
$('look-through').addEventListener('change', () => {
  const s = app.shot
  if (!s) return
  s.lookThrough = $('look-through').value
  s.session.setAwareness({ camera: s.lookThrough || undefined })
  s.viewport.update(s.viewState())
})

function showTab (tab) {
  $('viewport').hidden = tab !== 'viewport'
  $('viewport-tools').hidden = tab !== 'viewport'
  $('graph').hidden = tab !== 'graph'
  $('graph-tools').hidden = tab !== 'graph'
  $('tab-viewport').classList.toggle('on', tab === 'viewport')
  $('tab-graph').classList.toggle('on', tab === 'graph')
  if (tab === 'graph' && app.shot) app.shot.renderGraph()
}
$('tab-viewport').addEventListener('click', () => showTab('viewport'))
$('preview-exit').addEventListener('click', () => app.shot && app.shot.previewAt(null))
for (const id of ['history-actor', 'history-entity', 'history-op']) $(id).addEventListener('change', () => app.shot && app.shot.loadHistory())
for (const op of ['shot.configure', 'entity.create', 'entity.remove', 'entity.set', 'key.set', 'key.remove', 'track.clear', 'track.shift',
  'skeleton.set', 'relation.add', 'relation.remove', 'directive.add', 'directive.update', 'directive.remove']) {
  const o = document.createElement('option'); o.value = op; o.textContent = op; $('history-op').append(o)
}
$('tab-graph').addEventListener('click', () => showTab('graph'))
$('relation-kind').addEventListener('change', () => { if (app.shot) app.shot.graph.kind = $('relation-kind').value })

function setMode (mode) {
  if (!app.shot) return
  app.shot.viewport.setMode(mode)
  $('mode-move').classList.toggle('on', mode === 'translate')
  $('mode-rotate').classList.toggle('on', mode === 'rotate')
}

document.addEventListener('keydown', (e) => {
  const s = app.shot
  if (!s || $('studio').hidden || e.target.tagName === 'INPUT') return
  if ((e.ctrlKey || e.metaKey) && (e.key === 'z' || e.key === 'Z')) { e.preventDefault(); s.undo(e.shiftKey); return }
  if (e.target === $('timeline')) return
  if (e.key === ' ') {
    e.preventDefault()
    s.togglePlay()
  } else if (e.key === 'w') {
    setMode('translate')
  } else if (e.key === 'e') {
    setMode('rotate')
  }
})

// ---------------------------------------------------------------- boot

async function boot () {
  const fromAddress = tokenFromAddress()
  const token = fromAddress || storedToken()
  if (!token) { show('signin'); return }
  const projects = await signIn(token)
  if (!projects) return
  const q = params()
  const project = q.get('project'); const shot = q.get('shot')
  const frame = Number(q.get('frame') || 0)
  if (project && shot) openShot(project, shot, Number.isFinite(frame) ? frame : 0)
  else openPicker(projects, project)
}

boot()
