-- Per-extension SRTP (SDES over SIP TLS): off never encrypts the phone's
-- media; optional encrypts when the phone's signalling is TLS and it
-- offers or accepts a=crypto; required refuses the phone's calls without
-- SRTP (488) and rings only its TLS registrations.
ALTER TABLE extensions ADD COLUMN srtp TEXT NOT NULL DEFAULT 'optional'
    CHECK (srtp IN ('off', 'optional', 'required'));
