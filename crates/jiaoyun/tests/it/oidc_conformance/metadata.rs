//! The provider's published metadata: `oidcc-discovery-endpoint-verification` and
//! `oidcc-server-rotate-keys` (both of the comprehensive and configuration plans; every Basic
//! module starts with the discovery and JWKS checks in `Op::on`).

use super::{Op, discovery, server_jwks};
use crate::helpers::TestApp;
use serde_json::Value;

/// oidcc-discovery-endpoint-verification (`OIDCCDiscoveryEndpointVerification`, static clients).
#[tokio::test]
async fn oidcc_discovery_endpoint_verification() {
    let op = Op::start().await;
    let m = &op.meta;
    // OIDCCCheckDiscEndpointResponseTypesSupported: at least one OpenID response type.
    let types = strings(m, "response_types_supported");
    assert!(types.contains(&"code"), "{types:?}");
    // CheckDiscEndpointIssuer: the issuer is where the document was fetched from.
    assert_eq!(
        m["issuer"].as_str().unwrap().trim_end_matches('/'),
        op.app.base
    );
    // ValidateServerMetadataAgainstSchema: arrays of strings and booleans where they belong.
    for (k, v) in m.as_object().unwrap() {
        if k.ends_with("_supported") && !is_flag(k) {
            assert!(
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                "{k} is an array of strings: {v}"
            );
        } else if is_flag(k) {
            assert!(v.is_boolean(), "{k} is a boolean: {v}");
        } else if k.ends_with("_endpoint") || k == "jwks_uri" || k == "issuer" {
            reqwest::Url::parse(v.as_str().unwrap()).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
    }
    // CheckDiscEndpointSubjectTypesSupported.
    let subjects = strings(m, "subject_types_supported");
    assert!(subjects.iter().any(|s| ["public", "pairwise"].contains(s)));
    // OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported: RS256 is required.
    assert!(strings(m, "id_token_signing_alg_values_supported").contains(&"RS256"));
    // CheckDiscEndpointAuthorizationEndpoint, …TokenEndpoint, …UserinfoEndpoint, CheckJwksUri.
    for k in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        assert!(m[k].is_string(), "{k}");
    }
    // The JWKS is fetched and valid (FetchServerKeys, ValidateJwksSequence).
    server_jwks(m).await;
    // Request objects are declared unsupported, as the authorization endpoint answers.
    assert_eq!(m["request_parameter_supported"], false);
    assert_eq!(m["request_uri_parameter_supported"], false);
    assert_eq!(m["claims_parameter_supported"], false);
    // OIDCCCheckDiscEndpointClaimsSupported (a warning when missing).
    assert!(strings(m, "claims_supported").contains(&"sub"));
    // OIDCCCheckDiscEndpointGrantTypesSupported: a non-empty array.
    assert!(strings(m, "grant_types_supported").contains(&"authorization_code"));
    // CheckDiscEndpointScopesSupportedContainsOpenId and …Syntax (RFC 6749 §3.3 scope-tokens).
    let scopes = strings(m, "scopes_supported");
    assert!(scopes.contains(&"openid"));
    for s in &scopes {
        assert!(
            !s.is_empty()
                && s.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)),
            "scope token {s}"
        );
    }
    // CheckDiscEndpointLocalesSyntax and …CanonicalCasing: BCP 47 tags in canonical case.
    for tag in strings(m, "ui_locales_supported") {
        let mut parts = tag.split('-');
        let lang = parts.next().unwrap();
        assert!(
            lang.len() >= 2 && lang.bytes().all(|b| b.is_ascii_lowercase()),
            "{tag}"
        );
        for p in parts {
            assert!(
                p.len() == 2 && p.bytes().all(|b| b.is_ascii_uppercase()),
                "{tag}"
            );
        }
    }
    // EnsureServerConfigurationCodeChallengeMethodsSupportedIsAnArray.
    assert!(strings(m, "code_challenge_methods_supported").contains(&"S256"));
    op.stop().await;

    // CheckDiscEndpointDiscoveryUrl and CheckDiscEndpointAllEndpointsAreHttps: the test server
    // speaks plain HTTP on 127.0.0.1; a deployment's public address is HTTPS, and every endpoint
    // is published under it.
    let app =
        TestApp::start_with(|c| c.public_url = Some("https://sso.jiaoyun.example".into())).await;
    let m = discovery(&app.base).await;
    assert_eq!(m["issuer"], "https://sso.jiaoyun.example");
    for (k, v) in m.as_object().unwrap() {
        if k.ends_with("_endpoint") || k == "jwks_uri" {
            assert!(
                v.as_str()
                    .unwrap()
                    .starts_with("https://sso.jiaoyun.example/"),
                "{k}: {v}"
            );
        }
    }
    app.stop().await;
}

fn is_flag(k: &str) -> bool {
    k.ends_with("_parameter_supported")
        || k.starts_with("require_")
        || k.ends_with("_logout_supported")
        || k.ends_with("_logout_session_supported")
        || k == "authorization_response_iss_parameter_supported"
}

fn strings<'a>(m: &'a Value, k: &str) -> Vec<&'a str> {
    m[k].as_array()
        .unwrap_or_else(|| panic!("{k} is an array"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// oidcc-server-rotate-keys: after a rotation the JWKS has a new signing key
/// (`VerifyNewJwksHasNewSigningKey`) and still the old one (`VerifyNewJwksStillHasOldSigningKey`),
/// every key with a distinct kid.
#[tokio::test]
async fn oidcc_server_rotate_keys() {
    let op = Op::start().await;
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = kids(&server_jwks(&op.meta).await);
    let new = sso::keys::rotate(&op.app.state).await.unwrap();
    assert!(!new.is_empty());
    let after = kids(&server_jwks(&op.meta).await);
    for k in &new {
        assert!(after.contains(k), "the new key {k} is published");
        assert!(!before.contains(k));
    }
    for k in &before {
        assert!(after.contains(k), "the old key {k} is still published");
    }
    op.stop().await;
}
