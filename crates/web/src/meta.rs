//! The request's id, address and user agent, for audit records.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use kernel::{AppState, RequestMeta};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Meta(request_meta(parts, state)))
    }
}

pub fn request_meta(parts: &Parts, state: &AppState) -> RequestMeta {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let ip = peer.map(|p| client_ip(p, &forwarded, &state.config.trusted_proxies).to_string());
    RequestMeta {
        // Both come from the client: kept short, they are stored, shown and exported.
        request_id: header("x-request-id")
            .map(|id| id.chars().take(64).collect())
            .unwrap_or_default(),
        ip,
        user_agent: header("user-agent").map(|ua| ua.chars().take(300).collect()),
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy itself (each proxy appends the address
/// it received from, so entries left of the first untrusted one are the client's to forge).
/// An entry that is not an address stops the walk at the last address known good.
pub fn client_ip(peer: IpAddr, forwarded: &[&str], trusted: &kernel::config::ProxyList) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded.iter().rev().flat_map(|h| h.rsplit(',')) {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_past_trusted_proxies_only() {
        let trusted = kernel::config::ProxyList(vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ]);
        // Not from a proxy: the header is the client's own and ignored.
        assert_eq!(
            client_ip(ip("198.51.100.7"), &["1.2.3.4"], &trusted),
            ip("198.51.100.7")
        );
        // From the proxy: the right-most untrusted entry, whatever the client put left of it.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["6.6.6.6, 203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                &["6.6.6.6", "203.0.113.9, 10.0.0.2"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        // Garbage stops the walk; all-trusted chains end at the left-most proxy.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["evil, 10.0.0.3"], &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &[], &trusted), ip("127.0.0.1"));
        let none = kernel::config::ProxyList::default();
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["203.0.113.9"], &none),
            ip("127.0.0.1")
        );
    }
}
