"""A batched analytic ray caster in torch: the white-box id, depth and normal draws without OpenGL.

Every white-box part is an analytic solid (:func:`renderers.geometry.primitive_shape`: box, sphere, Y-axis
cylinder, Y-axis capsule, double-sided plane), so instead of rasterising tessellated meshes one call intersects
the rays of many frames with the exact solids, on the CPU or a GPU (only the screen tiles each part's bounding
box covers are tested; see :class:`Raycaster`). Same inputs and outputs as
:class:`renderers.raster.Rasterizer`, so the passes built on :class:`Frame` do not change.

Conventions, matching the GL path:

- A pixel (i, j) is sampled at its centre (i + 0.5, j + 0.5) (:func:`core.camera.project`); v grows downwards.
- The camera ray of a pixel is ``d = ((u − cx)/fx, −(v − cy)/fy, −1)`` in OpenGL camera axes, so the ray
  parameter of a hit *is* its depth along the camera's −Z (``world_to_camera`` is rigid).
- A ray hits a closed solid where it enters it (its front face); an entry before ``near`` or after ``far`` is
  clipped and, as back faces are culled in GL, the solid is not seen there. Planes are seen from both sides.
- Rays are intersected in each part's unscaled local frame (``o, d ← pose⁻¹ · (o, d)``): the ray parameter is
  unchanged by the affine map, so non-uniform scale needs nothing else; normals map by the inverse transpose.
- Normals are camera-space unit vectors facing the viewer, encoded ``round((n + 1) / 2 · 255)``.

The analytic solids are the limits of the GL meshes: curved silhouettes and depths differ from the rasteriser by
the tessellation's chord error (under ~5 mm for a 0.25 m capsule, far less for the small ones), flat faces agree.
"""

from __future__ import annotations

import functools

import numpy as np

from .geometry import Part
from .raster import Frame

__all__ = ["Raycaster", "KINDS"]

KINDS = ("box", "sphere", "cylinder", "capsule", "plane")
_TINY = 1e-30
_NO_HIT = 2 ** 63 - 1


def _shape_params(shape: dict) -> tuple[int, list[float], list[float]]:
    """(kind index, centre (3,), extent (3,)) of one part's solid. Extent: box (hx, hy, hz); sphere (r, 0, 0);
    cylinder (r, half height, 0); capsule (r, half length, 0); plane (hx, 0, hz)."""
    kind = shape["kind"]
    c = [float(x) for x in shape["center"]]
    if kind == "box":
        return 0, c, [float(x) for x in shape["half"]]
    if kind == "sphere":
        return 1, c, [float(shape["radius"]), 0.0, 0.0]
    if kind == "cylinder":
        return 2, c, [float(shape["radius"]), float(shape["half_height"]), 0.0]
    if kind == "capsule":
        return 3, c, [float(shape["radius"]), float(shape["half_length"]), 0.0]
    if kind == "plane":
        return 4, c, [float(shape["half"][0]), 0.0, float(shape["half"][1])]
    raise ValueError(f"unknown shape kind {kind!r}")


# --- entry distances; o: (..., 1) ray origins and d: (..., n) directions per axis, in the solid's centred frame;
# e: extents broadcastable to o. Each returns the entry parameter t (..., n), +inf where the ray misses.

def _box_t(torch, ox, oy, oz, dx, dy, dz, e):
    tmin = tmax = None
    for o, d, h in ((ox, dx, e[0]), (oy, dy, e[1]), (oz, dz, e[2])):
        inv = 1.0 / torch.where(d == 0, _TINY, d)
        t1, t2 = (-h - o) * inv, (h - o) * inv
        lo, hi = torch.minimum(t1, t2), torch.maximum(t1, t2)
        tmin = lo if tmin is None else torch.maximum(tmin, lo)
        tmax = hi if tmax is None else torch.minimum(tmax, hi)
    return torch.where(tmin <= tmax, tmin, torch.inf)


def _sphere_t(torch, ox, oy, oz, dx, dy, dz, r):
    """Entry into |p| ≤ r through the closest approach (stable for small, far spheres)."""
    a = (dx * dx + dy * dy + dz * dz).clamp_min(_TINY)
    tc = -(ox * dx + oy * dy + oz * dz) / a
    px, py, pz = ox + tc * dx, oy + tc * dy, oz + tc * dz
    h2 = r * r - (px * px + py * py + pz * pz)
    t = tc - torch.sqrt(h2.clamp_min(0) / a)
    return torch.where(h2 >= 0, t, torch.inf)


