"""Exports draw a character as its white-box body (SPEC §7.2, issue 16): the merged mesh of its volumes in bind
space, each vertex following the joint that carries its volume."""

from __future__ import annotations

import numpy as np
import pytest

from core import bodies as B
from core import ops as O
from core.edit import apply
from core.world import World
from renderers.export.scene import build_scene


@pytest.mark.parametrize("template", ["biped", "quadruped", "bird", "fish"])
def test_the_exported_character_mesh_is_its_body(template):
    w = World(project="p", shot="s", frame_end=2.0)
    apply(w, [O.EntityCreate(id="c", kind="character", props={"transform.position": [1.0, 0.0, 0.0]}),
              O.SkeletonSet(id="c", template=template, scale=1.2)], "user:t")
    scene = build_scene(w, seq=1, state_hash="h")
    [t] = scene.entities
    body = B.body_of(w.entities["c"].props["skeleton"])
    lo, hi = B.body_bounds(body)
    v = t.body.vertices
    # the tessellated volumes lie inside the exact ones and reach them to within 1 % of the body's size
    size = float(np.max(hi - lo))
    assert np.all(v.min(0) >= lo - 1e-9) and np.all(v.max(0) <= hi + 1e-9)
    np.testing.assert_allclose(v.min(0), lo, atol=0.01 * size)
    np.testing.assert_allclose(v.max(0), hi, atol=0.01 * size)
    # every volume's vertices follow its joint
    names = list(t.skin.names)
    carriers = {names.index(vol.joint) for vol in body.volumes}
    assert set(np.unique(t.body.joint).tolist()) == carriers
    hand = names.index("l_wrist") if template == "biped" else None
    if hand is not None:
        tip = v[t.body.joint == hand][:, 0].max()
        assert tip == pytest.approx(hi[0], abs=1e-9)                 # the hand box's far face is exact


def test_a_character_without_a_skeleton_exports_its_capsule():
    w = World(project="p", shot="s", frame_end=1.0)
    apply(w, [O.EntityCreate(id="c", kind="character")], "user:t")
    [t] = build_scene(w, seq=1, state_hash="h").entities
    assert t.body.joint is None
    np.testing.assert_allclose(t.body.vertices.max(0), [0.25, 1.8, 0.25], atol=0.01)
    np.testing.assert_allclose(t.body.vertices.min(0), [-0.25, 0.0, -0.25], atol=0.01)
