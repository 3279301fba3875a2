//! `server user …` and `server token …`: managing accounts from the command line, for the
//! first admin of an install and for scripts. Passwords are read from standard input
//! (`--password-stdin`), never from the command line; a new token is printed once.

use std::io::BufRead;

use chrono::Utc;
use clap::Subcommand;

use super::{api, password, AuthError};
use crate::secret;
use crate::store::auth::{NewApiToken, Origin, UserChange};
use crate::store::{Store, StoreError};

/// `user` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum UserAction {
    /// Adds a local account with a role and a password; without --password-stdin (and
    /// without --role) the proxy identity proxy:NAME, whose groups give its role.
    Add {
        /// User name.
        name: String,
        /// What a local account may do.
        #[arg(long, env = "STREAMGATE_USER_ROLE", value_parser = ["maintainer", "admin"])]
        role: Option<String>,
        /// A promotion target a maintainer is limited to; repeat for several; none: every
        /// target.
        #[arg(
            long = "target",
            env = "STREAMGATE_USER_TARGETS",
            value_delimiter = ','
        )]
        targets: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, env = "STREAMGATE_PASSWORD_STDIN")]
        password_stdin: bool,
    },
    /// Lists users: name, role, targets (* for all), enabled, how they sign in.
    List,
    /// Sets a user's password (read from standard input) and ends their sessions.
    SetPassword {
        /// User name.
        name: String,
        /// Read the password from the first line of standard input (required).
        #[arg(long, env = "STREAMGATE_PASSWORD_STDIN", required = true)]
        password_stdin: bool,
    },
    /// Disables a user: their sessions end and their tokens stop working.
    Disable {
        /// User name.
        name: String,
    },
    /// Enables a disabled user again.
    Enable {
        /// User name.
        name: String,
    },
}

/// `token` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TokenAction {
    /// Creates an API token and prints it; it is shown only this once.
    Create {
        /// The owner.
        #[arg(long, env = "STREAMGATE_TOKEN_USER")]
        user: String,
        /// A label (what the token is for).
        #[arg(long, env = "STREAMGATE_TOKEN_NAME")]
        name: String,
    },
    /// Lists tokens: id, owner, label, prefix, state.
    List {
        /// Only this user's tokens.
        #[arg(long, env = "STREAMGATE_TOKEN_USER")]
        user: Option<String>,
    },
    /// Revokes a token by its id.
    Revoke {
        /// The token's id (see `token list`).
        id: i64,
    },
}

/// Why an account command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request was refused or malformed.
    #[error("{0}")]
    Refused(String),
    /// Reading standard input failed.
    #[error("reading the password from standard input: {0}")]
    Stdin(#[from] std::io::Error),
}

impl From<AuthError> for CliError {
    fn from(e: AuthError) -> Self {
        CliError::Refused(e.to_string())
    }
}

impl From<password::PasswordError> for CliError {
    fn from(e: password::PasswordError) -> Self {
        CliError::Refused(e.to_string())
    }
}

async fn open(url: &str) -> Result<Store, CliError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Refused(
            "no password on standard input (echo PASSWORD | server user …)".into(),
        ));
    }
    Ok(password)
}

/// Runs `server user …`.
pub async fn run_user(database_url: &str, action: UserAction) -> Result<(), CliError> {
    let store = open(database_url).await?;
    let result = user(&store, action).await;
    store.close().await;
    result
}

async fn user(store: &Store, action: UserAction) -> Result<(), CliError> {
    match action {
        UserAction::Add {
            name,
            role,
            targets,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let user = api::add_user(
                store,
                &api::NewUserBody {
                    name,
                    role,
                    targets: (!targets.is_empty()).then_some(targets),
                    password,
                },
            )
            .await?;
            match user.role {
                Some(role) => println!("created {} ({})", user.name, role.as_str()),
                None => println!(
                    "created {} (signs in through the proxy, whose groups give the role)",
                    user.name
                ),
            }
        }
        UserAction::List => {
            for u in store.list_users().await? {
                let (role, targets) = match u.role {
                    Some(role) => (
                        role.as_str(),
                        u.targets.map(|t| t.join(",")).unwrap_or_else(|| "*".into()),
                    ),
                    None => ("groups", "-".to_string()),
                };
                let how = match (u.origin, &u.password_hash) {
                    (Origin::Proxy, _) => "proxy",
                    (Origin::Local, Some(_)) => "password",
                    (Origin::Local, None) => "tokens",
                };
                println!(
                    "{}\t{role}\t{targets}\t{}\t{how}",
                    u.name,
                    if u.disabled { "disabled" } else { "enabled" },
                );
            }
        }
        UserAction::SetPassword { name, .. } => {
            let hash = password::hash_password(read_password()?).await?;
            let change = UserChange {
                password_hash: Some(hash),
                ..UserChange::default()
            };
            store.update_user(&name, &change, Utc::now()).await?;
            println!("password of {name} set; their sessions have ended");
        }
        UserAction::Disable { name } => {
            let change = UserChange {
                disabled: Some(true),
                ..UserChange::default()
            };
            store.update_user(&name, &change, Utc::now()).await?;
            println!("disabled {name}; their sessions have ended and their tokens stopped");
        }
        UserAction::Enable { name } => {
            let change = UserChange {
                disabled: Some(false),
                ..UserChange::default()
            };
            store.update_user(&name, &change, Utc::now()).await?;
            println!("enabled {name}");
        }
    }
    Ok(())
}

/// Runs `server token …`.
pub async fn run_token(database_url: &str, action: TokenAction) -> Result<(), CliError> {
    let store = open(database_url).await?;
    let result = token(&store, action).await;
    store.close().await;
    result
}

async fn token(store: &Store, action: TokenAction) -> Result<(), CliError> {
    match action {
        TokenAction::Create { user, name } => {
            let owner = store
                .user_by_name(&user)
                .await?
                .ok_or_else(|| CliError::Refused(format!("no user named {user:?}")))?;
            if owner.origin != Origin::Local {
                return Err(CliError::Refused(api::no_tokens_for(&owner.name)));
            }
            if name.trim().is_empty() {
                return Err(CliError::Refused("give the token a --name".into()));
            }
            let new = secret::new_api_token();
            let stored = store
                .create_api_token(&NewApiToken {
                    user_id: owner.id,
                    name: name.trim().to_string(),
                    token_hash: new.hash,
                    prefix: new.prefix,
                    created_at: Utc::now(),
                })
                .await?;
            eprintln!(
                "token {} ({}) for {}; it is shown only now:",
                stored.id, stored.name, stored.user
            );
            println!("{}", new.token);
        }
        TokenAction::Revoke { id } => {
            let t = store.revoke_api_token(id, Utc::now()).await?;
            println!("revoked token {} ({}) of {}", t.id, t.name, t.user);
        }
        TokenAction::List { user } => {
            let owner = match user {
                Some(name) => Some(
                    store
                        .user_by_name(&name)
                        .await?
                        .ok_or_else(|| CliError::Refused(format!("no user named {name:?}")))?
                        .id,
                ),
                None => None,
            };
            for t in store.list_api_tokens(owner).await? {
                println!(
                    "{}\t{}\t{}\t{}…\t{}",
                    t.id,
                    t.user,
                    t.name,
                    t.prefix,
                    match t.revoked_at {
                        Some(at) => format!("revoked {}", at.to_rfc3339()),
                        None => "active".to_string(),
                    }
                );
            }
        }
    }
    Ok(())
}
