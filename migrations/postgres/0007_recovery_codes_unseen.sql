-- Sets of recovery codes made and not yet shown to their user: a crash between storing a set
-- and showing it leaves a row here, and the user's next sign-in or settings visit offers a new
-- set (the old one was never seen, so it cannot have been saved).
CREATE TABLE recovery_codes_unseen (
    realm      TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (realm, user_name)
);
