"""The ``path`` agent (SPEC §7, §7.1): a ``path`` directive becomes the entity's position and heading keys along a
collision-free route, and is re-planned when an edit moves an obstacle into that route.

Triggers (pure decisions of ``(world, event)``):

- a ``directive.add`` / ``directive.update`` of a ``path`` directive whose report does not hold the hash of its
  params (so the agent's own report update, replays and retries never solve twice);
- any event not by this agent that changes the shape or placement of an entity (``agents.repair.edited_entities``)
  which, for a solved directive, now comes within ``body radius + clearance_m`` of the route it keyed: the route
  is re-planned; the new keys are caused by that edit (the runtime sets ``causation``) and the reason names it;
  likewise when such an event moves the entity's start, or sets or removes a position key (a pin) inside the walk.

The solution (:func:`solve`) is ONE proposal: done — the keys on ``transform.position`` (bezier, with the route's
velocity as tangents) and ``transform.rotation`` (the heading, linear slerp) from ``start`` to the arrival, the
agent's earlier keys on those tracks removed, and ``directive.update`` with ``report`` =
``{status: "done", params_hash, arrival_frame, length_m, duration_s, speed_mps: {mean, max}, min_clearance_m,
body_radius_m, gait, obstacles, pins, replanned_after?}``; failed — only the ``directive.update`` with
``report = {status: "failed", reason, params_hash}``: nothing is half-applied and an earlier solution stays.

People's keys on the two tracks are pins: never removed or overwritten (the agent writes no key at their frames,
and lists them in ``report.pins``). A person's position key inside the walk is a timed via-point: the walk is cut
into legs at those frames, each routed and timed to arrive exactly on its pin, so the route passes through every
pinned position at its frame — keeping its pace through a pin on its way (the adjacent legs' mean speed), stopping
there only where the route turns sharply; a pin too far to reach in time is an impossible-arrival report.

A body facing more than 45° away from where it sets off first turns on the spot (its heading turning at
``timing.TURN_RATE``), then walks; the turn counts against an arrival frame.

Gait: the keys drive position and heading; the motion agent reads the phase from the distance travelled along the
position track and the clip from ``report.gait`` (``{clip, start, end, speed_mps}``) — see /work/notes/path.md.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from agents import repair as R
from agents.base import Proposal, failed, params_hash, register, to_solve
from core import edit, quat, tracks
from core import ops as O
from core.world import World
from events.envelope import Event

from . import params as P
from . import route as RT
from . import timing as T
from .body import body_of
from .grid import build_grid
from .keys import dense_frames, key_ops, verify
from .scene import Scene, build_scene

__all__ = ["PathAgent", "solve", "Leg", "ACTOR"]

NAME = "path"
ACTOR = f"agent:{NAME}"
POSITION, ROTATION = "transform.position", "transform.rotation"
MAX_PINS = 16
"""People's position keys inside one walk, at most (each is a leg routed on its own)."""
TURN_ON_THE_SPOT = math.radians(45)
"""A body facing further than this from where it sets off first turns on the spot (at timing.TURN_RATE)."""
PLAN_SLACK_M = 0.01
"""The grid plans this much wider than needed, so the keyed curve (which may stray ~1 mm) keeps the clearance."""


class PathAgent:
    name = NAME
    generative = True

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        if event.actor.kind == "agent" and event.actor.id == self.name:
            return []
        seen = {op.id for op in event.ops if isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate))}
        out: list[Proposal] = [solve(world, d.id, d.params) for d in to_solve(world, event, self.name)]
        edited = R.edited_entities(world, event)
        if not edited:
            return out
        for did in sorted(world.directives):
            d = world.directives[did]
            if did in seen or d.agent != self.name:
                continue
            blocker = _blocked_by(world, d.params, edited) or _pin_changed(world, d.params, event)
            if blocker is not None:
                out.append(solve(world, did, d.params, replanned_for=blocker, seq=seq))
        return out


def _pin_changed(world: World, params: dict, event: Event) -> str | None:
    """``"pin"`` when ``event`` (not this agent's) set or removed a position key of a solved directive's entity
    inside its walk: the route is solved again through the pins."""
    report = params.get("report")
    if not isinstance(report, dict) or report.get("status") != "done":
        return None
    eid, start, arrival = params.get("entity"), params.get("start"), report.get("arrival_frame")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (start, arrival)):
        return None
    for op in event.ops:
        if isinstance(op, (O.KeySet, O.KeyRemove)) and op.id == eid and op.path == POSITION \
                and start < op.frame < arrival:
            return "pin"
    return None


