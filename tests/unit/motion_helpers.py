"""Shared by the motion tests: a shot reducer driven like the runtime drives it (a person's event, then the
motion agent's proposals as its own events), and foot-skating measurement over the sampled world."""

from __future__ import annotations

import numpy as np

from agents.motion.agent import MotionAgent
from core.motion.rigs import info
from core.sampling import sample
from events.envelope import Actor, Event
from projections.reducer import ShotReducer

USER = Actor(kind="user", id="ann")
MOTION = Actor(kind="agent", id="motion")


class Shot:
    def __init__(self):
        self.red = ShotReducer("p", "s")
        self.seq = 0
        self.agent = MotionAgent()

    @property
    def world(self):
        return self.red.world

    def apply(self, actor: Actor, ops: list) -> Event:
        self.seq += 1
        ev = Event(event_id=f"e{self.seq}", command_id=f"c{self.seq}", project="p", shot="s", actor=actor, ops=ops)
        out = self.red.apply(self.seq, ev)
        assert out.applied, out.reason
        return ev

    def person(self, ops: list) -> list:
        """A person's event, then every proposal the motion agent makes for it, applied; returns the proposals."""
        ev = self.apply(USER, ops)
        proposals = self.agent.decide(self.world, ev, self.seq)
        for p in proposals:
            self.apply(MOTION, p.ops)
        return proposals


def feet_points(joints) -> list[str]:
    ri = info(joints)
    return [n for leg in ri.legs for n in (leg.lower, leg.end)]


def skating(world, eid: str, frames, fps: float = 24.0) -> tuple[float, int]:
    """(worst horizontal speed of a foot joint that is within 5 cm of the ground in two consecutive frames, number
    of such contact pairs)."""
    s = sample(world, frames)
    js = s.joints[eid]
    worst, contacts = 0.0, 0
    for name in feet_points(world.entities[eid].props["skeleton"]):
        p = js.matrices[:, js.names.index(name), :3, 3]
        low = p[:, 1] < 0.05
        both = low[1:] & low[:-1]
        speed = np.linalg.norm((p[1:] - p[:-1])[:, [0, 2]], axis=1) * fps
        contacts += int(both.sum())
        if both.any():
            worst = max(worst, float(speed[both].max()))
    return worst, contacts
