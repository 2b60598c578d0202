-- What links the accounts of one operator: the contact details each
-- listing gives away (matching::contacts) and the prints of its own photos
-- (those no reference photo matched), read when the listing is judged.
CREATE TABLE contacts (
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    kind       TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'messenger', 'domain', 'photo')),
    value      TEXT NOT NULL,
    PRIMARY KEY (listing_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX contacts_by_value ON contacts (kind, value);

-- Every seller (an account: target and name) and the network the last
-- judging pass put it in: the smallest seller id of its group, or NULL
-- when nothing links it to another.
CREATE TABLE sellers (
    id      INTEGER PRIMARY KEY,
    target  TEXT NOT NULL,
    name    TEXT NOT NULL,
    network INTEGER,
    UNIQUE (target, name)
);
CREATE INDEX sellers_by_network ON sellers (network);
