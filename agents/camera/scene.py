"""What a camera must stay out of and see past: the solid entities of the shot as vertical convex prisms
(:func:`agents.geometry.shapes_at`), per frame.

- Obstacles: props and characters other than the subject (and what is attached to or parented under it). A
  camera inside one, or a sight line crossing one, is a failure.
- Rooms: box environments are bounds, not obstacles: a subject inside a room is filmed from inside it (the sight
  line from the subject must not leave the room before it reaches the camera). Plane environments are floors.
- The ground: cameras stay :data:`MIN_HEIGHT_M` above y = 0.

Segment and ray tests are Cyrus–Beck clipping against each prism's footprint half-planes and height slab.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents import geometry as G
from core.sampling import sample

__all__ = ["Prism", "Obstacles", "build", "MIN_HEIGHT_M"]

MIN_HEIGHT_M = 0.1


@dataclass(frozen=True)
class Prism:
    id: str
    normals: np.ndarray   # (k, 2) outward unit normals of the footprint edges (x, z)
    offsets: np.ndarray   # (k,) inside where normals · (x, z) <= offsets
    y0: float
    y1: float
    box: tuple = ()       # (x0, x1, z0, z1) of the footprint, for quick rejection

    def clip(self, a: np.ndarray, d: np.ndarray, t0: float, t1: float) -> tuple[float, float]:
        """The parameter interval of ``a + t d``, t in [t0, t1], inside the prism (empty when t0 ≥ t1)."""
        ax, ay, az = float(a[0]), float(a[1]), float(a[2])
        dx, dy, dz = float(d[0]), float(d[1]), float(d[2])
        x0, x1, z0, z1 = self.box
        for lo, hi, o, v in ((x0, x1, ax, dx), (self.y0, self.y1, ay, dy), (z0, z1, az, dz)):
            if abs(v) < 1e-15:
                if o < lo or o > hi:
                    return 1.0, 0.0
                continue
            u0, u1 = (lo - o) / v, (hi - o) / v
            if u0 > u1:
                u0, u1 = u1, u0
            t0, t1 = max(t0, u0), min(t1, u1)
            if t0 >= t1:
                return t0, t1
        num = self.offsets - self.normals @ np.array([ax, az])
        den = self.normals @ np.array([dx, dz])
        for nm, dn in zip(num.tolist(), den.tolist()):
            if abs(dn) < 1e-15:
                if nm < 0:
                    return 1.0, 0.0
            elif dn > 0:
                t1 = min(t1, nm / dn)
            else:
                t0 = max(t0, nm / dn)
            if t0 >= t1:
                return t0, t1
        return t0, t1

    def contains(self, p: np.ndarray, margin: float = 0.0) -> bool:
        x, y, z = float(p[0]), float(p[1]), float(p[2])
        x0, x1, z0, z1 = self.box
        if not (x0 - margin <= x <= x1 + margin and z0 - margin <= z <= z1 + margin
                and self.y0 - margin <= y <= self.y1 + margin):
            return False
        return bool(np.all(self.normals @ p[[0, 2]] <= self.offsets + margin)
                    and self.y0 - margin <= p[1] <= self.y1 + margin)


def _prism(shape: G.Shape) -> Prism | None:
    fp = shape.footprint
    if len(fp) < 3:
        return None
    edges = np.roll(fp, -1, axis=0) - fp
    n = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    length = np.linalg.norm(n, axis=1)
    keep = length > 1e-12
    n = n[keep] / length[keep, None]
    return Prism(shape.id, n, np.einsum("kj,kj->k", n, fp[keep]), shape.y_min, shape.y_max,
                 (float(fp[:, 0].min()), float(fp[:, 0].max()), float(fp[:, 1].min()), float(fp[:, 1].max())))


@dataclass
class Obstacles:
    frames: list[float]
    solids: list[list[Prism]] = field(default_factory=list)   # per frame
    rooms: list[list[Prism]] = field(default_factory=list)    # per frame

    def clear_distance(self, fi: int, origin, direction, limit: float, margin: float = 0.0) -> float:
        """How far a ray from ``origin`` along unit ``direction`` runs (up to ``limit``) before it comes within
        ``margin`` of an obstacle's entry or of its room's wall, or within :data:`MIN_HEIGHT_M` of the ground (no
        margin there: the minimum height is the margin). Obstacles that contain ``origin`` are ignored."""
        a, d = np.asarray(origin, float), np.asarray(direction, float)
        best = limit
        for pr in self.solids[fi]:
            t0, t1 = pr.clip(a, d, 0.0, best + margin)
            if t0 < t1 and t0 > 1e-9:
                best = min(best, t0 - margin)
        for room in self.rooms[fi]:
            if room.contains(a):
                t0, t1 = room.clip(a, d, 0.0, limit + margin)
                best = min(best, t1 - margin)
        if d[1] < -1e-12:
            best = min(best, max(0.0, (a[1] - MIN_HEIGHT_M) / -d[1]))
        return best

    def blocking(self, fi: int, a, b) -> list[str]:
        """Ids of the obstacles the segment a → b passes through (touching within 1 mm does not count), and
        ``"<room>:wall"`` when it leaves a room that a is in."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = b - a
        hits = []
        for pr in self.solids[fi]:
            if pr.contains(a):
                continue
            t0, t1 = pr.clip(a, d, 0.0, 1.0)
            if t1 - t0 > 1e-3 / max(np.linalg.norm(d), 1e-9):
                hits.append(pr.id)
        for room in self.rooms[fi]:
            if room.contains(a) and not room.contains(b):
                hits.append(f"{room.id}:wall")
        return hits

    def inside(self, fi: int, p, margin: float = 0.0) -> list[str]:
        """Ids of the obstacles containing point p (grown by ``margin``), and ``"ground"`` below the minimum
        height."""
        p = np.asarray(p, float)
        out = [pr.id for pr in self.solids[fi] if pr.contains(p, margin)]
        if p[1] < MIN_HEIGHT_M - 1e-9:
            out.append("ground")
        return out


