-- Tenant logs as Auth0's GET /api/v2/logs shows them (see the SQLite
-- migration 0009): the client's name, the connection's id, the caller's
-- user agent (free text from outside: bytea) and a small JSON object of
-- details, and the indexes of the queries by date, type, user and client.
-- The log_id's UNIQUE index serves checkpoint paging (id > from); ids
-- compare byte by byte (COLLATE "C"), as in SQLite, whatever the
-- database's collation.
ALTER TABLE events ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE events ADD COLUMN client_name   text  NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN connection_id text  NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN user_agent    bytea NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN details       bytea;
DROP INDEX events_created_at;
CREATE INDEX events_created_at ON events (created_at, id);
CREATE INDEX events_type ON events (type, created_at, id);
CREATE INDEX events_user_id ON events (user_id, created_at, id);
CREATE INDEX events_client_id ON events (client_id, created_at, id);
