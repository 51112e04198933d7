"""BVH export of one character (pure text).

- HIERARCHY: the skeleton's joints in their stored (parents-first) order, depth first; ``OFFSET`` = the joint's
  rest offset times the character's scale at the first frame, in metres (importers such as Blender's ask for a
  scale; BVH has no unit). A skeleton with several roots gets a synthetic ``ROOT <entity>_root`` at the
  character's origin. Leaf joints end with ``End Site { OFFSET 0 0 0 }``.
- Channels: the root has ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``, every other joint
  ``Zrotation Xrotation Yrotation`` (degrees; intrinsic Z then X then Y, i.e. R = Rz · Rx · Ry, scipy's
  ``from_euler('ZXY', …)``).
- MOTION: one line per shot frame, ``Frame Time`` = 1 / fps. The root's channels are its world transform (the
  entity's world matrix with scale removed, times the root joint's local transform), so the file carries the
  character's path through the shot; other joints carry their local rotation ``rest · animated`` (BVH has no
  separate rest rotation).

A character whose scale is not uniform, or changes over the shot, cannot be written exactly (BVH offsets are
fixed lengths), nor root motion on a root of a multi-root skeleton: both are refused with ExportError.
"""

from __future__ import annotations

import numpy as np

from core import quat, transform

from .scene import EntityTrack, ExportError, ExportScene

__all__ = ["bvh_text", "bvh_bytes", "CHANNELS_ROOT", "CHANNELS_JOINT"]

CHANNELS_ROOT = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
CHANNELS_JOINT = ("Zrotation", "Xrotation", "Yrotation")


def _euler_zxy_deg(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) → degrees (..., 3) as (z, x, y) with R = Rz(z) · Rx(x) · Ry(y)."""
    from scipy.spatial.transform import Rotation

    shape = m.shape[:-2]
    e = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True)
    return e.reshape(shape + (3,))


def _fmt(x: float) -> str:
    s = f"{x:.9f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def bvh_text(scene: ExportScene, entity: str | None = None) -> str:
    """The BVH file of the scene's character ``entity`` (its only entity when None)."""
    chars = [t for t in scene.entities if t.kind == "character" and t.skin is not None
             and (entity is None or t.id == entity)]
    if len(chars) != 1:
        raise ExportError("a BVH export is of exactly one character with a skeleton")
    t: EntityTrack = chars[0]
    sk = t.skin
    scale = t.scale
    if not (np.allclose(scale, scale[:1, :1], rtol=1e-9, atol=1e-12)):
        raise ExportError(f"character {t.id!r} has a non-uniform or animated scale; BVH offsets cannot carry it",
                          "entity")
    s = float(scale[0, 0])
    n_f, n_j = sk.rotation.shape[:2]
    roots = [j for j in range(n_j) if sk.parents[j] < 0]
    children = {j: [k for k in range(n_j) if sk.parents[k] == j] for j in range(n_j)}
    base = transform.rigid(t.matrix)                                     # (F, 4, 4) entity world, no scale
    offsets = sk.rest_local[:, :3, 3] * s
    local_r = quat.to_matrix(sk.rotation)                                # (F, J, 3, 3)

    lines = ["HIERARCHY"]
    order: list[int] = []                                                # joints in file order

    def joint(j: int, depth: int, keyword: str) -> None:
        pad = "  " * depth
        lines.append(f"{pad}{keyword} {sk.names[j]}")
        lines.append(f"{pad}{{")
        off = [0.0, 0.0, 0.0] if keyword == "ROOT" else offsets[j]
        lines.append(f"{pad}  OFFSET {' '.join(_fmt(x) for x in off)}")
        chans = CHANNELS_ROOT if keyword == "ROOT" else CHANNELS_JOINT
        lines.append(f"{pad}  CHANNELS {len(chans)} {' '.join(chans)}")
        order.append(j)
        for c in children[j]:
            joint(c, depth + 1, "JOINT")
        if not children[j]:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET 0 0 0")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    if len(roots) == 1:
        root_world = base @ _local(sk, roots[0], local_r, s)             # (F, 4, 4)
        joint(roots[0], 0, "ROOT")
        columns = [root_world[:, :3, 3], _euler_zxy_deg(root_world[:, :3, :3])]
    else:
        name = f"{t.id}_root"
        lines.append(f"ROOT {name}")
        lines.append("{")
        lines.append("  OFFSET 0 0 0")
        lines.append(f"  CHANNELS 6 {' '.join(CHANNELS_ROOT)}")
        for r in roots:
            joint(r, 1, "JOINT")
        lines.append("}")
        columns = [base[:, :3, 3], _euler_zxy_deg(base[:, :3, :3])]
    for j in order:
        if len(roots) == 1 and j == roots[0]:
            continue
        if sk.parents[j] < 0:             # a root under the synthetic root: BVH joints only rotate
            if np.any(np.abs(sk.translation[:, j] - sk.rest_local[None, j, :3, 3]) > 1e-12):
                raise ExportError(f"joint {sk.names[j]!r} of a multi-root skeleton has root motion; BVH cannot "
                                  "carry it")
        columns.append(_euler_zxy_deg(local_r[:, j]))
    motion = np.concatenate(columns, axis=1)
    lines.append("MOTION")
    lines.append(f"Frames: {n_f}")
    lines.append(f"Frame Time: {_fmt(1.0 / scene.fps)}")
    for row in motion:
        lines.append(" ".join(_fmt(x) for x in row))
    return "\n".join(lines) + "\n"


def _local(sk, j: int, local_r: np.ndarray, s: float) -> np.ndarray:
    """(F, 4, 4) local transform of joint j, its translation scaled by s."""
    m = np.zeros(local_r.shape[:1] + (4, 4))
    m[:, :3, :3] = local_r[:, j]
    m[:, :3, 3] = sk.translation[:, j] * s
    m[:, 3, 3] = 1.0
    return m


def bvh_bytes(scene: ExportScene, entity: str | None = None, progress=None) -> bytes:
    out = bvh_text(scene, entity).encode()
    if progress is not None:
        progress(1, 1)
    return out
