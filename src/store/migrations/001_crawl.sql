-- Crawl data: runs, the resumable frontier, every HTTP exchange, the exact
-- bytes received (content-addressed), listings and their images.

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL CHECK (status IN ('running', 'finished')),
    targets     TEXT NOT NULL,            -- JSON array of target names
    max_pages   INTEGER,                  -- --max-pages override, if any
    summary     TEXT                      -- JSON RunSummary, set when finished
);

-- Exact bytes as received, keyed by their SHA-256, deflated when that helps.
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    bytes       INTEGER NOT NULL,         -- uncompressed length
    compression TEXT NOT NULL CHECK (compression IN ('none', 'deflate')),
    data        BLOB NOT NULL
);

-- One row per HTTP exchange: retries and redirects each get their own.
CREATE TABLE fetches (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs(id),
    url              TEXT NOT NULL,
    method           TEXT NOT NULL,
    status           INTEGER,             -- NULL when no response arrived
    request_headers  TEXT NOT NULL,       -- JSON array of [name, value]
    response_headers TEXT,                -- JSON array of [name, value]
    remote_addr      TEXT,                -- resolved IP:port actually connected to
    started_at       TEXT NOT NULL,
    elapsed_ms       INTEGER NOT NULL,
    body_sha256      TEXT REFERENCES blobs(sha256),
    body_bytes       INTEGER,
    error            TEXT
);
CREATE INDEX fetches_run ON fetches(run_id);
CREATE INDEX fetches_url ON fetches(url);

-- The work of a run. Finishing an item and writing what it produced happen in
-- one transaction, so a killed crawl resumes without loss or duplicates.
CREATE TABLE frontier (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('search', 'listing', 'image')),
    url         TEXT NOT NULL,
    query       TEXT,                     -- search: the query
    page        INTEGER,                  -- search: page number, from 1
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    UNIQUE (run_id, kind, url)
);
CREATE INDEX frontier_pending ON frontier(run_id, state);

CREATE TABLE listings (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL UNIQUE,   -- canonical
    target        TEXT NOT NULL,
    title         TEXT,
    price         REAL,
    currency      TEXT,
    seller        TEXT,
    description   TEXT,
    images        TEXT NOT NULL,          -- JSON array of absolute URLs, page order
    content_hash  TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    last_changed  TEXT NOT NULL,
    first_run     INTEGER NOT NULL REFERENCES runs(id),
    last_run      INTEGER NOT NULL REFERENCES runs(id),
    changed_run   INTEGER NOT NULL REFERENCES runs(id),
    fetch_id      INTEGER REFERENCES fetches(id)
);
CREATE INDEX listings_target ON listings(target);

-- The latest capture of each image URL.
CREATE TABLE images (
    url         TEXT PRIMARY KEY,
    sha256      TEXT REFERENCES blobs(sha256),
    bytes       INTEGER,
    format      TEXT,
    width       INTEGER,
    height      INTEGER,
    fetch_id    INTEGER REFERENCES fetches(id),
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    fetched_at  TEXT NOT NULL,
    error       TEXT
);

-- What went wrong in a run, by kind; one failed URL never aborts a run.
CREATE TABLE crawl_errors (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES runs(id),
    target   TEXT NOT NULL,
    url      TEXT NOT NULL,
    kind     TEXT NOT NULL,
    message  TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX crawl_errors_run ON crawl_errors(run_id);
