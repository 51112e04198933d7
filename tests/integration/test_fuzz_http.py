"""The HTTP API under fuzzed input, on real NATS JetStream and PostgreSQL: commands with adversarial numbers, depths,
strings and shapes for every op type (SPEC §4), fuzzed route parameters and query values on every route, and bodies
that are not JSON or not the right JSON on every POST route.

What must hold for every case: no 5xx; every 4xx is a JSON body with a ``reason``; a 422 caused by an op names its
``op`` index and ``field``; and afterwards the project still accepts a write (checked every ``PROBE_EVERY`` cases and
at the end; the regression tests of the known reproducers check after each one). The default run makes about 1,400
requests; ``--runslow`` makes ten times as many.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import ops as O
from realtime.limits import Limits

from .http_helpers import Api, http_system, module_database

SHOT = "s1"
PROBE_EVERY = 25

# ------------------------------------------------------------------------------------------------- the world

SEED_OPS = [
    {"type": "entity.create", "id": "box", "kind": "prop",
     "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}}},
    {"type": "entity.create", "id": "hero", "kind": "character"},
    {"type": "skeleton.set", "id": "hero", "template": "biped"},
    {"type": "entity.create", "id": "cam", "kind": "camera"},
    {"type": "entity.create", "id": "lamp", "kind": "light"},
    {"type": "key.set", "id": "box", "path": "transform.position", "frame": 0, "value": [0, 0, 0]},
    {"type": "key.set", "id": "box", "path": "transform.position", "frame": 10, "value": [1, 0, 0]},
    {"type": "relation.add", "id": "r1", "kind": "look_at", "subject": "cam", "object": "box"},
    {"type": "directive.add", "id": "d1", "agent": "layout", "params": {"recipe": "x"}},
]

# A valid op of every type of SPEC §4 against the seeded world (ids are fresh where the op creates something).
TEMPLATES: dict[str, dict[str, Any]] = {
    "shot.configure": {"fps": 24, "frame_start": 0, "frame_end": 100, "resolution": [640, 360], "name": "n",
                       "agents": {"layout": "off"}},
    "entity.create": {"id": "new1", "kind": "prop", "name": "n", "parent": "box",
                      "props": {"transform.position": [0, 1, 0]}},
    "entity.remove": {"id": "lamp"},
    "entity.set": {"id": "box", "path": "transform.position", "value": [1, 2, 3]},
    "key.set": {"id": "box", "path": "transform.position", "frame": 5, "value": [0, 1, 0], "interp": "linear",
                "in_tangent": None, "out_tangent": None},
    "key.remove": {"id": "box", "path": "transform.position", "frame": 10},
    "track.clear": {"id": "box", "path": "transform.position"},
    "track.shift": {"id": "box", "path": "transform.position", "by": 1, "start": 0, "end": 10},
    "skeleton.set": {"id": "hero", "template": "biped", "scale": 1.0},
    "relation.add": {"id": "r9", "kind": "supports", "subject": "box", "object": "hero", "joint": "head",
                     "offset": [0, 0, 0]},
    "relation.remove": {"id": "r1"},
    "directive.add": {"id": "d9", "agent": "layout", "params": {"recipe": "x"}},
    "directive.update": {"id": "d1", "params": {"recipe": "y"}},
    "directive.remove": {"id": "d1"},
}
assert set(TEMPLATES) == set(O.OP_TYPES), "a new op type needs a template here"


class Raw:
    """A JSON text spliced into a body as is (NaN tokens, 400-digit integers, deep nesting)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return f"Raw({self.text[:40]!r}{'…' if len(self.text) > 40 else ''} [{len(self.text)} chars])"


def dumps(obj: Any) -> bytes:
    """``obj`` as JSON, with every :class:`Raw` spliced in verbatim."""
    raws: list[str] = []

    def walk(v):
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(obj), allow_nan=True)
    for i, r in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), r)
    return text.encode("utf-8", "surrogatepass")


def deep(levels: int, leaf: str = "1", kind: str = "[") -> Raw:
    close = "]" if kind == "[" else "}"
    opener = "[" if kind == "[" else '{"a":'
    return Raw(opener * levels + leaf + close * levels)


