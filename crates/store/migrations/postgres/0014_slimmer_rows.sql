-- An event row keeps only what is not in its body: the body names its
-- case, seq, time, actor and type, and an event's prev_hash is the
-- previous event's hash, so neither is stored apart. The case id is kept
-- as the UUID's 16 bytes and the hash as its 32, not as text. (Changing
-- the types rewrites the table, which also reclaims the dropped columns.)
ALTER TABLE events
    DROP COLUMN at_ms,
    DROP COLUMN actor,
    DROP COLUMN type,
    DROP COLUMN prev_hash,
    ALTER COLUMN case_id TYPE BYTEA USING decode(replace(case_id, '-', ''), 'hex'),
    ALTER COLUMN hash TYPE BYTEA USING decode(hash, 'hex');
