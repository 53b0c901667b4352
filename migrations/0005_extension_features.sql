-- Per-extension call features: call waiting (a second call reaches an
-- extension already on a call; off means such a call is treated as busy) and
-- the call pickup group ('' is the default group every extension shares).
ALTER TABLE extensions ADD COLUMN call_waiting INTEGER NOT NULL DEFAULT 1 CHECK (call_waiting IN (0, 1));
ALTER TABLE extensions ADD COLUMN pickup_group TEXT NOT NULL DEFAULT '' CHECK (length(pickup_group) <= 32);
