//! Reads from OCI registries over the Distribution API with every answer bounded.
//!
//! The registries read from are named in upstream data (pull specs in release-controller
//! answers, component images in a payload's `image-references`), so nothing they send is
//! trusted to be small. A manifest is read up to [`MANIFEST_BYTES`] (distribution's own
//! limit), a blob up to the size its descriptor declares, a token answer, an error body or a
//! page of a tag list up to a few KiB or MiB. A `Content-Length` beyond the cap refuses the
//! read before any byte of the body; every body is streamed and the connection dropped as
//! soon as the cap is passed, never read whole and checked afterwards. Authentication follows
//! the registry's challenge: `Basic` with the configured credential, or a bearer token from
//! the `realm` it names (anonymous, or with the credential), cached per repository until it
//! expires. Digests are checked: a manifest against the digest asked for and the registry's
//! `Docker-Content-Digest`, a blob against its digest while it streams.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use oci_client::Reference;
use reqwest::header::{ACCEPT, AUTHORIZATION, LINK, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha512};

use super::credentials::{Credential, Credentials};
use super::layer::Overflow;
use crate::capped::CappedError;
use crate::formats::media_type::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};

/// Largest manifest read: distribution refuses to store larger ones.
pub const MANIFEST_BYTES: u64 = 4 << 20;
/// Largest answer of a token realm.
const TOKEN_BYTES: u64 = 64 << 10;
/// Bytes of an error answer read for its message.
const ERROR_BYTES: u64 = 4 << 10;
/// Largest page of a tag list.
const TAG_PAGE_BYTES: u64 = 4 << 20;
/// Tags asked for per page.
const TAG_PAGE: usize = 1000;
/// Most tags one repository may list.
pub const MAX_TAGS: usize = 100_000;
/// Lifetime of a token whose answer names none (the token specification's default).
const TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Manifest media types asked for.
const ACCEPTED: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// What went wrong with one read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The registry answered with an error status.
    #[error("http {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Status {
        /// The status.
        status: u16,
        /// The start of the answer's body.
        detail: String,
    },
    /// No answer, or the answer broke off.
    #[error("{reason}")]
    Transport {
        /// What happened.
        reason: String,
        /// Whether trying again may help (connection refused, timeout, a broken body).
        transient: bool,
    },
    /// The answer is larger than allowed.
    #[error("more than the limit of {limit} bytes{}", .declared.map(|d| format!(" ({d} bytes announced)")).unwrap_or_default())]
    TooLarge {
        /// The limit.
        limit: u64,
        /// The size the answer announced (`Content-Length`), when that gave it away.
        declared: Option<u64>,
    },
    /// The content does not have the digest it was asked by or announced with.
    #[error("content has digest {actual}, not {expected}")]
    Digest {
        /// The digest expected.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// An answer that breaks the protocol (a bad challenge, token or tag list).
    #[error("{0}")]
    Protocol(String),
}

/// A failed read: what was asked of which registry, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {registry}: {failure}")]
pub struct FetchError {
    /// The manifest, blob, token or tag list asked for.
    pub what: String,
    /// The registry host.
    pub registry: String,
    /// What went wrong.
    pub failure: Failure,
}

impl FetchError {
    fn new(what: &str, registry: &str, failure: Failure) -> FetchError {
        FetchError {
            what: what.to_string(),
            registry: registry.to_string(),
            failure,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self.failure {
            Failure::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    /// Whether trying again may help: no answer, a server error or rate limiting.
    pub fn is_transient(&self) -> bool {
        match &self.failure {
            Failure::Status { status, .. } => *status == 429 || *status >= 500,
            Failure::Transport { transient, .. } => *transient,
            Failure::TooLarge { .. } | Failure::Digest { .. } | Failure::Protocol(_) => false,
        }
    }
}

/// A manifest as read: its bytes, exactly as served, and its digest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The body.
    pub bytes: Bytes,
    /// Its digest (the one asked by, else the registry's, else its sha256).
    pub digest: String,
}

/// A blob being read: at most its limit, its digest checked at the end. The stream fails
/// with [`io::ErrorKind::FileTooLarge`] (carrying an [`Overflow`]) past the limit and with
/// [`io::ErrorKind::InvalidData`] when the digest does not match.
pub struct Blob {
    /// The announced length.
    pub content_length: Option<u64>,
    /// The bytes.
    pub stream: BoxStream<'static, io::Result<Bytes>>,
}

/// A blob read in progress.
struct BlobState {
    response: Option<Response>,
    hasher: Option<Hasher>,
    read: u64,
    limit: u64,
    what: String,
    expected: String,
}

/// A registry challenge (`WWW-Authenticate`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`.
fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params: HashMap<String, String> = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
            value = value.trim().to_string();
        }
        params.insert(key, value);
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm").filter(|r| !r.is_empty())?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

/// The next page named by a `Link: <…>; rel="next"` header.
fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            p.trim()
                .strip_prefix("rel=")
                .is_some_and(|r| r.trim_matches('"') == "next")
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then_some(target)
    })
}

