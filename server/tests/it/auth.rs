//! Sign-in and permissions through the real router (`oneshot`): sessions and their cookie,
//! API tokens, CSRF and cross-site refusals, the trusted proxy's headers from trusted and
//! untrusted peers, rate limits, user management, the pages, and the `user`/`token`
//! subcommands of the built binary; the whole story on SQLite and on PostgreSQL.

use crate::support::http;
use crate::support::stores;

use std::net::SocketAddr;
use std::num::NonZeroU32;

use app::viewer::Role;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use leptos::prelude::LeptosOptions;
use serde::Deserialize;
use server::auth::proxy::{self, GroupRule};
use server::auth::{password, require_promoter, Auth, AuthSettings, Write};
use server::ingest::release_controller::PollRegistry;
use server::secret::{hash_secret, random_secret};
use server::store::auth::{NewUser, Session};
use server::store::Store;
use server::{router, AppState};

const HOST: &str = "streamgate.test";
const ORIGIN: &str = "http://streamgate.test";
const PASSWORD: &str = "correct horse battery";

fn state(store: Store, settings: AuthSettings) -> AppState {
    let leptos = LeptosOptions::builder()
        .output_name("streamgate")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store, PollRegistry::default(), leptos);
    state.auth = Auth::new(settings);
    state
}

