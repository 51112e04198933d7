"""The ``bounds`` repair agent: an edited prop or character standing outside every walkable area (the footprints
of box-room and plane-floor environments) is pulled back inside the nearest one, at every keyed frame of its
placement that the edit changed (:func:`agents.repair.changed_span`). Shots without such environments have no
bounds. One event per entity:
``"pulled lamp-1 0.50 m +z back inside room-1 at frame 0"``.
"""

from __future__ import annotations

import numpy as np

from core.world import World
from events.envelope import Event

from . import geometry as G
from . import repair as R
from . import spatial
from .base import Proposal, register

__all__ = ["BoundsAgent"]


class BoundsAgent:
    name = "bounds"
    generative = False

    def __init__(self, asset_size: G.AssetSize | None = None):
        self.asset_size = asset_size

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        return R.repair_each(world, event, self.name, self._pull_inside, spatial.index_for(world, self.asset_size))

    def _pull_inside(self, mv: R.Mover, eid: str) -> str | None:
        e = mv.world.entities[eid]
        frames = R.keyed_frames(mv.world, eid, span=mv.span) if e.tracks.get(R.POSITION) else \
            [R.first_keyed_frame(mv.world, eid)]
        first = None
        ids = [eid, *mv.index.environments()]
        at = mv.index.shapes(mv.world, frames, ids, fresh=mv.dirty | {eid})  # a move at one keyed frame moves no other
        for frame in frames:
            shapes = at[frame]
            areas = G.walkable_areas(shapes)
            if eid not in shapes or not areas:
                continue
            moves = {aid: G.pull_inside(shapes[eid], area) for aid, area in areas.items()}
            aid = min(sorted(moves), key=lambda a: float(np.linalg.norm(moves[a])))
            delta = moves[aid]
            if float(np.linalg.norm(delta)) <= G.CONTACT_TOL_M:
                continue
            mv.move(eid, frame, delta)
            if first is None:
                first = (frame, delta, aid)
        if first is None:
            return None
        frame, delta, aid = first
        return f"pulled {eid} {R.describe_move(delta)} back inside {aid} at frame {R.fmt_frame(frame)}"


@register("bounds")
def _make() -> BoundsAgent:
    return BoundsAgent()