EXTREME = [2 ** 53, -(2 ** 53), 9e15, -9e15, 1e15, 1e6, -1e6, 999_999.999, 1e-300, -0.0, 0.5, 1e9 + 0.5]
"""Numbers at the edge of what may be accepted: they reach the check and, when it passes, the projector."""
NUMBERS = EXTREME + [1e300, -1e300, 0, 5e-324, 1e-320, 2 ** 53 + 1, 2 ** 63, -(2 ** 63) - 1, 2 ** 64, 10 ** 30,
           Raw("9" * 400), Raw("-" + "9" * 400), Raw("1e400"), Raw("-1e400"), Raw("NaN"), Raw("Infinity"),
           Raw("-Infinity"), float("nan"), float("inf"), "NaN", "Infinity", "-Infinity", "1e300", "0x10", "1_000"]
STRINGS = ["", " ", "\x00", "a\x00b", "\r\n", "x\r\ny", "\ud800", "\udfff", "é漢字🙂", "x" * 5000, "../../x",
           "%00", "box ", " box", "BOX", "box\n", "\u202e", "\ufeff", "\\", '"', "null"]
DEEP = [deep(500), deep(500, kind="{"), deep(64), deep(5000), deep(100_000)]
SHAPES = [None, True, False, [], {}, [1], {"a": 1}, [[[[]]]], [None], [1, 2, 3], [1, 2, 3, 4, 5], ["1", "2", "3"],
          [True, False, True], {"euler_deg": [0, 0, 0]}, {"euler_deg": Raw("[1e400, 0, 0]")},
          {"primitive": "box", "size": [Raw("9" * 400), 1, 1]}, [Raw("9" * 400), 0, 0], [1e300, 1e300, 1e300],
          [Raw("NaN"), 0, 0], ["box"], {"box": 1}, 7, -1, 0.5]
VALUES = st.sampled_from(NUMBERS + STRINGS + DEEP + SHAPES) | st.text(max_size=30) | st.integers() | st.floats()

REAL_IDS = ["box", "hero", "cam", "lamp", "r1", "d1", "new1"]


@st.composite
def op_cases(draw):
    """(body, op index or None, what was done): one command whose op ``index`` is mutated, or whose envelope is."""
    kind = draw(st.sampled_from(sorted(TEMPLATES)))
    op = {"type": kind, **TEMPLATES[kind]}
    how = draw(st.sampled_from(["none", "none", "value", "value", "value", "missing", "unknown", "type", "whole"]))
    fields = [k for k in op if k != "type"] or ["type"]
    name = draw(st.sampled_from(fields))
    if how == "value":
        op[name] = draw(VALUES | st.sampled_from(REAL_IDS))
    elif how == "missing":
        op.pop(name, None)
    elif how == "unknown":
        op[draw(st.sampled_from(["extra", "Id", "", "\x00", "x" * 300, "type2", "ops"]))] = draw(VALUES)
    elif how == "type":
        op["type"] = draw(st.sampled_from(["", "entity", "entity.explode", "ENTITY.CREATE", "\x00", 7, None,
                                           ["entity.create"]]) | st.text(max_size=10))
    elif how == "whole":
        op = draw(st.sampled_from([None, 7, "entity.create", [], [op], deep(500)]))
    edge = st.sampled_from(EXTREME)
    before = draw(st.lists(st.one_of(
        st.sampled_from([{"type": "key.set", "id": "box", "path": "visible", "frame": 3, "value": True},
                         {"type": "entity.set", "id": "cam", "path": "camera.f_stop", "value": 2.8}]),
        st.builds(lambda f, x: {"type": "key.set", "id": "box", "path": "transform.position", "frame": f,
                                "value": [x, 0, 0]}, edge, edge),
        st.builds(lambda by, a, b: {"type": "track.shift", "id": "box", "path": "transform.position", "by": by,
                                    "start": a, "end": b}, edge, st.sampled_from([None, -9e15, 0]),
                  st.sampled_from([None, 9e15, 10]))), max_size=2))
    ops = [*before, op]
    body: dict[str, Any] = {"command_id": uuid.uuid4().hex, "ops": ops}
    where: int | None = len(before)
    envelope = draw(st.sampled_from([None] * 6 + ["command_id", "expected_seq", "reason", "extra"]))
    if envelope is not None:
        body[envelope] = draw(VALUES)
        where = None
    return body, where, f"{kind}: {how} {name}" + (f"; envelope {envelope}" if envelope else "")


