"""The tour (``python -m agents.camera.demo``) builds its shot and both agents solve it."""

from __future__ import annotations

from agents.camera.demo import build


def test_the_tour_shot_is_solved_by_both_agents():
    red, reasons = build()
    chase = red.world.directives["chase"].params["report"]
    mood = red.world.directives["mood"].params["report"]
    assert chase["status"] == "done" and chase["problems"] == [] and chase["pushed"] > 0
    assert mood["status"] == "done" and sorted(mood["lights"]) == ["mood.fill", "mood.key", "mood.rim"]
    assert len(reasons) == 2
