-- Every saved dial plan is kept, so an administrator can see what changed
-- and go back. The current plan is the newest version (highest id); rows are
-- never updated or deleted. created_by is the username that saved it, ''
-- for the system (the default plan of a first start, this migration).
CREATE TABLE dialplan_versions (
    id         INTEGER PRIMARY KEY,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    comment    TEXT NOT NULL DEFAULT ''
);

-- The one plan of the old table becomes version 1.
INSERT INTO dialplan_versions(id, text, created_at, created_by, comment)
    SELECT 1, text, updated_at, '', 'the plan before version history' FROM dialplan WHERE id = 1;

DROP TABLE dialplan;
