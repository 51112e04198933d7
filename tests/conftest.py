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


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory):
    url = os.environ.get("WNM_TEST_NATS_URL")
    if url:
        # a shared server: streams this session makes are removed at its end, and test streams an interrupted
        # earlier session left behind are removed first (a projector following every project would replay them)
        before = _streams(url, delete=lambda name: _TEST_STREAM.match(name) is not None)
        yield url
        _streams(url, delete=lambda name: name not in before)
        return
    with embedded.nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


_TEST_STREAM = re.compile(r"^(WNM_t[0-9a-f]{10}|KV_WNM_t[0-9a-f]{10}).*")


def _streams(url: str, delete) -> set[str]:
    """The stream names on ``url`` after deleting those ``delete(name)`` selects."""
    import asyncio

    import nats

    async def go():
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            kept = set()
            for info in await js.streams_info():
                name = info.config.name
                if delete(name):
                    await js.delete_stream(name)
                else:
                    kept.add(name)
            return kept
        finally:
            await nc.close()

    return asyncio.run(go())


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
    return "t" + uuid.uuid4().hex[:10]
