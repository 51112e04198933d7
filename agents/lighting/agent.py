"""The ``lighting`` agent (SPEC §7.1): a lighting directive ``{preset, subject?, start?, end?, params?}`` becomes
the preset's lights, placed relative to the subject and the camera (:mod:`agents.lighting.presets`).

One proposal per solve: ``entity.create`` (or ``entity.set`` on a re-solve) of each light ``<directive>.<role>``
with type, power, colour temperature (or colour), cone, blend, size, position and rotation; a ``look_at`` relation
``<directive>.<role>.aim`` keeps spots and areas aimed at the subject's centre, and (unless ``follow: false``) an
``attached_to`` relation ``<directive>.<role>.follow`` carries them with the subject, placed where the preset
puts them at ``start`` (their position is then in the subject's frame); suns get their rotation from azimuth and
elevation. Animated presets (``sunset``) key the sun's rotation, intensity and colour
temperature from ``start`` to ``end`` instead. Then a ``directive.update`` with ``report`` = ``{status: done,
params_hash, preset, reference_irradiance_w_m2, lights: {id: {role, type, ratio, temperature_k | color, …}}}``.

Params (``params.params``): ``camera`` (whose view sets the reference direction; default the first camera by
id), ``key_side`` (``left`` — the camera's left, the default — or ``right``), ``azimuth_deg`` (turns the whole
rig), ``intensity_scale`` (> 0, scales every light), ``sun_azimuth_deg`` / ``sun_elevation_deg`` (a preset's sun
or moon placed in the world instead: compass azimuth, 0° = north = −Z, 90° = east = +X), ``follow`` (default
true: the lights travel with the subject). Bad input (unknown preset, subject or camera, an empty range,
unknown keys) gets ``{status: failed, reason}`` and nothing else. A person's change to a light the agent made is a
pin: re-solving leaves that value alone. Triggers: the directive's add / update (params changed), and the
subject appearing when a directive failed for want of it.
"""

from __future__ import annotations

import math

import numpy as np

from agents.base import Proposal, register
from agents.camera.spec import params_hash
from core import illumination as IL
from core import ops as O
from core import quat, transform
from core.ops import op_entity_ids
from core.sampling import sample
from core.subject import entity_boxes
from core.world import World
from events.envelope import Event

from .presets import PRESETS, Role

__all__ = ["LightingAgent", "LightingError", "solve_lighting", "AGENT"]

AGENT = "lighting"
_TOP = {"preset", "subject", "start", "end", "params", "pins", "report"}
_INNER = {"camera", "key_side", "azimuth_deg", "intensity_scale", "sun_azimuth_deg", "sun_elevation_deg", "follow"}
_SET_PATHS = ("light.type", "light.intensity", "light.color_temperature_k", "light.color", "light.cone_deg",
              "light.blend", "light.size_m", "transform.position", "transform.rotation")
_ANIMATED_PATHS = ("transform.rotation", "light.intensity", "light.color_temperature_k")


class LightingError(ValueError):
    """A lighting directive that cannot be carried out as written."""


class LightingAgent:
    name = AGENT
    generative = True

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        if event.actor.kind == "agent" and event.actor.id == self.name:
            return []
        changed = {op.id for op in event.ops if isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate))}
        touched = {e for op in event.ops for e in op_entity_ids(op)}
        out = []
        for did in sorted(world.directives):
            d = world.directives[did]
            if d.agent != self.name:
                continue
            report = d.params.get("report") if isinstance(d.params.get("report"), dict) else None
            if did in changed:
                if report is None or report.get("params_hash") != params_hash(d.params):
                    out.append(solve_lighting(world, did, d.params))
            elif report is not None and d.params.get("subject") in touched:
                # the subject appeared (a failed directive) or moved: place the lights around it again
                prop = solve_lighting(world, did, d.params)
                if report.get("status") == "failed" or _moves_something(prop):
                    out.append(prop)
        return out


