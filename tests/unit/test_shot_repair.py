"""Auto-repair of framing: when the subject moves or the scene blocks the view, the shot agent re-solves (through
the agent runtime, caused by that edit) and the framing holds again; edits that leave it intact change nothing."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from agents.camera.agent import ShotAgent
from agents.camera.spec import SIZES
from agents.runtime import AgentRunner, FollowingReplica, MemoryCheckpoints, command_id_for
from agents.suggestions import MemorySuggestions
from core import ops as O
from events.envelope import Actor, Command, decode_event
from events.log import MemoryLog
from projections.replay import rebuild
from realtime.commands import CommandService

from .shot_rig import Rig, framing

P, S = "proj", "shot"
ALICE = Actor(kind="user", id="alice")
RES = (640, 360)
MS = {"camera": "cam", "subject": "ann", "size": "MS", "start": 0, "end": 48}


class Live:
    """The in-memory log, command service and agent runtime, as in ``wnm up``."""

    def __init__(self):
        self.log = MemoryLog()

        async def load(project, shot, upto):
            return await rebuild(self.log, project, shot, upto)

        self.commands = CommandService(self.log, FollowingReplica(self.log, load), outcome_timeout=2.0)
        self.runner = AgentRunner([ShotAgent()], self.log, self.commands, load, MemoryCheckpoints(),
                                  MemorySuggestions(), projects=[P], rescan_s=0.02)
        self.n = 0

    async def submit(self, *ops) -> int:
        self.n += 1
        res = await self.commands.submit(P, S, ALICE, Command(command_id=f"c{self.n}", ops=list(ops)),
                                         must_exist=False)
        assert res.status == "applied", res
        return res.seq

    async def agent_event_after(self, seq: int, timeout: float = 5.0):
        async with asyncio.timeout(timeout):
            while True:
                async for stored in self.log.read(P, S, after=seq):
                    ev = decode_event(stored.data)
                    if ev.actor.kind == "agent":
                        return stored.seq, ev
                await asyncio.sleep(0.005)


async def test_moving_the_subject_re_solves_within_a_second_and_the_framing_holds():
    live = Live()
    await live.log.ensure_project(P)
    task = asyncio.create_task(live.runner.run())
    try:
        await live.submit(O.ShotConfigure(fps=24, frame_start=0, frame_end=48, resolution=RES),
                          O.EntityCreate(id="ann", kind="character", props={"transform.position": [0, 0, 0]}),
                          O.SkeletonSet(id="ann", template="biped"))
        first = await live.submit(O.DirectiveAdd(id="ms", agent="shot", params=MS))
        await live.agent_event_after(first)
        t0 = time.monotonic()
        move = await live.submit(O.EntitySet(id="ann", path="transform.position", value=[2.5, 0.0, -1.5]))
        seq, ev = await live.agent_event_after(move)
        elapsed = time.monotonic() - t0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert elapsed < 1.0, f"re-solved after {elapsed:.2f} s"
    assert ev.actor == Actor(kind="agent", id="shot") and ev.causation == move
    assert ev.command_id == command_id_for("shot", move, 0)
    world = (await rebuild(live.log, P, S)).world
    fr = framing(world, "cam", "ann", np.arange(0, 49))
    assert np.allclose(fr["sigma"], SIZES["MS"], rtol=0.01)
    assert np.allclose(fr["top_uv"], [RES[0] / 2, 0.08 * RES[1]], atol=1.0)
    assert world.directives["ms"].params["report"]["why"] == "subject ann changed"


def _stage(rig: Rig):
    rig.edit(O.ShotConfigure(fps=24, frame_start=0, frame_end=48, resolution=RES),
             O.EntityCreate(id="ann", kind="character", props={"transform.position": [0, 0, 0]}),
             O.SkeletonSet(id="ann", template="biped"))
    rig.edit(O.DirectiveAdd(id="ms", agent="shot", params=dict(MS, size="MLS")))
    return framing(rig.world, "cam", "ann", np.arange(0, 49))


def test_a_prop_placed_in_the_sight_line_makes_the_camera_push_in_past_it():
    rig = Rig()
    before = _stage(rig)
    cam_z = before["position"][0, 2]
    (p,) = rig.edit(O.EntityCreate(id="crate", kind="prop", props={
        "geometry": {"primitive": "box", "size": [1.2, 2.2, 0.6]}, "transform.position": [0.0, 0.0, 0.8 * cam_z]}))
    assert p.reason.startswith("shot ms solved (framing broken: view blocked by crate")
    rep = rig.report("ms")
    assert rep["status"] == "done" and rep["pushed"] == 49
    after = framing(rig.world, "cam", "ann", np.arange(0, 49))
    assert np.all(after["position"][:, 2] < 0.8 * cam_z - 0.3 - 0.29)  # in front of the crate, ~0.3 m clear
    assert np.allclose(after["sigma"], SIZES["MLS"], rtol=0.01)       # a wider lens holds the size
    assert np.all(after["focal"] < 35.0)


def test_edits_that_leave_the_framing_intact_change_nothing():
    rig = Rig()
    _stage(rig)
    assert rig.edit(O.EntityCreate(id="lamp", kind="prop", props={
        "geometry": {"primitive": "cylinder", "radius": 0.2, "height": 1.5}, "transform.position": [5, 0, -5]})) == []
    assert rig.edit(O.EntityCreate(id="key", kind="light")) == []
    # re-sending the same params does not re-solve either
    params = dict(rig.world.directives["ms"].params)
    assert rig.edit(O.DirectiveUpdate(id="ms", params=params)) == []


def test_a_missing_subject_fails_then_solves_when_it_appears():
    rig = Rig()
    rig.edit(O.ShotConfigure(fps=24, frame_start=0, frame_end=48, resolution=RES))
    rig.edit(O.DirectiveAdd(id="ms", agent="shot", params=MS))
    assert rig.report("ms") == {"status": "failed", "reason": "unknown subject 'ann'",
                                "params_hash": rig.report("ms")["params_hash"]}
    rig.edit(O.EntityCreate(id="ann", kind="character", props={"transform.position": [0, 0, 0]}))
    assert rig.report("ms")["status"] == "done"


@pytest.mark.parametrize("bad", [{"subject_joint": "wing"}, {"end": 0}])
def test_a_bad_update_leaves_the_previous_keys_in_place(bad):
    rig = Rig()
    before = _stage(rig)
    keys = {p: list(v) for p, v in rig.world.entities["cam"].tracks.items()}
    params = {k: v for k, v in rig.world.directives["ms"].params.items() if k != "report"}
    params.update(bad)
    (p,) = rig.edit(O.DirectiveUpdate(id="ms", params=params))
    assert len(p.ops) == 1 and rig.report("ms")["status"] == "failed"
    assert {p: list(v) for p, v in rig.world.entities["cam"].tracks.items()} == keys
    assert np.allclose(framing(rig.world, "cam", "ann", np.arange(0, 49))["position"], before["position"])


def test_a_prop_too_close_to_the_subject_is_reported_and_the_old_keys_stay():
    rig = Rig()
    before = _stage(rig)
    keys = {p: list(v) for p, v in rig.world.entities["cam"].tracks.items()}
    cam_z = before["position"][0, 2]
    (p,) = rig.edit(O.EntityCreate(id="crate", kind="prop", props={
        "geometry": {"primitive": "box", "size": [1.2, 2.2, 0.6]}, "transform.position": [0.0, 0.0, 0.5 * cam_z]}))
    assert len(p.ops) == 1
    rep = rig.report("ms")
    assert rep["status"] == "failed" and "impossible with a 12–600 mm lens" in rep["reason"]
    assert {p: list(v) for p, v in rig.world.entities["cam"].tracks.items()} == keys
