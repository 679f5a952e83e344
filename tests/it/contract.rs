//! The client's contract suite: every `InfisicalApi` method, against a server URL and a machine
//! identity. It runs unchanged against the local dev server (always) and against a real
//! Infisical when `INFISICAL_TEST_URL`, `INFISICAL_TEST_CLIENT_ID` and
//! `INFISICAL_TEST_CLIENT_SECRET` are set (see `docs/infisical-client.md`).
//!
//! The suite works inside one project it creates (slug `igo-contract-<random>`) and deletes that
//! project at the end, also when an assertion fails.

#![expect(clippy::unwrap_used)] // a test suite: an error ends it with the error's text

use crate::support::names::{env_slug, folder_path, secret_key, tag_slug};
use infisical_gitops::infisical::Depth;
use infisical_gitops::infisical::ProjectId;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use infisical_gitops::infisical::{
    ApiError, ClientConfig, CreateEnvironment, CreateFolder, CreateProject, Credentials,
    DeleteFolder, HttpClient, InfisicalApi, SecretDelete, SecretScope, SecretWrite,
    UpdateEnvironment, UpdateFolder, UpdateProject, WriteOutcome,
};
use infisical_gitops::model::SecretValue;
use infisical_gitops::model::value::normalize_value;

const VALUE_CANARY: &str = "contract-value-canary-51d0";

/// Runs the whole suite against `url` with universal-auth credentials.
pub(crate) async fn run(url: &str, client_id: &str, client_secret: &str) {
    let config = ClientConfig::new(url, Credentials::universal_auth(client_id, client_secret));
    let client = HttpClient::new(config).expect("client");
    let api: &dyn InfisicalApi = &client;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let slug = format!("igo-contract-{}", &suffix[..10]);

    let project = api
        .create_project(&CreateProject {
            name: format!("infisical-gitops contract {}", &suffix[..6]),
            slug: slug.clone(),
            description: Some("created by the infisical-gitops contract suite".into()),
            create_default_environments: false,
        })
        .await
        .expect("create project");
    let outcome = AssertUnwindSafe(exercise(api, &project.id, &slug))
        .catch_unwind()
        .await;
    // clean up whatever happened
    let cleanup = api.delete_project(&project.id).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    match cleanup {
        Ok(()) | Err(ApiError::NotFound(_)) => {}
        Err(e) => panic!("delete project: {e}"),
    }
    assert!(
        api.get_project_by_slug(&slug).await.unwrap().is_none(),
        "project deleted"
    );
}

fn write(key: &str, value: &str) -> SecretWrite {
    SecretWrite {
        key: key.into(),
        value: Some(SecretValue::new(value)),
        comment: None,
        tag_ids: None,
        metadata: None,
    }
}

fn applied(outcome: WriteOutcome) -> Vec<infisical_gitops::infisical::RemoteSecret> {
    match outcome {
        WriteOutcome::Applied(secrets) => secrets,
        WriteOutcome::PendingApproval { .. } => panic!("unexpected approval"),
    }
}

fn no_canary(error: &ApiError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains(VALUE_CANARY), "value in error: {text}");
}

