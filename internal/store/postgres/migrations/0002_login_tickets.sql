-- Login tickets of cross-origin authentication (POST /co/authenticate):
-- single-use, a few minutes long, stored by the SHA-256 of the ticket and of
-- the verifier only.
CREATE TABLE login_tickets (
    id            text        PRIMARY KEY,
    hash          bytea       NOT NULL UNIQUE,
    verifier_hash bytea       NOT NULL,
    client_id     text        NOT NULL,
    user_id       text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX login_tickets_expires_at ON login_tickets (expires_at);
