-- A per-extension limit on concurrent calls (toll-fraud damage control:
-- a stolen password cannot run up dozens of calls at once). 0 = no limit.
ALTER TABLE extensions ADD COLUMN max_calls INTEGER NOT NULL DEFAULT 0 CHECK (max_calls BETWEEN 0 AND 1000);
