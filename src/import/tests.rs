use super::files::*;
use super::*;

fn paths(list: &[&str]) -> Vec<FolderPath> {
    list.iter().map(|p| FolderPath::new(*p).unwrap()).collect()
}

#[test]
fn file_stems_are_injective_even_without_case() {
    let folders = paths(&[
        "/", "/root", "/Root", "/apps", "/Apps", "/APPS", "/a/b", "/a_b",
    ]);
    let stems = folder_file_stems(&folders);
    let got: Vec<(&str, &str)> = stems
        .iter()
        .map(|(path, stem)| (path.as_str(), stem.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("/", "root"),
            ("/APPS", "APPS~3"),
            ("/Apps", "Apps~2"),
            ("/Root", "Root~3"),
            ("/a/b", "a.b"),
            ("/a_b", "a_b"),
            ("/apps", "apps"),
            ("/root", "root~2"),
        ]
    );
    let lowercase: BTreeSet<String> = stems.values().map(|s| s.to_lowercase()).collect();
    assert_eq!(lowercase.len(), folders.len(), "no two stems share a file");
    let mut reversed = folders.clone();
    reversed.reverse();
    assert_eq!(
        folder_file_stems(&reversed),
        stems,
        "the order given does not matter"
    );
    // Without the root, `/root` still does not take the root's name.
    let alone = folder_file_stems(&paths(&["/root"]));
    assert_eq!(alone.values().next().unwrap(), "root~2");
}

#[test]
fn two_files_on_one_path_are_refused() {
    let file = |path: &str| GeneratedFile {
        path: PathBuf::from(path),
        content: String::new(),
    };
    assert!(
        refuse_colliding_paths(&[file("secrets/a/root.yaml"), file("secrets/a/x.yaml")]).is_ok()
    );
    let error = refuse_colliding_paths(&[file("secrets/a/Root.yaml"), file("secrets/a/root.yaml")])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "two generated files would both be written to `secrets/a/root.yaml`; nothing was written (please report this)"
    );
}

#[test]
fn file_stems_and_document_names() {
    assert_eq!(folder_file_stem(&FolderPath::new("/").unwrap()), "root");
    assert_eq!(
        folder_file_stem(&FolderPath::new("/apps/web_1").unwrap()),
        "apps.web_1"
    );
    assert_eq!(
        document_name(&["api", "apps.Web_1", "prod"]),
        "api-apps.web-1-prod"
    );
}
