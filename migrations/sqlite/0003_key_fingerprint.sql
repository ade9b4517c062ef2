-- The fingerprint of the key file this database was written with (one row). A gateway whose
-- key file has another refuses to start: it could read none of the secrets stored here.
CREATE TABLE key_fingerprint (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL,
    written_at  INTEGER NOT NULL
);
