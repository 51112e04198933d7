"""What to render: the render job, the presets, and resolving a job against a world into a plan.

A job names a shot at an offset and how to render it; :func:`plan` checks it against the world (clear
:class:`RenderError` messages for unknown passes or presets, frames outside the shot, resolutions out of range,
missing cameras) and fixes every frame, time and size.

Presets: ``vace`` (Wan VACE: 81 frames at 16 fps, 832×480), ``cameractrl`` (CameraCtrl on AnimateDiff:
16 frames at 8 fps, 384×256, proxy + depth; ``cameras.txt`` always), ``custom`` (the given frames, or every
whole frame of the shot, at the shot's fps and resolution unless given). Preset frames are resampled from the
shot's fps: output frame ``i`` shows shot frame ``start + i · shot_fps / preset_fps``; past the shot's last frame
the last frame is held (the manifest counts them in ``held_frames``).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import msgspec
import numpy as np

__all__ = ["RenderError", "RenderJob", "Preset", "PRESETS", "IMAGE_PASSES", "DATA_PASSES", "ALL_PASSES",
           "MAX_SIDE", "MIN_SIDE", "MAX_FRAMES", "Plan", "plan", "new_job_id", "decode_job", "encode_job",
           "check_job_id", "job_key", "pack_name"]

IMAGE_PASSES = ("proxy", "depth", "normal", "instance", "pose", "lighting")
DATA_PASSES = ("keypoints", "depth_f32", "plucker")
ALL_PASSES = IMAGE_PASSES + DATA_PASSES
DEFAULT_PASSES = ("proxy", "depth", "normal", "instance", "pose", "keypoints")
MAX_SIDE = 4096
MIN_SIDE = 16
MAX_FRAMES = 2000


class RenderError(ValueError):
    """A render request that cannot be carried out as asked; the message says why and what is allowed (``field``
    names the request's field at fault, when one is)."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.field = field


class RenderJob(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    project: str
    shot: str
    seq: int | None = None              # the offset; None = head when the job runs
    preset: str = "custom"
    frames: list[float] | None = None   # custom: shot frame numbers
    start: float | None = None          # presets: first shot frame (default: the shot's first)
    passes: list[str] | None = None
    resolution: tuple[int, int] | None = None
    camera: str | None = None           # camera entity id (default: the first camera, by id)
    fps: float | None = None            # custom: output fps (default: the shot's)
    prompt: str | None = None
    depth_scale_m: float = 0.001
    job_id: str = ""


@dataclass(frozen=True)
class Preset:
    name: str
    frames: int | None
    fps: float | None
    resolution: tuple[int, int] | None
    passes: tuple[str, ...]


PRESETS = {
    "vace": Preset("vace", 81, 16.0, (832, 480), DEFAULT_PASSES),
    "cameractrl": Preset("cameractrl", 16, 8.0, (384, 256), ("proxy", "depth")),
    "custom": Preset("custom", None, None, None, DEFAULT_PASSES),
}


@dataclass(frozen=True)
class Plan:
    preset: str
    frames: np.ndarray       # (F,) shot frame numbers to sample
    times_s: np.ndarray      # (F,) output time of each frame
    fps: float               # output fps
    resolution: tuple[int, int]
    passes: tuple[str, ...]
    camera: str
    held_frames: int
    depth_scale_m: float


_job_decoder = msgspec.json.Decoder(RenderJob)
_encoder = msgspec.json.Encoder()


def decode_job(data: bytes | str) -> RenderJob:
    try:
        return _job_decoder.decode(data)
    except msgspec.ValidationError as e:
        raise RenderError(f"bad render job: {e}") from None


def encode_job(job: RenderJob) -> bytes:
    return _encoder.encode(job)


def new_job_id() -> str:
    return uuid.uuid4().hex


def check_job_id(job_id: object) -> str:
    """A job id follows the id rule of projects and shots (SPEC §2); raises RenderError naming ``job_id``."""
    from core.values import ID_RE

    if not isinstance(job_id, str) or not ID_RE.match(job_id):
        raise RenderError(f"job_id {job_id!r} must match {ID_RE.pattern}", field="job_id")
    return job_id


def job_key(project: str, job_id: str) -> str:
    """A job's key in the status bucket and its message id on the queue: job ids are scoped to their project
    (``<project>/<job_id>``, dots written as ``=``, which no id holds, so a key is one subject token)."""
    return f"{project}/{job_id}".replace(".", "=")


def pack_name(project: str, job_id: str) -> str:
    """Where a job's pack is stored: ``<project>/<job_id>`` (a folder, or the object name's stem)."""
    return f"{project}/{job_id}"


def _check_resolution(res) -> tuple[int, int]:
    w, h = (int(x) for x in res)
    if w > MAX_SIDE or h > MAX_SIDE:
        raise RenderError(f"resolution {w}×{h} is too large: at most {MAX_SIDE} pixels per side")
    if w < MIN_SIDE or h < MIN_SIDE:
        raise RenderError(f"resolution {w}×{h} is too small: at least {MIN_SIDE} pixels per side")
    if w % 2 or h % 2:
        raise RenderError(f"resolution {w}×{h} must be even in both sides (H.264 video)")
    return w, h


def check_request(job: RenderJob):
    """Checks that need no world: ids, preset, passes, resolution, numbers. Raises RenderError."""
    from core.values import ID_RE

    for what, value in (("project", job.project), ("shot", job.shot)):
        if not ID_RE.match(value):
            raise RenderError(f"{what} {value!r} must match {ID_RE.pattern}", field=what)
    if job.job_id:
        check_job_id(job.job_id)
    if job.preset not in PRESETS:
        raise RenderError(f"unknown preset {job.preset!r}; presets: {', '.join(PRESETS)}")
    for p in job.passes or ():
        if p not in ALL_PASSES:
            raise RenderError(f"unknown pass {p!r}; passes: {', '.join(ALL_PASSES)}")
    if job.resolution is not None:
        _check_resolution(job.resolution)
    if not (math.isfinite(job.depth_scale_m) and 1e-5 <= job.depth_scale_m <= 1.0):
        raise RenderError(f"depth_scale_m must be within 1e-5–1 m, got {job.depth_scale_m}")
    if job.fps is not None and not (math.isfinite(job.fps) and 0 < job.fps <= 1000):
        raise RenderError(f"fps must be within (0, 1000], got {job.fps}")
    if job.frames is not None:
        if job.preset != "custom":
            raise RenderError(f"frames are given only with the custom preset (the {job.preset} preset fixes them)")
        if not job.frames:
            raise RenderError("frames is empty")
        if len(job.frames) > MAX_FRAMES:
            raise RenderError(f"{len(job.frames)} frames requested; at most {MAX_FRAMES}")
        if not all(math.isfinite(f) for f in job.frames):
            raise RenderError("frames must be finite numbers")
    if job.seq is not None and job.seq < 0:
        raise RenderError(f"seq must be ≥ 0, got {job.seq}")


def plan(job: RenderJob, world) -> Plan:
    """Resolve ``job`` against ``world`` (a core World). Raises RenderError."""
    check_request(job)
    preset = PRESETS[job.preset]
    lo, hi = world.frame_start, world.frame_end
    held = 0
    if preset.frames is not None:
        start = lo if job.start is None else float(job.start)
        if not lo <= start <= hi:
            raise RenderError(f"start frame {start:g} is outside the shot's frames {lo:g}–{hi:g}")
        raw = start + np.arange(preset.frames) * (world.fps / preset.fps)
        held = int(np.sum(raw > hi + 1e-9))
        frames = np.minimum(raw, hi)
        fps = preset.fps
    else:
        if job.frames is not None:
            frames = np.asarray(job.frames, dtype=np.float64)
            bad = frames[(frames < lo - 1e-9) | (frames > hi + 1e-9)]
            if bad.size:
                raise RenderError(f"frames {bad[:5].tolist()} are outside the shot's frames {lo:g}–{hi:g}")
        else:
            first = math.ceil(lo) if job.start is None else float(job.start)
            if not lo <= first <= hi:
                raise RenderError(f"start frame {first:g} is outside the shot's frames {lo:g}–{hi:g}")
            frames = np.arange(first, hi + 1e-9, 1.0)
            if len(frames) > MAX_FRAMES:
                raise RenderError(f"the shot has {len(frames)} frames; at most {MAX_FRAMES} per pack "
                                  "(give frames explicitly)")
        fps = float(job.fps or world.fps)
    resolution = _check_resolution(job.resolution or preset.resolution or world.resolution)
    passes = tuple(dict.fromkeys(job.passes)) if job.passes else preset.passes
    cameras = sorted(eid for eid, e in world.entities.items() if e.kind == "camera")
    if job.camera is not None:
        if job.camera not in world.entities:
            raise RenderError(f"unknown camera {job.camera!r}; cameras: {cameras}")
        if world.entities[job.camera].kind != "camera":
            raise RenderError(f"{job.camera!r} is a {world.entities[job.camera].kind}, not a camera")
        camera = job.camera
    elif cameras:
        camera = cameras[0]
    else:
        raise RenderError("the shot has no camera entity to render through")
    times = np.arange(len(frames)) / fps
    return Plan(job.preset, frames, times, fps, resolution, passes, camera, held, float(job.depth_scale_m))
