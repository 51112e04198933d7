"""The ``collision`` repair agent: an edited prop or character that interpenetrates another is moved by the smallest
horizontal move that separates them.

Checked at every keyed frame of the edited entity and of every animated solid, and at sampled frames when anything
is animated (:func:`agents.repair.check_frames`) — those the edit changed, when it only set or removed keys
(:func:`agents.repair.changed_span`). The moved entity is always the one the event edited; a static one
moves as a whole, an animated one gets its key at the contact frame moved (or a key added there). Moves repeat
(bounded) until the entity is free or MAX_ITERATIONS is reached, and become one event per entity:
``"moved chair-1 0.20 m −x: intersected table-1 at frame 0"``.
"""

from __future__ import annotations

import numpy as np

from core.world import World
from events.envelope import Event

from . import geometry as G
from . import repair as R
from . import spatial
from .base import Proposal, register

__all__ = ["CollisionAgent", "MAX_ITERATIONS", "CLEARANCE_M"]

MAX_ITERATIONS = 8
CLEARANCE_M = 2e-3
"""Gap left after a separating move, so the result no longer counts as touching."""


class CollisionAgent:
    name = "collision"
    generative = False

    def __init__(self, asset_size: G.AssetSize | None = None):
        self.asset_size = asset_size

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        return R.repair_each(world, event, self.name, self._separate, spatial.index_for(world, self.asset_size))

    def _separate(self, mv: R.Mover, eid: str) -> str | None:
        hits: list[str] = []
        first_frame = None
        total = np.zeros(3)
        for _ in range(MAX_ITERATIONS):
            contact = _first_contact(mv, eid)
            if contact is None:
                break
            if first_frame is None:
                first_frame = contact.frame
            if contact.frame == first_frame and contact.b not in hits:
                hits.append(contact.b)
            direction = contact.push / np.linalg.norm(contact.push)
            delta = direction * (contact.depth + CLEARANCE_M)
            mv.move(eid, contact.frame, delta)
            if contact.frame == first_frame:
                total += delta
        if first_frame is None:
            return None
        return (f"moved {eid} {R.describe_move(total)}: intersected {', '.join(hits)} "
                f"at frame {R.fmt_frame(first_frame)}")


def _first_contact(mv: R.Mover, eid: str) -> G.Contact | None:
    """The deepest contact of ``eid`` at the first frame it has one (its own keys first, then the rest); ties by
    id order. Only its neighbours in the spatial index are tested."""
    world, index = mv.world, mv.index
    ignore = index.touching(eid)
    frames = R.check_frames(world, eid, index, mv.dirty, mv.span)
    if not frames:
        return None
    own = index.shapes(world, frames, [eid], fresh={eid})
    bounds = spatial.union_rect(spatial.rect_of(at[eid]) for at in own.values() if eid in at)
    others = (index.near(bounds, frames) | mv.dirty) - {eid}
    shapes = index.shapes(world, frames, others, fresh=mv.dirty)
    keyed = set(R.keyed_frames(world, eid, span=mv.span))
    for frame in sorted(own, key=lambda f: (f not in keyed, f)):
        if eid not in own[frame]:
            return None
        mine = own[frame][eid]
        box = spatial.rect_of(mine)  # what cannot overlap it cannot intersect it
        at = {i: sh for i, sh in shapes[frame].items() if spatial.overlaps(spatial.rect_of(sh), box)}
        found = G.intersections({eid: mine}, at, ignore)
        if found:
            return max(found, key=lambda c: c.depth)
    return None


@register("collision")
def _make() -> CollisionAgent:
    return CollisionAgent()
