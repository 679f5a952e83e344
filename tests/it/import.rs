//! `import`: a live Infisical (the dev server, seeded through its HTTP API) → a repository that
//! validates (placeholders aside) and plans nothing but adoption; mapping files, name matching,
//! ambiguity, overwrite protection, and a scan that no value is written anywhere.

use crate::support::names::{env_slug, folder_path, tag_slug};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use infisical_gitops::cli::import::{render_dry_run, render_summary};
use infisical_gitops::cli::validate::{render_text, validate_path};
use infisical_gitops::dev::{DevServer, DevServerConfig};
use infisical_gitops::import::{
    Catalog, ChoiceReason, Chooser, ImportError, ImportOptions, Imported, Mapping, MatchMode,
    Refuse, Selection, generate, read_live,
};
use infisical_gitops::infisical::{
    ClientConfig, CreateEnvironment, CreateFolder, CreateProject, Credentials, HttpClient,
    InfisicalApi, SecretScope, SecretWrite,
};
use infisical_gitops::model::document::Adoption;
use infisical_gitops::model::{Address, SecretValue};
use infisical_gitops::plan::render::text;
use infisical_gitops::plan::{Action, FieldChange, Reason};
use infisical_gitops::reconcile::Reconciler;
use infisical_gitops::resolve::SourceResolver;
use infisical_gitops::resolve::bitwarden::{BitwardenResolver, ExportVault, PasswordManager};
use serde_json::{Value, json};

const FOLDER: &str = "2d4e6f80-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
const OTHER_FOLDER: &str = "7a7a7a7a-1a3b-4c5d-8e9f-0a1b2c3d4e5f";
const DB_ITEM: &str = "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01";

/// Every seeded value: none may appear in any output.
const VALUES: &[&str] = &[
    "canary-api-key-0c4e81",
    "canary-log-dev-5d2a",
    "canary-log-staging-77e1",
    "canary-log-prod-9b03",
    "canary-pg-password-prod-1f2e",
    "canary-pg-user-prod-44a0",
    "canary-pg-password-dev-3c9d",
    "canary-session-secret-aa71",
    "canary-orphan-token-e602",
];

fn item(id: &str, name: &str, folder: &str, username: &str, password: &str) -> Value {
    json!({
        "id": id, "type": 1, "name": name, "folderId": folder, "collectionIds": [],
        "login": {"username": username, "password": password, "uris": []},
        "fields": [], "deletedDate": null
    })
}

/// The vault: items named like the secrets in `FOLDER` (by key, or by full address when the
/// value differs per environment), one item for the mapping file, and a decoy outside the folder.
fn vault_items(with_session: bool) -> Vec<Value> {
    let mut items = vec![
        item(
            "11111111-0000-4000-8000-000000000001",
            "API_KEY",
            FOLDER,
            "",
            "canary-api-key-0c4e81",
        ),
        item(
            "11111111-0000-4000-8000-000000000002",
            "payments/dev:/#LOG_LEVEL",
            FOLDER,
            "",
            "canary-log-dev-5d2a",
        ),
        item(
            "11111111-0000-4000-8000-000000000003",
            "payments/staging:/#LOG_LEVEL",
            FOLDER,
            "",
            "canary-log-staging-77e1",
        ),
        item(
            "11111111-0000-4000-8000-000000000004",
            "payments/prod:/#LOG_LEVEL",
            FOLDER,
            "",
            "canary-log-prod-9b03",
        ),
        item(
            "11111111-0000-4000-8000-000000000005",
            "payments/dev:/db#POSTGRES_PASSWORD",
            FOLDER,
            "",
            "canary-pg-password-dev-3c9d",
        ),
        item(
            DB_ITEM,
            "payments production database",
            OTHER_FOLDER,
            "canary-pg-user-prod-44a0",
            "canary-pg-password-prod-1f2e",
        ),
        // Same name as an unmatched secret, but outside the folder: must not match.
        item(
            "11111111-0000-4000-8000-0000000000ff",
            "SESSION_SECRET",
            OTHER_FOLDER,
            "",
            "not-the-value",
        ),
    ];
    if with_session {
        items.push(item(
            "11111111-0000-4000-8000-000000000006",
            "SESSION_SECRET",
            FOLDER,
            "",
            "canary-session-secret-aa71",
        ));
    }
    items
}

fn export_json(items: Vec<Value>) -> String {
    json!({"encrypted": false, "folders": [], "items": items}).to_string()
}

fn catalog(items: Vec<Value>) -> (Catalog, ExportVault) {
    let vault = ExportVault::parse(&export_json(items), "export.json").unwrap();
    (
        Catalog::new(vault.items().to_vec(), Some(FOLDER.to_string()), None),
        vault,
    )
}

const MAPPING: &str = "\
payments/prod:/db#POSTGRES_PASSWORD:
  item: 6B1F0C3E-2A7D-4C59-9E48-1D3A5F7B9C01
payments/prod:/db#POSTGRES_USER:
  item: 6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c01
  field: username
";

struct Live {
    server: DevServer,
    api: Arc<HttpClient>,
}

impl Live {
    /// An empty dev server and a client logged in to it.
    async fn start() -> Self {
        let server = DevServer::start(DevServerConfig::default()).await.unwrap();
        let config = ClientConfig::new(
            server.url(),
            Credentials::universal_auth("dev-client-id", "dev-client-secret"),
        );
        let api = Arc::new(HttpClient::new(config).unwrap());
        Self { server, api }
    }
}

