"""The world of one shot as plain Python data: meta, entities with static props and keyframe tracks,
relations and directives (SPEC §3). This is what the reducer builds and what sampling reads.

Every number in a world is a Python float (or bool / str), so a world decoded from its CRDT document equals the
world built directly from the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Key", "Entity", "Relation", "Directive", "World", "key_to_dict", "key_to_row",
           "key_from_row"]


@dataclass(slots=True)
class Key:
    """One keyframe. ``frame`` is a shot frame number (float); tangents are slopes in value units per frame."""

    frame: float
    value: Any
    interp: str = "auto"
    by: str = ""
    in_tangent: Any = None
    out_tangent: Any = None


def key_to_dict(k: Key) -> dict:
    d = {"frame": k.frame, "value": k.value, "interp": k.interp, "by": k.by}
    if k.in_tangent is not None:
        d["in_tangent"] = k.in_tangent
    if k.out_tangent is not None:
        d["out_tangent"] = k.out_tangent
    return d


def key_to_row(k: Key) -> list:
    """The document's compact, ordered form of a key: ``[frame, value, interp, by, in_tangent, out_tangent]``."""
    return [k.frame, k.value, k.interp, k.by, k.in_tangent, k.out_tangent]


def key_from_row(row: list) -> Key:
    return Key(float(row[0]), row[1], row[2], row[3], row[4], row[5])


@dataclass(slots=True)
class Entity:
    id: str
    kind: str
    name: str = ""
    parent: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    tracks: dict[str, list[Key]] = field(default_factory=dict)

    @property
    def joints(self) -> list[dict] | None:
        return self.props.get("skeleton")


@dataclass(slots=True)
class Relation:
    id: str
    kind: str
    subject: str
    object: str
    joint: str | None = None
    offset: Any = None
    start: float | None = None   # attached_to: active on frames [start, end) (None: unbounded on that side)
    end: float | None = None

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "subject": self.subject, "object": self.object}
        if self.joint is not None:
            d["joint"] = self.joint
        if self.offset is not None:
            d["offset"] = self.offset
        if self.start is not None:
            d["start"] = self.start
        if self.end is not None:
            d["end"] = self.end
        return d

    def overlaps(self, start: float | None, end: float | None) -> bool:
        """Whether [self.start, self.end) and [start, end) share a frame (None: unbounded)."""
        lo = max(-float("inf") if self.start is None else self.start, -float("inf") if start is None else start)
        hi = min(float("inf") if self.end is None else self.end, float("inf") if end is None else end)
        return lo < hi


@dataclass(slots=True)
class Directive:
    id: str
    agent: str
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"agent": self.agent, "params": self.params}


DEFAULT_AGENT_MODE = "auto"


@dataclass(slots=True)
class World:
    project: str
    shot: str
    name: str = ""
    fps: float = 24.0
    frame_start: float = 0.0
    frame_end: float = 120.0
    resolution: tuple[int, int] = (1280, 720)
    agents: dict[str, str] = field(default_factory=dict)
    head_seq: int = 0
    entities: dict[str, Entity] = field(default_factory=dict)
    relations: dict[str, Relation] = field(default_factory=dict)
    directives: dict[str, Directive] = field(default_factory=dict)

    def meta(self) -> dict:
        return {
            "project": self.project,
            "shot": self.shot,
            "name": self.name,
            "fps": self.fps,
            "frame_start": self.frame_start,
            "frame_end": self.frame_end,
            "resolution": list(self.resolution),
            "agents": dict(self.agents),
            "head_seq": self.head_seq,
        }

    def to_json(self) -> dict:
        """The raw world (static values and tracks) as JSON-ready data, as served by ``GET .../world``."""
        return {
            "meta": self.meta(),
            "entities": {
                eid: {
                    "kind": e.kind,
                    "name": e.name,
                    "parent": e.parent,
                    "props": dict(e.props),
                    "tracks": {p: [key_to_dict(k) for k in keys] for p, keys in e.tracks.items()},
                }
                for eid, e in sorted(self.entities.items())
            },
            "relations": {rid: r.to_dict() for rid, r in sorted(self.relations.items())},
            "directives": {did: d.to_dict() for did, d in sorted(self.directives.items())},
        }

    def agent_mode(self, agent: str) -> str:
        return self.agents.get(agent, DEFAULT_AGENT_MODE)
