//! What a greedy or hostile client meets at the edge, against the real `server` binary on
//! loopback (its own process, so its metrics and limits are its own): made-up methods and
//! paths add no metric series, a slow header is cut off, bodies over the limit get 413
//! on every route, live streams are capped per client and in total, anonymous `/readyz`
//! names no upstream error, and a database with a demo password is not served.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::{Rng, SeedableRng};

use crate::support::process::ServerProcess;

/// A quiet server (no polling, payloads or promotions) on a fresh SQLite file in `dir`.
async fn quiet_server(dir: &Path, extra: &[&str]) -> ServerProcess {
    let db = format!("sqlite://{}/sg.db", dir.display());
    let mut args = vec![
        "--database-url",
        &db,
        "--no-poll",
        "--no-payloads",
        "--no-promotions",
    ];
    args.extend_from_slice(extra);
    let server = ServerProcess::start(&args, &dir.join("server.log"));
    server.ready().await;
    server
}

async fn metrics_len(client: &reqwest::Client, url: &str) -> (usize, String) {
    let body = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    (body.len(), body)
}

fn random_method(rng: &mut impl Rng, i: usize) -> reqwest::Method {
    const TOKEN: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_|~";
    let len = if i.is_multiple_of(100) {
        8192
    } else {
        rng.random_range(1..64)
    };
    let bytes: Vec<u8> = (0..len)
        .map(|_| TOKEN[rng.random_range(0..TOKEN.len())])
        .collect();
    reqwest::Method::from_bytes(&bytes).expect("a token is a method")
}

