"""Sampling a world at frames (SPEC §3): world matrices, joint globals, cameras and lights, vectorised over
frames and entities.

CONTRACT (being implemented): see the dataclasses below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["JointSample", "CameraSample", "LightSample", "WorldSample", "sample", "sample_json"]


@dataclass
class JointSample:
    names: list[str]            # J joint names, parents-first (the skeleton's stored order)
    parents: np.ndarray         # (J,) int, -1 for roots
    matrices: np.ndarray        # (F, J, 4, 4) global (world) matrices of each joint


@dataclass
class CameraSample:
    K: np.ndarray               # (F, 3, 3) pixel intrinsics for the shot resolution
    world_to_camera: np.ndarray  # (F, 4, 4) OpenGL axes: camera looks down -Z, +Y up
    focal_length_mm: np.ndarray  # (F,)
    sensor_mm: np.ndarray       # (F, 2)
    focus_distance_m: np.ndarray  # (F,)
    f_stop: np.ndarray          # (F,)
    near_m: np.ndarray          # (F,)
    far_m: np.ndarray           # (F,)
    fov_deg: np.ndarray         # (F, 2) horizontal, vertical


@dataclass
class LightSample:
    type: str
    intensity: np.ndarray       # (F,)
    color: np.ndarray           # (F, 3) linear RGB; from colour temperature when that is set
    cone_deg: np.ndarray        # (F,)
    blend: np.ndarray           # (F,)
    size_m: np.ndarray          # (F,)
    shadow: np.ndarray          # (F,) bool


@dataclass
class WorldSample:
    frames: np.ndarray          # (F,) float
    ids: list[str]              # (E,) entity ids, sorted
    kinds: list[str]            # (E,)
    matrices: np.ndarray        # (F, E, 4, 4) world matrices (translation · rotation · scale, parents applied)
    visible: np.ndarray         # (F, E) bool
    color: np.ndarray           # (F, E, 3)
    joints: dict[str, JointSample] = field(default_factory=dict)
    cameras: dict[str, CameraSample] = field(default_factory=dict)
    lights: dict[str, LightSample] = field(default_factory=dict)


def sample(world, frames) -> WorldSample:
    raise NotImplementedError


def sample_json(world, frame: float) -> dict:
    raise NotImplementedError
