-- Enrolled factors. One authenticator per user and realm; the secret is sealed
-- (XChaCha20-Poly1305) under the key named by key_id.
CREATE TABLE totp_factors (
    realm        TEXT   NOT NULL,
    user_name    TEXT   NOT NULL,
    id           TEXT   NOT NULL UNIQUE,
    key_id       TEXT   NOT NULL,
    nonce        BYTEA  NOT NULL,
    ciphertext   BYTEA  NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    -- The last accepted TOTP time step: a code for this step or an earlier one is a replay.
    last_step    BIGINT,
    PRIMARY KEY (realm, user_name)
);

-- Recovery codes, only as keyed hashes (HMAC-SHA256); used_at is set once, atomically.
CREATE TABLE recovery_codes (
    realm      TEXT   NOT NULL,
    user_name  TEXT   NOT NULL,
    code_hash  BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (realm, user_name, code_hash)
);