def _number(v, what: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise LightingError(f"{what} must be a finite number, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise LightingError(f"{what} must be within [{lo}, {hi}], got {v!r}")
    return float(v)


def _parse(world: World, params: dict):
    unknown = sorted(set(params) - _TOP)
    if unknown:
        raise LightingError(f"unknown params keys {unknown}; known: {sorted(_TOP - {'report'})}")
    name = params.get("preset")
    if name not in PRESETS:
        raise LightingError(f"params.preset must be one of {sorted(PRESETS)}, got {name!r}")
    subject = params.get("subject")
    if subject is not None:
        e = world.entities.get(subject)
        if e is None:
            raise LightingError(f"unknown subject {subject!r}")
        if e.kind in ("camera", "light"):
            raise LightingError(f"subject {subject!r} is a {e.kind}; light a character, prop or environment")
    start = _number(params["start"], "params.start") if "start" in params else float(world.frame_start)
    end = _number(params["end"], "params.end") if "end" in params else float(world.frame_end)
    if not end > start:
        raise LightingError(f"the frame range is empty: start {start:g} must be before end {end:g}")
    inner = params.get("params") or {}
    if not isinstance(inner, dict):
        raise LightingError("params.params must be an object")
    bad = sorted(set(inner) - _INNER)
    if bad:
        raise LightingError(f"unknown params.params keys {bad}; known: {sorted(_INNER)}")
    camera = inner.get("camera")
    if camera is not None and (camera not in world.entities or world.entities[camera].kind != "camera"):
        raise LightingError(f"params.params.camera {camera!r} is not a camera of this shot")
    if camera is None:
        cams = sorted(eid for eid, e in world.entities.items() if e.kind == "camera")
        camera = cams[0] if cams else None
    side = inner.get("key_side", "left")
    if side not in ("left", "right"):
        raise LightingError(f"params.params.key_side must be left or right, got {side!r}")
    turn = _number(inner.get("azimuth_deg", 0.0), "params.params.azimuth_deg", -360, 360)
    scale = _number(inner.get("intensity_scale", 1.0), "params.params.intensity_scale", 1e-6, 1e6)
    sun = None
    if "sun_azimuth_deg" in inner or "sun_elevation_deg" in inner:
        if not any(r.type == "sun" for r in PRESETS[name].roles):
            raise LightingError(f"preset {name!r} has no sun to place by azimuth and elevation")
        sun = (_number(inner.get("sun_azimuth_deg", 180.0), "params.params.sun_azimuth_deg", -360, 360),
               _number(inner.get("sun_elevation_deg", 30.0), "params.params.sun_elevation_deg", -10, 90))
    follow = inner.get("follow", True)
    if not isinstance(follow, bool):
        raise LightingError(f"params.params.follow must be true or false, got {follow!r}")
    return PRESETS[name], subject, start, end, camera, side, turn, scale, sun, follow and subject is not None


def _frame(world: World, subject: str | None, camera: str | None, start: float):
    """The subject's centre, the horizontal reference direction (towards the camera) and the subject's rigid world
    matrix (what an attached light hangs from) at ``start``."""
    s = sample(world, [start])
    anchor = np.eye(4)
    if subject is not None:
        anchor = transform.rigid(s.matrices[0, s.ids.index(subject)])
        lo, hi = entity_boxes(world, s, subject)
        centre = ((lo + hi) / 2)[0]
        facing = s.matrices[0, s.ids.index(subject), :3, 2].copy()
    else:
        centre, facing = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
        if camera is not None:
            m = s.matrices[0, s.ids.index(camera)]
            focus = float(s.cameras[camera].focus_distance_m[0])
            centre = m[:3, 3] - m[:3, 2] / np.linalg.norm(m[:3, 2]) * focus
    ref = facing
    if camera is not None:
        ref = s.matrices[0, s.ids.index(camera), :3, 3] - centre
    ref = ref * np.array([1.0, 0.0, 1.0])
    if np.linalg.norm(ref) < 1e-9:
        ref = np.array([0.0, 0.0, 1.0])
    return centre, ref / np.linalg.norm(ref), anchor


def _direction(ref: np.ndarray, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector from the subject: ``ref`` turned by azimuth about −Y (positive = clockwise seen from above,
    towards the camera's left when ref points at the camera), raised by elevation."""
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    c, s = math.cos(a), math.sin(a)
    h = np.array([c * ref[0] - s * ref[2], 0.0, s * ref[0] + c * ref[2]])
    return math.cos(e) * h + math.sin(e) * np.array([0.0, 1.0, 0.0])


def _rotation_towards(direction) -> list[float]:
    """The quaternion of a light shining along ``direction`` (its −Z)."""
    r, _ = transform.aim_rotation(np.asarray(direction, dtype=np.float64), forward="-z")
    return [round(float(x), 9) + 0.0 for x in quat.from_matrix(r)]


def sun_direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector towards a sun at a compass azimuth (0° = north = −Z, 90° = east = +X, clockwise seen from
    above) and an elevation above the horizon."""
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.sin(a) * math.cos(e), math.sin(e), -math.cos(a) * math.cos(e)])


def _values(role: Role, centre, ref, side: str, turn: float, level: float, scale: float, elevation=None,
            ratio=None, temperature=None, sun=None) -> dict:
    az = (role.azimuth_deg if side == "left" else -role.azimuth_deg) + turn
    el = role.elevation_deg if elevation is None else elevation
    ratio = role.ratio if ratio is None else ratio
    if role.type == "sun" and sun is not None:
        # a sun placed in the world: its compass azimuth, and the elevation given (or, at an animation's end,
        # lowered by as much as the preset lowers it)
        to_light = sun_direction(sun[0], sun[1] + (el - role.elevation_deg))
    else:
        to_light = _direction(ref, az, el)
    e = ratio * level * IL.REFERENCE_IRRADIANCE * scale
    if role.type == "sun":
        pos = centre + 20.0 * to_light
        power = e
    else:
        pos = centre + role.distance_m * to_light
        power = float(IL.power_for_irradiance(e, role.distance_m))
    v = {
        "light.type": role.type,
        "light.intensity": round(float(power), 9),
        "transform.position": [round(float(x), 9) + 0.0 for x in pos],
        "transform.rotation": _rotation_towards(-to_light),
        "light.cone_deg": float(role.cone_deg),
        "light.blend": float(role.blend),
        "light.size_m": float(role.size_m),
    }
    t = role.temperature_k if temperature is None else temperature
    if t is not None:
        v["light.color_temperature_k"] = float(t)
    if role.color is not None:
        v["light.color"] = [float(c) for c in role.color]
    return v


def _failed(did: str, params: dict, reason: str) -> Proposal:
    new = {k: v for k, v in params.items() if k != "report"}
    new["report"] = {"status": "failed", "reason": reason, "params_hash": params_hash(params)}
    return Proposal([O.DirectiveUpdate(id=did, params=new)], f"lighting {did} failed: {reason}")


def _close(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(abs(float(x) - float(y)) <= 1e-6 for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) <= 1e-6
    return a == b


def solve_lighting(world: World, did: str, params: dict) -> Proposal:
    """The lights of lighting directive ``did`` (pure; see the module docstring)."""
    try:
        preset, subject, start, end, camera, side, turn, scale, sun, follow = _parse(world, params)
    except LightingError as e:
        return _failed(did, params, str(e))
    centre, ref, anchor = _frame(world, subject, camera, start)
    old = (params.get("report") or {}).get("lights") or {} if isinstance(params.get("report"), dict) else {}
    ops: list = []
    lights: dict[str, dict] = {}
    pinned: dict[str, list] = {}
    wanted = {f"{did}.{r.role}" for r in preset.roles}
    for lid in sorted(old):
        if lid not in wanted and lid in world.entities and not _changed_by_person(world.entities[lid], old[lid]):
            ops.append(O.EntityRemove(id=lid))
    for role in preset.roles:
        lid = f"{did}.{role.role}"
        v = _values(role, centre, ref, side, turn, preset.level, scale, sun=sun)
        animated = preset.animated and (role.end_elevation_deg is not None or role.end_ratio is not None
                                        or role.end_temperature_k is not None)
        v_end = _values(role, centre, ref, side, turn, preset.level, scale, role.end_elevation_deg,
                        role.end_ratio, role.end_temperature_k, sun) if animated else None
        e = world.entities.get(lid)
        if e is not None and e.kind != "light":
            return _failed(did, params, f"entity {lid!r} exists and is a {e.kind}, not a light")
        hang = follow and role.type != "sun"
        if hang:   # the light travels with the subject: its position is kept in the subject's frame
            local = np.linalg.inv(anchor) @ np.append(np.asarray(v["transform.position"]), 1.0)
            v["transform.position"] = [round(float(x), 9) + 0.0 for x in local[:3]]
        static = {k: x for k, x in v.items() if not (animated and k in _ANIMATED_PATHS)}
        if e is None:
            ops.append(O.EntityCreate(id=lid, kind="light", name=f"{preset.name} {role.role}", props=static))
        else:
            rec = old.get(lid, {}).get("values", {})
            keep = [k for k in _SET_PATHS if k in e.props and k in rec and not _close(e.props[k], rec[k])]
            if keep:
                pinned[lid] = keep
            for k, x in static.items():
                if k not in keep and not _close(e.props.get(k), x):
                    ops.append(O.EntitySet(id=lid, path=k, value=x))
        if animated:
            for path in _ANIMATED_PATHS:
                if e is not None and path in e.tracks:
                    ops.append(O.TrackClear(id=lid, path=path))
                ops.append(O.KeySet(id=lid, path=path, frame=start, value=v[path], interp="auto"))
                ops.append(O.KeySet(id=lid, path=path, frame=end, value=v_end[path], interp="auto"))
        fid = f"{lid}.follow"
        r = world.relations.get(fid)
        if hang and (r is None or r.object != subject):
            if r is not None:
                ops.append(O.RelationRemove(id=fid))
            ops.append(O.RelationAdd(id=fid, kind="attached_to", subject=lid, object=subject))
        elif not hang and r is not None:
            ops.append(O.RelationRemove(id=fid))
        rid = f"{lid}.aim"
        if subject is not None and role.type != "sun":
            r = world.relations.get(rid)
            if r is None or r.object != subject:
                if r is not None:
                    ops.append(O.RelationRemove(id=rid))
                ops.append(O.RelationAdd(id=rid, kind="look_at", subject=lid, object=subject))
        elif rid in world.relations:
            ops.append(O.RelationRemove(id=rid))
        info = {"role": role.role, "type": role.type, "ratio": role.ratio, "values": static}
        if role.temperature_k is not None:
            info["temperature_k"] = float(role.temperature_k)
        if role.color is not None:
            info["color"] = [float(c) for c in role.color]
        if animated:
            info["animated"] = {"start": start, "end": end,
                                "ratio": [role.ratio, role.ratio if role.end_ratio is None else role.end_ratio],
                                "temperature_k": [role.temperature_k, role.end_temperature_k or role.temperature_k],
                                "elevation_deg": [role.elevation_deg,
                                                  role.end_elevation_deg or role.elevation_deg]}
        lights[lid] = info
    new = {k: x for k, x in params.items() if k != "report"}
    new["report"] = {
        "status": "done",
        "params_hash": params_hash(params),
        "preset": preset.name,
        "level": preset.level,
        "reference_irradiance_w_m2": IL.REFERENCE_IRRADIANCE,
        "subject": subject,
        "camera": camera,
        "centre": [round(float(c), 6) + 0.0 for c in centre],
        "lights": lights,
        "pinned": pinned,
    }
    ops.append(O.DirectiveUpdate(id=did, params=new))
    return Proposal(ops, f"lighting {did}: {preset.name}, {len(preset.roles)} lights"
                         + (f" on {subject}" if subject else ""))


def _moves_something(prop: Proposal) -> bool:
    """Whether a re-solve changes any light (not only the report)."""
    return any(not isinstance(op, O.DirectiveUpdate) for op in prop.ops)


def _changed_by_person(e, rec: dict) -> bool:
    vals = rec.get("values", {})
    return any(k in e.props and not _close(e.props[k], v) for k, v in vals.items())


@register(AGENT)
def _make() -> LightingAgent:
    return LightingAgent()
