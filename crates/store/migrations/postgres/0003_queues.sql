-- Red cases at the top of every queue: `urgent` is 1 while a case is open
-- and its risk is red, and the queues' indexes order by it before the id.
-- Never edit an applied migration.
ALTER TABLE cases ADD COLUMN urgent SMALLINT NOT NULL DEFAULT 0;
UPDATE cases SET urgent = 1
 WHERE risk = 'red' AND state IN ('registered', 'accepted', 'assigned', 'in_progress', 'paused');
DROP INDEX cases_state;
CREATE INDEX cases_state ON cases (state, urgent, id);
DROP INDEX cases_body;
CREATE INDEX cases_body ON cases (body, urgent, id);
CREATE INDEX cases_queue ON cases (urgent, id);
