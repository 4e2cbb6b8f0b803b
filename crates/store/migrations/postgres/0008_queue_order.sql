-- Work queues sorted by deadline walk the running deadlines in order and
-- page by (due_at_ms, id); the id makes the position unique. This index
-- serves the deadline-signal filters as the one it replaces did.
-- Never edit an applied migration.
DROP INDEX cases_due;
CREATE INDEX cases_deadline ON cases (due_at_ms, id);

-- The work queue marks the cases on its page that have unread notices.
CREATE INDEX inbox_unread_case ON inbox (case_id) WHERE read_at_ms IS NULL;
