// Sampling a world at a frame in the browser — the same numbers as Python's core.sampling (SPEC §3, §6).
//
// The world is the raw world JSON (`World.to_json()`, as served by GET …/world, or `worldFromDoc` of the shot's
// Y.Doc): {meta: {resolution, …}, entities: {id: {kind, name, parent, props: {path: value},
// tracks: {path: [{frame, value, interp, in_tangent?, out_tangent?, by}]}}}, relations: {id: {kind, subject,
// object, joint?, offset?}}}. Treat it as immutable: prepared tracks are cached per keys array.
//
// Conventions as in core: right-handed, Y up, metres; quaternions [x, y, z, w] (scalar last); matrices act on
// column vectors and are kept as flat row-major arrays of 16 numbers (m[4 * row + col]); sampleJson writes them
// as 4×4 nested row-major lists. Every computation is in float64 and follows core's order of operations, so the
// results agree with Python to rounding (the conformance suite: tests/e2e/test_js_sampler.py).
//
// How an entity's world matrix is made (core/sampling.py):
// - local = T(position) · R(rotation) · S(scale): tracks win over static props, then the registry defaults;
// - world = parent_world · local, or, for the subject of an `attached_to` relation (which takes precedence over
//   its parent), rigid(anchor) · T(offset) · local, the anchor being the object's world matrix or its joint's
//   global matrix, with scale removed; a relation with a frame range (start, end) holds on [start, end) only, and
//   of several that hold the last by relation id wins;
// - `look_at` replaces the world rotation, keeping position and scale: −Z towards the target (+Y up) for cameras,
//   lights, props and environments; characters (facing +Z) turn about the vertical only. A character target with
//   no joint named is aimed at the centre of its white-box body (bodyCentre), not at its feet. A look_at whose
//   target depends on the subject's own result is ignored, as is one whose target coincides with the subject;
// - visibility is inherited from parents; joints are entity world · FK (joints.<j>.rotation, root motion
//   joints.<root>.position).
// Each sampled entity also carries its representation level (entityLevels, core/levels.py).
//
// For a live view: keep the world with worlddoc.js's watchWorld (unchanged tracks keep their prepared data across
// document updates) and draw from sampleWorld (no decomposition, flat matrices); sampleJson is the API's form.

export const EPS_NORM = 1e-12
export const EPS_FRAME = 1e-9
export const INTERPS = ['constant', 'linear', 'bezier', 'auto']
export const LIGHT_TYPES = ['point', 'spot', 'sun', 'area']
export const DEFAULT_SENSOR_MM = [36.0, 24.0]

const ALL = ['prop', 'environment', 'character', 'camera', 'light']
const SOLID = ['prop', 'environment', 'character']

/** The attribute registry (core/attributes.py): path → {type, unit, kinds, animatable, default}. */
export const ATTRIBUTES = Object.freeze({
  'transform.position': { type: 'vec3', unit: 'm', kinds: ALL, animatable: true, default: [0.0, 0.0, 0.0] },
  'transform.rotation': { type: 'quat', unit: '', kinds: ALL, animatable: true, default: [0.0, 0.0, 0.0, 1.0] },
  'transform.scale': { type: 'vec3', unit: '', kinds: SOLID, animatable: true, default: [1.0, 1.0, 1.0] },
  visible: { type: 'bool', unit: '', kinds: ALL, animatable: true, default: true },
  color: { type: 'rgb', unit: '', kinds: ALL, animatable: true, default: [0.8, 0.8, 0.8] },
  geometry: { type: 'geometry', unit: 'm', kinds: ['prop', 'environment'], animatable: false, default: null },
  skeleton: { type: 'skeleton', unit: 'm', kinds: ['character'], animatable: false, default: null },
  'camera.focal_length_mm': { type: 'float', unit: 'mm', kinds: ['camera'], animatable: true, default: 35.0 },
  'camera.sensor_mm': { type: 'vec2', unit: 'mm', kinds: ['camera'], animatable: true, default: [36.0, 24.0] },
  'camera.focus_distance_m': { type: 'float', unit: 'm', kinds: ['camera'], animatable: true, default: 10.0 },
  'camera.f_stop': { type: 'float', unit: '', kinds: ['camera'], animatable: true, default: 5.6 },
  'camera.near_m': { type: 'float', unit: 'm', kinds: ['camera'], animatable: true, default: 0.1 },
  'camera.far_m': { type: 'float', unit: 'm', kinds: ['camera'], animatable: true, default: 1000.0 },
  'light.type': { type: 'enum', unit: '', kinds: ['light'], animatable: false, default: 'point' },
  'light.intensity': { type: 'float', unit: 'W or W/m²', kinds: ['light'], animatable: true, default: 100.0 },
  'light.color_temperature_k': { type: 'float', unit: 'K', kinds: ['light'], animatable: true, default: null },
  'light.color': { type: 'rgb', unit: '', kinds: ['light'], animatable: true, default: [1.0, 1.0, 1.0] },
  'light.cone_deg': { type: 'float', unit: 'deg', kinds: ['light'], animatable: true, default: 45.0 },
  'light.blend': { type: 'float', unit: '', kinds: ['light'], animatable: true, default: 0.15 },
  'light.size_m': { type: 'float', unit: 'm', kinds: ['light'], animatable: true, default: 0.0 },
  'light.shadow': { type: 'bool', unit: '', kinds: ['light'], animatable: true, default: true },
})

/** `joints.<name>.rotation|position` → [name, leaf]; anything else → null. */
export function jointPath (path) {
  if (!path.startsWith('joints.')) return null
  const rest = path.slice('joints.'.length)
  const dot = rest.lastIndexOf('.')
  if (dot <= 0) return null
  const leaf = rest.slice(dot + 1)
  if (leaf !== 'rotation' && leaf !== 'position') return null
  return [rest.slice(0, dot), leaf]
}

/** The interpolation family of a path: 'quat', 'bool', 'numeric' or 'static'. */
export function trackKind (path) {
  const jp = jointPath(path)
  if (jp !== null) return jp[1] === 'rotation' ? 'quat' : 'numeric'
  const spec = ATTRIBUTES[path]
  if (spec === undefined) throw new Error(`unknown attribute path ${JSON.stringify(path)}`)
  if (spec.type === 'quat') return 'quat'
  if (spec.type === 'bool') return 'bool'
  if (['float', 'vec2', 'vec3', 'rgb'].includes(spec.type)) return 'numeric'
  return 'static'
}

function defaultFor (path) {
  const jp = jointPath(path)
  if (jp !== null) return jp[1] === 'rotation' ? [0.0, 0.0, 0.0, 1.0] : [0.0, 0.0, 0.0]
  const spec = ATTRIBUTES[path]
  if (spec === undefined) throw new Error(`unknown attribute path ${JSON.stringify(path)}`)
  return spec.default
}

// ------------------------------------------------------------------ quaternions (core/quat.py)

/** q (4) → unit quaternion; throws on zero or non-finite input. */
export function quatNormalize (q) {
  if (q.length !== 4) throw new Error(`quaternion must have 4 components, got ${q.length}`)
  if (!q.every(Number.isFinite)) throw new Error('quaternion has non-finite components')
  const n = Math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
  if (n < EPS_NORM) throw new Error('quaternion has zero length')
  return [q[0] / n, q[1] / n, q[2] / n, q[3] / n]
}

/** Hamilton product a ⊗ b. */
export function quatMultiply (a, b) {
  const [ax, ay, az, aw] = a
  const [bx, by, bz, bw] = b
  return [
    aw * bx + ax * bw + ay * bz - az * by,
    aw * by - ax * bz + ay * bw + az * bx,
    aw * bz + ax * by - ay * bx + az * bw,
    aw * bw - ax * bx - ay * by - az * bz,
  ]
}

/** Unit q → 3×3 rotation as a flat row-major array of 9. */
export function quatToMatrix3 (q) {
  const [x, y, z, w] = q
  const xx = x * x; const yy = y * y; const zz = z * z
  const xy = x * y; const xz = x * z; const yz = y * z
  const wx = w * x; const wy = w * y; const wz = w * z
  return [
    1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
    2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
    2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
  ]
}

