//! A confirmed plan becomes a promotion job: the plan is made again, checked against what was
//! shown, against the user's permissions, the gates and the signature, and recorded as a
//! `promotion.requested` event whose id is the job's.

use app::model::promotion::{PromotionPlan, SignatureStatus};
use app::viewer::Viewer;
use chrono::{DateTime, Utc};
use rand::RngCore;

use super::plan::Planner;
use super::PromoteError;
use crate::events::{self, PROMOTION_REQUESTED};
use crate::store::events::NewEvent;
use crate::store::promotions::NewPromotion;

/// Longest override reason accepted.
const MAX_REASON: usize = 2000;

/// What a maintainer asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
pub struct PromotionRequest {
    /// Target stream, e.g. `4-scos-next`.
    pub target: String,
    /// The CI stream of the release.
    pub stream: String,
    /// The CI release.
    pub release: String,
    /// For an admin promoting a release whose blocking gates have not all succeeded: why.
    #[serde(default)]
    pub override_reason: Option<String>,
    /// The name the reviewed plan showed; refused when the plan now names another.
    #[serde(default)]
    pub expected_name: Option<String>,
}

/// Whether `viewer` may promote by `plan` with `reason`; the refusal says why.
pub fn check(
    viewer: &Viewer,
    plan: &PromotionPlan,
    reason: Option<&str>,
) -> Result<(), PromoteError> {
    if !viewer.may_promote(&plan.target.name) {
        return Err(PromoteError::Forbidden(format!(
            "{} may not promote to {}",
            viewer.name, plan.target.name
        )));
    }
    if let SignatureStatus::Invalid { reason } = &plan.signature {
        return Err(PromoteError::Signature(reason.clone()));
    }
    if plan.images.is_empty() {
        return Err(PromoteError::Invalid(format!(
            "the payload of {} lists no images",
            plan.release
        )));
    }
    if !plan.gates.passed() {
        let failing = plan
            .gates
            .not_succeeded
            .iter()
            .map(|(name, state)| format!("{name}: {state}"))
            .collect::<Vec<_>>()
            .join(", ");
        match reason {
            None => return Err(PromoteError::GatesNotPassed(failing)),
            Some(_) if !viewer.is_admin() => {
                return Err(PromoteError::Forbidden(format!(
                    "only an admin may override failed gates ({failing})"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Plans again, checks, and records the job. Returns its id and the plan it runs by.
pub async fn request(
    planner: &Planner,
    viewer: &Viewer,
    req: &PromotionRequest,
    now: DateTime<Utc>,
) -> Result<(i64, PromotionPlan), PromoteError> {
    let reason = req
        .override_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.len() > MAX_REASON) {
        return Err(PromoteError::Invalid(format!(
            "the override reason is longer than {MAX_REASON} bytes"
        )));
    }
    if !viewer.may_promote(&req.target) {
        return Err(PromoteError::Forbidden(format!(
            "{} may not promote to {}",
            viewer.name, req.target
        )));
    }
    let plan = planner
        .plan(&req.target, &req.stream, &req.release, now)
        .await?;
    if let Some(expected) = req.expected_name.as_deref().filter(|n| !n.is_empty()) {
        if expected != plan.name {
            return Err(PromoteError::PlanChanged(format!(
                "the release would now be named {}, not {expected}",
                plan.name
            )));
        }
    }
    // the reason only counts when the gates need overriding
    let reason = reason.filter(|_| !plan.gates.passed());
    check(viewer, &plan, reason)?;
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let job = NewPromotion {
        plan: plan.clone(),
        requested_by: viewer.name.clone(),
        override_reason: reason.map(str::to_string),
    };
    let payload = serde_json::to_string(&job).map_err(|e| PromoteError::Invalid(e.to_string()))?;
    let id = events::ingest(
        planner.store(),
        NewEvent {
            source: "streamgate".to_string(),
            kind: PROMOTION_REQUESTED.to_string(),
            subject: plan.target.name.clone(),
            payload,
            received_at: now,
            external_id: Some(hex::encode(nonce)),
        },
    )
    .await
    .map_err(|e| match e {
        events::EventError::Store(s) => PromoteError::Store(s),
        other => PromoteError::Events(other),
    })?
    .ok_or_else(|| PromoteError::Invalid("the same request was already recorded".into()))?;
    tracing::info!(
        promotion = id,
        target = %plan.target.name,
        release = %plan.release,
        name = %plan.name,
        by = %viewer.name,
        overridden = reason.is_some(),
        "promotion requested"
    );
    Ok((id, plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::promotion::{GateSummary, PlannedImage, PromotionTarget};
    use app::viewer::{Role, SignedInWith};

    fn viewer(role: Role, targets: Option<Vec<String>>) -> Viewer {
        Viewer {
            name: "ada".into(),
            role: Some(role),
            targets,
            csrf: String::new(),
            with: SignedInWith::Token,
        }
    }

    fn plan(failing: &[(&str, &str)], signature: SignatureStatus) -> PromotionPlan {
        PromotionPlan {
            target: PromotionTarget {
                name: "4-scos-next".into(),
                source_stream: "4.21.0-0.okd-scos".into(),
                content_repo: "r/c".into(),
                release_repo: "r/r".into(),
                name_template: "{version}-okd-scos.ec.{n}".into(),
                has_webhook: false,
                webhook_masked: None,
                publishing: Default::default(),
                pipeline_url: None,
            },
            stream: "4.21.0-0.okd-scos".into(),
            release: "4.21.0-0.okd-scos-2025-11-20-010203".into(),
            pull_spec: "r/p:x".into(),
            payload_digest: "sha256:00".into(),
            name: "4.21.0-okd-scos.ec.0".into(),
            destination: "r/r:4.21.0-okd-scos.ec.0".into(),
            previous: vec![],
            images: vec![PlannedImage {
                name: "cli".into(),
                source: "r/s@sha256:01".into(),
                destination: "r/c@sha256:01".into(),
                blobs: 2,
                bytes: 10,
            }],
            blobs: 2,
            bytes: 10,
            blobs_present: 0,
            bytes_present: 0,
            gates: GateSummary {
                blocking: 2,
                succeeded: 2 - failing.len() as u32,
                not_succeeded: failing
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            },
            signature,
            planned_at: Utc::now(),
        }
    }

    #[test]
    fn a_plan_declaring_more_than_three_versions_warns_of_the_sample() {
        let mut p = plan(&[], SignatureStatus::Unchecked);
        p.previous = [
            "4.20.0-okd-scos.9",
            "4.21.0-okd-scos.0",
            "4.21.0-okd-scos.1",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(p.sampling_warning(), None, "three are all tested");
        p.previous.push("4.21.0-okd-scos.2".into());
        let warning = p.sampling_warning().expect("a warning");
        assert!(
            warning.contains("random sample of 3 of these 4 versions; any 1 of 4.20.0-okd-scos.9,"),
            "{warning}"
        );
    }

    #[test]
    fn gates_block_maintainers_and_admins_override_with_a_reason() {
        let maintainer = viewer(Role::Maintainer, None);
        let admin = viewer(Role::Admin, None);
        let failing = plan(&[("aws", "Failed")], SignatureStatus::Unchecked);
        let err = check(&maintainer, &failing, None).unwrap_err();
        assert!(err.to_string().contains("aws: Failed"), "{err}");
        assert!(matches!(
            check(&maintainer, &failing, Some("known flake")),
            Err(PromoteError::Forbidden(_))
        ));
        assert!(matches!(
            check(&admin, &failing, None),
            Err(PromoteError::GatesNotPassed(_))
        ));
        check(&admin, &failing, Some("known flake")).unwrap();
        check(&maintainer, &plan(&[], SignatureStatus::Unchecked), None).unwrap();
    }

    #[test]
    fn targets_and_signatures_are_enforced() {
        let limited = viewer(Role::Maintainer, Some(vec!["4-scos-stable".into()]));
        let err = check(&limited, &plan(&[], SignatureStatus::Unchecked), None).unwrap_err();
        assert_eq!(err.to_string(), "ada may not promote to 4-scos-next");
        let tampered = plan(
            &[],
            SignatureStatus::Invalid {
                reason: "bad signature".into(),
            },
        );
        let admin = viewer(Role::Admin, None);
        assert!(matches!(
            check(&admin, &tampered, Some("override")),
            Err(PromoteError::Signature(_))
        ));
    }
}
