-- The review UI: accounts, sessions, escalation.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'viewer')),
    password_hash TEXT NOT NULL,          -- argon2id, PHC string
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- A signed-in browser. Only the SHA-256 of the cookie's token is kept, so
-- a copy of the database opens no sessions.
CREATE TABLE sessions (
    token_sha256  TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    csrf          TEXT NOT NULL,          -- the token every form must carry
    created_at    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    expires_at    TEXT NOT NULL           -- absolute end, whatever the activity
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Escalated matches stay pending (they still await a decision) and are
-- flagged for a senior reviewer.
ALTER TABLE matches ADD COLUMN escalated_at TEXT;
ALTER TABLE matches ADD COLUMN escalated_by TEXT;

CREATE INDEX matches_listing ON matches(listing_id);
CREATE INDEX matches_product ON matches(product_id, status);
CREATE INDEX listings_seller ON listings(seller);