/** Flat row-major 3×3 rotation → unit quaternion with w ≥ 0. */
export function quatFromMatrix3 (r) {
  const t = r[0] + r[4] + r[8]
  let out
  if (t > 0) {
    const s = Math.sqrt(t + 1.0) * 2
    out = [(r[7] - r[5]) / s, (r[2] - r[6]) / s, (r[3] - r[1]) / s, 0.25 * s]
  } else if (r[0] > r[4] && r[0] > r[8]) {
    const s = Math.sqrt(1.0 + r[0] - r[4] - r[8]) * 2
    out = [0.25 * s, (r[1] + r[3]) / s, (r[2] + r[6]) / s, (r[7] - r[5]) / s]
  } else if (r[4] > r[8]) {
    const s = Math.sqrt(1.0 + r[4] - r[0] - r[8]) * 2
    out = [(r[1] + r[3]) / s, 0.25 * s, (r[5] + r[7]) / s, (r[2] - r[6]) / s]
  } else {
    const s = Math.sqrt(1.0 + r[8] - r[0] - r[4]) * 2
    out = [(r[2] + r[6]) / s, (r[5] + r[7]) / s, 0.25 * s, (r[3] - r[1]) / s]
  }
  const sign = out[3] < 0 ? -1.0 : 1.0
  out = out.map((c) => c * sign)
  const n = Math.sqrt(out[0] * out[0] + out[1] * out[1] + out[2] * out[2] + out[3] * out[3])
  return out.map((c) => c / n)
}

/** Spherical interpolation along the short path, t ∈ [0, 1]. */
export function slerp (a, b, t) {
  a = quatNormalize(a)
  b = quatNormalize(b)
  let d = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
  if (d < 0) b = b.map((c) => -c)
  d = Math.abs(d)
  const theta = Math.acos(Math.min(Math.max(d, -1.0), 1.0))
  const s = Math.sin(theta)
  const near = s < 1e-6
  const wa = near ? 1.0 - t : Math.sin((1.0 - t) * theta) / s
  const wb = near ? t : Math.sin(t * theta) / s
  const out = [0, 1, 2, 3].map((i) => wa * a[i] + wb * b[i])
  const n = Math.sqrt(out[0] * out[0] + out[1] * out[1] + out[2] * out[2] + out[3] * out[3])
  return out.map((c) => c / n)
}

/** Intrinsic Euler angles in degrees applied in `order` (as core.quat.from_euler_deg: "XYZ" = Rx·Ry·Rz). */
export function quatFromEulerDeg (angles, order = 'XYZ') {
  order = order.toUpperCase()
  if (order.length !== 3 || [...order].some((c) => !'XYZ'.includes(c))) {
    throw new Error(`euler order must be three of X, Y, Z, got ${JSON.stringify(order)}`)
  }
  const axes = { X: [1.0, 0.0, 0.0], Y: [0.0, 1.0, 0.0], Z: [0.0, 0.0, 1.0] }
  let q = [0.0, 0.0, 0.0, 1.0]
  for (let i = 0; i < 3; i++) {
    const half = 0.5 * (angles[i] * Math.PI / 180)
    const ax = axes[order[i]]
    q = quatMultiply(q, [ax[0] * Math.sin(half), ax[1] * Math.sin(half), ax[2] * Math.sin(half), Math.cos(half)])
  }
  return q
}

// ------------------------------------------------------------------ 4×4 matrices (core/transform.py)

/** Flat row-major product a · b of two 4×4 matrices. */
export function matMul (a, b) {
  const out = new Array(16)
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      out[4 * i + j] = a[4 * i] * b[j] + a[4 * i + 1] * b[4 + j] + a[4 * i + 2] * b[8 + j] + a[4 * i + 3] * b[12 + j]
    }
  }
  return out
}

function mat3Mul (a, b) {
  const out = new Array(9)
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      out[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j]
    }
  }
  return out
}

function fromRotationTranslation (r, t) {
  return [r[0], r[1], r[2], t[0], r[3], r[4], r[5], t[1], r[6], r[7], r[8], t[2], 0.0, 0.0, 0.0, 1.0]
}

/** T(position) · R(rotation) · S(scale) as a flat row-major 4×4. */
export function compose (position, rotation, scale = null) {
  const r = quatToMatrix3(rotation)
  if (scale !== null) {
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[3 * i + j] = r[3 * i + j] * scale[j]
  }
  return fromRotationTranslation(r, position)
}

export function translationMatrix (t) {
  return [1.0, 0.0, 0.0, t[0], 0.0, 1.0, 0.0, t[1], 0.0, 0.0, 1.0, t[2], 0.0, 0.0, 0.0, 1.0]
}

/** Column lengths of the upper 3×3 of a flat 4×4: the scale of T · R · S. */
export function columnNorms (m) {
  return [0, 1, 2].map((j) => Math.sqrt(m[j] * m[j] + m[4 + j] * m[4 + j] + m[8 + j] * m[8 + j]))
}

function upper3 (m) {
  return [m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]]
}

function det3 (a) {
  return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6])
}

function transpose3 (a) {
  return [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]]
}

function inverse3 (a) {
  const d = det3(a)
  return [
    (a[4] * a[8] - a[5] * a[7]) / d, (a[2] * a[7] - a[1] * a[8]) / d, (a[1] * a[5] - a[2] * a[4]) / d,
    (a[5] * a[6] - a[3] * a[8]) / d, (a[0] * a[8] - a[2] * a[6]) / d, (a[2] * a[3] - a[0] * a[5]) / d,
    (a[3] * a[7] - a[4] * a[6]) / d, (a[1] * a[6] - a[0] * a[7]) / d, (a[0] * a[4] - a[1] * a[3]) / d,
  ]
}

function frobenius (a) {
  return Math.sqrt(a.reduce((s, x) => s + x * x, 0))
}

/** Eigen-decomposition of a symmetric 3×3 (cyclic Jacobi): [values, vectors as columns of a row-major 3×3]. */
function symmetricEigen3 (s) {
  const a = s.slice()
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1]
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = Math.abs(a[1]) + Math.abs(a[2]) + Math.abs(a[5])
    if (off === 0) break
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      const apq = a[3 * p + q]
      if (apq === 0) continue
      const theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq)
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
      const c = 1 / Math.sqrt(t * t + 1)
      const sn = t * c
      for (let k = 0; k < 3; k++) { // a ← Jᵀ a J, v ← v J
        const akp = a[3 * k + p]; const akq = a[3 * k + q]
        a[3 * k + p] = c * akp - sn * akq
        a[3 * k + q] = sn * akp + c * akq
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k]; const aqk = a[3 * q + k]
        a[3 * p + k] = c * apk - sn * aqk
        a[3 * q + k] = sn * apk + c * aqk
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[3 * k + p]; const vkq = v[3 * k + q]
        v[3 * k + p] = c * vkp - sn * vkq
        v[3 * k + q] = sn * vkp + c * vkq
      }
    }
  }
  return [[a[0], a[4], a[8]], v]
}

/** The rotation nearest to a (3×3, flat): the orthogonal polar factor with its determinant forced to +1, as
 *  core.transform._polar (U·diag(1, 1, sign det)·Vᵀ of the SVD, the smallest singular direction flipped). */
function polar3 (a) {
  // Newton's iteration X ← (γX + (γX)⁻ᵀ)/2 with Higham's scaling converges to the orthogonal polar factor
  let x = a.slice()
  for (let i = 0; i < 100; i++) {
    const inv = inverse3(x)
    const g = i < 6 ? Math.sqrt(frobenius(inv) / frobenius(x)) : 1.0
    const it = transpose3(inv)
    const next = x.map((xi, k) => 0.5 * (g * xi + it[k] / g))
    const change = frobenius(next.map((v, k) => v - x[k]))
    x = next
    if (change < 1e-15 && i >= 6) break
  }
  if (det3(a) < 0) {
    // the orthogonal factor is a reflection; flip the right singular vector of the smallest singular value
    const h = mat3Mul(transpose3(x), a)
    const sym = h.map((v, k) => 0.5 * (v + h[3 * (k % 3) + Math.floor(k / 3)]))
    const [vals, vecs] = symmetricEigen3(sym)
    const j = vals.indexOf(Math.min(...vals))
    const v = [vecs[j], vecs[3 + j], vecs[6 + j]]
    const flip = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => (Math.floor(k / 3) === k % 3 ? 1 : 0) -
      2 * v[Math.floor(k / 3)] * v[k % 3])
    x = mat3Mul(x, flip)
  }
  return x
}

