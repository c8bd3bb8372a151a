// The platform's OpenID provider driven by openid-client (v6, an OpenID-certified relying party):
// discovery, the authorization code flow with PKCE (S256), state and nonce, client_secret_basic,
// UserInfo, and a refresh. Run by the Rust test `openid_client_js` in the `it` binary:
//
//   node script.mjs <issuer> <client_id> <client_secret> <redirect_uri>
//
// Prints the authorization URL on one line; reads the callback URL (where the provider sent the
// browser back) on stdin; prints one line of JSON with what the library validated and received.
// Any failure of the library's checks ends the process with a non-zero status.

import * as client from 'openid-client';
import * as readline from 'node:readline';

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!redirectUri) {
  console.error('usage: node script.mjs <issuer> <client_id> <client_secret> <redirect_uri>');
  process.exit(2);
}

// The test server listens on http://127.0.0.1:<port>; openid-client refuses plain HTTP otherwise.
const config = await client.discovery(
  new URL(issuer),
  clientId,
  // The platform signs ID tokens with ES256 unless a client is registered for RS256.
  { id_token_signed_response_alg: 'ES256' },
  client.ClientSecretBasic(clientSecret),
  { execute: [client.allowInsecureRequests] },
);

const codeVerifier = client.randomPKCECodeVerifier();
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile',
  code_challenge: codeChallenge,
  code_challenge_method: 'S256',
  state,
  nonce,
});
console.log(authorizationUrl.href);

const rl = readline.createInterface({ input: process.stdin });
const callback = await new Promise((resolve, reject) => {
  rl.once('line', (line) => resolve(line.trim()));
  rl.once('close', () => reject(new Error('stdin closed before the callback URL arrived')));
});
rl.close();

// Validates the callback (state, iss per RFC 9207), exchanges the code with the verifier, and
// validates the ID token (signature from the JWKS, iss, aud, exp, iat, nonce).
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
// Checks that UserInfo speaks of the ID token's subject.
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);

console.log(JSON.stringify({
  sub: claims.sub,
  id_token: {
    iss: claims.iss,
    aud: claims.aud,
    nonce: claims.nonce,
    auth_time: claims.auth_time ?? null,
  },
  userinfo,
  access_token: tokens.access_token,
  refresh_token: tokens.refresh_token,
  refreshed: {
    access_token: refreshed.access_token,
    refresh_token: refreshed.refresh_token ?? null,
    sub: refreshed.claims()?.sub ?? null,
  },
}));
