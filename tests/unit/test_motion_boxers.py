"""Two boxers facing each other: they keep their distance and their timing, and their bodies (approximated by
capsules along the bones) never interpenetrate; the legs stay planted through the punches."""

from __future__ import annotations

import numpy as np

from core import ops as O
from core import quat
from core.sampling import sample

from .motion_helpers import USER, Shot, skating

# capsule radius (m) of the bone ending at each joint (a 1.75 m person); face points carry no volume
RADIUS = {"spine": 0.12, "chest": 0.13, "neck": 0.12, "head": 0.06, "head_top": 0.10, "clavicle": 0.05,
          "shoulder": 0.05, "elbow": 0.05, "wrist": 0.045, "hand": 0.04, "hip": 0.08, "knee": 0.07, "ankle": 0.055,
          "toe": 0.04}


def _radius(name: str) -> float | None:
    base = name[2:] if name[:2] in ("l_", "r_") else name
    return RADIUS.get(base)


def _segment_distance(p0, p1, q0, q1) -> np.ndarray:
    """Distances between segments p0–p1 (N, 3) and q0–q1 (M, 3), all pairs → (N, M) (sampled finely: exact
    enough for a 1 cm margin)."""
    t = np.linspace(0.0, 1.0, 9)
    a = p0[:, None] + (p1 - p0)[:, None] * t[None, :, None]          # (N, 9, 3)
    b = q0[:, None] + (q1 - q0)[:, None] * t[None, :, None]          # (M, 9, 3)
    d = np.linalg.norm(a[:, None, :, None] - b[None, :, None, :], axis=-1)
    return d.min(axis=(2, 3))


def _capsules(js, f):
    names, parents = js.names, js.parents
    seg, rad = [], []
    for j, name in enumerate(names):
        r = _radius(name)
        if r is None or parents[j] < 0:
            continue
        seg.append((js.matrices[f, parents[j], :3, 3], js.matrices[f, j, :3, 3]))
        rad.append(r)
    p = np.array(seg)
    return p[:, 0], p[:, 1], np.array(rad)


def test_two_boxers_keep_distance_and_timing_and_never_interpenetrate():
    shot = Shot()
    gap = 1.2
    for eid, z, yaw in (("red", 0.0, 0.0), ("blue", gap, 180.0)):
        shot.apply(USER, [O.EntityCreate(id=eid, kind="character", props={
            "transform.position": [0.0, 0.0, z],
            "transform.rotation": [float(x) for x in quat.from_euler_deg([0.0, yaw, 0.0])]}),
            O.SkeletonSet(id=eid, template="biped")])
    clips = [{"clip": "idle", "start": 0, "end": 12},
             {"clip": "punch", "start": 12, "end": 60, "params": {"count": 2}},
             {"clip": "idle", "start": 60, "end": 72}]
    for eid in ("red", "blue"):
        shot.person([O.DirectiveAdd(id=f"box-{eid}", agent="motion", params={"entity": eid, "clips": clips})])
        assert shot.world.directives[f"box-{eid}"].params["report"]["status"] == "done"
    frames = np.arange(0, 73, dtype=float)
    s = sample(shot.world, frames)
    red, blue = s.joints["red"], s.joints["blue"]
    hips = red.names.index("hips")
    dist = np.linalg.norm(red.matrices[:, hips, [0, 2], 3] - blue.matrices[:, hips, [0, 2], 3], axis=-1)
    assert np.all(np.abs(dist - gap) < 0.05)                       # distance kept
    # timing: each right fist is furthest forward at the same frames, the two punches of the clip
    peaks = []
    for js, fwd in ((red, 1.0), (blue, -1.0)):
        z = js.matrices[:, js.names.index("r_hand"), 2, 3] * fwd
        local = [f for f in range(1, len(z) - 1) if z[f] >= z[f - 1] and z[f] > z[f + 1] and z[f] > z.max() - 0.1]
        peaks.append(local)
    expected = [12 + 48 * (0.15 + 0.7 * (k + 0.5) / 2) for k in range(2)]
    assert peaks[0] == peaks[1] and len(peaks[0]) == 2
    assert all(abs(p - e) <= 1.0 for p, e in zip(peaks[0], expected))
    reach = max(red.matrices[:, red.names.index("r_hand"), 2, 3])
    assert reach > 0.55                                             # a real punch, not a twitch
    # bodies: capsule against capsule at every frame
    closest = np.inf
    for f in range(len(frames)):
        a0, a1, ra = _capsules(red, f)
        b0, b1, rb = _capsules(blue, f)
        clearance = _segment_distance(a0, a1, b0, b1) - ra[:, None] - rb[None, :]
        closest = min(closest, float(clearance.min()))
    assert closest > 0.0, f"the boxers' bodies overlap by {-closest:.3f} m"
    for eid in ("red", "blue"):
        worst, contacts = skating(shot.world, eid, frames)
        assert contacts > 100 and worst < 0.01                     # feet planted throughout (key reduction: < 1 cm/s)
