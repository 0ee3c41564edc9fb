-- A code check looks the presented value up among the identifier's used and
-- replaced codes instead of reading them all. The new index also serves every
-- query by (connection, identifier), so the old one goes.
CREATE INDEX codes_hmac ON codes (connection, identifier, code_hmac);
DROP INDEX codes_identifier;
