-- One row /readyz writes to prove the database takes a write (a full disk, a read-only file
-- system): the count changes every time, because SQLite skips an update that changes nothing.
CREATE TABLE readiness_probe (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    writes INTEGER NOT NULL
);