fn write(
    key: &str,
    value: &str,
    comment: &str,
    tags: &[&str],
    metadata: &[(&str, &str)],
) -> SecretWrite {
    SecretWrite {
        key: key.into(),
        value: Some(SecretValue::new(value)),
        comment: Some(comment.into()),
        tag_ids: Some(tags.iter().map(|t| t.to_string()).collect()),
        metadata: Some(
            metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
    }
}

/// A realistic hand-made Infisical, built through the HTTP API: a project with three
/// environments, nested folders, tags, comments and metadata, and a second project.
async fn seeded() -> Live {
    let Live { server, api } = Live::start().await;
    let project = api
        .create_project(&CreateProject {
            name: "Payments API".into(),
            slug: "payments".into(),
            description: Some("Secrets of the payments service".into()),
            create_default_environments: false,
        })
        .await
        .unwrap();
    for (position, (slug, name)) in [
        ("dev", "Development"),
        ("staging", "Staging"),
        ("prod", "Production"),
    ]
    .into_iter()
    .enumerate()
    {
        api.create_environment(
            &project.id,
            &CreateEnvironment {
                name: name.into(),
                slug: slug.into(),
                position: Some(u32::try_from(position).unwrap() + 1),
            },
        )
        .await
        .unwrap();
    }
    let folder =
        |environment: &str, parent: &str, name: &str, description: Option<&str>| CreateFolder {
            project_id: project.id.clone(),
            environment: env_slug(environment),
            parent_path: folder_path(parent),
            name: name.into(),
            description: description.map(Into::into),
        };
    for environment in ["dev", "staging", "prod"] {
        api.create_folder(&folder(
            environment,
            "/",
            "db",
            Some("Database credentials"),
        ))
        .await
        .unwrap();
    }
    api.create_folder(&folder("prod", "/", "apps", None))
        .await
        .unwrap();
    api.create_folder(&folder("prod", "/apps", "web", None))
        .await
        .unwrap();
    let critical = api
        .create_tag(&project.id, &tag_slug("critical"))
        .await
        .unwrap()
        .id;
    let database = api
        .create_tag(&project.id, &tag_slug("database"))
        .await
        .unwrap()
        .id;
    let scope = |environment: &str, path: &str| SecretScope {
        project_id: project.id.clone(),
        environment: env_slug(environment),
        path: folder_path(path),
    };
    for (environment, log) in [
        ("dev", "canary-log-dev-5d2a"),
        ("staging", "canary-log-staging-77e1"),
        ("prod", "canary-log-prod-9b03"),
    ] {
        api.create_secrets(
            &scope(environment, "/"),
            &[
                write(
                    "API_KEY",
                    "canary-api-key-0c4e81",
                    "Payment provider API key",
                    &[critical.as_str()],
                    &[("owner", "team-payments"), ("rotation", "yearly")],
                ),
                write("LOG_LEVEL", log, "", &[], &[]),
            ],
        )
        .await
        .unwrap();
    }
    api.create_secrets(
        &scope("prod", "/db"),
        &[
            write(
                "POSTGRES_PASSWORD",
                "canary-pg-password-prod-1f2e",
                "Primary database: password",
                &[database.as_str(), critical.as_str()],
                &[("owner", "team-payments")],
            ),
            write(
                "POSTGRES_USER",
                "canary-pg-user-prod-44a0",
                "Primary database: user",
                &[database.as_str()],
                &[],
            ),
        ],
    )
    .await
    .unwrap();
    api.create_secrets(
        &scope("dev", "/db"),
        &[write(
            "POSTGRES_PASSWORD",
            "canary-pg-password-dev-3c9d",
            "",
            &[database.as_str()],
            &[],
        )],
    )
    .await
    .unwrap();
    api.create_secrets(
        &scope("prod", "/apps/web"),
        &[write(
            "SESSION_SECRET",
            "canary-session-secret-aa71",
            "Signs session cookies",
            &[],
            &[("owner", "team-web")],
        )],
    )
    .await
    .unwrap();
    let tools = api
        .create_project(&CreateProject {
            name: "tools".into(),
            slug: "tools".into(),
            description: None,
            create_default_environments: true,
        })
        .await
        .unwrap();
    api.create_secrets(
        &SecretScope {
            project_id: tools.id,
            environment: env_slug("prod"),
            path: folder_path("/"),
        },
        &[write(
            "ORPHAN_TOKEN",
            "canary-orphan-token-e602",
            "",
            &[],
            &[],
        )],
    )
    .await
    .unwrap();
    Live { server, api }
}

fn options() -> ImportOptions {
    ImportOptions {
        instance: "https://secrets.example.com".into(),
        adoption: Adoption::Adopt,
        matching: MatchMode::Both,
    }
}

async fn import(
    live: &Live,
    selection: Selection,
    items: Vec<Value>,
    mapping: &str,
    chooser: &mut dyn Chooser,
) -> Result<Imported, ImportError> {
    import_with(live, selection, items, mapping, chooser, &options()).await
}

async fn import_with(
    live: &Live,
    selection: Selection,
    items: Vec<Value>,
    mapping: &str,
    chooser: &mut dyn Chooser,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let (projects, observed) = read_live(live.api.as_ref(), &selection, 4).await?;
    let (catalog, _) = catalog(items);
    let mapping = Mapping::parse(mapping, "mapping.yaml").unwrap();
    generate(
        &projects,
        &observed,
        &mapping,
        Some(&catalog),
        chooser,
        options,
    )
}

fn write_out(dir: &Path, imported: &Imported) {
    for file in &imported.files {
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
}

fn assert_no_value(what: &str, text: &str) {
    for value in VALUES {
        assert!(!text.contains(value), "{what} contains a seeded value");
    }
}

fn payments() -> Selection {
    Selection::Projects(vec!["payments".into()])
}

#[tokio::test]
async fn import_validates_and_the_first_plan_only_adopts_then_apply_converges() {
    let live = seeded().await;

    // 1. The vault lacks SESSION_SECRET: a placeholder, which validate reports.
    let first = import(&live, payments(), vault_items(false), MAPPING, &mut Refuse)
        .await
        .unwrap();
    let dry_run = render_dry_run(&first);
    let summary = render_summary(&first, true);
    assert_no_value("dry-run output", &dry_run);
    assert_no_value("summary", &summary);
    insta::assert_snapshot!("payments_files", dry_run);
    insta::assert_snapshot!("payments_summary", summary);
    assert_eq!(
        first.report.placeholders,
        vec![
            "payments/prod:/apps/web#SESSION_SECRET"
                .parse::<Address>()
                .unwrap()
        ]
    );
    assert!(first.report.differing_values.is_empty());
    let dir = tempfile::tempdir().unwrap();
    write_out(dir.path(), &first);
    let validation = validate_path(dir.path());
    assert!(validation.state.is_none());
    let codes: Vec<&str> = validation.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["placeholder-source"]);
    let rendered = render_text(dir.path(), &validation, false);
    assert_no_value("validate output", &rendered);
    insta::assert_snapshot!("placeholder_diagnostic", rendered);

    // 2. Someone adds the item to Bitwarden and imports again: the repository validates.
    let second = import(&live, payments(), vault_items(true), MAPPING, &mut Refuse)
        .await
        .unwrap();
    assert!(second.report.placeholders.is_empty());
    assert!(
        second.report.differing_values.is_empty(),
        "{:?}",
        second.report
    );
    let dir = tempfile::tempdir().unwrap();
    write_out(dir.path(), &second);
    let validation = validate_path(dir.path());
    let desired = validation
        .state
        .clone()
        .unwrap_or_else(|| panic!("{}", render_text(dir.path(), &validation, false)));
    assert!(validation.diagnostics.is_empty());

    // 3. Plan against the same Infisical, with Bitwarden answering from the export: only
    //    adoption (markers), no value, comment, tag or metadata change, nothing created.
    let (_, vault) = catalog(vault_items(true));
    let resolver = BitwardenResolver::new(PasswordManager::Export(Arc::new(vault)), None);
    let reconciler = Reconciler::new(
        live.api.clone(),
        Arc::new(SourceResolver::new().with_bitwarden(Arc::new(resolver))),
    );
    let run = reconciler.plan(desired.clone()).await.unwrap();
    let plan_text = text::render(&run.plan, Default::default());
    assert_no_value("plan", &plan_text);
    assert!(run.plan.unresolved.is_empty(), "{plan_text}");
    assert!(run.plan.errors.is_empty(), "{plan_text}");
    assert!(!run.plan.changes.is_empty());
    for change in &run.plan.changes {
        assert_eq!(change.action, Action::Update, "{plan_text}");
        assert_eq!(change.reason, Reason::Adopted, "{plan_text}");
        for field in change.visible_fields() {
            assert!(
                matches!(field, FieldChange::Marker { .. }),
                "{}: {field:?}\n{plan_text}",
                change.address
            );
        }
    }
    // 1 project + 3 + 3 root secrets + 2 prod db + 1 dev db + 1 web secret.
    assert_eq!(run.plan.changes.len(), 11, "{plan_text}");
    insta::assert_snapshot!("first_plan", plan_text);

    // 4. Apply writes the markers; the next plan is empty.
    let report = reconciler.apply(&run, None).await.unwrap();
    assert!(report.is_success(), "{}", report.render_text());
    let again = reconciler.plan(desired).await.unwrap();
    assert!(
        again.plan.is_empty(),
        "{}",
        text::render(&again.plan, Default::default())
    );
    live.server.shutdown().await;
}

#[tokio::test]
async fn all_projects_are_imported_and_unmatched_secrets_get_placeholders() {
    let live = seeded().await;
    live.server.reset_counts();
    let imported = import(&live, Selection::All, vault_items(true), "", &mut Refuse)
        .await
        .unwrap();
    // One project listing, one lookup per project, one folder and one secret listing per
    // environment (2 projects × 3 environments), and one import listing per folder (Infisical
    // lists imports one folder at a time: 6 roots and 5 folders): read-only, nothing per secret.
    let counts = live.server.request_counts();
    let total: u64 = counts.values().sum();
    assert_eq!(total, 1 + 2 + 2 * 6 + 11, "{counts:?}");
    assert_eq!(counts["GET /api/v2/secret-imports"], 11, "{counts:?}");
    assert!(
        counts.keys().all(|route| route.starts_with("GET ")),
        "{counts:?}"
    );
    let paths: Vec<String> = imported
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "projects/payments.yaml",
            "projects/tools.yaml",
            "secrets/payments/apps.web.yaml",
            "secrets/payments/db.yaml",
            "secrets/payments/root.yaml",
            "secrets/tools/root.yaml",
        ]
    );
    // Without the mapping file the production database secrets have no named item.
    let placeholders: Vec<String> = imported
        .report
        .placeholders
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        placeholders,
        [
            "payments/prod:/db#POSTGRES_PASSWORD",
            "payments/prod:/db#POSTGRES_USER",
            "tools/prod:/#ORPHAN_TOKEN",
        ]
    );
    let tools = &imported.files[5].content;
    assert_no_value("tools", tools);
    insta::assert_snapshot!("tools_secrets", tools);
    live.server.shutdown().await;
}

