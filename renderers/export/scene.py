"""What every exporter writes: a world sampled at every frame of its shot, as plain arrays (pure; no I/O).

One :func:`core.sampling.sample` call over all frames gives every entity's world matrix, every camera's and
light's parameters; the exporters only change representation. Entities are exported flat, in world space:
sampling has already applied parents, attachments and look_at, so a file holds exactly the matrices ``core``
computes, and a reader needs no knowledge of our relations.

- ``EntityTrack``: position (F, 3), rotation (F, 4) (scalar last, sign made continuous over frames so that a
  reader's slerp between samples takes the short way), scale (F, 3) — the decomposition of the world matrix.
- ``Body``: the white-box mesh the renderer draws (:mod:`renderers.geometry`): a primitive or asset placeholder
  for props and environments; for characters the volumes of their white-box body (:mod:`core.bodies`: head and
  torso solids, limb capsules, hand and foot boxes, …), merged into one mesh in the character's bind (rest)
  space, each vertex bound rigidly to the joint that carries its volume.
- ``Skin``: the skeleton's topology, rest local transforms, bind (rest global, character space) matrices and the
  animated local joint transforms per frame: translation = offset (+ root motion on roots), rotation =
  rest · animated (what :mod:`core.kinematics` composes).

Frames are the shot's integer frames ``frame_start, frame_start + 1, …`` up to ``frame_end`` inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core import kinematics, quat, sampling, tracks, transform

from .. import geometry

__all__ = ["ExportError", "EntityTrack", "Body", "Skin", "ExportScene", "build_scene", "shot_frames",
           "continuous_quats"]

MAX_FRAMES = 100_000


class ExportError(ValueError):
    """An export that cannot be made as asked (unknown entity, a non-character for BVH, an empty shot);
    ``field`` names the request parameter at fault when there is one."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.field = field


@dataclass
class Body:
    vertices: np.ndarray        # (V, 3) float, in the entity's (character: bind) space
    faces: np.ndarray           # (T, 3) int, counter-clockwise seen from outside
    normals: np.ndarray         # (V, 3) unit vertex normals
    joint: np.ndarray | None = None   # (V,) int joint index each vertex follows (characters with a skeleton)
    key: str = ""               # equal keys mean identical meshes (exporters may share them)


@dataclass
class Skin:
    names: list[str]            # (J,) joint names, parents first
    parents: np.ndarray         # (J,) int, −1 for roots
    rest_local: np.ndarray      # (J, 4, 4) T(offset) · R(rest)
    bind: np.ndarray            # (J, 4, 4) rest global matrices in the character's space
    translation: np.ndarray     # (F, J, 3) local translations (offset + root motion)
    rotation: np.ndarray        # (F, J, 4) local rotations rest · animated, continuous sign
    world: np.ndarray           # (F, J, 4, 4) joint global matrices as core samples them (for checks)


@dataclass
class EntityTrack:
    id: str
    kind: str
    name: str
    matrix: np.ndarray          # (F, 4, 4) world matrices
    position: np.ndarray        # (F, 3)
    rotation: np.ndarray        # (F, 4)
    scale: np.ndarray           # (F, 3)
    visible: np.ndarray         # (F,) bool
    color: np.ndarray           # (F, 3)
    body: Body | None = None
    skin: Skin | None = None
    camera: sampling.CameraSample | None = None
    light: sampling.LightSample | None = None
    color_temperature_k: np.ndarray | None = None   # (F,) for lights whose temperature is set
    geometry: dict | None = None                     # props and environments: the world's geometry value


@dataclass
class ExportScene:
    project: str
    shot: str
    seq: int
    state_hash: str
    fps: float
    frame_start: float
    frame_end: float
    resolution: tuple[int, int]
    frames: np.ndarray          # (F,)
    entities: list[EntityTrack]
    directives: dict = field(default_factory=dict)

    def metadata(self) -> dict:
        """What an export records about the world it came from (strings and numbers only)."""
        import json

        return {"project": self.project, "shot": self.shot, "seq": int(self.seq), "state_hash": self.state_hash,
                "fps": float(self.fps), "frame_start": float(self.frame_start), "frame_end": float(self.frame_end),
                "resolution": [int(self.resolution[0]), int(self.resolution[1])],
                "directives": json.dumps(self.directives, sort_keys=True, separators=(",", ":"))}


def shot_frames(frame_start: float, frame_end: float) -> np.ndarray:
    """The shot's integer-step frames from ``frame_start`` to ``frame_end`` inclusive, (F,) float."""
    n = int(np.floor(frame_end - frame_start + 1e-9)) + 1
    if n < 1:
        raise ExportError(f"the shot has no frames ({frame_start}–{frame_end})")
    if n > MAX_FRAMES:
        raise ExportError(f"the shot has {n} frames; exports stop at {MAX_FRAMES}")
    return frame_start + np.arange(n, dtype=np.float64)


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """q : (F, ..., 4) → the same rotations with signs flipped so that consecutive samples have a dot ≥ 0."""
    q = np.array(q, dtype=np.float64)
    if q.shape[0] < 2:
        return q
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.cumsum(dots < 0, axis=0) % 2                     # (F−1, ...) parity of sign changes so far
    sign = np.concatenate([np.ones((1,) + dots.shape[1:]), np.where(flips == 1, -1.0, 1.0)], axis=0)
    return q * sign[..., None]


