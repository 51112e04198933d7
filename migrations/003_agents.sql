-- Agents (SPEC §7): each agent's position per project, and proposals kept in suggest mode.

CREATE TABLE IF NOT EXISTS agent_checkpoints (
    agent      text        NOT NULL,
    project    text        NOT NULL,
    seq        bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent, project)
);

CREATE TABLE IF NOT EXISTS agent_suggestions (
    project     text        NOT NULL,
    shot        text        NOT NULL,
    id          text        NOT NULL,   -- the command id the agent would have used: agent.<name>.<seq>.<i>
    agent       text        NOT NULL,
    trigger_seq bigint      NOT NULL,
    ops         jsonb       NOT NULL,   -- exactly the proposed ops
    reason      text        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'dismissed')),
    decided_by  text,
    decided_at  timestamptz,
    result_seq  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, shot, id)
);

CREATE INDEX IF NOT EXISTS agent_suggestions_by_status ON agent_suggestions (project, shot, status, trigger_seq);
