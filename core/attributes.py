"""The attribute registry (SPEC §3): every path an entity may carry, its type, unit, range, the kinds it
applies to and whether it may be animated. ``normalize`` is the single place a raw value becomes canonical."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from . import skeleton as skel
from . import values
from .limits import MAX_ABS_NUMBER, show
from .tolerances import MAX_ABS_COORD_M

__all__ = ["AttrSpec", "ATTRIBUTES", "KINDS", "LIGHT_TYPES", "spec_for", "normalize", "joint_path"]

KINDS = ("prop", "environment", "character", "camera", "light")
ALL = frozenset(KINDS)
SOLID = frozenset({"prop", "environment", "character"})
LIGHT_TYPES = ("point", "spot", "sun", "area")


class AttrSpec(NamedTuple):
    path: str
    type: str
    unit: str
    kinds: frozenset
    animatable: bool
    check: Callable[[Any, str], Any]
    default: Any = None


def _num(lo=None, hi=None, lo_open=False):
    return lambda v, what: values.number(v, what, lo=lo, hi=hi, lo_open=lo_open)


def _enum(options):
    def check(v, what):
        if v not in options:
            raise ValueError(f"{what} must be one of {list(options)}, got {show(v)}")
        return v
    return check


_SPECS = [
    AttrSpec("transform.position", "vec3", "m", ALL, True, lambda v, w: values.vec(v, 3, w), [0.0, 0.0, 0.0]),
    AttrSpec("transform.rotation", "quat", "", ALL, True, values.rotation, [0.0, 0.0, 0.0, 1.0]),
    AttrSpec("transform.scale", "vec3", "", SOLID, True, lambda v, w: values.vec(v, 3, w, positive=True), [1.0, 1.0, 1.0]),
    AttrSpec("visible", "bool", "", ALL, True, values.boolean, True),
    AttrSpec("color", "rgb", "", ALL, True, values.rgb, [0.8, 0.8, 0.8]),
    AttrSpec("geometry", "geometry", "m", frozenset({"prop", "environment"}), False, values.geometry, None),
    AttrSpec("skeleton", "skeleton", "m", frozenset({"character"}), False, skel.normalize_joints, None),
    AttrSpec("camera.focal_length_mm", "float", "mm", frozenset({"camera"}), True, _num(1, 2000), 35.0),
    AttrSpec("camera.sensor_mm", "vec2", "mm", frozenset({"camera"}), True,
             lambda v, w: values.vec(v, 2, w, positive=True, limit=1000.0), [36.0, 24.0]),
    AttrSpec("camera.focus_distance_m", "float", "m", frozenset({"camera"}), True, _num(0, MAX_ABS_COORD_M, True),
             10.0),
    AttrSpec("camera.f_stop", "float", "", frozenset({"camera"}), True, _num(0.5, 128), 5.6),
    AttrSpec("camera.near_m", "float", "m", frozenset({"camera"}), True, _num(0, MAX_ABS_COORD_M, True), 0.1),
    AttrSpec("camera.far_m", "float", "m", frozenset({"camera"}), True, _num(0, MAX_ABS_COORD_M, True), 1000.0),
    AttrSpec("light.type", "enum", "", frozenset({"light"}), False, _enum(LIGHT_TYPES), "point"),
    AttrSpec("light.intensity", "float", "W or W/m²", frozenset({"light"}), True, _num(0, MAX_ABS_NUMBER),
             100.0),
    AttrSpec("light.color_temperature_k", "float", "K", frozenset({"light"}), True, _num(1000, 40000), None),
    AttrSpec("light.color", "rgb", "", frozenset({"light"}), True, values.rgb, [1.0, 1.0, 1.0]),
    AttrSpec("light.cone_deg", "float", "deg", frozenset({"light"}), True, _num(1, 179), 45.0),
    AttrSpec("light.blend", "float", "", frozenset({"light"}), True, _num(0, 1), 0.15),
    AttrSpec("light.size_m", "float", "m", frozenset({"light"}), True, _num(0, MAX_ABS_COORD_M), 0.0),
    AttrSpec("light.shadow", "bool", "", frozenset({"light"}), True, values.boolean, True),
]

ATTRIBUTES: dict[str, AttrSpec] = {s.path: s for s in _SPECS}

_JOINT_ROTATION = AttrSpec("joints.*.rotation", "quat", "", frozenset({"character"}), True, values.rotation,
                           [0.0, 0.0, 0.0, 1.0])
_JOINT_POSITION = AttrSpec("joints.*.position", "vec3", "m", frozenset({"character"}), True,
                           lambda v, w: values.vec(v, 3, w), [0.0, 0.0, 0.0])


def joint_path(path: str) -> tuple[str, str] | None:
    """``joints.<name>.rotation`` → (name, "rotation"); anything else → None."""
    if not path.startswith("joints."):
        return None
    name, _, leaf = path[len("joints."):].rpartition(".")
    if not name or leaf not in ("rotation", "position"):
        return None
    return name, leaf


def spec_for(path: str, kind: str, joints: list[dict] | None = None) -> AttrSpec:
    """The spec of ``path`` on an entity of ``kind``; raises ValueError if the path does not apply.

    ``joints`` is the entity's skeleton (for ``joints.<joint>.*`` paths): the joint must exist, and only a root
    joint may carry ``position``.
    """
    if not isinstance(path, str):
        raise ValueError("path must be a string")
    jp = joint_path(path)
    if jp is not None:
        if kind != "character":
            raise ValueError(f"path {path!r} applies only to characters, not {kind}")
        name, leaf = jp
        if not joints:
            raise ValueError(f"path {path!r}: the character has no skeleton yet")
        joint = next((j for j in joints if j["name"] == name), None)
        if joint is None:
            raise ValueError(f"path {path!r}: unknown joint {name!r}")
        if leaf == "position" and joint["parent"] is not None:
            raise ValueError(f"path {path!r}: only a root joint may carry position (root motion)")
        return _JOINT_ROTATION if leaf == "rotation" else _JOINT_POSITION
    spec = ATTRIBUTES.get(path)
    if spec is None:
        raise ValueError(f"unknown attribute path {path!r}")
    if kind not in spec.kinds:
        raise ValueError(f"path {path!r} does not apply to a {kind}")
    return spec


def normalize(spec: AttrSpec, value: Any, what: str) -> Any:
    return spec.check(value, what)
