-- Attack protection: rate-limit buckets, failed verifications, blocks, and the
-- tenant log events they produce. Times are INTEGER unix milliseconds UTC.

-- One token bucket per key. tokens is the level at updated_at (it is refilled
-- lazily, on the next take). full_at is when the bucket is full again under
-- the limit of its last take: a full bucket is the same as no row, so
-- PurgeExpired deletes rows with full_at <= now without knowing the limit.
CREATE TABLE buckets (
    key        TEXT    PRIMARY KEY,
    tokens     REAL    NOT NULL,
    updated_at INTEGER NOT NULL,
    full_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX buckets_full_at ON buckets (full_at);

-- One row per failed verification, for the account-wide rolling window.
CREATE TABLE failures (
    seq        INTEGER PRIMARY KEY,
    connection TEXT    NOT NULL,
    identifier TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX failures_identifier ON failures (connection, identifier, at);
CREATE INDEX failures_at ON failures (at);
CREATE INDEX failures_ip ON failures (ip, at);

-- Consecutive failures of one (connection, identifier, ip) pair since its last
-- success. last_at is the latest failure, so that idle counters can be purged.
CREATE TABLE pair_failures (
    connection  TEXT    NOT NULL,
    identifier  TEXT    NOT NULL,
    ip          TEXT    NOT NULL,
    consecutive INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    PRIMARY KEY (connection, identifier, ip)
) STRICT;
CREATE INDEX pair_failures_last_at ON pair_failures (last_at);

-- A block stops verification for an identifier from one ip, or from every ip
-- when ip is '', or (identifier and connection '') every identifier from one
-- ip. seq orders blocks created at the same millisecond.
CREATE TABLE blocks (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    connection TEXT    NOT NULL,
    identifier TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX blocks_identifier ON blocks (connection, identifier, expires_at);
CREATE INDEX blocks_expires_at ON blocks (expires_at);
CREATE INDEX blocks_ip ON blocks (ip, expires_at);

-- Tenant log events. seq orders events created at the same millisecond.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    type        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    connection  TEXT    NOT NULL,
    identifier  TEXT    NOT NULL,
    ip          TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX events_created_at ON events (created_at, seq);
