"""A small demo shot (a floor, a grid of boxes, a sphere, a biped and a camera), built with core's own edit
path: for the benchmark, smoke tests and stand-alone workers (``--load-world renderers.demo:load_world``).
"""

from __future__ import annotations

__all__ = ["demo_ops", "demo_world", "load_world"]


def demo_ops(boxes: int = 20, character: bool = True):
    from core import ops as O

    ops = [
        O.ShotConfigure(fps=24.0, frame_start=0.0, frame_end=48.0, resolution=(512, 512), name="demo"),
        O.EntityCreate(id="floor", kind="environment",
                       props={"geometry": {"primitive": "plane", "size": [20.0, 20.0]}, "color": [0.5, 0.5, 0.5]}),
        O.EntityCreate(id="cam", kind="camera",
                       props={"transform.position": [0.0, 1.6, 8.0], "camera.focal_length_mm": 30.0}),
    ]
    for i in range(boxes):
        x, z = (i % 5) - 2.0, -(i // 5) * 1.5
        ops.append(O.EntityCreate(id=f"box{i:02d}", kind="prop", props={
            "geometry": {"primitive": "box", "size": [0.6, 0.4 + 0.05 * i, 0.6]},
            "transform.position": [x * 1.3, 0.0, z],
            "transform.rotation": {"euler_deg": [0.0, 7.0 * i, 0.0]},
            "color": [0.2 + 0.04 * i, 0.5, 0.9 - 0.03 * i]}))
    ops.append(O.EntityCreate(id="ball", kind="prop", props={
        "geometry": {"primitive": "sphere", "radius": 0.4}, "transform.position": [2.5, 0.0, 2.0],
        "color": [0.9, 0.2, 0.2]}))
    if character:
        ops.append(O.EntityCreate(id="alice", kind="character", props={
            "transform.position": [-1.0, 0.0, 3.0], "color": [0.95, 0.8, 0.6]}))
        ops.append(O.SkeletonSet(id="alice", template="biped"))
        ops.append(O.KeySet(id="alice", path="transform.position", frame=0.0, value=[-1.5, 0.0, 3.0]))
        ops.append(O.KeySet(id="alice", path="transform.position", frame=48.0, value=[1.0, 0.0, 3.0]))
    return ops


def demo_world(project: str = "demo", shot: str = "s1", boxes: int = 20, character: bool = True):
    from core.edit import apply
    from core.world import World

    world = World(project=project, shot=shot)
    apply(world, demo_ops(boxes, character), "user:demo")
    world.head_seq = 1
    return world


def load_world(project: str, shot: str, seq: int | None):
    """The worker's world loader for the demo: ``(world, seq, state_hash)``."""
    import hashlib

    world = demo_world(project, shot)
    seq = 1 if seq is None else int(seq)
    return world, seq, hashlib.sha256(f"demo/{project}/{shot}".encode()).hexdigest()
