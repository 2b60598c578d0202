-- Several crawls on one (PostgreSQL) store work one run together. Each
-- frontier item a crawl works on is leased to it: `lease_owner` names the
-- crawl, `lease_until` (milliseconds since the epoch) is when another
-- crawl may take it over (the owner renews it while it works).
ALTER TABLE frontier ADD COLUMN lease_owner TEXT;
ALTER TABLE frontier ADD COLUMN lease_until INTEGER;

-- Each host's latest sends and pause, so the crawls sharing a store hold
-- its rate ceiling, Retry-After pauses and Crawl-delay together.
CREATE TABLE host_gates (
    host          TEXT PRIMARY KEY,     -- host:port
    sent          TEXT NOT NULL,        -- JSON array of ms since the epoch, oldest first
    paused_until  INTEGER               -- ms since the epoch
);

-- Listings being judged on a store several crawls share: each stale
-- listing is judged by the one crawl that leased it (a listing that
-- changed since, under a new key, may be leased again at once).
CREATE TABLE judging (
    listing_id   INTEGER PRIMARY KEY REFERENCES listings(id),
    judge_key    TEXT NOT NULL,       -- what it is being judged on
    lease_owner  TEXT NOT NULL,
    lease_until  INTEGER NOT NULL     -- ms since the epoch
) WITHOUT ROWID;