def _side(torch, ox, oz, dx, dz, r):
    """Entry and exit of the infinite Y-axis cylinder of radius r; (t0, t1, hit)."""
    a = (dx * dx + dz * dz).clamp_min(_TINY)
    tc = -(ox * dx + oz * dz) / a
    px, pz = ox + tc * dx, oz + tc * dz
    h2 = r * r - (px * px + pz * pz)
    s = torch.sqrt(h2.clamp_min(0) / a)
    return tc - s, tc + s, h2 >= 0


def _cylinder_t(torch, ox, oy, oz, dx, dy, dz, e):
    r, hh = e[0], e[1]
    t0, t1, hit = _side(torch, ox, oz, dx, dz, r)
    inv = 1.0 / torch.where(dy == 0, _TINY, dy)
    ya, yb = (-hh - oy) * inv, (hh - oy) * inv
    tin = torch.maximum(t0, torch.minimum(ya, yb))
    tout = torch.minimum(t1, torch.maximum(ya, yb))
    return torch.where(hit & (tin <= tout), tin, torch.inf)


def _capsule_t(torch, ox, oy, oz, dx, dy, dz, e):
    """Union of the side between the sphere centres (y = ±hh) and the two end spheres: its entry is the
    earliest entry of the three (the flat end discs lie inside the spheres)."""
    r, hh = e[0], e[1]
    t0, _, hit = _side(torch, ox, oz, dx, dz, r)
    y = oy + t0 * dy
    t = torch.where(hit & (y.abs() <= hh), t0, torch.inf)
    t = torch.minimum(t, _sphere_t(torch, ox, oy - hh, oz, dx, dy, dz, r))
    return torch.minimum(t, _sphere_t(torch, ox, oy + hh, oz, dx, dy, dz, r))


def _plane_t(torch, ox, oy, oz, dx, dy, dz, e):
    t = -oy / torch.where(dy == 0, _TINY, dy)
    inside = ((ox + t * dx).abs() <= e[0]) & ((oz + t * dz).abs() <= e[2])
    return torch.where(inside, t, torch.inf)


def _ball_t(torch, ox, oy, oz, dx, dy, dz, e):
    return _sphere_t(torch, ox, oy, oz, dx, dy, dz, e[0])


_ENTRY = (_box_t, _ball_t, _cylinder_t, _capsule_t, _plane_t)


def _local_normals(torch, kind, q, e):
    """Outward normals (n, 3) (not unit) at local hit points ``q`` (n, 3) of solids ``kind`` (n,) with extents
    ``e`` (n, 3)."""
    n = torch.zeros_like(q)
    # box: the face whose slab the point is deepest on
    rel = q.abs() / e.clamp_min(_TINY)
    axis = rel.argmax(dim=1, keepdim=True)
    box = torch.zeros_like(q).scatter_(1, axis, torch.sign(q.gather(1, axis)))
    n = torch.where((kind == 0)[:, None], box, n)
    n = torch.where((kind == 1)[:, None], q, n)
    # cylinder: a flat end where it is nearer than the side
    radial = torch.stack([q[:, 0], torch.zeros_like(q[:, 0]), q[:, 2]], dim=1)
    cap = torch.stack([torch.zeros_like(q[:, 0]), torch.sign(q[:, 1]), torch.zeros_like(q[:, 0])], dim=1)
    on_cap = (e[:, 1] - q[:, 1].abs()) < (e[:, 0] - radial.norm(dim=1))
    n = torch.where(((kind == 2) & on_cap)[:, None], cap, torch.where((kind == 2)[:, None], radial, n))
    # capsule: away from the nearest point of the axis segment
    axis_pt = torch.stack([torch.zeros_like(q[:, 0]), torch.minimum(torch.maximum(q[:, 1], -e[:, 1]), e[:, 1]),
                           torch.zeros_like(q[:, 0])], dim=1)
    n = torch.where((kind == 3)[:, None], q - axis_pt, n)
    up = torch.zeros_like(q)
    up[:, 1] = 1.0
    return torch.where((kind == 4)[:, None], up, n)


def _rays(c, u, v):
    """Camera-space directions (x, y; z = −1) through pixel centres: ``c`` (m, 7) camera rows (fx, skew, cx, fy,
    cy, near, far), u, v (m, n) or broadcastable pixel indices → two (m, n) tensors."""
    yn = (v + 0.5 - c[:, 4, None]) / c[:, 3, None]
    xn = (u + 0.5 - c[:, 2, None] - c[:, 1, None] * yn) / c[:, 0, None]
    return xn, -yn


