"""`wnm` processes consider a full garbage collection less often than CPython's default
(realtime.cli.GC_OLDEST_THRESHOLD), so a bulk edit of a large shot no longer sets off a string of them on the
server's event loop."""

from __future__ import annotations

import gc

from realtime import cli


def test_every_wnm_command_sets_the_oldest_threshold(capsys):
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        assert cli.main(["agents", "list"]) == 0
        assert "collision" in capsys.readouterr().out
        assert gc.get_threshold() == (700, 10, cli.GC_OLDEST_THRESHOLD) and cli.GC_OLDEST_THRESHOLD > 10
    finally:
        gc.set_threshold(*before)
