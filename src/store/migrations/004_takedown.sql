-- Takedown tracking: after a match is confirmed, its notice is drafted,
-- submitted to the marketplace, and the listing is removed or the notice
-- rejected. Each step is also in the audit log.
ALTER TABLE matches ADD COLUMN takedown TEXT
    CHECK (takedown IN ('drafted', 'submitted', 'removed', 'rejected'));
ALTER TABLE matches ADD COLUMN takedown_at TEXT;     -- when it reached that state
ALTER TABLE matches ADD COLUMN submitted_at TEXT;    -- when the notice went out
