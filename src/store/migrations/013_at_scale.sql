-- The review queue at a million matches, and a frontier several crawls
-- lease from.

-- A queue page walks the status index in the queue's own order (score,
-- then id) and reads the escalation from it too, never the table; a reviewer's newest decision
-- (the undo bar on every page) is one probe; the escalated list and the
-- takedowns (the listings removed, which every judging and match page
-- reads) have indexes of their own.
DROP INDEX matches_status;
CREATE INDEX matches_status ON matches(status, score, id, escalated_at);
CREATE INDEX matches_decided_by ON matches(decided_by, decided_at);
CREATE INDEX matches_escalated ON matches(escalated_at) WHERE escalated_at IS NOT NULL;
CREATE INDEX matches_takedown ON matches(takedown, takedown_at) WHERE takedown IS NOT NULL;
-- Every status at once (by score), and any list newest first seen, walk
-- an index in their order too.
CREATE INDEX matches_score ON matches(score, id);
CREATE INDEX listings_first_seen ON listings(first_seen, id);
-- Each card's count of its seller's confirmed matches reads two indexes,
-- not a table row per listing of the seller.
DROP INDEX matches_listing;
CREATE INDEX matches_listing ON matches(listing_id, status);
DROP INDEX listings_seller;
CREATE INDEX listings_seller ON listings(seller, target, id);

-- A crawl leases the oldest unleased items of each target and kind: one
-- index walk per group, however long the run's frontier.
DROP INDEX frontier_pending;
CREATE INDEX frontier_pending ON frontier(run_id, state, target, kind, id);