def _mesh_body(mesh, joint=None, key="") -> Body:
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    n = np.asarray(mesh.vertex_normals, dtype=np.float64)
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return Body(v, f, n, joint, key)


def _apply(m: np.ndarray, v: np.ndarray, normals: np.ndarray):
    r = m[:3, :3]
    nv = normals @ np.linalg.inv(r)                              # inverse transpose, row vectors
    nv = nv / np.maximum(np.linalg.norm(nv, axis=-1, keepdims=True), 1e-12)
    return v @ r.T + m[:3, 3], nv


def _character_body(world, eid: str, bind: np.ndarray | None) -> Body:
    """The renderer's body volumes of one character, merged, in bind space; joint per vertex (None: no skeleton)."""
    parts = geometry.scene_parts(_OneEntity(world, eid), [eid])
    verts, faces, normals, joints = [], [], [], []
    base = 0
    for p in parts:
        b = _mesh_body(p.mesh)
        m = p.local if p.joint is None or bind is None else bind[p.joint] @ p.local
        v, n = _apply(m, b.vertices, b.normals)
        verts.append(v)
        normals.append(n)
        faces.append(b.faces + base)
        joints.append(np.full(len(v), -1 if p.joint is None else p.joint, dtype=np.int64))
        base += len(v)
    e = world.entities[eid]
    key = "character:" + repr(e.props.get("skeleton"))
    j = np.concatenate(joints) if bind is not None else None
    return Body(np.concatenate(verts), np.concatenate(faces), np.concatenate(normals), j, key)


class _OneEntity:
    """A view of a world with one entity (what :func:`renderers.geometry.scene_parts` reads)."""

    def __init__(self, world, eid: str):
        self.entities = {eid: world.entities[eid]}


def _skin(e, js: sampling.JointSample, frames: np.ndarray) -> Skin:
    r = kinematics.rig(e.props["skeleton"])
    n_f, n_j = frames.shape[0], len(r.names)
    animated = np.stack([tracks.value_at(e, f"joints.{n}.rotation", frames) for n in r.names], axis=1)
    rotation = quat.normalize(quat.multiply(np.broadcast_to(r.rest, animated.shape), animated))
    translation = np.broadcast_to(r.offsets, (n_f, n_j, 3)).copy()
    for j in r.roots:
        translation[:, j] += tracks.value_at(e, f"joints.{r.names[j]}.position", frames)
    rest_local = transform.compose(r.offsets, r.rest)
    bind = kinematics.forward_kinematics(r.parents, r.offsets, r.rest)
    return Skin(list(r.names), r.parents.copy(), rest_local, bind, translation, continuous_quats(rotation),
                js.matrices)


def build_scene(world, *, seq: int, state_hash: str, entity: str | None = None, bvh: bool = False,
                progress=None) -> ExportScene:
    """Sample ``world`` at every frame of its shot → :class:`ExportScene`.

    ``entity`` keeps one entity (ExportError when the world has no such entity); ``bvh`` also requires it to be
    a character with a skeleton. ``progress(done, total)`` is called as entities are prepared.
    """
    if entity is not None and entity not in world.entities:
        raise ExportError(f"no entity {entity!r} in {world.project}/{world.shot} at seq {seq}", "entity")
    if bvh:
        if entity is None:
            raise ExportError("a BVH export is of one character: name it with entity", "entity")
        e = world.entities[entity]
        if e.kind != "character" or not e.props.get("skeleton"):
            raise ExportError(f"entity {entity!r} is a {e.kind}{'' if e.kind != 'character' else ' without a skeleton'}"
                              "; BVH exports a character's skeleton", "entity")
    frames = shot_frames(world.frame_start, world.frame_end)
    s = sampling.sample(world, frames)
    ids = s.ids if entity is None else [entity]
    out: list[EntityTrack] = []
    bodies: dict[str, Body] = {}   # entities of one geometry or skeleton share one body
    for n, eid in enumerate(ids):
        i = s.ids.index(eid) if entity is not None else n
        e = world.entities[eid]
        m = s.matrices[:, i]
        pos, rot, scl = transform.decompose(m)
        t = EntityTrack(eid, e.kind, e.name or "", m, pos, continuous_quats(rot), scl, s.visible[:, i].copy(),
                        s.color[:, i].copy())
        if e.kind in ("prop", "environment"):
            g = e.props.get("geometry")
            key = "geometry:" + repr(g)
            if key not in bodies:
                bodies[key] = _mesh_body(geometry.primitive_mesh(g)[0], key=key)
            t.body = bodies[key]
            t.geometry = g
        elif e.kind == "character":
            if eid in s.joints:
                t.skin = _skin(e, s.joints[eid], frames)
            key = "character:" + repr(e.props.get("skeleton"))
            if key not in bodies:
                bodies[key] = _character_body(world, eid, None if t.skin is None else t.skin.bind)
            t.body = bodies[key]
        elif e.kind == "camera":
            t.camera = s.cameras[eid]
        elif e.kind == "light":
            t.light = s.lights[eid]
            t.color_temperature_k = tracks.value_at(e, "light.color_temperature_k", frames)
        out.append(t)
        if progress is not None:
            progress(n + 1, len(ids))
    directives = {did: d.to_dict() for did, d in sorted(world.directives.items())}
    return ExportScene(world.project, world.shot, int(seq), state_hash, float(world.fps), float(world.frame_start),
                       float(world.frame_end), tuple(world.resolution), frames, out, directives)
