"""White-box bodies (SPEC §7.2): the volumes a character renders, collides and exports as — one definition,
placed and measured.

The volumes, their shapes and which skeleton gets which are :mod:`core.body_volumes` (re-exported here); the
per-template tables are :mod:`core.body_specs`. :func:`body_of` wraps a skeleton's volumes with the arrays that
place them (cached per skeleton); :func:`place` gives their world frames at sampled joint matrices, vectorised over
leading dimensions (frames, characters); :func:`body_bounds`, :func:`body_centre` and :func:`body_radius` measure
the placed body exactly (support functions of the analytic shapes, not of a mesh); :func:`body_points` gives
points whose hulls hold it (collision footprints).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import msgspec
import numpy as np

from . import transform
from .body_specs import GROUPS
from .body_volumes import (NO_SKELETON, SHAPES, Volume, body_volumes, capsule_segment, default_radius,
                           rest_matrices, template_volumes, unit_scale, volume_json)
from .templates import template_joints

__all__ = [
    "Volume",
    "Body",
    "SHAPES",
    "GROUPS",
    "FOOTPRINT_GROUPS",
    "NO_SKELETON",
    "default_radius",
    "body_volumes",
    "template_volumes",
    "body_of",
    "unit_scale",
    "place",
    "body_bounds",
    "body_centre",
    "body_radius",
    "body_points",
    "volume_json",
    "template_json",
]

FOOTPRINT_GROUPS = ("head", "trunk", "leg", "tail", "fin")
"""Groups that stay over a moving body's footprint; arms and wings swing out of it (and a rest T-pose spreads
them), so :func:`body_radius` leaves them out unless asked. A custom skeleton's capsules are all ``trunk``."""


@dataclass(frozen=True)
class Body:
    """A skeleton's volumes with what places them.

    volumes : (V,) Volume; joint_names : (J,) the skeleton's joints (parents first); joint_index : (V,) int, the
    carrying joint of each volume (−1: the entity); local : (V, 4, 4) ``T(center) · R(rotation)``; scale : (V, 3)
    :func:`unit_scale`; shape : (V,) int index into :data:`SHAPES`; seg : (V,) a capsule's unit half length
    between its sphere centres (0 for other shapes); group : (V,) str; rest : (J, 4, 4) the rest global joint
    matrices (entity frame); points : (N, 3) the :func:`body_points` in their volumes' frames, point_volume :
    (N,) int the volume of each.
    """

    volumes: tuple[Volume, ...]
    joint_names: tuple[str, ...]
    joint_index: np.ndarray
    local: np.ndarray
    scale: np.ndarray
    shape: np.ndarray
    seg: np.ndarray
    group: tuple[str, ...]
    rest: np.ndarray
    points: np.ndarray
    point_volume: np.ndarray

    def to_json(self) -> list[dict]:
        return [volume_json(v) for v in self.volumes]


def _key(joints) -> str:
    return msgspec.json.encode(joints or []).decode()


@functools.lru_cache(maxsize=256)
def _body_cached(key: str) -> Body:
    joints = msgspec.json.decode(key) or None
    volumes = body_volumes(joints)
    if joints:
        rig, rest = rest_matrices(joints)
        names = rig.names
    else:
        names, rest = (), np.zeros((0, 4, 4))
    where = {n: i for i, n in enumerate(names)}
    index = np.array([-1 if v.joint is None else where[v.joint] for v in volumes], dtype=np.int64)
    local = transform.compose(np.array([v.center for v in volumes]), np.array([v.rotation for v in volumes]))
    scale = np.array([unit_scale(v) for v in volumes], dtype=np.float64)
    pts = [_unit_points(SHAPES.index(v.shape), capsule_segment(v)) * scale[k] for k, v in enumerate(volumes)]
    body = Body(volumes=volumes, joint_names=tuple(names), joint_index=index, local=local, scale=scale,
                shape=np.array([SHAPES.index(v.shape) for v in volumes], dtype=np.int64),
                seg=np.array([capsule_segment(v) for v in volumes], dtype=np.float64),
                group=tuple(v.group for v in volumes), rest=rest, points=np.concatenate(pts),
                point_volume=np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(pts)]))
    for a in (body.joint_index, body.local, body.scale, body.shape, body.seg, body.rest, body.points,
              body.point_volume):
        a.setflags(write=False)
    return body


