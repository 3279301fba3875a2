//! Promotion pages: `/promote/{tag}` (the plan, and the confirm form for maintainers),
//! `/promotions` (every promotion: who, when, what, from and to, how long, result),
//! `/promotions/{id}` (one job with live progress and its release notes), `/admin/targets`
//! (where releases may be promoted), and the release page's promotion panel. Every form is
//! plain HTML posting to the server, so all of it works without JavaScript.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::error::AppError;
use crate::live::{Follows, LiveScope};
use crate::model::promotion::{
    NewWebhook, Promotion, PromotionPage, PromotionPanel, PromotionPlan, PromotionProgress,
    PromotionState, PromotionTarget, PublishStep, PublishStepResult, ReleaseSignature,
    SignatureStatus, SigningStatus, TargetPublishing,
};
use crate::model::Phase;
use crate::viewer::{get_viewer, Viewer};
use crate::widgets::{release_href, span, utc, Age, ErrorView};

/// `1.5 MB`-style sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A promotion state as a badge.
#[component]
pub fn StateBadge(state: PromotionState) -> impl IntoView {
    view! { <span class=format!("promotion-state {}", state.as_str())>{state.as_str()}</span> }
}

/// A promoted release's signature status: signed by which key (with a link to the signature
/// in this server's signature store), unsigned, or why signing failed; a dash before the
/// promotion has published and checked its release.
#[component]
pub fn SignatureBadge(signature: Option<ReleaseSignature>) -> impl IntoView {
    match signature {
        None => view! { <span class="release-signature none">"—"</span> }.into_any(),
        Some(s) => {
            let href = s.href();
            let class = format!("release-signature {}", s.status.as_str());
            let text = match &s.status {
                SigningStatus::Signed { key, .. } => format!("signed by key {key}"),
                SigningStatus::Unsigned => "unsigned".to_string(),
                SigningStatus::Failed { reason } => format!("signing failed: {reason}"),
            };
            view! {
                <span class=class title=s.summary()>
                    {text}
                    {href.map(|href| view! { " (" <a href=href>"signature"</a> ")" })}
                </span>
            }
            .into_any()
        }
    }
}