function unitColumns (m) {
  const n = columnNorms(m)
  if (n.some((v) => v < EPS_NORM)) throw new Error('matrix has a zero-length axis; cannot remove its scale')
  return upper3(m).map((v, k) => v / n[k % 3])
}

/** Whether the columns of a flat 4×4's upper 3×3 are orthogonal (no shear), as core.transform.rigid decides it:
 *  numpy.allclose(colsᵀ·cols, I, atol=1e-9), i.e. |g − I| ≤ 1e-9 + 1e-5·|I| entry by entry. */
export function hasOrthogonalAxes (m) {
  const cols = unitColumns(m)
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const g = cols[i] * cols[j] + cols[3 + i] * cols[3 + j] + cols[6 + i] * cols[6 + j]
      const want = i === j ? 1.0 : 0.0
      if (!(Math.abs(g - want) <= 1e-9 + 1e-5 * want)) return false
    }
  }
  return true
}

/** Remove scale (and shear) from a flat 4×4: translation and the nearest rotation (core.transform.rigid).
 *  Columns that are already orthogonal are only normalised; otherwise the polar factor is taken. core decides
 *  that once for a whole batch of matrices: pass `polar` (true / false) to follow a batch's decision. */
export function rigid (m, polar = null) {
  const cols = unitColumns(m)
  const usePolar = polar === null ? !hasOrthogonalAxes(m) : polar
  const r = usePolar ? polar3(upper3(m)) : cols
  return fromRotationTranslation(r, [m[3], m[7], m[11]])
}

/** Inverse of a rigid flat 4×4: [Rᵀ, −Rᵀt]. */
export function invertRigid (m) {
  const rt = transpose3(upper3(m))
  const t = [m[3], m[7], m[11]]
  const nt = [0, 1, 2].map((i) => -(rt[3 * i] * t[0] + rt[3 * i + 1] * t[1] + rt[3 * i + 2] * t[2]))
  return fromRotationTranslation(rt, nt)
}

/** Flat 4×4 → {position, rotation (w ≥ 0), scale} (core.transform.decompose); `polar` as for rigid. */
export function decompose (m, polar = null) {
  const scale = columnNorms(m)
  const r = rigid(m, polar)
  return { position: [m[3], m[7], m[11]], rotation: quatFromMatrix3(upper3(r)), scale }
}

function cross (a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

function norm3 (v) {
  return Math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
}

/** Rotation (flat 3×3) whose `forward` axis ('-z' or '+z') points along direction, +Y as close to world up as
 *  possible; [R, ok] with ok false (R identity) where direction has zero length. */
export function aimRotation (direction, forward = '-z') {
  const up = [0.0, 1.0, 0.0]
  if (forward !== '-z' && forward !== '+z') throw new Error(`forward must be '-z' or '+z', got ${forward}`)
  const n = norm3(direction)
  const ok = n > EPS_NORM
  const f = ok ? direction.map((c) => c / n) : [0.0, 0.0, -1.0]
  const z = forward === '-z' ? f.map((c) => -c) : f
  let x = cross(up, z)
  let xn = norm3(x)
  if (xn < 1e-9) {
    const dotUp = f[0] * up[0] + f[1] * up[1] + f[2] * up[2]
    const alt = dotUp > 0 ? [0.0, 0.0, 1.0] : [0.0, 0.0, -1.0]
    x = cross(alt, z)
    xn = norm3(x)
  }
  x = x.map((c) => c / xn)
  const y = cross(z, x)
  if (!ok) return [[1, 0, 0, 0, 1, 0, 0, 0, 1], false]
  return [[x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]], true]
}

// ------------------------------------------------------------------ tracks (core/tracks.py)
//
// A track is prepared once (frames, values, segment slopes and, for rotations, cumulative angles, in typed
// arrays) and cached per keys array; evaluating it at a frame is then a binary search and one segment.

function searchRight (t, f) { // number of t[i] ≤ f (numpy.searchsorted side="right")
  let lo = 0; let hi = t.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (t[mid] <= f) lo = mid + 1
    else hi = mid
  }
  return lo
}

function keyFrames (keys) {
  const t = new Float64Array(keys.length)
  for (let i = 0; i < keys.length; i++) t[i] = Number(keys[i].frame)
  for (let i = 1; i < t.length; i++) {
    if (!(t[i] - t[i - 1] > EPS_FRAME)) throw new Error('keys must be sorted by frame with distinct frames')
  }
  return t
}

function interpCodes (keys) {
  const codes = new Uint8Array(Math.max(keys.length - 1, 0))
  for (let i = 0; i < codes.length; i++) {
    const c = INTERPS.indexOf(keys[i].interp)
    if (c < 0) throw new Error(`unknown interp ${JSON.stringify(keys[i].interp)}; expected one of ${INTERPS}`)
    codes[i] = c
  }
  return codes
}

const CONSTANT = 0; const LINEAR = 1; const BEZIER = 2

/** Monotone slopes into out (K × D, flat) for frames t (K) and values v (K × D, flat). */
function autoSlopesFlat (t, v, dim, out) {
  const k = t.length
  out.fill(0.0)
  if (k < 3) return out
  for (let i = 1; i < k - 1; i++) {
    const h0 = t[i] - t[i - 1]
    const h1 = t[i + 1] - t[i]
    const w1 = 2.0 * h1 + h0
    const w2 = h1 + 2.0 * h0
    for (let c = 0; c < dim; c++) {
      const d0 = (v[i * dim + c] - v[(i - 1) * dim + c]) / h0
      const d1 = (v[(i + 1) * dim + c] - v[i * dim + c]) / h1
      out[i * dim + c] = d0 * d1 > 0 ? (w1 + w2) / (w1 / d0 + w2 / d1) : 0.0
    }
  }
  return out
}

/** Monotone (Fritsch–Carlson / PCHIP) slopes: t (K) frames, v (K × D nested) values → (K × D) slopes per frame;
 *  zero at both ends and at local extrema (core.tracks.auto_slopes). */
export function autoSlopes (t, v) {
  const k = t.length
  const dim = k ? v[0].length : 0
  const out = autoSlopesFlat(Float64Array.from(t), Float64Array.from(v.flat()), dim, new Float64Array(k * dim))
  return Array.from({ length: k }, (_, i) => Array.from(out.subarray(i * dim, (i + 1) * dim)))
}

function hermite (s, h, v0, v1, m0, m1) {
  const s2 = s * s
  const s3 = s2 * s
  return ((2 * s3 - 3 * s2 + 1) * v0 + (s3 - 2 * s2 + s) * h * m0 +
    (-2 * s3 + 3 * s2) * v1 + (s3 - s2) * h * m1)
}

function segmentOf (t, f) { // core.tracks._locate's segment, clipped to [0, K-2]
  return Math.min(Math.max(searchRight(t, f) - 1, 0), t.length - 2)
}

function tangentInto (tan, dim, out, at, what) {
  if (typeof tan === 'number') {
    for (let c = 0; c < dim; c++) out[at + c] = tan
  } else if (Array.isArray(tan) && (tan.length === dim || tan.length === 1)) {
    for (let c = 0; c < dim; c++) out[at + c] = Number(tan[tan.length === 1 ? 0 : c])
  } else {
    throw new Error(`${what} cannot be broadcast to ${dim} components`)
  }
}

const prepared = new WeakMap() // keys array → {kind: what evaluating it needs}

