-- The board's "sent back" section lists returned cases in queue order. They
-- are few, often none: without an index of their own the list walked the
-- whole queue to find that out (3 s at a million cases).
-- Never edit an applied migration.
CREATE INDEX cases_returned ON cases (urgent, id) WHERE returned = 1;