# ------------------------------------------------------------------------------------------------ the server


@dataclass
class Fuzz:
    api: Api
    project: str
    seed_seq: int = 0
    cases: int = 0
    writes: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    recent: list[str] = field(default_factory=list)
    routes: list[tuple] = field(default_factory=list)

    @property
    def shot_path(self) -> str:
        return f"/v1/projects/{self.project}/shots/{SHOT}"

    async def request(self, method: str, path: str, body: bytes | None = None, params=None,
                      content_type: str = "application/json"):
        headers = dict(self.api.headers)
        if body is not None:
            headers["content-type"] = content_type
        return await self.api.client.request(method, path, content=body, params=params, headers=headers)

    async def case(self, what: str, method: str, path: str, body: bytes | None = None, params=None,
                   op: int | None | bool = False, content_type: str = "application/json", probe: bool = False):
        """Send one case and check the answer; ``op``: the index of the op the case mutated (a 422 must name it
        and a field), None for an envelope mutation (a 422 must name a field), False for no such rule."""
        self.cases += 1
        label = f"{what}: {method} {path[:120]} params={params!r:.200} body={(body or b'')[:200]!r}"
        self.recent = [*self.recent[-(PROBE_EVERY - 1):], label]
        try:
            r = await self.request(method, path, body, params, content_type)
        except Exception as e:  # noqa: BLE001 - a transport failure is a finding like a 500
            self.failures.append(f"raised {type(e).__name__}: {e} ← {label}")
            return None
        self.statuses[(what.split(":")[0] if op is False else "command", r.status_code,
                       r.json().get("status") if r.status_code == 200 and op is not False else None)] += 1
        problem = judge(r, op)
        if problem:
            self.failures.append(f"{problem} ← {label}")
        if probe or self.cases % PROBE_EVERY == 0:
            await self.write(label if probe else "one of the last cases:\n    " + "\n    ".join(self.recent))
        return r

    async def write(self, after: str = "the end"):
        """Writes that must be applied: a new entity, then a rollback to the seeded world (so that the next cases
        find the entities, keys, relation and directive they refer to)."""
        self.writes += 1
        r = await self.api.command(self.project, SHOT, [
            {"type": "entity.create", "id": f"probe{self.writes}", "kind": "prop"}])
        if r.status_code == 200 and r.json().get("status") == "applied":
            r = await self.api.post(f"{self.shot_path}/rollback",
                                    {"command_id": uuid.uuid4().hex, "to_seq": self.seed_seq})
        if r.status_code != 200 or r.json().get("status") != "applied":
            self.failures.append(f"the project no longer accepts a write ({r.status_code} {r.text[:200]}) after "
                                 f"{after}")


def judge(r, op: int | None | bool) -> str | None:
    """What is wrong with a response to a fuzzed request, or None."""
    if r.status_code >= 500:
        return f"{r.status_code} {r.text[:300]}"
    if r.status_code < 400:
        return None
    try:
        body = r.json()
    except ValueError:
        return f"{r.status_code} without a JSON body: {r.text[:200]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("reason"), str) or not body["reason"]:
        return f"{r.status_code} without a reason: {r.text[:200]}"
    if r.status_code == 422 and op is not False:
        if op is not None and ("op" not in body or "field" not in body):
            return f"422 without op and field: {body}"
        if op is None and "field" not in body:
            return f"422 without a field: {body}"
    return None


@pytest.fixture(scope="module")
async def fuzz(nats_url, server_database_url, tmp_path_factory):
    """One server, project and seeded shot for the whole module (the cases share it, as users share a server)."""
    async with module_database(server_database_url) as database_url:
        project = "t" + uuid.uuid4().hex[:14]
        limits = Limits(rate_per_s=1_000_000, burst=1_000_000)
        async with http_system(nats_url, database_url, tmp_path_factory.mktemp("fuzz"), None, limits=limits,
                               outcome_timeout_s=3.0, render_farm=True) as (system, client):
            api = Api(client, system)
            await api.ok("POST", "/v1/projects", {"id": project}, status=201)
            await api.ok("POST", f"/v1/projects/{project}/shots", {"id": SHOT}, status=201)
            await api.ok("POST", f"/v1/projects/{project}/members", {"user": "vic", "role": "viewer"})
            r = await api.command(project, SHOT, SEED_OPS)
            assert r.status_code == 200 and r.json()["status"] == "applied", r.text
            f = Fuzz(api, project, seed_seq=r.json()["seq"], routes=routes_to_fuzz(client._transport.app))
            yield f


