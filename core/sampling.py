"""Sampling a world at frames (SPEC §3): world matrices, joint globals, cameras and lights, vectorised over
frames and entities.

How an entity's world matrix is made:

- local = ``T(transform.position) · R(transform.rotation) · S(transform.scale)`` — tracks win over static values,
  then the registry defaults; evaluated for all entities and frames at once.
- world = ``parent_world · local``; or, when the entity is the subject of an ``attached_to`` relation (which then
  takes precedence over its parent), ``anchor · T(offset) · local`` where the anchor is the object's world matrix
  (or that joint's global matrix) with scale removed — a held cup follows the hand. A relation with a frame range
  (``start``, ``end``) holds on frames [start, end) only: a cup picked up at ``start`` and put down at ``end``.
- ``look_at`` then replaces the world rotation, keeping the world position and scale: cameras, lights, props and
  environments turn their −Z towards the target's world position (or the target joint's; a character without a
  joint named is aimed at the centre of its white-box body, :func:`core.subject.body_centre`, not at its feet),
  +Y as close to world up as possible. Characters, which face +Z, turn about the vertical only, so that "alice looks at bob" turns her
  to face him without tipping her over. A look_at whose target depends on the subject's own rotation (the target
  is a child of the subject) would be circular and is ignored. Where the target coincides with the subject the
  rotation is left as it was.
- Visibility is inherited from parents (as in USD): an entity is visible where it and all its ancestors are.

Entities are resolved in dependency order (parents, attachment anchors, look_at targets); each step is vectorised
over frames. Joint globals are ``entity world · FK`` (:mod:`core.kinematics`), FK using ``joints.<j>.rotation`` and
root motion ``joints.<root>.position``. A relation naming a joint the skeleton no longer has anchors on the
entity itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import attributes, camera, kinematics, light, subject, tracks, transform
from .levels import entity_levels

__all__ = ["JointSample", "CameraSample", "LightSample", "WorldSample", "sample", "sample_json"]


@dataclass
class JointSample:
    names: list[str]            # J joint names, parents-first (the skeleton's stored order)
    parents: np.ndarray         # (J,) int, -1 for roots
    matrices: np.ndarray        # (F, J, 4, 4) global (world) matrices of each joint


@dataclass
class CameraSample:
    K: np.ndarray               # (F, 3, 3) pixel intrinsics for the shot resolution
    world_to_camera: np.ndarray  # (F, 4, 4) OpenGL axes: camera looks down -Z, +Y up
    focal_length_mm: np.ndarray  # (F,)
    sensor_mm: np.ndarray       # (F, 2)
    focus_distance_m: np.ndarray  # (F,)
    f_stop: np.ndarray          # (F,)
    near_m: np.ndarray          # (F,)
    far_m: np.ndarray           # (F,)
    fov_deg: np.ndarray         # (F, 2) horizontal, vertical


@dataclass
class LightSample:
    type: str
    intensity: np.ndarray       # (F,)
    color: np.ndarray           # (F, 3) linear RGB; from colour temperature when that is set
    cone_deg: np.ndarray        # (F,)
    blend: np.ndarray           # (F,)
    size_m: np.ndarray          # (F,)
    shadow: np.ndarray          # (F,) bool


@dataclass
class WorldSample:
    frames: np.ndarray          # (F,) float
    ids: list[str]              # (E,) entity ids, sorted
    kinds: list[str]            # (E,)
    matrices: np.ndarray        # (F, E, 4, 4) world matrices (translation · rotation · scale, parents applied)
    visible: np.ndarray         # (F, E) bool
    color: np.ndarray           # (F, E, 3)
    joints: dict[str, JointSample] = field(default_factory=dict)
    cameras: dict[str, CameraSample] = field(default_factory=dict)
    lights: dict[str, LightSample] = field(default_factory=dict)


def _frames(frames) -> np.ndarray:
    f = np.atleast_1d(np.asarray(frames, dtype=np.float64))
    if f.ndim != 1:
        raise ValueError(f"frames must be a number or have shape (F,), got {np.shape(frames)}")
    if not np.all(np.isfinite(f)):
        raise ValueError("frames must be finite")
    return f


class _CycleError(Exception):
    """A look_at whose target depends on the subject's own result (caught where that look_at is attempted)."""


