//! The evidence provenance needs beyond a shared digest: which OCP CI payloads of a minor
//! were read around a time, and every OCP CI image of one component.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::on_pool;

/// An OCP CI release whose payload was read.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OcpPayload {
    /// The OCP CI release.
    pub release: String,
    /// Its stream.
    pub stream: String,
    /// When the release was created (when its payload was bound, if the release is unknown).
    pub created_at: DateTime<Utc>,
    /// The payload's digest.
    pub payload_digest: String,
}

/// One OCP CI payload's image of a component.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OcpImage {
    /// The OCP CI release.
    pub release: String,
    /// Its stream.
    pub stream: String,
    /// The stream's `major.minor`.
    pub minor: Option<String>,
    /// When the release was created (when its payload was bound, if the release is unknown).
    pub created_at: DateTime<Utc>,
    /// The platform of that image.
    pub platform: String,
    /// The component's image digest in that payload, on that platform.
    pub image_digest: String,
}

const OCP_CREATED: &str = "coalesce(r.created_at, rp.bound_at)";

impl Store {
    /// The OCP CI releases of minor `minor` (`4.21`) whose payload was read, created from
    /// `from` to `to`, oldest first.
    pub async fn ocp_payloads_between(
        &self,
        minor: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<OcpPayload>> {
        let sql = format!(
            "select rp.release, rp.stream, {OCP_CREATED} as created_at, rp.payload_digest \
             from release_payloads rp \
             join streams s on s.name = rp.stream and s.variant = 'ocp' and s.minor = $1 \
             left join releases r on r.stream = rp.stream and r.name = rp.release \
             where {OCP_CREATED} >= $2 and {OCP_CREATED} <= $3 \
             order by {OCP_CREATED}, rp.release"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, OcpPayload>(&sql)
                .bind(minor)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    /// How many OCP CI payloads of minor `minor` were read at all.
    pub async fn ocp_payload_count(&self, minor: &str) -> StoreResult<i64> {
        let n = on_pool!(self, p => {
            sqlx::query_scalar(
                "select count(*) from release_payloads rp \
                 join streams s on s.name = rp.stream and s.variant = 'ocp' and s.minor = $1",
            )
            .bind(minor)
            .fetch_one(p)
            .await?
        });
        Ok(n)
    }

    /// The newest release of `stream` whose payload was read, with its creation time.
    pub async fn newest_read_release(
        &self,
        stream: &str,
    ) -> StoreResult<Option<(String, DateTime<Utc>)>> {
        let name = on_pool!(self, p => {
            sqlx::query_as(
                "select r.name, r.created_at from releases r \
                 join release_payloads rp on rp.stream = r.stream and rp.release = r.name \
                 where r.stream = $1 order by r.created_at desc, r.name desc limit 1",
            )
            .bind(stream)
            .fetch_optional(p)
            .await?
        });
        Ok(name)
    }

    /// Every OCP CI payload's image of component `name`, on every platform, oldest first.
    pub async fn ocp_images_of_component(&self, name: &str) -> StoreResult<Vec<OcpImage>> {
        let sql = format!(
            "select rp.release, rp.stream, s.minor, {OCP_CREATED} as created_at, pc.platform, \
             pc.image_digest from payload_component_platforms pc \
             join release_payloads rp on rp.payload_digest = pc.payload_digest \
             join streams s on s.name = rp.stream and s.variant = 'ocp' \
             left join releases r on r.stream = rp.stream and r.name = rp.release \
             where pc.name = $1 order by {OCP_CREATED}, rp.release, pc.platform"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, OcpImage>(&sql).bind(name).fetch_all(p).await?
        });
        Ok(rows)
    }
}
