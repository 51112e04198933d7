-- 002_access: projects and their members (SPEC §6 security).
--
-- projects  one row per project; the event stream is created beside it (events/jetstream.py)
-- members   a user's role in a project; agents may carry scopes (entity kinds, "directive", "shot") limiting
--           what they edit (NULL = everything but membership management)
--
-- Tokens are signed identities (realtime/auth.py); membership is checked on every request, so removing a member
-- revokes their access at once. Applied by projections/migrate.py.

CREATE TABLE projects (
    id          text        PRIMARY KEY,
    name        text        NOT NULL DEFAULT '',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE members (
    project     text        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('owner', 'director', 'layout', 'camera', 'lighting', 'motion',
                                                     'viewer', 'agent')),
    scopes      text[],
    added_by    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, user_id)
);

CREATE INDEX members_user_idx ON members (user_id);
