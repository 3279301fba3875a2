//! A real registry for the OCI tests: Debian's `docker-registry` (CNCF distribution 2.8) on
//! 127.0.0.1 with a temporary storage directory and an ephemeral port, killed on drop; and
//! helpers that build images in Rust and push them with `oci-client`, byte-exact.
//!

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI config media type.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip layer media type.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker schema 2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker config media type.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker gzip layer media type.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// User of the registries started with [`Registry::start_with_basic_auth`].
pub const USER: &str = "streamgate";
/// Password of [`USER`].
pub const PASSWORD: &str = "s3cret-pass";
/// `htpasswd` line of [`USER`] (bcrypt at the lowest cost: the registry checks it on
/// every request).
const HTPASSWD: &str = "streamgate:$2b$04$S8MpsmuEoLqWg0MLfh1gDuAgVLPxZBmISt7Z5TbnKTs/xHsKc5V8u";

/// A running `docker-registry`.
pub struct Registry {
    child: Option<Child>,
    host: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts an anonymous registry and waits until `GET /v2/` answers.
    pub async fn start() -> Registry {
        Registry::start_with(false, None).await
    }

    /// Starts a registry that wants HTTP Basic credentials ([`USER`], [`PASSWORD`]).
    pub async fn start_with_basic_auth() -> Registry {
        Registry::start_with(true, None).await
    }

    /// Starts an anonymous registry that posts its notifications to `url` with
    /// `Authorization: Bearer <secret>`, retrying every 200 ms until answered.
    pub async fn start_notifying(url: &str, secret: &str) -> Registry {
        Registry::start_with(false, Some((url, secret))).await
    }

    async fn start_with(basic_auth: bool, notify: Option<(&str, &str)>) -> Registry {
        // the registry writes many small files: in memory when the machine has a tmpfs
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        let auth = if basic_auth {
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{HTPASSWD}\n")).expect("htpasswd written");
            format!(
                "auth:\n  htpasswd:\n    realm: streamgate-test\n    path: {}\n",
                htpasswd.display()
            )
        } else {
            String::new()
        };
        let notifications = match notify {
            Some((url, secret)) => format!(
                "notifications:\n  events:\n    includereferences: true\n  endpoints:\n\
                 \x20   - name: streamgate\n      url: {url}\n      headers:\n\
                 \x20       Authorization: [Bearer {secret}]\n      timeout: 2s\n\
                 \x20     threshold: 5\n      backoff: 200ms\n"
            ),
            None => String::new(),
        };
        std::fs::write(
            &config,
            format!(
                "version: 0.1\n\
                 log:\n  level: info\n  formatter: text\n\
                 storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
                 \x20 maintenance:\n    uploadpurging:\n      enabled: false\n\
                 http:\n  addr: {host}\n  secret: streamgate-test\n{auth}{notifications}",
                root = dir.path().join("data").display()
            ),
        )
        .expect("config written");
        let log = dir.path().join("registry.log");
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("docker-registry runs (apt-get install docker-registry)");
        let registry = Registry {
            child: Some(child),
            host,
            log,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready = http
                .get(format!("http://{}/v2/", registry.host))
                .send()
                .await
                .is_ok_and(|r| {
                    r.status().is_success() || r.status() == reqwest::StatusCode::UNAUTHORIZED
                });
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "registry not ready: {}",
                registry.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        registry
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Manifest and blob requests served so far (`HEAD` and `GET` alike).
    pub fn content_requests(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("response completed"))
            .filter(|l| l.contains("/manifests/") || l.contains("/blobs/"))
            .count()
    }

    /// Kills the registry now.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A deterministic gzip-compressed tar of `files` (path, content).
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    {
        let mut builder = tar::Builder::new(&mut gz);
        for (path, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            builder
                .append_data(&mut header, path, *body)
                .expect("append");
        }
        builder.finish().expect("tar finished");
    }
    gz.flush().expect("flush");
    gz.finish().expect("gzip finished")
}

/// A layer about to be pushed.
pub struct Layer {
    /// Media type written in the manifest.
    pub media_type: String,
    /// The blob.
    pub bytes: Vec<u8>,
}

impl Layer {
    /// An OCI gzip layer of `files`.
    pub fn oci(files: &[(&str, &[u8])]) -> Layer {
        Layer {
            media_type: OCI_LAYER_GZIP.into(),
            bytes: tar_gz(files),
        }
    }
}

/// A descriptor of something pushed.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Its digest.
    pub digest: String,
    /// Its size.
    pub size: usize,
    /// Its media type.
    pub media_type: String,
}

