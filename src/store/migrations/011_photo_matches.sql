-- What each listing photo matched among the reference photos (the hash
-- views' hits and the local-feature verifier's placements), kept with the
-- prints so a photo shown by many listings, a re-judge and the two-stage
-- crawl's item stage do that work once. Derived: `matches_key` names the
-- reference photos and versions it was computed against.
ALTER TABLE photo_prints ADD COLUMN matches_key TEXT;
ALTER TABLE photo_prints ADD COLUMN matches TEXT;  -- JSON: matching::score::PhotoMatches
