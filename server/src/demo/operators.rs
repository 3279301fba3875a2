//! The demo's operator images: every `*-operator` component and the machine OS image carry
//! `io.openshift.release.operator=true` and a top layer of `manifests/`, as their upstream
//! images do — a Deployment naming the operator's image and the images it runs, a
//! ClusterOperator, version placeholders, and the operator's own `image-references` naming
//! those images by their upstream pull specs (`quay.io/openshift/origin-<tag>:latest`).
//!
//! Every other component is named by one operator (the one that runs it upstream, else the
//! cluster-version-operator), so that building a payload leaves none of them out.

/// Where upstream's manifests name a component's image.
pub fn upstream_image(tag: &str) -> String {
    format!("quay.io/openshift/origin-{tag}:latest")
}

/// Components and the operator whose manifests name them.
const NAMED_BY: &[(&str, &str)] = &[
    ("ovn-kubernetes", "cluster-network-operator"),
    ("console", "console-operator"),
    ("haproxy-router", "cluster-ingress-operator"),
    ("hyperkube", "cluster-kube-apiserver-operator"),
    ("cli", "cluster-kube-apiserver-operator"),
    ("installer", "machine-config-operator"),
];
/// The operator naming every component no other operator names.
const FALLBACK: &str = "cluster-version-operator";
/// The operator that names the machine OS image and uses its version.
const MACHINE_CONFIG: &str = "machine-config-operator";

/// Whether component `tag` is an operator image in a payload whose machine OS image is
/// `os_tag`.
pub fn is_operator(tag: &str, os_tag: &str) -> bool {
    tag.ends_with("-operator") || tag == os_tag
}

/// The operator whose `image-references` names component `tag`.
fn named_by<'a>(tag: &'a str, os_tag: &str, tags: &[&str]) -> &'a str {
    if tag == os_tag && tags.contains(&MACHINE_CONFIG) {
        return MACHINE_CONFIG;
    }
    if is_operator(tag, os_tag) {
        return tag;
    }
    NAMED_BY
        .iter()
        .find(|(component, operator)| *component == tag && tags.contains(operator))
        .map_or(FALLBACK, |(_, operator)| operator)
}

/// The files of `manifests/` of operator `tag` in a payload of `tags` whose machine OS image
/// is `os_tag`, as (name, content); empty for a component that is not an operator.
pub fn manifests(tag: &str, tags: &[&str], os_tag: &str) -> Vec<(String, Vec<u8>)> {
    if !is_operator(tag, os_tag) {
        return Vec::new();
    }
    let mut named: Vec<&str> = vec![tag];
    named.extend(
        tags.iter()
            .copied()
            .filter(|t| *t != tag && named_by(t, os_tag, tags) == tag),
    );
    let mut files = if tag == os_tag {
        vec![(
            "0000_80_machine-config_05_osimageurl.yaml".to_string(),
            os_image_url(tag),
        )]
    } else {
        operator_files(tag, &named, os_tag)
    };
    files.push(("image-references".to_string(), image_references(&named)));
    files
}

/// The namespace an operator runs in.
fn namespace(tag: &str) -> String {
    match tag {
        "cluster-version-operator" => "openshift-cluster-version".to_string(),
        _ => format!("openshift-{}", tag.trim_start_matches("cluster-")),
    }
}

/// An operator's Namespace, Deployment and ClusterOperator.
fn operator_files(tag: &str, named: &[&str], os_tag: &str) -> Vec<(String, Vec<u8>)> {
    let ns = namespace(tag);
    let mut env =
        String::from("        - name: RELEASE_VERSION\n          value: \"0.0.1-snapshot\"\n");
    for other in named.iter().filter(|n| **n != tag) {
        let var = other.to_uppercase().replace('-', "_");
        env.push_str(&format!(
            "        - name: {var}_IMAGE\n          value: {}\n",
            upstream_image(other)
        ));
    }
    if named.contains(&os_tag) {
        env.push_str(
            "        - name: MACHINE_OS_VERSION\n          value: \"0.0.1-snapshot-machine-os\"\n",
        );
    }
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {tag}\n  namespace: {ns}\n  \
         annotations:\n    release.openshift.io/version: \"0.0.1-snapshot\"\nspec:\n  replicas: 1\n  \
         template:\n    spec:\n      containers:\n      - name: {tag}\n        image: {}\n        \
         env:\n{env}",
        upstream_image(tag)
    );
    let operator = tag
        .trim_start_matches("cluster-")
        .trim_end_matches("-operator");
    let cluster_operator = format!(
        "apiVersion: config.openshift.io/v1\nkind: ClusterOperator\nmetadata:\n  name: {operator}\n  \
         annotations:\n    include.release.openshift.io/self-managed-high-availability: \"true\"\n\
         status:\n  versions:\n  - name: operator\n    version: \"0.0.1-snapshot\"\n"
    );
    let namespace = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
    let deployment_name = if tag == "cluster-version-operator" {
        // the cluster-version-operator orders its own manifests
        "0000_00_cluster-version-operator_03_deployment.yaml".to_string()
    } else {
        "deployment.yaml".to_string()
    };
    vec![
        ("00_namespace.yaml".to_string(), namespace.into_bytes()),
        (deployment_name, deployment.into_bytes()),
        (
            "clusteroperator.yaml".to_string(),
            cluster_operator.into_bytes(),
        ),
    ]
}

