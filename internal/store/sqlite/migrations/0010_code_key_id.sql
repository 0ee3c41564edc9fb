-- The key a code's HMAC was made under. Rows from before key sets were
-- HMACed under the key kept in the database, named "db".
ALTER TABLE codes ADD COLUMN key_id TEXT NOT NULL DEFAULT 'db';
