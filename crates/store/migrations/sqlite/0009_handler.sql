-- Who signed for each case for its body (签收), kept through its
-- conclusion, so a handler's own cases can be listed ("mine").
-- Never edit an applied migration.
ALTER TABLE cases ADD COLUMN handler TEXT;
-- From the events: a case still with a body whose latest signing-for came
-- after its latest assignment (every routing elsewhere, or back for
-- routing, assigns anew or clears the body). Its stored JSON gains the
-- account at its next write or from `jiefen rebuild`, which reports such
-- cases until then.
UPDATE cases SET handler = (
    SELECT e.actor FROM events e
     WHERE e.case_id = cases.id AND e.type = 'signed_for'
     ORDER BY e.seq DESC LIMIT 1)
 WHERE body IS NOT NULL
   AND (SELECT MAX(e.seq) FROM events e WHERE e.case_id = cases.id AND e.type = 'signed_for')
     > (SELECT MAX(e.seq) FROM events e WHERE e.case_id = cases.id AND e.type = 'assigned');
CREATE INDEX cases_handler ON cases (handler, id) WHERE handler IS NOT NULL;
