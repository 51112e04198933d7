"""Killing ``wnm up``'s agents process under load: does the server keep its latency, and do the agents come back
and catch up without repairing anything twice?

    python bench/bench_kill_agents.py [--props 1000] [--editors 20] [--rate 10] [--seconds 10] [--pushes 5]

One default ``wnm up`` (embedded NATS and PostgreSQL unless WNM_NATS_URL / WNM_DATABASE_URL are set; agents on,
as shipped) serves a shot of ``--props`` white-box props. Measured in the same run, with the socket bench's
clients and method (``bench/bench_sync.py``):

* before — ``--editors`` sockets each sending a command every 1/``--rate`` s for ``--seconds``: command → the
  update at every other socket, p50 / p99, with the agents process alive;
* kill — the same load again; a third of the way in, the agents process is killed with SIGKILL (its pid from
  ``/readyz``), and ``--pushes`` HTTP commands each push a chair into a table while it is down. ``wnm up`` starts
  the agents again (they reload their replica and the text-embedding model meanwhile); the figures cover the
  kill, the restart and the catch-up, and are printed as ratios to "before";
* catch-up — seconds from the kill until ``/readyz`` shows a new agents process with no lag, and, for each push,
  the collision agent's repairs caused by it in the shot's history: exactly one each (a repair published before
  the kill and decided again after it would appear twice) and the chair freed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import (GRID_M, GRID_ROW, Server, add_shots, agents_caught_up, box, command_http, fill,  # noqa: E402
                        grid_box, http_setup, latency, ms, pct)


async def readyz_agents(c) -> dict:
    r = await c.get("/readyz")
    return (r.json().get("agents") or {}).get("process") or {}


async def push_chairs(c, p: str, s: str, first: int, n: int) -> list[tuple[str, int]]:
    """``n`` table + chair pairs on the grid from place ``first`` on; each chair pushed half into its table.
    Returns (chair, the push's seq) per pair."""
    ops = []
    for k in range(n):
        ops += [grid_box(f"ktable{k}", first + 2 * k), grid_box(f"kchair{k}", first + 2 * k + 1)]
    await command_http(c, p, s, "kill-boxes", ops)
    pushed = []
    for k in range(n):
        i = first + 2 * k
        tx, tz = GRID_M * (i % GRID_ROW), GRID_M * (i // GRID_ROW)
        r = await command_http(c, p, s, f"kill-push-{k}", [
            {"type": "entity.set", "id": f"kchair{k}", "path": "transform.position", "value": [tx + 0.5, 0.0, tz]}])
        pushed.append((f"kchair{k}", r["seq"]))
    return pushed


async def repairs_of(c, p: str, s: str, chair: str, seq: int) -> list[dict]:
    h = await c.get(f"/v1/projects/{p}/shots/{s}/history", params={"entity": chair, "after": seq})
    assert h.status_code == 200, h.text
    return [e for e in h.json()["entries"] if e.get("causation") == seq and e.get("actor_kind") == "agent"]


async def run(args, tmp: Path) -> None:
    from realtime.bootstrap import services
    from realtime.settings import Settings

    settings = Settings.from_env(data_dir=tmp)
    print(f"load average at start: {os.getloadavg()}; cpus: {os.cpu_count()}; props: {args.props:,}")
    with services(settings) as resolved:
        server = Server(resolved.nats_url, resolved.database_url, tmp)
        try:
            await server.ready()
            p = "kill" + os.urandom(3).hex()
            c = await http_setup(server, p, [])
            s = "shot"
            await add_shots(c, p, [s], "on")
            await command_http(c, p, s, "boxes", [box(f"e{i}") for i in range(args.editors)])
            await fill(c, p, s, args.props)
            waited = await agents_caught_up(c, p)
            print(f"filled; agents caught up {waited:.1f} s later" if waited is not None else "agents NOT caught up")

            before, _, _ = await latency(server, p, s, args.editors, args.rate, args.seconds)
            b50, b99 = pct(before, 50), pct(before, 99)
            print(f"before  edit→peer, {args.editors} editors × {args.rate:g} cmd/s, agents alive: "
                  f"p50 {ms(b50)}  p99 {ms(b99)}  (n={len(before)})")

            victim = (await readyz_agents(c)).get("pid")
            assert victim, "no agents process in /readyz"
            restarts = (await readyz_agents(c)).get("restarts", 0)
            killed_at: list[float] = []
            pushed: list[tuple[str, int]] = []

            back: list[float] = []

            async def watch_restart() -> None:
                while True:
                    st = await readyz_agents(c)
                    if st.get("running") and st.get("pid") not in (None, victim) and st.get("restarts", 0) > restarts:
                        back.append(time.perf_counter() - killed_at[0])
                        return
                    await asyncio.sleep(0.05)

            async def kill_then_push() -> None:
                await asyncio.sleep(args.seconds / 3)
                os.kill(victim, signal.SIGKILL)
                killed_at.append(time.perf_counter())
                watcher = asyncio.create_task(watch_restart())
                pushed.extend(await push_chairs(c, p, s, args.props + 10, args.pushes))
                await asyncio.wait_for(watcher, 120)

            during, _ = await asyncio.gather(
                latency(server, p, s, args.editors, args.rate, args.seconds, tag="kill"), kill_then_push())
            during = during[0]
            d50, d99 = pct(during, 50), pct(during, 99)
            print(f"kill    the same load, agents process SIGKILLed at {args.seconds / 3:.1f} s and "
                  f"{args.pushes} chairs pushed into tables while it was down: p50 {ms(d50)}  p99 {ms(d99)}  "
                  f"(n={len(during)}; ×{d50 / b50:.2f} / ×{d99 / b99:.2f} of before)")

            waited = await agents_caught_up(c, p, timeout=300.0)
            caught = time.perf_counter() - killed_at[0]
            print(f"catch-up  a new agents process running {back[0]:.1f} s after the kill; "
                  + (f"every agent without lag {caught:.1f} s after it" if waited is not None
                     else "still lagging 300 s after the load"))

            counts, freed = [], 0
            for chair, seq in pushed:
                found = await repairs_of(c, p, s, chair, seq)
                counts.append(len([e for e in found if e.get("status") == "applied"]))
                freed += bool(found)
            dup = sum(1 for n in counts if n > 1)
            print(f"repairs  per pushed chair (applied, caused by its push): {counts}; {freed}/{len(pushed)} "
                  f"repaired, {dup} repaired more than once")
            await c.aclose()
            print(f"\nload average at end: {os.getloadavg()}")
            if dup or freed < len(pushed):
                raise SystemExit("agents did not catch up exactly once per push")
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--props", type=int, default=1000)
    ap.add_argument("--editors", type=int, default=20)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--pushes", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-kill-"))
    try:
        asyncio.run(run(args, tmp))
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