def _blocked_by(world: World, params: dict, edited: list[str]) -> str | None:
    """The first edited entity that now comes within the clearance of a solved directive's keyed route."""
    report = params.get("report")
    if not isinstance(report, dict) or report.get("status") != "done":
        return None
    eid = params.get("entity")
    e = world.entities.get(eid) if isinstance(eid, str) else None
    if e is None or not e.tracks.get(POSITION):
        return None
    try:
        spec = P.parse(params)
    except P.PathError:
        return None
    if eid in edited:
        was = report.get("start_position")
        now = _value_without_own(world, eid, POSITION, spec.start)
        if isinstance(was, list) and len(was) == 3 and all(isinstance(c, (int, float)) for c in was) \
                and np.max(np.abs(now - np.asarray(was, dtype=np.float64))) > 1e-6:
            return eid
    others = [i for i in edited if i != eid]
    if not others:
        return None
    arrival = report.get("arrival_frame")
    if isinstance(arrival, bool) or not isinstance(arrival, (int, float)) or not spec.start < arrival < 1e7:
        return None                                  # a report someone rewrote by hand: nothing to check against
    start, arrival = spec.start, float(arrival)
    body = body_of(world, eid, start)
    frames = dense_frames(start, arrival)
    pos = tracks.value_at(e, POSITION, frames)
    y0 = float(pos[0, 1])
    scene = build_scene(world, eid, (start, arrival), y0, _step(body), body.top, only=set(others))
    need = body.radius + spec.clearance_m
    d, which = scene.obstacle_distance(pos[:, [0, 2]], cut=need, ids=True)
    bad = np.flatnonzero(d < need - 1e-6)
    return None if not len(bad) else scene.obstacles[int(which[bad[0]])].id


def _step(body) -> float:
    """Height the body steps over (a kerb, a footstool): a fifth of its height, at most 0.3 m."""
    return min(0.3, 0.2 * (body.top - min(body.bottom, 0.0)))


def _own_removed(e, path: str):
    """The entity's keys on ``path`` without the ones this agent wrote (what a person set)."""
    return [k for k in e.tracks.get(path, []) if k.by != ACTOR]


def _value_without_own(world: World, eid: str, path: str, frame: float) -> np.ndarray:
    """The value at ``frame`` as people set it: their keys when one is at or before ``frame`` (a later pin says
    where to be then, not where to start), else the static value."""
    e = world.entities[eid]
    keys = _own_removed(e, path)
    if keys and keys[0].frame <= frame + 1e-9:
        return tracks.evaluate(keys, [frame], tracks.track_kind(path))[0]
    return tracks.value_at(_Static(e), path, [frame])[0]


class _Static:
    """An entity view without tracks (its static values)."""

    def __init__(self, e):
        self.props, self.tracks, self.kind, self.id = e.props, {}, e.kind, e.id


def _yaw(q) -> float:
    f = quat.rotate(np.asarray(q, dtype=np.float64), [0.0, 0.0, 1.0])
    return 0.0 if math.hypot(f[0], f[2]) < 1e-9 else math.atan2(f[0], f[2])


def _r(x: float, n: int = 6) -> float:
    return float(round(float(x), n)) + 0.0


def _check_entity(world: World, eid: str) -> None:
    e = world.entities.get(eid)
    if e is None:
        raise P.PathError(f"unknown entity {eid!r}")
    if e.kind not in ("character", "prop"):
        raise P.PathError(f"{eid} is a {e.kind}; a path moves a character or a prop")
    if e.parent is not None or any(r.kind == "attached_to" and r.subject == eid for r in world.relations.values()):
        raise P.PathError(f"{eid} is parented or attached to another entity; a path moves what stands on its own")


