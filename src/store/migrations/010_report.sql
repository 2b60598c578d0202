-- The report and the dashboard: listings counted per marketplace per day
-- from the index alone, and the audit log's decisions read without its
-- every other row.
CREATE INDEX listings_target_seen ON listings(target, first_seen);
CREATE INDEX audit_log_action ON audit_log(action, at);