/// Pushes blobs and manifests to one registry, manifests byte-exact.
pub struct Pusher {
    client: Client,
    host: String,
}

impl Pusher {
    /// A pusher for the registry at `host` (plain HTTP, anonymous).
    pub async fn new(host: &str) -> Pusher {
        Pusher::with_auth(host, RegistryAuth::Anonymous).await
    }

    /// A pusher for the registry at `host` (plain HTTP) with `auth`.
    pub async fn with_auth(host: &str, auth: RegistryAuth) -> Pusher {
        let client = Client::new(ClientConfig {
            protocol: ClientProtocol::Http,
            use_monolithic_push: true,
            ..ClientConfig::default()
        });
        client.store_auth_if_needed(host, &auth).await;
        Pusher {
            client,
            host: host.to_string(),
        }
    }

    fn reference(&self, repo: &str, tag: Option<&str>, digest: &str) -> Reference {
        match tag {
            Some(tag) => Reference::with_tag(self.host.clone(), repo.into(), tag.into()),
            None => Reference::with_digest(self.host.clone(), repo.into(), digest.into()),
        }
    }

    /// Pushes one blob.
    pub async fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let reference = self.reference(repo, Some("blob"), &digest);
        self.client
            .push_blob(&reference, bytes.to_vec(), &digest)
            .await
            .expect("blob pushed");
        digest
    }

    /// Pushes a manifest body as is, by tag or (without one) by digest.
    pub async fn manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        media_type: &str,
        body: &serde_json::Value,
    ) -> Pushed {
        let bytes = serde_json::to_vec_pretty(body).expect("json");
        let digest = sha256(&bytes);
        let reference = self.reference(repo, tag, &digest);
        self.client
            .push_manifest_raw(
                &reference,
                bytes.clone(),
                media_type.parse().expect("header"),
            )
            .await
            .expect("manifest pushed");
        Pushed {
            digest,
            size: bytes.len(),
            media_type: media_type.into(),
        }
    }

    /// Pushes an image: its config, layers and manifest (OCI, or Docker schema 2 when
    /// `docker`).
    pub async fn image(
        &self,
        repo: &str,
        tag: Option<&str>,
        config: &serde_json::Value,
        layers: &[Layer],
        docker: bool,
    ) -> Pushed {
        let config_bytes = serde_json::to_vec(config).expect("json");
        let config_digest = self.blob(repo, &config_bytes).await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = self.blob(repo, &layer.bytes).await;
            descriptors.push(serde_json::json!({
                "mediaType": layer.media_type, "digest": digest, "size": layer.bytes.len()
            }));
        }
        let (manifest_type, config_type) = if docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG)
        } else {
            (OCI_MANIFEST, OCI_CONFIG)
        };
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": config_digest, "size": config_bytes.len()},
            "layers": descriptors,
        });
        self.manifest(repo, tag, manifest_type, &body).await
    }

    /// Pushes an OCI index of `entries` (image, os, architecture, variant).
    pub async fn index(
        &self,
        repo: &str,
        tag: Option<&str>,
        entries: &[(&Pushed, &str, &str, Option<&str>)],
    ) -> Pushed {
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(p, os, arch, variant)| {
                let mut platform = serde_json::json!({"os": os, "architecture": arch});
                if let Some(v) = variant {
                    platform["variant"] = serde_json::json!(v);
                }
                serde_json::json!({"mediaType": p.media_type, "digest": p.digest,
                    "size": p.size, "platform": platform})
            })
            .collect();
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests,
        });
        self.manifest(repo, tag, OCI_INDEX, &body).await
    }
}