def body_of(joints: list[dict] | None) -> Body:
    """The :class:`Body` of a normalised skeleton (None: a character without one); cached per skeleton."""
    return _body_cached(_key(joints))


def place(body: Body, joint_matrices=None, entity_matrix=None) -> np.ndarray:
    """World frames (..., V, 4, 4) of the body's volumes (without :func:`unit_scale`).

    joint_matrices : (..., J, 4, 4) sampled global joint matrices (``WorldSample.joints[id].matrices``), or None for
    the rest pose (then times ``entity_matrix`` when given). entity_matrix : (..., 4, 4), the base of volumes
    carried by the entity itself (a character without a skeleton); identity when None.
    """
    nj = len(body.joint_names)
    if joint_matrices is None:
        jm = body.rest if entity_matrix is None else np.asarray(entity_matrix, dtype=np.float64)[..., None, :, :] \
            @ body.rest
    else:
        jm = np.asarray(joint_matrices, dtype=np.float64)
        if jm.ndim < 3 or jm.shape[-3:] != (nj, 4, 4):
            raise ValueError(f"joint_matrices must have shape (..., {nj}, 4, 4), got {jm.shape}")
    lead = jm.shape[:-3]
    if entity_matrix is not None:
        em = np.asarray(entity_matrix, dtype=np.float64)
        if em.shape[-2:] != (4, 4):
            raise ValueError(f"entity_matrix must have shape (..., 4, 4), got {em.shape}")
        lead = np.broadcast_shapes(lead, em.shape[:-2])
    else:
        em = np.eye(4)
    em = np.broadcast_to(em, lead + (4, 4))
    base = np.empty(lead + (len(body.volumes), 4, 4))
    on_joint = body.joint_index >= 0
    if on_joint.any():
        base[..., on_joint, :, :] = np.broadcast_to(jm, lead + jm.shape[-3:])[..., body.joint_index[on_joint], :, :]
    if (~on_joint).any():
        base[..., ~on_joint, :, :] = em[..., None, :, :]
    return base @ body.local


