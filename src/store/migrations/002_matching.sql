-- Matching: the review queue, its decisions, an append-only audit log,
-- what each listing was last judged on, and cached photo prints.

-- One entry per (listing, product). Re-judging updates it, never duplicates it.
CREATE TABLE matches (
    id            INTEGER PRIMARY KEY,
    listing_id    INTEGER NOT NULL REFERENCES listings(id),
    product_id    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'dismissed')),
    score         REAL NOT NULL,
    signals       TEXT NOT NULL,          -- JSON matching::score::Signals
    material_key  TEXT NOT NULL,          -- what the listing was when last judged (title, price, seller, photos)
    decided_key   TEXT,                   -- material_key when a reviewer decided
    first_queued  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    decided_at    TEXT,
    decided_by    TEXT,
    note          TEXT,
    UNIQUE (listing_id, product_id)
);
CREATE INDEX matches_status ON matches(status, score);

-- Every decision and change of a match, appended; the application never
-- updates or deletes a row, and these triggers refuse it if asked.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,              -- a user, or `matcher` for automatic changes
    action    TEXT NOT NULL,              -- queued, confirmed, dismissed, reopened, withdrawn, ...
    match_id  INTEGER REFERENCES matches(id),
    detail    TEXT
);
CREATE INDEX audit_log_match ON audit_log(match_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- What each listing was last judged on: when its key changes (the listing,
-- its photos, the references, the settings or its seller's record), it is
-- judged again.
CREATE TABLE judged (
    listing_id  INTEGER PRIMARY KEY REFERENCES listings(id),
    judge_key   TEXT NOT NULL,
    judged_at   TEXT NOT NULL
);

-- Prints of listing photos by image digest: derived, dropped when the
-- print version changes.
CREATE TABLE photo_prints (
    sha256   TEXT PRIMARY KEY,
    version  INTEGER NOT NULL,
    prints   TEXT NOT NULL                -- JSON array of matching::image::Print
);
