-- Login hardening: per-region policy profiles, login throttling, password history, and the
-- second factors (TOTP with recovery codes, passkeys). Keep in step with ../postgres/.

-- A region's login policy; people use the nearest policy at or above their node, or the
-- built-in MLPS profile when none is set.
CREATE TABLE auth_policies (
    node_id BLOB PRIMARY KEY NOT NULL REFERENCES org_nodes (id),
    -- mlps | modern
    profile TEXT NOT NULL,
    min_length BIGINT NOT NULL,
    -- MLPS: days before a password must be changed; NULL = never
    expiry_days BIGINT,
    -- MLPS: how many earlier passwords may not be reused; 0 = no history
    history BIGINT NOT NULL,
    idle_minutes BIGINT NOT NULL,
    absolute_hours BIGINT NOT NULL,
    -- administrators must use a second factor
    mfa_admins BOOLEAN NOT NULL,
    -- JSON list of CIDR blocks (school networks behind one address)
    trusted_networks TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by BLOB
);

-- Failure counters: per account (by name, so unknown names behave like real ones) and origin,
-- per address. See docs/login-security.md.
CREATE TABLE login_throttle (
    -- account | address
    kind TEXT NOT NULL,
    -- the normalized account name, or the address
    subject TEXT NOT NULL,
    -- account keys: the trusted network the attempts came from, or '*' for anywhere else
    origin TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at TEXT NOT NULL,
    blocked_until TEXT,
    PRIMARY KEY (kind, subject, origin)
);

-- The throttle replaces the account's own counter.
ALTER TABLE accounts DROP COLUMN failed_logins;
ALTER TABLE accounts DROP COLUMN locked_until;

-- Recent failures by address, to see many distinct accounts tried from one address.
CREATE TABLE login_failures (
    address TEXT NOT NULL,
    username TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE INDEX login_failures_at ON login_failures (at);

CREATE TABLE password_history (
    person_id BLOB NOT NULL REFERENCES persons (id),
    password_hash TEXT NOT NULL,
    set_at TEXT NOT NULL
);
CREATE INDEX password_history_person ON password_history (person_id, set_at);

-- Login by phone, e-mail or registry number as well as by account name.
CREATE INDEX persons_phone ON persons (phone);
CREATE INDEX persons_email ON persons (email);

-- A session keeps the idle timeout of the policy it was opened under, and how the person
-- authenticated (OIDC amr: pwd, otp, hwk).
ALTER TABLE sessions ADD COLUMN idle_minutes BIGINT;
ALTER TABLE sessions ADD COLUMN amr TEXT;

CREATE TABLE mfa_totp (
    person_id BLOB PRIMARY KEY NOT NULL REFERENCES persons (id),
    -- base32 secret
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- NULL until the person proves the authenticator app works
    confirmed_at TEXT,
    -- the last time step accepted: a code is good once
    last_step BIGINT NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    person_id BLOB NOT NULL REFERENCES persons (id),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX mfa_recovery_codes_person ON mfa_recovery_codes (person_id);

CREATE TABLE webauthn_credentials (
    id BLOB PRIMARY KEY NOT NULL,
    person_id BLOB NOT NULL REFERENCES persons (id),
    -- base64url credential id
    credential_id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- the serialized passkey (public key, counter)
    passkey TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE UNIQUE INDEX webauthn_credentials_credential ON webauthn_credentials (credential_id);
CREATE INDEX webauthn_credentials_person ON webauthn_credentials (person_id);

-- A login waiting for its second factor (or a passkey ceremony): the password step passed.
CREATE TABLE login_challenges (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    person_id BLOB REFERENCES persons (id),
    -- mfa | passkey_login | passkey_register
    purpose TEXT NOT NULL,
    -- WebAuthn ceremony state, JSON
    state TEXT,
    attempts BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE UNIQUE INDEX login_challenges_token ON login_challenges (token_hash);
