"""HTTP routes for agent suggestions (suggest mode, SPEC §7). Paths below are under ``/v1/projects/{p}/shots/{s}``.

| route | answer |
|---|---|
| ``GET /suggestions?status=pending|accepted|dismissed|all&limit=`` | ``{suggestions: [...]}`` (any member) |
| ``POST /suggestions/{id}/accept`` | publishes exactly the proposed ops as the caller, authorised op by op like any
  command → ``{seq, status, reason?}`` |
| ``POST /suggestions/{id}/dismiss`` | the dismissed suggestion (a member who may write) |
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery

from agents import suggestions as S

from .errors import Conflict, Invalid, NotFound
from .gateway import submit_as
from .policy import actor_for, require_member
from .http_common import User, state_of

__all__ = ["ROUTES"]

_BASE = "/v1/projects/{project:str}/shots/{shot:str}/suggestions"


def _store(request: Request):
    st = state_of(request)
    store = getattr(st, "suggestions", None)
    if store is None:
        from .bootstrap import agent_stores

        store = st.suggestions = agent_stores(st.system)[1]
    return store


class _AsUser:
    """The command path of an accepted suggestion: the caller's rights, checked op by op."""

    def __init__(self, system, user: str):
        self.system, self.user = system, user

    async def submit(self, project, shot, actor, command, causation=None, reason=None):
        return await submit_as(self.system, self.user, project, shot, command, reason=reason, causation=causation)


def _translate(e: S.SuggestionError):
    return NotFound(e.reason) if e.kind == "not_found" else Conflict(e.reason)


@get(_BASE, summary="Proposals of agents in suggest mode")
async def list_suggestions(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                           status: FromQuery[str] = "pending", limit: FromQuery[int] = 100) -> dict:
    await require_member(state_of(request).system, user, project)
    if status not in ("pending", "accepted", "dismissed", "all"):
        raise Invalid(f"status must be pending, accepted, dismissed or all, got {status!r}", field="status")
    if not 1 <= limit <= 1000:
        raise Invalid(f"limit must be 1–1000, got {limit}", field="limit")
    found = await S.list_suggestions(_store(request), project, shot, None if status == "all" else status, limit)
    return {"suggestions": [s.to_json() for s in found]}


@post(_BASE + "/{sid:str}/accept", status_code=200, summary="Accept a suggestion: its ops, as the caller")
async def accept_suggestion(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                            sid: FromPath[str]) -> dict:
    system = state_of(request).system
    m = await require_member(system, user, project, write=True)
    try:
        res = await S.accept(_store(request), _AsUser(system, user), project, shot, sid, actor_for(m))
    except S.SuggestionError as e:
        raise _translate(e) from None
    return res.to_json()


@post(_BASE + "/{sid:str}/dismiss", status_code=200, summary="Dismiss a suggestion")
async def dismiss_suggestion(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                             sid: FromPath[str]) -> dict:
    m = await require_member(state_of(request).system, user, project, write=True)
    try:
        s = await S.dismiss(_store(request), project, shot, sid, actor_for(m))
    except S.SuggestionError as e:
        raise _translate(e) from None
    return s.to_json()


ROUTES = [list_suggestions, accept_suggestion, dismiss_suggestion]
