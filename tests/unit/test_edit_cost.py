"""Per-edit work does not grow with the shot: checking, authorising, folding (reducer and agents' replicas) and
auditing an edit that touches one entity never walk the shot's entities. Counted, not timed: the world's entity
map is swapped for one that counts every walk over it."""

from __future__ import annotations

import asyncio

import pytest

from core import edit
from core import ops as O
from events.envelope import Actor, Event, encode_event
from events.log import MemoryLog
from projections import hashing
from projections import projector as projector_module
from projections.fold import WorldFold
from projections.projector import Projector
from projections.reducer import ShotReducer, state_hash
from projections.store import MemoryStore, audit_entry_for
from realtime.access import Membership
from realtime.gateway import authorize


class CountingDict(dict):
    """A dict that counts the walks over it (iteration, keys/values/items views, copies)."""

    walks = 0

    def _walk(self):
        CountingDict.walks += 1

    def __iter__(self):
        self._walk()
        return super().__iter__()

    def keys(self):
        self._walk()
        return super().keys()

    def values(self):
        self._walk()
        return super().values()

    def items(self):
        self._walk()
        return super().items()

    def copy(self):
        self._walk()
        return super().copy()


N = 300


def _event(seq: int, ops: list) -> Event:
    return Event(event_id=f"ev{seq}", command_id=f"c{seq}", project="p", shot="s",
                 actor=Actor(kind="user", id="u"), ops=ops, ts=1.0)


def _shot() -> ShotReducer:
    r = ShotReducer("p", "s")
    ops = [O.EntityCreate(id=f"b{i}", kind="prop",
                          props={"geometry": {"primitive": "box", "size": [1, 1, 1]},
                                 "transform.position": [2.0 * i, 0.0, 0.0]}) for i in range(N)]
    assert r.apply(1, _event(1, [O.ShotConfigure(fps=24)])).applied
    assert r.apply(2, _event(2, ops)).applied
    assert r.apply(3, _event(3, [O.KeySet(id="b7", path="transform.position", frame=f, value=[f, 0, 0])
                                 for f in range(4)])).applied
    r.world.entities = CountingDict(r.world.entities)
    return r


ONE_ENTITY_EDITS = [
    [O.KeySet(id="b7", path="transform.position", frame=10, value=[1, 0, 0])],  # a new key
    [O.KeySet(id="b7", path="transform.position", frame=2, value=[1, 0, 0])],  # a replaced key
    [O.KeyRemove(id="b7", path="transform.position", frame=1)],
    [O.EntitySet(id="b8", path="transform.position", value=[0.5, 0.0, 0.0])],
    [O.EntitySet(id="b8", path="name", value="crate")],
    [O.TrackClear(id="b7", path="transform.position")],
    [O.EntityCreate(id="new", kind="prop", props={"geometry": {"primitive": "box", "size": [1, 1, 1]}})],
]


@pytest.mark.parametrize("ops", ONE_ENTITY_EDITS, ids=lambda ops: type(ops[0]).__name__)
def test_an_edit_of_one_entity_walks_no_entity_map(ops):
    r = _shot()
    layout = Membership(project="p", user="u", role="layout")
    CountingDict.walks = 0
    edit.check(r.world, ops, "user:u")
    assert CountingDict.walks == 0, "core.edit.check walked the entities"
    authorize(layout, r.world, ops)
    assert CountingDict.walks == 0, "realtime.gateway.authorize walked the entities"
    event = _event(4, ops)
    assert r.apply(4, event).applied
    assert CountingDict.walks == 0, "ShotReducer.apply walked the entities"
    audit_entry_for("p", "s", 4, encode_event(event), event, True, None)
    assert CountingDict.walks == 0, "the audit row walked the entities"
    fold = WorldFold("p", "s", world=r.world, last_seq=4)  # an agent's plain replica
    assert fold.apply(5, _event(5, [O.EntitySet(id="b9", path="name", value="x")])).applied
    assert CountingDict.walks == 0, "WorldFold.apply walked the entities"


def test_the_counter_sees_a_walk():
    """The check above can fail: removing an entity does walk them (its children lose their parent)."""
    r = _shot()
    CountingDict.walks = 0
    edit.check(r.world, [O.EntityRemove(id="b7")], "user:u")
    assert CountingDict.walks > 0


