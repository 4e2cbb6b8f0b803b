-- The overdue figure kept in the tallies like the others: a case counts as
-- overdue while it is open and the deadline engine has recorded its current
-- deadline as overdue (`Case::recorded_overdue`). Counting the cases past
-- their deadline when asked read every overdue case of the place (2.6 s for
-- a city at a million cases).
-- Never edit an applied migration.
ALTER TABLE cases ADD COLUMN overdue SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE case_tallies ADD COLUMN overdue BIGINT NOT NULL DEFAULT 0;
-- From the stored JSON: the engine's record is about the running deadline
-- when its instant is the projection's.
UPDATE cases SET overdue = 1
 WHERE state IN ('registered', 'accepted', 'assigned', 'in_progress', 'paused')
   AND due_at_ms IS NOT NULL
   AND (state_json::jsonb) -> 'watch' ->> 'signal' = 'overdue'
   AND round(extract(epoch FROM ((state_json::jsonb) -> 'watch' ->> 'due_at')::timestamptz) * 1000)::bigint
       = due_at_ms;
-- The board and the figure's case list find them without walking the queue.
CREATE INDEX cases_overdue ON cases (urgent, id) WHERE overdue = 1;
-- The store counts the tallies again when it opens.
DELETE FROM counters WHERE name = 'tallies_built';
