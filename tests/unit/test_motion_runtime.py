"""The motion agent under the agent runtime (in-memory log): a long motion is several events, all published, in
order, caused by the directive; the directive's report arrives last; a restart adds nothing."""

from __future__ import annotations

import asyncio

import numpy as np

from agents.motion.agent import MotionAgent
from core import ops as O
from core.sampling import sample
from projections.replay import rebuild

from .test_agents_runtime import P, S, Rig, _run_until


async def test_a_long_motion_is_published_whole_through_the_runtime():
    rig = Rig()
    await rig.log.ensure_project(P)
    await rig.submit(O.ShotConfigure(fps=24, frame_start=0, frame_end=240))
    await rig.submit(O.EntityCreate(id="bob", kind="character"), O.SkeletonSet(id="bob", template="biped"))
    seq = await rig.submit(O.DirectiveAdd(id="m", agent="motion", params={"entity": "bob", "clips": [
        {"clip": "walk", "start": 0, "end": 120}, {"clip": "run", "start": 120, "end": 200},
        {"clip": "idle", "start": 200, "end": 240}]}))
    runner = rig.runner([MotionAgent()])
    await _run_until(runner, seq)
    for _ in range(50):                                   # the agent's events land after its position advanced
        evs = [(s, e) for s, e in await rig.events() if e.actor.id == "motion"]
        if evs and any(isinstance(op, O.DirectiveUpdate) for op in evs[-1][1].ops):
            break
        await asyncio.sleep(0.05)
    assert len(evs) >= 2                                 # more than one event's worth of keys
    assert all(e.causation == seq for _, e in evs)
    assert [e.command_id for _, e in evs] == [f"agent.motion.{seq}.{i}" for i in range(len(evs))]
    assert isinstance(evs[-1][1].ops[-1], O.DirectiveUpdate)
    red = await rebuild(rig.log, P, S, evs[-1][0])
    report = red.world.directives["m"].params["report"]
    assert report["status"] == "done" and report["frames"] == [0.0, 240.0]
    keys = sum(len(t) for p, t in red.world.entities["bob"].tracks.items())
    assert keys == report["keys"]
    s = sample(red.world, [0.0, 240.0])
    assert s.joints["bob"].matrices[1, 0, 2, 3] - s.joints["bob"].matrices[0, 0, 2, 3] > 8.0
    # a restarted runner decides nothing new
    before = len(await rig.events())
    await _run_until(rig.runner([MotionAgent()]), evs[-1][0])
    assert len(await rig.events()) == before
    assert np.isfinite(keys)
