-- Sesame's PostgreSQL schema. The tables and their meaning are those of the
-- SQLite backend (internal/store/sqlite/migrations), with PostgreSQL types:
--
--   * Times are timestamptz, written at millisecond precision (the store
--     truncates what it is given, as SQLite keeps unix milliseconds). NULL
--     means "not set" where a time is optional; a column that the logic
--     compares (an expiry, a creation time) is NOT NULL.
--   * Values the store does not interpret (tenant documents, sealed payloads,
--     hashes) and free text that comes from outside and need not be valid
--     UTF-8 (a user agent, a provider's error, an event's description and
--     client_id) are bytea, so that they come back byte for byte.
--   * seq columns order rows created at the same millisecond.

CREATE TABLE clients (
    client_id   text        PRIMARY KEY,
    name        text        NOT NULL,
    secret_hash bytea,
    data        bytea,
    position    integer     NOT NULL,
    created_at  timestamptz,
    updated_at  timestamptz
);

CREATE TABLE connections (
    id         text        PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    strategy   text        NOT NULL,
    data       bytea,
    position   integer     NOT NULL,
    created_at timestamptz,
    updated_at timestamptz
);

CREATE TABLE resource_servers (
    id         text        PRIMARY KEY,
    identifier text        NOT NULL UNIQUE,
    data       bytea,
    position   integer     NOT NULL,
    created_at timestamptz,
    updated_at timestamptz
);

CREATE TABLE client_grants (
    id         text        PRIMARY KEY,
    client_id  text        NOT NULL,
    audience   text        NOT NULL,
    data       bytea,
    position   integer     NOT NULL,
    created_at timestamptz,
    updated_at timestamptz,
    UNIQUE (client_id, audience)
);

-- Single-valued tenant settings, such as the email provider document.
CREATE TABLE tenant_settings (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE secrets (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);

-- Signing keys. Each algorithm has at most one current key (the one that
-- signs); a rotated key stays published in the JWKS until published_until,
-- and PurgeExpired deletes it after that.
CREATE TABLE signing_keys (
    kid             text        PRIMARY KEY,
    algorithm       text        NOT NULL,
    private_pem     bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    is_current      boolean     NOT NULL DEFAULT false,
    rotated_at      timestamptz,
    published_until timestamptz
);
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (algorithm) WHERE is_current;

-- state is live, used (consumed) or replaced (a newer code was issued for the
-- same connection and identifier).
CREATE TABLE codes (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text        NOT NULL UNIQUE,
    connection  text        NOT NULL,
    identifier  text        NOT NULL,
    code_hmac   bytea       NOT NULL,
    client_id   text        NOT NULL,
    send        text        NOT NULL,
    auth_params bytea,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    max_tries   integer     NOT NULL,
    state       text        NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'used', 'replaced'))
);
-- At most one live code per connection and identifier.
CREATE UNIQUE INDEX codes_live ON codes (connection, identifier) WHERE state = 'live';
-- A guess looks the presented value up among the identifier's codes.
CREATE INDEX codes_hmac ON codes (connection, identifier, code_hmac);
CREATE INDEX codes_expires_at ON codes (expires_at);

-- next_attempt NULL means due at once; not_after NULL means never expires.
CREATE TABLE outbox (
    id           text        PRIMARY KEY,
    kind         text        NOT NULL,
    recipient    text        NOT NULL,
    payload      bytea,
    not_after    timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    next_attempt timestamptz,
    status       text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'expired')),
    last_error   bytea       NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    sent_at      timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt NULLS FIRST, created_at, id) WHERE status = 'pending';
CREATE INDEX outbox_not_after ON outbox (not_after) WHERE status = 'pending';
CREATE INDEX outbox_created_at ON outbox (created_at) WHERE status <> 'pending';