async fn exercise(api: &dyn InfisicalApi, project_id: &ProjectId, slug: &str) {
    // ---- projects
    let by_slug = api
        .get_project_by_slug(slug)
        .await
        .unwrap()
        .expect("by slug");
    assert_eq!(&by_slug.id, project_id);
    assert!(by_slug.environments.is_empty(), "no default environments");
    assert!(
        api.get_project_by_slug("igo-contract-absent-0")
            .await
            .unwrap()
            .is_none()
    );
    let listed = api.list_projects().await.unwrap();
    assert!(listed.iter().any(|p| p.slug == slug), "listed");
    let by_id = api.get_project(project_id).await.unwrap().expect("by id");
    assert_eq!(by_id.slug, slug);
    let updated = api
        .update_project(
            project_id,
            &UpdateProject {
                name: Some("infisical-gitops contract renamed".into()),
                description: Some("updated".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "infisical-gitops contract renamed");
    assert_eq!(updated.description.as_deref(), Some("updated"));
    let duplicate = api
        .create_project(&CreateProject {
            name: "duplicate".into(),
            slug: slug.to_string(),
            description: None,
            create_default_environments: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            duplicate,
            ApiError::AlreadyExists(_) | ApiError::BadRequest(_)
        ),
        "{duplicate:?}"
    );

    // ---- environments
    let env = api
        .create_environment(
            project_id,
            &CreateEnvironment {
                name: "Contract".into(),
                slug: "contract".into(),
                position: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(env.slug, "contract");
    let other = api
        .create_environment(
            project_id,
            &CreateEnvironment {
                name: "Other".into(),
                slug: "other".into(),
                position: None,
            },
        )
        .await
        .unwrap();
    let error = api
        .create_environment(
            project_id,
            &CreateEnvironment {
                name: "Again".into(),
                slug: "contract".into(),
                position: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::AlreadyExists(_) | ApiError::BadRequest(_)),
        "{error:?}"
    );
    let error = api
        .create_environment(
            project_id,
            &CreateEnvironment {
                name: "Bad".into(),
                slug: "Bad Slug!".into(),
                position: None,
            },
        )
        .await
        .unwrap_err();
    let ApiError::Validation { issues, .. } = &error else {
        panic!("expected 422, got {error:?}")
    };
    assert!(!issues.is_empty());
    let renamed = api
        .update_environment(
            project_id,
            &other.id,
            &UpdateEnvironment {
                name: Some("Other renamed".into()),
                position: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Other renamed");
    let project = api.get_project(project_id).await.unwrap().unwrap();
    let mut slugs: Vec<&str> = project
        .environments
        .iter()
        .map(|e| e.slug.as_str())
        .collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["contract", "other"]);
    api.delete_environment(project_id, &other.id).await.unwrap();
    let project = api.get_project(project_id).await.unwrap().unwrap();
    assert_eq!(project.environments.len(), 1);

    // ---- folders
    let folder = |parent: &str, name: &str| CreateFolder {
        project_id: project_id.clone(),
        environment: env_slug("contract"),
        parent_path: folder_path(parent),
        name: name.into(),
        description: None,
    };
    let apps = api.create_folder(&folder("/", "apps")).await.unwrap();
    assert_eq!(apps.path, "/apps");
    let web = api.create_folder(&folder("/apps", "web")).await.unwrap();
    assert_eq!(web.path, "/apps/web");
    let error = api.create_folder(&folder("/", "apps")).await.unwrap_err();
    assert!(matches!(error, ApiError::AlreadyExists(_)), "{error:?}");
    // missing parents are created
    let deep = api.create_folder(&folder("/x/y", "z")).await.unwrap();
    assert_eq!(deep.path, "/x/y/z");
    let all: Vec<String> = api
        .list_folders(
            project_id,
            &env_slug("contract"),
            &folder_path("/"),
            Depth::Recursive,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    for expected in ["/apps", "/apps/web", "/x", "/x/y", "/x/y/z"] {
        assert!(all.iter().any(|p| p == expected), "{expected} in {all:?}");
    }
    let top: Vec<String> = api
        .list_folders(
            project_id,
            &env_slug("contract"),
            &folder_path("/"),
            Depth::Direct,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(top.len(), 2, "{top:?}");
    let renamed = api
        .update_folder(&UpdateFolder {
            project_id: project_id.clone(),
            environment: env_slug("contract"),
            parent_path: folder_path("/x/y"),
            folder_id: deep.id.clone(),
            name: "zz".into(),
            description: None,
        })
        .await
        .unwrap();
    assert_eq!(renamed.path, "/x/y/zz");
    let under_y: Vec<String> = api
        .list_folders(
            project_id,
            &env_slug("contract"),
            &folder_path("/x/y"),
            Depth::Direct,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(under_y, ["/x/y/zz"]);

    // ---- tags
    let tag = api
        .create_tag(project_id, &tag_slug("managed-by-gitops"))
        .await
        .unwrap();
    assert_eq!(tag.slug, "managed-by-gitops");
    let tags = api.list_tags(project_id).await.unwrap();
    assert!(tags.iter().any(|t| t.id == tag.id));

    // ---- secrets
    let web_scope = SecretScope {
        project_id: project_id.clone(),
        environment: env_slug("contract"),
        path: folder_path("/apps/web"),
    };
    let mut marked = write("DATABASE_URL", &format!("  {VALUE_CANARY}  "));
    marked.comment = Some("managed".into());
    marked.tag_ids = Some(vec![tag.id.clone()]);
    marked.metadata = Some(vec![("managed-by".into(), "infisical-gitops".into())]);
    let created = applied(
        api.create_secrets(&web_scope, &[marked, write("PLAIN", "b\n\n")])
            .await
            .unwrap(),
    );
    assert_eq!(created.len(), 2);

    // all or nothing: one existing key fails the batch, nothing written
    let error = api
        .create_secrets(
            &web_scope,
            &[write("NEW_ONE", VALUE_CANARY), write("PLAIN", VALUE_CANARY)],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::AlreadyExists(_)), "{error:?}");
    no_canary(&error);
    assert!(
        api.get_secret(&web_scope, &secret_key("NEW_ONE"))
            .await
            .unwrap()
            .is_none()
    );
    // a folder that does not exist
    let error = api
        .create_secrets(
            &SecretScope {
                path: folder_path("/nowhere"),
                ..web_scope.clone()
            },
            &[write("K", VALUE_CANARY)],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
    no_canary(&error);
    // an invalid key
    let error = api
        .create_secrets(&web_scope, &[write("BAD/KEY", VALUE_CANARY)])
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::Validation { .. }), "{error:?}");
    no_canary(&error);

    let listed = api
        .list_secrets(
            project_id,
            &env_slug("contract"),
            &folder_path("/"),
            Depth::Recursive,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let db = listed.iter().find(|s| s.key == "DATABASE_URL").unwrap();
    assert_eq!(db.path, "/apps/web");
    assert_eq!(
        db.value.as_ref().map(SecretValue::expose),
        Some(VALUE_CANARY),
        "trimmed"
    );
    assert_eq!(db.comment, "managed");
    assert_eq!(
        db.tags.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
        ["managed-by-gitops"]
    );
    assert!(
        db.metadata
            .contains(&("managed-by".into(), "infisical-gitops".into())),
        "{:?}",
        db.metadata
    );
    let plain = listed.iter().find(|s| s.key == "PLAIN").unwrap();
    assert_eq!(plain.value.as_ref().map(SecretValue::expose), Some("b\n"));
    assert!(
        api.list_secrets(
            project_id,
            &env_slug("contract"),
            &folder_path("/"),
            Depth::Direct
        )
        .await
        .unwrap()
        .is_empty(),
        "non-recursive listing of / holds nothing"
    );

    let got = api
        .get_secret(&web_scope, &secret_key("DATABASE_URL"))
        .await
        .unwrap()
        .expect("get");
    assert_eq!(got.version, db.version);

    let updated = applied(
        api.update_secrets(&web_scope, &[write("PLAIN", "new value")])
            .await
            .unwrap(),
    );
    assert_eq!(updated.len(), 1);
    let plain_now = api
        .get_secret(&web_scope, &secret_key("PLAIN"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        plain_now.value.as_ref().map(SecretValue::expose),
        Some("new value")
    );
    assert!(plain_now.version > plain.version, "versions increase");
    let error = api
        .update_secrets(
            &web_scope,
            &[write("PLAIN", VALUE_CANARY), write("MISSING", VALUE_CANARY)],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
    no_canary(&error);
    let plain_after = api
        .get_secret(&web_scope, &secret_key("PLAIN"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        plain_after.value.as_ref().map(SecretValue::expose),
        Some("new value"),
        "nothing written"
    );

    let error = api
        .delete_secrets(
            &web_scope,
            &[
                SecretDelete {
                    key: "PLAIN".into(),
                },
                SecretDelete {
                    key: "MISSING".into(),
                },
            ],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
    assert!(
        api.get_secret(&web_scope, &secret_key("PLAIN"))
            .await
            .unwrap()
            .is_some()
    );
    applied(
        api.delete_secrets(
            &web_scope,
            &[SecretDelete {
                key: "PLAIN".into(),
            }],
        )
        .await
        .unwrap(),
    );
    assert!(
        api.get_secret(&web_scope, &secret_key("PLAIN"))
            .await
            .unwrap()
            .is_none()
    );

    trim_rule(api, &web_scope).await;

    imports(api, project_id).await;

    // ---- folder deletion: refused while it holds secrets, unless forced
    let delete_web = |force| DeleteFolder {
        project_id: project_id.clone(),
        environment: env_slug("contract"),
        parent_path: folder_path("/apps"),
        folder: web.id.to_string(),
        force,
    };
    let error = api.delete_folder(&delete_web(false)).await.unwrap_err();
    assert!(matches!(error, ApiError::BadRequest(_)), "{error:?}");
    api.delete_folder(&delete_web(true)).await.unwrap();
    let remaining: Vec<String> = api
        .list_folders(
            project_id,
            &env_slug("contract"),
            &folder_path("/apps"),
            Depth::Direct,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert!(remaining.is_empty(), "{remaining:?}");

    api.delete_environment(project_id, &env.id).await.unwrap();
}

/// Secret imports: appended in order, listed by position, moved, deleted; a self import and an
/// import back are `Cyclic import not allowed`; a missing folder is 404.
async fn imports(api: &dyn InfisicalApi, project_id: &ProjectId) {
    let scope = |path: &str| SecretScope {
        project_id: project_id.clone(),
        environment: env_slug("contract"),
        path: folder_path(path),
    };
    let web = scope("/apps/web");
    let root = api
        .create_import(&web, &env_slug("contract"), &folder_path("/"))
        .await
        .unwrap();
    assert_eq!(
        (root.environment.as_str(), root.path.as_str()),
        ("contract", "/")
    );
    assert_eq!(root.position, 1);
    let deep = api
        .create_import(&web, &env_slug("contract"), &folder_path("/x/y/zz"))
        .await
        .unwrap();
    assert_eq!(deep.position, 2, "appended");
    let order = |listed: Vec<infisical_gitops::infisical::RemoteImport>| -> Vec<(String, u32)> {
        listed.into_iter().map(|i| (i.path, i.position)).collect()
    };
    assert_eq!(
        order(api.list_imports(&web).await.unwrap()),
        [("/".to_string(), 1), ("/x/y/zz".to_string(), 2)]
    );
    let error = api
        .create_import(&web, &env_slug("contract"), &folder_path("/apps/web"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::BadRequest(_)),
        "self import: {error:?}"
    );
    let error = api
        .create_import(
            &scope("/"),
            &env_slug("contract"),
            &folder_path("/apps/web"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::BadRequest(_)),
        "import back: {error:?}"
    );
    let error = api
        .create_import(&scope("/absent"), &env_slug("contract"), &folder_path("/"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ApiError::NotFound(_)),
        "missing folder: {error:?}"
    );
    let error = api.list_imports(&scope("/absent")).await.unwrap_err();
    assert!(
        matches!(error, ApiError::NotFound(_)),
        "missing folder: {error:?}"
    );
    assert!(api.list_imports(&scope("/")).await.unwrap().is_empty());

    let moved = api.move_import(&web, &deep.id, 1).await.unwrap();
    assert_eq!(moved.position, 1);
    assert_eq!(
        order(api.list_imports(&web).await.unwrap()),
        [("/x/y/zz".to_string(), 1), ("/".to_string(), 2)]
    );
    api.delete_import(&web, &deep.id).await.unwrap();
    assert_eq!(
        order(api.list_imports(&web).await.unwrap()),
        [("/".to_string(), 1)],
        "the gap is closed"
    );
    let error = api.delete_import(&web, &deep.id).await.unwrap_err();
    assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
}

/// The server's value trim (`val.at(-1) === "\n" ? val.trim() + "\n" : val.trim()`, JavaScript's
/// `trim`) is exactly the model's `normalize_value`, and a stored value matches the value it was
/// written from, so no value shows as perpetual drift.
async fn trim_rule(api: &dyn InfisicalApi, scope: &SecretScope) {
    let cases = [
        ("TRIM_PADDED", "  x  ", "x"),
        ("TRIM_TWO_NEWLINES", "b\n\n", "b\n"),
        ("TRIM_NEWLINE_ONLY", "\n", "\n"),
        ("TRIM_SPACES_THEN_NEWLINE", "  \n", "\n"),
        ("TRIM_CARRIAGE_RETURN", " a \r\n", "a\n"),
        ("TRIM_INNER_NEWLINE", "a\n b", "a\n b"),
        ("TRIM_AFTER_THE_NEWLINE", "x\n ", "x"),
        ("TRIM_UNICODE_SPACES", "\u{a0}\u{3000}x\u{2028}", "x"),
        ("TRIM_BYTE_ORDER_MARK", "\u{feff}x", "x"),
        ("TRIM_NEXT_LINE_KEPT", "\u{85}x\u{85}", "\u{85}x\u{85}"),
    ];
    let writes: Vec<SecretWrite> = cases.iter().map(|(key, raw, _)| write(key, raw)).collect();
    applied(api.create_secrets(scope, &writes).await.unwrap());
    let listed = api
        .list_secrets(
            &scope.project_id,
            &scope.environment,
            &scope.path,
            Depth::Direct,
        )
        .await
        .unwrap();
    for (key, raw, stored) in cases {
        let secret = listed.iter().find(|s| s.key == key).expect(key);
        let live = secret.value.as_ref().expect("value");
        assert_eq!(live.expose(), stored, "{key}: {raw:?}");
        assert_eq!(normalize_value(raw), stored, "{key}: the model's rule");
        assert!(SecretValue::new(raw).matches(live), "{key}: no drift");
    }
    let deletes: Vec<SecretDelete> = cases
        .iter()
        .map(|(key, ..)| SecretDelete { key: (*key).into() })
        .collect();
    applied(api.delete_secrets(scope, &deletes).await.unwrap());
}

#[tokio::test]
async fn contract_against_a_real_infisical() {
    let vars = (
        std::env::var("INFISICAL_TEST_URL"),
        std::env::var("INFISICAL_TEST_CLIENT_ID"),
        std::env::var("INFISICAL_TEST_CLIENT_SECRET"),
    );
    let (Ok(url), Ok(id), Ok(secret)) = vars else {
        eprintln!(
            "skipped: the contract suite against a real Infisical needs INFISICAL_TEST_URL, \
             INFISICAL_TEST_CLIENT_ID and INFISICAL_TEST_CLIENT_SECRET (see docs/infisical-client.md)"
        );
        return;
    };
    run(&url, &id, &secret).await;
}
