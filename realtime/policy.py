"""Who may do what to which shot: tokens to users, membership, and authorisation op by op (SPEC §6).

* :func:`authenticate` — token → user. :func:`require_member` — 404 for non-members (a project's existence never
  leaks), 403 for a viewer asked to write.
* :func:`authorize` — per op, from the role (table in :mod:`realtime.access`): the entity's kind decides (for
  ``entity.create`` the op's kind, otherwise the kind in the current world or earlier in the same command);
  relations need rights on their subject; directives need director / owner, an agent scoped for "directive", or
  the role matching the directive's agent (:data:`DIRECTIVE_ROLES`); ``shot.configure`` needs director / owner (or
  an agent scoped for "shot"). An empty ``shot.configure`` — the marker a no-op undo or rollback records — needs
  only write. ``entity.remove`` also needs rights on every entity the removal changes — the subjects of relations
  to it (they go with it) and its children (their parent is cleared) —, and the refusal names them.

Authorisation is decided when the command arrives, against the projection as it then stands; the reducer does
not re-check it.
"""

from __future__ import annotations

from core import ops as O
from core.world import World
from events.envelope import Actor

from .access import SCOPES, Membership
from .auth import bearer_token
from .errors import Forbidden, NotFound

__all__ = ["authenticate", "require_member", "authorize", "actor_for", "ROLE_KINDS", "DIRECTIVE_ROLES", "FULL_ROLES"]

ROLE_KINDS = {"layout": {"prop", "environment"}, "camera": {"camera"}, "lighting": {"light"},
              "motion": {"character"}}
DIRECTIVE_ROLES = {"camera": "camera", "shot": "camera", "lighting": "lighting", "light": "lighting",
                   "layout": "layout", "motion": "motion", "path": "motion", "hold": "motion"}
FULL_ROLES = ("owner", "director")


# ---------------------------------------------------------------- who


def authenticate(system, authorization: str | None, query_token: str | None = None) -> str:
    """The user named by a request's bearer token (or ``?token=``); raises Unauthorized."""
    return system.tokens.verify(bearer_token(authorization, query_token))


async def require_member(system, user: str, project: str, write: bool = False) -> Membership:
    m = await system.access.membership(project, user)
    if m is None:
        raise NotFound(f"no project {project!r}")
    if write and not m.can_write:
        raise Forbidden(f"role {m.role} is read-only in project {project!r}")
    return m


def actor_for(m: Membership) -> Actor:
    return Actor(kind="agent" if m.role == "agent" else "user", id=m.user)


def _tag(op) -> str:
    return type(op).__struct_config__.tag


def authorize(m: Membership, world: World | None, ops: list) -> None:
    """Raise Forbidden naming the first op ``m``'s role may not carry out on ``world``."""
    if m.role in FULL_ROLES:
        return
    if not m.can_write:
        raise Forbidden(f"role {m.role} is read-only")
    scopes = set(m.scopes if m.scopes is not None else SCOPES) if m.role == "agent" else None
    # What the ops see: the world's entities, directives and relations, overlaid with those the command adds
    # (looked up per op, so a command costs the same in a shot of ten entities or ten thousand).
    kinds = _Overlay(world.entities if world else {}, lambda e: e.kind)
    agents = _Overlay(world.directives if world else {}, lambda d: d.agent)
    subjects = _Overlay(world.relations if world else {}, lambda r: r.subject)

    def kind_ok(kind: str | None) -> bool:
        if kind is None:  # an unknown entity: the op cannot apply, validation says why
            return True
        return kind in scopes if scopes is not None else kind in ROLE_KINDS.get(m.role, ())

    for i, op in enumerate(ops):
        what: str | None = None
        if isinstance(op, O.ShotConfigure):
            if op != O.ShotConfigure() and not (scopes is not None and "shot" in scopes):
                what = "configure the shot"
        elif isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate, O.DirectiveRemove)):
            agent = op.agent if isinstance(op, O.DirectiveAdd) else agents.get(op.id)
            if agent is not None:
                ok = ("directive" in scopes) if scopes is not None else DIRECTIVE_ROLES.get(agent) == m.role
                if not ok:
                    what = f"direct the {agent} agent"
            if isinstance(op, O.DirectiveAdd):
                agents[op.id] = op.agent
        elif isinstance(op, (O.RelationAdd, O.RelationRemove)):
            subject = op.subject if isinstance(op, O.RelationAdd) else subjects.get(op.id)
            if subject is not None and not kind_ok(kinds.get(subject)):
                what = f"relate {kinds.get(subject)} {subject!r}"
            if isinstance(op, O.RelationAdd):
                subjects[op.id] = op.subject
        else:
            kind = op.kind if isinstance(op, O.EntityCreate) else kinds.get(op.id)
            if not kind_ok(kind):
                what = f"edit {kind} {op.id!r}"
            elif isinstance(op, O.EntityRemove):
                hit = [(eid, k, why) for eid, why in _removal_touches(world, op.id)
                       if not kind_ok(k := kinds.get(eid))]
                if hit:
                    names = ", ".join(f"{k} {eid!r} ({why})" for eid, k, why in hit)
                    raise Forbidden(f"op {i} ({_tag(op)}): role {m.role} may not remove {op.id!r}: removing it "
                                    f"would also change {names}", index=i, entities=[eid for eid, _, _ in hit])
            if isinstance(op, O.EntityCreate):
                kinds.setdefault(op.id, op.kind)
        if what is not None:
            raise Forbidden(f"op {i} ({_tag(op)}): role {m.role} may not {what}", index=i)


def _removal_touches(world: World | None, eid: str) -> list[tuple[str, str]]:
    """The other entities removing ``eid`` changes, with why (what ``core.edit``'s ``entity.remove`` does): the
    subjects of relations it is the object of (the relation goes) and its children (their parent is cleared).
    Over the world as it stands: relations and parents the same command adds are on entities whose kind the
    role edits (they were authorised as such), so they never change the answer. (entity id, why), sorted."""
    if world is None:
        return []
    out: dict[str, str] = {}
    for rid, r in world.relations.items():
        if r.object == eid and r.subject != eid:
            out.setdefault(r.subject, f"its {r.kind} relation {rid!r} goes")
    for cid, c in world.entities.items():
        if c.parent == eid and cid != eid:
            out.setdefault(cid, "its parent is cleared")
    return sorted(out.items())


class _Overlay:
    """A read view of ``base`` (values mapped through ``field``) with local additions on top."""

    def __init__(self, base: dict, field):
        self.base, self.field, self.added = base, field, {}

    def get(self, key):
        if key in self.added:
            return self.added[key]
        found = self.base.get(key)
        return None if found is None else self.field(found)

    def __setitem__(self, key, value) -> None:
        self.added[key] = value

    def setdefault(self, key, value) -> None:
        if self.get(key) is None:
            self.added[key] = value
