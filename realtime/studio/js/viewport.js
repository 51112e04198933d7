// The viewport: the sampled world drawn with three.js — white-box props and environments, characters' joints
// and bones, camera frusta from their intrinsics, light gizmos — plus others' drags as ghosts, selection, a
// move/rotate gizmo, and looking through any camera with its exact intrinsics (SPEC §2: Y up, metres; cameras
// look down −Z; K is in pixels of the shot's resolution).
//
// The viewport holds no world of its own: `update()` is given the document's entities (geometry, skeletons) and
// the sampled world at the current frame, and redraws from them. A drag is reported through `onDragMove` (the
// caller streams it through awareness) and `onDragEnd` (the caller sends one command).

import * as THREE from 'three'
import { OrbitControls } from 'three/addons/controls/OrbitControls.js'
import { TransformControls } from 'three/addons/controls/TransformControls.js'
import { matchTemplate, scaledVolumes } from './bodies.js'

const FRUSTUM_DEPTH_M = 0.6
const SELECT_COLOR = 0xffcf5a
const JOINT_BALL = new THREE.SphereGeometry(0.03, 8, 6)
const JOINT_MAT = new THREE.MeshStandardMaterial({ color: 0x8fd18f })
const BONE_MAT = new THREE.LineBasicMaterial({ color: 0x8fd18f })
const BODY_MAT = new THREE.MeshStandardMaterial({ color: 0xb9d8b9, roughness: 0.85 })
const UNIT_BOX = new THREE.BoxGeometry(2, 2, 2) // shared by every box volume (scaled by its half extents)
const UNIT_SPHERE = new THREE.SphereGeometry(1, 12, 8) // shared by every ellipsoid (scaled by its semi-axes)

/** A unit-ish mesh for one body volume; its matrix (joint · T(center) · R(rotation) · S) is set per frame. */
function volumeMesh (v) {
  let geo
  let s
  if (v.shape === 'box') { geo = UNIT_BOX; s = v.half }
  else if (v.shape === 'capsule') { // along Y over ±half[1]; caps are half-ellipsoids of height min(half[0], half[2])
    const c = Math.max(1e-4, Math.min(v.half[0], v.half[2]))
    geo = new THREE.CapsuleGeometry(c, Math.max(0, 2 * v.half[1] - 2 * c), 3, 10)
    s = [v.half[0] / c, 1, v.half[2] / c]
  } else { geo = UNIT_SPHERE; s = v.half } // ellipsoid
  const mesh = new THREE.Mesh(geo, BODY_MAT)
  mesh.matrixAutoUpdate = false
  mesh.userData.local = new THREE.Matrix4().compose(new THREE.Vector3(...v.center),
    new THREE.Quaternion(...v.rotation), new THREE.Vector3(...s))
  mesh.userData.joint = v.joint
  return mesh
}

export function matrixFromRows (rows) {
  const m = new THREE.Matrix4()
  m.set(...rows[0], ...rows[1], ...rows[2], ...rows[3]) // Matrix4.set takes row-major order
  return m
}

/** An OpenGL projection from pinhole intrinsics K (pixels of a W×H image, v down) and clip planes. */
export function projectionFromK (K, width, height, near, far) {
  const fx = K[0][0]; const fy = K[1][1]; const cx = K[0][2]; const cy = K[1][2]
  const m = new THREE.Matrix4()
  m.set(
    2 * fx / width, 0, 1 - 2 * cx / width, 0,
    0, 2 * fy / height, 2 * cy / height - 1, 0,
    0, 0, -(far + near) / (far - near), -2 * far * near / (far - near),
    0, 0, -1, 0)
  return m
}