struct PickFirst(usize);

impl Chooser for PickFirst {
    fn choose(&mut self, _: &Address, _: &ChoiceReason, candidates: &[String]) -> Option<String> {
        self.0 += 1;
        candidates.first().cloned()
    }
}

#[tokio::test]
async fn an_ambiguous_name_is_an_error_listing_the_candidates_unless_chosen() {
    let live = seeded().await;
    let mut items = vault_items(true);
    items.push(item(
        "22222222-0000-4000-8000-000000000001",
        "API_KEY",
        FOLDER,
        "",
        "another",
    ));
    // By value, the item holding the value wins over the decoy named alike.
    let by_value = import(&live, payments(), items.clone(), MAPPING, &mut Refuse)
        .await
        .unwrap();
    assert_eq!(by_value.report.matched_by_value, 8, "{:?}", by_value.report);
    // By name only, the two items named `API_KEY` are ambiguous.
    let by_name = ImportOptions {
        matching: MatchMode::Name,
        ..options()
    };
    let error = import_with(
        &live,
        payments(),
        items.clone(),
        MAPPING,
        &mut Refuse,
        &by_name,
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert_no_value("error", &message);
    insta::assert_snapshot!("ambiguous_error", message);

    // A chooser (the terminal prompt) is asked once per name, not once per environment.
    let mut chooser = PickFirst(0);
    let imported = import_with(&live, payments(), items, MAPPING, &mut chooser, &by_name)
        .await
        .unwrap();
    assert_eq!(chooser.0, 1);
    let root = imported
        .files
        .iter()
        .find(|f| f.path.ends_with("root.yaml"))
        .unwrap();
    assert!(
        root.content
            .contains("11111111-0000-4000-8000-000000000001")
    );
    live.server.shutdown().await;
}

fn run_cli(args: &[&str], url: &str) -> (i32, String, String) {
    run_cli_with(args, url, &[])
}

fn run_cli_with(args: &[&str], url: &str, envs: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
        .args(args)
        .env_remove("BWS_ACCESS_TOKEN")
        .env_remove("INFISICAL_GITOPS_BITWARDEN_EXPORT")
        .env_remove("INFISICAL_GITOPS_BITWARDEN_URL")
        .envs(envs.iter().copied())
        .env("INFISICAL_API_URL", url)
        .env("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "dev-client-id")
        .env(
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
            "dev-client-secret",
        )
        .env_remove("INFISICAL_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_writes_refuses_to_overwrite_and_prints_a_dry_run() {
    let live = seeded().await;
    let url = live.server.url();
    let work = tempfile::tempdir().unwrap();
    let export = work.path().join("export.json");
    std::fs::write(&export, export_json(vault_items(false))).unwrap();
    let mapping = work.path().join("mapping.yaml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let out = work.path().join("repo");
    let out_str = out.to_str().unwrap().to_string();
    let base = [
        "import",
        "--project",
        "payments",
        "--mapping",
        mapping.to_str().unwrap(),
        "--bitwarden-export",
        export.to_str().unwrap(),
        "--bitwarden-folder",
        FOLDER,
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra.iter())
            .map(ToString::to_string)
            .collect()
    };
    let cli = |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                run_cli(&refs, &url)
            })
            .await
            .unwrap()
        }
    };

    let (code, stdout, stderr) = cli(with(&["--dry-run"])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("==> projects/payments.yaml <=="));
    assert!(!out.exists(), "a dry run writes nothing");
    assert_no_value("dry-run stdout", &stdout);
    assert_no_value("dry-run stderr", &stderr);

    let (code, stdout, stderr) = cli(with(&["--out", &out_str])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert_no_value("stderr", &stderr);
    assert!(stderr.contains("1 placeholder(s)"), "{stderr}");
    assert!(out.join("secrets/payments/apps.web.yaml").exists());

    let (code, _, stderr) = cli(with(&["--out", &out_str])).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("refusing to overwrite 4 existing file(s)"),
        "{stderr}"
    );
    let (code, _, stderr) = cli(with(&["--out", &out_str, "--force"])).await;
    assert_eq!(code, 0, "{stderr}");

    // Every file written: no seeded value.
    let mut stack = vec![out.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                assert_no_value(
                    &path.display().to_string(),
                    &std::fs::read_to_string(&path).unwrap(),
                );
            }
        }
    }

    // Not on a terminal, an ambiguous name fails with the candidates.
    let mut items = vault_items(false);
    items.push(item(
        "22222222-0000-4000-8000-000000000001",
        "API_KEY",
        FOLDER,
        "",
        "another",
    ));
    std::fs::write(&export, export_json(items)).unwrap();
    let (code, _, stderr) = cli(with(&["--dry-run", "--match", "name"])).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("22222222-0000-4000-8000-000000000001"),
        "{stderr}"
    );
    live.server.shutdown().await;
}

