-- SIP MESSAGEs (RFC 3428) the PBX could not deliver at once: kept until a
-- phone of the recipient accepts them (deleted then) or they expire.
-- Times are unix milliseconds; id gives the order of delivery.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    sender          TEXT NOT NULL,               -- extension number; no reference: it may be deleted later
    sender_name     TEXT NOT NULL DEFAULT '',
    recipient       TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE,
    content_type    TEXT NOT NULL,
    body            BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- deliveries tried after it was stored
    last_attempt_at INTEGER                      -- NULL until the first
);
CREATE INDEX messages_recipient ON messages(recipient, id);
CREATE INDEX messages_created ON messages(created_at);
