-- Login tickets of cross-origin authentication (POST /co/authenticate):
-- single-use, a few minutes long, stored by the SHA-256 of the ticket and of
-- the verifier only. Times are INTEGER unix milliseconds UTC.
CREATE TABLE login_tickets (
    id            TEXT    PRIMARY KEY,
    hash          BLOB    NOT NULL UNIQUE,
    verifier_hash BLOB    NOT NULL,
    client_id     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX login_tickets_expires_at ON login_tickets (expires_at);
