-- The overdue figure kept in the tallies like the others: a case counts as
-- overdue while it is open and the deadline engine has recorded its current
-- deadline as overdue (`Case::recorded_overdue`). Counting the cases past
-- their deadline when asked read every overdue case of the place (2.6 s for
-- a city at a million cases).
-- Never edit an applied migration.
ALTER TABLE cases ADD COLUMN overdue SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_tallies ADD COLUMN overdue BIGINT NOT NULL DEFAULT 0;
-- From the stored JSON: the engine's record is about the running deadline
-- when its instant is the projection's (the JSON's timestamps are RFC 3339
-- with up to millisecond digits, and julianday keeps milliseconds).
UPDATE cases SET overdue = 1
 WHERE state IN ('registered', 'accepted', 'assigned', 'in_progress', 'paused')
   AND due_at_ms IS NOT NULL
   AND json_extract(state_json, '$.watch.signal') = 'overdue'
   AND CAST(ROUND((julianday(json_extract(state_json, '$.watch.due_at')) - 2440587.5) * 86400000.0)
            AS INTEGER) = due_at_ms;
-- The board and the figure's case list find them without walking the queue.
CREATE INDEX cases_overdue ON cases (urgent, id) WHERE overdue = 1;
-- The store counts the tallies again when it opens.
DELETE FROM counters WHERE name = 'tallies_built';
