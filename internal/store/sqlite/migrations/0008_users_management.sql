-- Users as the Management API keeps them: the profile fields an operator may
-- set, metadata (JSON objects, NULL for none) and the blocked flag; indexes
-- for the user list's filters and orders, and for deleting what a user
-- leaves behind.
ALTER TABLE users ADD COLUMN given_name    TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN family_name   TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN user_metadata BLOB;
ALTER TABLE users ADD COLUMN app_metadata  BLOB;
ALTER TABLE users ADD COLUMN blocked       INTEGER NOT NULL DEFAULT 0;

CREATE INDEX users_email ON users (email, created_at, user_id);
CREATE INDEX users_phone_number ON users (phone_number, created_at, user_id);
CREATE INDEX users_created_at ON users (created_at, user_id);
CREATE INDEX users_last_login ON users (last_login, user_id);

CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX login_tickets_user ON login_tickets (user_id);
