-- The queue's cheapest-first and seller orders at a million matches: each
-- walks an index of the listings in its own order (the listings without a
-- price or seller last, as the order puts them) and finds each listing's
-- matches by the matches_listing index, as newest-first-seen does.
CREATE INDEX listings_price ON listings((price IS NULL), price, id);
CREATE INDEX listings_seller_name ON listings((seller IS NULL), LOWER(seller), id);
