-- Authorization codes and browser login sessions. Times are INTEGER unix
-- milliseconds UTC; 0 means "not set".

-- An authorization code is looked up by the SHA-256 of its value. used_at is
-- set by the one redemption that succeeds; the row outlives expires_at (by the
-- purge grace) so that a second redemption is still recognised as reuse.
CREATE TABLE auth_codes (
    id                    TEXT    PRIMARY KEY,
    hash                  BLOB    NOT NULL UNIQUE,
    client_id             TEXT    NOT NULL,
    user_id               TEXT    NOT NULL,
    redirect_uri          TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    audience              TEXT    NOT NULL,
    nonce                 TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL,
    code_challenge_method TEXT    NOT NULL,
    session_id            TEXT    NOT NULL,
    auth_time             INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

-- A session is looked up by the SHA-256 of its cookie value; id is the public
-- sid.
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,
    user_id    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    user_agent TEXT    NOT NULL
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
