-- One table for every kind of factor a user enrols, so that a new kind (an e-mailed code, a
-- passkey) is rows of its own method rather than a table and a set of store calls of its own.
-- The authenticators of totp_factors move here with their ids: a TOTP secret is sealed bound
-- to (realm, user, id), so keeping the id is what keeps the old sealed secrets opening.
-- Recovery codes stay in recovery_codes: a set of single-use hashes, not one secret.
CREATE TABLE factors (
    id           TEXT   NOT NULL PRIMARY KEY,
    realm        TEXT   NOT NULL,
    user_name    TEXT   NOT NULL,
    -- The method's name as the JSON API spells it ("totp").
    method       TEXT   NOT NULL,
    -- The secret, sealed (XChaCha20-Poly1305) under the key named by key_id.
    key_id       TEXT   NOT NULL,
    nonce        BYTEA  NOT NULL,
    ciphertext   BYTEA  NOT NULL,
    -- The last accepted counter (for TOTP the time step): an equal or lower one is a replay.
    counter      BIGINT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    -- The layout of the sealed secret, per method, so that it can change without a guess.
    version      INTEGER NOT NULL,
    -- One factor of a method per user, as there was one authenticator: enrolling again
    -- replaces it.
    UNIQUE (realm, user_name, method)
);

INSERT INTO factors (id, realm, user_name, method, key_id, nonce, ciphertext, counter,
                     created_at, last_used_at, version)
SELECT id, realm, user_name, 'totp', key_id, nonce, ciphertext, last_step,
       created_at, last_used_at, 1
FROM totp_factors;

DROP TABLE totp_factors;
