//! The example secrets printed in `.env.example` and in
//! `deploy/openshift/secret.example.yaml`. They are public, so a server configured with
//! one of them — a webhook secret, the database password, a registry credential — refuses
//! to start instead of running with a secret everybody knows.

use crate::config::{ConfigError, ServeArgs};

/// Every secret value the examples show (the registry credential is `example-user:example-token`).
pub const EXAMPLE_SECRETS: [&str; 6] = [
    "change-me",
    "change-me-too",
    "example-hook-secret-change-me",
    "example-quay-secret-change-me",
    "example-password-change-me",
    "ZXhhbXBsZS11c2VyOmV4YW1wbGUtdG9rZW4=",
];

/// Whether `secret` is one of the published examples, or marked as one to change.
pub fn is_example(secret: &str) -> bool {
    let secret = secret.trim();
    EXAMPLE_SECRETS.contains(&secret) || secret.to_ascii_lowercase().contains("change-me")
}

/// Refuses a configuration that uses an example secret, naming where it is (never the
/// secret itself).
pub fn refuse_examples(args: &ServeArgs) -> Result<(), ConfigError> {
    for (hook, secret) in args.registry.hook_secrets()?.iter() {
        if is_example(secret) {
            return Err(ConfigError::ExampleSecret(format!(
                "the {hook} webhook secret (STREAMGATE_HOOK_SECRETS)"
            )));
        }
    }
    if let Ok(url) = reqwest::Url::parse(&args.poll.db.database_url) {
        let password = percent_encoding::percent_decode_str(url.password().unwrap_or(""))
            .decode_utf8_lossy()
            .into_owned();
        if is_example(&password) {
            return Err(ConfigError::ExampleSecret(
                "the database password (DATABASE_URL)".into(),
            ));
        }
    }
    if let Some(path) = &args.registry.registry_auth_file {
        // an unreadable file is reported where it is read, with its own message
        if let Ok(text) = std::fs::read_to_string(path) {
            if EXAMPLE_SECRETS.iter().any(|example| text.contains(example)) {
                return Err(ConfigError::ExampleSecret(format!(
                    "the registry credentials in {} (STREAMGATE_REGISTRY_AUTH_FILE)",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::{Cli, Command};

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli =
            Cli::try_parse_from(["server", "serve"].iter().chain(args)).expect("arguments parse");
        match cli.command {
            Some(Command::Serve(args)) => *args,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn example_secrets_are_refused_by_where_they_are() {
        let refused = |args: &[&str]| {
            refuse_examples(&serve_args(args))
                .err()
                .map(|e| e.to_string())
        };
        let hook = refused(&["--hook-secret", "registry=change-me"]).expect("refused");
        assert!(hook.contains("registry webhook secret"), "{hook}");
        assert!(
            !hook.contains("change-me"),
            "the message shows the secret: {hook}"
        );
        let db = refused(&[
            "--database-url",
            "postgres://streamgate:example-password-change-me@db:5432/streamgate",
        ])
        .expect("refused");
        assert!(db.contains("database password"), "{db}");

        let dir = tempfile::tempdir().expect("dir");
        let auth = dir.path().join("auth.json");
        std::fs::write(
            &auth,
            r#"{"auths":{"quay.io":{"auth":"ZXhhbXBsZS11c2VyOmV4YW1wbGUtdG9rZW4="}}}"#,
        )
        .expect("write");
        let path = auth.display().to_string();
        assert!(refused(&["--registry-auth-file", &path]).is_some());

        assert_eq!(
            refused(&[
                "--hook-secret",
                "registry=9c1f0e3b7a",
                "--database-url",
                "postgres://streamgate:s3cret-of-our-own@db/streamgate",
            ]),
            None
        );
    }
}
