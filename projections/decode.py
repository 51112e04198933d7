"""Reading a shot document back into a :class:`core.world.World` (the inverse of the reducer's writers)."""

from __future__ import annotations

from pycrdt import Doc, Map

from core.world import Directive, Entity, Relation, World, key_from_row

__all__ = ["world_from_doc"]


def _py(v):
    return v.to_py() if hasattr(v, "to_py") else v


def world_from_doc(doc: Doc) -> World:
    meta = _py(doc.get("meta", type=Map))
    w = World(
        project=meta["project"],
        shot=meta["shot"],
        name=meta.get("name", ""),
        fps=float(meta["fps"]),
        frame_start=float(meta["frame_start"]),
        frame_end=float(meta["frame_end"]),
        resolution=tuple(int(x) for x in meta["resolution"]),
        agents=dict(sorted(meta.get("agents", {}).items())),
        head_seq=int(meta.get("head_seq", 0)),
    )
    for eid, e in doc.get("entities", type=Map).items():
        props = _py(e["props"])
        tracks = {p: [key_from_row(k) for k in arr.to_py()] for p, arr in e["tracks"].items()}
        w.entities[eid] = Entity(eid, e["kind"], e["name"], e["parent"], props, tracks)
    for rid, r in doc.get("relations", type=Map).items():
        r = _py(r)
        w.relations[rid] = Relation(rid, r["kind"], r["subject"], r["object"], r.get("joint"), r.get("offset"),
                                    r.get("start"), r.get("end"))
    for did, d in doc.get("directives", type=Map).items():
        d = _py(d)
        w.directives[did] = Directive(did, d["agent"], d.get("params", {}))
    return w
