"""Cold rebuild throughput: events/s of the reducer (decode + validate + write the document) as a ratio to raw
pycrdt doing the same document edits in the same run (goal ≥ 0.6).

    python bench/bench_rebuild.py [--events 200000] [--entities 50] [--clock wall|cpu]

The workload is what a shot's log mostly holds: keyframe edits (new keys and re-keys of existing ones) on many
entities and paths, with occasional static sets. Both sides end with byte-identical documents (checked).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pycrdt import Array, Doc, Map  # noqa: E402

from core import ops as O  # noqa: E402
from core.world import Key, key_to_row  # noqa: E402
from events.envelope import Actor, Event, encode_event  # noqa: E402
from projections.reducer import ShotReducer, client_id_for, compacts, crdt_value  # noqa: E402

ALICE = Actor(kind="user", id="alice")
CLOCK = time.perf_counter
"""Wall clock by default; ``--clock cpu`` times the process's CPU instead (for a machine shared with other work)."""


def make_events(n: int, n_entities: int, seed: int = 7) -> list[bytes]:
    rnd = random.Random(seed)
    evs = [Event(event_id="e0", command_id="c0", project="p", shot="s", actor=ALICE, ops=[
        O.EntityCreate(id=f"e{i}", kind="prop", props={"geometry": {"primitive": "box", "size": [1, 1, 1]}})
        for i in range(n_entities)])]
    paths = ["transform.position", "color", "transform.scale"]
    for i in range(1, n):
        eid = f"e{rnd.randrange(n_entities)}"
        path = rnd.choice(paths)
        frame = float(rnd.randrange(0, 240))
        value = [round(0.05 + 0.9 * rnd.random(), 3) for _ in range(3)]
        if rnd.random() < 0.1:
            op = O.EntitySet(id=eid, path=path, value=value)
        else:
            op = O.KeySet(id=eid, path=path, frame=frame, value=value, interp="auto")
        evs.append(Event(event_id=f"e{i}", command_id=f"c{i}", project="p", shot="s", actor=ALICE, ops=[op],
                         ts=float(i)))
    return [encode_event(e) for e in evs]


def reduce_all(datas: list[bytes]) -> tuple[float, ShotReducer]:
    t = CLOCK()
    r = ShotReducer("p", "s")
    for seq, d in enumerate(datas, start=1):
        out = r.apply_raw(seq, d)
        assert out.applied, out
    return CLOCK() - t, r


def raw_pycrdt(r_final: ShotReducer, datas: list[bytes]) -> float:
    """The same document edits with no decoding or validation: the floor a reducer could reach."""
    import msgspec

    from events.envelope import decode_event

    # pre-compute the exact edits (outside the timed loop)
    # The reducer (version ≥ 3) rewrites a track whole, as it stands after the event, when ``compacts`` draws it
    # for an event that replaces one of its keys: the plan does the same, with the rows it will write.
    import bisect

    plan = []
    keys: dict[tuple[str, str], list[float]] = {}
    rows: dict[tuple[str, str], list[list]] = {}
    for seq, d in enumerate(datas, start=1):
        ev = decode_event(d)
        for op in ev.ops:
            if isinstance(op, O.EntityCreate):
                plan.append(("create", op.id, {"geometry": dict(op.props["geometry"])}, seq))
            elif isinstance(op, O.EntitySet):
                plan.append(("set", op.id, op.path, [float(v) for v in op.value], seq))
            else:
                frames = keys.setdefault((op.id, op.path), [])
                track = rows.setdefault((op.id, op.path), [])
                i = bisect.bisect_left(frames, op.frame)
                replace = i < len(frames) and frames[i] == op.frame
                row = key_to_row(Key(float(op.frame), [float(v) for v in op.value], "auto", "user:alice"))
                if replace:
                    track[i] = row
                else:
                    frames.insert(i, op.frame)
                    track.insert(i, row)
                if replace and compacts(seq, op.id, op.path, len(track)):
                    plan.append(("rewrite", op.id, op.path, list(track), seq))
                else:
                    plan.append(("key", op.id, op.path, i, replace, row, seq))
    del msgspec
    t = CLOCK()
    doc = Doc(client_id=client_id_for("p", "s"))
    proto = ShotReducer("p", "s")
    with doc.transaction():
        for name in ("meta", "entities", "relations", "directives"):
            doc[name] = Map()
        meta = doc.get("meta", type=Map)
        for k, v in proto.world.meta().items():
            meta[k] = crdt_value(v)
    entities = doc.get("entities", type=Map)
    tracks_of = {}
    by_seq: dict[int, list] = {}
    for step in plan:
        by_seq.setdefault(step[-1], []).append(step)
    for seq, steps in by_seq.items():
        with doc.transaction():
            for step in steps:
                if step[0] == "create":
                    _, eid, props, seq = step
                    entities[eid] = Map({"kind": "prop", "name": "", "parent": None, "props": Map(), "tracks": Map()})
                    entities[eid]["props"]["geometry"] = crdt_value({"primitive": "box", "size": [1.0, 1.0, 1.0]})
                elif step[0] == "set":
                    _, eid, path, value, seq = step
                    entities[eid]["props"][path] = value
                elif step[0] == "rewrite":
                    _, eid, path, track, seq = step
                    tr = tracks_of[(eid, path)] = entities[eid]["tracks"][path] = Array()
                    for row in reversed(track):
                        tr.insert(0, row)
                else:
                    _, eid, path, i, replace, row, seq = step
                    tr = tracks_of.get((eid, path))
                    if tr is None:
                        tr = tracks_of[(eid, path)] = entities[eid]["tracks"][path] = Array()
                        tr.insert(0, row)
                    else:
                        if replace:
                            del tr[i]
                        tr.insert(i, row)
            meta["head_seq"] = seq
    dt = CLOCK() - t
    assert doc.get_update() == r_final.doc.get_update(), "raw and reducer documents differ"
    return dt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--entities", type=int, default=50)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    datas = make_events(a.events, a.entities)
    t_red, r = reduce_all(datas)
    t_raw = raw_pycrdt(r, datas)
    n = len(datas)
    print(f"events: {n}, entities: {a.entities}, document: {len(r.doc.get_update()) / 1e6:.1f} MB")
    print(f"reducer (decode+validate+write): {n / t_red:,.0f} events/s")
    print(f"raw pycrdt (same edits):         {n / t_raw:,.0f} events/s")
    print(f"ratio reducer/raw: {t_raw / t_red:.2f}  (goal >= 0.6)")


if __name__ == "__main__":
    main()