class _Resolver:
    """Resolves world matrices entity by entity, memoised, in dependency order (recursion follows dependencies)."""

    def __init__(self, world, ids: list[str], frames: np.ndarray):
        self.world = world
        self.ids = ids
        self.index = {eid: i for i, eid in enumerate(ids)}
        self.f = frames
        n_f, n_e = frames.shape[0], len(ids)
        ents = [world.entities[eid] for eid in ids]
        if n_e:
            pos = np.stack([tracks.value_at(e, "transform.position", frames) for e in ents], axis=1)
            rot = np.stack([tracks.value_at(e, "transform.rotation", frames) for e in ents], axis=1)
            scl = np.stack([tracks.value_at(e, "transform.scale", frames) for e in ents], axis=1)
            self.local = transform.compose(pos, rot, scl)                                   # (F, E, 4, 4)
            self.own_visible = np.stack([tracks.value_at(e, "visible", frames) for e in ents], axis=1)
            self.color = np.stack([tracks.value_at(e, "color", frames) for e in ents], axis=1)
        else:
            self.local = np.zeros((n_f, 0, 4, 4))
            self.own_visible = np.zeros((n_f, 0), dtype=bool)
            self.color = np.zeros((n_f, 0, 3))
        self.attached = {}
        self.looks = {}
        for rid in sorted(world.relations):
            r = world.relations[rid]
            if r.subject not in self.index or r.object not in self.index:
                continue
            if r.kind == "attached_to":
                self.attached.setdefault(r.subject, []).append(r)
            elif r.kind == "look_at":
                self.looks.setdefault(r.subject, r)
        self._check_acyclic()
        self.pre_m: dict[str, np.ndarray] = {}
        self.full_m: dict[str, np.ndarray] = {}
        self.visible: dict[str, np.ndarray] = {}
        self.joints: dict[str, JointSample] = {}
        self.busy: set[tuple[str, str]] = set()

    def _check_acyclic(self) -> None:
        """Parents and attachment anchors must form a forest (editing guarantees it; a hand-built world may not)."""
        deps = {}
        for eid in self.ids:
            d = []
            p = self.world.entities[eid].parent
            if p in self.index:
                d.append(p)
            d += [r.object for r in self.attached.get(eid, ())]
            deps[eid] = d
        state: dict[str, int] = {}  # 1 visiting, 2 done
        self.order: list[str] = []  # post-order: every entity after its parent and attachment anchor
        for start in self.ids:
            if state.get(start):
                continue
            state[start] = 1
            stack = [(start, iter(deps[start]))]
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    self.order.append(node)
                    stack.pop()
                elif state.get(nxt) == 1:
                    raise ValueError(f"parent/attachment cycle through {nxt!r}")
                elif not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, iter(deps[nxt])))

    def _enter(self, node: tuple[str, str]) -> None:
        if node in self.busy:
            raise _CycleError(node)
        self.busy.add(node)

    def pre(self, eid: str) -> np.ndarray:
        """World matrix before the entity's own look_at, (F, 4, 4)."""
        m = self.pre_m.get(eid)
        if m is not None:
            return m
        self._enter(("pre", eid))
        try:
            i = self.index[eid]
            local = self.local[:, i]
            vis = self.own_visible[:, i]
            parent = self.world.entities[eid].parent
            m = self.full(parent) @ local if parent in self.index else local.copy()
            for r in self.attached.get(eid, ()):
                on = _active(r, self.f)
                if not on.any():
                    continue
                anchor = transform.rigid(self._anchor_matrix(r.object, r.joint))
                if r.offset is not None:
                    anchor = anchor @ transform.translation_matrix(np.asarray(r.offset, dtype=np.float64))
                m[on] = (anchor @ local)[on]
            if parent in self.index:
                self.full(parent)
                vis = vis & self.visible[parent]
        finally:
            self.busy.discard(("pre", eid))
        self.pre_m[eid] = m
        self.visible[eid] = vis
        return m

    def full(self, eid: str) -> np.ndarray:
        """World matrix (F, 4, 4) with the entity's look_at applied."""
        m = self.full_m.get(eid)
        if m is not None:
            return m
        pre = self.pre(eid)
        self._enter(("full", eid))
        try:
            m = pre
            r = self.looks.get(eid)
            if r is not None:
                try:
                    target = self._target_position(r.object, r.joint)
                except _CycleError:
                    target = None  # the target hangs off this entity's own rotation: ignore the look_at
                if target is not None:
                    m = _aim(pre, target, self.world.entities[eid].kind)
        finally:
            self.busy.discard(("full", eid))
        self.full_m[eid] = m
        return m

    def _joint_index(self, eid: str, joint: str | None) -> int | None:
        if joint is None:
            return None
        js = self.joint_sample(eid)
        if js is None or joint not in js.names:
            return None
        return js.names.index(joint)

    def _anchor_matrix(self, eid: str, joint: str | None) -> np.ndarray:
        j = self._joint_index(eid, joint)
        if j is None:
            return self.full(eid)
        return self.joints[eid].matrices[:, j]

    def _target_position(self, eid: str, joint: str | None) -> np.ndarray:
        if joint is not None and self._joint_index(eid, joint) is not None:
            return self._anchor_matrix(eid, joint)[:, :3, 3]
        if self.world.entities[eid].kind == "character":
            return self._body_centre(eid)
        return self.pre(eid)[:, :3, 3]  # the position is the same before and after the target's own look_at

    def _body_centre(self, eid: str) -> np.ndarray:
        """Where a look_at at a character aims: the centre of its white-box body, not its origin (its feet)."""
        try:
            js = self.joint_sample(eid)
        except _CycleError:
            js = None  # its pose hangs off the looker: fall back to its origin
        if js is not None and len(js.names):
            return subject.body_centre(js.matrices[:, :, :3, 3])
        pre = self.pre(eid)
        return pre[:, :3, 3] + pre[:, :3, 1] * (subject.DEFAULT_BODY[1] / 2.0)

    def joint_sample(self, eid: str) -> JointSample | None:
        js = self.joints.get(eid)
        if js is not None:
            return js
        e = self.world.entities[eid]
        skeleton = e.props.get("skeleton")
        if e.kind != "character" or not skeleton:
            return None
        base = self.full(eid)
        r = kinematics.rig(skeleton)
        rotations = np.stack([tracks.value_at(e, f"joints.{n}.rotation", self.f) for n in r.names], axis=1)
        root_motion = np.zeros((self.f.shape[0], len(r.names), 3))
        for j in r.roots:
            root_motion[:, j] = tracks.value_at(e, f"joints.{r.names[j]}.position", self.f)
        mats = kinematics.forward_kinematics(r.parents, r.offsets, r.rest, rotations, root_motion, base)
        js = JointSample(names=list(r.names), parents=r.parents.copy(), matrices=mats)
        self.joints[eid] = js
        return js