def _tile_candidates(torch, entry, g, c, e, p, u, v, W: int, H: int):
    """Per-pixel keys (depth bits << 32 | part) of m tiles of one solid kind, _NO_HIT where the ray misses or
    is clipped. g (m, 21) the (frame, part) matrices, c (m, 7) camera rows, e (m, 3) extents, p (m,) parts,
    u, v (m, T²) pixel indices."""
    xn, yn = _rays(c, u.to(c.dtype), v.to(c.dtype))
    d = [g[:, 3 * r, None] * xn + g[:, 3 * r + 1, None] * yn - g[:, 3 * r + 2, None] for r in range(3)]
    t = entry(torch, g[:, 9, None], g[:, 10, None], g[:, 11, None], d[0], d[1], d[2], e.to(c.dtype).T[:, :, None])
    keep = (t >= c[:, 5, None]) & (t <= c[:, 6, None]) & (u < W) & (v < H)
    bits = t.to(torch.float32).clamp_min(0).view(torch.int32).to(torch.int64)
    return torch.where(keep, (bits << 32) | p[:, None], _NO_HIT)


def _normal_codes(torch, g, kind, e, xn, yn, t, hit):
    """Encoded camera-space normals (n, 3) uint8 of n pixels: g (n, 21) their (frame, part) matrices, kind (n,)
    and e (n, 3) their solids, xn, yn (n,) their camera rays (z = −1), t (n,) depths, hit (n,) bool."""
    q = torch.stack([g[:, 9 + r] + t * (g[:, 3 * r] * xn + g[:, 3 * r + 1] * yn - g[:, 3 * r + 2])
                     for r in range(3)], dim=1)                                        # local hit points
    nl = _local_normals(torch, kind, q, e)
    n = torch.stack([g[:, 12 + 3 * r] * nl[:, 0] + g[:, 13 + 3 * r] * nl[:, 1] + g[:, 14 + 3 * r] * nl[:, 2]
                     for r in range(3)], dim=1)
    n = n / n.norm(dim=1, keepdim=True).clamp_min(_TINY)
    facing = n[:, 0] * xn + n[:, 1] * yn - n[:, 2]                                     # n · d, d = (xn, yn, −1)
    n = torch.where((facing > 0)[:, None], -n, n)                                      # a plane's back side
    enc = ((n * 0.5 + 0.5) * 255).round().clamp(0, 255).to(torch.uint8)
    return torch.where(hit[:, None], enc, 0)


def _bounds(shape_kind: int, extent) -> list[float]:
    """Half sizes (3,) of the axis-aligned box around a solid, about its centre."""
    a, b, c = extent
    return [[a, b, c], [a, a, a], [a, b, a], [a, b + a, a], [a, 1e-6, c]][shape_kind]


# the 12 edges of a box whose 8 corners are ordered by the bits (x, y, z) of their index
_EDGES = [(i, i | bit) for i in range(8) for bit in (1, 2, 4) if not i & bit]


