//! The deployment documentation agrees with the built binary: every environment variable
//! that `server --help` and its subcommands' `--help` name is documented in `.env.example`,
//! every `serve` variable in the OpenShift ConfigMap or the example Secret, and no file of
//! the deployment names a variable the binary does not read (so a renamed or removed option
//! breaks this test). The manifests under `deploy/openshift` parse, name their objects, are
//! listed by the kustomization, and run subcommands that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use serde_yaml::Value;

/// The subcommands the deployment and the README rely on.
const SUBCOMMANDS: [&str; 8] = [
    "serve",
    "migrate",
    "reproject",
    "poll",
    "replay",
    "target",
    "user",
    "token",
];

/// Variables that are read from the environment without being options.
fn read_without_option(name: &str) -> bool {
    name == "RUST_LOG" || name.starts_with("LEPTOS_") || name == "STREAMGATE_TEST_PG"
}

/// Variables that hold credentials: the Secret's, never the ConfigMap's.
const SECRET_VARIABLES: [&str; 2] = ["DATABASE_URL", "STREAMGATE_HOOK_SECRETS"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds the server crate")
        .to_path_buf()
}

fn deploy_dir() -> PathBuf {
    root().join("deploy").join("openshift")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `server [PATH…] --help`, with an empty environment so no variable's value shows.
fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(path)
        .arg("--help")
        .env_clear()
        .output()
        .expect("server runs");
    assert!(
        out.status.success(),
        "server {} --help failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The names listed under `Commands:` in a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // a name sits two spaces in; deeper lines continue a description
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The variables a help text names in `[env: NAME=…]` (or `[env: NAME]` when values are
/// hidden), wherever clap wrapped the line.
fn env_names(help: &str) -> BTreeSet<String> {
    static ENV: OnceLock<Regex> = OnceLock::new();
    let re = ENV.get_or_init(|| {
        Regex::new(r"\[env:\s+([A-Za-z_][A-Za-z0-9_]*)\s*[=\]]").expect("valid regex")
    });
    re.captures_iter(help).map(|c| c[1].to_string()).collect()
}

/// Every command of the binary (`["serve"]`, `["user", "add"]`, …) with the variables its
/// help names.
fn commands() -> &'static BTreeMap<Vec<String>, BTreeSet<String>> {
    static COMMANDS: OnceLock<BTreeMap<Vec<String>, BTreeSet<String>>> = OnceLock::new();
    COMMANDS.get_or_init(|| {
        let mut out = BTreeMap::new();
        let mut todo: Vec<Vec<String>> = vec![Vec::new()];
        while let Some(path) = todo.pop() {
            let text = help(&path);
            for sub in subcommands(&text) {
                let mut next = path.clone();
                next.push(sub);
                todo.push(next);
            }
            out.insert(path, env_names(&text));
        }
        out
    })
}

/// Every variable any command reads, with the commands that read it.
fn all_variables() -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, names) in commands() {
        for name in names {
            out.entry(name.clone()).or_default().push(path.join(" "));
        }
    }
    out
}

fn serve_variables() -> &'static BTreeSet<String> {
    commands()
        .get(&vec!["serve".to_string()])
        .expect("server has a serve subcommand")
}

/// Names in `text` that look like Streamgate's variables.
fn mentioned_variables(text: &str) -> BTreeSet<String> {
    static NAME: OnceLock<Regex> = OnceLock::new();
    let re = NAME.get_or_init(|| {
        Regex::new(r"\b(STREAMGATE_[A-Z0-9_]+|DATABASE_URL)\b").expect("valid regex")
    });
    re.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

/// Whether `text` has a line assigning `name` with `sep` (`=` in an env file, `:` in YAML),
/// commented out or not.
fn documents(text: &str, name: &str, sep: char) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix('#').unwrap_or(line).trim_start();
        line.strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with(sep))
    })
}

/// The YAML documents of a file, without empty ones.
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .expect("deploy/openshift exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in deploy/openshift");
    files
}

/// Every object of every manifest with the file it is in.
fn objects() -> Vec<(String, Value)> {
    yaml_files()
        .iter()
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .flat_map(|p| {
            let file = p
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .to_string();
            yaml_documents(p)
                .into_iter()
                .map(move |v| (file.clone(), v))
        })
        .collect()
}

fn kind_of(v: &Value) -> &str {
    v["kind"].as_str().unwrap_or_default()
}

fn name_of(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or_default()
}

/// The keys of a ConfigMap's `data` or a Secret's `data` and `stringData`.
fn keys(v: &Value) -> BTreeSet<String> {
    ["data", "stringData"]
        .iter()
        .filter_map(|field| v[*field].as_mapping())
        .flat_map(|m| m.keys().filter_map(Value::as_str).map(str::to_string))
        .collect()
}

fn kustomization() -> Value {
    yaml_documents(&deploy_dir().join("kustomization.yaml"))
        .into_iter()
        .next()
        .expect("kustomization.yaml has a document")
}

fn kustomized_files() -> Vec<String> {
    kustomization()["resources"]
        .as_sequence()
        .expect("kustomization.yaml lists resources")
        .iter()
        .map(|r| r.as_str().expect("a resource is a file name").to_string())
        .collect()
}

