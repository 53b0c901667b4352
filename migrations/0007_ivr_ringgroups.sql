-- IVR menus (auto attendants) and ring groups. Each owns a dialable number
-- in numbers. Destinations are the product's destination strings; the store
-- checks they parse and exist when written, and refuses to delete anything
-- a destination still names.

CREATE TABLE ivrs (
    number         TEXT PRIMARY KEY REFERENCES numbers(number),
    name           TEXT NOT NULL DEFAULT '',
    greeting       TEXT NOT NULL DEFAULT '',          -- prompt name; '' is the built-in "welcome"
    timeout_s      INTEGER NOT NULL DEFAULT 5 CHECK (timeout_s BETWEEN 1 AND 60),
    retries        INTEGER NOT NULL DEFAULT 3 CHECK (retries BETWEEN 0 AND 10),
    on_timeout     TEXT NOT NULL DEFAULT 'hangup' CHECK (on_timeout <> ''),
    on_invalid     TEXT NOT NULL DEFAULT 'hangup' CHECK (on_invalid <> ''),
    direct_dial    INTEGER NOT NULL DEFAULT 1 CHECK (direct_dial IN (0, 1)),
    invalid_prompt TEXT NOT NULL DEFAULT '',          -- '' is the built-in "invalid-option"
    timeout_prompt TEXT NOT NULL DEFAULT '',          -- '' is the built-in "no-input"
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- The digit a caller presses and where it sends them.
CREATE TABLE ivr_options (
    ivr         TEXT NOT NULL REFERENCES ivrs(number) ON DELETE CASCADE,
    key         TEXT NOT NULL CHECK (key IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#')),
    destination TEXT NOT NULL CHECK (destination <> ''),
    PRIMARY KEY (ivr, key)
);
CREATE INDEX ivr_options_destination ON ivr_options(destination);

CREATE TABLE ringgroups (
    number         TEXT PRIMARY KEY REFERENCES numbers(number),
    name           TEXT NOT NULL DEFAULT '',
    strategy       TEXT NOT NULL DEFAULT 'ringall' CHECK (strategy IN ('ringall', 'hunt')),
    ring_seconds   INTEGER NOT NULL DEFAULT 30 CHECK (ring_seconds BETWEEN 5 AND 600),   -- the whole group
    member_seconds INTEGER NOT NULL DEFAULT 15 CHECK (member_seconds BETWEEN 5 AND 300), -- each member, in hunt
    on_no_answer   TEXT NOT NULL DEFAULT '',          -- '' hangs up
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Members in ring order (hunt rings position 0 first). No ON DELETE: an
-- extension in a group cannot be deleted until it leaves the group.
CREATE TABLE ringgroup_members (
    ringgroup TEXT NOT NULL REFERENCES ringgroups(number) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position >= 0),
    extension TEXT NOT NULL REFERENCES extensions(number),
    PRIMARY KEY (ringgroup, position),
    UNIQUE (ringgroup, extension)
);
CREATE INDEX ringgroup_members_extension ON ringgroup_members(extension);
