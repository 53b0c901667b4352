-- Call detail records: one row per call, written when the call ends.
-- Times are unix milliseconds (calls are set up in well under a second).
CREATE TABLE cdr (
    id           INTEGER PRIMARY KEY,
    call_id      TEXT NOT NULL,            -- the PBX's own call id (as in /calls)
    caller       TEXT NOT NULL,
    caller_name  TEXT NOT NULL DEFAULT '',
    callee       TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    answered_at  INTEGER,                  -- NULL when never answered
    ended_at     INTEGER NOT NULL,
    disposition  TEXT NOT NULL CHECK (disposition IN ('answered', 'no_answer', 'busy', 'failed')),
    hangup_cause TEXT NOT NULL DEFAULT '',
    rtp_packets  INTEGER NOT NULL DEFAULT 0,  -- relayed, both directions
    rtp_lost     INTEGER NOT NULL DEFAULT 0,
    jitter_ms    REAL NOT NULL DEFAULT 0      -- worst direction, RFC 3550 estimate
);
CREATE INDEX cdr_started ON cdr(started_at);
CREATE INDEX cdr_caller ON cdr(caller, started_at);
CREATE INDEX cdr_callee ON cdr(callee, started_at);
