//! Who a request is, attacked through the real router (`oneshot`, each request carrying a
//! made-up peer address in its `ConnectInfo`, no real traffic):
//! - the trusted proxy's users get their role from the groups of each request — none from
//!   what an earlier request left behind — and are never the local account of the same
//!   name; the proxy's headers from any other peer are ignored;
//! - sign-in attempts are limited per client and per client and user name, so guessing
//!   from one address never locks the owner out from another, IPv6 clients count per /64,
//!   and a flood of sign-ins never checks more passwords at once than allowed.

use crate::support::http;
use crate::support::stores;

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use app::viewer::Role;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use leptos::prelude::LeptosOptions;
use server::auth::proxy::{self, GroupRule};
use server::auth::{password, Auth, AuthSettings};
use server::ingest::release_controller::PollRegistry;
use server::secret::random_secret;
use server::store::auth::{NewUser, Origin};
use server::store::Store;
use server::{router, AppState};

const HOST: &str = "streamgate.test";
const PASSWORD: &str = "correct horse battery";
/// The trusted proxy.
const PROXY: &str = "10.0.0.1:40000";
const TARGET_BODY: &str = r#"{"source_stream": "4.21.0-0.okd-scos",
    "content_repo": "quay.io/okd/scos-content", "release_repo": "quay.io/okd/scos-release",
    "name_template": "{version}-okd-scos.ec.{n}"}"#;

fn state(store: Store, settings: AuthSettings) -> AppState {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store, PollRegistry::default(), leptos);
    state.auth = Auth::new(settings);
    state
}

/// Settings trusting the proxy at [`PROXY`], whose `okd-admins` are admins and `scos`
/// maintainers of 4-scos-next.
fn behind_proxy() -> AuthSettings {
    AuthSettings {
        proxy: proxy::ProxyConfig {
            trusted: vec![proxy::parse_trusted("10.0.0.1").expect("addr")],
            rules: vec![
                GroupRule::parse("okd-admins=admin").expect("rule"),
                GroupRule::parse("scos=maintainer:4-scos-next").expect("rule"),
            ],
            ..proxy::ProxyConfig::default()
        },
        ..AuthSettings::default()
    }
}

