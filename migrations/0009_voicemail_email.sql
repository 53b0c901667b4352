-- Voicemail to e-mail: a durable outbox, one row per voicemail message to
-- mail. Mail failures only ever touch this table, never the message; the
-- message's deletion drops its row. Times are unix milliseconds.
CREATE TABLE voicemail_email (
    message_id INTEGER PRIMARY KEY REFERENCES voicemail_messages(id) ON DELETE CASCADE,
    mailbox    TEXT NOT NULL,                          -- the message's box (extension number)
    recipient  TEXT NOT NULL CHECK (recipient <> ''),  -- the address, fixed when queued
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,                       -- when the next attempt is due
    last_error TEXT NOT NULL DEFAULT '',
    sent_at    INTEGER,                                -- NULL until delivered
    gave_up_at INTEGER                                 -- NULL unless retries ran out
);
CREATE INDEX voicemail_email_due ON voicemail_email(next_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;

-- A message is queued in the same transaction that stores it, so no crash
-- can leave a message that should be mailed unqueued: when its extension
-- asks for e-mail (vm_email) and has an address, and e-mail is switched on
-- (the "smtp" setting's JSON, written by the store). INSERT OR IGNORE and
-- the guarded json_extract keep a queueing problem from ever failing the
-- message's own insert.
CREATE TRIGGER voicemail_email_queue AFTER INSERT ON voicemail_messages
WHEN (SELECT e.vm_email = 1 AND e.email <> '' FROM extensions e WHERE e.number = NEW.mailbox)
 AND (SELECT CASE WHEN json_valid(value) THEN json_extract(value, '$.enabled') END FROM settings WHERE key = 'smtp') = 1
BEGIN
    INSERT OR IGNORE INTO voicemail_email (message_id, mailbox, recipient, created_at, next_at)
    SELECT NEW.id, NEW.mailbox, e.email,
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
           CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM extensions e WHERE e.number = NEW.mailbox;
END;
