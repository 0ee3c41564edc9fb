-- Users as the Management API keeps them: the profile fields an operator may
-- set, metadata (JSON objects kept byte for byte, NULL for none) and the
-- blocked flag; indexes for the user list's filters and orders, and for
-- deleting what a user leaves behind. As in SQLite, a user who never logged
-- in sorts first by last_login (NULLS FIRST).
ALTER TABLE users ADD COLUMN given_name    text    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN family_name   text    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN user_metadata bytea;
ALTER TABLE users ADD COLUMN app_metadata  bytea;
ALTER TABLE users ADD COLUMN blocked       boolean NOT NULL DEFAULT false;

CREATE INDEX users_email ON users (email, created_at, user_id);
CREATE INDEX users_phone_number ON users (phone_number, created_at, user_id);
CREATE INDEX users_created_at ON users (created_at, user_id);
CREATE INDEX users_last_login ON users (last_login NULLS FIRST, user_id);

CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX login_tickets_user ON login_tickets (user_id);