def _support(body: Body, frames: np.ndarray, dirs: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Support values (..., D) of the union of the kept volumes placed at ``frames`` (..., V, 4, 4), along unit
    directions ``dirs`` (D, 3): max over the body of p · u, exactly, for each u."""
    a = frames[..., :3, :3] * body.scale[:, None, :]                       # (..., V, 3, 3) unit shape → world
    c = frames[..., :3, 3]                                                 # (..., V, 3)
    au = np.einsum("...vij,di->...vdj", a, dirs)                           # (..., V, D, 3) = Aᵀu per volume
    ell = np.linalg.norm(au, axis=-1)
    box = np.abs(au).sum(axis=-1)
    # a capsule: the segment ±L along the unit shape's Y plus a unit sphere, L = half_y / cap − 1 (scaled by cap)
    cap = ell + np.abs(au[..., 1]) * body.seg[:, None]
    h = np.where((body.shape == 0)[:, None], cap, np.where((body.shape == 2)[:, None], box, ell))
    s = np.einsum("...vi,di->...vd", c, dirs) + h
    s = np.where(keep[:, None], s, -np.inf)
    return s.max(axis=-2)


def _keep(body: Body, groups) -> np.ndarray:
    if groups is None:
        return np.ones(len(body.volumes), dtype=bool)
    keep = np.array([g in groups for g in body.group], dtype=bool)
    return keep if keep.any() else np.ones(len(body.volumes), dtype=bool)


_AXES6 = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])


def body_bounds(body: Body, joint_matrices=None, entity_matrix=None, groups=None) -> np.ndarray:
    """Exact axis-aligned bounds (..., 2, 3) ``[min, max]`` of the placed body (arguments as :func:`place`;
    ``groups`` keeps only volumes of those groups, all when None)."""
    s = _support(body, place(body, joint_matrices, entity_matrix), _AXES6, _keep(body, groups))
    return np.stack([-s[..., 3:], s[..., :3]], axis=-2)


def body_centre(body: Body, joint_matrices=None, entity_matrix=None, groups=None) -> np.ndarray:
    """Centre (..., 3) of :func:`body_bounds` — where a camera aims at a character."""
    b = body_bounds(body, joint_matrices, entity_matrix, groups)
    return (b[..., 0, :] + b[..., 1, :]) / 2


_RING = 64
_HORIZONTAL = np.stack([np.cos(np.arange(_RING) * 2 * np.pi / _RING), np.zeros(_RING),
                        np.sin(np.arange(_RING) * 2 * np.pi / _RING)], axis=1)


def body_radius(body: Body, joint_matrices=None, entity_matrix=None, groups=FOOTPRINT_GROUPS,
                about=None) -> np.ndarray:
    """Horizontal radius (...) of the placed body about a vertical line: the largest horizontal distance of its
    surface from that line (to 0.1 %: 64 directions, scaled by 1/cos(π/64)), over the volumes of ``groups`` — by
    default without arms and wings (see :data:`FOOTPRINT_GROUPS`), the radius a path planner grows obstacles by;
    ``groups=None`` measures every volume. The line passes through ``about`` (..., 3) (e.g. the entity's origin,
    ``entity_matrix[..., :3, 3]``), by default through the body's :func:`body_centre` (of the same groups)."""
    keep = _keep(body, groups)
    frames = place(body, joint_matrices, entity_matrix)
    s = _support(body, frames, np.concatenate([_AXES6, _HORIZONTAL]), keep)
    centre = (s[..., :3] - s[..., 3:6]) / 2 if about is None else np.asarray(about, dtype=np.float64)
    r = s[..., 6:] - centre @ _HORIZONTAL.T
    return r.max(axis=-1) / np.cos(np.pi / _RING)


_LON = 12
_OUT = 1.0 / np.cos(np.pi / _LON)


def _unit_points(shape: int, seg: float) -> np.ndarray:
    """Points (k, 3) around the unit shape: the cube's corners; or 38 sphere points (rings of 12 at latitudes −45°,
    0°, 45° and the poles) pushed out by 1/cos(15°), so that their hull errs outwards (by 3.5 % at most) rather
    than cutting into the solid; a capsule's upper and lower halves are moved ±seg along Y."""
    if shape == 2:
        return np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    lat = np.radians([-45.0, 0.0, 45.0])
    lon = np.arange(_LON) * 2 * np.pi / _LON
    ring = np.stack([np.cos(lat)[:, None] * np.cos(lon), np.repeat(np.sin(lat)[:, None], _LON, 1),
                     np.cos(lat)[:, None] * np.sin(lon)], axis=-1).reshape(-1, 3)
    pts = np.concatenate([ring, [[0, 1.0, 0], [0, -1.0, 0]]]) * _OUT
    if shape == 0:
        up = pts[pts[:, 1] >= 0] + [0, seg, 0]
        down = pts[pts[:, 1] <= 0] - [0, seg, 0]
        pts = np.concatenate([up, down])
    return pts


def body_points(body: Body, joint_matrices=None, entity_matrix=None) -> np.ndarray:
    """Points around the placed body (..., N, 3) whose convex hulls contain its volumes (erring outwards by
    3.5 % at most): box corners, 38 points around each ellipsoid and capsule end — for collision footprints."""
    frames = place(body, joint_matrices, entity_matrix)
    f = frames[..., body.point_volume, :, :]                                             # (..., N, 4, 4)
    return np.einsum("...nij,nj->...ni", f[..., :3, :3], body.points) + f[..., :3, 3]


def template_json(name: str, scale: float = 1.0) -> dict:
    """``{joints, volumes, bounds}`` of a template (bounds: ``[[min x, y, z], [max x, y, z]]`` at rest)."""
    joints = template_joints(name, scale)
    body = body_of(joints)
    return {"joints": joints, "volumes": body.to_json(),
            "bounds": [[float(x) + 0.0 for x in row] for row in body_bounds(body)]}
