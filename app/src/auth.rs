//! Signing in, one's account and (admins) the users: `/sign-in`, `/account`,
//! `/admin/users`, and the header's sign-in link or user menu. Every action is a plain
//! HTML form posting to the server's `/auth/…`, `/account/…` and `/admin/…` routes with
//! the session's CSRF token in a hidden field, so all of it works without JavaScript; the
//! server answers with a redirect back here, a mistake in `?error=`, a success in `?done=`.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::model::account::{TokenInfo, UserInfo};
use crate::viewer::{get_viewer, Role, SignedInWith, Viewer};
use crate::widgets::ErrorView;

/// The account page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Who is signed in.
    pub viewer: Viewer,
    /// Their API tokens, newest first.
    pub tokens: Vec<TokenInfo>,
    /// A token created just before, shown this once.
    pub new_token: Option<String>,
}

/// What a page for signed-in users shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Guarded<T> {
    /// Nobody is signed in.
    SignedOut,
    /// Signed in, but not allowed; why.
    Refused(String),
    /// The page's data.
    Shown(T),
}

/// The header's part: "Sign in", or the user's name and a sign-out button.
#[component]
pub fn ViewerMenu() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(v)) => view! { <SignedInMenu viewer=v /> }.into_any(),
                    _ => view! { <a href="/sign-in" class="sign-in">"Sign in"</a> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignedInMenu(viewer: Viewer) -> impl IntoView {
    let admin = viewer
        .is_admin()
        .then(|| view! { <a href="/admin/users">"Users"</a> });
    let sign_out = (viewer.with != SignedInWith::Token).then(|| {
        view! {
            <form method="post" action="/auth/sign-out" class="sign-out">
                <input type="hidden" name="csrf" value=viewer.csrf.clone() />
                <button type="submit">"Sign out"</button>
            </form>
        }
    });
    view! {
        {admin}
        <a href="/account" class="who" title=format!("signed in as {} ({})", viewer.name, viewer.role_name())>
            {viewer.name.clone()}
        </a>
        {sign_out}
    }
}

/// Messages a form's redirect left in the query string.
#[component]
fn Notices() -> impl IntoView {
    let query = use_query_map();
    let error = query
        .read_untracked()
        .get("error")
        .filter(|e| !e.is_empty());
    let done = query.read_untracked().get("done").filter(|e| !e.is_empty());
    view! {
        {error.map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        {done.map(|d| view! { <p class="form-done" role="status">{d}</p> })}
    }
}

/// Sets the status of a server-rendered refusal.
pub(crate) fn refusal_status(_status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(_status) {
            response.set_status(status);
        }
    }
}

#[component]
fn SignInFirst(next: &'static str) -> impl IntoView {
    refusal_status(401);
    view! {
        <section class="error">
            <h1>"Sign in first"</h1>
            <p>
                <a href=format!("/sign-in?next={next}")>"Sign in"</a>
                " to see this page."
            </p>
        </section>
    }
}

#[component]
fn Refused(reason: String) -> impl IntoView {
    refusal_status(403);
    view! {
        <section class="error">
            <h1>"Not allowed"</h1>
            <p>{reason}</p>
        </section>
    }
}

/// `/sign-in`: the form; shows `?error=` and keeps `?next=`.
#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = query
        .read_untracked()
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".to_string());
    let viewer = Resource::new(|| (), |_| get_viewer());
    view! {
        <Title text="Sign in" />
        <section class="auth-card">
            <h1>"Sign in"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    viewer.await.ok().flatten().map(|v| {
                        view! {
                            <p class="note">
                                {format!("You are signed in as {}. ", v.name)}
                                <a href="/account">"Your account"</a>
                            </p>
                        }
                    })
                })}
            </Suspense>
            <Notices />
            <form method="post" action="/auth/sign-in" class="auth-form">
                <label>
                    "User name"
                    <input name="name" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <input type="hidden" name="next" value=next />
                <button type="submit">"Sign in"</button>
            </form>
            <p class="note">
                "Reading needs no account. Maintainers sign in to promote releases, admins to manage users."
            </p>
        </section>
    }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".to_string())
}

