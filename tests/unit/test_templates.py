"""Skeleton templates: valid for the skeleton checker, plausible proportions, a full COCO-18 mapping."""

import numpy as np
import pytest

from core.skeleton import normalize_joints
from core.templates import COCO18_BIPED, COCO18_LIMBS, COCO18_NAMES, SKELETON_EDGES, TEMPLATES, template_joints


def rest_positions(joints):
    pos = {}
    for j in joints:
        pos[j["name"]] = (pos[j["parent"]] if j["parent"] else np.zeros(3)) + np.array(j["offset"])
    return pos


@pytest.mark.parametrize("name", ["biped", "quadruped", "bird", "fish"])
def test_every_template_passes_the_skeleton_checker_unchanged(name):
    joints = template_joints(name)
    assert normalize_joints(joints) == joints  # already canonical and parents-first
    names = [j["name"] for j in joints]
    assert len(names) == len(set(names))
    assert SKELETON_EDGES[name] == [(j["parent"], j["name"]) for j in joints if j["parent"]]


def test_biped_is_175cm_tall_stands_on_the_origin_and_faces_plus_z():
    pos = rest_positions(template_joints("biped"))
    ys = np.array([p[1] for p in pos.values()])
    assert ys.max() == pytest.approx(1.75)
    assert 0.0 <= ys.min() < 0.05  # toes just above the floor
    assert pos["nose"][2] > pos["head"][2]  # the face is towards +Z
    assert pos["l_shoulder"][0] > 0 > pos["r_shoulder"][0]  # facing +Z with Y up, the left side is +X
    assert pos["l_toe"][2] > pos["l_ankle"][2]


def test_biped_is_left_right_symmetric():
    pos = rest_positions(template_joints("biped"))
    for n, p in pos.items():
        if n.startswith("l_"):
            np.testing.assert_allclose(pos["r_" + n[2:]], p * [-1, 1, 1])


def test_scale_multiplies_offsets():
    a = rest_positions(template_joints("biped"))
    b = rest_positions(template_joints("biped", 0.5))
    for n in a:
        np.testing.assert_allclose(b[n], a[n] * 0.5)


def test_coco18_maps_every_keypoint_to_a_biped_joint():
    names = {j["name"] for j in template_joints("biped")}
    assert len(COCO18_BIPED) == 18 and len(COCO18_NAMES) == 18
    assert set(COCO18_BIPED) <= names
    pos = rest_positions(template_joints("biped"))
    assert COCO18_NAMES[2] == "r_shoulder" and pos[COCO18_BIPED[2]][0] < 0
    assert all(0 <= a < 18 and 0 <= b < 18 for a, b in COCO18_LIMBS) and len(COCO18_LIMBS) == 17


def test_quadruped_stands_on_four_paws():
    pos = rest_positions(template_joints("quadruped"))
    paws = [pos[n] for n in ("l_front_paw", "r_front_paw", "l_hind_paw", "r_hind_paw")]
    assert all(0 <= p[1] < 0.06 for p in paws)
    assert pos["nose"][2] > pos["chest"][2] > pos["hips"][2] > pos["tail_3"][2]


def test_unknown_template_and_bad_scale_are_rejected():
    with pytest.raises(ValueError, match="unknown skeleton template"):
        template_joints("dragon")
    with pytest.raises(ValueError, match="scale"):
        template_joints("biped", 0.0)
    assert set(TEMPLATES) == {"biped", "quadruped", "bird", "fish"}
