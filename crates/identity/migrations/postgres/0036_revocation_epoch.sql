-- The revocation epoch: one counter that every transaction revoking something a node may have
-- cached bumps, by trigger, before it commits. A node that checked a token or computed a
-- person's claims at epoch E may reuse that answer while the epoch is still E; any revocation
-- on any node makes every node check again (sso::tokens, docs/scale.md).
CREATE TABLE revocation_epoch (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO revocation_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION revocation_epoch_bump() RETURNS trigger AS $$
BEGIN
    UPDATE revocation_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A grant revoked (logout, revocation endpoint, code or refresh token reuse).
CREATE TRIGGER revocation_epoch_grant AFTER UPDATE OF revoked_at ON oauth_grants
    FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL)
    EXECUTE FUNCTION revocation_epoch_bump();
-- A session ended (logout, timeout noticed, password change, an administrator): the grants it
-- signed in are refused at once, before the single-logout sweep revokes them.
CREATE TRIGGER revocation_epoch_session AFTER UPDATE OF ended_at ON sessions
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL AND OLD.ended_at IS NULL)
    EXECUTE FUNCTION revocation_epoch_bump();
-- An access token revoked by itself.
CREATE TRIGGER revocation_epoch_token AFTER INSERT ON oauth_revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION revocation_epoch_bump();
-- A person deactivated or removed: their tokens' claims are gone.
CREATE TRIGGER revocation_epoch_person AFTER UPDATE OF active ON persons
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
    EXECUTE FUNCTION revocation_epoch_bump();
CREATE TRIGGER revocation_epoch_person_gone AFTER DELETE ON persons
    FOR EACH ROW EXECUTE FUNCTION revocation_epoch_bump();
