-- Conference rooms. Each owns a dialable number in numbers. The live state
-- (who is in a room, muted, locked) is the engine's, in memory.

CREATE TABLE conferences (
    number           TEXT PRIMARY KEY REFERENCES numbers(number),
    name             TEXT NOT NULL DEFAULT '',
    pin              TEXT NOT NULL DEFAULT '' CHECK (pin = '' OR pin GLOB '[0-9]*'),   -- '' lets anyone in
    moderator_pin    TEXT NOT NULL DEFAULT '' CHECK (moderator_pin = '' OR moderator_pin GLOB '[0-9]*'),
    max_participants INTEGER NOT NULL DEFAULT 20 CHECK (max_participants BETWEEN 2 AND 500),
    announce         INTEGER NOT NULL DEFAULT 1 CHECK (announce IN (0, 1)),   -- join/leave tones, "only participant"
    music_when_alone INTEGER NOT NULL DEFAULT 0 CHECK (music_when_alone IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
