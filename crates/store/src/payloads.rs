//! Release payloads as read from their registry: the payload, its components, the release
//! each belongs to and reads that failed. Written only by the projection in
//! [`crate::events`]; read by the release page and by [`crate::provenance`] (which OCP CI
//! release first had an image, a component across a stream's releases).

use app::model::{StreamKind, Variant};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, StoreResult, Tx};
use crate::{on_pool, on_tx};
use streamgate_formats::payload::PayloadRead;

/// The body of a `payload.release` event: the payload a release names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadBinding {
    /// The payload digest.
    pub digest: String,
    /// The release's pull spec.
    pub pull_spec: String,
}

/// The body of a `payload.failed` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadFailure {
    /// The pull spec that could not be read.
    pub pull_spec: String,
    /// The release it is the payload of, if known.
    pub stream: Option<String>,
    /// The release name, if known.
    pub release: Option<String>,
    /// What kind of failure it was (`PayloadError::kind` of the reader).
    pub kind: String,
    /// The error, as shown to users.
    pub message: String,
}

/// A stored payload.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Payload {
    /// Manifest (or index) digest.
    pub digest: String,
    /// The pull spec it was first read from.
    pub pull_spec: String,
    /// Media type of the manifest or index.
    pub media_type: String,
    /// Release name from `image-references`.
    pub name: String,
    /// `release-metadata` version, when the payload has the file.
    pub version: Option<String>,
    /// `release-metadata` `previous`, JSON array, when the payload has the file.
    pub previous: Option<String>,
    /// `release-metadata` `metadata`, JSON object.
    pub metadata: String,
    /// Platforms, JSON array of `os/arch[/variant]`.
    pub platforms: String,
    /// Image config labels, JSON object.
    pub labels: String,
    /// When it was read.
    pub read_at: DateTime<Utc>,
    /// The platform whose files and labels were kept (`linux/amd64` when the index has it).
    pub primary_platform: String,
}

impl Payload {
    /// The declared upgrade sources, when the payload has `release-metadata`.
    pub fn previous_versions(&self) -> Option<Vec<String>> {
        self.previous
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
    }
}

/// One component of a stored payload.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayloadComponent {
    /// The payload's digest.
    pub payload_digest: String,
    /// Component name.
    pub name: String,
    /// Pull spec of the component image.
    pub image: String,
    /// The component image's digest.
    pub image_digest: String,
    /// Source repository URL (may be empty).
    pub source_location: String,
    /// Commit (may be empty).
    pub commit_id: String,
    /// Git ref (usually empty).
    pub commit_ref: String,
    /// `key=version[,…]` (may be empty).
    pub versions: String,
}

/// The image one platform of a payload names for a component.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlatformComponent {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Component name.
    pub name: String,
    /// The image digest that platform's `image-references` names.
    pub image_digest: String,
}

/// A payload read that failed, as last recorded for a pull spec.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayloadFailureRow {
    /// The pull spec.
    pub pull_spec: String,
    /// Stream of the release, if known.
    pub stream: Option<String>,
    /// Release name, if known.
    pub release: Option<String>,
    /// Error kind.
    pub kind: String,
    /// Error message.
    pub message: String,
    /// When it was recorded.
    pub failed_at: DateTime<Utc>,
}

/// A payload with its components.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadWithComponents {
    /// The payload.
    pub payload: Payload,
    /// Its components (of the primary platform), by name.
    pub components: Vec<PayloadComponent>,
    /// Every platform's component images, by platform then name (the primary's too).
    pub platforms: Vec<PlatformComponent>,
}

impl PayloadWithComponents {
    /// The platforms the payload has images for, in order.
    pub fn platform_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.platforms.iter().map(|p| p.platform.as_str()).collect();
        names.dedup();
        names
    }
}

const PAYLOAD_COLUMNS: &str = "digest, pull_spec, media_type, name, version, previous, \
     metadata, platforms, labels, read_at, primary_platform";
