-- Browsers that passed a user's second factor (the device credential): their wrong codes are
-- counted apart from everyone else's. The cookie names the device; only a device on record
-- and not expired counts, so removing the row revokes it.
CREATE TABLE devices (
    realm        TEXT   NOT NULL,
    user_name    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT   NOT NULL,
    client       TEXT   NOT NULL,
    PRIMARY KEY (realm, user_name, id)
);