# ---------------------------------------------------------------------------------- the known reproducers

def _command(*ops) -> bytes:
    return dumps({"command_id": uuid.uuid4().hex, "ops": list(ops)})


REPRODUCERS = {
    "params nested 500 levels": _command({"type": "directive.add", "id": "deep1", "agent": "layout",
                                          "params": {"p": deep(500)}}),
    "params nested 400 levels": _command({"type": "directive.add", "id": "deep2", "agent": "layout",
                                          "params": {"p": deep(400, kind="{")}}),
    "a body nested 100,000 levels": _command({"type": "directive.add", "id": "deep3", "agent": "layout",
                                              "params": {"p": deep(100_000)}}),
    "a 400-digit integer in a vec": _command({"type": "key.set", "id": "box", "path": "transform.position",
                                              "frame": 2, "value": [Raw("9" * 400), 0, 0]}),
    "a 400-digit integer in params": _command({"type": "directive.add", "id": "big1", "agent": "layout",
                                               "params": {"n": Raw("9" * 400)}}),
    "a 400-digit frame": _command({"type": "key.set", "id": "box", "path": "transform.position",
                                   "frame": Raw("9" * 400), "value": [0, 0, 0]}),
    "parent set to [1]": _command({"type": "entity.set", "id": "box", "path": "parent", "value": [1]}),
    "parent set to {}": _command({"type": "entity.set", "id": "box", "path": "parent", "value": {}}),
    "parent created as 7": _command({"type": "entity.create", "id": "kid", "kind": "prop", "parent": 7}),
    "track.shift by 1e300": _command({"type": "track.shift", "id": "box", "path": "transform.position",
                                      "by": 1e300, "start": 0, "end": 10}),
    "a key at 1e300, then a shift": _command(
        {"type": "key.set", "id": "box", "path": "transform.position", "frame": 1e300, "value": [0, 0, 0]},
        {"type": "track.shift", "id": "box", "path": "transform.position", "by": 1, "start": 0, "end": 10}),
    "NaN as a raw token": _command({"type": "key.set", "id": "box", "path": "transform.position",
                                    "frame": Raw("NaN"), "value": [0, 0, 0]}),
    "Infinity in a vec": _command({"type": "entity.set", "id": "box", "path": "transform.position",
                                   "value": [Raw("Infinity"), 0, 0]}),
    "1e400 in a vec": _command({"type": "entity.set", "id": "box", "path": "transform.position",
                                "value": [Raw("1e400"), 0, 0]}),
}


@pytest.mark.parametrize("name", sorted(REPRODUCERS))
async def test_a_known_reproducer_is_a_4xx_and_the_project_still_writes(fuzz, name):
    before = len(fuzz.failures)
    r = await fuzz.case(name, "POST", f"{fuzz.shot_path}/commands", REPRODUCERS[name], op=0, probe=True)
    assert fuzz.failures[before:] == []
    assert r.status_code in (200, 400, 413, 422), r.text
    if r.status_code == 200:  # accepted by the check: then the projector applied it or recorded a rejection
        assert r.json()["status"] in ("applied", "rejected")