function prepareNumeric (keys) {
  const scalar = !Array.isArray(keys[0].value)
  const dim = scalar ? 1 : keys[0].value.length
  const k = keys.length
  const v = new Float64Array(k * dim)
  for (let i = 0; i < k; i++) {
    const x = keys[i].value
    if (scalar) v[i] = Number(x)
    else {
      if (!Array.isArray(x) || x.length !== dim) throw new Error('track values must all have the same shape')
      for (let c = 0; c < dim; c++) v[i * dim + c] = Number(x[c])
    }
  }
  const p = { scalar, dim, v, t: null, codes: null, m0: null, m1: null }
  if (k === 1) return p
  p.t = keyFrames(keys)
  p.codes = interpCodes(keys)
  const auto = autoSlopesFlat(p.t, v, dim, new Float64Array(k * dim))
  p.m0 = auto.slice(0, (k - 1) * dim)
  p.m1 = auto.slice(dim)
  for (let i = 0; i < k - 1; i++) {
    if (p.codes[i] === BEZIER) {
      if (keys[i].out_tangent != null) tangentInto(keys[i].out_tangent, dim, p.m0, i * dim, 'out_tangent')
      if (keys[i + 1].in_tangent != null) tangentInto(keys[i + 1].in_tangent, dim, p.m1, i * dim, 'in_tangent')
    } else if (p.codes[i] === LINEAR) {
      const h = p.t[i + 1] - p.t[i]
      for (let c = 0; c < dim; c++) {
        p.m0[i * dim + c] = p.m1[i * dim + c] = (v[(i + 1) * dim + c] - v[i * dim + c]) / h
      }
    }
  }
  return p
}

function evalNumeric (p, f) {
  const { v, dim } = p
  const k = v.length / dim
  let at = 0
  let seg = -1
  let s = 0; let h = 0
  if (k > 1) {
    const t = p.t
    if (f < t[0]) at = 0
    else if (f >= t[k - 1]) at = k - 1
    else {
      seg = segmentOf(t, f)
      at = seg
      if (p.codes[seg] !== CONSTANT) {
        h = t[seg + 1] - t[seg]
        s = Math.min(Math.max((f - t[seg]) / h, 0.0), 1.0)
      } else seg = -1
    }
  }
  if (seg < 0) return p.scalar ? v[at] : Array.from(v.subarray(at * dim, (at + 1) * dim))
  const out = new Array(dim)
  for (let c = 0; c < dim; c++) {
    const i = seg * dim + c
    out[c] = hermite(s, h, v[i], v[i + dim], p.m0[i], p.m1[i])
  }
  return p.scalar ? out[0] : out
}

function angularSpeed (q, at, dq) {
  if (!Array.isArray(dq) || dq.length !== 4) throw new Error('a quaternion tangent must have 4 components')
  const d = dq[0] * q[at] + dq[1] * q[at + 1] + dq[2] * q[at + 2] + dq[3] * q[at + 3]
  const p0 = dq[0] - d * q[at]; const p1 = dq[1] - d * q[at + 1]
  const p2 = dq[2] - d * q[at + 2]; const p3 = dq[3] - d * q[at + 3]
  return 2.0 * Math.sqrt(p0 * p0 + p1 * p1 + p2 * p2 + p3 * p3)
}

function normalizeInto (src, at, out) { // quatNormalize of src[at..at+4] into out[at..at+4]
  const x = src[at]; const y = src[at + 1]; const z = src[at + 2]; const w = src[at + 3]
  if (!(Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z) && Number.isFinite(w))) {
    throw new Error('quaternion has non-finite components')
  }
  const n = Math.sqrt(x * x + y * y + z * z + w * w)
  if (n < EPS_NORM) throw new Error('quaternion has zero length')
  out[at] = x / n; out[at + 1] = y / n; out[at + 2] = z / n; out[at + 3] = w / n
}

function prepareQuat (keys) {
  const k = keys.length
  const raw = new Float64Array(4 * k)
  for (let i = 0; i < k; i++) {
    const x = keys[i].value
    if (!Array.isArray(x) || x.length !== 4) throw new Error('a rotation key must be a quaternion [x, y, z, w]')
    for (let c = 0; c < 4; c++) raw[4 * i + c] = Number(x[c])
  }
  const q = new Float64Array(4 * k) // the keys, normalised (core.tracks._eval_quat)
  const qs = new Float64Array(4 * k) // normalised once more, as core.quat.slerp does with its arguments
  for (let i = 0; i < k; i++) {
    normalizeInto(raw, 4 * i, q)
    normalizeInto(q, 4 * i, qs)
  }
  const p = { q, qs, t: null, codes: null, ang: null, cum: null, m0: null, m1: null }
  if (k === 1) return p
  p.t = keyFrames(keys)
  p.codes = interpCodes(keys)
  // short-path angle between consecutive keys, and the cumulative angle along the track
  p.ang = new Float64Array(k - 1)
  p.cum = new Float64Array(k)
  for (let i = 0; i < k - 1; i++) {
    const a = 4 * i; const b = 4 * i + 4
    const d = Math.abs(q[a] * q[b] + q[a + 1] * q[b + 1] + q[a + 2] * q[b + 2] + q[a + 3] * q[b + 3])
    p.ang[i] = 2.0 * Math.acos(Math.min(Math.max(d, 0.0), 1.0))
    p.cum[i + 1] = p.cum[i] + p.ang[i]
  }
  const auto = autoSlopesFlat(p.t, p.cum, 1, new Float64Array(k))
  p.m0 = auto.slice(0, k - 1)
  p.m1 = auto.slice(1)
  for (let i = 0; i < k - 1; i++) {
    if (p.codes[i] !== BEZIER) continue
    if (keys[i].out_tangent != null) p.m0[i] = angularSpeed(q, 4 * i, keys[i].out_tangent)
    if (keys[i + 1].in_tangent != null) p.m1[i] = angularSpeed(q, 4 * i + 4, keys[i + 1].in_tangent)
  }
  return p
}

/** core.quat.slerp of qs[a..] and qs[b..] (already normalised twice, as slerp would) at u → [x, y, z, w]. */
function slerpAt (qs, a, b, u) {
  let d = qs[a] * qs[b] + qs[a + 1] * qs[b + 1] + qs[a + 2] * qs[b + 2] + qs[a + 3] * qs[b + 3]
  const sign = d < 0 ? -1.0 : 1.0
  d = Math.abs(d)
  const theta = Math.acos(Math.min(Math.max(d, -1.0), 1.0))
  const s = Math.sin(theta)
  const near = s < 1e-6
  const wa = near ? 1.0 - u : Math.sin((1.0 - u) * theta) / s
  const wb = near ? u : Math.sin(u * theta) / s
  const x = wa * qs[a] + wb * (sign * qs[b])
  const y = wa * qs[a + 1] + wb * (sign * qs[b + 1])
  const z = wa * qs[a + 2] + wb * (sign * qs[b + 2])
  const w = wa * qs[a + 3] + wb * (sign * qs[b + 3])
  const n = Math.sqrt(x * x + y * y + z * z + w * w)
  return [x / n, y / n, z / n, w / n]
}

function evalQuat (p, f) {
  const { q } = p
  const k = q.length / 4
  if (k === 1) return Array.from(q.subarray(0, 4))
  const t = p.t
  if (f < t[0]) return Array.from(q.subarray(0, 4))
  if (f >= t[k - 1]) return Array.from(q.subarray(4 * k - 4))
  const seg = segmentOf(t, f)
  const h = t[seg + 1] - t[seg]
  const s = Math.min(Math.max((f - t[seg]) / h, 0.0), 1.0)
  const code = p.codes[seg]
  let u
  if (code === CONSTANT) u = 0.0
  else if (code === LINEAR) u = s
  else {
    const span = p.ang[seg]
    const a = hermite(s, h, p.cum[seg], p.cum[seg + 1], p.m0[seg], p.m1[seg])
    u = span < 1e-12 ? s : (a - p.cum[seg]) / span
  }
  return slerpAt(p.qs, 4 * seg, 4 * seg + 4, u)
}

