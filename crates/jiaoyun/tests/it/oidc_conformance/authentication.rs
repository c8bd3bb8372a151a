//! The modules about the person's login: display, prompt, max_age, id_token_hint, login_hint
//! and ui_locales. Where a module tells the tester to "remove any cookies" the browser here
//! starts without a session and logs in at the provider's login page; where it waits (one or two
//! seconds) the provider's clock is moved instead.

use super::{Auth, IdToken, Op, Req, at_login, back_at_client, check_error, log_in, log_in_there};
use crate::helpers::TestApp;
use chrono::Duration;
use openidconnect::CsrfToken;

/// A browser without a session: the provider asks the person to log in (the suite's
/// placeholder), the person does, and the browser comes back with a code.
async fn via_login_page(op: &Op, req: &Req, user: &str) -> IdToken {
    let browser = TestApp::client();
    let r = browser.get(op.url(req)).send().await.unwrap();
    let login = at_login(&r);
    let r = log_in_there(&op.app, &browser, &login, user).await;
    let code = op.code_from(&back_at_client(&r), req);
    op.exchange(Auth::Basic, &code, req, &[]).await.id
}

/// A logged-in browser's flow: code, exchange, the ID token.
async fn flow(op: &Op, browser: &reqwest::Client, req: &Req) -> IdToken {
    let code = op.code(browser, req).await;
    op.exchange(Auth::Basic, &code, req, &[]).await.id
}

/// `AbstractOIDCCSameAuthTwiceServerTest`: `CheckIdTokenAuthTimeClaimsSameIfPresent` and
/// `CheckIdTokenSubConsistentForSecondAuthorization`.
fn same_auth(first: &IdToken, second: &IdToken) {
    assert_eq!(
        first.claims.get("auth_time"),
        second.claims.get("auth_time")
    );
    assert_eq!(first.claims["sub"], second.claims["sub"]);
}

/// oidcc-display-page: `display=page` is no error; the normal login page.
#[tokio::test]
async fn oidcc_display_page() {
    let op = Op::start().await;
    via_login_page(&op, &op.request().set("display", "page"), "teacher").await;
    op.stop().await;
}

/// oidcc-display-popup: `display=popup` is no error.
#[tokio::test]
async fn oidcc_display_popup() {
    let op = Op::start().await;
    via_login_page(&op, &op.request().set("display", "popup"), "teacher").await;
    op.stop().await;
}

/// oidcc-prompt-login: the second authorization, a second later and with `prompt=login`, must
/// ask the logged-in person to log in again (`ExpectSecondLoginPage`), and its ID token's
/// auth_time is later (`CheckSecondIdTokenAuthTimeIsLaterIfPresent`).
#[tokio::test]
async fn oidcc_prompt_login() {
    let op = Op::on(TestApp::start_with_fixed_clock().await, |_| {}).await;
    let browser = op.app.login("teacher").await;
    let first = flow(&op, &browser, &op.request()).await;
    op.app.state.clock.advance(Duration::seconds(1));
    let req = op.request().set("prompt", "login");
    let r = browser.get(op.url(&req)).send().await.unwrap();
    let login = at_login(&r);
    let r = log_in_there(&op.app, &browser, &login, "teacher").await;
    let code = op.code_from(&back_at_client(&r), &req);
    let second = op.exchange(Auth::Basic, &code, &req, &[]).await.id;
    assert!(second.auth_time() > first.auth_time(), "a new login");
    assert_eq!(first.claims["sub"], second.claims["sub"]);
    // The mark that lets the new login through cannot be forged to skip the login.
    let r = browser
        .get(
            op.url(
                &op.request()
                    .set("prompt", "login")
                    .set("jy_login_after", "0"),
            ),
        )
        .send()
        .await
        .unwrap();
    at_login(&r);
    op.stop().await;
}

/// oidcc-prompt-none-not-logged-in: a 128-character state, no session: an error that needs a
/// user interface (`CheckErrorFromAuthorizationEndpointIsOneThatRequiredAUserInterface`) goes
/// back with the state intact.
#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let op = Op::start().await;
    let state = CsrfToken::new_random_len(96).secret().clone();
    assert_eq!(state.len(), 128);
    let req = op.request().set("state", &state).set("prompt", "none");
    let r = TestApp::client().get(op.url(&req)).send().await.unwrap();
    let q = back_at_client(&r);
    let error = check_error(&op, &q, Some(&state));
    assert_eq!(error, "login_required");
    op.stop().await;
}

/// oidcc-prompt-none-logged-in: the second authorization with `prompt=none` comes straight back
/// with a code, for the same login.
#[tokio::test]
async fn oidcc_prompt_none_logged_in() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let first = flow(&op, &browser, &op.request()).await;
    let second = flow(&op, &browser, &op.request().set("prompt", "none")).await;
    same_auth(&first, &second);
    op.stop().await;
}

