-- Two-stage crawls: a listing first seen on a search results card is stored
-- from what the card shows (stage 'card', its page capture the search
-- page's) until its item page is fetched (stage 'item').
ALTER TABLE listings ADD COLUMN stage TEXT NOT NULL DEFAULT 'item' CHECK (stage IN ('card', 'item'));
-- The content hash of the card the listing was last seen on: an unchanged
-- card means the item page is not fetched again.
ALTER TABLE listings ADD COLUMN card_hash TEXT;
