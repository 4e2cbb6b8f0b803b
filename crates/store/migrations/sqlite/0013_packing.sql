-- Event bodies and projections are stored packed (see crate::packing): as
-- a zstd frame against one of these dictionaries, or as their JSON while
-- the store has none. `events.body` and `cases.state_json` keep their
-- declared type, which SQLite does not enforce: a packed value is a BLOB.
CREATE TABLE dictionaries (
    id         INTEGER PRIMARY KEY, -- zstd's id, named by every frame packed with it
    corpus     TEXT NOT NULL,       -- 'events' or 'cases'
    generation INTEGER NOT NULL,
    samples    INTEGER NOT NULL,
    bytes      BLOB NOT NULL
);
