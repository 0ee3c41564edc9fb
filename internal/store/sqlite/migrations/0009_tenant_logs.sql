-- Tenant logs as Auth0's GET /api/v2/logs shows them: the client's name, the
-- connection's id, the caller's user agent and a small JSON object of
-- details beside what events already held. Events are read newest first or
-- by date (created_at, id), by type, user or client, and from a log_id on
-- (the id, which begins with the time: its UNIQUE index serves that).
ALTER TABLE events ADD COLUMN client_name   TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN connection_id TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN user_agent    TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN details       BLOB;
DROP INDEX events_created_at;
CREATE INDEX events_created_at ON events (created_at, id);
CREATE INDEX events_type ON events (type, created_at, id);
CREATE INDEX events_user_id ON events (user_id, created_at, id);
CREATE INDEX events_client_id ON events (client_id, created_at, id);
