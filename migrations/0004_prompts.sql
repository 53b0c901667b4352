-- Uploaded audio prompts (IVR greetings, music on hold). The audio itself is
-- a file beside the database, prompts/NAME.wav (8 kHz mono 16-bit PCM); this
-- row says it exists and what it is. Built-in prompts have no row.
CREATE TABLE prompts (
    name        TEXT PRIMARY KEY
                CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^a-z0-9_-]*' AND name GLOB '[a-z0-9]*'),
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    created_at  INTEGER NOT NULL  -- unix seconds
);
