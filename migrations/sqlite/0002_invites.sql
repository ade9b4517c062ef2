-- One-time enrollment invitations (`mfa-gateway user invite`), for apps whose first enrollment
-- needs one. Only a keyed hash of the code is kept; a new invitation replaces the old.
CREATE TABLE enrollment_invites (
    realm      TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    code_hash  BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    PRIMARY KEY (realm, user_name)
);
