"""The path agent's keys: a timed route (its legs) becomes ``transform.position`` keys (bezier, the route's velocity as
tangents) and ``transform.rotation`` keys (the heading, linear), then the keyed track is evaluated as the world will
sample it and checked against every obstacle before anything is proposed.

Keys fall on whole frames (every n-th for a long walk, at most MAX_KEYS per track), on the start, on every leg
boundary and on the arrival. The agent's earlier keys on the two tracks go (one ``track.clear`` when it owns the
whole track); people's keys stay, and no key is written at their frames.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from core import edit, tracks
from core import ops as O
from core.world import World

from . import params as P
from . import timing as T

__all__ = ["key_ops", "verify", "MAX_KEYS", "SAMPLES_PER_FRAME", "GAP_REPORTED_M", "dense_frames", "yaw_quat"]

ACTOR = "agent:path"
POSITION, ROTATION = "transform.position", "transform.rotation"
MAX_KEYS = 240
"""Keys per track at most (a long walk is keyed every few frames; the bezier tangents keep it on the curve)."""
SAMPLES_PER_FRAME = 4
GAP_REPORTED_M = 2.0
"""``report.min_clearance_m`` looks this far beyond the clearance (null when nothing is that near)."""


def _r(x: float, n: int = 6) -> float:
    return float(round(float(x), n)) + 0.0


def dense_frames(start: float, arrival: float) -> np.ndarray:
    """SAMPLES_PER_FRAME frames per frame from ``start`` to ``arrival``, both included."""
    n = max(1, int(math.ceil((arrival - start) * SAMPLES_PER_FRAME)))
    return np.linspace(start, arrival, n + 1)


def yaw_quat(yaw: float) -> list[float]:
    return [0.0, math.sin(yaw / 2) + 0.0, 0.0, math.cos(yaw / 2)]


def _key_frames(start: float, arrival: float, bounds: list[float]) -> np.ndarray:
    """Whole frames strictly inside the walk (every n-th for a long one, ≤ MAX_KEYS in all), plus the start, the
    arrival and the legs' boundaries."""
    whole = np.arange(math.floor(start) + 1, math.ceil(arrival))
    whole = whole[(whole > start + 1e-6) & (whole < arrival - 1e-6)].astype(np.float64)
    stride = max(1, int(math.ceil(len(whole) / (MAX_KEYS - 2 - len(bounds)))))
    picked = whole[stride - 1::stride] if stride > 1 else whole
    return np.unique(np.concatenate([[start], picked, bounds, [arrival]]))


def _sample_legs(legs: list, frames: np.ndarray, yaw0: float, fps: float):
    """Points (F, 2), velocities (F, 2) m/s and headings (F,) at ``frames``, each from the leg (``agent.Leg``) it
    falls in."""
    xz, vel, yaw = np.zeros((len(frames), 2)), np.zeros((len(frames), 2)), np.zeros(len(frames))
    for n, leg in enumerate(legs):
        on = (frames >= leg.t0 - 1e-9) & ((frames < leg.t1 - 1e-9) if n < len(legs) - 1 else (frames <= leg.t1 + 1e-9))
        if not on.any():
            continue
        times = (frames[on] - leg.t0) / fps - leg.wait          # before 0: turning on the spot
        if leg.profile is None:
            xz[on], vel[on], yaw[on] = leg.dense[0], 0.0, yaw0
            continue
        xz[on], vel[on] = T.positions_at(leg.profile, leg.dense, times)
        yaw[on] = T.headings(leg.profile, leg.dense, times, yaw0, fps)
        yaw0 = float(T.headings(leg.profile, leg.dense, np.concatenate([[-leg.wait], times, [leg.profile.duration]]),
                                yaw0, fps)[-1])
    return xz, vel, yaw


def key_ops(world, eid, spec, legs, scene, yaw0, y0, follow, fps, arrival):
    frames = _key_frames(spec.start, arrival, [leg.t1 for leg in legs[:-1]])
    xz, vel, yaws = _sample_legs(legs, frames, yaw0, fps)
    ys = scene.ground(xz, default=0.0) if follow else np.full(len(xz), y0)
    e = world.entities[eid]
    ops: list = []
    pins: list[dict] = []
    for path in (POSITION, ROTATION):
        keys = e.tracks.get(path, [])
        theirs = {round(k.frame, 6) for k in keys if k.by != ACTOR}
        pins += [{"path": path, "frame": k.frame, "by": k.by} for k in keys
                 if k.by != ACTOR and spec.start - 1e-6 <= k.frame <= arrival + 1e-6]
        writing = {round(float(f), 6) for f in frames} - theirs
        if keys and not theirs:
            ops.append(O.TrackClear(id=eid, path=path))
        else:
            ops += [O.KeyRemove(id=eid, path=path, frame=k.frame) for k in keys
                    if k.by == ACTOR and round(k.frame, 6) not in writing]
        for i, f in enumerate(frames):
            if round(float(f), 6) in theirs:
                continue
            if path == POSITION:
                tan = [_r(vel[i, 0] / fps, 9), 0.0, _r(vel[i, 1] / fps, 9)]
                ops.append(O.KeySet(id=eid, path=path, frame=float(f), value=[_r(xz[i, 0]), _r(ys[i]), _r(xz[i, 1])],
                                    interp="bezier", in_tangent=tan, out_tangent=tan))
            else:
                ops.append(O.KeySet(id=eid, path=path, frame=float(f), value=yaw_quat(float(yaws[i])),
                                    interp="linear"))
    return ops, len(frames), pins


def verify(world, ops, eid, scene, start, arrival, radius, need) -> float:
    """The keyed route, evaluated as the world will sample it, keeps ``need`` from every obstacle and stays inside
    the walkable areas; returns the smallest gap between the body and an obstacle."""
    alone = World(world.project, world.shot, fps=world.fps, frame_start=world.frame_start,
                  frame_end=world.frame_end, entities={eid: copy.deepcopy(world.entities[eid])})
    edit.apply(alone, [op for op in ops if not isinstance(op, O.DirectiveUpdate)], ACTOR)
    w = alone
    frames = dense_frames(start, arrival)
    pos = tracks.value_at(w.entities[eid], POSITION, frames)[:, [0, 2]]
    d, which = scene.obstacle_distance(pos, cut=need + GAP_REPORTED_M, ids=True)
    i = int(np.argmin(d))
    if d[i] < need - 1e-6:
        raise P.PathError(f"internal: the keyed route passes {d[i] - radius:.3f} m from "
                          f"{scene.obstacles[int(which[i])].id} at frame {frames[i]:.2f}")
    if np.min(scene.area_depth(pos)) < radius - 1e-6:
        raise P.PathError("internal: the keyed route leaves the walkable area")
    return float(d[i] - radius) if np.isfinite(d[i]) else float("inf")


