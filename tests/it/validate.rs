//! `validate` over the corpus of broken repositories in `tests/fixtures/invalid/<case>/`: every
//! case is invalid, its text rendering (no colours) is pinned by a snapshot, and no literal
//! value ever shows in the output.

use std::path::{Path, PathBuf};
use std::process::Command;

use infisical_gitops::cli::validate::{render_json, render_text, validate_path};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures().join("invalid"))
        .expect("fixture directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, path)
        })
        .collect();
    cases.sort();
    cases
}

/// Literal values in the fixtures all contain `canary`; none may be printed.
fn assert_no_values(output: &str) {
    for canary in ["canary", "hunter2"] {
        assert!(
            !output.contains(canary),
            "a literal value was printed:\n{output}"
        );
    }
}

#[test]
fn corpus_has_every_rule() {
    assert!(cases().len() >= 25, "at least 25 broken repositories");
}

#[test]
fn every_invalid_fixture_is_reported() {
    for (name, path) in cases() {
        let validation = validate_path(&path);
        assert!(validation.state.is_none(), "{name} should be invalid");
        assert!(validation.diagnostics.has_errors(), "{name}");
        for diagnostic in validation.diagnostics.iter() {
            assert!(
                diagnostic.origin.span.line > 0,
                "{name}: diagnostic without a line: {diagnostic}"
            );
        }
        let text = render_text(&path, &validation, false);
        assert_no_values(&text);
        assert_no_values(&render_json(&validation));
        insta::assert_snapshot!(format!("invalid__{name}"), text);
    }
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"));
    command
        .env_remove("NO_COLOR")
        .env_remove("INFISICAL_GITOPS_COLOR");
    command
}

fn run(args: &[&str], dir: &Path) -> (String, i32) {
    let output = binary()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the binary");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    (stdout, output.status.code().expect("exit code"))
}

#[test]
fn binary_reports_broken_repositories_with_exit_1() {
    for case in [
        "duplicate-secret-across-files",
        "unknown-field",
        "hostile-billion-laughs",
        "multi-document-offsets",
    ] {
        let dir = fixtures().join("invalid").join(case);
        let (stdout, code) = run(&["validate", "--color", "never"], &dir);
        assert_eq!(code, 1, "{case}");
        assert!(!stdout.contains('\u{1b}'), "no colours when not asked");
        let library = render_text(&dir, &validate_path(&dir), false);
        assert_eq!(
            stdout, library,
            "{case}: the binary prints what the library renders"
        );
    }
}

#[test]
fn binary_colours_only_when_asked() {
    let dir = fixtures().join("invalid").join("unknown-field");
    let (plain, _) = run(&["validate", "."], &dir);
    assert!(!plain.contains('\u{1b}'), "stdout is not a terminal");
    let (coloured, code) = run(&["validate", ".", "--color", "always"], &dir);
    assert_eq!(code, 1);
    assert!(coloured.contains("\u{1b}[1;31m"));
}

#[test]
fn binary_json_output() {
    let dir = fixtures()
        .join("invalid")
        .join("duplicate-secret-across-files");
    let (stdout, code) = run(&["validate", "--format", "json"], &dir);
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(value["valid"], false);
    insta::assert_snapshot!("json__duplicate-secret-across-files", stdout);
}

#[test]
fn binary_validates_the_example() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state");
    let (stdout, code) = run(&["validate", example.to_str().unwrap()], &fixtures());
    assert_eq!(code, 0, "{stdout}");
    insta::assert_snapshot!("example_summary", stdout);
    let (json, code) = run(
        &["validate", example.to_str().unwrap(), "--format", "json"],
        &fixtures(),
    );
    assert_eq!(code, 0);
    insta::assert_snapshot!("example_summary_json", json);
}

#[test]
fn missing_path_is_an_error() {
    let (stdout, code) = run(&["validate", "does-not-exist"], &fixtures());
    assert_eq!(code, 1);
    assert!(stdout.contains("cannot read `does-not-exist`"), "{stdout}");
}

#[test]
fn oversized_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let line = "# padding padding padding padding padding padding padding padding\n";
    let text = line.repeat(5 * 1024 * 1024 / line.len() + 1);
    std::fs::write(dir.path().join("huge.yaml"), text).unwrap();
    let validation = validate_path(dir.path());
    let text = render_text(dir.path(), &validation, false);
    insta::assert_snapshot!("oversized_file", text);
}

#[test]
fn hidden_directories_and_other_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/config.yaml"), "not: [valid").unwrap();
    std::fs::write(dir.path().join("README.md"), "# not yaml").unwrap();
    std::fs::write(dir.path().join("empty.yml"), "# only a comment\n---\n").unwrap();
    let validation = validate_path(dir.path());
    assert!(
        validation.diagnostics.is_empty(),
        "{:?}",
        validation.diagnostics
    );
    assert_eq!(validation.summary.files, 1);
}

const PROJECT: &str = "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata:
  name: applications
spec:
  environments:
    - slug: prod
      name: Production
";

const CANARY_FILE: &str = "canary-git-token-7f3a";
const CANARY_ENVIRONMENT: &str = "canary-client-secret-91b2";