/// A digest being computed, by the algorithm a digest string names.
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn for_digest(digest: &str) -> Result<Hasher, Failure> {
        match digest.split_once(':') {
            Some(("sha256", hex)) if hex.len() == 64 => Ok(Hasher::Sha256(Sha256::new())),
            Some(("sha512", hex)) if hex.len() == 128 => Ok(Hasher::Sha512(Sha512::new())),
            _ => Err(Failure::Protocol(format!(
                "unsupported digest {digest:?} (sha256 or sha512 expected)"
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// Checks that `bytes` have `expected` as digest.
fn check_digest(expected: &str, bytes: &[u8]) -> Result<(), Failure> {
    let mut hasher = Hasher::for_digest(expected)?;
    hasher.update(bytes);
    let actual = hasher.finish();
    if actual == expected {
        Ok(())
    } else {
        Err(Failure::Digest {
            expected: expected.to_string(),
            actual,
        })
    }
}

/// Reads a whole body of at most `limit` bytes ([`crate::capped::read_capped`]).
async fn read_capped(response: &mut Response, limit: u64) -> Result<Vec<u8>, Failure> {
    crate::capped::read_capped(response, limit)
        .await
        .map_err(|e| match e {
            CappedError::TooLarge { declared } => Failure::TooLarge { limit, declared },
            CappedError::Transport(e) => transport(e),
        })
}

fn transport(e: reqwest::Error) -> Failure {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        e.to_string()
    };
    Failure::Transport {
        reason,
        transient: e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
    }
}

/// The failure of an error answer, with the start of its body as detail.
async fn status_failure(mut response: Response) -> Failure {
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= ERROR_BYTES {
            break;
        }
    }
    body.truncate(ERROR_BYTES as usize);
    let text = String::from_utf8_lossy(&body);
    let detail: String = text.chars().take(200).collect();
    Failure::Status {
        status,
        detail: detail.trim().to_string(),
    }
}

/// An `Authorization` value and when it stops being used.
#[derive(Debug, Clone)]
struct Cached {
    authorization: String,
    until: Instant,
}

/// A token realm's answer.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A tag list page.
#[derive(Debug, Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// How a [`Distribution`] reaches registries.
#[derive(Debug, Clone)]
pub struct DistributionConfig {
    /// Credentials by registry host.
    pub credentials: Credentials,
    /// Hosts (`host[:port]`) spoken to over plain HTTP; every other host uses HTTPS.
    pub insecure_hosts: Vec<String>,
    /// Connect timeout, idle timeout of a read, and whole-request timeout of the small
    /// reads (manifests, tokens, tag lists).
    pub timeout: Duration,
    /// Largest manifest read.
    pub manifest_bytes: u64,
}

impl Default for DistributionConfig {
    fn default() -> Self {
        DistributionConfig {
            credentials: Credentials::default(),
            insecure_hosts: Vec::new(),
            timeout: Duration::from_secs(30),
            manifest_bytes: MANIFEST_BYTES,
        }
    }
}

/// Reads manifests, blobs and tag lists from registries; holds one HTTP client and the
/// tokens it was given (clones share them).
#[derive(Clone)]
pub struct Distribution {
    http: reqwest::Client,
    config: Arc<DistributionConfig>,
    tokens: Arc<Mutex<HashMap<String, Cached>>>,
}

impl std::fmt::Debug for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distribution")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Distribution {
    /// A reader with `config`.
    pub fn new(config: DistributionConfig) -> Distribution {
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .read_timeout(config.timeout)
            // content is addressed by the digest of its bytes as stored
            .no_gzip()
            .user_agent(concat!("streamgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "registry client settings refused; using defaults");
                reqwest::Client::new()
            });
        Distribution {
            http,
            config: Arc::new(config),
            tokens: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// `http[s]://registry/v2/repository`.
    fn base(&self, reference: &Reference) -> String {
        let registry = reference.resolve_registry();
        let scheme = if self.config.insecure_hosts.iter().any(|h| h == registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{registry}/v2/{}", reference.repository())
    }

    /// `…/v2/<name>/manifests/<digest or tag>` of `reference` (`latest` when it names neither).
    fn manifest_url(&self, reference: &Reference) -> String {
        let id = reference.digest().or(reference.tag()).unwrap_or("latest");
        format!("{}/manifests/{id}", self.base(reference))
    }

    fn cached(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        tokens
            .get(key)
            .filter(|c| c.until > Instant::now())
            .map(|c| c.authorization.clone())
    }

    fn remember(&self, key: String, authorization: String, lifetime: Duration) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.retain(|_, c| c.until > Instant::now());
            tokens.insert(
                key,
                Cached {
                    authorization,
                    until: Instant::now() + lifetime,
                },
            );
        }
    }

    /// Sends the request `build` makes, answering the registry's challenge once; an error
    /// answer (a 401 that could not be answered too) is returned as it is.
    async fn send(
        &self,
        reference: &Reference,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Response, FetchError> {
        let registry = reference.resolve_registry();
        let fail = |failure| FetchError::new(what, registry, failure);
        let credential = self.config.credentials.for_host(registry);
        let key = format!("{registry} repository:{}:pull", reference.repository());
        let mut authorization = match &credential {
            Credential::Bearer(token) => Some(format!("Bearer {token}")),
            _ => self.cached(&key),
        };
        let mut answered = false;
        loop {
            let mut request = build(&self.http);
            if let Some(a) = &authorization {
                request = request.header(AUTHORIZATION, a);
            }
            let response = request.send().await.map_err(|e| fail(transport(e)))?;
            if response.status() != StatusCode::UNAUTHORIZED
                || answered
                || matches!(credential, Credential::Bearer(_))
            {
                return Ok(response);
            }
            let Some(challenge) = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_challenge)
            else {
                return Ok(response);
            };
            let (value, lifetime) = match challenge {
                Challenge::Basic => match &credential {
                    Credential::Basic { username, password } => {
                        (basic(username, password), Duration::from_secs(3600))
                    }
                    _ => return Ok(response),
                },
                Challenge::Bearer {
                    realm,
                    service,
                    scope,
                } => {
                    let wanted = format!("repository:{}:pull", reference.repository());
                    let scope = scope.filter(|s| s.contains(reference.repository()));
                    let (token, lifetime) = self
                        .token(
                            registry,
                            &realm,
                            service.as_deref(),
                            scope.as_deref().unwrap_or(&wanted),
                            &credential,
                            what,
                        )
                        .await?;
                    (format!("Bearer {token}"), lifetime)
                }
            };
            self.remember(key.clone(), value.clone(), lifetime);
            authorization = Some(value);
            answered = true;
        }
    }

    /// Asks `realm` for a token for `scope`, with the credential when there is one.
    async fn token(
        &self,
        registry: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: &Credential,
        what: &str,
    ) -> Result<(String, Duration), FetchError> {
        let what = format!("token for {what}");
        let fail = |failure| FetchError::new(&what, registry, failure);
        let url = reqwest::Url::parse(realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                fail(Failure::Protocol(format!(
                    "token realm {realm:?} is no url"
                )))
            })?;
        let mut query: Vec<(&str, &str)> = vec![("scope", scope)];
        if let Some(service) = service {
            query.push(("service", service));
        }
        let mut request = self
            .http
            .get(url)
            .query(&query)
            .timeout(self.config.timeout);
        if let Credential::Basic { username, password } = credential {
            request = request.header(AUTHORIZATION, basic(username, password));
        }
        let mut response = request.send().await.map_err(|e| fail(transport(e)))?;
        if !response.status().is_success() {
            return Err(fail(status_failure(response).await));
        }
        let body = read_capped(&mut response, TOKEN_BYTES)
            .await
            .map_err(&fail)?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| fail(Failure::Protocol(format!("token answer: {e}"))))?;
        let token = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail(Failure::Protocol("token answer without a token".into())))?;
        let lifetime = answer
            .expires_in
            .map_or(TOKEN_LIFETIME, Duration::from_secs)
            .clamp(Duration::from_secs(10), Duration::from_secs(3600));
        // used a little less long than granted, so a token never expires on its way
        Ok((token, lifetime.mul_f64(0.9)))
    }

    /// The manifest `reference` names (by digest or tag), at most the configured size.
    pub async fn manifest(&self, reference: &Reference) -> Result<Manifest, FetchError> {
        let what = format!("manifest {}", reference.whole());
        let registry = reference.resolve_registry();
        let fail = |failure| FetchError::new(&what, registry, failure);
        let url = self.manifest_url(reference);
        let timeout = self.config.timeout;
        let mut response = self
            .send(reference, &what, |c| {
                c.get(&url)
                    .header(ACCEPT, ACCEPTED.join(", "))
                    .timeout(timeout)
            })
            .await?;
        if !response.status().is_success() {
            return Err(fail(status_failure(response).await));
        }
        let announced = content_digest(&response);
        let body = read_capped(&mut response, self.config.manifest_bytes)
            .await
            .map_err(&fail)?;
        if let Some(expected) = reference.digest() {
            check_digest(expected, &body).map_err(&fail)?;
        }
        if let Some(announced) = &announced {
            check_digest(announced, &body).map_err(&fail)?;
        }
        let digest = match (reference.digest(), announced) {
            (Some(d), _) => d.to_string(),
            (None, Some(d)) => d,
            (None, None) => format!("sha256:{}", hex::encode(Sha256::digest(&body))),
        };
        Ok(Manifest {
            bytes: Bytes::from(body),
            digest,
        })
    }

    /// The digest of the manifest `reference` names, `None` when the registry answers that
    /// it has none: one `HEAD`, and a bounded `GET` when the registry does not announce it.
    pub async fn manifest_digest(
        &self,
        reference: &Reference,
    ) -> Result<Option<String>, FetchError> {
        let what = format!("manifest {}", reference.whole());
        let registry = reference.resolve_registry();
        let fail = |failure| FetchError::new(&what, registry, failure);
        let url = self.manifest_url(reference);
        let timeout = self.config.timeout;
        let response = self
            .send(reference, &what, |c| {
                c.head(&url)
                    .header(ACCEPT, ACCEPTED.join(", "))
                    .timeout(timeout)
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(fail(status_failure(response).await));
        }
        match content_digest(&response) {
            Some(announced) => {
                if let Some(expected) = reference.digest() {
                    if expected != announced
                        && expected.split(':').next() == announced.split(':').next()
                    {
                        return Err(fail(Failure::Digest {
                            expected: expected.to_string(),
                            actual: announced,
                        }));
                    }
                }
                Ok(Some(announced))
            }
            None => match self.manifest(reference).await {
                Ok(m) => Ok(Some(m.digest)),
                Err(e) if e.status() == Some(404) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// Streams the blob `digest` of `repository`'s repository, at most `limit` bytes.
    pub async fn blob(
        &self,
        repository: &Reference,
        digest: &str,
        limit: u64,
    ) -> Result<Blob, FetchError> {
        let what = format!("blob {digest} of {}", repository.repository());
        let registry = repository.resolve_registry();
        let fail = |failure| FetchError::new(&what, registry, failure);
        let hasher = Hasher::for_digest(digest).map_err(&fail)?;
        let url = format!("{}/blobs/{digest}", self.base(repository));
        let response = self.send(repository, &what, |c| c.get(&url)).await?;
        if !response.status().is_success() {
            return Err(fail(status_failure(response).await));
        }
        let content_length = response.content_length();
        if let Some(length) = content_length.filter(|l| *l > limit) {
            return Err(fail(Failure::TooLarge {
                limit,
                declared: Some(length),
            }));
        }
        let state = BlobState {
            response: Some(response),
            hasher: Some(hasher),
            read: 0,
            limit,
            what,
            expected: digest.to_string(),
        };
        let stream = futures_util::stream::unfold(state, |mut s| async move {
            let response = s.response.as_mut()?;
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    s.read += chunk.len() as u64;
                    if s.read > s.limit {
                        // dropping the answer closes the connection
                        s.response = None;
                        let overflow = Overflow {
                            what: s.what.clone(),
                            limit: s.limit,
                        };
                        return Some((
                            Err(io::Error::new(io::ErrorKind::FileTooLarge, overflow)),
                            s,
                        ));
                    }
                    if let Some(h) = s.hasher.as_mut() {
                        h.update(&chunk);
                    }
                    Some((Ok(chunk), s))
                }
                Ok(None) => {
                    s.response = None;
                    let actual = s.hasher.take().map(Hasher::finish).unwrap_or_default();
                    if actual == s.expected {
                        return None;
                    }
                    let message = format!("{} has digest {actual}, not {}", s.what, s.expected);
                    Some((Err(io::Error::new(io::ErrorKind::InvalidData, message)), s))
                }
                Err(e) => {
                    s.response = None;
                    Some((Err(io::Error::other(e)), s))
                }
            }
        });
        Ok(Blob {
            content_length,
            stream: Box::pin(stream),
        })
    }

    /// Every tag of `repository` (`registry/repository`), following the pages the registry
    /// hands out; none when it does not know the repository.
    pub async fn tags(&self, repository: &Reference) -> Result<Vec<String>, FetchError> {
        let what = format!("tag list of {}", repository.repository());
        let registry = repository.resolve_registry();
        let fail = |failure| FetchError::new(&what, registry, failure);
        let first = format!("{}/tags/list?n={TAG_PAGE}", self.base(repository));
        let base = reqwest::Url::parse(&first)
            .map_err(|e| fail(Failure::Protocol(format!("tag list url: {e}"))))?;
        let mut url = base.clone();
        let mut tags = Vec::new();
        let mut seen = HashSet::new();
        let timeout = self.config.timeout;
        loop {
            let page_url = url.clone();
            let mut response = self
                .send(repository, &what, |c| {
                    c.get(page_url.clone()).timeout(timeout)
                })
                .await?;
            if response.status() == StatusCode::NOT_FOUND && tags.is_empty() {
                return Ok(tags);
            }
            if !response.status().is_success() {
                return Err(fail(status_failure(response).await));
            }
            let next = response
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(str::to_string);
            let body = read_capped(&mut response, TAG_PAGE_BYTES)
                .await
                .map_err(&fail)?;
            let page: TagPage = serde_json::from_slice(&body)
                .map_err(|e| fail(Failure::Protocol(format!("tag list: {e}"))))?;
            let mut added = 0;
            for tag in page.tags.unwrap_or_default() {
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                    added += 1;
                }
            }
            if tags.len() > MAX_TAGS {
                return Err(fail(Failure::Protocol(format!(
                    "more than {MAX_TAGS} tags"
                ))));
            }
            // a page that adds nothing ends the walk, whatever its link says
            let Some(next) = next.filter(|_| added > 0) else {
                return Ok(tags);
            };
            let next = base
                .join(&next)
                .map_err(|e| fail(Failure::Protocol(format!("tag list link {next:?}: {e}"))))?;
            if next.origin() != base.origin() {
                return Err(fail(Failure::Protocol(format!(
                    "tag list link {next} leads to another host"
                ))));
            }
            url = next;
        }
    }
}

/// `Basic <base64 user:password>`.
fn basic(username: &str, password: &str) -> String {
    use base64::Engine;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// The `Docker-Content-Digest` an answer announces.
fn content_digest(response: &Response) -> Option<String> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use axum::http::{header, HeaderMap};
    use axum::response::IntoResponse;
    use futures_util::StreamExt;

    use super::*;

    #[test]
    fn challenges_are_parsed() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:okd/x:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:okd/x:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=https://a/t, service=\"s\\\"q\""),
            Some(Challenge::Bearer {
                realm: "https://a/t".into(),
                service: Some("s\"q".into()),
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="registry""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge(r#"Bearer service="no realm""#), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }

    #[test]
    fn next_links_are_found() {
        assert_eq!(
            next_link(r#"</v2/okd/x/tags/list?last=b&n=2>; rel="next""#),
            Some("/v2/okd/x/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://a/prev>; rel="prev", <https://a/next>; rel=next"#),
            Some("https://a/next")
        );
        assert_eq!(next_link(r#"<https://a/prev>; rel="prev""#), None);
    }

    /// A registry on loopback serving `repo` tags in pages of two, linked with `Link`;
    /// `bad` pages link elsewhere or back to the start.
    async fn paginating(bad: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let host = listener.local_addr().expect("addr").to_string();
        let app = axum::Router::new().route(
            "/v2/okd/x/tags/list",
            axum::routing::get(
                move |q: axum::extract::Query<HashMap<String, String>>| async move {
                    let all = ["a", "b", "c", "d", "e"];
                    let from = q
                        .get("last")
                        .and_then(|l| all.iter().position(|t| t == l))
                        .map_or(0, |i| i + 1);
                    let page: Vec<&str> = all.iter().skip(from).take(2).copied().collect();
                    let mut headers = HeaderMap::new();
                    let next = match (bad, page.last()) {
                        ("elsewhere", Some(_)) => Some(
                            "<http://127.0.0.2:1/v2/okd/x/tags/list?last=b>; rel=\"next\""
                                .to_string(),
                        ),
                        ("loop", Some(_)) => {
                            Some("</v2/okd/x/tags/list?n=2>; rel=\"next\"".to_string())
                        }
                        (_, Some(last)) if from + 2 < all.len() => Some(format!(
                            "</v2/okd/x/tags/list?last={last}&n=2>; rel=\"next\""
                        )),
                        _ => None,
                    };
                    if let Some(next) = next {
                        headers.insert(header::LINK, next.parse().expect("header"));
                    }
                    let body = serde_json::json!({"name": "okd/x", "tags": page});
                    (headers, body.to_string()).into_response()
                },
            ),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        host
    }

    fn client(host: &str) -> Distribution {
        Distribution::new(DistributionConfig {
            insecure_hosts: vec![host.to_string()],
            timeout: Duration::from_secs(5),
            ..DistributionConfig::default()
        })
    }

    #[tokio::test]
    async fn tag_lists_follow_their_pages_and_stop_when_they_do_not_advance() {
        let host = paginating("").await;
        let repo = Reference::from_str(&format!("{host}/okd/x")).expect("reference");
        let tags = client(&host).tags(&repo).await.expect("tags");
        assert_eq!(tags, ["a", "b", "c", "d", "e"]);

        let host = paginating("loop").await;
        let repo = Reference::from_str(&format!("{host}/okd/x")).expect("reference");
        let tags = client(&host).tags(&repo).await.expect("tags");
        assert_eq!(tags, ["a", "b"], "the repeated first page ends the walk");

        let host = paginating("elsewhere").await;
        let repo = Reference::from_str(&format!("{host}/okd/x")).expect("reference");
        let err = client(&host).tags(&repo).await.expect_err("other host");
        assert!(err.to_string().contains("leads to another host"), "{err}");
    }

    #[tokio::test]
    async fn blobs_stop_at_their_limit_and_fail_a_wrong_digest() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let host = listener.local_addr().expect("addr").to_string();
        let app = axum::Router::new().route(
            "/v2/okd/x/blobs/{digest}",
            axum::routing::get(|| async { vec![7u8; 3000] }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let repo = Reference::from_str(&format!("{host}/okd/x")).expect("reference");
        let right = format!("sha256:{}", hex::encode(Sha256::digest(vec![7u8; 3000])));
        let wrong = format!("sha256:{}", "0".repeat(64));
        let c = client(&host);

        let err = c
            .blob(&repo, &right, 2999)
            .await
            .err()
            .expect("announced too large");
        assert!(
            matches!(
                err.failure,
                Failure::TooLarge {
                    limit: 2999,
                    declared: Some(3000)
                }
            ),
            "{err}"
        );

        let mut blob = c.blob(&repo, &right, 3000).await.expect("fits");
        let mut read = 0;
        while let Some(chunk) = blob.stream.next().await {
            read += chunk.expect("chunk").len();
        }
        assert_eq!(read, 3000);

        let mut blob = c.blob(&repo, &wrong, 3000).await.expect("starts");
        let mut last = None;
        while let Some(chunk) = blob.stream.next().await {
            last = Some(chunk);
        }
        let err = last.expect("an item").expect_err("digest mismatch");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("has digest"), "{err}");
    }
}