function prepareStepped (keys) {
  return { t: keyFrames(keys), values: keys.map((k) => k.value) }
}

function evalStepped (p, f) {
  const i = Math.min(Math.max(searchRight(p.t, f) - 1, 0), p.values.length - 1)
  const v = p.values[i]
  return Array.isArray(v) ? v.slice() : v
}

const PREPARE = { numeric: prepareNumeric, quat: prepareQuat, bool: prepareStepped, static: prepareStepped }
const EVAL = { numeric: evalNumeric, quat: evalQuat, bool: evalStepped, static: evalStepped }

/** Evaluate a track (a non-empty, frame-sorted array of keys {frame, value, interp, in_tangent?, out_tangent?})
 *  at one frame. kind: 'numeric' (a number or an array), 'quat' ([x, y, z, w]), 'bool' or 'static' (stepped).
 *  What the keys imply (slopes, angles) is computed once per keys array and kept while the array lives. */
export function evaluateTrack (keys, frame, kind = 'numeric') {
  if (!keys || keys.length === 0) throw new Error('cannot evaluate an empty track')
  if (!Number.isFinite(frame)) throw new Error('frames must be finite')
  const evaluate = EVAL[kind]
  if (evaluate === undefined) throw new Error(`unknown track kind ${JSON.stringify(kind)}`)
  let byKind = prepared.get(keys)
  if (byKind === undefined) prepared.set(keys, (byKind = {}))
  let p = byKind[kind]
  if (p === undefined) p = byKind[kind] = PREPARE[kind](keys)
  return evaluate(p, frame)
}

/** The slopes the curve actually uses at each key, in value units per frame, for drawing tangent handles:
 *  [{in, out}] per key (numbers for scalar tracks, arrays for vectors; in of the first key and out of the last
 *  are null). A linear segment's slopes are its secant, a bezier one's its given tangents (else auto), the
 *  rest the monotone auto slopes; a constant segment has none (null). Numeric tracks only. */
export function keySlopes (keys) {
  if (!keys || keys.length === 0) throw new Error('cannot evaluate an empty track')
  evaluateTrack(keys, keys[0].frame, 'numeric')
  const p = prepared.get(keys).numeric
  const k = keys.length
  const { dim } = p
  const pick = (arr, i) => (p.scalar ? arr[i * dim] : Array.from(arr.subarray(i * dim, (i + 1) * dim)))
  const out = []
  for (let i = 0; i < k; i++) {
    out.push({
      in: i > 0 && p.codes[i - 1] !== CONSTANT ? pick(p.m1, i - 1) : null,
      out: i < k - 1 && p.codes[i] !== CONSTANT ? pick(p.m0, i) : null,
    })
  }
  return out
}

const KIND_OF = new Map() // path → track kind

/** The value of `path` on an entity (raw world JSON) at `frame`: its track, else its static prop, else the
 *  registry default (identity rotation and zero root motion for joints.*); null where there is none at all
 *  (an unset light.color_temperature_k). */
export function valueAt (entity, path, frame) {
  if (!Number.isFinite(frame)) throw new Error('frames must be finite')
  let kind = KIND_OF.get(path)
  if (kind === undefined) {
    kind = trackKind(path)
    if (KIND_OF.size < 100000) KIND_OF.set(path, kind)
  }
  const keys = entity.tracks ? entity.tracks[path] : undefined
  if (keys && keys.length) return evaluateTrack(keys, frame, kind)
  let value = entity.props ? entity.props[path] : undefined
  if (value === undefined || value === null) value = defaultFor(path)
  if (value === null || value === undefined) return null
  if (typeof value === 'boolean' || typeof value === 'string' || kind === 'static') return value
  if (kind === 'quat') return quatNormalize(value.map(Number))
  return Array.isArray(value) ? value.map(Number) : Number(value)
}

// ------------------------------------------------------------------ skeletons (core/kinematics.py)

const RIGS = new WeakMap() // joint list → rig

/** A joint list (parents first) → {names, parents (−1 for roots), offsets, rest (unit quaternions),
 *  rotationPaths, positionPaths}; cached per joint list. */
export function rig (joints) {
  const known = RIGS.get(joints)
  if (known !== undefined) return known
  const names = joints.map((j) => j.name)
  const where = new Map(names.map((n, i) => [n, i]))
  if (where.size !== names.length) throw new Error('joint names must be unique')
  const parents = joints.map((j) => {
    if (j.parent == null) return -1
    return where.has(j.parent) ? where.get(j.parent) : names.length
  })
  parents.forEach((p, j) => {
    if (p >= j || p < -1) throw new Error('parents must list each joint after its parent (parents[j] < j)')
  })
  const offsets = joints.map((j) => (j.offset || [0.0, 0.0, 0.0]).map(Number))
  const rest = joints.map((j) => quatNormalize((j.rotation || [0.0, 0.0, 0.0, 1.0]).map(Number)))
  const r = {
    names,
    parents,
    offsets,
    rest,
    rotationPaths: names.map((n) => `joints.${n}.rotation`),
    positionPaths: names.map((n) => `joints.${n}.position`),
  }
  RIGS.set(joints, r)
  return r
}

/** Global joint matrices (flat 4×4 each): local = T(offset + translation) · R(rest ⊗ rotation); roots hang from
 *  base (a flat 4×4, or null for identity). rotations, translations: per joint, or null. */
export function forwardKinematics (r, rotations = null, translations = null, base = null) {
  const n = r.names.length
  const out = new Array(n)
  const root = base === null ? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] : base
  for (let j = 0; j < n; j++) {
    // q = rest ⊗ rotation (core.quat.multiply), then its matrix (core.quat.to_matrix), in scalars
    const [ax, ay, az, aw] = r.rest[j]
    let x = ax; let y = ay; let z = az; let w = aw
    if (rotations !== null) {
      const [bx, by, bz, bw] = rotations[j]
      x = aw * bx + ax * bw + ay * bz - az * by
      y = aw * by - ax * bz + ay * bw + az * bx
      z = aw * bz + ax * by - ay * bx + az * bw
      w = aw * bw - ax * bx - ay * by - az * bz
    }
    const xx = x * x; const yy = y * y; const zz = z * z
    const xy = x * y; const xz = x * z; const yz = y * z
    const wx = w * x; const wy = w * y; const wz = w * z
    const l0 = 1 - 2 * (yy + zz); const l1 = 2 * (xy - wz); const l2 = 2 * (xz + wy)
    const l3 = 2 * (xy + wz); const l4 = 1 - 2 * (xx + zz); const l5 = 2 * (yz - wx)
    const l6 = 2 * (xz - wy); const l7 = 2 * (yz + wx); const l8 = 1 - 2 * (xx + yy)
    const off = r.offsets[j]
    const tr = translations === null ? null : translations[j]
    const t0 = tr === null ? off[0] : off[0] + tr[0]
    const t1 = tr === null ? off[1] : off[1] + tr[1]
    const t2 = tr === null ? off[2] : off[2] + tr[2]
    const p = r.parents[j]
    const m = new Array(16)
    if (p < 0 && base === null) {
      m[0] = l0; m[1] = l1; m[2] = l2; m[3] = t0
      m[4] = l3; m[5] = l4; m[6] = l5; m[7] = t1
      m[8] = l6; m[9] = l7; m[10] = l8; m[11] = t2
    } else {
      const g = p < 0 ? root : out[p] // the parent's global rotation and translation (or base's)
      for (let i = 0; i < 3; i++) {
        const g0 = g[4 * i]; const g1 = g[4 * i + 1]; const g2 = g[4 * i + 2]
        m[4 * i] = g0 * l0 + g1 * l3 + g2 * l6
        m[4 * i + 1] = g0 * l1 + g1 * l4 + g2 * l7
        m[4 * i + 2] = g0 * l2 + g1 * l5 + g2 * l8
        m[4 * i + 3] = g0 * t0 + g1 * t1 + g2 * t2 + g[4 * i + 3]
      }
    }
    m[12] = 0.0; m[13] = 0.0; m[14] = 0.0; m[15] = 1.0
    out[j] = m
  }
  return out
}