def _check_point(scene: Scene, p: np.ndarray, what: str, radius: float, need: float, clearance: float) -> None:
    d, which = scene.obstacle_distance(p[None], cut=need, ids=True)
    if which[0] >= 0 and d[0] < need:
        ob = scene.obstacles[int(which[0])].id
        if d[0] <= 0:
            raise P.PathError(f"{what} is inside obstacle {ob}")
        raise P.PathError(f"{what} is {d[0]:.2f} m from {ob}; the body needs {need:.2f} m "
                          f"({radius:.2f} m radius + {clearance:.2f} m clearance)")
    if scene.area_depth(p[None])[0] < radius:
        raise P.PathError(f"{what} is outside the walkable area (or closer than {radius:.2f} m to its edge)")


def solve(world: World, did: str, params: dict, replanned_for: str | None = None, seq: int | None = None) \
        -> Proposal:
    """The route of directive ``did`` (pure; see the module docstring)."""
    try:
        ops, report, reason = _solve(world, did, params)
    except (P.PathError, RT.RouteError) as e:
        return failed(NAME, did, params, str(e))
    if replanned_for is not None:
        report["replanned_after"] = {"seq": seq, "entity": replanned_for}
        why = "its start moved" if replanned_for == params.get("entity") else \
            "a person's position key inside the walk changed" if replanned_for == "pin" else \
            f"{replanned_for} moved into the route"
        reason = f"re-planned {reason}: {why}"
    new = dict(params)
    new["report"] = report
    ops.append(O.DirectiveUpdate(id=did, params=new))
    try:
        edit.check(world, ops, ACTOR)
    except edit.OpError as e:
        return failed(NAME, did, params, f"the route's ops do not apply: {e}")
    return Proposal(ops, reason)


def _solve(world: World, did: str, params: dict):
    spec = P.parse(params)
    eid = spec.entity
    _check_entity(world, eid)
    e = world.entities[eid]
    if spec.start < world.frame_start or spec.start >= world.frame_end:
        raise P.PathError(f"params.start {spec.start:g} is outside the shot's frames "
                          f"{world.frame_start:g}–{world.frame_end:g}")
    if spec.end is not None and spec.end > world.frame_end:
        raise P.PathError(f"impossible arrival: params.end {spec.end:g} is after the shot's last frame "
                          f"{world.frame_end:g}")
    body = body_of(world, eid, spec.start)
    gait, natural, top = P.gait_speeds(body.family, spec.gait)
    if spec.speed_mps is not None and spec.speed_mps > top:
        raise P.PathError(f"params.speed_mps {spec.speed_mps:g} is faster than the {gait or 'gait'}'s top speed "
                          f"{top:g} m/s")
    start3 = _value_without_own(world, eid, POSITION, spec.start)
    yaw0 = _yaw(_value_without_own(world, eid, ROTATION, spec.start))
    y0 = float(start3[1])
    follow = body.family not in ("fish",) and gait not in ("flap", "glide")
    step = _step(body) if follow else body.bottom
    frames = (spec.start, spec.end if spec.end is not None else world.frame_end)
    scene = build_scene(world, eid, frames, y0, step, body.top)
    need = body.radius + spec.clearance_m
    pts = [np.array([start3[0], start3[2]])] + [np.array(p) for p in spec.points]
    _check_point(scene, pts[0], f"{eid}'s position at frame {spec.start:g}", body.radius, need, spec.clearance_m)
    for i, p in enumerate(pts[1:]):
        what = f"the goal [{p[0]:g}, {p[1]:g}]" if "goal" in params else f"waypoint {i} [{p[0]:g}, {p[1]:g}]"
        _check_point(scene, p, what, body.radius, need, spec.clearance_m)
    fps = float(world.fps)
    cap = min(top, spec.speed_mps) if spec.speed_mps is not None else top
    # people's position keys inside the walk are pins: the route passes through each at its frame
    pinned = sorted((k for k in e.tracks.get(POSITION, []) if k.by != ACTOR and k.frame > spec.start + 1e-6
                     and (spec.end is None or k.frame < spec.end - 1e-6)), key=lambda k: k.frame)
    if len(pinned) > MAX_PINS:
        raise P.PathError(f"{eid} has {len(pinned)} position keys by others inside the walk (frames "
                          f"{pinned[0].frame:g}–{pinned[-1].frame:g}); a path passes through at most {MAX_PINS} — "
                          "remove some or let the path start after them")
    ways: list[Way] = []
    here, t = pts[0], spec.start
    for k in pinned:
        p = np.array([float(k.value[0]), float(k.value[2])])
        _check_point(scene, p, f"{k.by}'s position key at frame {k.frame:g}", body.radius, need, spec.clearance_m)
        ways.append(_way(scene, [here, p], t, k.frame, need, body.radius, f"{k.by}'s position key at frame "
                                                                           f"{k.frame:g}"))
        here, t = p, k.frame
    ways.append(_way(scene, [here] + pts[1:], t, spec.end, need, body.radius,
                     f"params.end {spec.end:g}" if spec.end is not None else ""))
    if ways[-1].length < 1e-6 and len(ways) == 1:
        raise P.PathError(f"{eid} is already at the goal")
    carry = [0.0] + [_carried(a, b, natural, fps) for a, b in zip(ways, ways[1:])] + [0.0]
    legs: list[Leg] = []
    yaw = yaw0
    for n, way in enumerate(ways):
        last = _leg(way, cap, spec.speed_mps or natural, fps, yaw, carry[n], carry[n + 1])
        legs.append(last)
        yaw = last.end_heading(yaw)
    arrival = last.t1
    length = sum(leg.length for leg in legs)
    duration = (arrival - spec.start) / fps
    ops, keyed, pins = key_ops(world, eid, spec, legs, scene, yaw0, y0, follow, fps, arrival)
    min_gap = verify(world, ops, eid, scene, spec.start, arrival, body.radius, need)
    vmax = max((float(leg.profile.v.max()) for leg in legs if leg.profile is not None), default=0.0)
    report = {
        "status": "done",
        "params_hash": params_hash(params),
        "entity": eid,
        "start": spec.start,
        "arrival_frame": arrival,
        "length_m": _r(length, 4),
        "duration_s": _r(duration, 4),
        "speed_mps": {"mean": _r(length / duration, 4), "max": _r(vmax, 4)},
        "start_position": [_r(c) for c in start3],
        "min_clearance_m": _r(min_gap, 4) if math.isfinite(min_gap) else None,
        "clearance_m": spec.clearance_m,
        "body_radius_m": _r(body.radius, 4),
        "gait": {"clip": gait, "start": spec.start, "end": arrival,
                 "speed_mps": _r(last.profile.cruise if last.profile is not None else 0.0, 4)},
        "obstacles": len({o.id for o in scene.obstacles}),
        "keys": keyed,
        "pins": pins,
    }
    reason = f"path {did}: {eid} walks {length:.2f} m from frame {spec.start:g} to {arrival:g}"
    return ops, report, reason


