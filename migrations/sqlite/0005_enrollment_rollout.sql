-- The rollout of a realm: when its first first-login enrollment happened (a `for:` window is
-- counted from it, so a restart does not open it again), and the users who signed in with
-- their password while they had no factor (`mfa-gateway user pending`).
CREATE TABLE enrollment_windows (
    realm     TEXT    NOT NULL PRIMARY KEY,
    opened_at INTEGER NOT NULL
);
CREATE TABLE unenrolled (
    realm         TEXT    NOT NULL,
    user_name     TEXT    NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (realm, user_name)
);