@pytest.mark.parametrize("path, params", [
    ("{shot}/history", {"after": "99999999999999999999"}),
    ("{shot}/history", {"before": "-99999999999999999999"}),
    ("{shot}/history", {"limit": "9" * 400}),
    ("{shot}/world", {"at": "99999999999999999999"}),
    ("{shot}/world", {"frame": "1e400"}),
    ("{shot}/hash", {"at": "-99999999999999999999"}),
    ("{shot}/history", {"actor": "\x00"}),
    ("{shot}/history", {"entity": "a\x00b", "op": "\x00"}),
    ("{shot}/suggestions", {"status": "\x00"}),
    ("/v1/projects/%00", None),
    ("/v1/projects/%00/members", None),
    ("/v1/projects/{project}/shots/%00", None),
    ("/v1/projects/{project}/shots/%00/hash", None),
    ("/v1/projects/{project}/shots/%00/world", None),
    ("/v1/projects/{project}/shots/x%00y/history", None),
    ("/v1/projects/{project}/shots/%3E/history", None),
    ("/v1/renders/..%2F..%2Fx", None),
    ("/v1/renders/%00", None),
    ("/v1/renders/a.b", None),
    ("/v1/renders/" + "x" * 5000, None),
])
async def test_a_bad_route_parameter_is_a_4xx_and_the_project_still_writes(fuzz, path, params):
    path = path.replace("{shot}", fuzz.shot_path).replace("{project}", fuzz.project)
    before = len(fuzz.failures)
    r = await fuzz.case("route", "GET", path, params=params, probe=True)
    assert fuzz.failures[before:] == []
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("job_id", ["../../x", "a/b", " ", "\x00", "x" * 5000, "*", ">", "é"])  # "" = the server picks
async def test_a_bad_render_job_id_is_a_4xx(fuzz, job_id):
    body = dumps({"preset": "cameractrl", "job_id": job_id})
    before = len(fuzz.failures)
    r = await fuzz.case("render job id", "POST", f"{fuzz.shot_path}/renders", body, probe=True)
    assert fuzz.failures[before:] == []
    assert r.status_code in (400, 422), r.text
    assert r.json()["field"] == "job_id"


async def test_a_missing_or_unknown_op_field_is_named(fuzz):
    """The 422 of a command names the op and the field, also when the field is missing or unknown."""
    key = {"type": "key.set", "id": "box", "path": "visible", "frame": 1, "value": True}
    cases = [({**key, "colour": 1}, "colour"), ({k: v for k, v in key.items() if k != "frame"}, "frame"),
             ({k: v for k, v in key.items() if k != "id"}, "id"), ({**key, "type": "key.explode"}, "type"),
             ({**key, "frame": "zero"}, "frame"), ({**key, "interp": "cubic"}, "interp"), (7, "type"),
             ({"id": "box"}, "type")]
    for op, name in cases:
        r = await fuzz.request("POST", f"{fuzz.shot_path}/commands", _command(key, op))
        assert r.status_code == 422, r.text
        assert (r.json()["op"], r.json()["field"]) == (1, name), r.text


WRONG = [None, True, [], {}, [1], {"a": 1}, "x", "", 7, -0.0, 1e300, Raw("9" * 400), Raw("NaN"), "Infinity",
         deep(500), "\x00", "x" * 5000]


async def test_every_field_of_every_op_type_with_a_wrong_value(fuzz):
    """The matrix the fuzz samples from, in full: each field of each op type (SPEC §4) set to each wrong value, and
    each field removed; never a 5xx, a 422 names the op and the field, and the project goes on taking writes."""
    before = len(fuzz.failures)
    for kind, template in sorted(TEMPLATES.items()):
        for name in template:
            for value in [*WRONG, "<missing>"]:
                op = {"type": kind, **template}
                if value == "<missing>":
                    del op[name]
                else:
                    op[name] = value
                await fuzz.case(f"{kind} {name}={value!r:.40}", "POST", f"{fuzz.shot_path}/commands",
                                _command(op), op=0)
    await fuzz.write()
    assert fuzz.failures[before:] == []


# ------------------------------------------------------------------------------------------ the fuzz suites

EXAMPLES = {"commands": 800, "routes": 400, "bodies": 200}
SLOW_TIMES = 10