// ------------------------------------------------------------------ cameras (core/camera.py)

function checkFocalSensor (focal, sensor) {
  if (!(focal > 0) || !(sensor[0] > 0) || !(sensor[1] > 0)) throw new Error('focal length and sensor size must be > 0')
}

function checkResolution (resolution) {
  if (!resolution || resolution.length !== 2 || !(resolution[0] > 0) || !(resolution[1] > 0)) {
    throw new Error(`resolution must be [width, height] > 0, got ${JSON.stringify(resolution)}`)
  }
  return [Number(resolution[0]), Number(resolution[1])]
}

/** Pixel intrinsics K (3×3 nested) for a horizontal sensor fit: fx = fy = f·W/sensor_w, principal point W/2, H/2. */
export function intrinsics (focalMm, resolution, sensorMm = DEFAULT_SENSOR_MM) {
  const [w, h] = checkResolution(resolution)
  checkFocalSensor(focalMm, sensorMm)
  const fx = focalMm * w / sensorMm[0]
  return [[fx, 0.0, w / 2.0], [0.0, fx, h / 2.0], [0.0, 0.0, 1.0]]
}

/** [horizontal, vertical] field of view in degrees; vertical from the image aspect when resolution is given. */
export function fovDeg (focalMm, sensorMm = DEFAULT_SENSOR_MM, resolution = null) {
  checkFocalSensor(focalMm, sensorMm)
  const sw = sensorMm[0]
  let sh = sensorMm[1]
  if (resolution !== null) {
    const [w, h] = checkResolution(resolution)
    sh = sw * h / w
  }
  const deg = (x) => x * (180.0 / Math.PI)
  return [2.0 * deg(Math.atan(sw / (2.0 * focalMm))), 2.0 * deg(Math.atan(sh / (2.0 * focalMm)))]
}

/** A camera's world matrix (flat 4×4) → world-to-camera (flat 4×4, OpenGL axes: looks down −Z, +Y up). */
export function worldToCamera (cameraWorld) {
  return invertRigid(rigid(cameraWorld))
}

/** World point → [u, v, depth] in pixels (u right, v down; depth along the view axis, > 0 in front), as
 *  core.camera.project: K (3×3 nested), worldToCam (flat 4×4, OpenGL axes). */
export function project (K, worldToCam, point) {
  const m = worldToCam
  const cx0 = m[0] * point[0] + m[1] * point[1] + m[2] * point[2] + m[3]
  const cy0 = m[4] * point[0] + m[5] * point[1] + m[6] * point[2] + m[7]
  const cz0 = m[8] * point[0] + m[9] * point[1] + m[10] * point[2] + m[11]
  const x = cx0; const y = -cy0; const z = -cz0 // OpenGL → OpenCV axes
  const xn = x / z; const yn = y / z
  return [K[0][0] * xn + K[0][1] * yn + K[0][2], K[1][1] * yn + K[1][2], z]
}

/** The OpenGL projection (flat row-major 4×4; three.js: `camera.projectionMatrix.set(...P)`) that draws what
 *  K shows on a W × H image: clip = P · camera-space point, NDC → pixels u = (x + 1)·W/2, v = (1 − y)·H/2 equal
 *  project()'s pixels. near, far in metres. */
export function projectionMatrixGL (K, resolution, near, far) {
  const [w, h] = checkResolution(resolution)
  if (!(near > 0) || !(far > near)) throw new Error('need 0 < near < far')
  const fx = K[0][0]; const skew = K[0][1]; const cx = K[0][2]; const fy = K[1][1]; const cy = K[1][2]
  return [
    2 * fx / w, -2 * skew / w, 1 - 2 * cx / w, 0,
    0, 2 * fy / h, 2 * cy / h - 1, 0,
    0, 0, -(far + near) / (far - near), -2 * far * near / (far - near),
    0, 0, -1, 0,
  ]
}

// ------------------------------------------------------------------ lights (core/light.py)

const XYZ_TO_LINEAR_SRGB = [
  [3.2404542, -1.5371385, -0.4985314],
  [-0.9692660, 1.8760108, 0.0415560],
  [0.0556434, -0.2040259, 1.0572252],
]
const PLANCK_H = 6.62607015e-34
const LIGHT_C = 2.99792458e8
const BOLTZMANN = 1.380649e-23
export const TEMPERATURE_RANGE_K = [1000.0, 40000.0]

function lobe (x, mu, s1, s2) {
  const s = x < mu ? s1 : s2
  return Math.exp(-0.5 * ((x - mu) / s) ** 2)
}

function cmf (x) {
  return [
    1.056 * lobe(x, 599.8, 37.9, 31.0) + 0.362 * lobe(x, 442.0, 16.0, 26.7) - 0.065 * lobe(x, 501.1, 20.4, 26.2),
    0.821 * lobe(x, 568.8, 46.9, 40.5) + 0.286 * lobe(x, 530.9, 16.3, 31.1),
    1.217 * lobe(x, 437.0, 11.8, 36.0) + 0.681 * lobe(x, 459.0, 26.0, 13.8),
  ]
}

let CMF = null // [wavelength nm, x̄, ȳ, z̄] every nanometre over 360–830 nm

/** Colour temperature in kelvin (1000–40000) → linear sRGB with its largest channel 1 (core.light). */
export function temperatureToRgb (kelvin) {
  const [lo, hi] = TEMPERATURE_RANGE_K
  if (!Number.isFinite(kelvin) || kelvin < lo || kelvin > hi) {
    throw new Error(`colour temperature must be within ${lo}–${hi} K`)
  }
  if (CMF === null) {
    CMF = []
    for (let nm = 360.0; nm < 831.0; nm += 1.0) CMF.push([nm, ...cmf(nm)])
  }
  const xyz = [0.0, 0.0, 0.0]
  for (const [nm, xb, yb, zb] of CMF) {
    const lam = nm * 1e-9
    const spectrum = 1.0 / (lam ** 5 * Math.expm1(PLANCK_H * LIGHT_C / (lam * BOLTZMANN * kelvin)))
    xyz[0] += spectrum * xb
    xyz[1] += spectrum * yb
    xyz[2] += spectrum * zb
  }
  const y = xyz[1]
  const n = xyz.map((c) => c / y)
  const rgb = XYZ_TO_LINEAR_SRGB.map((row) => Math.max(row[0] * n[0] + row[1] * n[1] + row[2] * n[2], 0.0))
  const top = Math.max(...rgb)
  return rgb.map((c) => c / top)
}

// ------------------------------------------------------------------ bodies (core/subject.py)

export const BODY_RADIUS_M = 0.12
export const BODY_SOLE_M = 0.03
export const DEFAULT_BODY = [0.25, 1.75] // radius, height of a character without a skeleton

/** The centre of a white-box body from its joints' world positions ([[x, y, z], …]): the middle of their box
 *  widened by BODY_RADIUS_M sideways and BODY_SOLE_M below (core.subject.body_centre). */
export function bodyCentre (positions) {
  if (!positions.length) throw new Error('joint positions must not be empty')
  const lo = [Infinity, Infinity, Infinity]
  const hi = [-Infinity, -Infinity, -Infinity]
  for (const p of positions) {
    for (let c = 0; c < 3; c++) {
      if (p[c] < lo[c]) lo[c] = p[c]
      if (p[c] > hi[c]) hi[c] = p[c]
    }
  }
  const padLo = [BODY_RADIUS_M, BODY_SOLE_M, BODY_RADIUS_M]
  const padHi = [BODY_RADIUS_M, 0.0, BODY_RADIUS_M]
  return [0, 1, 2].map((c) => ((lo[c] - padLo[c]) + (hi[c] + padHi[c])) / 2.0)
}

// ------------------------------------------------------------------ the world

class CycleError extends Error {}

const ZERO3 = Object.freeze([0.0, 0.0, 0.0])