/// The folders `/`, `/root` and `/Root` each get their own file: none overwrites another, also on
/// a case-insensitive file system, and every secret reaches the repository.
#[tokio::test]
async fn folder_file_names_are_injective() {
    let Live { server, api } = Live::start().await;
    let project = api
        .create_project(&CreateProject {
            name: "Root folders".into(),
            slug: "roots".into(),
            description: None,
            create_default_environments: false,
        })
        .await
        .unwrap();
    api.create_environment(
        &project.id,
        &CreateEnvironment {
            name: "Production".into(),
            slug: "prod".into(),
            position: Some(1),
        },
    )
    .await
    .unwrap();
    for name in ["root", "Root"] {
        api.create_folder(&CreateFolder {
            project_id: project.id.clone(),
            environment: env_slug("prod"),
            parent_path: folder_path("/"),
            name: name.into(),
            description: None,
        })
        .await
        .unwrap();
    }
    for (path, key) in [
        ("/", "AT_THE_ROOT"),
        ("/root", "IN_ROOT"),
        ("/Root", "IN_CAPITAL_ROOT"),
    ] {
        let scope = SecretScope {
            project_id: project.id.clone(),
            environment: env_slug("prod"),
            path: folder_path(path),
        };
        api.create_secrets(&scope, &[write(key, "canary-root-value", "", &[], &[])])
            .await
            .unwrap();
    }
    let selection = Selection::Projects(vec!["roots".into()]);
    let (projects, observed) = read_live(api.as_ref(), &selection, 4).await.unwrap();
    let imported = generate(
        &projects,
        &observed,
        &Mapping::default(),
        None,
        &mut Refuse,
        &options(),
    )
    .unwrap();
    let paths: Vec<String> = imported
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "projects/roots.yaml",
            "secrets/roots/Root~3.yaml",
            "secrets/roots/root.yaml",
            "secrets/roots/root~2.yaml",
        ]
    );
    for (file, path, key) in [
        (1, "/Root", "IN_CAPITAL_ROOT"),
        (2, "/", "AT_THE_ROOT"),
        (3, "/root", "IN_ROOT"),
    ] {
        let content = &imported.files[file].content;
        assert!(content.contains(&format!("path: {path}\n")), "{content}");
        assert!(content.contains(&format!("key: {key}\n")), "{content}");
    }
    let out = tempfile::tempdir().unwrap();
    write_out(out.path(), &imported);
    let written = std::fs::read_dir(out.path().join("secrets/roots"))
        .unwrap()
        .count();
    assert_eq!(written, 3, "one file per folder, none overwritten");
    let validation = validate_path(out.path());
    let codes: Vec<&str> = validation.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["placeholder-source"; 3], "only the placeholders");
    server.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_never_writes_through_a_planted_symbolic_link() {
    use std::os::unix::fs::symlink;
    let live = seeded().await;
    let url = live.server.url();
    let work = tempfile::tempdir().unwrap();
    let export = work.path().join("export.json");
    std::fs::write(&export, export_json(vault_items(false))).unwrap();
    let mapping = work.path().join("mapping.yaml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let out = work.path().join("repo");
    std::fs::create_dir_all(out.join("projects")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let canary = outside.path().join("canary");
    std::fs::write(&canary, "canary-untouched\n").unwrap();
    let args = |force: bool| -> Vec<String> {
        let mut args = vec![
            "import",
            "--project",
            "payments",
            "--mapping",
            mapping.to_str().unwrap(),
            "--bitwarden-export",
            export.to_str().unwrap(),
            "--bitwarden-folder",
            FOLDER,
            "--out",
            out.to_str().unwrap(),
        ];
        if force {
            args.push("--force");
        }
        args.into_iter().map(ToString::to_string).collect()
    };
    let cli = |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                run_cli(&refs, &url)
            })
            .await
            .unwrap()
        }
    };
    let shown = |stderr: &str| {
        stderr
            .replace(out.to_str().unwrap(), "[OUT]")
            .replace(outside.path().to_str().unwrap(), "[OUTSIDE]")
    };
    let project_file = out.join("projects/payments.yaml");

    // A dangling link where a file goes: `exists()` says no, but it is refused, even with
    // --force, and nothing is created where it points.
    let created = outside.path().join("created.yaml");
    symlink(&created, &project_file).unwrap();
    for force in [false, true] {
        let (code, _, stderr) = cli(args(force)).await;
        assert_eq!(code, 1, "{stderr}");
        insta::allow_duplicates! {
            insta::assert_snapshot!(shown(&stderr).trim_end(), @"error: refusing to write through `[OUT]/projects/payments.yaml`: it is a symbolic link; remove the link or choose another output directory");
        }
    }
    assert!(!created.exists(), "the dangling link was followed");

    // A link to a file outside: refused the same way, the file untouched.
    std::fs::remove_file(&project_file).unwrap();
    symlink(&canary, &project_file).unwrap();
    let (code, _, stderr) = cli(args(true)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");

    // A linked directory on the way: refused before anything is written.
    std::fs::remove_file(&project_file).unwrap();
    std::fs::remove_dir(out.join("projects")).unwrap();
    symlink(outside.path(), out.join("projects")).unwrap();
    let (code, _, stderr) = cli(args(true)).await;
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(shown(&stderr).trim_end(), @"error: refusing to write through `[OUT]/projects`: it is a symbolic link; remove the link or choose another output directory");
    assert_eq!(
        std::fs::read_to_string(&canary).unwrap(),
        "canary-untouched\n"
    );
    let outside_names: Vec<_> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(outside_names, ["canary"], "nothing written outside");
    assert!(
        !out.join("secrets").exists(),
        "nothing written before the refusal"
    );
    live.server.shutdown().await;
}