/// The release page's promotion panel; `phase` decides what visitors are told about
/// promoting the release.
#[component]
pub fn PromotionPanelView(
    stream: String,
    release: String,
    phase: Phase,
    blocking_failed: bool,
) -> impl IntoView {
    let (s, r) = (stream.clone(), release.clone());
    let panel = Resource::new(
        move || (s.clone(), r.clone()),
        |(s, r)| api::get_promotion_panel(s, r),
    );
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (stream, release) = (stream.clone(), release.clone());
                Suspend::new(async move {
                    let viewer = viewer.await.ok().flatten();
                    match panel.await {
                        Ok(panel) => view! { <PanelBody panel viewer stream release phase blocking_failed /> }.into_any(),
                        Err(_) => ().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn PanelBody(
    panel: PromotionPanel,
    viewer: Option<Viewer>,
    stream: String,
    release: String,
    phase: Phase,
    blocking_failed: bool,
) -> impl IntoView {
    let promotable: Vec<PromotionTarget> = panel
        .targets
        .iter()
        .filter(|t| viewer.as_ref().is_some_and(|v| v.may_promote(&t.name)))
        .cloned()
        .collect();
    let show =
        !panel.targets.is_empty() || !panel.history.is_empty() || panel.promoted_from.is_some();
    show.then(|| {
        view! {
            <section aria-labelledby="promotion-h" class="promotion-panel">
                <h2 id="promotion-h">"Promotion"</h2>
                {panel.promoted_from.clone().map(|(s, r, id)| view! {
                    <p class="promoted-from">
                        "Promoted by Streamgate from "
                        <a href=release_href(&s, &r)>{r.clone()}</a>
                        " ("
                        <a href=format!("/promotions/{id}")>{format!("promotion #{id}")}</a>
                        ", "
                        <a href=format!("/api/v1/promotions/{id}/notes.md")>"release notes"</a>
                        ")."
                    </p>
                })}
                {panel.github_release.as_deref().and_then(crate::model::safe_url).map(|url| view! {
                    <p class="github-release">
                        "Published on GitHub: "
                        <a href=url.to_string() rel="noopener noreferrer">{url.to_string()}</a>
                    </p>
                })}
                {panel.promoted_from.is_some().then(|| view! {
                    <p class="promoted-signature">
                        "Release signature: "
                        <SignatureBadge signature=panel.promoted_signature.clone() />
                    </p>
                })}
                {(!promotable.is_empty()).then(|| view! {
                    <ul class="promote-targets">
                        {promotable.into_iter().map(|t| view! {
                            <li>
                                <a
                                    class="button"
                                    href=format!(
                                        "/promote/{}?stream={}&target={}",
                                        release, stream, t.name
                                    )
                                >
                                    {format!("Review promotion to {}", t.name)}
                                </a>
                            </li>
                        }).collect_view()}
                    </ul>
                })}
                {(viewer.is_none() && !panel.targets.is_empty()).then(|| {
                    let targets = panel.targets.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ");
                    match promotion_outlook(phase, blocking_failed) {
                        None => view! {
                            <p class="hint">
                                {format!("Maintainers can promote this release to {targets}. ")}
                                <a href=format!("/sign-in?next=/releases/{release}%3Fstream%3D{stream}")>"Sign in"</a>
                            </p>
                        }.into_any(),
                        Some(why_not) => view! {
                            <p class="hint not-promotable">{format!("Not promoted to {targets}: {why_not}")}</p>
                        }.into_any(),
                    }
                })}
                {(!panel.history.is_empty()).then(|| view! {
                    <PromotionTable promotions=panel.history.clone() now=None />
                })}
            </section>
        }
    })
}

/// Why a release in `phase` (with a failed blocking job or not) is not offered for
/// promotion, or `None` when it is.
pub fn promotion_outlook(phase: Phase, blocking_failed: bool) -> Option<&'static str> {
    match phase {
        Phase::Failed => {
            Some("the release payload could not be built, so there is nothing to promote.")
        }
        Phase::Rejected => Some(
            "a blocking job failed, so the release was rejected; only an admin can override \
             that, giving a reason.",
        ),
        _ if blocking_failed => {
            Some("a blocking job failed; only an admin can override that, giving a reason.")
        }
        Phase::Accepted => None,
        Phase::Pending | Phase::Ready => Some(
            "its blocking jobs have not all passed yet; it can be promoted once it is accepted.",
        ),
        Phase::Published => Some(
            "it is a release a promotion published; promote the CI release it came from instead.",
        ),
        Phase::Unknown => Some("its phase is not known yet; the next poll reads it."),
    }
}

/// A table of promotions.
#[component]
pub fn PromotionTable(
    promotions: Vec<Promotion>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> impl IntoView {
    view! {
        <table class="promotions">
            <thead>
                <tr>
                    <th scope="col">"#"</th>
                    <th scope="col">"Release"</th>
                    <th scope="col">"Target"</th>
                    <th scope="col">"By"</th>
                    <th scope="col">"Requested"</th>
                    <th scope="col">"Took"</th>
                    <th scope="col">"Result"</th>
                    <th scope="col">"Signature"</th>
                </tr>
            </thead>
            <tbody>
                {promotions.into_iter().map(|p| {
                    let took = p.duration(now.unwrap_or(p.requested_at)).map(|d| span(d.num_seconds().max(0))).unwrap_or_default();
                    view! {
                        <tr>
                            <td><a href=format!("/promotions/{}", p.id)>{format!("#{}", p.id)}</a></td>
                            <td>
                                <a href=release_href(&p.source_stream, &p.source_release)>{p.source_release.clone()}</a>
                                " → "
                                {if p.state == PromotionState::Succeeded {
                                    view! { <a href=release_href(&p.target, &p.name)>{p.name.clone()}</a> }.into_any()
                                } else {
                                    view! { <span>{p.name.clone()}</span> }.into_any()
                                }}
                            </td>
                            <td>{p.target.clone()}</td>
                            <td>{p.requested_by.clone()}</td>
                            <td>{utc(p.requested_at)}</td>
                            <td>{took}</td>
                            <td><StateBadge state=p.state /></td>
                            <td><SignatureBadge signature=p.signature.clone() /></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/promotions`.
#[component]
pub fn PromotionsPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let data = Resource::new(before, api::list_promotions);
    view! {
        <Title text="Promotions" />
        <Follows scope=LiveScope::everything() />
        <h1>"Promotions"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading promotions…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) if list.promotions.is_empty() => view! {
                        <p class="empty">"No release has been promoted yet."</p>
                    }.into_any(),
                    Ok(list) => {
                        let older = list.promotions.last().map(|p| p.id).filter(|_| list.promotions.len() >= 50);
                        view! {
                            <PromotionTable promotions=list.promotions now=Some(list.now) />
                            {older.map(|id| view! {
                                <p class="pager"><a href=format!("/promotions?before={id}")>"Older promotions"</a></p>
                            })}
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `/promotions/{id}`.
#[component]
pub fn PromotionDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|i| i.parse::<i64>().ok());
    let data = Resource::new(id, |id| async move {
        match id {
            Some(id) => api::get_promotion(id).await,
            None => Err(AppError::NotFound("promotion".into())),
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading promotion…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => {
                        // with JavaScript, a running promotion's page follows its progress
                        // without reloading; where live updates cannot get through (a proxy
                        // that buffers them), it asks again every two seconds
                        let running = !page.promotion.state.is_terminal();
                        view! {
                            <Follows scope=LiveScope::promotion(page.promotion.id) poll=running />
                            <PromotionView page />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProgressBar(progress: PromotionProgress) -> impl IntoView {
    let pct = progress.percent();
    view! {
        <div class="progress">
            <progress max="100" value=pct.to_string() aria-label="Copy progress">{format!("{pct}%")}</progress>
            <span>
                {format!(
                    "{pct}% · images {}/{} · blobs {}/{} ({} mounted, {} already there) · {} copied of {}",
                    progress.images_done,
                    progress.images_total,
                    progress.blobs_done,
                    progress.blobs_total,
                    progress.blobs_mounted,
                    progress.blobs_skipped,
                    bytes(progress.bytes_done),
                    bytes(progress.bytes_total)
                )}
            </span>
        </div>
    }
}

#[component]
fn PromotionView(page: PromotionPage) -> impl IntoView {
    let p = page.promotion;
    let now = page.now;
    let running = !p.state.is_terminal();
    let steps = [
        PromotionState::Planned,
        PromotionState::Copying,
        PromotionState::Publishing,
        PromotionState::Verifying,
        PromotionState::Succeeded,
    ];
    let reached = steps.iter().position(|s| *s == p.state);
    view! {
        <Title text=format!("Promotion #{}", p.id) />
        {running.then(|| view! { <noscript><meta http-equiv="refresh" content="2" /></noscript> })}
        <h1>{format!("Promotion #{}: {} → {}", p.id, p.source_release, p.name)}</h1>
        <p class="promotion-summary">
            <StateBadge state=p.state />
            {format!(" to {} · requested by {} · ", p.target, p.requested_by)}
            <Age now at=p.requested_at />
            {p.duration(now).map(|d| format!(" · took {}", span(d.num_seconds().max(0))))}
        </p>
        <ol class="promotion-steps" aria-label="Steps">
            {steps.iter().enumerate().map(|(i, s)| {
                let class = match (reached, p.state) {
                    (_, PromotionState::Failed) => "step",
                    (Some(r), _) if i < r => "step done",
                    (Some(r), _) if i == r => "step current",
                    _ => "step",
                };
                view! { <li class=class>{s.as_str()}</li> }
            }).collect_view()}
        </ol>
        {(p.state == PromotionState::Failed).then(|| view! {
            <p class="promotion-error" role="alert">{format!("Failed: {}", p.detail)}</p>
        })}
        <ProgressBar progress=p.progress />
        <dl class="facts">
            <dt>"From"</dt>
            <dd><a href=release_href(&p.source_stream, &p.source_release)>{p.source_release.clone()}</a>" ("{p.source_stream.clone()}")"</dd>
            <dt>"Source pull spec"</dt>
            <dd><code>{p.source_pull_spec.clone()}</code></dd>
            <dt>"New release"</dt>
            <dd>
                {if p.state == PromotionState::Succeeded {
                    view! { <a href=release_href(&p.target, &p.name)>{p.name.clone()}</a> }.into_any()
                } else {
                    view! { <span>{p.name.clone()}</span> }.into_any()
                }}
            </dd>
            {p.result_pull_spec.clone().map(|spec| view! {
                <dt>"Pull spec"</dt>
                <dd><code class="result-pull-spec">{spec}</code></dd>
            })}
            {p.signature.clone().map(|signature| {
                let message = signature.message.clone();
                let download = format!("/api/v1/promotions/{}/signature-message.json", p.id);
                view! {
                    <dt>"Signature"</dt>
                    <dd>
                        <SignatureBadge signature=Some(signature) />
                        {(!message.is_empty()).then(|| view! {
                            <details class="signature-message">
                                <summary>"Signed document"</summary>
                                <pre><code>{message}</code></pre>
                                <p><a href=download>"Download it"</a>" (to sign by hand: "<code>"gpg --sign"</code>")"</p>
                            </details>
                        })}
                    </dd>
                }
            })}
            <dt>"Updates from"</dt>
            <dd>{if p.previous.is_empty() { "none".to_string() } else { p.previous.join(", ") }}</dd>
            {p.override_reason.clone().map(|reason| view! {
                <dt>"Gates overridden"</dt>
                <dd class="override">{reason}</dd>
            })}
        </dl>
        <PublishStepsView steps=p.publish_steps.clone() />
        {page.notes_html.clone().map(|html| view! {
            <section aria-labelledby="notes-h" class="release-notes">
                <h2 id="notes-h">"Release notes"</h2>
                <p><a href=format!("/api/v1/promotions/{}/notes.md", p.id) download=format!("{}.md", p.name)>"Download as Markdown"</a></p>
                <div class="notes" inner_html=html.as_str().to_string()></div>
            </section>
        })}
        {p.plan.clone().map(|plan| view! {
            <details class="plan">
                <summary>{format!("Plan: {} images, {} blobs ({})", plan.images.len(), plan.blobs, bytes(plan.bytes))}</summary>
                <ImageTable plan />
            </details>
        })}
    }
}

/// What followed the published payload: adoption into an image stream, a GitHub release,
/// each done or failed with the reason. The release stays published either way.
#[component]
fn PublishStepsView(steps: Vec<PublishStepResult>) -> impl IntoView {
    (!steps.is_empty()).then(|| view! {
        <section aria-labelledby="after-publishing-h" class="after-publishing">
            <h2 id="after-publishing-h">"After publishing"</h2>
            <ul>
                {steps.into_iter().map(|s| {
                    let what = match s.step {
                        PublishStep::Adoption => "Adoption",
                        PublishStep::GithubRelease => "GitHub release",
                    };
                    let class = if s.done { "publish-step done" } else { "publish-step failed" };
                    let link = s.reference.as_deref()
                        .filter(|_| s.step == PublishStep::GithubRelease && s.done)
                        .and_then(crate::model::safe_url)
                        .map(|url| view! { " "<a href=url.to_string() rel="noopener noreferrer">"GitHub release"</a> });
                    view! {
                        <li class=class>
                            <strong>{format!("{what}: ")}</strong>
                            {if s.done { "done — " } else { "failed — " }}
                            {s.detail}
                            {link}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {steps_failed_hint()}
        </section>
    })
}

fn steps_failed_hint() -> impl IntoView {
    view! { <p class="hint">"A step that failed leaves the release published; it is done again if the promotion is run again."</p> }
}

#[component]
fn ImageTable(plan: PromotionPlan) -> impl IntoView {
    view! {
        <table class="plan-images">
            <thead>
                <tr>
                    <th scope="col">"Image"</th>
                    <th scope="col">"Digest"</th>
                    <th scope="col">"Destination"</th>
                    <th scope="col">"Blobs"</th>
                    <th scope="col">"Size"</th>
                </tr>
            </thead>
            <tbody>
                {plan.images.into_iter().map(|i| {
                    let digest = i.source.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
                    let short = digest.get(..19).unwrap_or(&digest).to_string();
                    let destination = i.destination.rsplit_once('@').map(|(r, _)| r.to_string()).unwrap_or(i.destination.clone());
                    view! {
                        <tr>
                            <td>{i.name}</td>
                            <td><code title=digest>{short}</code></td>
                            <td><code>{destination}</code></td>
                            <td>{i.blobs}</td>
                            <td>{bytes(i.bytes)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/promote/{tag}?stream=…&target=…`: the plan, and the confirm form.
#[component]
pub fn PromotePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            params.read().get("tag").unwrap_or_default(),
            q.get("stream").unwrap_or_default(),
            q.get("target").unwrap_or_default(),
        )
    };
    let viewer = Resource::new(|| (), |_| get_viewer());
    let plan = Resource::new(key, |(tag, stream, target)| async move {
        if stream.is_empty() || target.is_empty() {
            return Err(AppError::BadRequest(
                "choose a release's stream and a target".into(),
            ));
        }
        api::get_promotion_plan(target, stream, tag).await
    });
    view! {
        <Title text="Promote" />
        <Suspense fallback=|| view! { <p class="loading">"Making the plan: reading the images at source and target…"</p> }>
            {move || {
                let error = query.read().get("error");
                let (tag, stream, target) = key();
                Suspend::new(async move {
                    let viewer = viewer.await.ok().flatten();
                    let Some(viewer) = viewer else {
                        crate::auth::refusal_status(401);
                        let next = format!("/promote/{tag}%3Fstream%3D{stream}%26target%3D{target}");
                        return view! {
                            <section class="sign-in-needed">
                                <h1>"Promote"</h1>
                                <p>"Only maintainers can promote releases. "<a href=format!("/sign-in?next={next}")>"Sign in"</a></p>
                            </section>
                        }.into_any();
                    };
                    match plan.await {
                        Ok(plan) => view! { <PlanView plan viewer error /> }.into_any(),
                        Err(AppError::Refused(reason)) => view! {
                            <section class="refused">
                                <h1>{format!("Promote {tag} to {target}")}</h1>
                                <p role="alert">{reason}</p>
                                <p><a href=release_href(&stream, &tag)>"Back to the release"</a></p>
                            </section>
                        }.into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn PlanView(plan: PromotionPlan, viewer: Viewer, error: Option<String>) -> impl IntoView {
    let allowed = viewer.may_promote(&plan.target.name);
    let gates_ok = plan.gates.passed();
    let signature_ok = !matches!(plan.signature, SignatureStatus::Invalid { .. });
    let can_confirm =
        allowed && signature_ok && (gates_ok || viewer.is_admin()) && !plan.images.is_empty();
    let p = plan.clone();
    view! {
        <h1>{format!("Promote {} to {}", p.release, p.target.name)}</h1>
        {error.map(|e| view! { <p class="promotion-error" role="alert">{e}</p> })}
        <dl class="facts plan-facts">
            <dt>"Release"</dt>
            <dd><a href=release_href(&p.stream, &p.release)>{p.release.clone()}</a>" ("{p.stream.clone()}")"</dd>
            <dt>"Payload"</dt>
            <dd><code>{p.payload_digest.clone()}</code></dd>
            <dt>"New name"</dt>
            <dd class="new-name"><strong>{p.name.clone()}</strong></dd>
            <dt>"Release image"</dt>
            <dd><code>{p.destination.clone()}</code></dd>
            <dt>"Images to"</dt>
            <dd><code>{p.target.content_repo.clone()}</code></dd>
            {(!p.target.publishing.is_empty()).then(|| view! {
                <dt>"After publishing"</dt>
                <dd class="publishing">{publishing_cell(&p.target.publishing)}</dd>
            })}
            <dt>"Promoted by"</dt>
            <dd class="promoter">
                {match &p.target.pipeline_url {
                    Some(_) => format!(
                        "OKD's release pipeline ({}): Streamgate starts it with this plan and follows it until {} is pushed",
                        promoter_cell(&p.target),
                        p.destination
                    ),
                    None => "Streamgate: it copies the images and publishes the release itself".to_string(),
                }}
            </dd>
            <dt>"Updates from"</dt>
            <dd>
                {if p.previous.is_empty() { "none".to_string() } else { p.previous.join(", ") }}
                {p.sampling_warning().map(|w| view! { <p class="warning sampling">{w}</p> })}
            </dd>
            <dt>"To copy"</dt>
            <dd class="to-copy">
                {format!(
                    "{} images; {} of {} blobs ({} of {}) must be copied, {} are already at the target",
                    p.images.len(),
                    p.blobs_to_copy(),
                    p.blobs,
                    bytes(p.bytes_to_copy()),
                    bytes(p.bytes),
                    p.blobs_present
                )}
            </dd>
            <dt>"Gates"</dt>
            <dd class=if gates_ok { "gates ok" } else { "gates failing" }>
                {if gates_ok {
                    format!("all {} blocking jobs succeeded", p.gates.blocking)
                } else {
                    format!(
                        "not passed: {}",
                        p.gates.not_succeeded.iter().map(|(n, s)| format!("{n} ({s})")).collect::<Vec<_>>().join(", ")
                    )
                }}
            </dd>
            <dt>"Signature"</dt>
            <dd class="signature">
                {match &p.signature {
                    SignatureStatus::Unchecked => "not checked (no signature store configured)".to_string(),
                    SignatureStatus::Verified { fingerprint, identity } => format!("verified: signed by {fingerprint} for {identity}"),
                    SignatureStatus::Invalid { reason } => format!("INVALID: {reason}"),
                }}
            </dd>
        </dl>
        {if can_confirm {
            view! {
                <form method="post" action="/promotions" class="confirm-promotion">
                    <input type="hidden" name="csrf" value=viewer.csrf.clone() />
                    <input type="hidden" name="target" value=p.target.name.clone() />
                    <input type="hidden" name="stream" value=p.stream.clone() />
                    <input type="hidden" name="release" value=p.release.clone() />
                    <input type="hidden" name="expected_name" value=p.name.clone() />
                    {(!gates_ok).then(|| view! {
                        <label>
                            "Why promote although gates failed (recorded with the promotion)"
                            <textarea name="override_reason" required rows="3"></textarea>
                        </label>
                    })}
                    <button type="submit" class="primary">{format!("Promote as {}", p.name)}</button>
                </form>
            }.into_any()
        } else {
            let why = if !allowed {
                format!("{} may not promote to {}.", viewer.name, p.target.name)
            } else if !signature_ok {
                "The release's signature is not valid; it cannot be promoted.".to_string()
            } else if p.images.is_empty() {
                "The payload lists no images.".to_string()
            } else {
                "Blocking gates have not all succeeded; only an admin can override them, with a reason.".to_string()
            };
            view! { <p class="refused" role="alert">{why}</p> }.into_any()
        }}
        <details class="plan" open>
            <summary>{format!("{} images", p.images.len())}</summary>
            <ImageTable plan />
        </details>
    }
}

/// Who promotes into a target: Streamgate, or OKD's release pipeline (its host shown).
fn promoter_cell(t: &PromotionTarget) -> String {
    match t.pipeline_url.as_deref() {
        Some(url) => {
            let host = url
                .split_once("://")
                .map_or(url, |(_, rest)| rest)
                .split('/')
                .next()
                .unwrap_or_default();
            format!("release pipeline at {host}")
        }
        None => "Streamgate".to_string(),
    }
}

/// What a target does after publishing: where releases are adopted, where notes go.
fn publishing_cell(p: &TargetPublishing) -> String {
    let mut parts = Vec::new();
    if let Some((ns, is)) = p.adoption() {
        parts.push(format!("adopts into {ns}/{is}"));
    }
    if let Some(repo) = &p.github_repo {
        parts.push(format!("GitHub releases of {repo}"));
    }
    parts.join("; ")
}

/// What the targets table says of a target's webhook: its masked address for admins,
/// whether there is one for everyone else.
fn webhook_cell(target: &PromotionTarget) -> String {
    match (&target.webhook_masked, target.has_webhook) {
        (Some(masked), _) => masked.clone(),
        (None, true) => "a webhook".to_string(),
        (None, false) => String::new(),
    }
}

/// The webhook an admin just set, in full with its signing secret, shown this once.
#[component]
fn NewWebhookNotice(hook: NewWebhook) -> impl IntoView {
    view! {
        <section class="new-webhook notice" role="status" aria-labelledby="new-webhook-h">
            <h2 id="new-webhook-h">{format!("Webhook of {} set", hook.target)}</h2>
            <p>
                "Notices go to "<code class="webhook-url">{hook.url}</code>
                ". From now on only its scheme and host are shown."
            </p>
            <p>
                "Signing secret, shown this once: "<code class="webhook-secret">{hook.secret}</code>
            </p>
            <p class="hint">
                "Each notice carries "<code>"X-Streamgate-Signature: sha256=<hex>"</code>
                ", the HMAC-SHA256 of the request body's bytes with this secret as the key. \
                 Receivers compute it over the body as received, compare in constant time, and \
                 refuse notices whose "<code>"sent_at"</code>" is more than five minutes old."
            </p>
        </section>
    }
}

/// `/admin/targets`.
#[component]
pub fn TargetsPage() -> impl IntoView {
    let query = use_query_map();
    let viewer = Resource::new(|| (), |_| get_viewer());
    let targets = Resource::new(|| (), |_| api::list_targets());
    view! {
        <Title text="Promotion targets" />
        <h1>"Promotion targets"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading targets…"</p> }>
            {move || {
                let q = query.read();
                let notice = q.get("saved").map(|n| format!("Saved {n}."))
                    .or_else(|| q.get("removed").map(|n| format!("Removed {n}.")));
                let error = q.get("error");
                Suspend::new(async move {
                    let viewer = viewer.await.ok().flatten();
                    let (targets, new_webhook) = match targets.await {
                        Ok(list) => (list.targets, list.new_webhook),
                        Err(error) => return view! { <ErrorView error /> }.into_any(),
                    };
                    let admin = viewer.as_ref().filter(|v| v.is_admin()).cloned();
                    view! {
                        {notice.map(|n| view! { <p class="notice" role="status">{n}</p> })}
                        {error.map(|e| view! { <p class="promotion-error" role="alert">{e}</p> })}
                        {new_webhook.map(|hook| view! { <NewWebhookNotice hook /> })}
                        <table class="targets">
                            <thead>
                                <tr>
                                    <th scope="col">"Target"</th>
                                    <th scope="col">"Takes releases of"</th>
                                    <th scope="col">"Images to"</th>
                                    <th scope="col">"Release to"</th>
                                    <th scope="col">"Names"</th>
                                    <th scope="col">"Promoted by"</th>
                                    <th scope="col">"Notifies"</th>
                                    <th scope="col">"After publishing"</th>
                                    {admin.is_some().then(|| view! { <th scope="col">""</th> })}
                                </tr>
                            </thead>
                            <tbody>
                                {targets.into_iter().map(|t| {
                                    let csrf = admin.as_ref().map(|a| a.csrf.clone());
                                    view! {
                                        <tr>
                                            <td>{t.name.clone()}</td>
                                            <td><a href=format!("/streams/{}", t.source_stream)>{t.source_stream.clone()}</a></td>
                                            <td><code>{t.content_repo.clone()}</code></td>
                                            <td><code>{t.release_repo.clone()}</code></td>
                                            <td><code>{t.name_template.clone()}</code></td>
                                            <td class="promoter">{promoter_cell(&t)}</td>
                                            <td class="webhook">{webhook_cell(&t)}</td>
                                            <td class="publishing">{publishing_cell(&t.publishing)}</td>
                                            {csrf.map(|csrf| view! {
                                                <td>
                                                    <form method="post" action=format!("/admin/targets/{}/delete", t.name)>
                                                        <input type="hidden" name="csrf" value=csrf />
                                                        <button type="submit">{format!("Remove {}", t.name)}</button>
                                                    </form>
                                                </td>
                                            })}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {match admin {
                            Some(admin) => view! {
                                <form method="post" action="/admin/targets" class="target-form">
                                    <h2>"Add or change a target"</h2>
                                    <input type="hidden" name="csrf" value=admin.csrf.clone() />
                                    <label>"Target stream"<input name="name" required placeholder="4-scos-next" /></label>
                                    <label>"Takes releases of"<input name="source_stream" required placeholder="4.21.0-0.okd-scos" /></label>
                                    <label>"Content repository"<input name="content_repo" required placeholder="quay.io/okd/scos-content" /></label>
                                    <label>"Release repository"<input name="release_repo" required placeholder="quay.io/okd/scos-release" /></label>
                                    <label>"Name template"<input name="name_template" required value="{version}-okd-scos.ec.{n}" /></label>
                                    <label>
                                        "Webhook URL (optional; left empty, a target keeps its webhook; set again, it gets a new signing secret)"
                                        <input name="webhook_url" type="url" autocomplete="off" />
                                    </label>
                                    <label class="check">
                                        <input name="remove_webhook" type="checkbox" value="on" />
                                        "Remove the webhook"
                                    </label>
                                    <fieldset>
                                        <legend>"After publishing (optional; left empty, the target does neither)"</legend>
                                        <label>"Adopt into namespace"<input name="adopt_namespace" placeholder="origin" /></label>
                                        <label>"Adopt into image stream"<input name="adopt_imagestream" placeholder="release-scos" /></label>
                                        <label>"Publish release notes to the GitHub repository"<input name="github_repo" placeholder="okd-project/okd-scos" /></label>
                                    </fieldset>
                                    <label>
                                        "Release pipeline EventListener URL (optional: when OKD's release pipeline promotes into this target, promotions start it and follow its result; empty: Streamgate promotes)"
                                        <input name="pipeline_url" type="url" autocomplete="off" placeholder="http://el-okd-release.okd-team.svc:8080" />
                                    </label>
                                    <button type="submit">"Save target"</button>
                                </form>
                            }.into_any(),
                            None => view! { <p class="hint">"Admins add and change targets."</p> }.into_any(),
                        }}
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_500), "1.5 kB");
        assert_eq!(bytes(2_345_678), "2.3 MB");
        assert_eq!(bytes(0), "0 B");
    }
}