def _excluded(world, subject: str) -> set[str]:
    """The subject and everything that hangs off it (children, attachments), transitively."""
    out = {subject}
    changed = True
    while changed:
        changed = False
        for eid, e in world.entities.items():
            if eid not in out and e.parent in out:
                out.add(eid)
                changed = True
        for r in world.relations.values():
            if r.kind == "attached_to" and r.object in out and r.subject not in out:
                out.add(r.subject)
                changed = True
    return out


def build(world, frames, subject: str) -> Obstacles:
    """The obstacles and rooms of ``world`` at ``frames`` for a camera filming ``subject``. Entities that do not
    move over the frames get one prism shared by every frame."""
    frames = [float(f) for f in frames]
    skip = _excluded(world, subject)
    ids = [eid for eid, e in sorted(world.entities.items()) if eid not in skip and e.kind in G.SOLID_KINDS]
    ob = Obstacles(frames)
    if not ids:
        ob.solids = [[] for _ in frames]
        ob.rooms = [[] for _ in frames]
        return ob
    s = sample(world, frames)
    still, moving = [], []
    for eid in ids:
        i = s.ids.index(eid)
        static = np.ptp(s.matrices[:, i], axis=0).max() < 1e-12
        js = s.joints.get(eid)
        if js is not None and len(js.names):
            static = static and np.ptp(js.matrices, axis=0).max() < 1e-12
        (still if static else moving).append(eid)
    fixed = G.shapes_at(world, frames[:1], ids=still)[frames[0]] if still else {}
    fixed_prisms = {sid: (_prism(sh), sh) for sid, sh in fixed.items()}
    live = G.shapes_at(world, frames, ids=moving) if moving else {f: {} for f in frames}
    for f in frames:
        solids, rooms = [], []
        items = dict(fixed_prisms)
        items.update({sid: (_prism(sh), sh) for sid, sh in live[f].items()})
        for sid in sorted(items):
            pr, sh = items[sid]
            if pr is None or sh.flat:
                continue
            (rooms if sh.kind == "environment" else solids).append(pr)
        ob.solids.append(solids)
        ob.rooms.append(rooms)
    return ob
