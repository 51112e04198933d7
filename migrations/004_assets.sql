-- 004_assets: assets people import (GLB/OBJ), normalised to metres with the pivot at the bottom centre.
--
-- assets  one row per imported asset: its describing text (what retrieval embeds), canonical bounding box,
--         support type, and the normalised mesh as binary glTF. Built-in assets live in code
--         (agents/assets/catalog.py) and are never stored here. Written by agents/assets/imports.py.

CREATE TABLE assets (
    id             text             PRIMARY KEY,
    name           text             NOT NULL,
    category       text             NOT NULL,
    support        text             NOT NULL CHECK (support IN ('floor', 'table', 'wall', 'ceiling')),
    synonyms       text[]           NOT NULL DEFAULT '{}',
    description    text             NOT NULL DEFAULT '',
    dims           double precision[] NOT NULL CHECK (array_length(dims, 1) = 3),   -- w, h, d metres
    color          double precision[] NOT NULL CHECK (array_length(color, 1) = 3),
    source_format  text             NOT NULL CHECK (source_format IN ('glb', 'gltf', 'obj')),
    scale          double precision NOT NULL,     -- source units → metres
    mesh_glb       bytea            NOT NULL,     -- the normalised mesh (metres, Y up, ground pivot)
    sha256         text             NOT NULL,     -- of mesh_glb
    created_by     text,
    created_at     timestamptz      NOT NULL DEFAULT now()
);
