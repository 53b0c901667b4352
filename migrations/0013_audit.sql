-- The audit log: one row for every request that could change something
-- (POST, PUT, PATCH, DELETE on the API), written by the admin server's
-- middleware after the request is answered, whatever the outcome. Times are
-- unix milliseconds. The store keeps the newest auditKeep rows.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    username  TEXT NOT NULL DEFAULT '',   -- '' when the caller was not authenticated
    method    TEXT NOT NULL,
    path      TEXT NOT NULL,
    entity    TEXT NOT NULL DEFAULT '',   -- e.g. "extension 101"
    remote_ip TEXT NOT NULL DEFAULT '',
    status    INTEGER NOT NULL
);
CREATE INDEX audit_log_user ON audit_log(username, id);
