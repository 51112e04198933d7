-- 005_world_snapshots: compact snapshots of a shot's plain world (no CRDT history), for fast reads at any offset.
--
-- A document snapshot carries every tombstone the shot ever made, so loading one grows with the length of the log;
-- a world snapshot holds only the live state (zlib-compressed msgpack of core.world.World), so "the world at N" costs
-- the live size plus a short tail. Document snapshots stay for state hashes and CRDT sync.

CREATE TABLE world_snapshots (
    project          text        NOT NULL,
    shot             text        NOT NULL,
    reducer_version  integer     NOT NULL,
    seq              bigint      NOT NULL,
    world            bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, shot, reducer_version, seq)
);
