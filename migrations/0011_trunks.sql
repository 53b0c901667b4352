-- SIP trunks to the phone network. A trunk either registers to its
-- provider (register = 1: the PBX sends REGISTER with digest credentials)
-- or is trusted by source address (the match list). Its calls come in
-- through the dial-plan context it names. The secret is kept like an
-- extension's: the PBX must answer the provider's digest challenges.

CREATE TABLE trunks (
    name       TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 32),
    host       TEXT NOT NULL CHECK (host <> ''),
    port       INTEGER NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
    transport  TEXT NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
    username   TEXT NOT NULL DEFAULT '',
    secret     TEXT NOT NULL DEFAULT '',
    register   INTEGER NOT NULL DEFAULT 0 CHECK (register IN (0, 1)),
    expires_s  INTEGER NOT NULL DEFAULT 300 CHECK (expires_s BETWEEN 5 AND 86400),
    from_user  TEXT NOT NULL DEFAULT '',
    context    TEXT NOT NULL DEFAULT 'from-trunk',
    match      TEXT NOT NULL DEFAULT '',             -- source addresses/CIDRs, comma-separated
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