/// The machine OS image's manifest: where nodes get the OS and which version it is.
fn os_image_url(os_tag: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: machine-config-osimageurl\n  \
         namespace: openshift-machine-config-operator\ndata:\n  releaseVersion: \"0.0.1-snapshot\"\n  \
         osImageURL: \"{}\"\n  osVersion: \"0.0.1-snapshot-machine-os\"\n",
        upstream_image(os_tag)
    )
    .into_bytes()
}

/// An operator's `image-references`: `named` by their upstream pull specs.
fn image_references(named: &[&str]) -> Vec<u8> {
    let mut out =
        String::from("kind: ImageStream\napiVersion: image.openshift.io/v1\nspec:\n  tags:\n");
    for n in named {
        out.push_str(&format!(
            "  - name: {n}\n    from:\n      kind: DockerImage\n      name: {}\n",
            upstream_image(n)
        ));
    }
    out.into_bytes()
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    const TAGS: &[&str] = &[
        "centos-stream-coreos-9",
        "cli",
        "cluster-ingress-operator",
        "cluster-kube-apiserver-operator",
        "cluster-version-operator",
        "haproxy-router",
        "hyperkube",
        "machine-config-operator",
        "tests",
    ];
    const OS: &str = "centos-stream-coreos-9";

    fn names_in(tag: &str) -> Vec<String> {
        let files = manifests(tag, TAGS, OS);
        let refs = &files
            .iter()
            .find(|(n, _)| n == "image-references")
            .expect("refs")
            .1;
        let refs: serde_json::Value = serde_yaml::from_slice(refs).expect("yaml");
        refs["spec"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_string())
            .collect()
    }

    #[test]
    fn every_component_is_named_by_exactly_one_operator() {
        let operators: Vec<&str> = TAGS
            .iter()
            .copied()
            .filter(|t| is_operator(t, OS))
            .collect();
        assert!(!is_operator("cli", OS) && is_operator(OS, OS));
        for tag in TAGS {
            let naming: Vec<&&str> = operators
                .iter()
                .filter(|o| **o != *tag && names_in(o).contains(&tag.to_string()))
                .collect();
            let expected = usize::from(!is_operator(tag, OS) || *tag == OS);
            assert_eq!(naming.len(), expected, "{tag} named by {naming:?}");
        }
        assert_eq!(
            names_in("cluster-kube-apiserver-operator"),
            ["cluster-kube-apiserver-operator", "cli", "hyperkube"]
        );
        assert_eq!(
            names_in("cluster-version-operator"),
            ["cluster-version-operator", "tests"]
        );
        assert!(manifests("cli", TAGS, OS).is_empty());
    }

    #[test]
    fn manifests_are_kubernetes_objects_with_placeholders() {
        for tag in TAGS.iter().filter(|t| is_operator(t, OS)) {
            for (name, body) in manifests(tag, TAGS, OS) {
                crate::promote::payload::layer::check_manifest(&name, &body).expect("valid");
                if name != "image-references" && !name.contains("namespace") {
                    let text = String::from_utf8(body).expect("utf-8");
                    assert!(text.contains("\"0.0.1-snapshot\""), "{tag}/{name}");
                }
            }
        }
        let mco = manifests("machine-config-operator", TAGS, OS);
        assert!(mco
            .iter()
            .any(|(_, b)| String::from_utf8_lossy(b).contains("0.0.1-snapshot-machine-os")));
    }
}