/// A repository applied by this tool round-trips through `import` with no mapping file: the
/// generated secret comes back as `generate` (from its recorded rule), the literal as `value`
/// with `sensitive: false`, and the Bitwarden secrets — in items with unrelated names — by the
/// field holding their value. The imported repository validates and plans nothing.
#[tokio::test]
async fn an_applied_repository_round_trips_through_import_without_a_mapping() {
    let Live { server, api } = Live::start().await;
    let items = vec![
        item(
            DB_ITEM,
            "unrelated login",
            FOLDER,
            "canary-rt-user-71",
            "canary-rt-pass-93",
        ),
        json!({"id": "33333333-0000-4000-8000-000000000001", "type": 2, "name": "a note",
               "folderId": FOLDER, "notes": "canary-rt-note-5e",
               "fields": [{"name": "api", "value": "canary-rt-api-c4", "type": 1}]}),
    ];
    let repo = tempfile::tempdir().unwrap();
    let files = [
        (
            "projects/round.yaml",
            "apiVersion: infisical-gitops.io/v1alpha1\nkind: Project\nmetadata:\n  name: round\nspec:\n  environments:\n  - slug: prod\n  folders:\n  - path: /db\n  policy:\n    adoption: create-or-adopt\n",
        ),
        (
            "secrets/round/db.yaml",
            &format!(
                "apiVersion: infisical-gitops.io/v1alpha1\nkind: SecretSet\nmetadata:\n  name: round-db\nspec:\n  project: round\n  environments: [prod]\n  path: /db\n  secrets:\n  - key: PASSWORD\n    bitwarden:\n      item: {DB_ITEM}\n  - key: USER\n    bitwarden:\n      item: {DB_ITEM}\n      field: username\n  - key: API\n    bitwarden:\n      item: 33333333-0000-4000-8000-000000000001\n      customField: api\n  - key: NOTE\n    bitwarden:\n      item: 33333333-0000-4000-8000-000000000001\n      field: notes\n  - key: SESSION\n    generate:\n      length: 64\n      charset: hex\n  - key: PORT\n    sensitive: false\n    value: \"5432\"\n  imports:\n  - environment: prod\n    path: /\n"
            ),
        ),
    ];
    for (path, content) in files {
        let path = repo.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let validation = validate_path(repo.path());
    let desired = validation
        .state
        .clone()
        .unwrap_or_else(|| panic!("{}", render_text(repo.path(), &validation, false)));
    let (_, vault) = catalog(items.clone());
    let resolver = BitwardenResolver::new(PasswordManager::Export(Arc::new(vault)), None);
    let reconciler = Reconciler::new(
        api.clone(),
        Arc::new(SourceResolver::new().with_bitwarden(Arc::new(resolver))),
    );
    let run = reconciler.plan(desired).await.unwrap();
    let report = reconciler.apply(&run, None).await.unwrap();
    assert!(report.is_success(), "{}", report.render_text());

    // The records apply wrote.
    let (projects, observed) =
        read_live(api.as_ref(), &Selection::Projects(vec!["round".into()]), 4)
            .await
            .unwrap();
    let prod = &observed.projects.values().next().unwrap().environments;
    let secrets = &prod.values().next().unwrap().secrets;
    let metadata = |key: &str| {
        secrets
            .iter()
            .find(|((_, k), _)| k.as_str() == key)
            .map(|(_, s)| s.metadata.clone())
            .unwrap()
    };
    assert_eq!(
        metadata("SESSION")
            .get("infisical-gitops/generate")
            .map(String::as_str),
        Some("hex:64")
    );
    assert_eq!(
        metadata("PORT")
            .get("infisical-gitops/literal")
            .map(String::as_str),
        Some("true")
    );
    assert!(
        !metadata("PASSWORD")
            .keys()
            .any(|k| k.starts_with("infisical-gitops/"))
    );

    // Import with no mapping file.
    let (catalog, vault) = catalog(items);
    let imported = generate(
        &projects,
        &observed,
        &Mapping::default(),
        Some(&catalog),
        &mut Refuse,
        &options(),
    )
    .unwrap();
    let summary = render_summary(&imported, false);
    for canary in [
        "canary-rt-user-71",
        "canary-rt-pass-93",
        "canary-rt-note-5e",
        "canary-rt-api-c4",
    ] {
        assert!(!summary.contains(canary));
        for file in &imported.files {
            assert!(!file.content.contains(canary), "{}", file.path.display());
        }
    }
    insta::assert_snapshot!("round_trip_summary", summary);
    let report = &imported.report;
    assert_eq!(
        (
            report.matched_by_value,
            report.generated,
            report.literals.len()
        ),
        (4, 1, 1),
        "{report:?}"
    );
    assert!(report.placeholders.is_empty());
    let db_file = imported
        .files
        .iter()
        .find(|f| f.path.ends_with("db.yaml"))
        .expect("the /db file");
    assert!(
        db_file
            .content
            .contains("imports:\n  - environment: prod\n    path: /\n"),
        "the import is written: {}",
        db_file.content
    );
    let out = tempfile::tempdir().unwrap();
    write_out(out.path(), &imported);
    let validation = validate_path(out.path());
    let desired = validation
        .state
        .clone()
        .unwrap_or_else(|| panic!("{}", render_text(out.path(), &validation, false)));
    assert!(validation.diagnostics.is_empty());
    let resolver = BitwardenResolver::new(PasswordManager::Export(Arc::new(vault)), None);
    let reconciler = Reconciler::new(
        api.clone(),
        Arc::new(SourceResolver::new().with_bitwarden(Arc::new(resolver))),
    );
    let again = reconciler.plan(desired).await.unwrap();
    assert!(
        again.plan.is_empty(),
        "{}",
        text::render(&again.plan, Default::default())
    );
    server.shutdown().await;
}

/// Two items holding one value: the one named like the secret wins; with unrelated names, the
/// non-interactive import fails listing both (never the value), and a chooser is asked once.
#[tokio::test]
async fn a_value_held_by_several_items_is_settled_by_name_or_refused() {
    let live = seeded().await;
    let mut items = vault_items(false);
    items.push(item(
        "22222222-0000-4000-8000-000000000002",
        "copy of the api key",
        FOLDER,
        "",
        "canary-api-key-0c4e81",
    ));
    let named = import(&live, payments(), items.clone(), MAPPING, &mut Refuse)
        .await
        .unwrap();
    let root = named
        .files
        .iter()
        .find(|f| f.path.ends_with("root.yaml"))
        .unwrap();
    assert!(
        root.content
            .contains("11111111-0000-4000-8000-000000000001")
    );
    assert!(
        !root
            .content
            .contains("22222222-0000-4000-8000-000000000002")
    );

    for id in [
        "33333333-0000-4000-8000-00000000000a",
        "33333333-0000-4000-8000-00000000000b",
    ] {
        items.push(item(
            id,
            "unrelated",
            FOLDER,
            "",
            "canary-session-secret-aa71",
        ));
    }
    let error = import(&live, payments(), items.clone(), MAPPING, &mut Refuse)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert_no_value("error", &message);
    insta::assert_snapshot!("ambiguous_value_error", message);
    let mut chooser = PickFirst(0);
    let chosen = import(&live, payments(), items, MAPPING, &mut chooser)
        .await
        .unwrap();
    assert_eq!(chooser.0, 1);
    assert!(chosen.report.placeholders.is_empty());
    live.server.shutdown().await;
}

/// Every string in a JSON document (recursively).
fn json_strings(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(text) => into.push(text.clone()),
        Value::Array(list) => list.iter().for_each(|v| json_strings(v, into)),
        Value::Object(map) => map.values().for_each(|v| json_strings(v, into)),
        _ => {}
    }
}

