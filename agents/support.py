"""The ``support`` repair agent (gravity): an edited prop or character that floats above, or is sunk into, the
surface below it is put onto that surface, at every keyed frame of its position that the edit changed
(:func:`agents.repair.changed_span`; once, at the shot's first frame, when its position is static).

The surface is the ``supports`` relation's object when the entity has one, otherwise the highest prop top or
environment floor under its footprint centre that is not above its mid-height, otherwise the ground y = 0
(:func:`agents.geometry.support_surface_below`). One event per entity:
``"put cup-1 0.05 m down onto table-1 at frame 0"``.
"""

from __future__ import annotations

from core.world import World
from events.envelope import Event

from . import geometry as G
from . import repair as R
from . import spatial
from .base import Proposal, register

__all__ = ["SupportAgent", "TOLERANCE_M"]

TOLERANCE_M = 2e-3
"""Gaps or overlaps up to this are already resting."""


class SupportAgent:
    name = "support"
    generative = False

    def __init__(self, asset_size: G.AssetSize | None = None):
        self.asset_size = asset_size

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        return R.repair_each(world, event, self.name, self._ground, spatial.index_for(world, self.asset_size))

    def _ground(self, mv: R.Mover, eid: str) -> str | None:
        w, index = mv.world, mv.index
        e = w.entities[eid]
        frames = R.keyed_frames(w, eid, paths=(R.POSITION,), span=mv.span) if e.tracks.get(R.POSITION) else \
            [R.first_keyed_frame(w, eid)]
        carried = index.carried(eid)
        only = next((o for _, kind, s, o in index.relations_of(eid)
                     if kind == "supports" and s == eid and o in w.entities), None)
        first = None
        owns = index.shapes(mv.world, frames, [eid], fresh={eid})  # a move at one keyed frame moves no other
        for frame in frames:
            own = owns[frame]
            if eid not in own:
                break
            x, z = own[eid].centre_xz
            below = (index.near_point(float(x), float(z), [frame]) | mv.dirty | ({only} if only else set())) - {eid}
            shapes = {**index.shapes(mv.world, [frame], below, fresh=mv.dirty)[frame], eid: own[eid]}
            surface = G.support_surface_below(shapes[eid], shapes, exclude=carried, only=only)
            dy = surface.top - shapes[eid].base_y
            if abs(dy) <= TOLERANCE_M:
                continue
            mv.move(eid, frame, [0.0, dy, 0.0])
            if first is None:
                first = (frame, dy, surface)
        if first is None:
                first = (frame, dy, surface)
        if first is None:
            return None
        frame, dy, surface = first
        onto = "the ground" if surface.id is None else surface.id
        how = f"{abs(dy):.2f} m {'down' if dy < 0 else 'up'}"
        moved = len(R.merge_ops(mv.ops))
        more = f" (and {moved - 1} more keyed frames)" if moved > 1 else ""
        return f"put {eid} {how} onto {onto} at frame {R.fmt_frame(frame)}{more}"


@register("support")
def _make() -> SupportAgent:
    return SupportAgent()
