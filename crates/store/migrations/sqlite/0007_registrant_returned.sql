-- Who registered each case, so a grid worker's (or a clerk's) own reports
-- can be listed; and whether an open case was sent back by its handling
-- body (退回) and waits to be routed again, for the supervision board.
-- Never edit an applied migration.
ALTER TABLE cases ADD COLUMN registered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN returned SMALLINT NOT NULL DEFAULT 0;
UPDATE cases SET registered_by = json_extract(state_json, '$.registered_by');
-- A case waiting for routing whose latest assignment-or-return was a return.
-- (Its stored JSON gains the return's details at its next write, or from
-- `jiefen rebuild`, which reports such cases until then.)
UPDATE cases SET returned = 1
 WHERE state = 'accepted'
   AND (SELECT type FROM events e
         WHERE e.case_id = cases.id AND e.type IN ('assigned', 'returned')
         ORDER BY e.seq DESC LIMIT 1) = 'returned';
CREATE INDEX cases_registrant ON cases (registered_by, id);
