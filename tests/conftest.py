"""Shared fixtures: real NATS JetStream and PostgreSQL for integration and e2e tiers.

``WNM_TEST_NATS_URL`` / ``WNM_TEST_DATABASE_URL`` point the tests at running services (CI uses the machine's);
when unset, embedded servers are started on free ports under a temporary directory.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest

from realtime import embedded
from tests.tools import ALLOW_SKIP_ENV, skips_allowed


# bench/mutation.sh sets WNM_MUTATION=1: a property test that a mutant breaks fails on its first failing example,
# unshrunk (shrinking took minutes per mutant), and a slowed mutant is left to mutmut's own timeout.
if os.environ.get("WNM_MUTATION") == "1":
    from hypothesis import Phase, settings

    settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate], deadline=None,
                              print_blob=False)
    settings.load_profile("mutation")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# A skipped test is a failed test unless WNM_ALLOW_SKIP=1 (tests/tools.py): tests skip only when a tool they need
# is missing (pyrender/OSMesa, torch, Node.js and its node_modules), and a CI that lost one must not stay green.
# Slow tests left out without --runslow are the one skip that is always allowed.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.skipped or hasattr(rep, "wasxfail") or skips_allowed():
        return
    if "slow" in item.keywords and not item.config.getoption("--runslow"):
        return
    rep.outcome = "failed"
    rep.longrepr = f"skipped: {_skip_reason(rep.longrepr)} — a missing tool fails the run; set {ALLOW_SKIP_ENV}=1 " \
                   "to skip instead"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and not skips_allowed():
        rep.outcome = "failed"
        rep.longrepr = f"module skipped: {_skip_reason(rep.longrepr)} — a missing tool fails the run; set " \
                       f"{ALLOW_SKIP_ENV}=1 to skip instead"


def _skip_reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


SESSION = uuid.uuid4().hex[:6]
"""Every name the ``unique`` fixture gives starts with ``t<SESSION>``, so a session can tell its own streams."""


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory):
    url = os.environ.get("WNM_TEST_NATS_URL")
    if url:
        # a shared server (other test sessions may be using it right now): test streams older than an hour are
        # leftovers of an interrupted session; this session removes its own streams when it ends (a projector that
        # follows every project would otherwise replay them all)
        _delete_streams(url, lambda name, age_s: _TEST_STREAM.match(name) is not None and age_s > 3600)
        yield url
        _delete_streams(url, lambda name, age_s: name.startswith(f"WNM_t{SESSION}"))
        return
    with embedded.nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


_TEST_STREAM = re.compile(r"^WNM_t[0-9a-f]{14}")


def _delete_streams(url: str, select) -> None:
    """Delete the streams on ``url`` for which ``select(name, age in seconds)`` is true."""
    import asyncio
    import datetime

    import nats

    async def go():
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            now = datetime.datetime.now(datetime.timezone.utc)
            for info in await js.streams_info():
                # e.g. 2026-11-25T21:05:03.123456789Z: Python reads at most microseconds
                created = re.sub(r"(\.\d{6})\d+", r"\1", str(getattr(info, "created", ""))).replace("Z", "+00:00")
                try:
                    age = (now - datetime.datetime.fromisoformat(created)).total_seconds()
                except ValueError:
                    age = 0.0
                if select(info.config.name, age):
                    await js.delete_stream(info.config.name)
        finally:
            await nc.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def server_database_url(tmp_path_factory):
    url = os.environ.get("WNM_TEST_DATABASE_URL")
    if url:
        yield url
        return
    with embedded.postgres_server(tmp_path_factory.mktemp("pg"), "delete") as url:
        yield url


@pytest.fixture
async def database_url(server_database_url):
    """A fresh, empty database per test on the test PostgreSQL server; dropped afterwards."""
    import asyncpg

    name = "wnm_t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(server_database_url, name)
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _with_database(url: str, name: str) -> str:
    """Replace the database name in a postgresql:// URI (works for host and unix-socket forms)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture
def unique() -> str:
    """A short unique id for project and shot names, so tests sharing a NATS server never collide."""
    return "t" + SESSION + uuid.uuid4().hex[:8]