/// A repository beside a directory `outside` holding a credentials file, a YAML file and a
/// canary in the loader's own environment: the repository links to all three.
#[cfg(unix)]
fn linked_repository() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::symlink;
    let work = tempfile::tempdir().unwrap();
    let outside = work.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(
        outside.join("git-credentials"),
        format!("https://ci:{CANARY_FILE}@forge.invalid\n"),
    )
    .unwrap();
    std::fs::write(outside.join("more.yaml"), format!("kind: {CANARY_FILE}\n")).unwrap();
    let repo = work.path().join("repo");
    std::fs::create_dir_all(repo.join("projects")).unwrap();
    std::fs::write(repo.join("projects/applications.yaml"), PROJECT).unwrap();
    symlink(
        "../../outside/git-credentials",
        repo.join("projects/creds.yaml"),
    )
    .unwrap();
    symlink("/proc/self/environ", repo.join("env.yaml")).unwrap();
    symlink("../outside", repo.join("shared")).unwrap();
    symlink("../outside/absent.yaml", repo.join("dangling.yml")).unwrap();
    symlink("../outside/git-credentials", repo.join("notes.txt")).unwrap();
    (work, repo)
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_refused_and_never_read() {
    let (_work, repo) = linked_repository();
    for format in ["text", "json"] {
        let output = binary()
            .args(["validate", ".", "--format", format])
            .current_dir(&repo)
            .env("CANARY_CLIENT_SECRET", CANARY_ENVIRONMENT)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        for canary in [CANARY_FILE, CANARY_ENVIRONMENT] {
            assert!(!stdout.contains(canary), "{canary} in stdout:\n{stdout}");
            assert!(!stderr.contains(canary), "{canary} in stderr:\n{stderr}");
        }
        insta::assert_snapshot!(format!("symbolic_links_{format}"), stdout);
    }
    // The local source's revision hashes links by their target, never reading through them.
    let first = infisical_gitops::source::local::directory_revision(&repo).unwrap();
    std::fs::write(
        repo.parent().unwrap().join("outside/git-credentials"),
        "changed",
    )
    .unwrap();
    assert_eq!(
        infisical_gitops::source::local::directory_revision(&repo).unwrap(),
        first
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_yaml_is_refused_without_being_opened() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("project.yaml"), PROJECT).unwrap();
    let status = Command::new("mkfifo")
        .arg(dir.path().join("pipe.yaml"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    // Opening a fifo blocks until a writer comes: run in a thread, bounded.
    let root = dir.path().to_path_buf();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let validation = validate_path(&root);
        let text = render_text(&root, &validation, false);
        let revision = infisical_gitops::source::local::directory_revision(&root);
        let _ = sender.send((text, revision.is_ok()));
    });
    let (text, revision) = receiver
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the loader blocked on the fifo");
    assert!(
        revision,
        "the local revision is computed without opening the fifo"
    );
    insta::assert_snapshot!("fifo", text.replace(dir.path().to_str().unwrap(), "[DIR]"));
}

#[test]
fn a_template_entry_that_reads_no_secret_is_a_warning_that_never_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&example)
        .arg(dir.path().join("repo"))
        .status()
        .unwrap();
    assert!(status.success());
    let repo = dir.path().join("repo");
    let syncs = repo.join("kubernetes/syncs.yaml");
    let text = std::fs::read_to_string(&syncs)
        .unwrap()
        .replace(
            "password: \"{{ .POSTGRES_PASSWORD.Value }}\"",
            "password: \"hunter2-canary-tpl\"",
        )
        .replace(
            "host: \"{{ .POSTGRES_HOST.Value }}\"",
            "host: '{{ \"canary-host-tpl\" }}'",
        );
    std::fs::write(&syncs, text).unwrap();
    let validation = validate_path(&repo);
    let text = render_text(&repo, &validation, false);
    assert!(!text.contains("canary"), "{text}");
    assert!(!render_json(&validation).contains("canary"));
    insta::assert_snapshot!("template_literal", text);
}

/// Literal values in every YAML style (flow, block, folded, plain on the next line, quoted over
/// two lines) stay out of the diagnostics of `validate`, `plan` and `apply`, on stdout and
/// stderr; the carets still point at the right token.
#[test]
fn literal_values_in_every_style_stay_out_of_every_command() {
    let dir = fixtures().join("invalid").join("literal-styles");
    for args in [
        &["validate", "--color", "never"][..],
        &["validate", "--format", "json"],
        &["plan", "--color", "never", "--dev"],
        &["apply", "--color", "never", "--dev"],
    ] {
        let output = binary()
            .args(args)
            .arg(&dir)
            .output()
            .expect("run the binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stdout.contains("sensitive-literal") || stderr.contains("sensitive-literal"),
            "{args:?}: {stdout}{stderr}"
        );
        for canary in ["canary", "PRIVATE KEY"] {
            assert!(
                !stdout.contains(canary) && !stderr.contains(canary),
                "{args:?} printed a literal value:\n{stdout}\n{stderr}"
            );
        }
    }
}

/// A secret reference in a literal value that names no declared secret is a warning naming the
/// file, the secret and the fix; the text around the reference is never printed.
#[test]
fn an_unresolved_reference_is_a_warning_that_never_shows_the_rest_of_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("project.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1
kind: Project
metadata: {name: shop-api}
spec:
  environments: [{slug: prod}]
  folders: [{path: /api}]
",
    )
    .unwrap();
    std::fs::write(
        repo.join("secrets.yaml"),
        "apiVersion: infisical-gitops.io/v1alpha1
kind: SecretSet
metadata: {name: api}
spec:
  project: shop-api
  environments: [prod]
  path: /api
  secrets:
    - key: DATABASE_ADDRESS
      sensitive: false
      value: \"canary-${prod.DB_HOST}:5432\"
    - key: PUBLIC_HOST
      sensitive: false
      value: shop.example.com
    - key: PUBLIC_URL
      sensitive: false
      value: \"https://${PUBLIC_HOST}/canary\"
",
    )
    .unwrap();
    let validation = validate_path(&repo);
    let text = render_text(&repo, &validation, false);
    assert!(
        validation.state.is_some(),
        "a reference never blocks: {text}"
    );
    assert!(!text.contains("canary"), "{text}");
    assert!(!render_json(&validation).contains("canary"));
    insta::assert_snapshot!("unresolved_reference", text);
}