fn random_path(rng: &mut impl Rng) -> String {
    let segments = rng.random_range(1..6);
    (0..segments)
        .map(|_| {
            let len = rng.random_range(1..24);
            let s: String = (0..len)
                .map(|_| char::from(rng.random_range(b'a'..=b'z')))
                .collect();
            format!("/{s}")
        })
        .collect()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let dir = tempfile::tempdir().expect("dir");
    let server = quiet_server(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    // one of each kind first, so the series they fall into exist before measuring
    for i in 1..20 {
        let method = random_method(&mut rng, i);
        let path = random_path(&mut rng);
        let _ = client
            .request(method, format!("{}{path}", server.url))
            .send()
            .await;
    }
    // the first scrape adds the series of /metrics itself
    metrics_len(&client, &server.url).await;
    let (before, _) = metrics_len(&client, &server.url).await;
    let requests: Vec<(reqwest::Method, String)> = (0..2000)
        .map(|i| (random_method(&mut rng, i), random_path(&mut rng)))
        .collect();
    let answered = futures_util::stream::iter(requests)
        .map(|(method, path)| {
            let client = client.clone();
            let url = format!("{}{path}", server.url);
            async move { client.request(method, url).send().await.is_ok() }
        })
        .buffer_unordered(16)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    assert!(answered > 1900, "only {answered} of 2000 requests answered");
    let (after, text) = metrics_len(&client, &server.url).await;
    assert!(
        after.abs_diff(before) <= 1024,
        "/metrics grew from {before} to {after} bytes"
    );
    assert!(text.contains("method=\"other\""), "{text}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_header_is_cut_off() {
    let dir = tempfile::tempdir().expect("dir");
    let server = quiet_server(dir.path(), &["--header-read-timeout", "1s"]).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&addr).expect("connects");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: streamgate\r\nX-Slow: ")
        .expect("writes");
    slow.set_read_timeout(Some(Duration::from_secs(8)))
        .expect("timeout");
    let started = Instant::now();
    let mut answer = Vec::new();
    // hyper closes the connection (after a 408, or without an answer)
    let read = slow.read_to_end(&mut answer);
    assert!(
        read.is_ok(),
        "the connection was still open after {:?}: {read:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off only after {:?}",
        started.elapsed()
    );
    // a client that sends its header in time is served as always
    let ok = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_on_every_route() {
    let dir = tempfile::tempdir().expect("dir");
    let server = quiet_server(dir.path(), &["--max-request-body", "64KiB"]).await;
    let client = reqwest::Client::new();
    let addr = server.url.trim_start_matches("http://").to_string();
    for path in [
        "/auth/sign-in",
        "/api/v1/hooks/registry",
        "/api/v1/promotions",
        "/api/v1/tokens",
        "/no/such/route",
    ] {
        // the length alone is refused: the server answers before a byte of the body came
        let mut stream = TcpStream::connect(&addr).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: streamgate\r\nContent-Type: application/json\r\n\
             Content-Length: 102400\r\n\r\n"
        )
        .expect("writes");
        let mut head = [0u8; 12];
        stream
            .read_exact(&mut head)
            .expect("an answer before the body");
        assert_eq!(&head, b"HTTP/1.1 413", "{path}");
    }
    // without a length up front the body is cut off where it passes the limit
    let chunks =
        futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1024])));
    let answer = client
        .post(format!("{}/auth/sign-in", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    match answer {
        Ok(answer) => assert_eq!(answer.status(), 413),
        // the server answered 413 and closed while the rest was still being sent
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // under the limit the route answers as usual (on a new connection: the server closed
    // the one whose body it cut off)
    let answer = reqwest::Client::new()
        .post(format!("{}/auth/sign-in", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=nobody&password=wrong")
        .send()
        .await
        .expect("answer");
    assert_ne!(answer.status(), 413);
}

async fn open_live(url: &str, from: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().expect("address"))
        .build()
        .expect("client");
    client
        .get(format!("{url}/api/v1/live"))
        .send()
        .await
        .expect("answer")
}

#[tokio::test]
async fn live_streams_are_capped_per_client_and_in_total() {
    let dir = tempfile::tempdir().expect("dir");
    let server = quiet_server(
        dir.path(),
        &["--live-max-per-client", "3", "--live-max-total", "5"],
    )
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let stream = open_live(&server.url, "127.0.0.1").await;
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let refused = open_live(&server.url, "127.0.0.1").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "10");
    let body = refused.text().await.expect("body");
    assert!(body.contains("most allowed"), "{body}");

    // another client still gets in, up to the total
    for _ in 0..2 {
        let stream = open_live(&server.url, "127.0.0.2").await;
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let busy = open_live(&server.url, "127.0.0.3").await;
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));

    // a closed stream frees its place
    drop(open.remove(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = open_live(&server.url, "127.0.0.1").await;
        if again.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was not given back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn run(args: &[&str], db: &str, stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writes");
    child.wait_with_output().expect("ends")
}

#[tokio::test]
async fn anonymous_readyz_names_no_upstream_error() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}/sg.db", dir.path().display());
    let added = run(
        &["user", "add", "root", "--role", "admin", "--password-stdin"],
        &db,
        "a long password of the admin\n",
    );
    assert!(added.status.success(), "{added:?}");
    let token = run(
        &["token", "create", "--user", "root", "--name", "probe"],
        &db,
        "",
    );
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();

    // a controller that refuses connections: its poll fails with a message naming it
    let server = ServerProcess::start(
        &[
            "--database-url",
            &db,
            "--no-payloads",
            "--no-promotions",
            "--controller",
            "origin=http://127.0.0.1:9/upstream-marker",
            "--poll-interval",
            "1s",
        ],
        &dir.path().join("server.log"),
    );
    server.ready().await;
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let anonymous = loop {
        let body: serde_json::Value = client
            .get(format!("{}/readyz", server.url))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("json");
        if body["controllers"][0]["failing"] == true {
            break body;
        }
        assert!(Instant::now() < deadline, "the poll never failed: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = anonymous.to_string();
    assert!(!text.contains("upstream-marker"), "{text}");
    assert!(
        anonymous["controllers"][0]["last_error"].is_null(),
        "{text}"
    );

    let admin: serde_json::Value = client
        .get(format!("{}/readyz", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    let detail = admin["controllers"][0]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(detail.contains("upstream-marker"), "{admin}");
}

#[tokio::test]
async fn a_database_where_a_demo_password_works_is_not_served() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}/sg.db", dir.path().display());
    let added = run(
        &[
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &db,
        "admin-demo\n",
    );
    assert!(added.status.success(), "{added:?}");
    let served = run(&["serve", "--no-poll", "--addr", "127.0.0.1:0"], &db, "");
    assert!(
        !served.status.success(),
        "served a database with a demo password"
    );
    let said = String::from_utf8_lossy(&served.stderr);
    assert!(said.contains("demo password"), "{said}");
}
