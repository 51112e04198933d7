"""Binary glTF exports read back with pygltflib and a small glTF evaluator: node world matrices, joint matrices,
skins, camera field of view and KHR_lights_punctual values match core's sampling at every frame within 1e-5.
(The Khronos validator runs in tests/e2e/test_export_validators.py: it needs Node.js.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pygltflib = pytest.importorskip("pygltflib")

from core import transform  # noqa: E402
from core.sampling import sample  # noqa: E402
from renderers.export import export  # noqa: E402
from renderers.export.gltf import W_TO_CANDELA, WM2_TO_LUX, light_intensity  # noqa: E402
from renderers.export.scene import shot_frames  # noqa: E402
from tests.unit.test_export_world import rich_world  # noqa: E402

TOL = 1e-5
_DTYPES = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class Reader:
    """Evaluates a glTF file at sample index k (our exports sample every frame: no interpolation needed)."""

    def __init__(self, data: bytes):
        self.doc = pygltflib.GLTF2.load_from_bytes(data)
        self.blob = self.doc.binary_blob()
        self.parent = {}
        for i, n in enumerate(self.doc.nodes):
            for c in n.children or []:
                self.parent[c] = i
        self.anim = {}       # (node, path) or pointer → values (F, ...)
        for a in self.doc.animations:
            for ch in a.channels:
                s = a.samplers[ch.sampler]
                values = self.accessor(s.output)
                if ch.target.path == "pointer":
                    self.anim[ch.target.extensions["KHR_animation_pointer"]["pointer"]] = values
                else:
                    self.anim[(ch.target.node, ch.target.path)] = values
        self.times = None if not self.doc.animations else self.accessor(self.doc.animations[0].samplers[0].input)

    def accessor(self, i: int) -> np.ndarray:
        a = self.doc.accessors[i]
        v = self.doc.bufferViews[a.bufferView]
        w = _WIDTH[a.type]
        dt = _DTYPES[a.componentType]
        start = (v.byteOffset or 0) + (a.byteOffset or 0)
        arr = np.frombuffer(self.blob, dtype=dt, count=a.count * w, offset=start)
        return arr.reshape(a.count, w) if w > 1 else arr

    def value(self, node: int, path: str, k: int):
        if (node, path) in self.anim:
            return np.asarray(self.anim[(node, path)][k], dtype=np.float64)
        n = self.doc.nodes[node]
        default = {"translation": [0, 0, 0], "rotation": [0, 0, 0, 1], "scale": [1, 1, 1]}[path]
        v = getattr(n, path)
        return np.asarray(default if v is None else v, dtype=np.float64)

    def local(self, node: int, k: int) -> np.ndarray:
        return transform.compose(self.value(node, "translation", k), self.value(node, "rotation", k),
                                 self.value(node, "scale", k))

    def world(self, node: int, k: int) -> np.ndarray:
        m = self.local(node, k)
        while node in self.parent:
            node = self.parent[node]
            m = self.local(node, k) @ m
        return m

    def pointer(self, path: str, k: int, static):
        return float(self.anim[path][k]) if path in self.anim else static

    def node_of(self, eid: str) -> int:
        return next(i for i, n in enumerate(self.doc.nodes) if (n.extras or {}).get("wnm_id") == eid)


@pytest.fixture(scope="module")
def world():
    return rich_world()


@pytest.fixture(scope="module")
def core_sample(world):
    return sample(world, shot_frames(world.frame_start, world.frame_end))


@pytest.fixture(scope="module")
def glb(world):
    return export(world, "glb", seq=42, state_hash="abc123")


@pytest.fixture(scope="module")
def reader(glb):
    return Reader(glb)


def test_glb_container_and_metadata(glb, reader):
    assert glb[:4] == b"glTF" and int.from_bytes(glb[4:8], "little") == 2
    assert int.from_bytes(glb[8:12], "little") == len(glb)
    meta = reader.doc.asset.extras
    assert (meta["project"], meta["seq"], meta["state_hash"]) == ("p", 42, "abc123")
    assert json.loads(meta["directives"])["framing"]["agent"] == "shot"
    assert "KHR_lights_punctual" in reader.doc.extensionsUsed


def test_times_are_seconds_from_the_shot_start(reader, core_sample):
    np.testing.assert_allclose(reader.times, (core_sample.frames - 10.0) / 25.0, atol=1e-7)


def test_node_world_matrices_match_core(reader, core_sample):
    for i, eid in enumerate(core_sample.ids):
        n = reader.node_of(eid)
        for k in range(len(core_sample.frames)):
            np.testing.assert_allclose(reader.world(n, k), core_sample.matrices[k, i], atol=TOL,
                                       err_msg=f"{eid} @ {core_sample.frames[k]}")


def test_joint_nodes_and_skins_match_core(reader, core_sample):
    doc = reader.doc
    for eid, js in core_sample.joints.items():
        skin = next(s for s in doc.skins if s.name == eid)
        names = [doc.nodes[j].extras["wnm_joint"] for j in skin.joints]
        assert names == js.names
        ibm = reader.accessor(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
        for k in range(len(core_sample.frames)):
            got = np.stack([reader.world(j, k) for j in skin.joints])
            np.testing.assert_allclose(got, js.matrices[k], atol=TOL, err_msg=f"{eid} joints @ {k}")
        # at rest the skinning matrices joint_world · IBM are the character's own matrix: the body is in bind space
        body = next(i for i, n in enumerate(doc.nodes) if (n.extras or {}).get("wnm_body_of") == eid)
        assert doc.nodes[body].skin == doc.skins.index(skin) and doc.nodes[body].translation is None
        assert np.all(np.isfinite(ibm))


def test_camera_field_of_view_matches_core(reader, core_sample):
    doc = reader.doc
    n = reader.node_of("cam_a")
    ci = doc.nodes[n].camera
    cam = doc.cameras[ci]
    c = core_sample.cameras["cam_a"]
    assert cam.perspective.aspectRatio == pytest.approx(832 / 480)
    for k in range(len(core_sample.frames)):
        yfov = reader.pointer(f"/cameras/{ci}/perspective/yfov", k, cam.perspective.yfov)
        assert math.degrees(yfov) == pytest.approx(c.fov_deg[k, 1], abs=TOL)
        xfov = 2 * math.degrees(math.atan(math.tan(yfov / 2) * cam.perspective.aspectRatio))
        assert xfov == pytest.approx(c.fov_deg[k, 0], abs=TOL)
        # focal length back from the field of view and the sensor width kept in extras
        sw = cam.extras["sensor_mm"][0]
        assert sw / (2 * math.tan(math.radians(xfov) / 2)) == pytest.approx(c.focal_length_mm[k], abs=1e-4)
    assert cam.perspective.znear == pytest.approx(0.05) and cam.perspective.zfar == pytest.approx(300.0)


def test_lights_match_core_through_the_written_conversion(reader, core_sample):
    doc = reader.doc
    lights = doc.extensions["KHR_lights_punctual"]["lights"]
    assert W_TO_CANDELA == pytest.approx(683 / (4 * math.pi)) and WM2_TO_LUX == 683
    for eid, lt in core_sample.lights.items():
        li = doc.nodes[reader.node_of(eid)].extensions["KHR_lights_punctual"]["light"]
        d = lights[li]
        assert d["type"] == {"sun": "directional", "spot": "spot"}.get(lt.type, "point")
        base = f"/extensions/KHR_lights_punctual/lights/{li}"
        factor = WM2_TO_LUX if lt.type == "sun" else W_TO_CANDELA
        for k in range(len(core_sample.frames)):
            watts = reader.pointer(base + "/intensity", k, d["intensity"]) / factor
            assert watts == pytest.approx(lt.intensity[k], rel=1e-6)
            col = reader.anim[base + "/color"][k] if base + "/color" in reader.anim else d["color"]
            np.testing.assert_allclose(col, lt.color[k], atol=TOL)
            if lt.type == "spot":
                outer = reader.pointer(base + "/spot/outerConeAngle", k, d["spot"]["outerConeAngle"])
                inner = reader.pointer(base + "/spot/innerConeAngle", k, d["spot"]["innerConeAngle"])
                assert math.degrees(2 * outer) == pytest.approx(lt.cone_deg[k], abs=TOL)
                assert 1 - inner / outer == pytest.approx(lt.blend[k], abs=TOL)


def test_light_units():
    np.testing.assert_allclose(light_intensity("point", [4 * math.pi]), [683.0])
    np.testing.assert_allclose(light_intensity("sun", [2.0]), [1366.0])


def test_shared_meshes_keep_the_file_small():
    """Characters of one skeleton and colour share one mesh: ten more bipeds add nodes, not ten bodies."""
    from core import ops as O
    from core.edit import apply

    w = rich_world()
    for i in range(10):
        apply(w, [O.EntityCreate(id=f"extra{i}", kind="character",
                                 props={"transform.scale": [1.2, 1.2, 1.2], "color": [0.9, 0.3, 0.2]}),
                  O.SkeletonSet(id=f"extra{i}", template="biped")], "user:test")
    doc = Reader(export(w, "glb", seq=1, state_hash="h")).doc
    bodies = [n.mesh for n in doc.nodes if (n.extras or {}).get("wnm_body_of", "").startswith(("extra", "alice"))]
    assert len(bodies) == 11 and len(set(bodies)) == 1
