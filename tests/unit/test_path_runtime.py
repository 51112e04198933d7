"""The path agent inside the agent runtime (in-process, in-memory log): a directive is solved into keys published
as an event caused by it, and moving a crate into the route is answered by a re-plan caused by that move, within
one second."""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np

from agents.path import PathAgent
from core import ops as O
from core import tracks
from events.envelope import Actor
from projections.replay import rebuild
from tests.unit.test_agents_runtime import P, S, Rig
from tests.unit.test_path_agent import BOX, CRATES, body_gaps


async def _published(rig: Rig, causation: int, timeout: float = 5.0, agent: str = "path"):
    """The ``agent``'s event caused by ``causation`` (waits for it)."""
    async with asyncio.timeout(timeout):
        while True:
            for seq, ev in await rig.events():
                if ev.actor == Actor(kind="agent", id=agent) and ev.causation == causation:
                    return seq, ev
            await asyncio.sleep(0.005)


async def test_a_crate_moved_into_the_route_is_answered_by_a_replan_within_a_second():
    rig = Rig()
    await rig.log.ensure_project(P)
    await rig.submit(O.ShotConfigure(fps=24, frame_start=0, frame_end=600))
    await rig.submit(O.EntityCreate(id="alice", kind="character", props={"transform.position": [0.0, 0.0, 0.0]}),
                     O.SkeletonSet(id="alice", template="biped"),
                     *[O.EntityCreate(id=f"crate-{i}", kind="prop",
                                      props={"geometry": BOX(1.0, 1.0, 1.0), "transform.position": [x, 0.0, z]})
                       for i, (x, z) in enumerate(CRATES)])
    runner = rig.runner([PathAgent()])
    task = asyncio.create_task(runner.run())
    try:
        walk = await rig.submit(O.DirectiveAdd(id="walk", agent="path", params={
            "entity": "alice", "goal": [0.0, 24.0], "start": 0, "end": 480}))
        solved, ev = await _published(rig, walk)
        assert ev.ops[-1].params["report"]["status"] == "done"
        await runner.wait_for(P, solved)
        world = (await rebuild(rig.log, P, S)).world
        at = tracks.value_at(world.entities["alice"], "transform.position", [200.0])[0]

        t0 = time.perf_counter()
        move = await rig.submit(O.EntitySet(id="crate-5", path="transform.position",
                                            value=[float(at[0]), 0.0, float(at[2])]))
        replanned, ev = await _published(rig, move)
        elapsed = time.perf_counter() - t0
        await runner.wait_for(P, replanned)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    print(f"re-planned {elapsed * 1000:.0f} ms after the move")
    assert elapsed < 1.0, elapsed
    assert ev.reason.startswith("re-planned path walk") and ev.reason.endswith("crate-5 moved into the route")
    rep = ev.ops[-1].params["report"]
    assert rep["status"] == "done" and rep["replanned_after"] == {"seq": move, "entity": "crate-5"}
    assert rep["arrival_frame"] == 480
    world = (await rebuild(rig.log, P, S)).world
    frames = np.arange(0.0, 481.0, 2.0)
    assert body_gaps(world, "alice", frames).min() >= 0.3 - 1e-6
    end = tracks.value_at(world.entities["alice"], "transform.position", [480.0])[0]
    assert math.dist(end, [0.0, 0.0, 24.0]) < 1e-6
    assert runner.counts["applied"] == 2 and not runner.counts["decide_errors"]