async fn add_local(store: &Store, name: &str, role: Role) {
    store
        .create_user(&NewUser {
            name: name.into(),
            password_hash: Some(
                password::hash_password(PASSWORD.into())
                    .await
                    .expect("hashed"),
            ),
            role,
            targets: None,
            proxy_csrf: random_secret(),
            created_at: Utc::now(),
        })
        .await
        .expect("user created");
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn detail(&self) -> String {
        self.json()["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn retry_after(&self) -> Option<u64> {
        self.headers
            .get(header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("sg_session=") && !c.starts_with("sg_session=;"))
            .and_then(|c| c.split(';').next())
            .map(str::to_string)
    }
}

/// Sends `request` as if it came over a connection from `peer`.
async fn send_from(app: &Router, peer: &str, mut request: Request<Body>) -> Answer {
    let peer: SocketAddr = peer.parse().expect("peer address");
    request.extensions_mut().insert(ConnectInfo(peer));
    let (status, headers, body) = http::send(app, request).await;
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A request as the proxy passes it on: `user`, and `groups` unless `None`.
fn proxied(
    method: Method,
    uri: &str,
    user: &str,
    groups: Option<&str>,
    csrf: Option<&str>,
    json: Option<&str>,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
        .header("x-forwarded-user", user);
    if let Some(groups) = groups {
        request = request.header("x-forwarded-groups", groups);
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let body = match json {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    request.body(body).expect("request")
}

/// `GET /api/v1/me` through the proxy.
async fn me_via_proxy(app: &Router, peer: &str, user: &str, groups: Option<&str>) -> Answer {
    send_from(
        app,
        peer,
        proxied(Method::GET, "/api/v1/me", user, groups, None, None),
    )
    .await
}

/// `PUT /api/v1/targets/4-scos-next` through the proxy, with the user's CSRF token.
async fn put_target_via_proxy(
    app: &Router,
    user: &str,
    groups: Option<&str>,
    csrf: &str,
    content_repo: &str,
) -> Answer {
    let body = TARGET_BODY.replace("quay.io/okd/scos-content", content_repo);
    send_from(
        app,
        PROXY,
        proxied(
            Method::PUT,
            "/api/v1/targets/4-scos-next",
            user,
            groups,
            Some(csrf),
            Some(&body),
        ),
    )
    .await
}

/// The content repository stored for 4-scos-next.
async fn stored_content_repo(app: &Router) -> String {
    let answer = send_from(
        app,
        "127.0.0.1:50000",
        Request::get("/api/v1/targets")
            .header(header::HOST, HOST)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let listed = answer.json();
    let targets = listed
        .as_array()
        .or_else(|| listed["targets"].as_array())
        .cloned()
        .unwrap_or_default();
    targets
        .iter()
        .find(|t| t["name"] == "4-scos-next")
        .and_then(|t| t["content_repo"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// (a) An admin by their groups manages targets; on the next request, in no mapped group,
/// the same person is shown without a role and refused.
async fn proxy_role_follows_each_request(store: Store) {
    let app = router(state(store.clone(), behind_proxy()));
    let answer = me_via_proxy(&app, PROXY, "ada", Some("okd-admins,staff")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let who = answer.json();
    assert_eq!(
        (&who["name"], &who["role"], &who["signed_in_with"]),
        (&"proxy:ada".into(), &"admin".into(), &"proxy".into())
    );
    let csrf = who["csrf"].as_str().expect("csrf").to_string();
    let answer = put_target_via_proxy(
        &app,
        "ada",
        Some("okd-admins"),
        &csrf,
        "quay.io/okd/scos-content",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    // removed from the admin group at the proxy: nothing stored keeps the role
    for groups in [Some("staff"), Some(""), None] {
        let answer = me_via_proxy(&app, PROXY, "ada", groups).await;
        assert_eq!(answer.status, StatusCode::OK, "{groups:?}: {}", answer.body);
        let who = answer.json();
        assert_eq!(
            (&who["name"], &who["role"], &who["targets"]),
            (
                &"proxy:ada".into(),
                &serde_json::Value::Null,
                &serde_json::json!([])
            ),
            "{groups:?}"
        );
        assert_eq!(who["csrf"], csrf.as_str(), "the same identity");
        let answer = put_target_via_proxy(&app, "ada", groups, &csrf, "quay.io/evil/content").await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{groups:?}");
        assert!(
            answer.detail().starts_with("proxy:ada is without a role"),
            "{}",
            answer.detail()
        );
    }
    assert_eq!(stored_content_repo(&app).await, "quay.io/okd/scos-content");
    // and the account page says so
    let mut page = proxied(Method::GET, "/account", "ada", Some("staff"), None, None);
    page.headers_mut()
        .insert(header::ACCEPT, "text/html".parse().expect("value"));
    let page = send_from(&app, PROXY, page).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "proxy:ada",
        "no role",
        "API tokens belong to local accounts",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }

    // a maintainer group now: a maintainer, not the admin of before
    let answer = me_via_proxy(&app, PROXY, "ada", Some("scos")).await;
    assert_eq!(answer.json()["role"], "maintainer");
    let answer = put_target_via_proxy(&app, "ada", Some("scos"), &csrf, "quay.io/evil/x").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    // nor can the admin of a moment ago keep the role in an api token
    let answer = send_from(
        &app,
        PROXY,
        proxied(
            Method::POST,
            "/api/v1/tokens",
            "ada",
            Some("okd-admins"),
            Some(&csrf),
            Some(r#"{"name": "keep me admin"}"#),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer
        .detail()
        .contains("api tokens belong to local accounts"));
    let stored = store
        .user_by_name("proxy:ada")
        .await
        .expect("read")
        .expect("the identity is kept");
    assert_eq!((stored.origin, stored.role), (Origin::Proxy, None));
}

#[tokio::test]
async fn proxy_role_follows_each_request_on_sqlite() {
    let (store, _dir) = stores::sqlite().await;
    proxy_role_follows_each_request(store).await;
}

#[tokio::test]
async fn proxy_role_follows_each_request_on_postgres() {
    proxy_role_follows_each_request(stores::postgres("sec_identities").await).await;
}

/// (b) The proxy's `admin` is `proxy:admin`, not the local admin account.
async fn proxy_admin_is_not_the_local_admin(store: Store) {
    add_local(&store, "admin", Role::Admin).await;
    let app = router(state(store.clone(), behind_proxy()));
    for groups in [None, Some("staff")] {
        let answer = me_via_proxy(&app, PROXY, "admin", groups).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let who = answer.json();
        assert_eq!(
            (&who["name"], &who["role"]),
            (&"proxy:admin".into(), &serde_json::Value::Null)
        );
        let csrf = who["csrf"].as_str().expect("csrf").to_string();
        let answer = put_target_via_proxy(&app, "admin", groups, &csrf, "quay.io/evil/c").await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
        let answer = send_from(
            &app,
            PROXY,
            proxied(Method::GET, "/api/v1/users", "admin", groups, None, None),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    }
    // in a maintainer group the proxy's admin is a maintainer, still not the local admin
    let answer = me_via_proxy(&app, PROXY, "admin", Some("scos")).await;
    assert_eq!(
        (&answer.json()["name"], &answer.json()["role"]),
        (&"proxy:admin".into(), &"maintainer".into())
    );

    // the local admin is untouched: signs in with the password, as admin
    let answer = send_from(&app, "198.51.100.7:1234", sign_in_form("admin", PASSWORD)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let cookie = answer.session_cookie().expect("session cookie");
    let answer = send_from(
        &app,
        "198.51.100.7:1234",
        Request::get("/api/v1/me")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    let who = answer.json();
    assert_eq!(
        (&who["name"], &who["role"], &who["signed_in_with"]),
        (&"admin".into(), &"admin".into(), &"password".into())
    );
    let local = store
        .user_by_name("admin")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (local.origin, local.role),
        (Origin::Local, Some(Role::Admin))
    );
    assert!(local.password_hash.is_some() && !local.disabled);
    // and nobody signs in with a password as the proxy's identity
    let answer = send_from(
        &app,
        "198.51.100.8:1234",
        sign_in_form("proxy:admin", PASSWORD),
    )
    .await;
    assert!(answer.session_cookie().is_none());
}

#[tokio::test]
async fn proxy_admin_is_not_the_local_admin_on_sqlite() {
    let (store, _dir) = stores::sqlite().await;
    proxy_admin_is_not_the_local_admin(store).await;
}

#[tokio::test]
async fn proxy_admin_is_not_the_local_admin_on_postgres() {
    proxy_admin_is_not_the_local_admin(stores::postgres("sec_identities").await).await;
}

/// (c) The proxy's headers from any other peer are ignored.
#[tokio::test]
async fn proxy_headers_from_an_untrusted_peer_are_ignored() {
    let (store, _dir) = stores::sqlite().await;
    let app = router(state(store.clone(), behind_proxy()));
    for peer in ["10.0.0.2:40000", "192.0.2.9:40000", "[::1]:40000"] {
        let answer = me_via_proxy(&app, peer, "ada", Some("okd-admins")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{peer}");
        let answer = send_from(
            &app,
            peer,
            proxied(
                Method::PUT,
                "/api/v1/targets/4-scos-next",
                "ada",
                Some("okd-admins"),
                Some("x"),
                Some(TARGET_BODY),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{peer}");
    }
    assert_eq!(store.user_by_name("proxy:ada").await.expect("read"), None);
    assert_eq!(stored_content_repo(&app).await, "");
}

/// The sign-in form, as a browser posts it.
fn sign_in_form(name: &str, password: &str) -> Request<Body> {
    Request::post("/auth/sign-in")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .body(Body::from(
            serde_urlencoded::to_string([("name", name), ("password", password), ("next", "/")])
                .expect("form"),
        ))
        .expect("request")
}

/// Whether the answer is "wrong password": back to the form with the reason.
fn refused_password(answer: &Answer) -> bool {
    answer.status == StatusCode::SEE_OTHER
        && answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.starts_with("/sign-in?") && l.contains("wrong"))
}

/// (d) Guessing alice's password from one address leaves alice free to sign in from hers,
/// while the guesser is slowed down.
#[tokio::test]
async fn guessing_from_one_address_does_not_lock_the_owner_out() {
    let (store, _dir) = stores::sqlite().await;
    add_local(&store, "alice", Role::Maintainer).await;
    let app = router(state(store, AuthSettings::default()));
    let attacker = "192.0.2.1:5555";
    let (mut refused, mut limited) = (0, 0);
    for i in 0..20 {
        let answer = send_from(
            &app,
            attacker,
            sign_in_form("alice", &format!("guess-number-{i}")),
        )
        .await;
        if refused_password(&answer) {
            refused += 1;
        } else {
            assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{i}");
            limited += 1;
        }
    }
    assert_eq!(
        (refused, limited),
        (10, 10),
        "ten guesses a minute for one name from one address"
    );

    let answer = send_from(&app, "198.51.100.7:443", sign_in_form("alice", PASSWORD)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/")
    );
    assert!(answer.session_cookie().is_some(), "alice is signed in");

    // even with the right password, the guesser waits
    let answer = send_from(&app, attacker, sign_in_form("alice", PASSWORD)).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.session_cookie().is_none());
    let retry = answer.retry_after().expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
}

/// (e) An IPv6 client is its /64: every address in it shares one budget.
#[tokio::test]
async fn ipv6_clients_are_limited_per_64() {
    let (store, _dir) = stores::sqlite().await;
    let settings = AuthSettings {
        sign_in_per_address: NonZeroU32::new(3).expect("nonzero"),
        ..AuthSettings::default()
    };
    let app = router(state(store, settings));
    // spraying: one guess for each of several names
    for (i, name) in ["ann", "ben", "cat"].iter().enumerate() {
        let peer = format!("[2001:db8:a:b::{}]:1000", i + 1);
        let answer = send_from(&app, &peer, sign_in_form(name, "guess-guess")).await;
        assert!(refused_password(&answer), "{peer}: {}", answer.status);
    }
    for peer in [
        "[2001:db8:a:b:ffff:ffff:ffff:fffe]:1000",
        "[2001:db8:a:b::1]:2000",
    ] {
        let answer = send_from(&app, peer, sign_in_form("dan", "guess-guess")).await;
        assert_eq!(
            answer.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{peer} shares the /64"
        );
        assert!(answer.retry_after().is_some());
    }
    for peer in ["[2001:db8:a:c::1]:1000", "[2001:db8:a:c::2]:1000"] {
        let answer = send_from(&app, peer, sign_in_form("dan", "guess-guess")).await;
        assert!(refused_password(&answer), "{peer} is another /64");
    }
    // IPv4 clients count per address
    for peer in ["192.0.2.10:1", "192.0.2.10:2", "192.0.2.10:3"] {
        let answer = send_from(&app, peer, sign_in_form("eve", "guess-guess")).await;
        assert!(refused_password(&answer), "{peer}");
    }
    let answer = send_from(&app, "192.0.2.10:4", sign_in_form("eve", "guess-guess")).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let answer = send_from(&app, "192.0.2.11:1", sign_in_form("eve", "guess-guess")).await;
    assert!(refused_password(&answer));
}

/// (f) A flood of sign-ins checks at most the configured number of passwords at once;
/// what cannot start within the wait is turned away with 503 and `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_checks_few_passwords_at_once() {
    const FLOOD: usize = 40;
    let (store, _dir) = stores::sqlite().await;
    add_local(&store, "alice", Role::Maintainer).await;
    let settings = AuthSettings {
        sign_in_concurrency: NonZeroUsize::new(2).expect("nonzero"),
        sign_in_wait: Duration::from_millis(50),
        ..AuthSettings::default()
    };
    let state = state(store, settings);
    let app = router(state.clone());
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..FLOOD {
        let app = app.clone();
        flood.spawn(async move {
            // each from its own address, so that only the check limit is in the way
            let peer = format!("203.0.113.{}:{}", i % 250 + 1, 1000 + i);
            let name = if i % 2 == 0 { "alice" } else { "nobody" };
            send_from(&app, &peer, sign_in_form(name, "guess-guess")).await
        });
    }
    let (mut checked, mut busy) = (0, 0);
    while let Some(answer) = flood.join_next().await {
        let answer = answer.expect("joined");
        if refused_password(&answer) {
            checked += 1;
        } else {
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                answer.body
            );
            let retry = answer.retry_after().expect("Retry-After");
            assert!((1..=5).contains(&retry), "{retry}");
            busy += 1;
        }
    }
    let checks = &state.auth.limits.verifications;
    assert_eq!(checks.peak(), 2, "two checks at once, never more");
    assert_eq!(checks.running(), 0);
    assert!(checked >= 2 && busy >= 1, "checked {checked}, busy {busy}");
    assert_eq!(checked + busy, FLOOD);

    // the flood over, the owner signs in
    let answer = send_from(&app, "198.51.100.7:443", sign_in_form("alice", PASSWORD)).await;
    assert!(answer.session_cookie().is_some(), "{}", answer.status);
}