/// oidcc-max-age-1: two seconds after the first login, `max_age=1` must ask for a new login;
/// the second ID token has an auth_time (`CheckIdTokenAuthTimeClaimPresentDueToMaxAge`), later
/// (`CheckSecondIdTokenAuthTimeIsLaterIfPresent`) and recent
/// (`CheckIdTokenAuthTimeIsRecentIfPresent`). The walk back from the login page may itself take
/// longer than max_age: the login just made for this request still counts.
#[tokio::test]
async fn oidcc_max_age_1() {
    let op = Op::on(TestApp::start_with_fixed_clock().await, |_| {}).await;
    let browser = op.app.login("teacher").await;
    let first = flow(&op, &browser, &op.request()).await;
    op.app.state.clock.advance(Duration::seconds(2));
    let req = op.request().set("max_age", "1");
    let r = browser.get(op.url(&req)).send().await.unwrap();
    let login = at_login(&r);
    let back = log_in(&op.app, &browser, &login, "teacher").await;
    op.app.state.clock.advance(Duration::seconds(3));
    let r = browser.get(op.app.url(&back)).send().await.unwrap();
    let code = op.code_from(&back_at_client(&r), &req);
    let second = op.exchange(Auth::Basic, &code, &req, &[]).await.id;
    assert!(second.auth_time() > first.auth_time());
    assert!(second.auth_time() >= chrono::Utc::now().timestamp() - 5 * 60 - 1);
    // max_age=0 is a fresh login every time, and does not send the person round in circles.
    op.app.state.clock.advance(Duration::seconds(1));
    let req = op.request().set("max_age", "0");
    let r = browser.get(op.url(&req)).send().await.unwrap();
    let login = at_login(&r);
    let back = log_in(&op.app, &browser, &login, "teacher").await;
    op.app.state.clock.advance(Duration::seconds(1));
    let r = browser.get(op.app.url(&back)).send().await.unwrap();
    op.code_from(&back_at_client(&r), &req);
    op.stop().await;
}

/// oidcc-max-age-10000: the first request with max_age=15000, the second with max_age=10000
/// comes straight back; both ID tokens have the same auth_time and subject.
#[tokio::test]
async fn oidcc_max_age_10000() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let first = flow(&op, &browser, &op.request().set("max_age", "15000")).await;
    first.auth_time();
    let second = flow(&op, &browser, &op.request().set("max_age", "10000")).await;
    second.auth_time();
    same_auth(&first, &second);
    op.stop().await;
}

/// oidcc-id-token-hint: the second request with `prompt=none` and the first ID token as
/// `id_token_hint` comes straight back, for the same login.
#[tokio::test]
async fn oidcc_id_token_hint() {
    let op = Op::start().await;
    let browser = op.app.login("teacher").await;
    let first = flow(&op, &browser, &op.request()).await;
    let req = op
        .request()
        .set("prompt", "none")
        .set("id_token_hint", &first.raw);
    let second = flow(&op, &browser, &req).await;
    same_auth(&first, &second);
    op.stop().await;
}

/// oidcc-login-hint: the hint is no error; the login page offers the hinted account.
#[tokio::test]
async fn oidcc_login_hint() {
    let op = Op::start().await;
    let req = op.request().set("login_hint", "teacher");
    let browser = TestApp::client();
    let r = browser.get(op.url(&req)).send().await.unwrap();
    let login = at_login(&r);
    assert!(
        login.contains("username=teacher"),
        "login_hint prefills the account: {login}"
    );
    let page = browser
        .get(op.app.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"teacher\""), "prefilled");
    let r = log_in_there(&op.app, &browser, &login, "teacher").await;
    let code = op.code_from(&back_at_client(&r), &req);
    let id = op.exchange(Auth::Basic, &code, &req, &[]).await.id;
    assert_eq!(
        id.claims["sub"],
        op.app.person_id("teacher").await.to_string().as_str()
    );
    op.stop().await;
}

/// oidcc-ui-locales: `ui_locales=se` (the suite's default) is no error; and the login page is
/// shown in the first of the requested languages the platform speaks.
#[tokio::test]
async fn oidcc_ui_locales() {
    let op = Op::start().await;
    via_login_page(&op, &op.request().set("ui_locales", "se"), "teacher").await;
    let browser = TestApp::client();
    let req = op.request().set("ui_locales", "se en");
    let r = browser.get(op.url(&req)).send().await.unwrap();
    let login = at_login(&r);
    let page = browser
        .get(op.app.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<html lang=\"en\">"),
        "the login page in English"
    );
    let r = log_in_there(&op.app, &browser, &login, "teacher").await;
    op.code_from(&back_at_client(&r), &req);
    op.stop().await;
}
