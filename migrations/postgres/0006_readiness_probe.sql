-- One row /readyz writes to prove the database takes a write (a full disk, a read-only
-- standby): every gateway sharing the database bumps the same count.
CREATE TABLE readiness_probe (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    writes BIGINT  NOT NULL
);
