"""The edit language of the world: ops, the tagged union every event carries (SPEC §4).

Ops are frozen msgspec Structs tagged by their ``type`` field. Values that depend on the attribute path
(``value``, ``props``) are left as plain JSON here and checked by :mod:`core.attributes` when applied.
New fields get defaults; a field never changes type.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

import msgspec

__all__ = [
    "Op",
    "ShotConfigure",
    "EntityCreate",
    "EntityRemove",
    "EntitySet",
    "KeySet",
    "KeyRemove",
    "TrackClear",
    "TrackShift",
    "SkeletonSet",
    "RelationAdd",
    "RelationRemove",
    "DirectiveAdd",
    "DirectiveUpdate",
    "DirectiveRemove",
    "OP_TYPES",
    "decode_ops",
    "encode_ops",
    "op_entity_ids",
    "error_location",
]

EntityKind = Literal["prop", "environment", "character", "camera", "light"]
Interp = Literal["constant", "linear", "bezier", "auto"]
AgentMode = Literal["auto", "suggest", "off"]
RelationKind = Literal["attached_to", "look_at", "supports"]
SkeletonTemplate = Literal["biped", "quadruped", "bird", "fish"]


class _Op(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True, omit_defaults=True):
    pass


class ShotConfigure(_Op, tag="shot.configure"):
    fps: float | None = None
    frame_start: float | None = None
    frame_end: float | None = None
    resolution: tuple[int, int] | None = None
    name: str | None = None
    agents: dict[str, AgentMode] | None = None


class EntityCreate(_Op, tag="entity.create"):
    id: str
    kind: EntityKind
    name: str | None = None
    parent: str | None = None
    props: dict[str, Any] | None = None


class EntityRemove(_Op, tag="entity.remove"):
    id: str


class EntitySet(_Op, tag="entity.set"):
    id: str
    path: str
    value: Any


class KeySet(_Op, tag="key.set"):
    id: str
    path: str
    frame: float
    value: Any
    interp: Interp = "auto"
    in_tangent: Any = None
    out_tangent: Any = None


class KeyRemove(_Op, tag="key.remove"):
    id: str
    path: str
    frame: float


class TrackClear(_Op, tag="track.clear"):
    id: str
    path: str


class TrackShift(_Op, tag="track.shift"):
    id: str
    path: str
    by: float
    start: float | None = None
    end: float | None = None


class SkeletonSet(_Op, tag="skeleton.set"):
    id: str
    template: SkeletonTemplate | None = None
    scale: float | None = None
    joints: list[dict[str, Any]] | None = None


class RelationAdd(_Op, tag="relation.add"):
    id: str
    kind: RelationKind
    subject: str
    object: str
    joint: str | None = None
    offset: Any = None
    start: float | None = None    # attached_to only: held from this frame (unbounded when None) …
    end: float | None = None      # … until this frame (exclusive); a held object is put down at ``end``


class RelationRemove(_Op, tag="relation.remove"):
    id: str


class DirectiveAdd(_Op, tag="directive.add"):
    id: str
    agent: str
    params: dict[str, Any] = {}


class DirectiveUpdate(_Op, tag="directive.update"):
    id: str
    params: dict[str, Any] = {}


class DirectiveRemove(_Op, tag="directive.remove"):
    id: str


Op = Union[
    ShotConfigure,
    EntityCreate,
    EntityRemove,
    EntitySet,
    KeySet,
    KeyRemove,
    TrackClear,
    TrackShift,
    SkeletonSet,
    RelationAdd,
    RelationRemove,
    DirectiveAdd,
    DirectiveUpdate,
    DirectiveRemove,
]

OP_TYPES: dict[str, type] = {cls.__struct_config__.tag: cls for cls in Op.__args__}  # type: ignore[attr-defined]

_ops_decoder = msgspec.json.Decoder(list[Op])
_encoder = msgspec.json.Encoder()


def decode_ops(data: bytes | str) -> list[Op]:
    """Decode a JSON list of ops; raises ``msgspec.ValidationError`` naming the index and field."""
    return _ops_decoder.decode(data)


def encode_ops(ops: list[Op]) -> bytes:
    return _encoder.encode(ops)


def op_entity_ids(op: Op) -> tuple[str, ...]:
    """The entity ids an op touches (for the audit log and decoupling checks)."""
    if isinstance(op, (RelationAdd,)):
        return (op.subject, op.object)
    if isinstance(op, (ShotConfigure, RelationRemove, DirectiveAdd, DirectiveUpdate, DirectiveRemove)):
        return ()
    return (op.id,)


_AT = re.compile(r"- at `\$(?:\.ops)?\[(\d+)\]((?:\.[A-Za-z_]\w*)?)")
_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
_TOP = re.compile(r"- at `\$\.([A-Za-z_]\w*)`")


def error_location(message: str) -> tuple[int | None, str | None]:
    """The op index and field a msgspec validation message points at (``$.ops[2].frame``, ``missing required
    field `value` - at `$.ops[0]```), for error bodies that name both; (None, None) where it names neither."""
    named = _NAMED.search(message)
    at = _AT.search(message)
    if at is not None:
        field = named.group(1) if named else (at.group(2)[1:] or None)
        return int(at.group(1)), field
    top = _TOP.search(message)
    if top is not None and top.group(1) != "ops":
        return None, top.group(1)
    return None, named.group(1) if named else None
