"""BVH exports: parsed by an independent reader, the joint hierarchy is the skeleton's and forward kinematics of
the file's channels gives core's joint matrices (scale removed) at every frame within 1e-5."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from core import ops as O
from core import transform
from core.edit import apply
from core.sampling import sample
from renderers.export import ExportError, export
from renderers.export.scene import shot_frames
from tests.unit.test_export_world import rich_world

TOL = 1e-5


def parse_bvh(text: str):
    """→ (names, parents, offsets (J, 3), channels per joint, frame_time, motion (F, C))."""
    tok = text.split()
    i = 0
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    end_site = False
    assert tok[i] == "HIERARCHY"
    i += 1
    while tok[i] != "MOTION":
        t = tok[i]
        if t in ("ROOT", "JOINT"):
            names.append(tok[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif t == "End":
            end_site = True
            i += 2
        elif t == "{":
            stack.append(-2 if end_site else len(names) - 1)
            i += 1
        elif t == "}":
            if stack.pop() == -2:
                end_site = False
            i += 1
        elif t == "OFFSET":
            if not end_site:
                offsets.append([float(x) for x in tok[i + 1:i + 4]])
            i += 4
        elif t == "CHANNELS":
            n = int(tok[i + 1])
            channels.append(tok[i + 2:i + 2 + n])
            i += 2 + n
        else:
            raise AssertionError(f"unexpected token {t!r}")
    assert tok[i + 1] == "Frames:" and tok[i + 3] == "Frame" and tok[i + 4] == "Time:"
    frames, frame_time = int(tok[i + 2]), float(tok[i + 5])
    values = np.array([float(x) for x in tok[i + 6:]])
    motion = values.reshape(frames, -1)
    return names, parents, np.array(offsets), channels, frame_time, motion


def bvh_fk(names, parents, offsets, channels, motion) -> np.ndarray:
    """(F, J, 4, 4) global matrices from the file alone."""
    n_f = motion.shape[0]
    out = np.zeros((n_f, len(names), 4, 4))
    col = 0
    for j, chans in enumerate(channels):
        pos = np.broadcast_to(offsets[j], (n_f, 3)).copy()
        rot_axes, rot_vals = "", []
        for c in chans:
            v = motion[:, col]
            col += 1
            if c.endswith("position"):
                pos[:, "XYZ".index(c[0])] = v
            else:
                rot_axes += c[0]
                rot_vals.append(v)
        r = Rotation.from_euler(rot_axes, np.stack(rot_vals, axis=1), degrees=True).as_matrix()
        local = np.zeros((n_f, 4, 4))
        local[:, :3, :3] = r
        local[:, :3, 3] = pos
        local[:, 3, 3] = 1
        out[:, j] = local if parents[j] < 0 else out[:, parents[j]] @ local
    return out


@pytest.fixture(scope="module")
def world():
    return rich_world()


def test_bvh_reads_back_as_core_samples_it(world):
    text = export(world, "bvh", seq=1, state_hash="h", entity="alice").decode()
    names, parents, offsets, channels, frame_time, motion = parse_bvh(text)
    frames = shot_frames(world.frame_start, world.frame_end)
    js = sample(world, frames).joints["alice"]
    assert sorted(names) == sorted(js.names)
    order = [js.names.index(n) for n in names]                   # the file lists joints depth first
    assert [-1 if p < 0 else names[p] for p in parents] == [
        -1 if js.parents[j] < 0 else js.names[js.parents[j]] for j in order]
    assert frame_time == pytest.approx(1 / 25) and motion.shape[0] == len(frames)
    assert channels[0] == ["Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"]
    assert all(c == ["Zrotation", "Xrotation", "Yrotation"] for c in channels[1:])
    got = bvh_fk(names, parents, offsets, channels, motion)
    np.testing.assert_allclose(got, transform.rigid(js.matrices[:, order]), atol=TOL)


def test_multi_root_skeleton_gets_a_synthetic_root():
    w = rich_world()
    apply(w, [O.EntityCreate(id="twins", kind="character", props={"transform.position": [1.0, 0.0, 2.0]}),
              O.SkeletonSet(id="twins", joints=[
                  {"name": "a", "parent": None, "offset": [0.5, 1.0, 0.0]},
                  {"name": "a2", "parent": "a", "offset": [0.0, 0.5, 0.0]},
                  {"name": "b", "parent": None, "offset": [-0.5, 1.0, 0.0]}]),
              O.KeySet(id="twins", path="joints.a.rotation", frame=10, value=[0, 0, 0, 1]),
              O.KeySet(id="twins", path="joints.a.rotation", frame=34, value=[0.3826834, 0, 0, 0.9238795])],
          "user:test")
    names, parents, offsets, channels, _, motion = parse_bvh(
        export(w, "bvh", seq=1, state_hash="h", entity="twins").decode())
    assert names == ["twins_root", "a", "a2", "b"] and parents == [-1, 0, 1, 0]
    got = bvh_fk(names, parents, offsets, channels, motion)[:, 1:]
    js = sample(w, shot_frames(w.frame_start, w.frame_end)).joints["twins"]
    order = [js.names.index(n) for n in names[1:]]
    np.testing.assert_allclose(got, transform.rigid(js.matrices[:, order]), atol=TOL)


@pytest.mark.parametrize("entity,message", [
    ("cam_a", "is a camera"), ("ghost", "without a skeleton"), (None, "name it with entity"),
    ("rex", "non-uniform"), ("nobody", "no entity"),
])
def test_bvh_refuses_what_it_cannot_write(world, entity, message):
    with pytest.raises(ExportError, match=message):
        export(world, "bvh", seq=1, state_hash="h", entity=entity)