def _active(r, frames: np.ndarray) -> np.ndarray:
    """(F,) whether an attached_to relation holds at each frame: within [start, end) (unbounded where None)."""
    on = np.ones(frames.shape, dtype=bool)
    if r.start is not None:
        on &= frames >= r.start
    if r.end is not None:
        on &= frames < r.end
    return on


def _aim(pre: np.ndarray, target: np.ndarray, kind: str) -> np.ndarray:
    """Replace the rotation of pre : (F, 4, 4) so it faces target : (F, 3); keeps position and scale."""
    pos = pre[:, :3, 3]
    d = target - pos
    if kind == "character":
        d = d * np.array([1.0, 0.0, 1.0])
        r, ok = transform.aim_rotation(d, forward="+z")
    else:
        r, ok = transform.aim_rotation(d, forward="-z")
    scale = np.linalg.norm(pre[:, :3, :3], axis=-2)                   # (F, 3) column lengths
    out = pre.copy()
    out[:, :3, :3] = np.where(ok[:, None, None], r * scale[:, None, :], pre[:, :3, :3])
    return out


def _camera(e, frames: np.ndarray, world_matrix: np.ndarray, resolution) -> CameraSample:
    v = lambda path: tracks.value_at(e, path, frames)  # noqa: E731
    focal = v("camera.focal_length_mm")
    sensor = v("camera.sensor_mm")
    return CameraSample(
        K=camera.intrinsics(focal, resolution, sensor),
        world_to_camera=camera.world_to_camera(world_matrix),
        focal_length_mm=focal,
        sensor_mm=sensor,
        focus_distance_m=v("camera.focus_distance_m"),
        f_stop=v("camera.f_stop"),
        near_m=v("camera.near_m"),
        far_m=v("camera.far_m"),
        fov_deg=camera.fov_deg(focal, sensor, resolution),
    )


def _light(e, frames: np.ndarray) -> LightSample:
    v = lambda path: tracks.value_at(e, path, frames)  # noqa: E731
    temperature = v("light.color_temperature_k")
    color = v("light.color") if temperature is None else light.temperature_to_rgb(temperature)
    return LightSample(
        type=str(e.props.get("light.type", attributes.ATTRIBUTES["light.type"].default)),
        intensity=v("light.intensity"),
        color=color,
        cone_deg=v("light.cone_deg"),
        blend=v("light.blend"),
        size_m=v("light.size_m"),
        shadow=v("light.shadow"),
    )