/// Every regular file under `dir`, with its text.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path.display().to_string(), text));
            }
        }
    }
    found.sort();
    found
}

/// The example repository (`examples/desired-state`), applied to the dev server over HTTP with
/// the bundled Bitwarden export (as `apply --dev` does) and Secrets Manager through a fake `bws`,
/// then imported with the same export and no mapping file: the imported repository validates
/// clean and plans no change. The literal URLs that Bitwarden items also hold as URIs stay
/// literals (apply recorded them), the generated secrets stay generated, the Secrets Manager
/// secrets are found by value, and no value of the vault, of Secrets Manager or of a generated
/// secret appears in any file, output or log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_round_trips_through_apply_and_import_without_a_mapping() {
    use crate::bitwarden::{GOOD_TOKEN, SM_CANARY, SM_CANARY_2, SM_ID, SM_ID_2, fake_bws};
    let Live { server, api } = Live::start().await;
    let url = server.url();
    let work = tempfile::tempdir().unwrap();
    let bws = fake_bws(work.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/desired-state");
    let export = root.join("examples/bitwarden-export.json");
    let out = work.path().join("imported");
    let bitwarden: Vec<String> = vec![
        "--bitwarden-export".into(),
        export.display().to_string(),
        "--bws-path".into(),
        bws.display().to_string(),
    ];
    let cli = |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                run_cli_with(
                    &refs,
                    &url,
                    &[
                        ("BWS_ACCESS_TOKEN", GOOD_TOKEN),
                        ("INFISICAL_GITOPS_LOG", "debug"),
                    ],
                )
            })
            .await
            .unwrap()
        }
    };
    let with = |head: &[&str]| -> Vec<String> {
        head.iter()
            .map(ToString::to_string)
            .chain(bitwarden.iter().cloned())
            .collect()
    };
    let mut outputs = Vec::new();

    let (code, stdout, stderr) = cli(with(&[
        "apply",
        "--auto-approve",
        example.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Apply complete: 57 done, 0 failed"),
        "{stdout}"
    );
    outputs.push(("apply", stdout, stderr));

    let (code, stdout, stderr) =
        cli(with(&["import", "--all", "--out", out.to_str().unwrap()])).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "3 project(s), 40 secret(s) (0 from the mapping file, 21 matched by value, 0 matched by name, 8 generated, 11 literal(s), 0 placeholder(s))"
        ),
        "{stderr}"
    );
    outputs.push(("import", stdout, stderr));

    let (code, stdout, stderr) = cli(vec!["validate".into(), out.display().to_string()]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("warning"), "{stdout}");
    outputs.push(("validate", stdout, stderr));

    let (code, stdout, stderr) = cli(with(&[
        "plan",
        out.to_str().unwrap(),
        "--detailed-exitcode",
    ]))
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        stdout.trim(),
        "No changes. Infisical matches the repository.",
        "{stderr}"
    );
    outputs.push(("plan", stdout, stderr));

    // The sources written back.
    let mcp = std::fs::read_to_string(out.join("secrets/mcp-servers/gitlab.yaml")).unwrap();
    assert!(
        mcp.contains("value: https://gitlab.example.internal"),
        "{mcp}"
    );
    let unifi = std::fs::read_to_string(out.join("secrets/mcp-servers/unifi.yaml")).unwrap();
    assert!(
        unifi.contains("value: https://unifi.example.internal"),
        "{unifi}"
    );
    let api_keys =
        std::fs::read_to_string(out.join("secrets/k3s-infrastructure/api-keys.yaml")).unwrap();
    assert!(
        api_keys.contains(&format!("bitwardenSecretsManager:\n      secret: {SM_ID}")),
        "{api_keys}"
    );
    let app = std::fs::read_to_string(out.join("secrets/applications/app-name-1.yaml")).unwrap();
    assert!(app.contains(SM_ID_2), "{app}");

    // No value anywhere: every string of the export that is not a literal of the example, the
    // Secrets Manager values, and every live value that the example does not spell out.
    let example_text: String = files_under(&example)
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    let mut canaries = Vec::new();
    json_strings(
        &serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap(),
        &mut canaries,
    );
    canaries.retain(|text| text.contains("fake") || text.contains("BEGIN"));
    canaries.push(SM_CANARY.to_string());
    canaries.push(SM_CANARY_2.to_string());
    let (_, observed) = read_live(api.as_ref(), &Selection::All, 4).await.unwrap();
    let mut generated = 0;
    for project in observed.projects.values() {
        for environment in project.environments.values() {
            for secret in environment.secrets.values() {
                let value = secret.value.as_ref().unwrap().expose().to_string();
                if !example_text.contains(&value) {
                    if secret.metadata.contains_key("infisical-gitops/generate") {
                        generated += 1;
                    }
                    canaries.push(value);
                }
            }
        }
    }
    assert_eq!(generated, 8, "the generated values are scanned for too");
    let mut scanned = files_under(&out);
    scanned.extend(outputs.into_iter().flat_map(|(what, stdout, stderr)| {
        [
            (format!("{what} stdout"), stdout),
            (format!("{what} stderr"), stderr),
        ]
    }));
    scanned.push((
        "bws argv.log".into(),
        std::fs::read_to_string(work.path().join("argv.log")).unwrap(),
    ));
    assert!(scanned.len() > 10);
    for (what, text) in &scanned {
        for canary in &canaries {
            assert!(!text.contains(canary.as_str()), "{what} contains a value");
        }
    }
    server.shutdown().await;
}