def _settings(suite: str, times: int = 1):
    return settings(max_examples=EXAMPLES[suite] * times, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


async def _command_case(fuzz: Fuzz, case) -> None:
    body, where, what = case
    before = len(fuzz.failures)
    await fuzz.case(what, "POST", f"{fuzz.shot_path}/commands", dumps(body), op=where)
    assert fuzz.failures[before:] == []


@given(case=op_cases())
@_settings("commands")
async def test_fuzzed_commands_of_every_op_type(fuzz, case):
    await _command_case(fuzz, case)


@pytest.mark.slow
@given(case=op_cases())
@_settings("commands", SLOW_TIMES)
async def test_fuzzed_commands_of_every_op_type_at_length(fuzz, case):
    await _command_case(fuzz, case)


# Path segments as sent on the wire (already percent-encoded where they must be).
SEGMENTS = ["%00", "x%00y", "..", ".", "%2e%2e", "..%2F..%2Fx", "%2F", "%5C", "x" * 5000, "x" * 65, "%C3%A9%E6%BC%A2",
            "%F0%9F%99%82", "%FF", "%FE%FF", "%", "%ZZ", "%20", "%20box", "a%0Ab", "a%0D%0Ab", "null", "-1", "9" * 30,
            "%EF%BB%BF", "box%00", "a.b", "*", "%3E", "~", "%09"]
SEGMENT = st.sampled_from(SEGMENTS) | st.text(min_size=1, max_size=20).map(
    lambda t: urllib.parse.quote(t.encode("utf-8", "surrogatepass"), safe=""))
QUERY_VALUES = ["99999999999999999999", "-99999999999999999999", "9" * 400, "-1", "0", "1", "abc", "", "1e300",
                "1e400", "nan", "NaN", "inf", "-inf", "Infinity", "1.5", "0x10", " 1", "1 ", "\x00", "\x00",
                "１", "1_000", "true", "null", "%00", "x" * 5000]
RAW_QUERIES = ["?at=%ED%A0%80", "?limit=%FF", "?after=%00", "?at=1&at=2", "?frame=%2B1e999", "?=", "?&&", "?limit"]
QUERY_VALUE = st.sampled_from(QUERY_VALUES) | st.text(max_size=12) | st.integers().map(str)

# (method, path template, query names, a valid body): every route of realtime/http_*.py
ROUTES = [
    ("GET", "/v1/projects", [], None),
    ("POST", "/v1/projects", [], "project"),
    ("GET", "/v1/projects/{p}", [], None),
    ("GET", "/v1/projects/{p}/members", [], None),
    ("POST", "/v1/projects/{p}/members", [], {"user": "vic", "role": "viewer"}),
    ("DELETE", "/v1/projects/{p}/members/{m}", [], None),
    ("GET", "/v1/projects/{p}/shots", [], None),
    ("POST", "/v1/projects/{p}/shots", [], "shot"),
    ("GET", "/v1/projects/{p}/shots/{s}", [], None),
    ("POST", "/v1/projects/{p}/shots/{s}/commands", [], "command"),
    ("GET", "/v1/projects/{p}/shots/{s}/world", ["at", "frame"], None),
    ("GET", "/v1/projects/{p}/shots/{s}/hash", ["at"], None),
    ("GET", "/v1/projects/{p}/shots/{s}/history", ["actor", "entity", "op", "after", "before", "limit"], None),
    ("POST", "/v1/projects/{p}/shots/{s}/rollback", [], "rollback"),
    ("POST", "/v1/projects/{p}/shots/{s}/undo", [], "undo"),
    ("POST", "/v1/projects/{p}/shots/{s}/redo", [], "undo"),
    ("POST", "/v1/projects/{p}/shots/{s}/fork", [], "fork"),
    ("POST", "/v1/projects/{p}/shots/{s}/ik", [], "ik"),
    ("POST", "/v1/projects/{p}/shots/{s}/import", ["name", "entity", "start"], None),  # the body is a scene file
    ("GET", "/v1/projects/{p}/shots/{s}/suggestions", ["status", "limit"], None),
    ("POST", "/v1/projects/{p}/shots/{s}/suggestions/{sid}/accept", [], None),
    ("POST", "/v1/projects/{p}/shots/{s}/suggestions/{sid}/dismiss", [], None),
    ("POST", "/v1/projects/{p}/shots/{s}/renders", [], {"preset": "cameractrl"}),
    ("GET", "/v1/renders/{j}", [], None),
    ("GET", "/v1/renders/{j}/manifest", [], None),
    ("GET", "/v1/renders/{j}/pack", [], None),
    ("GET", "/healthz", [], None),
    ("GET", "/metrics", [], None),
]
POST_ROUTES = [r for r in ROUTES if r[0] == "POST"]


def valid_body(fuzz: Fuzz, kind) -> dict | None:
    """A body the route would accept (so that a fuzzed path or query is what is wrong)."""
    if kind == "project":
        return {"id": "t" + uuid.uuid4().hex[:14]}
    if kind == "shot":
        return {"id": "s" + uuid.uuid4().hex[:8]}
    if kind == "command":
        return {"command_id": uuid.uuid4().hex,
                "ops": [{"type": "key.set", "id": "box", "path": "visible", "frame": 3, "value": True}]}
    if kind == "rollback":
        return {"command_id": uuid.uuid4().hex, "to_seq": fuzz.seed_seq}
    if kind == "undo":
        return {"command_id": uuid.uuid4().hex}
    if kind == "fork":
        return {"shot": "f" + uuid.uuid4().hex[:8]}
    if kind == "ik":
        return {"command_id": uuid.uuid4().hex, "entity": "box", "joint": "hand", "target": [0, 1, 0], "frame": 3}
    return kind


_PARAM_NAMES = {"project": "p", "shot": "s", "member": "m", "sid": "sid", "job_id": "j"}
_NOT_FUZZED = ("/schema", "/readyz")  # the OpenAPI pages; readiness answers 503 by contract when not ready


def app_routes(app) -> dict[tuple[str, str], list[str]]:
    """{(method, path template as in ROUTES): query parameter names} of every HTTP route the app serves."""
    out: dict[tuple[str, str], list[str]] = {}
    for route in app.routes:
        if route.path.startswith(_NOT_FUZZED):
            continue
        for h in getattr(route, "route_handlers", []):
            methods = set(getattr(h, "http_methods", None) or ()) - {"HEAD", "OPTIONS"}
            if not methods:
                continue  # the sync socket
            path = re.sub(r"\{(\w+):\w+\}", lambda m: "{" + _PARAM_NAMES.get(m.group(1), m.group(1)) + "}", route.path)
            query = [n for n in h.parsed_fn_signature.parameters
                     if n not in ("request", "user", "data", "socket") and n not in _PARAM_NAMES]
            for method in methods:
                out[(method, path)] = query
    return out


def routes_to_fuzz(app) -> list[tuple]:
    """ROUTES, and any GET route of the app they do not list yet (fuzzed by its path and query)."""
    listed = {(m, p) for m, p, _, _ in ROUTES}
    return ROUTES + [(m, p, q, None) for (m, p), q in sorted(app_routes(app).items())
                     if m == "GET" and (m, p) not in listed]


@st.composite
def route_cases(draw, routes):
    method, template, names, body = draw(st.sampled_from(routes))
    real = {"p": None, "s": SHOT, "m": "vic", "sid": "nope", "j": "nope"}
    segments = {}
    fuzz_path = draw(st.booleans())  # else the query (or the body) is what is fuzzed, on a real path
    for name in ("p", "s", "m", "sid", "j"):
        if "{" + name + "}" in template:
            segments[name] = draw(st.one_of(st.just(real[name]), SEGMENT)) if fuzz_path else real[name]
    query = {}
    for name in names:
        if draw(st.booleans()):
            query[name] = draw(QUERY_VALUE)
    if draw(st.integers(0, 9)) == 0:
        query[draw(st.sampled_from(["x", "at", "", "\x00", "limit"]))] = draw(QUERY_VALUE)
    raw_query = draw(st.sampled_from(RAW_QUERIES)) if draw(st.integers(0, 9)) == 0 else ""
    return method, template + raw_query, segments, query or None, body


def _fill(fuzz: Fuzz, template: str, segments: dict) -> str:
    path = template
    for name, value in segments.items():
        path = path.replace("{" + name + "}", fuzz.project if value is None else value)
    return path


def _body_mutations():
    """A body for a POST route: not JSON, the wrong JSON shape, or its valid body with one field changed."""
    not_json = st.sampled_from([b"", b" ", b"{", b"}", b"nul", b"\xff\xfe", b"\x00", b"[]", b"null", b"1", b'"x"',
                                b"NaN", b"Infinity", b"{'a': 1}", b'{"a":1,}', b"[" * 100_000, b"{" * 5000,
                                b'{"a":' * 600 + b"1" + b"}" * 600, b"\xef\xbb\xbf{}", b'{"id": "\\ud800"}',
                                b'{"id": "a"} x', b'{"id": "a", "id": "b"}', b"9" * 400, b"1e400"])
    return st.one_of(not_json, st.binary(max_size=40))


def _mutate_body(draw, body: dict | None) -> dict:
    if not body:
        return draw(st.sampled_from([{"x": 1}, {"": None}]))
    body = dict(body)
    how = draw(st.sampled_from(["value", "value", "missing", "unknown"]))
    name = draw(st.sampled_from(sorted(body)))
    if how == "value":
        body[name] = draw(VALUES)
    elif how == "missing":
        body.pop(name)
    else:
        body[draw(st.sampled_from(["extra", "", "\x00", "x" * 300]))] = draw(VALUES)
    return body


async def _route_case(fuzz: Fuzz, case) -> None:
    method, template, segments, query, kind = case
    body = valid_body(fuzz, kind) if method == "POST" else None
    path = _fill(fuzz, template, segments)
    before = len(fuzz.failures)
    await fuzz.case("route", method, path, None if body is None else dumps(body), params=query)
    assert fuzz.failures[before:] == []


@given(data=st.data())
@_settings("routes")
async def test_fuzzed_route_parameters_on_every_route(fuzz, data):
    await _route_case(fuzz, data.draw(route_cases(fuzz.routes)))


@pytest.mark.slow
@given(data=st.data())
@_settings("routes", SLOW_TIMES)
async def test_fuzzed_route_parameters_on_every_route_at_length(fuzz, data):
    await _route_case(fuzz, data.draw(route_cases(fuzz.routes)))


CONTENT_TYPES = ["application/json"] * 6 + ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                            "application/json; charset=latin-1", ""]


