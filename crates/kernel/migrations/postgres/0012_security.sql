-- Security hardening (issue #15). A region may explicitly allow connected applications to
-- register plain-http redirect URIs on non-local hosts; by default only https (or a loopback
-- address, for development) is accepted.
ALTER TABLE auth_policies ADD COLUMN allow_http_redirects BOOLEAN NOT NULL DEFAULT FALSE;