class Leg(NamedTuple):
    """One timed stretch of the walk: from frame ``t0`` to ``t1`` along ``dense`` (no profile: standing still),
    first turning on the spot for ``wait`` seconds when the body faces well away from where the leg sets off."""
    dense: np.ndarray
    profile: T.Profile | None
    t0: float
    t1: float
    length: float
    wait: float = 0.0

    def end_heading(self, yaw: float) -> float:
        """The heading the leg leaves the body with (its route's last direction; ``yaw`` when it stands)."""
        if self.profile is None:
            return yaw
        d = self.dense[-1] - self.dense[max(0, len(self.dense) - 4)]
        return yaw + _turn(yaw, math.atan2(d[0], d[1]))


def _turn(yaw: float, to: float) -> float:
    """The signed smallest turn (radians) from heading ``yaw`` to heading ``to``."""
    return (to - yaw + math.pi) % (2 * math.pi) - math.pi


class Way(NamedTuple):
    """A routed, untimed leg: the dense curve, its arc lengths and curvature, and the frames it must fit."""
    dense: np.ndarray
    s: np.ndarray
    kappa: np.ndarray
    t0: float
    t1: float | None
    what: str

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def direction(self, at_end: bool) -> np.ndarray:
        d = self.dense[-1] - self.dense[max(0, len(self.dense) - 4)] if at_end else \
            self.dense[min(len(self.dense) - 1, 3)] - self.dense[0]
        return d / max(float(np.linalg.norm(d)), 1e-12)


def _way(scene: Scene, pts: list[np.ndarray], t0: float, t1: float | None, need: float, radius: float,
         what: str) -> Way:
    dense = _route(scene, pts, need + PLAN_SLACK_M, radius + PLAN_SLACK_M)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
    return Way(dense, s, T.curvature(dense), t0, t1, what)


