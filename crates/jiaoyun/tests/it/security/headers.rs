//! V3.4 (browser security headers), V3.3 (cookie attributes) and V13.4.5 (operational
//! endpoints): HTTPS is told from the public URL alone, with no second switch to forget.

use crate::helpers::TestApp;
use reqwest::StatusCode;

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn asvs_v3_4_1_hsts_and_secure_cookies_whenever_the_public_url_is_https() {
    let app = TestApp::start_with(|c| c.public_url = Some("https://jy.example.cn".into())).await;
    let r = TestApp::client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap();
    let hsts = r.headers()["strict-transport-security"].to_str().unwrap();
    assert!(
        hsts.contains("max-age=31536000") && hsts.contains("includeSubDomains"),
        "{hsts}"
    );
    let cookies = set_cookies(&r);
    assert!(!cookies.is_empty());
    for c in &cookies {
        assert!(c.contains("; Secure"), "{c}");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
    }
    app.stop().await;
    // Served over plain http (a county's test machine): neither, or nobody could log in.
    let app = TestApp::start().await;
    let r = TestApp::client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    assert!(set_cookies(&r).iter().all(|c| !c.contains("Secure")));
    app.stop().await;
}

#[tokio::test]
async fn asvs_v3_4_3_every_response_carries_the_browser_security_headers() {
    let app = TestApp::start().await;
    let c = app.login("teacher").await;
    for path in ["/", "/login", "/no/such/page", "/api/v1/me"] {
        let r = c.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for d in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "style-src 'self'",
        ] {
            assert!(csp.contains(d), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let pp = h["permissions-policy"].to_str().unwrap();
        assert!(
            pp.contains("camera=()") && pp.contains("geolocation=()"),
            "{path}: {pp}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn asvs_v13_4_5_metrics_need_a_token_or_their_own_address_and_health_says_only_status() {
    let app = TestApp::start().await;
    let c = TestApp::client();
    assert_eq!(
        c.get(app.url("/metrics")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        (r.status(), r.text().await.unwrap()),
        (StatusCode::OK, "ready".to_owned())
    );
    app.stop().await;

    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = probe.local_addr().unwrap();
    drop(probe);
    let app = TestApp::start_with(|c| {
        c.metrics_token = Some(kernel::secret::Secret::new("scrape-token-123"));
        c.metrics_listen = Some(metrics_addr.to_string());
    })
    .await;
    let _ = c.get(app.url("/login")).send().await.unwrap();
    let r = c.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let text = c
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-123")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("http_requests_total") && text.contains("db_pool_connections"),
        "{text}"
    );
    // The private address serves the metrics without a token, and nothing else.
    let mut text = String::new();
    for _ in 0..50 {
        if let Ok(r) = c.get(format!("http://{metrics_addr}/metrics")).send().await {
            text = r.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(text.contains("db_pool_connections"), "{text}");
    let r = c
        .get(format!("http://{metrics_addr}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