def sample(world, frames) -> WorldSample:
    """Sample ``world`` at frames : (F,) (or one number) → :class:`WorldSample` (see the module docstring).

    Raises ValueError for non-finite frames or a parent/attachment cycle (which editing never produces).
    """
    f = _frames(frames)
    ids = sorted(world.entities)
    res = _Resolver(world, ids, f)
    n_f, n_e = f.shape[0], len(ids)
    matrices = np.empty((n_f, n_e, 4, 4))
    visible = np.empty((n_f, n_e), dtype=bool)
    for eid in res.order:  # dependencies first, so resolving one entity recurses only through look_at targets
        res.full(eid)
    for i, eid in enumerate(ids):
        matrices[:, i] = res.full(eid)
        visible[:, i] = res.visible[eid]
    out = WorldSample(frames=f, ids=ids, kinds=[world.entities[eid].kind for eid in ids], matrices=matrices,
                      visible=visible, color=res.color)
    resolution = tuple(world.resolution)
    for i, eid in enumerate(ids):
        e = world.entities[eid]
        if e.kind == "character":
            js = res.joint_sample(eid)
            if js is not None:
                out.joints[eid] = js
        elif e.kind == "camera":
            out.cameras[eid] = _camera(e, f, matrices[:, i], resolution)
        elif e.kind == "light":
            out.lights[eid] = _light(e, f)
    return out


def _m(a: np.ndarray) -> list:
    return [[float(x) for x in row] for row in a]


def sample_json(world, frame: float, is_mesh_asset: Callable[[str], bool] | None = None) -> dict:
    """The sampled world at one frame as JSON-ready data (SPEC §6, without ``seq``, which the caller adds).

    ``{"frame", "entities": {id: {"kind", "level", "position", "rotation", "scale", "matrix", "visible", "color",
    …"joints" {name: 4×4} | "camera" {…} | "light" {…}}}}``. Position, rotation (quaternion xyzw, w ≥ 0) and
    scale are the decomposition of the world matrix; matrices are 4×4 row-major nested lists. ``level`` is the
    entity's representation level L0–L4 (SPEC §7.2, :func:`core.levels.entity_levels`; ``is_mesh_asset`` says
    which asset ids are meshes, none when not given).
    """
    s = sample(world, [frame])
    levels = entity_levels(world, is_mesh_asset or (lambda _id: False))
    entities = {}
    pos, rot, scl = transform.decompose(s.matrices[0]) if s.ids else (None, None, None)
    for i, eid in enumerate(s.ids):
        d = {
            "kind": s.kinds[i],
            "level": levels[eid]["level"],
            "position": [float(x) for x in pos[i]],
            "rotation": [float(x) for x in rot[i]],
            "scale": [float(x) for x in scl[i]],
            "matrix": _m(s.matrices[0, i]),
            "visible": bool(s.visible[0, i]),
            "color": [float(x) for x in s.color[0, i]],
        }
        if eid in s.joints:
            js = s.joints[eid]
            d["joints"] = {name: _m(js.matrices[0, j]) for j, name in enumerate(js.names)}
        if eid in s.cameras:
            c = s.cameras[eid]
            d["camera"] = {
                "K": _m(c.K[0]),
                "world_to_camera": _m(c.world_to_camera[0]),
                "fov_deg": [float(x) for x in c.fov_deg[0]],
                "focal_length_mm": float(c.focal_length_mm[0]),
                "sensor_mm": [float(x) for x in c.sensor_mm[0]],
                "focus_distance_m": float(c.focus_distance_m[0]),
                "f_stop": float(c.f_stop[0]),
                "near_m": float(c.near_m[0]),
                "far_m": float(c.far_m[0]),
            }
        if eid in s.lights:
            lt = s.lights[eid]
            e = world.entities[eid]
            temp = tracks.value_at(e, "light.color_temperature_k", s.frames)
            d["light"] = {
                "type": lt.type,
                "intensity": float(lt.intensity[0]),
                "color": [float(x) for x in lt.color[0]],
                "color_temperature_k": None if temp is None else float(temp[0]),
                "cone_deg": float(lt.cone_deg[0]),
                "blend": float(lt.blend[0]),
                "size_m": float(lt.size_m[0]),
                "shadow": bool(lt.shadow[0]),
            }
        entities[eid] = d
    return {"frame": float(s.frames[0]), "entities": entities}
