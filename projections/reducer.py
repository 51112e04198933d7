"""The reducer: events, in stream order, → one pycrdt document per shot (SPEC §5).

The document is written only here, with a fixed client id derived from the shot and ``REDUCER_VERSION``, so the
same events give a byte-identical document on every machine. Beside the document the reducer keeps the plain
:class:`core.world.World` it validates against; both always describe the same state.
"""

from __future__ import annotations

import hashlib

from pycrdt import Array, Doc, Map

from core.world import World, key_to_row

from .fold import Outcome, WorldFold

__all__ = ["REDUCER_VERSION", "client_id_for", "Outcome", "ShotReducer", "state_hash", "ROOTS"]

REDUCER_VERSION = 2
"""Bump when the reduction of an existing log would change; clients holding older documents must resync.

2: an already-unit quaternion is stored exactly as sent (1 re-normalised it, moving a third of them a float step)."""

ROOTS = ("meta", "entities", "relations", "directives")


def client_id_for(project: str, shot: str, version: int = REDUCER_VERSION) -> int:
    """A client id ≥ 2³² (never a Yjs client's uint32) and < 2⁵³ (exact in JavaScript)."""
    h = int.from_bytes(hashlib.sha256(f"wnm/{version}/{project}/{shot}".encode()).digest()[:8], "big")
    return 2**32 + h % (2**53 - 2**32)


def crdt_value(value):
    """Plain JSON → what the document stores. Objects become Y.Maps with sorted keys (yrs encodes a plain dict
    value in hash-map order, which differs run to run, so a dict would break byte-identical documents); lists that
    hold objects become Y.Arrays; other lists and scalars stay plain values."""
    if isinstance(value, dict):
        return Map({k: crdt_value(value[k]) for k in sorted(value)})
    if isinstance(value, list) and any(isinstance(v, (dict, list)) and _has_dict(v) for v in value):
        return Array([crdt_value(v) for v in value])
    return value


def _has_dict(value) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(_has_dict(v) for v in value)


def state_hash(doc: Doc) -> str:
    return hashlib.sha256(doc.get_update()).hexdigest()


class ShotReducer(WorldFold):
    """Holds one shot's document and world; ``apply(seq, event)`` folds one event into both, or neither."""

    def __init__(self, project: str, shot: str, snapshot: bytes | None = None, world: World | None = None):
        super().__init__(project, shot)
        self.doc = Doc(client_id=client_id_for(project, shot))
        if snapshot is not None:
            from .decode import world_from_doc

            self.doc.apply_update(snapshot)
            self.world = world if world is not None else world_from_doc(self.doc)
            self.last_seq = self.world.head_seq
            self._roots()
        else:
            with self.doc.transaction():
                for name in ROOTS:
                    self.doc[name] = Map()
                self._roots()
                for k, v in self.world.meta().items():
                    self.meta[k] = crdt_value(v)

    def _roots(self):
        self._entity_maps: dict[str, Map] = {}
        self._track_arrays: dict[tuple[str, str], Array] = {}
        self.meta = self.doc.get("meta", type=Map)
        self.entities = self.doc.get("entities", type=Map)
        self.relations = self.doc.get("relations", type=Map)
        self.directives = self.doc.get("directives", type=Map)

    # ------------------------------------------------------------ folding

    def _write(self, seq: int, changes: list) -> None:
        with self.doc.transaction():
            for c in changes:
                _WRITERS[c.target](self, *c.args)
            self.meta["head_seq"] = seq

    def state_hash(self) -> str:
        return state_hash(self.doc)

    def snapshot(self) -> bytes:
        return self.doc.get_update()

    # ------------------------------------------------------------ writers

    def _meta(self, key, value):
        self.meta[key] = crdt_value(value)

    def _entity(self, eid) -> Map:
        m = self._entity_maps.get(eid)
        if m is None:
            m = self._entity_maps[eid] = self.entities[eid]
        return m

    def _track(self, eid, path) -> Array:
        a = self._track_arrays.get((eid, path))
        if a is None:
            a = self._track_arrays[(eid, path)] = self._entity(eid)["tracks"][path]
        return a

    def _entity_add(self, eid, kind, name, parent):
        self.entities[eid] = Map({"kind": kind, "name": name, "parent": parent, "props": Map(), "tracks": Map()})

    def _entity_del(self, eid):
        del self.entities[eid]
        self._entity_maps.pop(eid, None)
        for key in [k for k in self._track_arrays if k[0] == eid]:
            del self._track_arrays[key]

    def _entity_field(self, eid, field, value):
        self._entity(eid)[field] = value

    def _prop_set(self, eid, path, value):
        self._entity(eid)["props"][path] = crdt_value(value)

    def _prop_del(self, eid, path):
        del self._entity(eid)["props"][path]

    def _key_put(self, eid, path, index, key, replace):
        arr = self._track(eid, path)
        if replace:
            del arr[index]
        arr.insert(index, key_to_row(key))

    def _key_del(self, eid, path, index):
        del self._track(eid, path)[index]

    def _track_put(self, eid, path, keys):
        self._entity(eid)["tracks"][path] = Array([key_to_row(k) for k in keys])
        self._track_arrays.pop((eid, path), None)

    def _track_del(self, eid, path):
        del self._entity(eid)["tracks"][path]
        self._track_arrays.pop((eid, path), None)

    def _relation_put(self, rid, value):
        self.relations[rid] = crdt_value(value)

    def _relation_del(self, rid):
        del self.relations[rid]

    def _directive_put(self, did, value):
        self.directives[did] = crdt_value(value)

    def _directive_del(self, did):
        del self.directives[did]


_WRITERS = {
    "meta": ShotReducer._meta,
    "entity.add": ShotReducer._entity_add,
    "entity.del": ShotReducer._entity_del,
    "entity.field": ShotReducer._entity_field,
    "prop.set": ShotReducer._prop_set,
    "prop.del": ShotReducer._prop_del,
    "key.put": ShotReducer._key_put,
    "key.del": ShotReducer._key_del,
    "track.put": ShotReducer._track_put,
    "track.del": ShotReducer._track_del,
    "relation.put": ShotReducer._relation_put,
    "relation.del": ShotReducer._relation_del,
    "directive.put": ShotReducer._directive_put,
    "directive.del": ShotReducer._directive_del,
}