function sortedKeys (obj) {
  return Object.keys(obj || {}).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function aim (pre, target, kind) {
  const pos = [pre[3], pre[7], pre[11]]
  let d = [target[0] - pos[0], target[1] - pos[1], target[2] - pos[2]]
  let r, ok
  if (kind === 'character') {
    d = [d[0] * 1.0, d[1] * 0.0, d[2] * 1.0]
    ;[r, ok] = aimRotation(d, '+z')
  } else {
    [r, ok] = aimRotation(d, '-z')
  }
  if (!ok) return pre.slice()
  const scale = columnNorms(pre)
  const out = pre.slice()
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[4 * i + j] = r[3 * i + j] * scale[j]
  return out
}

/** Resolves world matrices entity by entity, memoised, in dependency order (core.sampling._Resolver). */
class Resolver {
  constructor (world, frame) {
    this.world = world
    this.entities = world.entities || {}
    this.ids = sortedKeys(this.entities)
    this.index = new Set(this.ids)
    this.f = frame
    this.local = new Map()
    this.ownVisible = new Map()
    this.color = new Map()
    for (const id of this.ids) {
      const e = this.entities[id]
      this.local.set(id, compose(valueAt(e, 'transform.position', frame), valueAt(e, 'transform.rotation', frame),
        valueAt(e, 'transform.scale', frame)))
      this.ownVisible.set(id, Boolean(valueAt(e, 'visible', frame)))
      this.color.set(id, valueAt(e, 'color', frame))
    }
    this.attached = new Map()
    this.looks = new Map()
    const relations = world.relations || {}
    for (const rid of sortedKeys(relations)) {
      const r = relations[rid]
      if (!this.index.has(r.subject) || !this.index.has(r.object)) continue
      if (r.kind === 'attached_to') {
        if (!this.attached.has(r.subject)) this.attached.set(r.subject, [])
        this.attached.get(r.subject).push(r)
      }
      else if (r.kind === 'look_at' && !this.looks.has(r.subject)) this.looks.set(r.subject, r)
    }
    this.order = this.dependencyOrder()
    this.preM = new Map()
    this.fullM = new Map()
    this.visible = new Map()
    this.joints = new Map()
    this.busy = new Set()
  }

  parentOf (id) {
    const p = this.entities[id].parent
    return p != null && this.index.has(p) ? p : null
  }

  /** Post-order over parents and attachment anchors; throws on a cycle (editing never makes one). */
  dependencyOrder () {
    const deps = new Map()
    for (const id of this.ids) {
      const d = []
      const p = this.parentOf(id)
      if (p !== null) d.push(p)
      for (const r of this.attached.get(id) || []) d.push(r.object)
      deps.set(id, d)
    }
    const state = new Map()
    const order = []
    for (const start of this.ids) {
      if (state.get(start)) continue
      state.set(start, 1)
      const stack = [[start, 0]]
      while (stack.length) {
        const top = stack[stack.length - 1]
        const d = deps.get(top[0])
        if (top[1] >= d.length) {
          state.set(top[0], 2)
          order.push(top[0])
          stack.pop()
          continue
        }
        const next = d[top[1]++]
        if (state.get(next) === 1) throw new Error(`parent/attachment cycle through ${JSON.stringify(next)}`)
        if (!state.get(next)) {
          state.set(next, 1)
          stack.push([next, 0])
        }
      }
    }
    return order
  }

  enter (node) {
    if (this.busy.has(node)) throw new CycleError(node)
    this.busy.add(node)
  }

  /** World matrix before the entity's own look_at. */
  pre (id) {
    const known = this.preM.get(id)
    if (known !== undefined) return known
    const node = 'pre\u0000' + id
    this.enter(node)
    let m, vis
    try {
      const local = this.local.get(id)
      vis = this.ownVisible.get(id)
      const parent = this.parentOf(id)
      m = parent !== null ? matMul(this.full(parent), local) : local.slice()
      for (const r of this.attached.get(id) || []) {
        if ((r.start != null && !(this.f >= r.start)) || (r.end != null && !(this.f < r.end))) continue
        let anchor = rigid(this.anchorMatrix(r.object, r.joint ?? null))
        if (r.offset != null) anchor = matMul(anchor, translationMatrix(r.offset.map(Number)))
        m = matMul(anchor, local)
      }
      if (parent !== null) {
        this.full(parent)
        vis = vis && this.visible.get(parent)
      }
    } finally {
      this.busy.delete(node)
    }
    this.preM.set(id, m)
    this.visible.set(id, vis)
    return m
  }

  /** World matrix with the entity's look_at applied. */
  full (id) {
    const known = this.fullM.get(id)
    if (known !== undefined) return known
    const pre = this.pre(id)
    const node = 'full\u0000' + id
    this.enter(node)
    let m = pre
    try {
      const r = this.looks.get(id)
      if (r !== undefined) {
        let target = null
        try {
          target = this.targetPosition(r.object, r.joint ?? null)
        } catch (e) {
          if (!(e instanceof CycleError)) throw e // a target hanging off this entity's own rotation: ignored
        }
        if (target !== null) m = aim(pre, target, this.entities[id].kind)
      }
    } finally {
      this.busy.delete(node)
    }
    this.fullM.set(id, m)
    return m
  }

  jointIndex (id, joint) {
    if (joint === null) return null
    const js = this.jointSample(id)
    if (js === null) return null
    const j = js.names.indexOf(joint)
    return j < 0 ? null : j
  }

  anchorMatrix (id, joint) {
    const j = this.jointIndex(id, joint)
    if (j === null) return this.full(id)
    return this.joints.get(id).matrices[j]
  }

  targetPosition (id, joint) {
    if (joint !== null && this.jointIndex(id, joint) !== null) {
      const m = this.anchorMatrix(id, joint)
      return [m[3], m[7], m[11]]
    }
    if (this.entities[id].kind === 'character') return this.bodyCentreOf(id)
    const m = this.pre(id) // the position is the same before and after the target's own look_at
    return [m[3], m[7], m[11]]
  }

  /** Where a look_at at a character aims: the centre of its white-box body, not its origin (its feet). */
  bodyCentreOf (id) {
    let js = null
    try {
      js = this.jointSample(id)
    } catch (e) {
      if (!(e instanceof CycleError)) throw e // its pose hangs off the looker: fall back to its origin
    }
    if (js !== null && js.names.length) return bodyCentre(js.matrices.map((m) => [m[3], m[7], m[11]]))
    const m = this.pre(id)
    const h = DEFAULT_BODY[1] / 2.0
    return [m[3] + m[1] * h, m[7] + m[5] * h, m[11] + m[9] * h]
  }

  jointSample (id) {
    const known = this.joints.get(id)
    if (known !== undefined) return known
    const e = this.entities[id]
    const skeleton = e.props ? e.props.skeleton : null
    if (e.kind !== 'character' || !skeleton || skeleton.length === 0) return null
    const base = this.full(id)
    const r = rig(skeleton)
    const rotations = r.rotationPaths.map((path) => valueAt(e, path, this.f))
    const translations = r.positionPaths.map((path, j) => (r.parents[j] < 0 ? valueAt(e, path, this.f) : ZERO3))
    const matrices = forwardKinematics(r, rotations, translations, base)
    const js = { names: r.names.slice(), parents: r.parents.slice(), matrices }
    this.joints.set(id, js)
    return js
  }
}

function cameraSample (e, frame, worldMatrix, resolution) {
  const v = (path) => valueAt(e, path, frame)
  const focal = v('camera.focal_length_mm')
  const sensor = v('camera.sensor_mm')
  return {
    K: intrinsics(focal, resolution, sensor),
    world_to_camera: worldToCamera(worldMatrix),
    fov_deg: fovDeg(focal, sensor, resolution),
    focal_length_mm: focal,
    sensor_mm: sensor,
    focus_distance_m: v('camera.focus_distance_m'),
    f_stop: v('camera.f_stop'),
    near_m: v('camera.near_m'),
    far_m: v('camera.far_m'),
  }
}

function lightSample (e, frame) {
  const v = (path) => valueAt(e, path, frame)
  const temperature = v('light.color_temperature_k')
  const type = e.props && e.props['light.type'] !== undefined ? e.props['light.type'] : ATTRIBUTES['light.type'].default
  return {
    type: String(type),
    intensity: v('light.intensity'),
    color: temperature === null ? v('light.color') : temperatureToRgb(temperature),
    color_temperature_k: temperature,
    cone_deg: v('light.cone_deg'),
    blend: v('light.blend'),
    size_m: v('light.size_m'),
    shadow: Boolean(v('light.shadow')),
  }
}

function resolve (world, frame) {
  frame = Number(frame)
  if (!Number.isFinite(frame)) throw new Error('frames must be finite')
  const res = new Resolver(world, frame)
  for (const id of res.order) res.full(id) // dependencies first, as core does (look_at cycles depend on it)
  return res
}

function resolutionOf (world) {
  return (world.meta && world.meta.resolution) || [1280, 720]
}

function entitySample (res, id, resolution) {
  const e = res.entities[id]
  const out = {
    kind: e.kind,
    matrix: res.full(id),
    visible: res.visible.get(id),
    color: res.color.get(id),
  }
  if (e.kind === 'character') {
    const js = res.jointSample(id)
    if (js !== null) out.joints = js
  } else if (e.kind === 'camera') {
    out.camera = cameraSample(e, res.f, out.matrix, resolution)
  } else if (e.kind === 'light') {
    out.light = lightSample(e, res.f)
  }
  return out
}

/** The sampled world at one frame in working form: {frame, ids (sorted), entities: {id: {kind, matrix (flat
 *  row-major 4×4), visible, color, joints? {names, parents, matrices: [flat 4×4]}, camera? {K (3×3 nested),
 *  world_to_camera (flat 4×4), fov_deg, focal_length_mm, sensor_mm, focus_distance_m, f_stop, near_m, far_m},
 *  light? {type, intensity, color, color_temperature_k, cone_deg, blend, size_m, shadow}}}}. */
export function sampleWorld (world, frame) {
  const res = resolve(world, frame)
  const resolution = resolutionOf(world)
  const entities = {}
  for (const id of res.ids) entities[id] = entitySample(res, id, resolution)
  return { frame: res.f, ids: res.ids, entities }
}

function nested (m) {
  return [m.slice(0, 4), m.slice(4, 8), m.slice(8, 12), m.slice(12, 16)]
}

// ------------------------------------------------------------------ representation levels (core/levels.py)

export const LEVELS = ['L0', 'L1', 'L2', 'L3', 'L4']

function drivenIds (world) { // entity ids a directive names anywhere in its params
  const out = new Set()
  const walk = (v) => {
    if (typeof v === 'string') {
      if (Object.prototype.hasOwnProperty.call(world.entities, v)) out.add(v)
    } else if (Array.isArray(v)) {
      v.forEach(walk)
    } else if (v !== null && typeof v === 'object') {
      Object.values(v).forEach(walk)
    }
  }
  for (const d of Object.values(world.directives || {})) walk(d.params)
  return out
}

/** {id: {kind, level ('L0'…'L4'), lacks: [what the next level needs]}} (core.levels.entity_levels);
 *  isMeshAsset(assetId) says which assets are meshes (L3). Kept per world and predicate: do not change it. */
export function entityLevels (world, isMeshAsset = NO_MESH) {
  const known = LEVELS_OF.get(world)
  if (known !== undefined && known.isMeshAsset === isMeshAsset) return known.levels
  const levels = computeLevels(world, isMeshAsset)
  LEVELS_OF.set(world, { isMeshAsset, levels })
  return levels
}

const LEVELS_OF = new WeakMap() // world → its levels for one isMeshAsset (worlds are immutable; see watchWorld)
const NO_MESH = () => false

function computeLevels (world, isMeshAsset) {
  const driven = drivenIds(world)
  const out = {}
  for (const id of sortedKeys(world.entities)) {
    const e = world.entities[id]
    const props = e.props || {}
    const geometry = props.geometry
    const hasGeometry = geometry != null && typeof geometry === 'object' && Object.keys(geometry).length > 0
    const surface = ['prop', 'environment', 'character'].includes(e.kind)
    const skeleton = props.skeleton
    const needs = [
      ['L1', ['character', 'camera', 'light'].includes(e.kind) || hasGeometry,
        'a geometry (a primitive or an asset) to stand in for it'],
      ['L2', ['prop', 'environment'].includes(e.kind) || Object.values(e.tracks || {}).some((k) => k.length > 0) ||
        (e.kind === 'character' && Array.isArray(skeleton) && skeleton.length > 0),
      e.kind === 'character' ? 'a skeleton' : 'an animated track'],
      ['L3', surface && hasGeometry && 'asset' in geometry && Boolean(isMeshAsset(String(geometry.asset))),
        surface ? 'a mesh asset with materials' : `a surface (a ${e.kind} has none)`],
      ['L4', false, 'physical properties (mass, friction: not in the attribute registry yet)' +
        (driven.has(id) ? '' : ' and a behaviour (a directive driving it)')],
    ]
    let level = 'L0'
    const lacks = []
    for (const [name, ok, why] of needs) {
      if (!ok) {
        lacks.push(why)
        break
      }
      level = name
    }
    out[id] = { kind: e.kind, level, lacks }
  }
  return out
}

/** Whether core's decomposition of this frame's world matrices (one batch) takes polar factors: where any entity's
 *  axes are sheared, all are. (It matters only for mirrored matrices, e.g. a scale key whose bezier overshoots below
 *  zero: normalised columns keep the mirror, the polar factor with det forced to +1 does not.) */
function batchPolar (res) {
  return res.ids.some((id) => !hasOrthogonalAxes(res.full(id)))
}

function entityJson (s, polar, level) {
  const { position, rotation, scale } = decompose(s.matrix, polar)
  const d = {
    kind: s.kind,
    level,
    position,
    rotation,
    scale,
    matrix: nested(s.matrix),
    visible: s.visible,
    color: s.color,
  }
  if (s.joints !== undefined) {
    d.joints = {}
    s.joints.names.forEach((n, j) => { d.joints[n] = nested(s.joints.matrices[j]) })
  }
  if (s.camera !== undefined) {
    const c = s.camera
    d.camera = {
      K: c.K,
      world_to_camera: nested(c.world_to_camera),
      fov_deg: c.fov_deg,
      focal_length_mm: c.focal_length_mm,
      sensor_mm: c.sensor_mm,
      focus_distance_m: c.focus_distance_m,
      f_stop: c.f_stop,
      near_m: c.near_m,
      far_m: c.far_m,
    }
  }
  if (s.light !== undefined) d.light = { ...s.light }
  return d
}

/** One entity of the sampled world at `frame`, in sampleJson's form (the whole world is resolved, as core does,
 *  so look_at cycles come out the same; joints are computed for this entity only). */
export function sampleEntity (world, id, frame, isMeshAsset = NO_MESH) {
  const res = resolve(world, frame)
  if (!res.index.has(id)) throw new Error(`unknown entity ${JSON.stringify(id)}`)
  const level = entityLevels(world, isMeshAsset)[id].level
  return entityJson(entitySample(res, id, resolutionOf(world)), batchPolar(res), level)
}

/** Exactly core.sampling.sample_json(world, frame, is_mesh_asset): {frame, entities: {id: {kind, level, position,
 *  rotation (xyzw, w ≥ 0), scale, matrix (4×4 nested row-major), visible, color, joints? {name: 4×4}, camera? {K,
 *  world_to_camera, fov_deg, focal_length_mm, sensor_mm, focus_distance_m, f_stop, near_m, far_m}, light? {type,
 *  intensity, color, color_temperature_k, cone_deg, blend, size_m, shadow}}}}. isMeshAsset(assetId) decides L3. */
export function sampleJson (world, frame, isMeshAsset = NO_MESH) {
  const res = resolve(world, frame)
  const resolution = resolutionOf(world)
  const polar = batchPolar(res)
  const levels = entityLevels(world, isMeshAsset)
  const entities = {}
  for (const id of res.ids) entities[id] = entityJson(entitySample(res, id, resolution), polar, levels[id].level)
  return { frame: res.f, entities }
}
