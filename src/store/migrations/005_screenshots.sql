-- `[evidence] screenshot`: a rendering of each listing page as captured.
CREATE TABLE screenshots (
    listing_id  INTEGER PRIMARY KEY REFERENCES listings(id),
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),   -- a PNG
    taken_at    TEXT NOT NULL
);
