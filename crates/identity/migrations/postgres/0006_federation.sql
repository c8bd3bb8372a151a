-- Upstream federation: upper-level identity providers (a city's identity alliance, the national
-- smart-education hub) people may log in through, and the links between their accounts there
-- and persons here.

-- A provider, configured by the administrators of a node: only persons of that node's subtree
-- may be linked to (and log in through) it.
CREATE TABLE upstream_providers (
    id UUID PRIMARY KEY NOT NULL,
    node_id UUID NOT NULL REFERENCES org_nodes (id),
    name TEXT NOT NULL,
    -- oidc (endpoints discovered from the issuer) | oauth2 (endpoints given, user info mapped)
    kind TEXT NOT NULL CHECK (kind IN ('oidc', 'oauth2')),
    issuer TEXT,
    authorize_url TEXT,
    token_url TEXT,
    userinfo_url TEXT,
    client_id TEXT NOT NULL,
    -- sent to the provider's token endpoint, so kept as given (like the signing keys); never
    -- shown again or logged
    client_secret TEXT NOT NULL,
    -- client_secret_basic | client_secret_post
    token_auth TEXT NOT NULL DEFAULT 'client_secret_basic',
    scopes TEXT NOT NULL,
    -- dotted paths into the user info (JSON): the provider's stable id for the person, the
    -- value matched against link_attribute, and the display name
    subject_claim TEXT NOT NULL DEFAULT 'sub',
    -- id_number | staff_no | registry_no
    link_attribute TEXT NOT NULL CHECK (link_attribute IN ('id_number', 'staff_no', 'registry_no')),
    link_claim TEXT NOT NULL,
    name_claim TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX upstream_providers_node ON upstream_providers (node_id);

-- A person's account at a provider: subjects are namespaced by provider.
CREATE TABLE federated_identities (
    provider_id UUID NOT NULL REFERENCES upstream_providers (id),
    subject TEXT NOT NULL,
    person_id UUID NOT NULL REFERENCES persons (id),
    linked_at TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ,
    PRIMARY KEY (provider_id, subject)
);
CREATE UNIQUE INDEX federated_identities_person ON federated_identities (provider_id, person_id);

-- A login sent to a provider and not yet back: the state, nonce and PKCE verifier it went with.
CREATE TABLE upstream_logins (
    state_hash TEXT PRIMARY KEY NOT NULL,
    provider_id UUID NOT NULL REFERENCES upstream_providers (id),
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Linking by ID number.
CREATE INDEX persons_id_number ON persons (id_number);
