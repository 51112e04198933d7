"""The ``shot`` agent (SPEC §7, §7.1): turns a shot directive into camera keys that hold the framing, and keeps
them holding.

Triggers (pure decisions of ``(world, event)``; its own events are ignored):

- a ``directive.add`` / ``directive.update`` of a ``shot`` directive whose params differ from those its report
  answered (``report.params_hash``);
- any other event that touches the directive's camera (a person's key is a pin: re-solve around it), its subject,
  or any solid entity: the current keys are measured (:mod:`agents.camera.measure`) and, when the framing no
  longer holds (size off by more than 10 %, subject out of frame, occluded, camera inside geometry), re-solved —
  the auto-repair of framing, caused by that edit. A directive that failed because its subject was missing is
  retried when the subject is touched.

A solution is ONE proposal: the camera (created when the directive names one that does not exist), keys of
``transform.position``, ``transform.rotation``, ``camera.focus_distance_m`` on every keyed frame,
``camera.focal_length_mm`` (every frame where it changes, else the range's ends), ``camera.f_stop``; removal of the
agent's own earlier keys in the old and new range that this solution does not set; and a ``directive.update`` with
``report`` = ``{status: done|partial, params_hash, solution, frames, measured {…}, problems, pushed, pins, notes}``.
People's keys are never touched: their frames are pins. A directive that cannot be solved (unknown subject or joint,
empty range, impossible size for the lens range, …) gets only the ``directive.update`` with ``{status: "failed",
reason}`` and the camera keeps what it had.
"""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np

from agents.base import Proposal, register
from core import edit
from core import ops as O
from core.ops import op_entity_ids
from core.world import World
from events.envelope import MAX_OPS, Event

from . import measure as M
from .scene import build as build_obstacles
from .solve import KEY_BUDGET, MANAGED, Pins, Solution, dof_at, key_frames, requested_sizes, reveal_mask, solve
from .spec import ShotError, ShotSpec, params_hash, parse

__all__ = ["ShotAgent", "AGENT", "solve_directive"]

AGENT = "shot"
ACTOR = f"agent:{AGENT}"
_SOLIDS = ("prop", "environment", "character")


class ShotAgent:
    name = AGENT
    generative = True

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        if event.actor.kind == "agent" and event.actor.id == self.name:
            return []
        changed: set[str] = set()
        touched: set[str] = set()
        structural = False
        for op in event.ops:
            if isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate)):
                changed.add(op.id)
            elif isinstance(op, (O.RelationAdd, O.RelationRemove, O.ShotConfigure)):
                structural = True
                touched.update(op_entity_ids(op))
            else:
                touched.update(op_entity_ids(op))
        out = []
        for did in sorted(world.directives):
            d = world.directives[did]
            if d.agent != self.name:
                continue
            report = d.params.get("report") if isinstance(d.params.get("report"), dict) else None
            if did in changed:
                if report is not None and report.get("params_hash") == params_hash(d.params):
                    continue
                out.append(solve_directive(world, did, d.params, "directive changed"))
                continue
            if report is None or not (touched or structural):
                continue
            cam, subj = d.params.get("camera"), d.params.get("subject")
            if report.get("status") == "failed":
                if subj in touched or cam in touched:
                    out.append(solve_directive(world, did, d.params, f"{subj} changed"))
                continue
            solid = any(world.entities[e].kind in _SOLIDS for e in touched if e in world.entities)
            removed = any(e not in world.entities for e in touched)
            if cam in touched or subj in touched:
                why = "camera keys changed" if cam in touched else f"subject {subj} changed"
                prop = solve_directive(world, did, d.params, why)
            elif solid or removed or structural:
                prop = _repair_if_broken(world, did, d.params)
            else:
                continue
            if prop is not None:
                out.append(prop)
        return [p for p in out if p is not None]