async fn add_user(store: &Store, name: &str, role: Role, targets: Option<&[&str]>) {
    store
        .create_user(&NewUser {
            name: name.into(),
            password_hash: Some(
                password::hash_password(PASSWORD.into())
                    .await
                    .expect("hashed"),
            ),
            role,
            targets: targets.map(|t| t.iter().map(|s| s.to_string()).collect()),
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

    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let (status, headers, body) = http::send(app, request).await;
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// GETs `uri` with the session `cookie`.
async fn get_as(app: &Router, uri: &str, cookie: &str) -> Answer {
    send(
        app,
        get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

fn form(uri: &str) -> axum::http::request::Builder {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
}

fn encoded(pairs: &[(&str, &str)]) -> Body {
    Body::from(serde_urlencoded::to_string(pairs).expect("form"))
}

/// Signs in through the form; the session cookie (`name=value`).
async fn sign_in(app: &Router, name: &str) -> String {
    let answer = send(
        app,
        form("/auth/sign-in")
            .header(header::ORIGIN, ORIGIN)
            .body(encoded(&[
                ("name", name),
                ("password", PASSWORD),
                ("next", "/"),
            ]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sg_session="))
        .expect("session cookie");
    cookie.split(';').next().expect("name=value").to_string()
}

fn get(uri: &str) -> axum::http::request::Builder {
    Request::get(uri).header(header::HOST, HOST)
}

async fn me(app: &Router, cookie: &str) -> Answer {
    send(
        app,
        get("/api/v1/me")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

async fn csrf_of(app: &Router, cookie: &str) -> String {
    let answer = me(app, cookie).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()["csrf"].as_str().expect("csrf").to_string()
}

/// The whole story of an account: sign in, a token made, used and revoked, sign out.
async fn account_story(store: Store) {
    add_user(&store, "mia", Role::Maintainer, None).await;
    let app = router(state(store.clone(), AuthSettings::default()));

    let first = sign_in(&app, "mia").await;
    // signing in again from the same browser replaces its session
    let answer = send(
        &app,
        form("/auth/sign-in")
            .header(header::COOKIE, &first)
            .body(encoded(&[("name", "mia"), ("password", PASSWORD)]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sg_session="))
        .and_then(|c| c.split(';').next().map(str::to_string))
        .expect("new session");
    assert_ne!(cookie, first);
    assert_eq!(me(&app, &first).await.status, StatusCode::UNAUTHORIZED);
    let answer = me(&app, &cookie).await;
    assert_eq!(answer.status, StatusCode::OK);
    let who = answer.json();
    assert_eq!(
        (&who["name"], &who["role"], &who["signed_in_with"]),
        (&"mia".into(), &"maintainer".into(), &"password".into())
    );
    let csrf = who["csrf"].as_str().expect("csrf").to_string();

    // a token: created with the session and its csrf header, shown once
    let answer = send(
        &app,
        Request::post("/api/v1/tokens")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", &csrf)
            .body(Body::from(r#"{"name": "ci pipeline"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let created = answer.json();
    let token = created["token"].as_str().expect("token").to_string();
    let id = created["id"].as_i64().expect("id");
    assert!(token.starts_with("sg_"));

    let bearer = format!("Bearer {token}");
    let answer = send(
        &app,
        get("/api/v1/me")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["signed_in_with"], "token");
    let answer = send(
        &app,
        get("/api/v1/tokens")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        !answer.body.contains(&token),
        "a token is never shown again"
    );
    assert_eq!(answer.json()["tokens"][0]["name"], "ci pipeline");

    // revoked with the token itself (no csrf: no ambient credentials), then refused
    let answer = send(
        &app,
        Request::delete(format!("/api/v1/tokens/{id}"))
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    for uri in ["/api/v1/me", "/api/v1/streams"] {
        let answer = send(
            &app,
            get(uri)
                .header(header::AUTHORIZATION, &bearer)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(
            answer.detail().contains("was revoked"),
            "{}",
            answer.detail()
        );
    }

    // sign out ends the session for good
    let answer = send(
        &app,
        form("/auth/sign-out")
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, ORIGIN)
            .body(encoded(&[("csrf", &csrf)]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert!(answer
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("sg_session=;") && c.contains("Max-Age=0")));
    let answer = me(&app, &cookie).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.detail(), "your session has ended; sign in again");
}

#[tokio::test]
async fn account_story_on_sqlite() {
    let (store, _dir) = stores::sqlite().await;
    account_story(store).await;
}

#[tokio::test]
async fn account_story_on_postgres() {
    account_story(stores::postgres("auth").await).await;
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_the_viewer_reaches_leptos() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "mia", Role::Maintainer, Some(&["4-scos-next"])).await;
    let app = router(state(store, AuthSettings::default()));
    let answer = send(
        &app,
        form("/auth/sign-in")
            .header(header::ORIGIN, ORIGIN)
            .header("sec-fetch-site", "same-origin")
            .body(encoded(&[
                ("name", "mia"),
                ("password", PASSWORD),
                ("next", "/releases/4.21.0-0.okd-scos-2026-11-20-000000"),
            ]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.location(),
        "/releases/4.21.0-0.okd-scos-2026-11-20-000000"
    );
    let cookie = answer.set_cookies().join("\n");
    for part in [
        "sg_session=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Secure",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    let session = cookie.split(';').next().expect("name=value").to_string();

    // the server function the pages use sees the viewer the middleware put in the request
    let answer = send(
        &app,
        Request::post("/api/viewer")
            .header(header::COOKIE, &session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let viewer = answer.json();
    assert_eq!(viewer["name"], "mia");
    assert_eq!(viewer["role"], "Maintainer");
    assert_eq!(viewer["targets"], serde_json::json!(["4-scos-next"]));
    let anonymous = send(
        &app,
        Request::post("/api/viewer")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(anonymous.body, "null");

    // and server-rendered pages show who is signed in
    let page = get_as(&app, "/account", &session).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign out") && page.body.contains("mia"));
    let page = send(&app, get("/").body(Body::empty()).expect("request")).await;
    assert!(page.body.contains("Sign in") && !page.body.contains("Sign out"));
}

#[tokio::test]
async fn wrong_passwords_and_foreign_next_are_refused() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "mia", Role::Maintainer, None).await;
    let app = router(state(store, AuthSettings::default()));
    let answer = send(
        &app,
        form("/auth/sign-in")
            .body(encoded(&[
                ("name", "mia"),
                ("password", "wrong password"),
                ("next", "/badges"),
            ]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.location(),
        "/sign-in?next=%2Fbadges&error=wrong%20user%20name%20or%20password"
    );
    assert!(answer.set_cookies().is_empty());
    let answer = send(
        &app,
        Request::post("/auth/sign-in")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(encoded(&[("name", "nobody"), ("password", PASSWORD)]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.detail(), "wrong user name or password");

    for next in [
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let answer = send(
            &app,
            form("/auth/sign-in")
                .body(encoded(&[
                    ("name", "mia"),
                    ("password", PASSWORD),
                    ("next", next),
                ]))
                .expect("request"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert_eq!(answer.location(), "/", "{next}");
    }

    // login csrf: another site cannot sign a visitor in
    let answer = send(
        &app,
        form("/auth/sign-in")
            .header(header::ORIGIN, "https://evil.example")
            .body(encoded(&[("name", "mia"), ("password", PASSWORD)]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("cross-site request refused"));
    assert!(answer.set_cookies().is_empty());
}

#[tokio::test]
async fn expired_and_idle_sessions_are_refused() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "mia", Role::Maintainer, None).await;
    let user = store
        .user_by_name("mia")
        .await
        .expect("read")
        .expect("exists");
    let app = router(state(store.clone(), AuthSettings::default()));
    let now = Utc::now();
    for (expires, seen) in [
        (
            now - chrono::Duration::minutes(1),
            now - chrono::Duration::hours(1),
        ),
        (
            now + chrono::Duration::days(3),
            now - chrono::Duration::hours(25),
        ),
    ] {
        let id = random_secret();
        store
            .create_session(&Session {
                id_hash: hash_secret(&id),
                user_id: user.id,
                csrf: random_secret(),
                created_at: now - chrono::Duration::days(2),
                expires_at: expires,
                last_seen_at: seen,
            })
            .await
            .expect("stored");
        let answer = me(&app, &format!("sg_session={id}")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.detail(), "your session has ended; sign in again");
        assert!(answer.set_cookies().iter().any(|c| c.contains("Max-Age=0")));
        assert_eq!(
            store.session(&hash_secret(&id)).await.expect("read"),
            None,
            "an ended session is deleted"
        );
        // a page still renders for the now anonymous visitor
        let page = send(
            &app,
            get("/badges")
                .header(header::COOKIE, format!("sg_session={id}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
    }
}

/// What a promotion form posts.
#[derive(Debug, Deserialize)]
struct PromoteForm {
    target: String,
}

/// A write route (JSON and form) built from the pieces the promotion handlers use: [`Write`] then
/// [`require_promoter`], behind the real middleware.
fn with_promote_route(state: AppState) -> Router {
    async fn promote(
        Write { user, body }: Write<PromoteForm>,
    ) -> Result<axum::response::Response, server::auth::AuthError> {
        require_promoter(&user, &body.target)?;
        Ok((StatusCode::ACCEPTED, format!("{} promotes", user.name)).into_response())
    }
    Router::new()
        .route("/api/v1/test/writes", post(promote))
        .route("/releases/{tag}/promote", post(promote))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            server::auth::middleware::resolve,
        ))
        .with_state(state.clone())
        .merge(router(state))
}

#[tokio::test]
async fn writes_need_a_user_the_csrf_token_the_same_site_and_the_target() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "mia", Role::Maintainer, Some(&["4-scos-next"])).await;
    let app = with_promote_route(state(store, AuthSettings::default()));
    let cookie = sign_in(&app, "mia").await;
    let csrf = csrf_of(&app, &cookie).await;
    let uri = "/releases/4.21.0-0.okd-scos-2026-11-20-000000/promote";
    let post_form = |cookie: Option<&str>, pairs: &[(&str, &str)], extra: &[(&str, &str)]| {
        let mut b = form(uri);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        b.body(encoded(pairs)).expect("request")
    };

    let answer = send(
        &app,
        post_form(
            Some(&cookie),
            &[("target", "4-scos-next"), ("csrf", &csrf)],
            &[],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);

    // the maintainer is limited to one target
    let answer = send(
        &app,
        post_form(
            Some(&cookie),
            &[("target", "4-scos-stable"), ("csrf", &csrf)],
            &[],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.detail(),
        "mia may not promote to 4-scos-stable; they may promote to 4-scos-next"
    );

    // anonymous: 401 for the API, the sign-in page for a browser
    let answer = send(
        &app,
        Request::post("/api/v1/test/writes")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"target": "4-scos-next"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.detail().starts_with("sign in first"));
    assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
    let answer = send(&app, post_form(None, &[("target", "4-scos-next")], &[])).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(
        answer.location().starts_with("/sign-in?next="),
        "{}",
        answer.location()
    );

    // missing and wrong csrf tokens
    let answer = send(
        &app,
        post_form(Some(&cookie), &[("target", "4-scos-next")], &[]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        answer.body.contains("missing csrf token"),
        "{}",
        answer.body
    );
    let answer = send(
        &app,
        post_form(
            Some(&cookie),
            &[("target", "4-scos-next"), ("csrf", "forged")],
            &[],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("wrong csrf token"));
    let answer = send(
        &app,
        Request::post("/api/v1/test/writes")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"target": "4-scos-next"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.detail().starts_with("missing csrf token"));
    let answer = send(
        &app,
        Request::post("/api/v1/test/writes")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"target": "4-scos-next"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);

    // cross-site posts, even with the right token
    for extra in [
        [("sec-fetch-site", "cross-site"), ("origin", ORIGIN)],
        [
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://evil.example"),
        ],
    ] {
        let answer = send(
            &app,
            post_form(
                Some(&cookie),
                &[("target", "4-scos-next"), ("csrf", &csrf)],
                &extra,
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{extra:?}");
        assert!(answer.body.contains("cross-site request refused"));
    }
}

#[tokio::test]
async fn proxy_headers_count_only_from_a_trusted_peer() {
    let (store, _dir) = stores::sqlite().await;
    let settings = AuthSettings {
        proxy: proxy::ProxyConfig {
            trusted: vec![proxy::parse_trusted("10.0.0.1").expect("addr")],
            rules: vec![
                GroupRule::parse("okd-admins=admin").expect("rule"),
                GroupRule::parse("scos=maintainer:4-scos-next").expect("rule"),
            ],
            ..proxy::ProxyConfig::default()
        },
        ..AuthSettings::default()
    };
    let state = state(store.clone(), settings);
    let trusted: SocketAddr = "10.0.0.1:40000".parse().expect("addr");
    let stranger: SocketAddr = "192.0.2.9:40000".parse().expect("addr");
    let behind_proxy = router(state.clone()).layer(MockConnectInfo(trusted));
    let direct = router(state.clone()).layer(MockConnectInfo(stranger));
    let unknown_peer = router(state);
    let ask = |groups: &'static str| {
        get("/api/v1/me")
            .header("x-forwarded-user", "ada")
            .header("x-forwarded-groups", groups)
            .body(Body::empty())
            .expect("request")
    };
    let answer = send(&behind_proxy, ask("okd-admins,other")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let who = answer.json();
    assert_eq!(
        (&who["name"], &who["role"], &who["signed_in_with"]),
        (&"proxy:ada".into(), &"admin".into(), &"proxy".into())
    );
    for app in [&direct, &unknown_peer] {
        let answer = send(app, ask("okd-admins")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // the groups decide the role on every request
    let answer = send(&behind_proxy, ask("scos")).await;
    assert_eq!(answer.json()["role"], "maintainer");
    assert_eq!(answer.json()["targets"], serde_json::json!(["4-scos-next"]));
    let stored = store
        .user_by_name("proxy:ada")
        .await
        .expect("read")
        .expect("kept");
    assert!(stored.password_hash.is_none() && stored.role.is_none());
    // no mapped group: signed in, without a role
    let answer = send(
        &behind_proxy,
        get("/api/v1/me")
            .header("x-forwarded-user", "eve")
            .header("x-forwarded-groups", "visitors")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["role"], serde_json::Value::Null);
    // proxy requests need the csrf token too
    let answer = send(
        &behind_proxy,
        Request::post("/api/v1/tokens")
            .header(header::HOST, HOST)
            .header("x-forwarded-user", "ada")
            .header("x-forwarded-groups", "scos")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name": "x"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn repeated_sign_in_attempts_get_429_with_retry_after() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "mia", Role::Maintainer, None).await;
    let settings = AuthSettings {
        sign_in_per_name: NonZeroU32::new(2).expect("nonzero"),
        ..AuthSettings::default()
    };
    let peer: SocketAddr = "192.0.2.5:1234".parse().expect("addr");
    let app = router(state(store, settings)).layer(MockConnectInfo(peer));
    for _ in 0..2 {
        let answer = send(
            &app,
            form("/auth/sign-in")
                .body(encoded(&[("name", "mia"), ("password", "guess-guess")]))
                .expect("request"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
    }
    for accept in ["text/html", "application/json"] {
        let answer = send(
            &app,
            Request::post("/auth/sign-in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, accept)
                .body(encoded(&[("name", "mia"), ("password", PASSWORD)]))
                .expect("request"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{accept}");
        let retry: u64 = answer
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=30).contains(&retry), "{retry}");
        assert!(answer.body.contains("too many sign-in attempts"));
    }
}

#[tokio::test]
async fn admins_manage_users_and_maintainers_may_not() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "root", Role::Admin, None).await;
    add_user(&store, "mia", Role::Maintainer, None).await;
    let app = router(state(store.clone(), AuthSettings::default()));
    let admin = sign_in(&app, "root").await;
    let admin_csrf = csrf_of(&app, &admin).await;
    let maintainer = sign_in(&app, "mia").await;

    let answer = get_as(&app, "/api/v1/users", &maintainer).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.detail(),
        "mia is a maintainer; only admins may do this"
    );

    let json_write = |method: &str, uri: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, HOST)
            .header(header::COOKIE, &admin)
            .header("x-csrf-token", &admin_csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let answer = send(
        &app,
        json_write(
            "POST",
            "/api/v1/users",
            r#"{"name": "sam", "role": "maintainer", "targets": ["4-scos-next"], "password": "sam-password"}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let answer = send(
        &app,
        json_write(
            "POST",
            "/api/v1/users",
            r#"{"name": "sam", "role": "admin", "password": "other-password"}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    // without a password, a name is someone who comes through the proxy: no role here
    let answer = send(
        &app,
        json_write(
            "POST",
            "/api/v1/users",
            r#"{"name": "pat", "role": "admin"}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.detail().contains("leave out the role"),
        "{}",
        answer.body
    );
    let answer = send(
        &app,
        json_write("POST", "/api/v1/users", r#"{"name": "pat"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let pat = answer.json();
    assert_eq!(
        (&pat["name"], &pat["origin"], &pat["role"]),
        (
            &"proxy:pat".into(),
            &"proxy".into(),
            &serde_json::Value::Null
        )
    );
    let answer = send(
        &app,
        json_write("PATCH", "/api/v1/users/proxy:pat", r#"{"role": "admin"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.detail().contains("signs in through the proxy"));
    let answer = send(
        &app,
        json_write(
            "POST",
            "/api/v1/tokens",
            r#"{"name": "ci", "user": "proxy:pat"}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer
        .detail()
        .contains("api tokens belong to local accounts"));
    let answer = send(
        &app,
        json_write("POST", "/api/v1/users", r#"{"name": "x", "role": "root"}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.detail().contains("unknown role"));

    let answer = send(
        &app,
        json_write(
            "PATCH",
            "/api/v1/users/mia",
            r#"{"targets": ["4-scos-stable"], "disabled": true}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["disabled"], true);
    // disabling ended mia's session
    assert_eq!(me(&app, &maintainer).await.status, StatusCode::UNAUTHORIZED);
    let answer = send(
        &app,
        json_write("PATCH", "/api/v1/users/root", r#"{"disabled": true}"#),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    // the same through the admin page's forms
    let answer = send(
        &app,
        form("/admin/users")
            .header(header::COOKIE, &admin)
            .body(encoded(&[
                ("csrf", &admin_csrf),
                ("name", "kim"),
                ("role", "maintainer"),
                ("targets", "4-scos-next, 4-scos-stable"),
                ("password", "kim-password"),
            ]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/admin/users?done=created%20kim");
    let kim = store
        .user_by_name("kim")
        .await
        .expect("read")
        .expect("made");
    assert_eq!(kim.targets.map(|t| t.len()), Some(2));
    let answer = send(
        &app,
        form("/admin/users/kim")
            .header(header::COOKIE, &admin)
            .body(encoded(&[
                ("csrf", &admin_csrf),
                ("action", "password"),
                ("password", "x"),
            ]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(answer
        .location()
        .starts_with("/admin/users?error=password%20is%20too%20short"));
    let page = get_as(&app, "/admin/users", &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("kim") && page.body.contains("4-scos-stable"));
}

#[tokio::test]
async fn account_page_shows_a_new_token_once() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "mia", Role::Maintainer, None).await;
    let app = router(state(store, AuthSettings::default()));
    let cookie = sign_in(&app, "mia").await;
    let csrf = csrf_of(&app, &cookie).await;
    let answer = send(
        &app,
        form("/account/tokens")
            .header(header::COOKIE, &cookie)
            .body(encoded(&[("csrf", &csrf), ("name", "laptop")]))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/account");
    let flash = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("sg_new_token="))
        .expect("flash cookie");
    assert!(flash.contains("Path=/account") && flash.contains("HttpOnly"));
    let flash = flash.split(';').next().expect("pair").to_string();
    let token = flash.trim_start_matches("sg_new_token=").to_string();

    let page = send(
        &app,
        get("/account")
            .header(header::COOKIE, format!("{cookie}; {flash}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&token), "the new token is shown");
    assert!(page.body.contains("laptop"));
    assert!(page
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("sg_new_token=;")));
    let page = get_as(&app, "/account", &cookie).await;
    assert!(!page.body.contains(&token), "and only once");
    let anonymous = send(&app, get("/account").body(Body::empty()).expect("request")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.body.contains("Sign in"));
}

fn cli(db: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server runs");
    if let Some(input) = stdin {
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("written");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("finished");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn user_and_token_subcommands_work_on_a_sqlite_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/cli.db", dir.path().display());
    let ok = |r: (bool, String, String)| {
        assert!(r.0, "failed: {}{}", r.1, r.2);
        r.1
    };
    ok(cli(
        &db,
        &["user", "add", "ada", "--role", "admin", "--password-stdin"],
        Some("first-password\n"),
    ));
    ok(cli(&db, &["user", "add", "bob"], None));
    let (success, _, err) = cli(
        &db,
        &["user", "add", "ada", "--role", "admin", "--password-stdin"],
        Some("other-password\n"),
    );
    assert!(!success && err.contains("already exists"), "{err}");
    let (success, _, err) = cli(&db, &["user", "add", "cy", "--role", "admin"], None);
    assert!(!success && err.contains("leave out the role"), "{err}");
    let (success, _, err) = cli(
        &db,
        &["user", "add", "cy", "--role", "admin", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!success && err.contains("too short"), "{err}");
    let list = ok(cli(&db, &["user", "list"], None));
    assert!(list.contains("ada\tadmin\t*\tenabled\tpassword"), "{list}");
    assert!(
        list.contains("proxy:bob\tgroups\t-\tenabled\tproxy"),
        "{list}"
    );
    let (success, _, err) = cli(
        &db,
        &["token", "create", "--user", "proxy:bob", "--name", "ci"],
        None,
    );
    assert!(
        !success && err.contains("api tokens belong to local accounts"),
        "{err}"
    );
    let token = ok(cli(
        &db,
        &["token", "create", "--user", "ada", "--name", "ci"],
        None,
    ));
    let token = token.trim().to_string();
    assert!(server::secret::looks_like_api_token(&token), "{token}");
    ok(cli(
        &db,
        &["user", "set-password", "ada", "--password-stdin"],
        Some("second-password\n"),
    ));
    ok(cli(&db, &["user", "disable", "proxy:bob"], None));
    let listed = ok(cli(&db, &["token", "list"], None));
    assert!(
        listed.contains("\tada\tci\t") && listed.contains("active"),
        "{listed}"
    );
    ok(cli(&db, &["token", "revoke", "1"], None));
    let (success, _, err) = cli(&db, &["token", "revoke", "99"], None);
    assert!(!success && err.contains("not found"), "{err}");

    let store = Store::connect(&db).await.expect("db");
    let ada = store
        .user_by_name("ada")
        .await
        .expect("read")
        .expect("exists");
    let phc = ada.password_hash.expect("has a password");
    assert!(password::verify_password("second-password".into(), phc)
        .await
        .expect("checked"));
    let bob = store
        .user_by_name("proxy:bob")
        .await
        .expect("read")
        .expect("exists");
    assert!(bob.disabled);
    let t = store
        .api_token_by_hash(&hash_secret(&token))
        .await
        .expect("read")
        .expect("stored by hash");
    assert!(t.revoked_at.is_some());
}

#[tokio::test]
async fn pages_say_who_may_see_them() {
    let (store, _dir) = stores::sqlite().await;
    add_user(&store, "root", Role::Admin, None).await;
    add_user(&store, "mia", Role::Maintainer, None).await;
    let app = router(state(store, AuthSettings::default()));

    let page = send(
        &app,
        get("/sign-in?next=%2Fbadges&error=wrong%20user%20name%20or%20password")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("wrong user name or password"));
    assert!(
        page.body.contains(r#"name="next" value="/badges""#),
        "{}",
        page.body
    );
    let page = send(
        &app,
        get("/sign-in?next=https%3A%2F%2Fevil.example")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert!(page.body.contains(r#"name="next" value="/""#));

    let anonymous = send(
        &app,
        get("/admin/users").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let mia = sign_in(&app, "mia").await;
    let refused = get_as(&app, "/admin/users", &mia).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused
        .body
        .contains("mia is a maintainer; only admins manage users"));
    let root = sign_in(&app, "root").await;
    let page = get_as(&app, "/", &root).await;
    assert!(
        page.body.contains(r#"href="/admin/users""#),
        "admins see the users link"
    );

    // a maintainer cannot revoke someone else's token; an admin can
    let root_csrf = csrf_of(&app, &root).await;
    let created = send(
        &app,
        Request::post("/api/v1/tokens")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &root)
            .header("x-csrf-token", &root_csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name": "for mia", "user": "mia"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["user"], "mia");
    let mia_csrf = csrf_of(&app, &mia).await;
    let own = send(
        &app,
        Request::post("/api/v1/tokens")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &mia)
            .header("x-csrf-token", &mia_csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name": "mine", "user": "root"}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(
        own.status,
        StatusCode::FORBIDDEN,
        "only admins make tokens for others"
    );
    let root_token = send(
        &app,
        Request::post("/api/v1/tokens")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &root)
            .header("x-csrf-token", &root_csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name": "root's"}"#))
            .expect("request"),
    )
    .await;
    let id = root_token.json()["id"].as_i64().expect("id");
    let answer = send(
        &app,
        Request::delete(format!("/api/v1/tokens/{id}"))
            .header(header::HOST, HOST)
            .header(header::COOKIE, &mia)
            .header("x-csrf-token", &mia_csrf)
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.detail().contains("belongs to someone else"));
}

#[tokio::test]
async fn registry_hooks_keep_their_own_bearer_secrets() {
    let (store, _dir) = stores::sqlite().await;
    let mut state = state(store, AuthSettings::default());
    state.settings.hooks.insert("registry", "hook-secret");
    let app = router(state);
    let answer = send(
        &app,
        Request::post("/api/v1/hooks/registry")
            .header(header::AUTHORIZATION, "Bearer hook-secret")
            .header(
                header::CONTENT_TYPE,
                "application/vnd.docker.distribution.events.v1+json",
            )
            .body(Body::from(r#"{"events": []}"#))
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    // elsewhere, a bearer that is not an api token is refused
    let answer = send(
        &app,
        get("/api/v1/streams")
            .header(header::AUTHORIZATION, "Bearer hook-secret")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.detail().contains("not a streamgate api token"));
}
