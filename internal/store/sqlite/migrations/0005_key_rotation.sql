-- Signing key rotation: one current key per algorithm (RS256, ES256), and the
-- keys it replaced, published in the JWKS until published_until. Times are
-- INTEGER unix milliseconds UTC, 0 for none: a current key has rotated_at = 0
-- and published_until = 0.
CREATE TABLE signing_keys_rotation (
    kid             TEXT    PRIMARY KEY,
    algorithm       TEXT    NOT NULL,
    private_pem     BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    rotated_at      INTEGER NOT NULL DEFAULT 0,
    published_until INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The active key stays current. Retired keys were no longer published, so
-- they go. A key that was neither (no release ever wrote one) is kept as
-- rotated and published for 30 days, the longest access token lifetime
-- Auth0 allows, so that no token it signed stops verifying.
INSERT INTO signing_keys_rotation (kid, algorithm, private_pem, created_at, rotated_at, published_until)
SELECT kid, algorithm, private_pem, created_at,
       CASE WHEN active = 1 THEN 0 ELSE CAST(strftime('%s', 'now') AS INTEGER) * 1000 END,
       CASE WHEN active = 1 THEN 0 ELSE (CAST(strftime('%s', 'now') AS INTEGER) + 30 * 86400) * 1000 END
FROM signing_keys
WHERE active = 1 OR retired_at = 0;

DROP TABLE signing_keys;
ALTER TABLE signing_keys_rotation RENAME TO signing_keys;

-- At most one current key per algorithm.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (algorithm) WHERE rotated_at = 0;
-- PurgeExpired and SigningKeys look rotated keys up by published_until.
CREATE INDEX signing_keys_published ON signing_keys (published_until) WHERE rotated_at <> 0;
