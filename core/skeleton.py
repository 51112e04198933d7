"""Skeletons of any topology: a list of joints ``{name, parent, offset, rotation, limits_deg?, radius_m?}``.

``offset`` is the joint's rest translation in its parent's frame (metres), ``rotation`` its rest rotation
(unit quaternion, scalar last), ``radius_m`` the radius of the white-box bone ending at the joint (SPEC §7.2,
:mod:`core.bodies`; 1 mm – 10 m). Joints are stored parents-first, so forward kinematics is one pass.
"""

from __future__ import annotations

from typing import Any

from . import values

__all__ = ["normalize_joints", "MAX_JOINTS", "RADIUS_RANGE_M"]

MAX_JOINTS = 512
RADIUS_RANGE_M = (1e-3, 10.0)


def normalize_joints(joints: Any, what: str = "skeleton") -> list[dict]:
    """Check a joint list and return it canonical and parents-first.

    Raises ValueError for duplicate or malformed names, unknown parents, cycles, bad offsets, rotations or limits.
    """
    if not isinstance(joints, list) or not joints:
        raise ValueError(f"{what} must be a non-empty list of joints")
    if len(joints) > MAX_JOINTS:
        raise ValueError(f"{what} has {len(joints)} joints; at most {MAX_JOINTS}")
    by_name: dict[str, dict] = {}
    order: list[str] = []
    for i, j in enumerate(joints):
        where = f"{what}[{i}]"
        if not isinstance(j, dict):
            raise ValueError(f"{where} must be an object")
        unknown = set(j) - {"name", "parent", "offset", "rotation", "limits_deg", "radius_m"}
        if unknown:
            raise ValueError(f"{where} has unknown fields {sorted(unknown)}")
        name = values.check_id(j.get("name"), f"{where}.name")
        if name in by_name:
            raise ValueError(f"{where}: duplicate joint name {name!r}")
        parent = j.get("parent")
        if parent is not None:
            values.check_id(parent, f"{where}.parent")
        out: dict[str, Any] = {
            "name": name,
            "parent": parent,
            "offset": values.vec(j.get("offset", [0.0, 0.0, 0.0]), 3, f"{where}.offset"),
            "rotation": values.rotation(j.get("rotation", [0.0, 0.0, 0.0, 1.0]), f"{where}.rotation"),
        }
        if j.get("limits_deg") is not None:
            lim = j["limits_deg"]
            if not isinstance(lim, list) or len(lim) != 3:
                raise ValueError(f"{where}.limits_deg must be [[xmin, xmax], [ymin, ymax], [zmin, zmax]]")
            pairs = []
            for a, pair in zip("xyz", lim):
                lo, hi = values.vec(pair, 2, f"{where}.limits_deg.{a}", limit=360.0)
                if lo > hi:
                    raise ValueError(f"{where}.limits_deg.{a}: min {lo} > max {hi}")
                pairs.append([lo, hi])
            out["limits_deg"] = pairs
        if j.get("radius_m") is not None:
            out["radius_m"] = values.number(j["radius_m"], f"{where}.radius_m", lo=RADIUS_RANGE_M[0],
                                            hi=RADIUS_RANGE_M[1])
        by_name[name] = out
        order.append(name)
    roots = [n for n in order if by_name[n]["parent"] is None]
    if not roots:
        raise ValueError(f"{what} has no root joint (one joint must have no parent)")
    for n in order:
        p = by_name[n]["parent"]
        if p is not None and p not in by_name:
            raise ValueError(f"{what}: joint {n!r} has unknown parent {p!r}")
    # parents-first order, stable with respect to the input; anything left over is in a cycle
    placed: list[str] = []
    seen: set[str] = set()
    pending = list(order)
    while pending:
        rest = [n for n in pending if not (by_name[n]["parent"] is None or by_name[n]["parent"] in seen)]
        ready = [n for n in pending if n not in rest]
        if not ready:
            raise ValueError(f"{what}: parent cycle among joints {sorted(rest)}")
        for n in ready:
            placed.append(n)
            seen.add(n)
        pending = rest
    return [by_name[n] for n in placed]
