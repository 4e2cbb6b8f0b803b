-- Personal data at rest (issue 4). Each party's values are sealed under a
-- data key of its own, kept here only wrapped by the master key (which is
-- never in the database). Erasing a party clears its wrapped key and keeps
-- the row as the register of erasures. From this migration on,
-- personal_data.value holds the sealed text and personal_data.salt is
-- empty: the commitment's salt is sealed with the value.
CREATE TABLE party_keys (
    case_id      TEXT NOT NULL,
    party_no     INTEGER NOT NULL,
    wrapped      BLOB,
    erased_at_ms INTEGER,
    PRIMARY KEY (case_id, party_no)
);

-- Tells whether the store was sealed under the master key presented.
CREATE TABLE vault (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL
);