/// Import through `bw serve` (one status request, one listing): a vault that answers the status
/// as unlocked and locks before the listing (as on its timeout) fails the import with the
/// locked-vault error, writes nothing and shows no value; once unlocked, the same command
/// imports with two requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_locked_mid_run_fails_the_import_and_writes_nothing() {
    use infisical_gitops::resolve::bitwarden::double::BwServeDouble;
    let live = seeded().await;
    let url = live.server.url();
    let double = BwServeDouble::with_export(&export_json(vault_items(true)))
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mapping = work.path().join("mapping.yaml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let out = work.path().join("repo");
    let args: Vec<String> = [
        "import",
        "--project",
        "payments",
        "--out",
        out.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--bitwarden-url",
        &double.url(),
        "--bitwarden-folder",
        FOLDER,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let cli = || {
        let (url, args) = (url.clone(), args.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                run_cli_with(&refs, &url, &[("INFISICAL_GITOPS_LOG", "debug")])
            })
            .await
            .unwrap()
        }
    };

    double.state.lock_after(1);
    let (code, stdout, stderr) = cli().await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
    assert_no_value("stdout", &stdout);
    assert_no_value("stderr", &stderr);
    assert_eq!(
        (double.state.requests(), double.state.lists()),
        (2, 0),
        "the status, then a listing refused as locked (not counted as served)"
    );

    double.state.lock_after(0);
    double.state.set_locked(false);
    let (code, stdout, stderr) = cli().await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("0 placeholder(s)"), "{stderr}");
    assert_eq!((double.state.requests(), double.state.lists()), (4, 1));
    assert_no_value("stdout", &stdout);
    assert_no_value("stderr", &stderr);
    for (path, text) in files_under(&out) {
        assert_no_value(&path, &text);
    }
    live.server.shutdown().await;
}

