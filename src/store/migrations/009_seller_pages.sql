-- Sellers' profile pages: a listing names its seller's page
-- ([item] seller_url); each run reads it once (frontier kind 'seller') and
-- keeps the contacts its bio gives away, which link sellers like the
-- contacts of their listings.
ALTER TABLE listings ADD COLUMN seller_url TEXT;
CREATE INDEX listings_seller_url ON listings(seller_url);

-- SQLite cannot change a CHECK constraint in place: the two tables that
-- name the frontier's kinds are rebuilt with 'seller' among them.
CREATE TABLE frontier_new (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('search', 'listing', 'image', 'seller')),
    url         TEXT NOT NULL,
    query       TEXT,
    page        INTEGER,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    UNIQUE (run_id, kind, url)
);
INSERT INTO frontier_new (id, run_id, target, kind, url, query, page, state)
    SELECT id, run_id, target, kind, url, query, page, state FROM frontier;
DROP TABLE frontier;
ALTER TABLE frontier_new RENAME TO frontier;
CREATE INDEX frontier_pending ON frontier(run_id, state);

CREATE TABLE deferred_items_new (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),
    target    TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('search', 'listing', 'image', 'seller')),
    url       TEXT NOT NULL,
    query     TEXT,
    page      INTEGER
);
INSERT INTO deferred_items_new (id, run_id, target, kind, url, query, page)
    SELECT id, run_id, target, kind, url, query, page FROM deferred_items;
DROP TABLE deferred_items;
ALTER TABLE deferred_items_new RENAME TO deferred_items;

-- The contacts each profile page gave away when last read.
CREATE TABLE seller_pages (
    url        TEXT PRIMARY KEY,
    target     TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    fetch_id   INTEGER REFERENCES fetches(id)   -- its last capture
);
CREATE TABLE seller_page_contacts (
    url   TEXT NOT NULL REFERENCES seller_pages(url),
    kind  TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'messenger', 'domain', 'photo')),
    value TEXT NOT NULL,
    PRIMARY KEY (url, kind, value)
) WITHOUT ROWID;
