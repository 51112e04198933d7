"""What a camera frames: an entity's world box and centre at sampled frames (SPEC §3, §7.2).

- A character: its box (:func:`entity_boxes`) is the exact box of its white-box body (:mod:`core.bodies`, the
  volumes the renderer draws). Where ``look_at`` aims when no joint is named is :func:`body_centre`: the centre of
  the box around its joints' global positions, widened by :data:`BODY_RADIUS_M` sideways and :data:`BODY_SOLE_M`
  below (about the hips of a standing biped) — computed from joints alone, so that the studio's sampler gives the
  same aim without the volume tables. A character without a skeleton aims at half of a 1.75 m body.
- A prop or environment: the world-axis box around its geometry's bounding box (pivot at the bottom centre,
  SPEC §4); an asset of unknown size is a 1 m cube. Cameras and lights are points.

:func:`body_centre` is the single place that decides a body's centre from its joints.
"""

from __future__ import annotations

import numpy as np

from . import bodies, lens

__all__ = ["BODY_RADIUS_M", "BODY_SOLE_M", "DEFAULT_BODY", "body_box", "body_centre", "geometry_bounds",
           "entity_boxes"]

BODY_RADIUS_M = 0.12
BODY_SOLE_M = 0.03
DEFAULT_BODY = (0.25, 1.75)  # radius, height of a character without a skeleton


def body_box(joint_positions) -> tuple[np.ndarray, np.ndarray]:
    """joint_positions (..., J, 3) → (lo, hi) (..., 3): the white-box body's axis-aligned box."""
    p = np.asarray(joint_positions, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 3 or p.shape[-2] == 0:
        raise ValueError(f"joint positions must have shape (..., J>0, 3), got {p.shape}")
    pad_lo = np.array([BODY_RADIUS_M, BODY_SOLE_M, BODY_RADIUS_M])
    pad_hi = np.array([BODY_RADIUS_M, 0.0, BODY_RADIUS_M])
    return p.min(axis=-2) - pad_lo, p.max(axis=-2) + pad_hi


def body_centre(joint_positions) -> np.ndarray:
    """The centre (..., 3) of a body given its joints' world positions (..., J, 3)."""
    lo, hi = body_box(joint_positions)
    return (lo + hi) / 2.0


def geometry_bounds(geometry) -> tuple[np.ndarray, np.ndarray] | None:
    """Local bounding box (lo, hi) (3,) of a ``geometry`` value (pivot at the bottom centre), or None."""
    if not isinstance(geometry, dict) or not geometry:
        return None
    if "asset" in geometry:
        w = h = d = 1.0
    else:
        prim = geometry.get("primitive")
        if prim == "box":
            w, h, d = (float(x) for x in geometry["size"])
        elif prim == "plane":
            (w, d), h = (float(x) for x in geometry["size"]), 0.0
        elif prim == "sphere":
            w = h = d = 2.0 * float(geometry["radius"])
        elif prim in ("cylinder", "capsule"):
            r, hh = float(geometry["radius"]), float(geometry["height"])
            w = d = 2.0 * r
            h = max(hh, 2.0 * r) if prim == "capsule" else hh
        else:
            return None
    return np.array([-w / 2, 0.0, -d / 2]), np.array([w / 2, h, d / 2])


def _transformed_box(matrices: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    corners = lens.box_corners(lo, hi)                                          # (8, 3)
    pts = np.einsum("fij,kj->fki", matrices[:, :3, :3], corners) + matrices[:, None, :3, 3]
    return pts.min(axis=1), pts.max(axis=1)


def entity_boxes(world, s, eid: str) -> tuple[np.ndarray, np.ndarray]:
    """World boxes (lo, hi) (F, 3) of entity ``eid`` at the frames of sample ``s`` (:class:`core.sampling.
    WorldSample`). Raises KeyError for an entity that is not in the sample."""
    i = s.ids.index(eid)
    m = s.matrices[:, i]
    e = world.entities[eid]
    if e.kind == "character":  # the exact box of its white-box body (core.bodies), as the renderer draws it
        js = s.joints.get(eid)
        posed = js is not None and len(js.names)
        body = bodies.body_of(e.props.get("skeleton") if posed else None)
        box = bodies.body_bounds(body, js.matrices if posed else None, m)
        return box[:, 0], box[:, 1]
    b = geometry_bounds(e.props.get("geometry"))
    if b is None:
        p = m[:, :3, 3]
        return p.copy(), p.copy()
    return _transformed_box(m, *b)
