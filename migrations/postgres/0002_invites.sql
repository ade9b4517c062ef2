-- One-time enrollment invitations (`mfa-gateway user invite`), for apps whose first enrollment
-- needs one. Only a keyed hash of the code is kept; a new invitation replaces the old.
CREATE TABLE enrollment_invites (
    realm      TEXT   NOT NULL,
    user_name  TEXT   NOT NULL,
    code_hash  BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    PRIMARY KEY (realm, user_name)
);