def _repair_if_broken(world: World, did: str, params: dict) -> Proposal | None:
    try:
        spec = parse({k: v for k, v in params.items() if k != "report"})
    except ShotError:
        return None
    if spec.camera not in world.entities or spec.subject not in world.entities:
        return solve_directive(world, did, params, "camera or subject removed")
    frames = key_frames(spec.start, spec.end, KEY_BUDGET)
    try:
        m = M.measure(world, spec.camera, spec.subject, frames, requested_sizes(spec, frames), spec.joint)
    except (KeyError, ValueError):
        return solve_directive(world, did, params, "scene changed")
    problems = M.failures(m, skip=reveal_mask(spec, frames))
    if not problems:
        return None
    return solve_directive(world, did, params, "framing broken: " + "; ".join(problems))


def _failed(did: str, params: dict, reason: str) -> Proposal:
    new = {k: v for k, v in params.items() if k != "report"}
    new["report"] = {"status": "failed", "reason": reason, "params_hash": params_hash(params)}
    return Proposal([O.DirectiveUpdate(id=did, params=new)], f"shot {did} failed: {reason}")


def _check_camera_free(world: World, did: str, spec: ShotSpec) -> None:
    """Two shot directives may not drive one camera over overlapping frames, end frames included (both would key
    it): a cut on one camera is one shot ending on a frame and the next starting on a later one."""
    for other in sorted(world.directives):
        d = world.directives[other]
        rep = d.params.get("report") if isinstance(d.params.get("report"), dict) else {}
        if other == did or d.agent != AGENT or d.params.get("camera") != spec.camera \
                or rep.get("status") not in ("done", "partial") or not isinstance(rep.get("range"), list):
            continue
        a, b = rep["range"]
        if max(a, spec.start) <= min(b, spec.end):
            raise ShotError(f"camera {spec.camera!r} is already driven by shot {other!r} over frames {a:g}–{b:g}; "
                            "give this shot another camera or a range that does not overlap (a cut starts on "
                            "the frame after)")


def _pins(world: World, spec: ShotSpec) -> Pins:
    pins = Pins()
    cam = world.entities.get(spec.camera)
    if cam is None:
        return pins
    for path, target in (("transform.position", pins.position), ("transform.rotation", pins.rotation),
                         ("camera.focal_length_mm", pins.focal)):
        for k in cam.tracks.get(path, []):
            if k.by != ACTOR and spec.start - 1e-9 <= k.frame <= spec.end + 1e-9:
                target[float(k.frame)] = k.value
    return pins


def _r(x, nd=6):
    return [round(float(v), nd) + 0.0 for v in x] if np.ndim(x) else round(float(x), nd) + 0.0


def _finite(x, nd: int):
    return _r(x, nd) if np.isfinite(x) else None


def _key_ops(world: World, spec: ShotSpec, sol: Solution, pins: Pins, old_range) -> list:
    ops: list = []
    cam = world.entities.get(spec.camera)
    if cam is None:
        ops.append(O.EntityCreate(id=spec.camera, kind="camera", name=spec.camera))
    frames = [float(f) for f in sol.frames]
    focal_varies = float(np.ptp(sol.focal_mm)) > 1e-6
    ends = [frames[0], frames[-1]]
    values = {
        "transform.position": {f: _r(p) for f, p in zip(frames, sol.position)},
        "transform.rotation": {f: _r(q, 9) for f, q in zip(frames, sol.rotation)},
        "camera.focus_distance_m": {f: max(_r(z), 0.0) for f, z in zip(frames, sol.focus_m)},
        "camera.focal_length_mm": {f: _r(v) for f, v in zip(frames, sol.focal_mm)
                                   if focal_varies or f in ends},
        "camera.f_stop": {f: float(sol.f_stop) for f in ends},
    }
    pinned = {"transform.position": pins.position, "transform.rotation": pins.rotation,
              "camera.focal_length_mm": pins.focal}
    lo = min(spec.start, old_range[0]) if old_range else spec.start
    hi = max(spec.end, old_range[1]) if old_range else spec.end
    for path in MANAGED:
        want = values[path]
        if cam is not None:
            for k in cam.tracks.get(path, []):
                if k.by == ACTOR and lo - 1e-9 <= k.frame <= hi + 1e-9 and k.frame not in want:
                    ops.append(O.KeyRemove(id=spec.camera, path=path, frame=k.frame))
        for f, v in want.items():
            if any(abs(f - pf) < 1e-6 for pf in pinned.get(path, {})):
                continue
            ops.append(O.KeySet(id=spec.camera, path=path, frame=f, value=v, interp="auto"))
    return ops


