"""The supervisor loop: check a plan, repair what fails, repeat until clean or out of rounds.

Checks (on the plan's boxes): **bounds** (every footprint inside the room or terrain, nothing above the ceiling),
**collisions** (no two solid items, nor an item and a keep-out phantom, interpenetrate by more than
:data:`~agents.layout.model.TOL`; an item may touch what carries it), **supports** (an item rests exactly on what
it names as support, or is held by what it is attached to), **colour** (every visible mesh has one) and
**exportable** (geometry valid, every number finite). A repair moves the offending item — the later-placed one of
a colliding pair, never a pinned or fixed one — to the free grid point of its slot nearest to where it was
(free floor, further along its wall, elsewhere on its table), carrying whatever stands on it along.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core import values

from .model import TOL, Item, overlap
from .place import Plan

__all__ = ["Failure", "Move", "Outcome", "check", "supervise", "MAX_ROUNDS"]

MAX_ROUNDS = 8


@dataclass(frozen=True)
class Failure:
    check: str          # bounds | collision | supports | colour | exportable
    subject: str
    object: str | None
    detail: str

    def to_json(self) -> dict:
        d = {"check": self.check, "subject": self.subject, "detail": self.detail}
        if self.object is not None:
            d["object"] = self.object
        return d


@dataclass(frozen=True)
class Move:
    subject: str
    round: int
    frm: tuple[float, float, float]
    to: tuple[float, float, float]
    reason: str

    def to_json(self) -> dict:
        return {"id": self.subject, "round": self.round, "from": [round(c, 4) for c in self.frm],
                "to": [round(c, 4) for c in self.to], "reason": self.reason}


@dataclass
class Outcome:
    clean: bool
    rounds: int
    failures: list[tuple[int, Failure]] = field(default_factory=list)   # (round, failure) as found
    moves: list[Move] = field(default_factory=list)
    remaining: list[Failure] = field(default_factory=list)


def _ignored(a: Item, b: Item) -> bool:
    if a.support == b.local or b.support == a.local or a.attach == b.local or b.attach == a.local:
        return True
    return a.cls == "arch" and b.cls == "arch"


def check(plan: Plan) -> list[Failure]:
    """Every failing check of the plan as it stands, in a fixed order."""
    out: list[Failure] = []
    items = plan.items
    by = plan.by_local()
    bx0, bx1, bz0, bz1 = plan.bounds
    for it in items:
        if it.cls == "obstacle":
            continue
        b = it.box()
        if it.kind != "environment":
            if b[0] < bx0 - TOL or b[1] > bx1 + TOL or b[4] < bz0 - TOL or b[5] > bz1 + TOL:
                out.append(Failure("bounds", it.local, None, f"{it.local} reaches outside the "
                                   f"{'room' if plan.height else 'terrain'}"))
            elif plan.height is not None and b[3] > plan.height + TOL:
                out.append(Failure("bounds", it.local, None, f"{it.local} reaches above the ceiling"))
        if it.color is None:
            out.append(Failure("colour", it.local, None, f"{it.local} has no colour"))
        try:
            values.geometry(it.geometry)
            if not all(math.isfinite(c) for c in (it.x, it.y, it.z)):
                raise ValueError("non-finite position")
        except (ValueError, TypeError) as e:
            out.append(Failure("exportable", it.local, None, f"{it.local}: {e}"))
        if it.support is not None and it.attach is None:
            s = by.get(it.support)
            if s is None:
                out.append(Failure("supports", it.local, it.support, f"{it.local} rests on a missing {it.support}"))
            else:
                top = s.y if s.kind == "environment" else s.y + s.dims[1]
                if abs(it.y - top) > TOL:
                    out.append(Failure("supports", it.local, s.local,
                                       f"{it.local} is {it.y - top:+.3f} m off {s.local}'s top"))
        elif it.support is None and it.attach is None and it.kind != "environment" and it.cls != "wall":
            out.append(Failure("supports", it.local, None, f"{it.local} rests on nothing"))
    solid = [it for it in items if it.solid]
    boxes = [it.box() for it in solid]
    for i, a in enumerate(solid):
        for j in range(i + 1, len(solid)):
            b = solid[j]
            if _ignored(a, b):
                continue
            depth = overlap(boxes[i], boxes[j])
            if depth > TOL:
                first, second = (a, b) if a.order <= b.order else (b, a)
                out.append(Failure("collision", second.local, first.local,
                                   f"{second.local} intersects {first.local} by {depth:.3f} m"))
        for ph in plan.phantoms:
            if a.cls in ph.blocks and overlap(boxes[i], ph.box) > TOL:
                out.append(Failure("collision", a.local, None, f"{a.local} blocks {ph.name}"))
    return out


def _descendants(plan: Plan, it: Item) -> list[Item]:
    out, frontier = [], [it.local]
    while frontier:
        n = frontier.pop()
        for other in plan.items:
            if other.support == n and other.cls == "surface" and other not in out:
                out.append(other)
                frontier.append(other.local)
    return out


def _free_spot(plan: Plan, it: Item) -> tuple[float, float] | None:
    """The grid point of ``it``'s slot nearest to it where it collides with nothing and stays in bounds."""
    if it.slot is None:
        return None
    cand = it.slot.candidates((it.x, it.z))
    if len(cand) == 0:
        return None
    carried = {d.local for d in _descendants(plan, it)}
    hx, hz = it.half
    y0, y1 = it.y, it.y + it.dims[1]
    obstacles = []
    for o in plan.items:
        if o is it or not o.solid or o.local in carried or _ignored(it, o):
            continue
        obstacles.append(o.box())
    obstacles += [ph.box for ph in plan.phantoms if it.cls in ph.blocks]
    ok = np.ones(len(cand), dtype=bool)
    bx0, bx1, bz0, bz1 = plan.bounds
    ok &= (cand[:, 0] - hx >= bx0 - TOL) & (cand[:, 0] + hx <= bx1 + TOL)
    ok &= (cand[:, 1] - hz >= bz0 - TOL) & (cand[:, 1] + hz <= bz1 + TOL)
    if obstacles:
        ob = np.asarray(obstacles)  # (m, 6)
        dy = np.minimum(y1, ob[:, 3]) - np.maximum(y0, ob[:, 2])                      # (m,)
        dx = np.minimum(cand[:, None, 0] + hx, ob[None, :, 1]) - np.maximum(cand[:, None, 0] - hx, ob[None, :, 0])
        dz = np.minimum(cand[:, None, 1] + hz, ob[None, :, 5]) - np.maximum(cand[:, None, 1] - hz, ob[None, :, 4])
        depth = np.minimum(np.minimum(dx, dz), dy[None, :])
        ok &= ~(depth > TOL).any(axis=1)
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return None
    return float(cand[idx[0], 0]), float(cand[idx[0], 1])


