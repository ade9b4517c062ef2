-- The fingerprint of the key file this database was written with (one row). Every gateway
-- sharing the database must use the same key file; one with another refuses to start.
CREATE TABLE key_fingerprint (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL,
    written_at  BIGINT  NOT NULL
);
