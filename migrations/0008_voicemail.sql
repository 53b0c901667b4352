-- Voicemail: mailbox settings on the extension, and the messages. A
-- message's audio is the file voicemail/MAILBOX/FILE beside the database
-- (8 kHz mono 16-bit PCM WAV); its row says it exists. The store writes the
-- file completely (fsynced, renamed) before the row, and recovery at start
-- removes files without rows and rows without files.
ALTER TABLE extensions ADD COLUMN vm_max_seconds INTEGER NOT NULL DEFAULT 120 CHECK (vm_max_seconds BETWEEN 10 AND 600);
ALTER TABLE extensions ADD COLUMN vm_max_messages INTEGER NOT NULL DEFAULT 100 CHECK (vm_max_messages BETWEEN 1 AND 1000);
-- 0 keeps messages until they are deleted.
ALTER TABLE extensions ADD COLUMN vm_delete_after_days INTEGER NOT NULL DEFAULT 0 CHECK (vm_delete_after_days BETWEEN 0 AND 3650);
-- *97 from the box's own extension asks no PIN.
ALTER TABLE extensions ADD COLUMN vm_skip_pin_own INTEGER NOT NULL DEFAULT 1 CHECK (vm_skip_pin_own IN (0, 1));
-- Where key 0 sends a caller leaving a message (a destination); '' none.
ALTER TABLE extensions ADD COLUMN vm_operator TEXT NOT NULL DEFAULT '';
-- Send new messages to the extension's e-mail address.
ALTER TABLE extensions ADD COLUMN vm_email INTEGER NOT NULL DEFAULT 0 CHECK (vm_email IN (0, 1));

CREATE TABLE voicemail_messages (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE,
    caller      TEXT NOT NULL DEFAULT '',
    caller_name TEXT NOT NULL DEFAULT '',
    received_at INTEGER NOT NULL,            -- unix seconds
    duration_ms INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    read        INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    file        TEXT NOT NULL                -- name inside voicemail/MAILBOX/
);
CREATE INDEX voicemail_messages_mailbox ON voicemail_messages (mailbox, id);
