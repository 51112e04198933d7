"""A shot's world folded through the real reducer with the shot agent deciding on each person's event, and
framing checks computed from the sampled world (core only), for the camera tests."""

from __future__ import annotations

import numpy as np

from agents.camera.agent import ShotAgent
from core import camera as C
from core import lens
from core.sampling import sample
from core.subject import entity_boxes
from events.envelope import Actor, Event
from projections.reducer import ShotReducer

USER = Actor(kind="user", id="ann")
SHOT = Actor(kind="agent", id="shot")


class Rig:
    def __init__(self, agent: ShotAgent | None = None):
        self.red = ShotReducer("p", "s")
        self.agent = agent or ShotAgent()
        self.n = 0
        self.published: list = []

    @property
    def world(self):
        return self.red.world

    def fold(self, actor: Actor, ops: list, causation: int | None = None) -> tuple[int, Event]:
        self.n += 1
        e = Event(event_id=f"e{self.n}", command_id=f"c{self.n}", project="p", shot="s", actor=actor, ops=ops,
                  causation=causation)
        out = self.red.apply(self.n, e)
        assert out.applied, out
        return self.n, e

    def edit(self, *ops) -> list:
        """A person's edit, then whatever the agent proposes for it, folded as the runtime would."""
        seq, e = self.fold(USER, list(ops))
        proposals = self.agent.decide(self.world, e, seq)
        for p in proposals:
            self.fold(SHOT, p.ops, causation=seq)
            again = self.agent.decide(self.world, Event(event_id="x", command_id="x", project="p", shot="s",
                                                        actor=SHOT, ops=p.ops), self.n)
            assert again == []
        self.published.extend(proposals)
        return proposals

    def report(self, did: str) -> dict:
        return self.world.directives[did].params["report"]


def framing(world, camera: str, subject: str, frames, joint: str | None = None) -> dict:
    """σ and where the subject lands, straight from the sampled world. σ is the subject's height over the frame
    height at the depth of the framed point: the joint, or the point of the subject's vertical axis (through its
    box centre) on the image's middle row (the nearest end of the axis when it does not reach that row)."""
    frames = np.asarray(frames, dtype=np.float64)
    W, H = world.resolution
    s = sample(world, frames)
    cam = s.cameras[camera]
    lo, hi = entity_boxes(world, s, subject)
    centre = (lo + hi) / 2
    uv, depth = C.project(cam.K, cam.world_to_camera, centre[:, None], return_depth=True)
    top = np.stack([centre[:, 0], hi[:, 1], centre[:, 2]], axis=1)
    bottom = np.stack([centre[:, 0], lo[:, 1], centre[:, 2]], axis=1)
    top_uv = C.project(cam.K, cam.world_to_camera, top[:, None])[:, 0]
    if joint is not None:
        js = s.joints[subject]
        framed = js.matrices[:, js.names.index(joint), :3, 3]
    else:
        t = np.linspace(0.0, 1.0, 1001)
        axis = top[:, None] + t[None, :, None] * (bottom - top)[:, None]
        a_uv, a_depth = C.project(cam.K, cam.world_to_camera, axis, return_depth=True)
        ok = a_depth > 0
        framed = axis[np.arange(len(frames)), np.argmin(np.where(ok, np.abs(a_uv[..., 1] - H / 2), np.inf), axis=1)]
    f_uv, f_depth = C.project(cam.K, cam.world_to_camera, framed[:, None], return_depth=True)
    sensor_h = lens.image_sensor_height_mm(cam.sensor_mm, (W, H))
    sigma = lens.size_fraction(hi[:, 1] - lo[:, 1], cam.focal_length_mm, sensor_h, f_depth[:, 0])
    out = {"sigma": sigma, "centre_uv": uv[:, 0], "centre_depth": depth[:, 0], "top_uv": top_uv,
           "framed_uv": f_uv[:, 0], "position": np.linalg.inv(cam.world_to_camera)[:, :3, 3],
           "focal": cam.focal_length_mm, "focus": cam.focus_distance_m}
    if joint is not None:
        out["joint_uv"] = f_uv[:, 0]
    return out


def jerk(positions, fps: float) -> float:
    """Largest ‖Δ³ position‖ · fps³ over consecutive whole frames (m/s³)."""
    p = np.asarray(positions, dtype=np.float64)
    return float(np.linalg.norm(np.diff(p, n=3, axis=0), axis=1).max() * fps ** 3)
