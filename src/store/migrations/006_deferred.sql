-- Items a run could not do because their host asked for a pause longer than
-- max_wait (Retry-After): the next new run starts with them.
CREATE TABLE deferred_items (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),   -- the run that deferred it
    target    TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('search', 'listing', 'image')),
    url       TEXT NOT NULL,
    query     TEXT,
    page      INTEGER
);
