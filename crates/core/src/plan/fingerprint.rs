//! A digest of what was observed: ids, names, descriptions, folder paths, secret keys and
//! versions, and the imports read (ids, sources, positions). Never a value: a value change shows up through the secret's version, which
//! Infisical increments on every write. A saved plan carries this digest, and `apply` refuses it
//! when a fresh observation digests differently.

use sha2::{Digest, Sha256};

use super::live::LiveState;

/// `sha256:<hex>` over a canonical listing of `live` without values.
pub fn observed(live: &LiveState) -> String {
    let mut hasher = Sha256::new();
    let mut line = |parts: &[&str]| {
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.update(b"\n");
    };
    for (slug, project) in &live.projects {
        line(&[
            "project",
            slug.as_str(),
            &project.id,
            &project.name,
            project.description.as_deref().unwrap_or("\u{0}"),
        ]);
        for (env_slug, environment) in &project.environments {
            let position = environment
                .position
                .map(|p| p.to_string())
                .unwrap_or_default();
            line(&[
                "environment",
                env_slug.as_str(),
                &environment.id,
                &environment.name,
                &position,
            ]);
            for (path, folder) in &environment.folders {
                line(&[
                    "folder",
                    path.as_str(),
                    &folder.id,
                    folder.description.as_deref().unwrap_or("\u{0}"),
                ]);
            }
            for ((path, key), secret) in &environment.secrets {
                line(&[
                    "secret",
                    path.as_str(),
                    key.as_str(),
                    &secret.id,
                    &secret.version.to_string(),
                ]);
            }
            for (path, imports) in &environment.imports {
                for import in imports {
                    let (source_environment, source_path) = import
                        .source
                        .as_ref()
                        .map(|(e, p)| (e.as_str(), p.as_str()))
                        .unwrap_or(("\u{0}", "\u{0}"));
                    line(&[
                        "import",
                        path.as_str(),
                        &import.id,
                        source_environment,
                        source_path,
                        &import.position.to_string(),
                    ]);
                }
            }
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}