CREATE TABLE users (
    user_id        text        PRIMARY KEY,
    connection     text        NOT NULL,
    strategy       text        NOT NULL,
    identifier     text        NOT NULL,
    email          text        NOT NULL,
    email_verified boolean     NOT NULL,
    phone_number   text        NOT NULL,
    phone_verified boolean     NOT NULL,
    name           text        NOT NULL,
    nickname       text        NOT NULL,
    picture        text        NOT NULL,
    created_at     timestamptz,
    updated_at     timestamptz,
    last_login     timestamptz,
    last_ip        text        NOT NULL,
    logins_count   integer     NOT NULL,
    UNIQUE (connection, identifier)
);

-- expires_at NULL: no absolute expiry.
CREATE TABLE refresh_tokens (
    id         text        PRIMARY KEY,
    hash       bytea       NOT NULL UNIQUE,
    family_id  text        NOT NULL,
    client_id  text        NOT NULL,
    user_id    text        NOT NULL,
    scope      text        NOT NULL,
    audience   text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX refresh_tokens_revoked_at ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

-- used_at is set by the one redemption that succeeds; the row outlives
-- expires_at (by the purge grace) so that a second redemption is still
-- recognised as reuse.
CREATE TABLE auth_codes (
    id                    text        PRIMARY KEY,
    hash                  bytea       NOT NULL UNIQUE,
    client_id             text        NOT NULL,
    user_id               text        NOT NULL,
    redirect_uri          text        NOT NULL,
    scope                 text        NOT NULL,
    audience              text        NOT NULL,
    nonce                 text        NOT NULL,
    code_challenge        text        NOT NULL,
    code_challenge_method text        NOT NULL,
    session_id            text        NOT NULL,
    auth_time             timestamptz,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

-- A session is looked up by the SHA-256 of its cookie value; id is the
-- public sid.
CREATE TABLE sessions (
    id         text        PRIMARY KEY,
    hash       bytea       NOT NULL UNIQUE,
    user_id    text        NOT NULL,
    client_id  text        NOT NULL,
    auth_time  timestamptz,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ip         text        NOT NULL,
    user_agent bytea       NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- One token bucket per key: tokens is the level at updated_at (refilled
-- lazily, on the next take); full_at is when it is full again, so that
-- PurgeExpired deletes full buckets without knowing their limit.
CREATE TABLE buckets (
    key        text             PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz      NOT NULL,
    full_at    timestamptz      NOT NULL
);
CREATE INDEX buckets_full_at ON buckets (full_at);

-- One row per failed verification, for the rolling windows.
CREATE TABLE failures (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection text        NOT NULL,
    identifier text        NOT NULL,
    ip         text        NOT NULL,
    at         timestamptz NOT NULL
);
CREATE INDEX failures_identifier ON failures (connection, identifier, at);
CREATE INDEX failures_ip ON failures (ip, at);
CREATE INDEX failures_at ON failures (at);

-- Consecutive failures of one (connection, identifier, ip) pair since its
-- last success; last_at is the latest, so that idle counters can be purged.
CREATE TABLE pair_failures (
    connection  text        NOT NULL,
    identifier  text        NOT NULL,
    ip          text        NOT NULL,
    consecutive integer     NOT NULL,
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (connection, identifier, ip)
);
CREATE INDEX pair_failures_last_at ON pair_failures (last_at);

-- A block stops verification of an identifier from one ip, or from every ip
-- when ip is '', or (identifier and connection '') every identifier from one
-- ip.
CREATE TABLE blocks (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text        NOT NULL UNIQUE,
    connection text        NOT NULL,
    identifier text        NOT NULL,
    ip         text        NOT NULL,
    reason     text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX blocks_identifier ON blocks (connection, identifier, expires_at);
CREATE INDEX blocks_ip ON blocks (ip, expires_at);
CREATE INDEX blocks_expires_at ON blocks (expires_at);

-- Tenant log events.
CREATE TABLE events (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text        NOT NULL UNIQUE,
    type        text        NOT NULL,
    description bytea       NOT NULL,
    client_id   bytea       NOT NULL,
    connection  text        NOT NULL,
    identifier  text        NOT NULL,
    ip          text        NOT NULL,
    user_id     text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX events_created_at ON events (created_at, seq);