def _digest(ops: list) -> str:
    body = [(type(o).__name__, getattr(o, "path", ""), getattr(o, "frame", 0.0), getattr(o, "value", None))
            for o in ops]
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


def solve_directive(world: World, did: str, params: dict, why: str) -> Proposal | None:
    """Solve shot directive ``did`` (pure). Returns one proposal (keys + report, or only a failed report), or
    None when the solution equals the one already in place."""
    clean = {k: v for k, v in params.items() if k != "report"}
    old = params.get("report") if isinstance(params.get("report"), dict) else {}
    try:
        spec = parse(clean)
        _check_camera_free(world, did, spec)
        pins = _pins(world, spec)
        frames = key_frames(spec.start, spec.end, KEY_BUDGET)
        obstacles = build_obstacles(world, frames, spec.subject) if spec.subject in world.entities else None
        sol = solve(world, spec, pins, frames, obstacles)
    except ShotError as e:
        if old.get("status") == "failed" and old.get("reason") == str(e) \
                and old.get("params_hash") == params_hash(params):
            return None
        return _failed(did, params, str(e))
    old_range = old.get("range") if isinstance(old.get("range"), list) else None
    ops = _key_ops(world, spec, sol, pins, old_range)
    digest = _digest(ops)
    if old.get("solution") == digest and old.get("params_hash") == params_hash(params):
        return None
    if len(ops) + 1 > MAX_OPS:
        return _failed(did, params, f"the shot needs {len(ops) + 1} ops; one event holds at most {MAX_OPS}")
    trial = copy.deepcopy(world)
    try:
        edit.apply(trial, ops, ACTOR)
    except edit.OpError as e:
        return _failed(did, params, f"the solved keys do not apply: {e}")
    m = M.measure(trial, spec.camera, spec.subject, sol.frames, sol.sizes, spec.joint, obstacles)
    problems = M.failures(m, skip=sol.reveal)
    sensor = trial.entities[spec.camera].props.get("camera.sensor_mm", [36.0, 24.0])
    near, far = dof_at(sol, sensor)
    report = {
        "status": "partial" if problems else "done",
        "params_hash": params_hash(params),
        "solution": digest,
        "why": why,
        "range": [spec.start, spec.end],
        "frames": len(sol.frames),
        "move": spec.move,
        "size": spec.size,
        "size_fraction": spec.fraction,
        "focal_length_mm": [_r(float(sol.focal_mm.min()), 3), _r(float(sol.focal_mm.max()), 3)],
        "depth_of_field_m": [_r(near, 3), None if not np.isfinite(far) else _r(far, 3)],
        "measured": {   # None where a figure cannot be measured (e.g. the subject behind the camera)
            "size_error_max": _finite(m["size_error_max"], 4),
            "box_height_fraction": [_finite(min(b[1] for b in m["box_fraction"]), 4),
                                    _finite(max(b[1] for b in m["box_fraction"]), 4)],
            "in_frame": all(m["in_frame"]),
            "occluded_frames": sum(1 for x in m["occluded"] if x),
            "inside_frames": sum(1 for x in m["inside"] if x),
            "jerk_max_mps3": _finite(m["jerk_max_mps3"], 3),
            "angular_jerk_max_rps3": _finite(m["angular_jerk_max_rps3"], 3),
        },
        "problems": problems,
        "reveal_frames": int(sol.reveal.sum()) if sol.reveal is not None else 0,
        "pushed": len(sol.pushed),
        "pins": sorted(set(pins.frames())),
        "notes": sol.notes,
    }
    clean["report"] = report
    ops.append(O.DirectiveUpdate(id=did, params=clean))
    state = "solved" if not problems else "solved with problems"
    return Proposal(ops, f"shot {did} {state} ({why}): {spec.move} {spec.size} of {spec.subject}, "
                         f"{len(sol.frames)} keyed frames")


@register(AGENT)
def _make() -> ShotAgent:
    return ShotAgent()
