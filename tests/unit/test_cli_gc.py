"""`wnm` processes collect young objects less often than CPython's default (realtime.cli.GC_YOUNG_THRESHOLD), so a
bulk edit of a large shot no longer sets off a string of full collections on the server's event loop."""

from __future__ import annotations

import gc

from realtime import cli


def test_every_wnm_command_sets_the_young_threshold(capsys):
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, *before[1:])
        assert cli.main(["agents", "list"]) == 0
        assert "collision" in capsys.readouterr().out
        assert gc.get_threshold() == (cli.GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