def _move(plan: Plan, it: Item, x: float, z: float) -> None:
    dx, dz = x - it.x, z - it.z
    for d in _descendants(plan, it):
        d.x += dx
        d.z += dz
        if d.slot is not None:
            d.slot.x0 += dx
            d.slot.x1 += dx
            d.slot.z0 += dz
            d.slot.z1 += dz
    it.x, it.z = x, z


def _offender(plan: Plan, f: Failure) -> Item | None:
    by = plan.by_local()
    cands = [by.get(f.subject)]
    if f.object is not None:
        cands.append(by.get(f.object))
    for c in cands:  # the later-placed one first (subject is the later of a pair)
        if c is not None and c.slot is not None and not c.pinned:
            return c
    return None


def supervise(plan: Plan, max_rounds: int = MAX_ROUNDS) -> Outcome:
    """Check and repair ``plan`` in place, at most ``max_rounds`` rounds of checks."""
    out = Outcome(False, 0)
    for rnd in range(1, max_rounds + 1):
        out.rounds = rnd
        fails = check(plan)
        out.failures += [(rnd, f) for f in fails]
        if not fails:
            out.clean = True
            return out
        repaired = set()
        stuck = False
        for f in fails:
            if f.check not in ("bounds", "collision"):
                stuck = True
                continue
            it = _offender(plan, f)
            if it is None:
                stuck = True
                continue
            if it.local in repaired:
                continue
            repaired.add(it.local)
            spot = _free_spot(plan, it)
            if spot is None:
                stuck = True
                continue
            frm = (it.x, it.y, it.z)
            _move(plan, it, *spot)
            out.moves.append(Move(it.local, rnd, frm, (it.x, it.y, it.z), f.detail))
        if stuck and not repaired:
            break
    out.remaining = check(plan)
    out.clean = not out.remaining
    return out
