-- 006_commit_batch: a projector's batch commit in one statement (one round trip instead of seven).
--
-- commit_batch(project, checkpoint, audit rows, shot rows) does what projections/pgstore.py did statement by
-- statement: take the project's checkpoint row FOR UPDATE (concurrent projectors on one stream serialise here),
-- refuse a checkpoint at or below the stored one (false), store only the audit rows above the stored checkpoint,
-- upsert the shots' catalogue rows (counting the fresh events per shot) and move the checkpoint (true).
-- Snapshots are rare and large; they stay separate statements in the same transaction.

CREATE TYPE audit_entry AS (
    seq          bigint,
    shot         text,
    event_id     text,
    command_id   text,
    actor_kind   text,
    actor_id     text,
    causation    bigint,
    op_types     text[],
    entity_ids   text[],
    payload      jsonb,
    raw          bytea,
    status       text,
    reason       text,
    ts           double precision
);

CREATE TYPE shot_update AS (
    shot        text,
    head_seq    bigint,
    last_seq    bigint,
    state_hash  text
);

CREATE FUNCTION commit_batch(p_project text, p_checkpoint bigint, p_rows audit_entry[], p_shots shot_update[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    current bigint;
BEGIN
    INSERT INTO projector_checkpoints (project, last_seq) VALUES (p_project, 0) ON CONFLICT DO NOTHING;
    SELECT last_seq INTO current FROM projector_checkpoints WHERE project = p_project FOR UPDATE;
    IF p_checkpoint <= current THEN
        RETURN false;
    END IF;
    INSERT INTO audit (project, seq, shot, event_id, command_id, actor_kind, actor_id, causation, op_types,
                       entity_ids, payload, raw, status, reason, ts)
    SELECT p_project, r.seq, r.shot, r.event_id, r.command_id, r.actor_kind, r.actor_id, r.causation,
           coalesce(r.op_types, '{}'), coalesce(r.entity_ids, '{}'), r.payload, r.raw, r.status, r.reason, r.ts
    FROM unnest(p_rows) AS r
    WHERE r.seq > current
    ON CONFLICT (project, seq) DO NOTHING;
    INSERT INTO shots AS s (project, shot, head_seq, last_seq, state_hash, event_count)
    SELECT p_project, u.shot, u.head_seq, u.last_seq, u.state_hash,
           (SELECT count(*) FROM unnest(p_rows) AS r WHERE r.seq > current AND r.shot = u.shot)
    FROM (SELECT DISTINCT ON (x.shot) x.*                    -- a shot listed twice: its last row
          FROM unnest(p_shots) WITH ORDINALITY AS x ORDER BY x.shot, x.ordinality DESC) AS u
    ON CONFLICT (project, shot) DO UPDATE SET
        head_seq    = CASE WHEN EXCLUDED.last_seq > s.last_seq THEN EXCLUDED.head_seq ELSE s.head_seq END,
        state_hash  = CASE WHEN EXCLUDED.last_seq > s.last_seq THEN EXCLUDED.state_hash ELSE s.state_hash END,
        last_seq    = GREATEST(s.last_seq, EXCLUDED.last_seq),
        event_count = s.event_count + EXCLUDED.event_count,
        updated_at  = now();
    UPDATE projector_checkpoints SET last_seq = p_checkpoint, updated_at = now() WHERE project = p_project;
    RETURN true;
END
$$;