function geometryFor (g) {
  if (!g || typeof g !== 'object') return null
  let geo
  let lift = 0
  switch (g.primitive) {
    case 'box': geo = new THREE.BoxGeometry(...g.size); lift = g.size[1] / 2; break
    case 'sphere': geo = new THREE.SphereGeometry(g.radius, 24, 16); lift = g.radius; break
    case 'cylinder': geo = new THREE.CylinderGeometry(g.radius, g.radius, g.height, 24); lift = g.height / 2; break
    case 'capsule': {
      const len = Math.max(g.height - 2 * g.radius, 0)
      geo = new THREE.CapsuleGeometry(g.radius, len, 6, 16); lift = g.height / 2; break
    }
    case 'plane': geo = new THREE.PlaneGeometry(g.size[0], g.size[1]); geo.rotateX(-Math.PI / 2); break
    default: geo = new THREE.BoxGeometry(1, 1, 1); lift = 0.5 // an asset: its proxy box until assets are loaded
  }
  geo.translate(0, lift, 0) // every geometry's pivot is the bottom centre of its bounding box
  return geo
}

function frustumLines (K, width, height) {
  const d = FRUSTUM_DEPTH_M
  const fx = K[0][0]; const fy = K[1][1]; const cx = K[0][2]; const cy = K[1][2]
  const at = (u, v) => new THREE.Vector3((u - cx) / fx * d, -(v - cy) / fy * d, -d)
  const c = [at(0, 0), at(width, 0), at(width, height), at(0, height)]
  const o = new THREE.Vector3()
  const up = at(width / 2, -height * 0.15)
  const pts = [o, c[0], o, c[1], o, c[2], o, c[3], c[0], c[1], c[1], c[2], c[2], c[3], c[3], c[0],
    c[0].clone().lerp(c[1], 0.3), up, up, c[0].clone().lerp(c[1], 0.7)]
  return new THREE.BufferGeometry().setFromPoints(pts)
}