/// Rows per statement when a payload's platform images are stored.
const PLATFORM_ROWS: usize = 200;
const COMPONENT_COLUMNS: &str = "payload_digest, name, image, image_digest, source_location, \
     commit_id, commit_ref, versions";
const FAILURE_COLUMNS: &str = "pull_spec, stream, release, kind, message, failed_at";

fn json(value: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Tx {
    /// Stores a payload read at `at`, unless its digest is stored already (a digest's
    /// content never changes), and clears an earlier failure of the same pull spec.
    pub async fn insert_payload(&mut self, p: &PayloadRead, at: DateTime<Utc>) -> StoreResult<()> {
        let metadata = p.release_metadata.as_ref();
        let previous = metadata.map(|m| json(&m.previous)).transpose()?;
        let meta = match metadata {
            Some(m) => json(&m.metadata)?,
            None => "{}".to_string(),
        };
        let platforms = json(&p.platforms)?;
        let labels = json(&p.labels)?;
        let inserted = on_tx!(self, c => {
            sqlx::query(
                "insert into payloads (digest, pull_spec, media_type, name, version, previous, \
                 metadata, platforms, labels, read_at, primary_platform) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 on conflict (digest) do nothing",
            )
            .bind(&p.digest)
            .bind(&p.pull_spec)
            .bind(&p.media_type)
            .bind(&p.name)
            .bind(metadata.map(|m| m.version.as_str()))
            .bind(&previous)
            .bind(&meta)
            .bind(&platforms)
            .bind(&labels)
            .bind(at)
            .bind(p.primary_platform())
            .execute(c)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            self.insert_platform_components(&p.digest, &p.platform_components())
                .await?;
            for comp in &p.components {
                on_tx!(self, c => {
                    sqlx::query(
                        "insert into payload_components (payload_digest, name, image, \
                         image_digest, source_location, commit_id, commit_ref, versions) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&p.digest)
                    .bind(&comp.name)
                    .bind(&comp.image)
                    .bind(&comp.image_digest)
                    .bind(&comp.source_location)
                    .bind(&comp.commit_id)
                    .bind(&comp.commit_ref)
                    .bind(&comp.versions)
                    .execute(c)
                    .await?
                    .rows_affected()
                });
            }
        }
        on_tx!(self, c => {
            sqlx::query("delete from payload_failures where pull_spec = $1")
                .bind(&p.pull_spec)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Stores `(platform, component, image digest)` rows of payload `digest`, a few hundred
    /// per statement.
    async fn insert_platform_components(
        &mut self,
        digest: &str,
        rows: &[(&str, &str, &str)],
    ) -> StoreResult<()> {
        for chunk in rows.chunks(PLATFORM_ROWS) {
            let sql = format!(
                "insert into payload_component_platforms (payload_digest, platform, name, \
                 image_digest) values {}",
                crate::values_rows(chunk.len(), 1, 3)
            );
            on_tx!(self, c => {
                let mut q = sqlx::query(&sql).bind(digest);
                for (platform, name, image) in chunk {
                    q = q.bind(*platform).bind(*name).bind(*image);
                }
                q.execute(c).await?.rows_affected()
            });
        }
        Ok(())
    }

    /// Records that release `stream/release` has the stored payload `digest`.
    pub async fn bind_release_payload(
        &mut self,
        stream: &str,
        release: &str,
        digest: &str,
        pull_spec: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let known: Option<String> = on_tx!(self, c => {
            sqlx::query_scalar("select digest from payloads where digest = $1")
                .bind(digest)
                .fetch_optional(c)
                .await?
        });
        if known.is_none() {
            return Err(StoreError::NotFound(format!("payload {digest}")));
        }
        on_tx!(self, c => {
            sqlx::query(
                "insert into release_payloads (stream, release, payload_digest, pull_spec, bound_at) \
                 values ($1, $2, $3, $4, $5) \
                 on conflict (stream, release) do update set payload_digest = excluded.payload_digest, \
                 pull_spec = excluded.pull_spec, bound_at = excluded.bound_at",
            )
            .bind(stream)
            .bind(release)
            .bind(digest)
            .bind(pull_spec)
            .bind(at)
            .execute(c)
            .await?
            .rows_affected()
        });
        on_tx!(self, c => {
            sqlx::query("delete from payload_failures where pull_spec = $1")
                .bind(pull_spec)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Records a failed read of a pull spec, replacing the earlier failure of that spec.
    pub async fn record_payload_failure(
        &mut self,
        f: &PayloadFailure,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_tx!(self, c => {
            sqlx::query(
                "insert into payload_failures (pull_spec, stream, release, kind, message, failed_at) \
                 values ($1, $2, $3, $4, $5, $6) \
                 on conflict (pull_spec) do update set stream = excluded.stream, \
                 release = excluded.release, kind = excluded.kind, message = excluded.message, \
                 failed_at = excluded.failed_at",
            )
            .bind(&f.pull_spec)
            .bind(&f.stream)
            .bind(&f.release)
            .bind(&f.kind)
            .bind(&f.message)
            .bind(at)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}

impl Store {
    /// Whether the payload `digest` is stored.
    pub async fn has_payload(&self, digest: &str) -> StoreResult<bool> {
        let n: i64 = on_pool!(self, p => {
            sqlx::query_scalar("select count(*) from payloads where digest = $1")
                .bind(digest)
                .fetch_one(p)
                .await?
        });
        Ok(n > 0)
    }

    /// The payload digest recorded for release `stream/release`, if its payload was read.
    pub async fn release_payload_digest(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Option<String>> {
        let digest = on_pool!(self, p => {
            sqlx::query_scalar(
                "select payload_digest from release_payloads where stream = $1 and release = $2",
            )
            .bind(stream)
            .bind(release)
            .fetch_optional(p)
            .await?
        });
        Ok(digest)
    }

    /// The stored payload `digest` with its components.
    pub async fn payload(&self, digest: &str) -> StoreResult<Option<PayloadWithComponents>> {
        let payload = on_pool!(self, p => {
            sqlx::query_as::<_, Payload>(&format!(
                "select {PAYLOAD_COLUMNS} from payloads where digest = $1"
            ))
            .bind(digest)
            .fetch_optional(p)
            .await?
        });
        let Some(payload) = payload else {
            return Ok(None);
        };
        let components = on_pool!(self, p => {
            sqlx::query_as::<_, PayloadComponent>(&format!(
                "select {COMPONENT_COLUMNS} from payload_components where payload_digest = $1 \
                 order by name"
            ))
            .bind(digest)
            .fetch_all(p)
            .await?
        });
        let platforms = on_pool!(self, p => {
            sqlx::query_as::<_, PlatformComponent>(
                "select platform, name, image_digest from payload_component_platforms \
                 where payload_digest = $1 order by platform, name",
            )
            .bind(digest)
            .fetch_all(p)
            .await?
        });
        Ok(Some(PayloadWithComponents {
            payload,
            components,
            platforms,
        }))
    }

    /// The payload of release `stream/release`, with its components, if it was read.
    pub async fn release_payload(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Option<PayloadWithComponents>> {
        match self.release_payload_digest(stream, release).await? {
            Some(digest) => self.payload(&digest).await,
            None => Ok(None),
        }
    }

    /// The declared upgrade sources (`release-metadata` `previous`) of release
    /// `stream/release`, when its payload was read and has `release-metadata`.
    pub async fn declared_previous(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Option<Vec<String>>> {
        let previous: Option<Option<String>> = on_pool!(self, p => {
            sqlx::query_scalar(
                "select payloads.previous from release_payloads \
                 join payloads on payloads.digest = release_payloads.payload_digest \
                 where release_payloads.stream = $1 and release_payloads.release = $2",
            )
            .bind(stream)
            .bind(release)
            .fetch_optional(p)
            .await?
        });
        previous
            .flatten()
            .map(|p| serde_json::from_str(&p).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// The last failed payload read of release `stream/release`, if its payload could not
    /// be read.
    pub async fn release_payload_failure(
        &self,
        stream: &str,
        release: &str,
    ) -> StoreResult<Option<PayloadFailureRow>> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PayloadFailureRow>(&format!(
                "select {FAILURE_COLUMNS} from payload_failures \
                 where stream = $1 and release = $2 order by failed_at desc limit 1"
            ))
            .bind(stream)
            .bind(release)
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }

    /// The failure recorded for `pull_spec`, if its last read failed.
    pub async fn payload_failure(&self, pull_spec: &str) -> StoreResult<Option<PayloadFailureRow>> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PayloadFailureRow>(&format!(
                "select {FAILURE_COLUMNS} from payload_failures where pull_spec = $1"
            ))
            .bind(pull_spec)
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }

    /// Every payload row, component, binding and failure, in a stable order, for tests
    /// proving that a replay rebuilds identical rows.
    pub async fn payload_dump(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let payloads = on_pool!(self, p => {
            sqlx::query_as::<_, Payload>(&format!(
                "select {PAYLOAD_COLUMNS} from payloads order by digest"
            ))
            .fetch_all(p)
            .await?
        });
        out.extend(payloads.iter().map(|r| format!("{r:?}")));
        let components = on_pool!(self, p => {
            sqlx::query_as::<_, PayloadComponent>(&format!(
                "select {COMPONENT_COLUMNS} from payload_components order by payload_digest, name"
            ))
            .fetch_all(p)
            .await?
        });
        out.extend(components.iter().map(|r| format!("{r:?}")));
        let platforms: Vec<(String, String, String, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "select payload_digest, platform, name, image_digest \
                 from payload_component_platforms order by payload_digest, platform, name",
            )
            .fetch_all(p)
            .await?
        });
        out.extend(platforms.iter().map(|r| format!("{r:?}")));
        let bindings: Vec<(String, String, String, String, DateTime<Utc>)> = on_pool!(self, p => {
            sqlx::query_as(
                "select stream, release, payload_digest, pull_spec, bound_at from release_payloads \
                 order by stream, release",
            )
            .fetch_all(p)
            .await?
        });
        out.extend(bindings.iter().map(|r| format!("{r:?}")));
        let failures = on_pool!(self, p => {
            sqlx::query_as::<_, PayloadFailureRow>(&format!(
                "select {FAILURE_COLUMNS} from payload_failures order by pull_spec"
            ))
            .fetch_all(p)
            .await?
        });
        out.extend(failures.iter().map(|r| format!("{r:?}")));
        Ok(out)
    }
}

/// One sighting of a component image in a payload bound to an OCP CI release.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OcpSighting {
    /// The component image's digest.
    pub image_digest: String,
    /// The OCP CI stream.
    pub stream: String,
    /// The OCP CI release.
    pub release: String,
    /// When the release was created (when its payload was bound, if the release is unknown).
    pub created_at: DateTime<Utc>,
}

/// One release of a stream carrying a component, as its history lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ComponentSighting {
    /// The release.
    pub release: String,
    /// When the release was created.
    pub created_at: DateTime<Utc>,
    /// The payload's primary platform, which the component's row describes.
    pub platform: String,
    /// The component as that release's payload has it.
    #[sqlx(flatten)]
    pub component: PayloadComponent,
}

/// A stream carrying a component in at least one read payload.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ComponentStream {
    /// Stream name.
    pub name: String,
    /// Stream variant (`okd-scos`, `okd-fcos`, `ocp`).
    #[sqlx(try_from = "String")]
    pub variant: Variant,
    /// Stream kind (`ci`, `nightly`, `stable`, `next`).
    #[sqlx(try_from = "String")]
    pub kind: StreamKind,
    /// When its newest release carrying the component was created.
    pub newest: DateTime<Utc>,
}

/// The earliest OCP CI release (by creation, else by when its payload was bound) having
/// each image of the components chosen by `components` (a condition on
/// `payload_component_platforms`, so every platform's images count): one row per image,
/// however many OCP CI releases share it.
///
/// The dialects differ in how the images are picked: PostgreSQL, without fresh statistics,
/// turns `in (…)` into a probe of the image index per component row of every OCP CI payload,
/// so it gets a materialized CTE; SQLite plans `in (…)` well and the CTE slows it down.
fn first_ocp_sightings(store: &Store, components: &str) -> String {
    let (with, images, filter) = match store {
        Store::Postgres(_) => (
            format!(
                "with images as materialized \
                 (select distinct image_digest from payload_component_platforms where {components}) "
            ),
            "join images on images.image_digest = pc.image_digest ".to_string(),
            String::new(),
        ),
        Store::Sqlite(_) => (
            String::new(),
            String::new(),
            format!(
                "where pc.image_digest in \
                 (select image_digest from payload_component_platforms where {components}) "
            ),
        ),
    };
    format!(
        "{with}select image_digest, stream, release, created_at from ( \
         select pc.image_digest, rp.stream, rp.release, \
         coalesce(r.created_at, rp.bound_at) as created_at, \
         row_number() over (partition by pc.image_digest \
         order by coalesce(r.created_at, rp.bound_at), rp.release) as n \
         from payload_component_platforms pc {images}\
         join release_payloads rp on rp.payload_digest = pc.payload_digest \
         join streams s on s.name = rp.stream and s.variant = 'ocp' \
         left join releases r on r.stream = rp.stream and r.name = rp.release \
         {filter}) firsts where n = 1 order by image_digest"
    )
}

impl Store {
    /// The earliest OCP CI release having each image of payload `digest`.
    pub async fn ocp_sightings_of_payload(&self, digest: &str) -> StoreResult<Vec<OcpSighting>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, OcpSighting>(&first_ocp_sightings(self, "payload_digest = $1"))
            .bind(digest)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The earliest OCP CI release having each image that any payload names component
    /// `name`.
    pub async fn ocp_sightings_of_component(&self, name: &str) -> StoreResult<Vec<OcpSighting>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, OcpSighting>(&first_ocp_sightings(self, "name = $1"))
            .bind(name)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The streams with a read payload carrying component `name`, newest sighting first.
    pub async fn streams_with_component(&self, name: &str) -> StoreResult<Vec<ComponentStream>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ComponentStream>(
                "select s.name, s.variant, s.kind, max(r.created_at) as newest from streams s \
                 join releases r on r.stream = s.name \
                 join release_payloads rp on rp.stream = r.stream and rp.release = r.name \
                 join payload_components pc on pc.payload_digest = rp.payload_digest \
                 where pc.name = $1 group by s.name, s.variant, s.kind \
                 order by newest desc, s.name",
            )
            .bind(name)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Component `name` in every release of `stream` whose payload was read, oldest first.
    pub async fn component_in_stream(
        &self,
        stream: &str,
        name: &str,
    ) -> StoreResult<Vec<ComponentSighting>> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ComponentSighting>(
                "select r.name as release, r.created_at, p.primary_platform as platform, \
                 pc.payload_digest, pc.name, pc.image, \
                 pc.image_digest, pc.source_location, pc.commit_id, pc.commit_ref, pc.versions \
                 from releases r \
                 join release_payloads rp on rp.stream = r.stream and rp.release = r.name \
                 join payloads p on p.digest = rp.payload_digest \
                 join payload_components pc on pc.payload_digest = rp.payload_digest \
                 where r.stream = $1 and pc.name = $2 order by r.created_at, r.name",
            )
            .bind(stream)
            .bind(name)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }
}