async def _body_case(fuzz: Fuzz, data) -> None:
    method, template, _, kind = data.draw(st.sampled_from(POST_ROUTES))
    path = _fill(fuzz, template, {"p": None, "s": SHOT, "sid": "nope"})
    if data.draw(st.integers(0, 3)) == 0:
        raw = data.draw(_body_mutations())
    else:
        raw = dumps(_mutate_body(data.draw, valid_body(fuzz, kind)))
    content_type = data.draw(st.sampled_from(CONTENT_TYPES))
    before = len(fuzz.failures)
    await fuzz.case("body", method, path, raw, content_type=content_type)
    assert fuzz.failures[before:] == []


@given(data=st.data())
@_settings("bodies")
async def test_fuzzed_bodies_on_every_post_route(fuzz, data):
    await _body_case(fuzz, data)


@pytest.mark.slow
@given(data=st.data())
@_settings("bodies", SLOW_TIMES)
async def test_fuzzed_bodies_on_every_post_route_at_length(fuzz, data):
    await _body_case(fuzz, data)


async def test_every_route_is_fuzzed(fuzz):
    """A new POST or DELETE route needs an entry in ROUTES (with a valid body); new GET routes are fuzzed as found."""
    served = app_routes(fuzz.api.client._transport.app)
    listed = {(m, p) for m, p, _, _ in ROUTES}
    assert sorted(set(served) - listed - {(m, p) for m, p, _, _ in fuzz.routes}) == []
    assert sorted(listed - set(served)) == []
    for method, path, query, _ in ROUTES:
        assert sorted(query) == sorted(served[(method, path)]), (method, path)


async def test_broken_and_deep_bodies_on_every_post_route(fuzz):
    """Not JSON, or nested past any recursion limit, on every POST route: a 4xx each, the project still writes."""
    before = len(fuzz.failures)
    for _, template, _, _ in POST_ROUTES:
        path = _fill(fuzz, template, {"p": None, "s": SHOT, "sid": "nope"})
        for raw in (b"[" * 100_000, b"{" * 5000, b'{"a":' * 600 + b"1" + b"}" * 600, b"", b"{", b"\xff", b"null",
                    b"[]", b"9" * 400):
            r = await fuzz.case("broken body", "POST", path, raw)
            if r is not None and r.status_code < 400 and raw not in (b"", b"null", b"[]"):
                fuzz.failures.append(f"{r.status_code} for a broken body on {template}")
    await fuzz.write()
    assert fuzz.failures[before:] == []


async def test_the_project_still_writes_after_the_fuzz(fuzz):
    await fuzz.write()
    print("\n".join(f"{n:6d} {k}" for k, n in sorted(fuzz.statuses.items(), key=str)))
    assert fuzz.failures == []
    assert fuzz.cases >= sum(EXAMPLES.values())