export class Viewport {
  constructor (container, { onSelect, onDragMove, onDragEnd, canEdit }) {
    this.container = container
    this.onSelect = onSelect
    this.onDragMove = onDragMove
    this.onDragEnd = onDragEnd
    this.canEdit = canEdit
    this.objects = new Map() // id -> {group, key, pickables, kind, color}
    this.ghosts = new Map() // clientId -> Object3D
    this.skeletons = new Map() // id -> {objects, …}: a character's joints and bones, or its body volumes
    this.templates = null // GET /v1/templates, when the server has it
    this.bodyBatches = new Map() // "template:scale:volume" -> {mesh (instanced), proto, capacity, count, ids}
    this.selection = []
    this.lookThrough = ''
    this.mode = 'translate'
    this.resolution = [1280, 720]
    this.world = null
    this.docEntities = {}

    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true })
    this.renderer.setPixelRatio(1)
    this.renderer.setScissorTest(true)
    container.appendChild(this.renderer.domElement)
    this.scene = new THREE.Scene()
    this.scene.background = new THREE.Color(0x0d0f14)
    this.scene.add(new THREE.HemisphereLight(0xdfe8ff, 0x303040, 2.2))
    const sun = new THREE.DirectionalLight(0xffffff, 1.6)
    sun.position.set(4, 8, 5)
    this.scene.add(sun)
    this.grid = new THREE.GridHelper(20, 20, 0x3a4560, 0x252c3c)
    this.scene.add(this.grid)
    this.bones = new THREE.Group()
    this.scene.add(this.bones)

    this.editorCamera = new THREE.PerspectiveCamera(50, 1, 0.05, 500)
    this.editorCamera.position.set(6, 5, 9)
    this.lensCamera = new THREE.PerspectiveCamera() // its matrices are set from a scene camera's K and pose
    this.lensCamera.matrixAutoUpdate = false
    this.orbit = new OrbitControls(this.editorCamera, this.renderer.domElement)
    this.orbit.target.set(0, 0.5, 0)
    this.orbit.update()
    this.orbit.addEventListener('change', () => this.invalidate())

    this.proxy = new THREE.Object3D() // what the gizmo moves; reset from the sampled world when not dragging
    this.scene.add(this.proxy)
    this.gizmo = new TransformControls(this.editorCamera, this.renderer.domElement)
    this.gizmo.setSize(0.9)
    this.scene.add(this.gizmo.getHelper())
    this.dragging = false
    this.gizmo.addEventListener('dragging-changed', (e) => this._draggingChanged(e.value))
    this.gizmo.addEventListener('objectChange', () => this._dragMoved())
    this.gizmo.addEventListener('change', () => this.invalidate())
    this.selectBox = new THREE.Box3Helper(new THREE.Box3(), SELECT_COLOR)
    this.selectBox.visible = false
    this.scene.add(this.selectBox)

    this.raycaster = new THREE.Raycaster()
    const el = this.renderer.domElement
    el.addEventListener('pointerdown', (e) => { this._down = { x: e.clientX, y: e.clientY, axis: this.gizmo.axis } })
    el.addEventListener('pointerup', (e) => this._click(e))
    new ResizeObserver(() => this._resize()).observe(container)
    this._resize()
    this.needsRender = true
    const loop = () => {
      if (this.needsRender) this._render()
      this._raf = requestAnimationFrame(loop)
    }
    loop()
  }

  invalidate () { this.needsRender = true }

  dispose () {
    cancelAnimationFrame(this._raf)
    this.gizmo.dispose()
    this.orbit.dispose()
    this.renderer.dispose()
    this.renderer.domElement.remove()
  }

  setMode (mode) {
    this.mode = mode
    this.gizmo.setMode(mode)
    this.invalidate()
  }

  /** Redraw from the document's entities (`entities.toJSON()`), the sampled world and the others' awareness. */
  update ({ entities, world, others, selection, lookThrough, resolution }) {
    this.docEntities = entities
    if (resolution) this.resolution = resolution
    if (world) this.world = world
    this.selection = selection
    this.lookThrough = lookThrough
    this._sync()
    this._ghosts(others || [])
    this._attachGizmo()
    this.invalidate()
  }

  _sync () {
    const world = this.world
    if (!world) return
    const seen = new Set()
    for (const sk of this.skeletons.values()) sk.seen = false
    for (const batch of this.bodyBatches.values()) batch.count = 0
    for (const [id, s] of Object.entries(world.entities)) {
      const e = this.docEntities[id]
      if (!e) continue // removed since this sample was taken
      seen.add(id)
      const key = JSON.stringify([e.kind, e.props && e.props.geometry, s.camera && s.camera.K, s.light && s.light.type,
        s.light && s.light.cone_deg, this.resolution])
      let obj = this.objects.get(id)
      if (!obj || obj.key !== key) {
        if (obj) this.scene.remove(obj.group)
        obj = this._build(id, e, s, key)
        this.objects.set(id, obj)
        this.scene.add(obj.group)
      }
      obj.group.matrix.copy(matrixFromRows(s.matrix))
      obj.group.matrixWorldNeedsUpdate = true
      obj.group.visible = s.visible !== false && !(this.lookThrough === id)
      if (obj.material && s.color) obj.material.color.setRGB(...s.color)
      if (s.joints) this._skeleton(id, e, s)
    }
    for (const [id, sk] of this.skeletons) {
      if (!sk.seen) { this.bones.remove(...sk.objects); this.skeletons.delete(id) }
    }
    for (const batch of this.bodyBatches.values()) {
      batch.mesh.count = batch.count
      batch.mesh.instanceMatrix.needsUpdate = true
    }
    for (const [id, obj] of this.objects) {
      if (!seen.has(id)) {
        this.scene.remove(obj.group)
        this.objects.delete(id)
      }
    }
    this.scene.updateMatrixWorld(true)
    const sel = this.selection.length ? this.objects.get(this.selection[0]) : null
    this.selectBox.visible = Boolean(sel)
    if (sel) this.selectBox.box.setFromObject(sel.group)
  }

  _build (id, e, s, key) {
    const group = new THREE.Group()
    group.matrixAutoUpdate = false
    group.userData.entity = id
    const obj = { group, key, kind: e.kind, pickables: [], material: null }
    const pick = (mesh) => { mesh.userData.entity = id; obj.pickables.push(mesh); group.add(mesh) }
    if (e.kind === 'prop' || e.kind === 'environment') {
      const geo = geometryFor(e.props && e.props.geometry)
      if (geo) {
        obj.material = new THREE.MeshStandardMaterial({ color: 0xcfd6e4, roughness: 0.8, side: THREE.DoubleSide })
        pick(new THREE.Mesh(geo, obj.material))
      }
    } else if (e.kind === 'camera' && s.camera) {
      const [w, h] = this.resolution
      group.add(new THREE.LineSegments(frustumLines(s.camera.K, w, h), new THREE.LineBasicMaterial({ color: 0x9ad0ff })))
      pick(new THREE.Mesh(new THREE.BoxGeometry(0.2, 0.15, 0.25).translate(0, 0, 0.06),
        new THREE.MeshStandardMaterial({ color: 0x4d6a8a })))
    } else if (e.kind === 'light') {
      const m = new THREE.MeshBasicMaterial({ color: 0xffe08a, wireframe: true })
      pick(new THREE.Mesh(new THREE.OctahedronGeometry(0.15), m))
      const type = s.light && s.light.type
      if (type === 'spot' || type === 'sun' || type === 'area') {
        const pts = [new THREE.Vector3(), new THREE.Vector3(0, 0, -1)]
        group.add(new THREE.Line(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: 0xffe08a })))
      }
      if (type === 'spot' && s.light.cone_deg) {
        const r = Math.tan(THREE.MathUtils.degToRad(s.light.cone_deg / 2))
        const cone = new THREE.ConeGeometry(r, 1, 24, 1, true).translate(0, -0.5, 0).rotateX(-Math.PI / 2)
        group.add(new THREE.Mesh(cone, new THREE.MeshBasicMaterial({ color: 0xffe08a, wireframe: true, transparent: true, opacity: 0.3 })))
      }
    } else if (e.kind === 'character') {
      // the entity's own pivot; the body is drawn from its joints in world space (see _skeleton)
      pick(new THREE.Mesh(new THREE.CylinderGeometry(0.25, 0.25, 0.02, 24),
        new THREE.MeshBasicMaterial({ color: 0x8fd18f, transparent: true, opacity: 0.5 })))
    }
    return obj
  }

  _skeleton (id, e, s) {
    const match = matchTemplate(this.templates, e.props && e.props.skeleton)
    if (match) { this._body(id, s, match); return }
    // one instanced mesh of joint balls and one line set of bones per character, updated in place every frame
    const names = Object.keys(s.joints)
    const joints = (e.props && e.props.skeleton) || []
    const parentOf = new Map(joints.map((j) => [j.name, j.parent]))
    const key = names.join('\u0000')
    let sk = this.skeletons.get(id)
    if (!sk || sk.key !== key) {
      if (sk) this.bones.remove(...sk.objects)
      const pairs = names.map((n, i) => [names.indexOf(parentOf.get(n)), i]).filter(([p]) => p >= 0)
      const dots = new THREE.InstancedMesh(JOINT_BALL, JOINT_MAT, names.length)
      const lines = new THREE.LineSegments(new THREE.BufferGeometry(), BONE_MAT)
      lines.geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(pairs.length * 6), 3))
      lines.frustumCulled = false
      dots.frustumCulled = false
      sk = { key, names, pairs, dots, lines, objects: [dots, lines] }
      this.skeletons.set(id, sk)
      this.bones.add(dots, lines)
    }
    const m = new THREE.Matrix4()
    const pos = new Float32Array(names.length * 3)
    names.forEach((name, i) => {
      const r = s.joints[name]
      pos[3 * i] = r[0][3]; pos[3 * i + 1] = r[1][3]; pos[3 * i + 2] = r[2][3]
      m.makeTranslation(r[0][3], r[1][3], r[2][3])
      sk.dots.setMatrixAt(i, m)
    })
    sk.dots.instanceMatrix.needsUpdate = true
    const buf = sk.lines.geometry.attributes.position
    sk.pairs.forEach(([a, b], k) => {
      buf.array.set(pos.subarray(3 * a, 3 * a + 3), 6 * k)
      buf.array.set(pos.subarray(3 * b, 3 * b + 3), 6 * k + 3)
    })
    buf.needsUpdate = true
    sk.seen = true
  }

  _body (id, s, match) {
    // one instanced mesh per (template, scale, volume) shared by every character with that body: a handful of draw
    // calls however many characters there are; instances are refilled every frame (see _sync)
    const volumes = scaledVolumes(this.templates, match.name, match.scale)
    const entityWorld = matrixFromRows(s.matrix)
    const m = new THREE.Matrix4()
    volumes.forEach((v, i) => {
      const key = `${match.name}:${match.scale}:${i}`
      let batch = this.bodyBatches.get(key)
      if (!batch || batch.count >= batch.capacity) {
        const capacity = batch ? batch.capacity * 2 : 8
        const proto = batch ? batch.proto : volumeMesh(v)
        const mesh = new THREE.InstancedMesh(proto.geometry, BODY_MAT, capacity)
        mesh.frustumCulled = false
        mesh.userData.entity = 'body'
        mesh.userData.joint = v.joint
        if (batch) {
          for (let k = 0; k < batch.count; k++) { batch.mesh.getMatrixAt(k, m); mesh.setMatrixAt(k, m) }
          this.bones.remove(batch.mesh)
        }
        batch = { mesh, proto, capacity, count: batch ? batch.count : 0, ids: batch ? batch.ids : [] }
        this.bodyBatches.set(key, batch)
        this.bones.add(mesh)
      }
      const base = v.joint === null ? entityWorld : matrixFromRows(s.joints[v.joint])
      m.multiplyMatrices(base, batch.proto.userData.local)
      batch.mesh.setMatrixAt(batch.count, m)
      batch.ids[batch.count] = id
      batch.count++
    })
  }

  /** The world matrix an entity would have with its local `path` set to `value` (others' drags, previews). */
  matrixWith (id, path, value) {
    const s = this.world && this.world.entities[id]
    if (!s) return null
    const world = matrixFromRows(s.matrix)
    const parentId = this.docEntities[id] && this.docEntities[id].parent
    const parentWorld = parentId && this.world.entities[parentId]
      ? matrixFromRows(this.world.entities[parentId].matrix) : new THREE.Matrix4()
    const local = parentWorld.clone().invert().multiply(world)
    const p = new THREE.Vector3(); const q = new THREE.Quaternion(); const sc = new THREE.Vector3()
    local.decompose(p, q, sc)
    if (path === 'transform.position') p.fromArray(value)
    else if (path === 'transform.rotation') q.fromArray(value)
    else if (path === 'transform.scale') sc.fromArray(value)
    else return null
    return parentWorld.multiply(new THREE.Matrix4().compose(p, q, sc))
  }

  _ghosts (others) {
    const want = new Map()
    for (const { clientId, state } of others) {
      const d = state.drag
      if (d && typeof d.entity === 'string' && Array.isArray(d.value) && this.objects.has(d.entity)) {
        const m = this.matrixWith(d.entity, d.path, d.value)
        if (m) want.set(clientId, { m, entity: d.entity, color: (state.user && state.user.color) || '#ffffff' })
      }
    }
    for (const [cid, g] of this.ghosts) {
      if (!want.has(cid) || want.get(cid).entity !== g.userData.entity) {
        this.scene.remove(g)
        this.ghosts.delete(cid)
      }
    }
    for (const [cid, w] of want) {
      let g = this.ghosts.get(cid)
      if (!g) {
        const src = this.objects.get(w.entity)
        g = new THREE.Group()
        g.matrixAutoUpdate = false
        g.userData.entity = w.entity
        const mat = new THREE.MeshBasicMaterial({ color: new THREE.Color(w.color), wireframe: true, transparent: true, opacity: 0.8 })
        for (const p of src.pickables) g.add(new THREE.Mesh(p.geometry, mat))
        this.ghosts.set(cid, g)
        this.scene.add(g)
      }
      g.matrix.copy(w.m)
      g.matrixWorldNeedsUpdate = true
    }
  }

  _attachGizmo () {
    const id = this.selection[0]
    const obj = id && this.objects.get(id)
    const editable = obj && this.canEdit(obj.kind) && !this.lookThrough
    if (!editable) {
      if (this.gizmo.object) this.gizmo.detach()
      return
    }
    if (!this.dragging) {
      const s = this.world.entities[id]
      matrixFromRows(s.matrix).decompose(this.proxy.position, this.proxy.quaternion, this.proxy.scale)
      this.proxy.updateMatrixWorld(true)
      this.proxy.userData.entity = id
    }
    if (this.gizmo.object !== this.proxy) this.gizmo.attach(this.proxy)
  }

  _localValue () {
    const id = this.proxy.userData.entity
    const parentId = this.docEntities[id] && this.docEntities[id].parent
    const parentWorld = parentId && this.world.entities[parentId]
      ? matrixFromRows(this.world.entities[parentId].matrix) : new THREE.Matrix4()
    this.proxy.updateMatrixWorld(true)
    const local = parentWorld.invert().multiply(this.proxy.matrixWorld)
    const p = new THREE.Vector3(); const q = new THREE.Quaternion(); const sc = new THREE.Vector3()
    local.decompose(p, q, sc)
    if (this.mode === 'rotate') return { path: 'transform.rotation', value: q.toArray().map(round) }
    return { path: 'transform.position', value: p.toArray().map(round) }
  }

  _draggingChanged (dragging) {
    this.orbit.enabled = !dragging
    this.dragging = dragging
    const id = this.proxy.userData.entity
    if (dragging) return
    const { path, value } = this._localValue()
    this.onDragEnd(id, path, value)
  }

  _dragMoved () {
    if (!this.dragging) return
    const { path, value } = this._localValue()
    this.onDragMove(this.proxy.userData.entity, path, value)
  }

  /** Put the gizmo back where the document says (after a refused command). */
  snapBack () {
    this._attachGizmo()
    this.invalidate()
  }

  _click (e) {
    const down = this._down
    this._down = null
    if (!down || down.axis || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return
    const rect = this.renderer.domElement.getBoundingClientRect()
    const ndc = new THREE.Vector2((e.clientX - rect.left) / rect.width * 2 - 1, -(e.clientY - rect.top) / rect.height * 2 + 1)
    this.raycaster.setFromCamera(ndc, this.activeCamera())
    const pickables = [...this.objects.values()].flatMap((o) => (o.group.visible ? o.pickables : []))
    const hit = this.raycaster.intersectObjects(pickables, false)[0]
    this.onSelect(hit ? hit.object.userData.entity : null)
  }

  activeCamera () {
    const s = this.lookThrough && this.world && this.world.entities[this.lookThrough]
    if (s && s.camera) {
      const [w, h] = this.resolution
      const c = this.lensCamera
      c.projectionMatrix.copy(projectionFromK(s.camera.K, w, h, s.camera.near_m, s.camera.far_m))
      c.projectionMatrixInverse.copy(c.projectionMatrix).invert()
      c.matrixWorldInverse.copy(matrixFromRows(s.camera.world_to_camera))
      c.matrixWorld.copy(c.matrixWorldInverse).invert()
      return c
    }
    return this.editorCamera
  }

  /** The canvas rectangle the active camera draws into: the whole canvas, or the shot's aspect letterboxed. */
  viewRect () {
    const el = this.renderer.domElement
    const W = el.clientWidth; const H = el.clientHeight
    if (!this.lookThrough) return { x: 0, y: 0, w: W, h: H }
    const aspect = this.resolution[0] / this.resolution[1]
    const w = Math.min(W, H * aspect); const h = w / aspect
    return { x: (W - w) / 2, y: (H - h) / 2, w, h }
  }

  _resize () {
    const w = Math.max(1, this.container.clientWidth); const h = Math.max(1, this.container.clientHeight)
    this.renderer.setSize(w, h, false)
    this.editorCamera.aspect = w / h
    this.editorCamera.updateProjectionMatrix()
    this.invalidate()
  }

  _render () {
    this.needsRender = false
    const cam = this.activeCamera()
    this.gizmo.camera = cam
    this.gizmo.getHelper().visible = !this.lookThrough && Boolean(this.gizmo.object)
    const el = this.renderer.domElement
    const r = this.viewRect()
    this.renderer.setScissor(0, 0, el.clientWidth, el.clientHeight)
    this.renderer.setViewport(0, 0, el.clientWidth, el.clientHeight)
    this.renderer.setClearColor(0x050608)
    this.renderer.clear()
    const y = el.clientHeight - r.y - r.h // WebGL's origin is bottom-left
    this.renderer.setScissor(r.x, y, r.w, r.h)
    this.renderer.setViewport(r.x, y, r.w, r.h)
    this.renderer.render(this.scene, cam)
  }

  /** What the camera `id` sees of the scene's bodies at the given resolution (its exact intrinsics, no helpers):
   *  a W×H mask (W×H of the shot's aspect), row 0 at the top, 1 where a prop, environment or body covers the pixel centre. It is the look-
   *  through view without the grid and gizmos, for checking it against a render's instance pass. */
  lensMask (id, [W, H]) {
    const saved = { lookThrough: this.lookThrough, background: this.scene.background }
    this.lookThrough = id
    const cam = this.activeCamera() // K is in pixels of the shot's resolution; W×H only samples it (same aspect)
    const hidden = []
    this.scene.traverse((o) => {
      const body = o.isMesh && o.userData.entity && (['prop', 'environment'].includes(this.objects.get(o.userData.entity)?.kind) ||
        'joint' in o.userData) // props, environments and characters' body volumes
      if ((o.isMesh || o.isLine || o.isPoints || o.isSprite) && !body && o.visible) { o.visible = false; hidden.push(o) }
    })
    const white = new THREE.MeshBasicMaterial({ color: 0xffffff, side: THREE.DoubleSide })
    this.scene.overrideMaterial = white
    this.scene.background = new THREE.Color(0x000000)
    const target = new THREE.WebGLRenderTarget(W, H)
    this.renderer.setRenderTarget(target)
    this.renderer.setScissorTest(false)
    this.renderer.setViewport(0, 0, W, H)
    this.renderer.render(this.scene, cam)
    const px = new Uint8Array(W * H * 4)
    this.renderer.readRenderTargetPixels(target, 0, 0, W, H, px)
    this.renderer.setRenderTarget(null)
    this.renderer.setScissorTest(true)
    target.dispose()
    white.dispose()
    this.scene.overrideMaterial = null
    this.scene.background = saved.background
    for (const o of hidden) o.visible = true
    this.lookThrough = saved.lookThrough
    const mask = new Uint8Array(W * H)
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) mask[y * W + x] = px[((H - 1 - y) * W + x) * 4] > 127 ? 1 : 0
    }
    this.invalidate()
    return mask
  }

  /** Where a world point is on the page (CSS pixels): for tests and overlays. */
  toScreen (point) {
    const v = new THREE.Vector3(...point).project(this.activeCamera())
    const rect = this.renderer.domElement.getBoundingClientRect()
    const r = this.viewRect()
    return { x: rect.left + r.x + (v.x + 1) / 2 * r.w, y: rect.top + r.y + (1 - v.y) / 2 * r.h }
  }
}

function round (x) { return Math.round(x * 1e6) / 1e6 }