/// The recorded source comes before value matching, and sensitive fields before the others: a
/// literal that two items hold as a URI stays a literal (no ambiguity); a literal that a
/// password holds becomes a reference, with a warning; an unmarked value held by a Secrets
/// Manager secret and, as a username, by an item is the Secrets Manager secret.
#[tokio::test]
async fn recorded_literals_beat_uris_and_sensitive_fields_beat_the_rest() {
    use infisical_gitops::model::ownership::{
        LITERAL_KEY, LITERAL_VALUE, MARKER_KEY, MARKER_VALUE,
    };
    use infisical_gitops::resolve::bitwarden::item::Sensitive;
    use infisical_gitops::resolve::bitwarden::secrets_manager::ListedSecret;
    let live = Live::start().await;
    let project = live
        .api
        .create_project(&CreateProject {
            name: "literals".into(),
            slug: "literals".into(),
            description: None,
            create_default_environments: false,
        })
        .await
        .unwrap();
    live.api
        .create_environment(
            &project.id,
            &CreateEnvironment {
                name: "prod".into(),
                slug: "prod".into(),
                position: Some(1),
            },
        )
        .await
        .unwrap();
    let literal = [(MARKER_KEY, MARKER_VALUE), (LITERAL_KEY, LITERAL_VALUE)];
    live.api
        .create_secrets(
            &SecretScope {
                project_id: project.id.clone(),
                environment: env_slug("prod"),
                path: folder_path("/"),
            },
            &[
                write("URL", "https://dup.example.internal", "", &[], &literal),
                write(
                    "NOT_A_LITERAL",
                    "canary-lit-password-71c",
                    "",
                    &[],
                    &literal,
                ),
                write("FROM_SM", "canary-lit-sm-9e2", "", &[], &[]),
            ],
        )
        .await
        .unwrap();
    let uri_item = |id: &str, username: &str| {
        json!({"id": id, "type": 1, "name": id, "folderId": FOLDER,
               "login": {"username": username, "password": null,
                         "uris": [{"uri": "https://dup.example.internal"}]}})
    };
    let (catalog, _) = catalog(vec![
        uri_item("44444444-0000-4000-8000-000000000001", "canary-lit-sm-9e2"),
        uri_item("44444444-0000-4000-8000-000000000002", "someone"),
        item(
            "44444444-0000-4000-8000-000000000003",
            "a login",
            FOLDER,
            "",
            "canary-lit-password-71c",
        ),
    ]);
    let catalog = catalog.with_secrets_manager(vec![ListedSecret {
        id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c99".into(),
        key: "SOMETHING_ELSE".into(),
        project_id: None,
        value: Sensitive(SecretValue::new("canary-lit-sm-9e2")),
    }]);
    let (projects, observed) = read_live(
        live.api.as_ref(),
        &Selection::Projects(vec!["literals".into()]),
        4,
    )
    .await
    .unwrap();
    let imported = generate(
        &projects,
        &observed,
        &Mapping::default(),
        Some(&catalog),
        &mut Refuse,
        &options(),
    )
    .unwrap();
    let root = &imported
        .files
        .iter()
        .find(|f| f.path.ends_with("root.yaml"))
        .unwrap()
        .content;
    assert!(
        root.contains("- key: URL\n    sensitive: false\n    value: https://dup.example.internal"),
        "{root}"
    );
    assert!(
        root.contains(
            "- key: NOT_A_LITERAL\n    bitwarden:\n      item: 44444444-0000-4000-8000-000000000003"
        ),
        "{root}"
    );
    assert!(
        root.contains(
            "- key: FROM_SM\n    bitwardenSecretsManager:\n      secret: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c99"
        ),
        "{root}"
    );
    assert!(!root.contains("canary-lit"), "{root}");
    let report = &imported.report;
    assert_eq!(report.literals.len(), 1);
    assert_eq!(report.matched_by_value, 2);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w
                .starts_with("literals/prod:/#NOT_A_LITERAL: recorded as a non-sensitive literal")),
        "{:?}",
        report.warnings
    );
    live.server.shutdown().await;
}

/// The same round trip through the embedded dev server only: `apply --dev` and `import --dev`
/// share a `--dev-state` file, `import --dev` reads the bundled export by default, and
/// `--bws-project` narrows the Secrets Manager listing; the result validates clean and
/// `plan --dev` has no change.
#[test]
fn the_example_round_trips_under_dev_with_the_bundled_export() {
    use crate::bitwarden::{GOOD_TOKEN, SM_CANARY, SM_CANARY_2, SM_PROJECT, fake_bws};
    let work = tempfile::tempdir().unwrap();
    let bws = fake_bws(work.path());
    let state = work.path().join("dev-state.json");
    let out = work.path().join("imported");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desired-state");
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_infisical-gitops"))
            .args(args)
            .args(["--dev", "--dev-state", state.to_str().unwrap()])
            .args(["--bws-path", bws.to_str().unwrap()])
            .env_remove("INFISICAL_API_URL")
            .env_remove("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID")
            .env_remove("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET")
            .env_remove("INFISICAL_TOKEN")
            .env_remove("INFISICAL_GITOPS_BITWARDEN_EXPORT")
            .env_remove("INFISICAL_GITOPS_BITWARDEN_URL")
            .env("BWS_ACCESS_TOKEN", GOOD_TOKEN)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        for text in [&stdout, &stderr] {
            for canary in [SM_CANARY, SM_CANARY_2, "do-not-use"] {
                assert!(!text.contains(canary), "{args:?} printed a value");
            }
        }
        (output.status.code().unwrap_or(-1), stdout, stderr)
    };
    let (code, stdout, stderr) = run(&["apply", "--auto-approve", example.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = run(&[
        "import",
        "--all",
        "--bws-project",
        SM_PROJECT,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("21 matched by value"), "{stderr}");
    assert!(stderr.contains("0 placeholder(s)"), "{stderr}");
    let (code, stdout, stderr) = run(&["plan", out.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        stdout.trim(),
        "No changes. Infisical matches the repository."
    );
    let validation = validate_path(&out);
    assert!(
        validation.state.is_some() && validation.diagnostics.is_empty(),
        "{}",
        render_text(&out, &validation, false)
    );
    for (path, text) in files_under(&out) {
        for canary in [SM_CANARY, SM_CANARY_2, "do-not-use"] {
            assert!(!text.contains(canary), "{path} contains a value");
        }
    }
    let argv = std::fs::read_to_string(work.path().join("argv.log")).unwrap();
    assert!(
        argv.contains(&format!("secret list {SM_PROJECT} --output json")),
        "{argv}"
    );
}
