-- A person's own cases in the default order (red first, then newest): a
-- grid worker's reports on the grid page, a handler's "mine". The indexes
-- by registrant and by handler hold no urgency, so the page sorted all of
-- the person's cases, reading each row (61.8 ms for the grid page at
-- 10,000,000 cases). These walk a page in order; the older indexes still
-- serve newest and oldest first.
-- Never edit an applied migration.
CREATE INDEX cases_registrant_queue ON cases (registered_by, urgent, id);
CREATE INDEX cases_handler_queue ON cases (handler, urgent, id) WHERE handler IS NOT NULL;
