-- Single sign-on: signing keys, connected applications (OIDC clients and CAS services),
-- authorization codes, grants with their refresh tokens, consents, revoked access tokens.

-- Keys that sign ID tokens and access tokens, published in the JWKS. A key is published
-- before it starts signing and stays published after it stops, so rotation needs no downtime.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    -- PKCS#8 DER, base64
    private_der TEXT NOT NULL,
    -- the public JWK, JSON
    public_jwk TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- signs from this time on
    active_from TIMESTAMPTZ NOT NULL,
    -- stops signing (a newer key took over)
    retired_at TIMESTAMPTZ,
    -- leaves the JWKS
    expires_at TIMESTAMPTZ
);

-- An application people sign in to: an OIDC client or a CAS service, owned by a node whose
-- administrators manage it and whose subtree may use it.
CREATE TABLE applications (
    id UUID PRIMARY KEY NOT NULL,
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    -- oidc | cas
    protocol TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    icon_url TEXT,
    -- where the portal sends people
    home_url TEXT,
    -- OIDC client_id (random, public)
    client_id TEXT,
    -- SHA-256 of the client secret (secrets are random, not passwords); NULL for public clients
    secret_hash TEXT,
    -- JSON arrays
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    grant_types TEXT NOT NULL DEFAULT '["authorization_code","refresh_token"]',
    backchannel_logout_uri TEXT,
    -- ES256 or RS256
    id_token_alg TEXT NOT NULL DEFAULT 'ES256',
    -- the legacy password grant, off unless switched on for this client
    allow_password_grant BOOLEAN NOT NULL DEFAULT FALSE,
    -- CAS: the service URL must start with this prefix
    service_prefix TEXT,
    -- CAS single logout: POST a logoutRequest to the service
    single_logout BOOLEAN NOT NULL DEFAULT TRUE,
    -- consent is skipped
    trusted BOOLEAN NOT NULL DEFAULT FALSE,
    -- role names (JSON array) that may use it; empty: everyone in the subtree
    allowed_roles TEXT NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX applications_client_id ON applications (client_id);
CREATE INDEX applications_node ON applications (node_id);

CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    application_id UUID NOT NULL REFERENCES applications (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    session_id UUID,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    -- the grant the first exchange created: a second use revokes it
    grant_id UUID
);

-- What one authorization (a code exchange, a password grant) gave a client: the family of its
-- refresh tokens and access tokens. Revoking it ends them all.
CREATE TABLE oauth_grants (
    id UUID PRIMARY KEY NOT NULL,
    application_id UUID NOT NULL REFERENCES applications (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    -- the portal session it came from: logging out there revokes it
    session_id UUID,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    revoke_reason TEXT
);
CREATE INDEX oauth_grants_session ON oauth_grants (session_id);
CREATE INDEX oauth_grants_person ON oauth_grants (person_id);

CREATE TABLE oauth_refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    grant_id UUID NOT NULL REFERENCES oauth_grants (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- rotated: presenting it again is reuse and revokes the grant
    used_at TIMESTAMPTZ
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

-- Access tokens revoked one by one (RFC 7009); kept until they would have expired anyway.
CREATE TABLE oauth_revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE oauth_consents (
    person_id UUID NOT NULL REFERENCES persons (id),
    application_id UUID NOT NULL REFERENCES applications (id),
    scope TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, application_id)
);

-- Ended sessions are found by the logout propagation (back-channel and CAS single logout).
CREATE INDEX sessions_ended ON sessions (ended_at);

-- CAS service tickets. The ticket itself is kept: single logout names it (SessionIndex), and
-- once validated it is worth nothing to anyone who reads it.
CREATE TABLE cas_tickets (
    ticket TEXT PRIMARY KEY NOT NULL,
    application_id UUID NOT NULL REFERENCES applications (id),
    person_id UUID NOT NULL REFERENCES persons (id),
    session_id UUID NOT NULL,
    service TEXT NOT NULL,
    -- issued after a fresh login (renew, or no earlier session)
    primary_auth BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    validated_at TIMESTAMPTZ,
    logged_out_at TIMESTAMPTZ
);
CREATE INDEX cas_tickets_session ON cas_tickets (session_id);
