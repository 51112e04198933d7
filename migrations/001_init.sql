-- 001_init: the projection of the event log (SPEC §4, §5).
--
-- audit                  one row per event of a project's stream, applied or rejected, never updated
-- shots                  the shot catalogue: where each shot's projection stands
-- snapshots              a shot's document (its full Yjs update) at a seq, every N applied events
-- projector_checkpoints  the last seq of a project's stream the projection holds; written in the same
--                        transaction as the rows above, so a redelivered event is never applied twice
--
-- Tables for projects, members and tokens come in a later migration. Applied by projections/migrate.py.

CREATE TABLE audit (
    project      text             NOT NULL,
    seq          bigint           NOT NULL,
    shot         text             NOT NULL,
    event_id     text,                       -- NULL when the event could not be decoded
    command_id   text,
    actor_kind   text,
    actor_id     text,
    causation    bigint,
    op_types     text[]           NOT NULL DEFAULT '{}',
    entity_ids   text[]           NOT NULL DEFAULT '{}',
    payload      jsonb,                      -- the event as JSON; NULL when it is not valid JSON (see raw)
    raw          bytea,                      -- the bytes off the log, kept only when payload is NULL
    status       text             NOT NULL CHECK (status IN ('applied', 'rejected')),
    reason       text,
    ts           double precision,           -- the event's own timestamp (seconds since the epoch)
    recorded_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (project, seq)
);

CREATE INDEX audit_shot_idx ON audit (project, shot, seq);
CREATE INDEX audit_actor_idx ON audit (project, actor_kind, actor_id, seq);
CREATE INDEX audit_entity_idx ON audit USING gin (entity_ids);
CREATE INDEX audit_op_idx ON audit USING gin (op_types);
CREATE INDEX audit_command_idx ON audit (project, shot, command_id);

CREATE TABLE shots (
    project      text        NOT NULL,
    shot         text        NOT NULL,
    head_seq     bigint      NOT NULL DEFAULT 0,   -- last applied seq (the document's head)
    last_seq     bigint      NOT NULL DEFAULT 0,   -- last processed seq, applied or rejected
    state_hash   text        NOT NULL,             -- sha256 of the document's full update at head_seq
    event_count  bigint      NOT NULL DEFAULT 0,   -- events on the shot's subject, applied or rejected
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, shot)
);

CREATE TABLE snapshots (
    project          text        NOT NULL,
    shot             text        NOT NULL,
    reducer_version  integer     NOT NULL,  -- a snapshot is only valid for the reduction that made it
    seq              bigint      NOT NULL,  -- the document after the event at seq (and every earlier one)
    doc              bytea       NOT NULL,
    state_hash       text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, shot, reducer_version, seq)
);

CREATE TABLE projector_checkpoints (
    project     text        PRIMARY KEY,
    last_seq    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