#[test]
fn help_lists_every_subcommand() {
    let listed = subcommands(&help(&[]));
    for name in SUBCOMMANDS {
        assert!(
            listed.iter().any(|l| l == name),
            "server --help does not list {name}: {listed:?}"
        );
    }
    // the walk found the nested ones too, and their variables
    assert!(commands().contains_key(&vec!["user".to_string(), "add".to_string()]));
    let vars = all_variables();
    for name in [
        "DATABASE_URL",
        "STREAMGATE_ADDR",
        "STREAMGATE_HOOK_SECRETS",
        "STREAMGATE_USER_ROLE",
        "STREAMGATE_REPLAY_ADDR",
    ] {
        assert!(vars.contains_key(name), "no command's help names {name}");
    }
}

#[test]
fn env_example_documents_every_variable_of_every_command() {
    let example = read(&root().join(".env.example"));
    let missing: Vec<String> = all_variables()
        .into_iter()
        .filter(|(name, _)| !documents(&example, name, '='))
        .map(|(name, by)| format!("{name} (read by: {})", by.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        ".env.example lacks a `NAME=` line for: {missing:#?}"
    );
}

#[test]
fn configmap_or_secret_documents_every_serve_variable() {
    let configmap = read(&deploy_dir().join("configmap.yaml"));
    let secret = read(&deploy_dir().join("secret.example.yaml"));
    let missing: Vec<&String> = serve_variables()
        .iter()
        .filter(|name| !documents(&configmap, name, ':') && !documents(&secret, name, ':'))
        .collect();
    assert!(
        missing.is_empty(),
        "neither deploy/openshift/configmap.yaml nor secret.example.yaml has a `NAME:` line \
         (commented out or not) for: {missing:?}"
    );
}

#[test]
fn documentation_names_only_variables_the_binary_reads() {
    let known = all_variables();
    let mut files = yaml_files();
    files.extend(
        [".env.example", "Containerfile", "README.md"]
            .iter()
            .map(|f| root().join(f)),
    );
    let mut unknown = Vec::new();
    for file in &files {
        for name in mentioned_variables(&read(file)) {
            if !known.contains_key(&name) && !read_without_option(&name) {
                unknown.push(format!("{name} in {}", file.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "no command of `server` reads these (renamed or removed options?): {unknown:#?}"
    );
}

#[test]
fn configmap_and_secret_keys_are_variables_and_secrets_stay_secret() {
    let known = all_variables();
    let serve = serve_variables();
    let mut configmaps = 0;
    for (file, object) in objects() {
        let is_app = name_of(&object) == "streamgate";
        match kind_of(&object) {
            "ConfigMap" if is_app => {
                configmaps += 1;
                for key in keys(&object) {
                    assert!(
                        serve.contains(&key) || read_without_option(&key),
                        "{file}: ConfigMap key {key} is not a variable of `server serve`"
                    );
                    assert!(
                        !SECRET_VARIABLES.contains(&key.as_str()),
                        "{file}: {key} belongs in the Secret"
                    );
                }
            }
            "Secret" if is_app => {
                for key in keys(&object) {
                    assert!(
                        known.contains_key(&key),
                        "{file}: Secret key {key} is not a variable of `server`"
                    );
                }
            }
            _ => {}
        }
    }
    assert_eq!(configmaps, 1, "one ConfigMap `streamgate`");
}

#[test]
fn manifests_parse_and_name_their_objects() {
    for file in yaml_files() {
        let docs = yaml_documents(&file);
        assert!(!docs.is_empty(), "{} is empty", file.display());
        for doc in docs {
            if kind_of(&doc) == "Kustomization" {
                continue;
            }
            for field in ["apiVersion", "kind"] {
                assert!(
                    doc[field].as_str().is_some_and(|s| !s.is_empty()),
                    "{}: a document without {field}",
                    file.display()
                );
            }
            assert!(
                !name_of(&doc).is_empty(),
                "{}: a {} without metadata.name",
                file.display(),
                kind_of(&doc)
            );
        }
    }
}

#[test]
fn kustomization_lists_existing_manifests_but_never_the_example_secret() {
    let listed = kustomized_files();
    for file in &listed {
        let path = deploy_dir().join(file);
        assert!(path.is_file(), "kustomization.yaml lists missing {file}");
        assert!(
            !yaml_documents(&path).is_empty(),
            "kustomization.yaml lists empty {file}"
        );
    }
    for needed in ["configmap.yaml", "deployment.yaml", "service.yaml"] {
        assert!(
            listed.iter().any(|f| f == needed),
            "kustomization.yaml does not list {needed}"
        );
    }
    // `oc apply -k` must never overwrite real credentials with the example ones
    assert!(
        !listed.iter().any(|f| f.starts_with("secret")),
        "kustomization.yaml lists the example Secret"
    );
}

#[test]
fn deployment_runs_real_subcommands_with_its_config_and_health_probes() {
    let objects = objects();
    let listed = kustomized_files();
    let defined = |kind: &str, name: &str, files: &[String]| {
        objects.iter().any(|(file, o)| {
            kind_of(o) == kind && name_of(o) == name && files.iter().any(|f| f == file)
        })
    };
    let images: Vec<String> = kustomization()["images"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|i| i["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let deployment = objects
        .iter()
        .find(|(_, o)| kind_of(o) == "Deployment" && name_of(o) == "streamgate")
        .map(|(_, o)| o)
        .expect("a Deployment `streamgate`");
    let spec = &deployment["spec"]["template"]["spec"];
    let top_level = subcommands(&help(&[]));
    let mut containers = Vec::new();
    for field in ["initContainers", "containers"] {
        containers.extend(spec[field].as_sequence().into_iter().flatten());
    }
    assert!(
        containers.len() >= 2,
        "a migrate init container and the server"
    );
    let mut ran = BTreeSet::new();
    for c in containers {
        let name = c["name"].as_str().unwrap_or_default();
        let image = c["image"].as_str().unwrap_or_default();
        assert!(
            images.iter().any(|i| i == image),
            "container {name}: image {image} is not set by kustomization.yaml's images"
        );
        let sub = c["args"][0].as_str().unwrap_or_default();
        assert!(
            top_level.iter().any(|s| s == sub),
            "container {name} runs `server {sub}`, which server --help does not list"
        );
        ran.insert(sub.to_string());
        for from in c["envFrom"].as_sequence().into_iter().flatten() {
            if let Some(cm) = from["configMapRef"]["name"].as_str() {
                assert!(
                    defined("ConfigMap", cm, &listed),
                    "container {name}: ConfigMap {cm} is not in the kustomization"
                );
            }
            if let Some(secret) = from["secretRef"]["name"].as_str() {
                assert!(
                    defined("Secret", secret, &["secret.example.yaml".to_string()]),
                    "container {name}: Secret {secret} is not in secret.example.yaml"
                );
            }
        }
        if sub == "serve" {
            assert_eq!(
                c["readinessProbe"]["httpGet"]["path"].as_str(),
                Some("/readyz")
            );
            assert_eq!(
                c["livenessProbe"]["httpGet"]["path"].as_str(),
                Some("/healthz")
            );
            assert_eq!(c["ports"][0]["containerPort"].as_u64(), Some(8080));
        }
    }
    assert!(ran.contains("migrate") && ran.contains("serve"), "{ran:?}");
}

#[test]
fn documents_ignores_mere_mentions() {
    let text = "# sets STREAMGATE_X=1 elsewhere\n# STREAMGATE_Y=2\n  # STREAMGATE_Z: \"3\"\n";
    assert!(!documents(text, "STREAMGATE_X", '='));
    assert!(documents(text, "STREAMGATE_Y", '='));
    assert!(documents(text, "STREAMGATE_Z", ':'));
    assert!(!documents(text, "STREAMGATE_Z", '='));
    assert!(!documents("# STREAMGATE_YY=2", "STREAMGATE_Y", '='));
    let names = env_names("  --a <A>  x [env: STREAMGATE_A=]\n  --b  [env:\n STREAMGATE_B]");
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["STREAMGATE_A", "STREAMGATE_B"]
    );
}

/// The secret values an example file shows: each `HOOK=SECRET` of the hook variable, the
/// password of a database URL, a plain password, and every `auth` of an `auth.json`.
fn example_secret_values(key: &str, value: &str) -> Vec<String> {
    match key {
        "STREAMGATE_HOOK_SECRETS" => value
            .split(',')
            .filter_map(|pair| pair.split_once('=').map(|(_, s)| s.to_string()))
            .collect(),
        "DATABASE_URL" => reqwest::Url::parse(value)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
            .into_iter()
            .collect(),
        "auth.json" => {
            let json: serde_json::Value = serde_json::from_str(value).expect("auth.json parses");
            json["auths"]
                .as_object()
                .expect("auths")
                .values()
                .filter_map(|a| a["auth"].as_str().map(str::to_string))
                .collect()
        }
        k if k.contains("PASSWORD") || k.contains("SECRET") || k.contains("TOKEN") => {
            vec![value.to_string()]
        }
        _ => Vec::new(),
    }
}

#[test]
fn every_example_secret_is_refused_at_start_up() {
    let mut shown = Vec::new();
    for (_, object) in objects()
        .into_iter()
        .filter(|(_, o)| kind_of(o) == "Secret")
    {
        for (key, value) in object["stringData"].as_mapping().expect("stringData") {
            let (key, value) = (key.as_str().expect("key"), value.as_str().expect("value"));
            shown.extend(example_secret_values(key, value));
        }
    }
    let env = read(&root().join(".env.example"));
    for line in env.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some((key, value)) = line.split_once('=') {
            if SECRET_VARIABLES.contains(&key) {
                shown.extend(example_secret_values(key, value));
            }
        }
    }
    assert!(shown.len() >= 6, "found only {shown:?}");
    for secret in &shown {
        assert!(
            server::example_secrets::is_example(secret),
            "the example secret {secret:?} would be accepted at start-up"
        );
    }
}
