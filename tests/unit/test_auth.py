"""Tokens, the per-op authorisation decision, limits, and the error → status / close-code mapping (pure parts)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from core import ops as O
from core.world import Directive, Entity, World
from projections.store import AuditEntry
from realtime.access import Membership, MemoryAccess
from realtime.auth import Tokens, bearer_token, secret_for
from realtime.commands import CommandError
from realtime.errors import Forbidden, NotFound, RateLimited, Unauthorized, close_code, error_body, http_error
from realtime.policy import authorize
from realtime.restores import undo_stacks
from realtime.limits import RateLimiter, TokenBucket
from realtime.settings import Settings

SECRET = "unit-test-secret-0123456789abcdef"


def test_tokens_name_their_user_and_refuse_expired_forged_and_unsigned_ones():
    tokens = Tokens(SECRET)
    assert tokens.verify(tokens.issue("alice")) == "alice"
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(tokens.issue("alice", ttl_s=60, now=1_000))
    with pytest.raises(Unauthorized, match="signature"):
        tokens.verify(Tokens("another-secret-0123456789-abcdefghij").issue("alice"))
    header, payload, _ = tokens.issue("alice").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "mallory"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="signature"):
        tokens.verify(f"{header}.{tampered}.{_}")
    unsigned = jwt.encode({"sub": "alice", "iat": 1, "exp": 2**40, "iss": "wnm"}, None, algorithm="none")
    with pytest.raises(Unauthorized, match="invalid token"):
        tokens.verify(unsigned)
    no_exp = jwt.encode({"sub": "alice", "iat": 1, "iss": "wnm"}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="exp"):
        tokens.verify(no_exp)
    with pytest.raises(Unauthorized, match="invalid token"):
        tokens.verify("garbage")


def test_a_remembered_token_skips_the_signature_check_and_still_expires(monkeypatch):
    import time

    import realtime.auth as auth

    tokens = Tokens(SECRET, leeway_s=0.0)
    token = tokens.issue("alice", ttl_s=1)
    exp = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
    decoded = []
    real = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: decoded.append(1) or real(*a, **k))
    assert tokens.verify(token) == "alice" and tokens.verify(token) == "alice"
    assert len(decoded) == 1  # the second request was answered from what the first verified
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:10]}{'B' if sig[10] == 'A' else 'A'}{sig[11:]}"
    for _ in range(2):  # a forgery is checked every time, never remembered
        with pytest.raises(Unauthorized, match="signature"):
            tokens.verify(forged)
    assert len(decoded) == 3
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(token)


def test_bearer_token_comes_from_the_header_or_the_socket_query():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token(None, "q") == "q"
    with pytest.raises(Unauthorized, match="missing"):
        bearer_token(None)
    with pytest.raises(Unauthorized, match="Bearer"):
        bearer_token("Basic abc")


def test_the_generated_secret_is_kept_so_tokens_survive_a_restart(tmp_path):
    settings = Settings(data_dir=tmp_path)
    token = Tokens(secret_for(settings)).issue("bob")
    assert Tokens(secret_for(settings)).verify(token) == "bob"
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    assert secret_for(Settings(data_dir=tmp_path, secret="given-secret-0123456789")) == "given-secret-0123456789"


def _world():
    w = World(project="p", shot="s")
    for eid, kind in [("table", "prop"), ("cam", "camera"), ("sun", "light"), ("hero", "character")]:
        w.entities[eid] = Entity(eid, kind)
    w.directives["d"] = Directive("d", "camera", {})
    return w


def _m(role, scopes=None):
    return Membership(project="p", user="u", role=role, scopes=scopes)


def test_authorize_decides_from_the_entity_kind_including_entities_made_earlier_in_the_command():
    w = _world()
    authorize(_m("camera"), w, [O.KeySet(id="cam", path="camera.focal_length_mm", frame=0, value=50)])
    authorize(_m("camera"), w, [O.EntityCreate(id="c2", kind="camera"), O.EntityRemove(id="c2")])
    with pytest.raises(Forbidden) as e:
        authorize(_m("camera"), w, [O.EntityCreate(id="c2", kind="camera"), O.EntitySet(id="table", path="visible",
                                                                                        value=False)])
    assert e.value.index == 1 and "prop 'table'" in e.value.reason
    with pytest.raises(Forbidden):  # an entity made earlier in the command keeps its kind
        authorize(_m("layout"), w, [O.EntityCreate(id="x", kind="light"), O.KeySet(id="x", path="visible",
                                                                                   frame=0, value=True)])
    authorize(_m("lighting"), w, [O.RelationAdd(id="r", kind="look_at", subject="sun", object="hero")])
    with pytest.raises(Forbidden):  # rights on the subject, not the object
        authorize(_m("lighting"), w, [O.RelationAdd(id="r", kind="look_at", subject="cam", object="sun")])
    authorize(_m("camera"), w, [O.DirectiveUpdate(id="d", params={})])
    with pytest.raises(Forbidden):
        authorize(_m("motion"), w, [O.DirectiveRemove(id="d")])
    with pytest.raises(Forbidden):
        authorize(_m("layout"), w, [O.ShotConfigure(fps=30)])
    authorize(_m("layout"), w, [O.ShotConfigure()])  # the no-op marker of an empty undo
    with pytest.raises(Forbidden, match="read-only"):
        authorize(_m("viewer"), w, [O.ShotConfigure()])
    authorize(_m("agent"), w, [O.ShotConfigure(fps=30), O.DirectiveRemove(id="d")])
    with pytest.raises(Forbidden):
        authorize(_m("agent", ("camera",)), w, [O.EntitySet(id="sun", path="visible", value=False)])
    for role in ("owner", "director"):
        authorize(_m(role), w, [O.ShotConfigure(fps=30), O.EntityRemove(id="hero")])


async def test_memory_access_twin_keeps_projects_and_members():
    a = MemoryAccess()
    assert await a.create_project("p", "P", "alice") and not await a.create_project("p", "again", "bob")
    await a.set_member("p", "bob", "camera")
    assert (await a.membership("p", "bob")).role == "camera" and await a.membership("q", "bob") is None
    assert [m.user for m in await a.members("p")] == ["alice", "bob"]
    assert await a.remove_member("p", "bob") and await a.member_count() == 1


def _entry(seq, reason=None, applied=True):
    payload = {"reason": reason} if reason else {}
    return AuditEntry(project="p", shot="s", seq=seq, status="applied" if applied else "rejected", payload=payload)


def test_undo_and_redo_stacks_are_derived_from_the_log():
    entries = [_entry(1), _entry(2), _entry(3, applied=False), _entry(4, "undo 2"), _entry(5, "redo 4"),
               _entry(6, "undo 5"), _entry(7, "undo 1")]
    undo, redo = undo_stacks(entries)
    assert undo == [] and redo == [(6, 2), (7, 1)]
    undo, redo = undo_stacks(entries + [_entry(8)])  # a new edit clears what could be redone
    assert undo == [(8, 8)] and redo == []


def test_token_bucket_and_rate_limiter():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [0, 0, 0, 0.5]
    now[0] = 0.5
    assert bucket.take() == 0
    limiter = RateLimiter(rate=1, burst=1, max_keys=2, clock=lambda: now[0])
    limiter.check("a")
    with pytest.raises(RateLimited) as e:
        limiter.check("a")
    assert e.value.headers["Retry-After"] == "1"
    limiter.check("b")  # another key has its own bucket


def test_errors_map_to_one_status_and_close_code_each():
    assert http_error(NotFound("no project 'x'"))[:2] == (404, {"status_code": 404, "error": "not_found",
                                                                "reason": "no project 'x'"})
    assert error_body(CommandError("invalid", "op 1: frame: bad", 1, "frame"))["op"] == 1
    assert close_code(Unauthorized("token expired")) == (4401, "token expired")
    assert close_code(Forbidden("no"))[0] == 4403 and close_code(NotFound("no"))[0] == 4404
    assert close_code(RateLimited("slow down", 2.0))[0] == 1013
    assert close_code(RuntimeError("boom")) == (1011, "internal server error")


async def test_cached_access_keeps_memberships_briefly_and_forgets_on_change():
    from realtime.access import CachedAccess, MemoryAccess

    now = [0.0]
    inner = MemoryAccess()
    calls = []
    real = inner.membership

    async def counted(project, user):
        calls.append((project, user))
        return await real(project, user)

    inner.membership = counted
    access = CachedAccess(inner, ttl_s=1.0, clock=lambda: now[0])
    await access.create_project("p", "P", owner="alice")
    assert (await access.membership("p", "alice")).role == "owner"
    assert (await access.membership("p", "alice")).role == "owner"
    assert len(calls) == 1  # the second read came from the cache
    await access.set_member("p", "bob", "viewer")
    assert (await access.membership("p", "bob")).role == "viewer"
    await access.remove_member("p", "bob")
    assert await access.membership("p", "bob") is None  # a change through this instance is seen at once
    assert await access.membership("p", "carol") is None
    await inner.set_member("p", "carol", "layout")  # as if by another instance
    assert await access.membership("p", "carol") is None  # within the TTL the cached answer stands
    now[0] += 1.5
    assert (await access.membership("p", "carol")).role == "layout"  # seen once the entry expired