class Raycaster:
    """Renders :class:`Part` solids at given poses through a pinhole camera, many frames per call.

    Work is split into screen tiles of ``tile`` × ``tile`` pixels: each part's bounding box, clipped by the near
    plane, is projected once per frame, and only the (frame, tile, part) triples it overlaps are ray cast; their
    hits are merged per pixel by a scatter-min on (depth bits, part index), so the nearest part wins and ties go to
    the lower part index, as with GL's depth test in draw order.

    ``device`` is a torch device ("cpu", "cuda", …); ``dtype`` the ray arithmetic's float type (float32: depth
    error ~1 µm per metre); ``chunk`` bounds the ray–part tests of one step (memory roughly 100 bytes each;
    default 2¹⁸ on the CPU, 2²⁴ on a GPU; a batch also holds 8 bytes per pixel and frame); ``compile`` fuses
    each solid kind's tile kernel and the normal kernel with ``torch.compile`` (Triton on a GPU; the first call of
    each compiles for seconds)."""

    def __init__(self, width: int, height: int, device="cpu", dtype=None, chunk: int | None = None,
                 tile: int = 16, compile: bool = False):
        import torch

        self._torch = torch
        self.width, self.height = int(width), int(height)
        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        self.chunk = int(chunk or (2 ** 24 if self.device.type == "cuda" else 2 ** 18))
        self.tile = int(tile)
        self.compile = bool(compile)
        self._kernels: dict = {}
        self._parts: list[Part] = []
        j, i = torch.meshgrid(torch.arange(self.tile), torch.arange(self.tile), indexing="ij")
        self._offsets = (i.reshape(-1).to(self.device), j.reshape(-1).to(self.device))   # (T², ) u and v in a tile

    def close(self):
        self._parts = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def load(self, parts: list[Part], instance: dict[str, int]):
        """Take the solids of a world's parts (once per pack); ``instance`` maps entity ids to instance ids."""
        torch = self._torch
        rows = []
        for p in parts:
            if p.shape is None:
                raise ValueError(f"part of {p.entity!r} has no analytic shape (Part.shape) to ray cast")
            rows.append(_shape_params(p.shape))
        dev = self.device
        self._parts = list(parts)
        self._kind_np = np.array([k for k, _, _ in rows], dtype=np.int64)
        self._center_np = np.array([c for _, c, _ in rows], dtype=np.float64).reshape(-1, 3)
        extent = np.array([e for _, _, e in rows], dtype=np.float64).reshape(-1, 3)
        half = np.array([_bounds(k, e) for k, _, e in rows], dtype=np.float64).reshape(-1, 3)
        signs = np.array([[1.0 if i & b else -1.0 for b in (1, 2, 4)] for i in range(8)])
        self._corners = self._center_np[:, None] + signs[None] * half[:, None]   # (P, 8, 3) in the part's frame
        self._kind = torch.as_tensor(self._kind_np, device=dev)
        self._extent = torch.as_tensor(extent, device=dev)
        self._ids = torch.tensor([instance[p.entity] for p in parts], dtype=torch.int32, device=dev)

    def render(self, poses, visible, K, world_to_camera, near: float, far: float, normals: bool = True) -> Frame:
        """One frame, as :meth:`Rasterizer.render`: ``poses`` (P, 4, 4), ``visible`` (P,), ``K`` (3, 3),
        ``world_to_camera`` (4, 4) in OpenGL axes. Returns a :class:`Frame` of numpy arrays."""
        fr = self.render_batch(np.asarray(poses)[None], np.asarray(visible)[None], np.asarray(K)[None],
                               np.asarray(world_to_camera)[None], near, far, normals)
        return Frame(fr.ids[0], fr.depth[0], None if fr.normal is None else fr.normal[0])

    def render_batch(self, poses, visible, K, world_to_camera, near, far, normals: bool = True,
                     numpy: bool = True) -> Frame:
        """F frames in one call. ``poses`` (F, P, 4, 4), ``visible`` (F, P) bool, ``K`` (F, 3, 3),
        ``world_to_camera`` (F, 4, 4), ``near`` and ``far`` scalars or (F,). Returns a :class:`Frame` whose arrays
        have a leading F axis: ids (F, H, W) uint32, depth (F, H, W) float32 (0 = background), normal (F, H, W, 3)
        uint8 or None; with ``numpy=False`` torch tensors on the device instead (ids int32).

        The per (frame, part) matrices and the tile lists are made in numpy on the host (small, and no device
        syncs); the rays are cast on the device."""
        torch = self._torch
        dev = self.device
        P, H, W = len(self._parts), self.height, self.width
        poses = np.asarray(poses, dtype=np.float64)
        F = poses.shape[0] if poses.ndim == 4 else -1
        if poses.shape != (F, P, 4, 4):
            raise ValueError(f"poses must have shape (F, {P}, 4, 4), got {poses.shape}")
        visible = np.asarray(visible, dtype=bool)
        K = np.asarray(K, dtype=np.float64)
        w2c = np.asarray(world_to_camera, dtype=np.float64)
        if visible.shape != (F, P) or K.shape != (F, 3, 3) or w2c.shape != (F, 4, 4):
            raise ValueError(f"visible (F, P), K (F, 3, 3) and world_to_camera (F, 4, 4) expected for F={F}, "
                             f"P={P}; got {visible.shape}, {K.shape}, {w2c.shape}")
        near = np.broadcast_to(np.asarray(near, dtype=np.float64), (F,))
        far = np.broadcast_to(np.asarray(far, dtype=np.float64), (F,))

        N = H * W
        key = torch.full((F * N,), _NO_HIT, dtype=torch.int64, device=dev)
        mats = None
        if P and F:
            ok = np.abs(np.linalg.det(poses[..., :3, :3])) > 1e-12     # a zero-scaled part shows nothing
            poses = np.where(ok[..., None, None], poses, np.eye(4))
            inv = np.linalg.inv(poses)                                  # (F, P, 4, 4)
            c2w = np.linalg.inv(w2c)
            # per (frame, part): A maps camera ray directions into the solid's centred frame, o is the camera
            # there, nm maps the solid's normals to camera space (inverse transpose)
            A = inv[..., :3, :3] @ c2w[:, None, :3, :3]                 # (F, P, 3, 3)
            o = (inv[..., :3, :3] @ c2w[:, None, :3, 3:])[..., 0] + inv[..., :3, 3] - self._center_np
            nm = w2c[:, None, :3, :3] @ np.swapaxes(inv[..., :3, :3], -1, -2)
            mats = torch.as_tensor(np.concatenate([A.reshape(F, P, 9), o, nm.reshape(F, P, 9)], axis=2),
                                   device=dev).to(self.dtype)          # (F, P, 21)
            quads, bounds = self._pairs(poses, visible & ok, K, w2c, near, far)
            cam = torch.as_tensor(np.concatenate([K[:, 0, [0, 1, 2]], K[:, 1, [1, 2]], near[:, None], far[:, None]],
                                                 axis=1), device=dev).to(self.dtype)   # (F, 7)
            self._cast(key, mats, cam, torch.as_tensor(quads, device=dev), bounds)
        key = key.reshape(F, N)
        hit = key != _NO_HIT
        part = (key & 0xFFFFFFFF).clamp_max(max(P - 1, 0))
        ids = torch.where(hit, self._ids[part], 0) if P else torch.zeros((F, N), dtype=torch.int32, device=dev)
        depth = torch.where(hit, (key >> 32).to(torch.int32).view(torch.float32), 0.0)
        normal = None
        if normals:
            normal = torch.zeros((F, N, 3), dtype=torch.uint8, device=dev)
            if mats is not None:
                self._normals(normal, hit, part, depth, mats, cam)
            normal = normal.reshape(F, H, W, 3)
        ids, depth = ids.reshape(F, H, W), depth.reshape(F, H, W)
        if not numpy:
            return Frame(ids, depth, normal)
        return Frame(self._host(ids).view(np.uint32), self._host(depth),
                     None if normal is None else self._host(normal))

    def _host(self, t) -> np.ndarray:
        """A device tensor as a numpy array; from a GPU through page-locked memory (torch caches those blocks,
        and the array keeps its block until it is freed)."""
        if t.device.type == "cpu":
            return t.numpy()
        out = self._torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
        out.copy_(t)
        return out.numpy()

    def _pairs(self, poses, visible, K, w2c, near, far):
        """The tiles to ray cast: (4, Q) int64 rows frame, part, tile x, tile y, sorted by the part's kind, and
        the kind boundaries (len(KINDS) + 1,) in that order. Numpy, (F, P, …) arrays as in render_batch."""
        T, H, W = self.tile, self.height, self.width
        # corners of each part's bounding box in camera space, (F, P, 8, 3)
        m = w2c[:, None] @ poses                                            # (F, P, 4, 4)
        c = np.einsum("fpij,pkj->fpki", m[..., :3, :3], self._corners) + m[:, :, None, :3, 3]
        z = -c[..., 2]                                                      # depth of each corner
        nr = near[:, None, None]
        # the box clipped by the near plane: corners in front of it and the points where edges cross it
        a, b = np.array(_EDGES).T
        za, zb = z[..., a], z[..., b]
        cross = (za - nr) * (zb - nr) < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(cross, (nr - za) / (zb - za), 0.0)
        pts = np.concatenate([c, c[..., a, :] + s[..., None] * (c[..., b, :] - c[..., a, :])], axis=2)
        use = np.concatenate([z >= nr, cross], axis=2)                     # (F, P, 20)
        depth = np.maximum(-pts[..., 2], 1e-9)
        xn, yn = pts[..., 0] / depth, -pts[..., 1] / depth
        Kf = K[:, None, None]
        u = Kf[..., 0, 0] * xn + Kf[..., 0, 1] * yn + Kf[..., 0, 2]
        v = Kf[..., 1, 1] * yn + Kf[..., 1, 2]
        umin, umax = np.where(use, u, np.inf).min(2), np.where(use, u, -np.inf).max(2)
        vmin, vmax = np.where(use, v, np.inf).min(2), np.where(use, v, -np.inf).max(2)
        live = (visible & use.any(2) & (z.min(2) <= far[:, None])
                & (umax >= 0) & (umin <= W) & (vmax >= 0) & (vmin <= H))
        TW, TH = -(-W // T), -(-H // T)
        fi, pi = np.nonzero(live)
        order = np.argsort(self._kind_np[pi], kind="stable")
        fi, pi = fi[order], pi[order]
        # one pixel of margin: every tile whose pixel centres may fall inside the box's projection
        x0 = np.clip(np.floor((umin[fi, pi] - 1) / T), 0, TW - 1).astype(np.int64)
        x1 = np.clip(np.floor((umax[fi, pi] + 1) / T), 0, TW - 1).astype(np.int64)
        y0 = np.clip(np.floor((vmin[fi, pi] - 1) / T), 0, TH - 1).astype(np.int64)
        y1 = np.clip(np.floor((vmax[fi, pi] + 1) / T), 0, TH - 1).astype(np.int64)
        nx, count = x1 - x0 + 1, (x1 - x0 + 1) * (y1 - y0 + 1)
        q = np.repeat(np.arange(len(fi)), count)
        k = np.arange(len(q)) - np.repeat(np.cumsum(count) - count, count)
        quads = np.stack([fi[q], pi[q], x0[q] + k % nx[q], y0[q] + k // nx[q]])
        bounds = np.searchsorted(self._kind_np[quads[1]], np.arange(len(KINDS) + 1))
        return quads, bounds.tolist()

    def _cast(self, key, mats, cam, quads, bounds):
        """Ray cast the tiles ``quads`` (4, Q) in steps of at most ``chunk`` ray–part tests and keep, per pixel,
        the smallest (depth bits << 32 | part) in ``key`` (F·N,). ``mats`` (F, P, 21) and ``cam`` (F, 7): fx, skew,
        cx, fy, cy, near, far."""
        T, H, W = self.tile, self.height, self.width
        N = H * W
        step = max(1, self.chunk // (T * T))
        du, dv = self._offsets
        for k in range(len(KINDS)):
            for s0 in range(bounds[k], bounds[k + 1], step):
                f, p, tx, ty = quads[:, s0:min(bounds[k + 1], s0 + step)]
                u = tx[:, None] * T + du                                       # (m, T²)
                v = ty[:, None] * T + dv
                cand = self._kernel(k)(mats[f, p], cam[f], self._extent[p], p, u, v, W, H)
                idx = f[:, None] * N + v.clamp_max(H - 1) * W + u.clamp_max(W - 1)
                key.scatter_reduce_(0, idx.reshape(-1), cand.reshape(-1), "amin")

    def _kernel(self, k: int):
        """The tile kernel of solid kind ``k``, compiled once per kind when asked (``compile=True``)."""
        fn = self._kernels.get(k)
        if fn is None:
            fn = functools.partial(_tile_candidates, self._torch, _ENTRY[k])
            if self.compile:
                fn = self._torch.compile(fn, dynamic=True)
            self._kernels[k] = fn
        return fn

    def _normals(self, out, hit, part, depth, mats, cam):
        """Encoded camera-space normals of the hit pixels into ``out`` (F, N, 3) uint8; computed for every pixel
        (no compaction, so no device sync) in the ray arithmetic's float type."""
        torch = self._torch
        W, N = self.width, self.height * self.width
        F, P = mats.shape[:2]
        flat = part.reshape(-1)
        g = mats.reshape(F * P, 21)[(torch.arange(F, device=self.device)[:, None] * P + part).reshape(-1)]
        pix = torch.arange(N, device=self.device)
        xn, yn = _rays(cam, (pix % W).to(cam.dtype)[None], (pix // W).to(cam.dtype)[None])  # (F, N)
        fn = self._kernels.get("normals")
        if fn is None:
            fn = functools.partial(_normal_codes, torch)
            if self.compile:
                fn = torch.compile(fn, dynamic=True)
            self._kernels["normals"] = fn
        enc = fn(g, self._kind[flat], self._extent[flat].to(cam.dtype), xn.reshape(-1), yn.reshape(-1),
                 depth.reshape(-1).to(cam.dtype), hit.reshape(-1))
        out.copy_(enc.reshape(out.shape))