fn targets_text(targets: &Option<Vec<String>>) -> String {
    match targets {
        None => "every target".to_string(),
        Some(t) if t.is_empty() => "no target".to_string(),
        Some(t) => t.join(", "),
    }
}

/// `/account`: who you are, your API tokens (create one, shown once; revoke).
#[component]
pub fn AccountPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| api::get_account());
    view! {
        <Title text="Your account" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Guarded::Shown(account)) => view! { <AccountView account /> }.into_any(),
                    Ok(Guarded::Refused(reason)) => view! { <Refused reason /> }.into_any(),
                    Ok(Guarded::SignedOut) => view! { <SignInFirst next="/account" /> }.into_any(),
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountView(account: Account) -> impl IntoView {
    let v = account.viewer.clone();
    let csrf = v.csrf.clone();
    let with = match v.with {
        SignedInWith::Password => "password",
        SignedInWith::Proxy => "the organisation's single sign-on",
        SignedInWith::Token => "an API token",
    };
    let new_token = account.new_token.clone().map(|token| {
        view! {
            <section class="new-token" role="status">
                <h2>"New API token"</h2>
                <p>"Copy it now: it is not shown again. Send it as "<code>"Authorization: Bearer …"</code>"."</p>
                <code id="new-token">{token}</code>
            </section>
        }
    });
    let rows = account
        .tokens
        .iter()
        .map(|t| {
            let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
            let revoke = t.revoked_at.is_none().then(|| {
                view! {
                    <form method="post" action=format!("/account/tokens/{}/revoke", t.id) class="inline">
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <button type="submit" aria-label=format!("Revoke {}", t.name)>"Revoke"</button>
                    </form>
                }
            });
            view! {
                <tr data-token=t.id>
                    <td>{t.name.clone()}</td>
                    <td><code>{format!("{}…", t.prefix)}</code></td>
                    <td>{when(Some(t.created_at))}</td>
                    <td>{when(t.last_used_at)}</td>
                    <td class=format!("token-{state}")>{state}</td>
                    <td>{revoke}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = account.tokens.is_empty();
    view! {
        <section class="account">
            <h1>"Your account"</h1>
            <Notices />
            <dl class="facts">
                <dt>"Name"</dt>
                <dd class="account-name">{v.name.clone()}</dd>
                <dt>"Role"</dt>
                <dd>{v.role_name()}</dd>
                <dt>"Promotes to"</dt>
                <dd>{if v.is_admin() { "every target".to_string() } else { targets_text(&v.targets) }}</dd>
                <dt>"Signed in with"</dt>
                <dd>{with}</dd>
            </dl>
            {new_token}
            {if v.with == SignedInWith::Proxy {
                view! {
                    <h2>"API tokens"</h2>
                    <p class="note">"API tokens belong to local accounts: what you may do comes from your groups at the single sign-on, which a script's requests do not carry. Ask an admin for a local account for scripts."</p>
                }
                    .into_any()
            } else {
                view! {
                    <h2>"API tokens"</h2>
                    <p class="note">"Tokens act as you in scripts and pipelines: " <code>"Authorization: Bearer sg_…"</code></p>
                    {if empty {
                        view! { <p class="empty">"No tokens yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="tokens">
                                <thead>
                                    <tr>
                                        <th>"Name"</th>
                                        <th>"Token"</th>
                                        <th>"Created"</th>
                                        <th>"Last used"</th>
                                        <th>"State"</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                            .into_any()
                    }}
                    <form method="post" action="/account/tokens" class="auth-form inline-form">
                        <input type="hidden" name="csrf" value=v.csrf.clone() />
                        <label>
                            "Token name"
                            <input name="name" required maxlength="100" placeholder="e.g. release pipeline" />
                        </label>
                        <button type="submit">"Create token"</button>
                    </form>
                }
                    .into_any()
            }}
        </section>
    }
}

/// `/admin/users` (admins): every user; create one, change role and targets, disable or
/// enable, set a password.
#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| api::list_users());
    view! {
        <Title text="Users" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Guarded::Shown((viewer, users))) => {
                        view! { <UsersView csrf=viewer.csrf users /> }.into_any()
                    }
                    Ok(Guarded::Refused(reason)) => view! { <Refused reason /> }.into_any(),
                    Ok(Guarded::SignedOut) => {
                        view! { <SignInFirst next="/admin/users" /> }.into_any()
                    }
                    Err(error) => view! { <ErrorView error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn role_options(selected: Role) -> impl IntoView {
    [Role::Maintainer, Role::Admin]
        .into_iter()
        .map(|r| {
            view! {
                <option value=r.as_str() selected=r == selected>
                    {r.as_str()}
                </option>
            }
        })
        .collect_view()
}

#[component]
fn UsersView(csrf: String, users: Vec<UserInfo>) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|u| {
            let action = format!("/admin/users/{}", u.name);
            let targets = u.targets.clone().map(|t| t.join(", ")).unwrap_or_default();
            let (toggle, toggle_label) = if u.disabled {
                ("enable", "Enable")
            } else {
                ("disable", "Disable")
            };
            let role_cell = if u.proxy {
                view! { <td class="from-groups">"from the proxy's groups, on each request"</td> }
                    .into_any()
            } else {
                view! {
                    <td>
                        <form method="post" action=action.clone() class="inline">
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <input type="hidden" name="action" value="update" />
                            <select name="role" aria-label=format!("Role of {}", u.name)>
                                {role_options(u.role.unwrap_or(Role::Maintainer))}
                            </select>
                            <input
                                name="targets"
                                value=targets
                                placeholder="every target"
                                aria-label=format!("Targets of {}", u.name)
                            />
                            <button type="submit">"Save"</button>
                        </form>
                    </td>
                }
                .into_any()
            };
            let signs_in = if u.proxy {
                "single sign-on"
            } else if u.has_password {
                "password"
            } else {
                "api tokens only"
            };
            let password_form = (!u.proxy).then(|| {
                view! {
                    <form method="post" action=action.clone() class="inline">
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <input type="hidden" name="action" value="password" />
                        <input
                            type="password"
                            name="password"
                            autocomplete="new-password"
                            minlength="8"
                            placeholder="new password"
                            aria-label=format!("New password of {}", u.name)
                        />
                        <button type="submit">"Set password"</button>
                    </form>
                }
            });
            view! {
                <tr data-user=u.name.clone() class:disabled=u.disabled>
                    <td class="user-name">{u.name.clone()}</td>
                    {role_cell}
                    <td>{signs_in}</td>
                    <td>{if u.disabled { "disabled" } else { "enabled" }}</td>
                    <td>
                        <form method="post" action=action.clone() class="inline">
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <input type="hidden" name="action" value=toggle />
                            <button type="submit">{toggle_label}</button>
                        </form>
                        {password_form}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="admin-users">
            <h1>"Users"</h1>
            <Notices />
            <table class="users">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Role and targets"</th>
                        <th>"Signs in with"</th>
                        <th>"State"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>"Add a user"</h2>
            <form method="post" action="/admin/users" class="auth-form inline-form">
                <input type="hidden" name="csrf" value=csrf.clone() />
                <label>"Name" <input name="name" required maxlength="64" /></label>
                <label>
                    "Role"
                    <select name="role">
                        {role_options(Role::Maintainer)}
                        <option value="">"none: the proxy's groups decide"</option>
                    </select>
                </label>
                <label>
                    "Targets"
                    <input name="targets" placeholder="every target" />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="new-password" minlength="8" placeholder="none: single sign-on only" />
                </label>
                <button type="submit">"Add user"</button>
            </form>
            <p class="note">
                "Targets limit a maintainer to some promotion targets (comma separated, e.g. 4-scos-next); empty means every target. Disabling a user ends their sessions and stops their tokens. A user added without a password and without a role is someone who signs in through the single sign-on, as proxy:NAME: the proxy's groups give them their role on each request, and disabling them shuts them out whatever their groups."
            </p>
        </section>
    }
}