def test_the_hashing_worker_s_shadow_hashes_as_the_document_does(monkeypatch):
    """Seeded once, then fed each event's update: through key re-sets, track rewrites (drawn far more often here
    than the reducer's 1 / (2n + 64)) and entity removals (their tombstones collected), the shadow's canonical
    form is the document's."""
    import random

    from pycrdt import merge_updates

    from projections import reducer as reducer_module

    rewrites = []
    monkeypatch.setattr(reducer_module, "compacts", lambda seq, eid, path, keys: rewrites.append(seq) or seq % 4 == 0)
    rnd = random.Random(5)

    async def main():
        r = ShotReducer("p", "s")
        got: list[bytes] = []
        r.doc.observe(lambda e: got.append(e.update))
        hasher, shadow = hashing.Hasher(), hashing.Shadow()
        alive, checked = [], 0
        try:
            for seq in range(1, 400):
                roll = rnd.random()
                if not alive or roll < 0.15:
                    eid = f"e{seq}"
                    ops = [O.EntityCreate(id=eid, kind="prop",
                                          props={"geometry": {"primitive": "box", "size": [1, 1, 1]}})]
                    alive.append(eid)
                elif roll < 0.22 and len(alive) > 2:
                    eid = alive.pop(rnd.randrange(len(alive)))
                    ops = [O.EntityRemove(id=eid)]
                else:
                    ops = [O.KeySet(id=rnd.choice(alive), path="transform.position", frame=rnd.randrange(6),
                                    value=[rnd.random(), 0, 0])]
                got.clear()
                assert r.apply(seq, _event(seq, ops)).applied
                shadow.add(merge_updates(*got) if len(got) > 1 else got[0] if got else b"")
                if seq % 37 == 0 or seq == 399:
                    doc, digest, size, _ = await hasher.canonical(shadow, r.doc, want_doc=True)
                    assert digest == state_hash(r.doc) and doc == r.snapshot() and size == len(doc)
                    checked += 1
        finally:
            hasher.close()
        return checked, hasher.counts

    checked, counts = asyncio.run(main())
    assert checked == 11 and counts["seeded"] == 1 and counts["offloaded"] == 11
    assert sum(1 for seq in rewrites if seq % 4 == 0) > 10  # tracks were rewritten whole


def test_a_large_shot_is_hashed_off_the_loop_and_its_catalogue_catches_up(monkeypatch):
    monkeypatch.setattr(projector_module, "OFFLOAD_BYTES", 0)  # every shot counts as large
    monkeypatch.setattr(projector_module, "HASH_EVERY_S", 0.05)

    async def main():
        log, store = MemoryLog(), MemoryStore()
        await log.ensure_project("p")
        pj = Projector(log, store, verify_s=0.1)
        task = asyncio.create_task(pj.run(discover=False))
        pj.watch_project("p")
        seq = 0
        for k in range(30):
            ops = [O.EntityCreate(id=f"b{k}", kind="prop")] if k < 10 else \
                [O.KeySet(id=f"b{k % 10}", path="transform.position", frame=k, value=[k, 0, 0])]
            seq = (await log.append("p", "s", encode_event(_event(k + 1, ops)), f"s/c{k}")).seq
            await asyncio.sleep(0.01)
        await pj.wait_for("p", seq, timeout=30)
        want = pj.reducer("p", "s").state_hash()
        for _ in range(600):
            info = await store.shot("p", "s")
            if info.head_seq == seq and info.state_hash == want:
                break
            await asyncio.sleep(0.05)
        off = pj.counts["hashes_off_loop"]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return info, want, off

    info, want, off = asyncio.run(main())
    assert (info.head_seq, info.state_hash) == (30, want)
    assert off >= 1


def test_a_large_shot_s_document_snapshots_are_encoded_off_the_loop(monkeypatch):
    monkeypatch.setattr(projector_module, "OFFLOAD_BYTES", 0)

    async def main():
        log, store = MemoryLog(), MemoryStore()
        await log.ensure_project("p")
        pj = Projector(log, store, snapshot_every=5)
        task = asyncio.create_task(pj.run(discover=False))
        pj.watch_project("p")
        events = []
        for k in range(40):
            ops = [O.EntityCreate(id=f"b{k}", kind="prop")] if k < 10 else \
                [O.KeySet(id=f"b{k % 10}", path="transform.position", frame=k, value=[k, 0, 0])]
            events.append(_event(k + 1, ops))
            seq = (await log.append("p", "s", encode_event(events[-1]), f"s/c{k}")).seq
            await pj.wait_for("p", seq, timeout=30)
            await asyncio.sleep(0.02)
        snaps = await store.snapshots("p", "s")
        off = pj.counts["snapshots_off_loop"]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return snaps, off, events

    snaps, off, events = asyncio.run(main())
    assert off >= 1 and snaps
    for snap in snaps:
        r = ShotReducer("p", "s")
        for e in events[:snap.seq]:
            assert r.apply(int(e.event_id[2:]), e).applied
        assert snap.doc == r.snapshot() and snap.state_hash == r.state_hash()
