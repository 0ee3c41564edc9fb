-- Initial schema. Times are INTEGER unix milliseconds UTC; 0 means "not set".

CREATE TABLE clients (
    client_id   TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    secret_hash BLOB,
    data        BLOB,
    position    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE connections (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    strategy   TEXT    NOT NULL,
    data       BLOB,
    position   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE resource_servers (
    id         TEXT    PRIMARY KEY,
    identifier TEXT    NOT NULL UNIQUE,
    data       BLOB,
    position   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE client_grants (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    audience   TEXT    NOT NULL,
    data       BLOB,
    position   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (client_id, audience)
) STRICT;

-- Single-valued tenant settings, such as the email provider document.
CREATE TABLE tenant_settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    algorithm   TEXT    NOT NULL,
    private_pem BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0,
    retired_at  INTEGER NOT NULL DEFAULT 0
) STRICT;
-- At most one active key.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (active) WHERE active = 1;

-- seq orders codes by issue; state is live, used (consumed) or replaced (a
-- newer code was issued for the same connection and identifier).
CREATE TABLE codes (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    connection  TEXT    NOT NULL,
    identifier  TEXT    NOT NULL,
    code_hmac   BLOB    NOT NULL,
    client_id   TEXT    NOT NULL,
    send        TEXT    NOT NULL,
    auth_params BLOB,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    max_tries   INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'used', 'replaced'))
) STRICT;
CREATE INDEX codes_identifier ON codes (connection, identifier);
-- At most one live code per connection and identifier.
CREATE UNIQUE INDEX codes_live ON codes (connection, identifier) WHERE state = 'live';
CREATE INDEX codes_expires_at ON codes (expires_at);

CREATE TABLE outbox (
    id           TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL,
    recipient    TEXT    NOT NULL,
    payload      BLOB,
    not_after    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'expired')),
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt);

CREATE TABLE users (
    user_id        TEXT    PRIMARY KEY,
    connection     TEXT    NOT NULL,
    strategy       TEXT    NOT NULL,
    identifier     TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    email_verified INTEGER NOT NULL,
    phone_number   TEXT    NOT NULL,
    phone_verified INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    nickname       TEXT    NOT NULL,
    picture        TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_login     INTEGER NOT NULL,
    last_ip        TEXT    NOT NULL,
    logins_count   INTEGER NOT NULL,
    UNIQUE (connection, identifier)
) STRICT;

CREATE TABLE refresh_tokens (
    id         TEXT    PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,
    family_id  TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    audience   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at) WHERE expires_at <> 0;
