-- Secondary indexes dropped for a bulk load, to be created again when it
-- ends (see crate::bulk). A row left here means a load was interrupted.
CREATE TABLE suspended_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
);
