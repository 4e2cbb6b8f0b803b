-- The repeats index keeps hashes and case ids as bytes (32 and 16), not
-- as text, and loses its primary key for one covering index: keyed by
-- hash, every registration wrote to a random page of the key's index,
-- which at millions of cases made it the costliest part of a bulk load's
-- day. The index is now built once, sorted, at the end of a bulk load like
-- the others. Nothing relied on the key to refuse duplicates: a case's
-- identities are deduplicated before they are written, and an erasure
-- replaces them as a whole.
ALTER TABLE identities
    DROP CONSTRAINT identities_pkey,
    ALTER COLUMN hash TYPE BYTEA USING decode(hash, 'hex'),
    ALTER COLUMN case_id TYPE BYTEA USING decode(replace(case_id, '-', ''), 'hex');
DROP INDEX identities_recent;
CREATE INDEX identities_recent ON identities (hash, at_ms, case_id);
