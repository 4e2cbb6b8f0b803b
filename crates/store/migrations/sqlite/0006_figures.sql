-- The figures every report gives (办结率, 按期办结率, 满意率, 重复件):
-- projection columns so a figure's cases can be listed, and tallies kept
-- as cases change so the dashboard never counts a million rows.
-- Never edit an applied migration.
ALTER TABLE cases ADD COLUMN resolved SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN on_time SMALLINT NOT NULL DEFAULT 0;
-- NULL until the person is asked; 1 for 满意 or 基本满意, 0 for 不满意.
ALTER TABLE cases ADD COLUMN satisfied SMALLINT;
UPDATE cases SET resolved = 1
 WHERE state IN ('concluded', 'followed_up')
    OR (state = 'archived' AND json_extract(state_json, '$.conclusion') IS NOT NULL);
UPDATE cases SET on_time = 1
 WHERE resolved = 1 AND json_extract(state_json, '$.conclusion.on_time') = 1;
UPDATE cases SET satisfied = CASE json_extract(state_json, '$.follow_up.satisfaction')
    WHEN 'dissatisfied' THEN 0 WHEN 'satisfied' THEN 1 WHEN 'basically_satisfied' THEN 1 END;

-- One row per place, dimension, value and day of registration (Beijing
-- time): a case counts in the row of every place above it (its own
-- included) for each dimension (`area`: the place one level below `node`
-- it lies in, or `node` itself; `category`: the first-level category;
-- `channel`; `body`: the handling body, '' for none). Filled by the store
-- when it opens (`tallies_built` in `counters`), then kept by every write.
CREATE TABLE case_tallies (
    node       TEXT NOT NULL,
    dimension  TEXT NOT NULL,
    value      TEXT NOT NULL,
    day        BIGINT NOT NULL,
    registered BIGINT NOT NULL,
    resolved   BIGINT NOT NULL,
    on_time    BIGINT NOT NULL,
    rated      BIGINT NOT NULL,
    satisfied  BIGINT NOT NULL,
    repeats    BIGINT NOT NULL,
    PRIMARY KEY (node, day, dimension, value)
);
