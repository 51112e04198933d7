"""The reducer: events, in stream order, → one pycrdt document per shot (SPEC §5).

The document is written only here, with a fixed client id derived from the shot and ``REDUCER_VERSION``, so the
same events give a byte-identical document on every machine (in the encoding of :func:`canonical_update`).
Beside the document the reducer keeps the plain :class:`core.world.World` it validates against; both always
describe the same state.
"""

from __future__ import annotations

import hashlib
import zlib

from pycrdt import Array, Doc, Map

from core.world import World, key_to_row

from .fold import Outcome, WorldFold

__all__ = ["REDUCER_VERSION", "client_id_for", "Outcome", "ShotReducer", "canonical_update", "compacts", "state_hash",
           "ROOTS"]

REDUCER_VERSION = 4
"""Bump when the reduction of an existing log would change; clients holding older documents must resync.

2: an already-unit quaternion is stored exactly as sent (1 re-normalised it, moving a third of them a float step).
3: a track whose keys are replaced or removed is now and then rewritten as a fresh Array (see ``compacts``).
4: inputs are bounded (:mod:`core.limits`: frames, shifts, magnitudes, JSON depth and size, string lengths): an
   event beyond them, applied before, is now rejected; an event whose fold raises is rejected, not left half done.
"""

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


def compacts(seq: int, eid: str, path: str, keys: int) -> bool:
    """Whether the event at ``seq``, having replaced or removed keys of the track ``eid``/``path`` that now holds
    ``keys`` keys, rewrites that track as a fresh Array.

    A replaced or removed key stays in a Yjs array as a tombstone, and every later index walk steps over it: a
    track re-keyed round after round gets slower to edit without end (a 240-key track re-keyed 14 times walks
    3,600 items). Rewriting it drops them all, for one update as large as the track. It happens with chance
    1 / (2 × keys + 64) per such event, so tombstones stay about twice the live keys while the rewrites add about
    half a row per edit. The draw hashes the seq and the track and nothing else, so every replica, from scratch
    or from any snapshot, rewrites at the same events."""
    return zlib.crc32(f"{seq}/{eid}/{path}".encode()) % (2 * keys + 64) == 0


def canonical_update(doc: Doc) -> bytes:
    """The document's full update as a replica restored from it encodes it.

    yrs does not always encode one state one way: when a type that holds tombstones is deleted (an entity whose
    keys were re-set, a track rewritten whole), the tombstones become garbage-collected runs that the document
    that did the deleting keeps as separate pieces, while a document decoded from its update holds them merged.
    So the raw update of a shot folded from scratch can differ from one restored from a snapshot and folded on,
    though both hold the same state. Decoding and re-encoding gives the merged form, whatever the history
    (about 35 ns a byte: 50 ms for a 1.5 MB document)."""
    fresh = Doc()
    fresh.apply_update(doc.get_update())
    return fresh.get_update()


def state_hash(doc: Doc) -> str:
    """sha256 of :func:`canonical_update`: equal on every replica that folded the same events."""
    return hashlib.sha256(canonical_update(doc)).hexdigest()


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
        rewrite = self._to_compact(seq, changes)
        with self.doc.transaction():
            for c in changes:
                if rewrite and c.target in _KEY_WRITES and (c.args[0], c.args[1]) in rewrite:
                    continue  # the track is written whole below, as it stands after the event
                _WRITERS[c.target](self, *c.args)
            for eid, path in sorted(rewrite):
                entity = self.world.entities.get(eid)
                if entity is not None and path in entity.tracks:
                    self._track_put(eid, path, entity.tracks[path])
            self.meta["head_seq"] = seq

    def _unwrite(self) -> None:
        """After a write that raised half way (a defect; see :meth:`WorldFold.apply`), with the world already
        restored: write what differs between the document and the world back to the world's values, so both
        hold the state from before the event again. Every replica that raised at the same write does the same."""
        from .decode import world_from_doc

        self._entity_maps.clear()
        self._track_arrays.clear()
        w = self.world
        try:
            current = world_from_doc(self.doc)
        except Exception:  # the write left the document unreadable: rewrite all of it
            current = World(project=w.project, shot=w.shot, head_seq=-1)
        with self.doc.transaction():
            now = current.meta()
            for k, v in w.meta().items():
                if now.get(k) != v:
                    self.meta[k] = crdt_value(v)
            for k in [k for k in self.meta.keys() if k not in now and k not in w.meta()]:
                del self.meta[k]
            for eid in sorted(set(self.entities.keys()) | set(w.entities)):
                e = w.entities.get(eid)
                if e is None:
                    del self.entities[eid]
                elif current.entities.get(eid) != e:
                    self._entity_add(eid, e.kind, e.name, e.parent)
                    for path, value in e.props.items():
                        self._prop_set(eid, path, value)
                    for path, keys in e.tracks.items():
                        self._track_put(eid, path, keys)
            for root, ours, theirs in ((self.relations, w.relations, current.relations),
                                       (self.directives, w.directives, current.directives)):
                for i in sorted(set(root.keys()) | set(ours)):
                    if i not in ours:
                        del root[i]
                    elif theirs.get(i) != ours[i]:
                        root[i] = crdt_value(ours[i].to_dict())

    def _to_compact(self, seq: int, changes: list) -> set[tuple[str, str]]:
        """The tracks this event rewrites whole (see :func:`compacts`): of those it replaces or removes keys in."""
        out: set[tuple[str, str]] = set()
        for c in changes:
            if c.target == "key.del" or (c.target == "key.put" and c.args[4]):
                eid, path = c.args[0], c.args[1]
                entity = self.world.entities.get(eid)
                keys = entity.tracks.get(path) if entity is not None else None
                if keys is not None and (eid, path) not in out and compacts(seq, eid, path, len(keys)):
                    out.add((eid, path))
        return out

    def state_hash(self) -> str:
        return state_hash(self.doc)

    def snapshot(self) -> bytes:
        """The document's update in the form every replica encodes alike (so ``sha256(snapshot) == state_hash``)."""
        return canonical_update(self.doc)

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
        # Last-first at index 0, which yrs reaches without walking: pycrdt's Array(rows) appends one row at a time,
        # each append walking the whole array (5.4 s for 10k keys, against 7 ms).
        arr = self._entity(eid)["tracks"][path] = Array()
        for k in reversed(keys):
            arr.insert(0, key_to_row(k))
        self._track_arrays[(eid, path)] = arr

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


_KEY_WRITES = frozenset({"key.put", "key.del"})

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
