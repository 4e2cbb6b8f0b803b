-- Event bodies and projections are stored packed (see crate::packing): as
-- a zstd frame against one of these dictionaries, or as their JSON (UTF-8)
-- while the store has none. Rows written before keep their JSON.
CREATE TABLE dictionaries (
    id         BIGINT PRIMARY KEY, -- zstd's id, named by every frame packed with it
    corpus     TEXT NOT NULL,      -- 'events' or 'cases'
    generation INTEGER NOT NULL,
    samples    INTEGER NOT NULL,
    bytes      BYTEA NOT NULL
);

ALTER TABLE events ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');
ALTER TABLE cases ALTER COLUMN state_json TYPE BYTEA USING convert_to(state_json, 'UTF8');
