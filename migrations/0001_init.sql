-- Foundation schema: numbering, extensions, users, auth, registrations, dial plan.
-- Times are unix seconds (INTEGER) unless the column name says otherwise.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every dialable number, whatever owns it: keeps numbers unique across kinds.
CREATE TABLE numbers (
    number TEXT PRIMARY KEY CHECK (number GLOB '[0-9]*' AND number NOT GLOB '*[^0-9]*'),
    kind   TEXT NOT NULL CHECK (kind IN ('extension', 'ringgroup', 'ivr', 'conference'))
);

CREATE TABLE extensions (
    number          TEXT PRIMARY KEY REFERENCES numbers(number),
    name            TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    secret          TEXT NOT NULL,
    auth_algorithms TEXT NOT NULL DEFAULT 'MD5',
    ring_seconds    INTEGER NOT NULL DEFAULT 20 CHECK (ring_seconds BETWEEN 5 AND 300),
    vm_enabled      INTEGER NOT NULL DEFAULT 1,
    vm_pin          TEXT NOT NULL DEFAULT '',
    fwd_always      TEXT NOT NULL DEFAULT '',
    fwd_busy        TEXT NOT NULL DEFAULT '',
    fwd_no_answer   TEXT NOT NULL DEFAULT '',
    dnd             INTEGER NOT NULL DEFAULT 0,
    outbound        TEXT NOT NULL DEFAULT 'internal'
                    CHECK (outbound IN ('internal', 'local', 'national', 'international')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    extension     TEXT REFERENCES extensions(number) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Web sessions and API tokens: only a SHA-256 of the token is kept.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE ON UPDATE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE ON UPDATE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE registrations (
    extension  TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE,
    contact    TEXT NOT NULL,
    source     TEXT NOT NULL,
    transport  TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    call_id    TEXT NOT NULL DEFAULT '',
    cseq       INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (extension, contact)
);
CREATE INDEX registrations_expires ON registrations(expires_at);

CREATE TABLE dialplan (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    text       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