def _carried(a: Way, b: Way, natural: float, fps: float) -> float:
    """The speed kept through the pin between ways ``a`` and ``b``: their mean speeds' smaller (at most
    ``natural``), 0 where the route turns sharply there (stop and turn) or a way is too short to reach it."""
    if a.length < 1e-6 or b.length < 1e-6 or float(a.direction(True) @ b.direction(False)) < math.cos(
            TURN_ON_THE_SPOT):
        return 0.0
    means = [w.length / ((w.t1 - w.t0) / fps) for w in (a, b) if w.t1 is not None and w.t1 > w.t0]
    v = min([natural] + means)
    return float(min(v, math.sqrt(T.A_LONG * min(a.length, b.length))))


def _leg(way: Way, cap: float, cruise: float | None, fps: float, yaw: float, v0: float = 0.0,
         v1: float = 0.0) -> Leg:
    """Time one way from heading ``yaw``: to arrive exactly at its ``t1`` (no faster than ``cap``), or at
    ``cruise``; leaving at ``v0`` and arriving at ``v1`` (m/s)."""
    s, kappa, t0, t1 = way.s, way.kappa, way.t0, way.t1
    if s[-1] < 1e-6:
        return Leg(way.dense[:1], None, t0, t0 if t1 is None else t1, 0.0)
    wait = 0.0
    if v0 == 0.0:
        ahead = way.dense[min(len(way.dense) - 1, int(np.searchsorted(s, min(0.25, s[-1]))))] - way.dense[0]
        wait = max(0.0, abs(_turn(yaw, math.atan2(ahead[0], ahead[1]))) - TURN_ON_THE_SPOT) / T.TURN_RATE
    if t1 is None:
        pr = T.profile(s, kappa, cruise, v0, v1)
        return Leg(way.dense, pr, t0, _r(t0 + (wait + pr.duration) * fps), float(s[-1]), wait)
    budget = (t1 - t0) / fps - wait
    pr = T.fit_duration(s, kappa, budget, cap, v0, v1) if budget > 0 else None
    if pr is None:
        fastest = T.profile(s, kappa, cap, v0, v1).duration + wait
        turning = f", turning {wait:.2f} s on the spot first" if wait > 0 else ""
        raise P.PathError(
            f"impossible arrival: the {s[-1]:.2f} m route from frame {t0:g} takes at least {fastest:.2f} s at "
            f"{cap:g} m/s{turning} (frame {t0 + fastest * fps:.1f}), not {(t1 - t0) / fps:.2f} s ({way.what})")
    return Leg(way.dense, pr, t0, t1, float(s[-1]), wait)


def _route(scene: Scene, pts: list[np.ndarray], need: float, wall: float) -> np.ndarray:
    """The dense smoothed curve (N, 2) through ``pts``: a grid around them first, the whole scene when that
    finds no way."""
    allp = np.array(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = float(np.max(hi - lo))
    cell = float(np.clip(need / 6, 0.05, 0.25))
    pad = max(4.0, 4 * need, 0.25 * span)
    boxes = [(lo - pad, hi + pad)]
    extent = [allp] + [o.poly for o in scene.obstacles] + [a for _, a in scene.areas]
    whole = np.concatenate(extent)
    boxes.append((np.minimum(whole.min(axis=0), lo) - pad, np.maximum(whole.max(axis=0), hi) + pad))
    err = None
    for blo, bhi in boxes:
        grid = build_grid(scene, blo, bhi, cell, need, wall, _room(need, cell))
        try:
            legs = RT.plan_legs(grid, pts)
        except RT.RouteError as e:
            err = e
            continue
        kept: list[np.ndarray] = []
        sharp: set[int] = set()
        for leg in legs:
            short = RT.shortcut(grid, leg)
            if kept:
                sharp.add(len(kept) - 1)
                short = short[1:]
            kept += short
        return RT.smooth(grid, kept, sharp)
    raise err


def _room(need: float, cell: float) -> float:
    """How much wider than needed routes keep where the scene leaves room (for rounding corners)."""
    return float(np.clip(0.3 * need, 2 * cell, 0.6))


@register(NAME)
def _make() -> PathAgent:
    return PathAgent()
