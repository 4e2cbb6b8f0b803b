-- A case's notices, read or not, by case. `jiefen rebuild` compares each
-- case's notices with those its events imply; the partial index on unread
-- notices could not serve that lookup, so at a million cases each one
-- scanned the whole inbox (about a second a case: days for a rebuild).
-- One index on (case_id, read_at_ms) serves it and the unread notices of
-- a page's cases alike.
DROP INDEX inbox_unread_case;
CREATE INDEX inbox_case ON inbox (case_id, read_at_ms);
