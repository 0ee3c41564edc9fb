-- The outbox claim reads the due messages in their order and stops at its
-- limit, and the expiry sweep reads only the expired ones: both indexes hold
-- only pending rows, as PostgreSQL's do. Before, both walked every pending
-- row (the old index gave only status and next_attempt, so the claim sorted
-- the whole backlog in a temporary B-tree): a claim's cost grew with the
-- backlog, and under load the backlog grew because claims were slow.
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt, created_at, id) WHERE status = 'pending';
CREATE INDEX outbox_not_after ON outbox (not_after) WHERE status = 'pending' AND not_after <> 0;
