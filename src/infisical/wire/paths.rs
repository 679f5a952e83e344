//! Folder paths: normalising, joining, and rebuilding the tree of a folder listing.

use crate::infisical::api::RemoteFolder;
use crate::model::names::MAX_FOLDER_DEPTH;

use super::FolderWire;

/// Normalises a folder path as the server does: a leading `/`, no trailing `/`, no empty
/// segments.
pub fn normalize_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segments.join("/"))
}

/// `parent` + `/` + `name`, normalised.
pub fn join_path(parent: &str, name: &str) -> String {
    normalize_path(&format!("{parent}/{name}"))
}

/// A folder listing whose parent links cannot form a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderTreeError {
    /// Following `parentId` from a folder comes back to it: the server's folder tree is
    /// corrupt (or the answer is forged), so no path can be given to any folder in the cycle.
    #[error(
        "the folder listing of `{root}` has a parent cycle through folder ids {ids}; \
         repair the folders in Infisical"
    )]
    Cycle {
        /// The listed path.
        root: String,
        /// The ids in the cycle (printable, cut short), comma-separated.
        ids: String,
    },
    /// The paths of the listed folders add up to more than [`MAX_FOLDER_PATH_BYTES`].
    #[error(
        "the folder listing of `{root}` is too large: its folder paths add up to more than \
         {limit} bytes; remove unused folders in Infisical"
    )]
    TooLarge {
        /// The listed path.
        root: String,
        /// [`MAX_FOLDER_PATH_BYTES`].
        limit: usize,
    },
}

/// Most bytes of folder paths one listing may add up to (32 MiB: 100,000 folders with paths of
/// 335 characters). Each path is at most [`MAX_FOLDER_DEPTH`] names long, but many long paths
/// would still take far more memory than the listing that named them.
pub const MAX_FOLDER_PATH_BYTES: usize = 32 * 1024 * 1024;

/// The folders [`folders_with_paths`] kept, and how many it left out because they sit deeper
/// than [`MAX_FOLDER_DEPTH`].
#[derive(Debug, Default)]
pub struct FolderTree {
    /// The folders with their absolute paths, sorted by path.
    pub folders: Vec<RemoteFolder>,
    /// Folders deeper than the limit (not returned; their paths are never built).
    pub too_deep: usize,
}

/// How a folder's place in the tree is known while paths are built.
enum Place {
    /// Not reached yet.
    Unknown,
    /// On the chain being walked (meeting it again is a cycle).
    Walking,
    /// The environment's root (`parentId: null`): it stands for the listed path itself.
    EnvironmentRoot,
    /// Its absolute path and depth.
    Known(String, usize),
    /// Deeper than [`MAX_FOLDER_DEPTH`]: no path is built.
    TooDeep,
}

/// Where a walk up the parent links stopped.
#[derive(Clone, Copy)]
enum Base {
    /// At the listed path.
    Root,
    /// At a folder whose place is known.
    Folder(usize),
    /// Below a folder that is too deep.
    TooDeep,
}

/// The cycle error for the folders at `members` (indexes into `folders`).
fn cycle(root: &str, folders: &[FolderWire], members: &[usize]) -> FolderTreeError {
    const SHOWN: usize = 10;
    let mut ids: Vec<String> = members
        .iter()
        .take(SHOWN)
        .map(|&member| shown_id(&folders[member].id))
        .collect();
    if members.len() > SHOWN {
        ids.push(format!("and {} more", members.len() - SHOWN));
    }
    FolderTreeError::Cycle {
        root: root.to_string(),
        ids: ids.join(", "),
    }
}

/// A server-given folder id for an error message: printable characters only, cut short.
fn shown_id(id: &str) -> String {
    let printable: String = id.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("`{printable}`")
}

/// Turns a folder listing into domain folders with absolute paths, following `parentId` links
/// below `root` (the listed path). Environment roots (`parentId: null`) are skipped; a folder
/// whose parent is not in the listing sits directly below `root` (a listing leaves out the
/// listed folder itself).
///
/// Linear in the listing: each folder's path is built once, from its parent's. Folders deeper
/// than [`MAX_FOLDER_DEPTH`] levels (counted from the environment root) are counted, not
/// returned, and no path is built for them, so a deep or long chain costs memory in proportion
/// to the listing, never to the square of its depth; the paths together may take at most
/// [`MAX_FOLDER_PATH_BYTES`].
///
/// # Errors
/// [`FolderTreeError::Cycle`] when parent links form a cycle, naming the folder ids in it;
/// [`FolderTreeError::TooLarge`] past [`MAX_FOLDER_PATH_BYTES`].
pub fn folders_with_paths(
    root: &str,
    folders: Vec<FolderWire>,
) -> Result<FolderTree, FolderTreeError> {
    use std::collections::HashMap;
    let root = normalize_path(root);
    let root_depth = root.split('/').filter(|s| !s.is_empty()).count();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(folders.len());
    for (position, folder) in folders.iter().enumerate() {
        index.entry(folder.id.as_str()).or_insert(position);
    }
    let mut places: Vec<Place> = std::iter::repeat_with(|| Place::Unknown)
        .take(folders.len())
        .collect();
    let mut chain: Vec<usize> = Vec::new();
    let mut path_bytes: usize = 0;
    for start in 0..folders.len() {
        // Walk up until a folder whose place is known (or the top), remembering the chain.
        chain.clear();
        let mut current = start;
        let base = loop {
            match &places[current] {
                Place::Walking => {
                    let from = chain.iter().position(|&c| c == current).unwrap_or(0);
                    return Err(cycle(&root, &folders, &chain[from..]));
                }
                Place::EnvironmentRoot => break Base::Root,
                Place::Known(..) => break Base::Folder(current),
                Place::TooDeep => break Base::TooDeep,
                Place::Unknown => {}
            }
            let Some(parent) = folders[current].parent_id.as_deref() else {
                places[current] = Place::EnvironmentRoot;
                break Base::Root;
            };
            places[current] = Place::Walking;
            chain.push(current);
            match index.get(parent) {
                Some(&next) => current = next,
                None => break Base::Root,
            }
        };
        // Give each folder of the chain its place, outermost first, from its parent's.
        let mut above = base;
        for &folder in chain.iter().rev() {
            let parent = match above {
                Base::Root => Some((root.as_str(), root_depth)),
                Base::Folder(index) => match &places[index] {
                    Place::Known(path, depth) => Some((path.as_str(), *depth)),
                    _ => None,
                },
                Base::TooDeep => None,
            };
            places[folder] = match parent {
                Some((path, depth)) if depth < MAX_FOLDER_DEPTH => {
                    let path = join_path(path, &folders[folder].name);
                    path_bytes = path_bytes.saturating_add(path.len());
                    if path_bytes > MAX_FOLDER_PATH_BYTES {
                        return Err(FolderTreeError::TooLarge {
                            root,
                            limit: MAX_FOLDER_PATH_BYTES,
                        });
                    }
                    Place::Known(path, depth + 1)
                }
                _ => Place::TooDeep,
            };
            above = Base::Folder(folder);
        }
    }
    let mut tree = FolderTree::default();
    for (folder, place) in folders.into_iter().zip(places) {
        match place {
            Place::Known(path, _) => tree.folders.push(RemoteFolder {
                id: folder.id.into(),
                name: folder.name,
                path,
                parent_id: folder.parent_id.map(Into::into),
                description: folder.description,
            }),
            Place::TooDeep => tree.too_deep += 1,
            Place::EnvironmentRoot | Place::Unknown | Place::Walking => {}
        }
    }
    tree.folders.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(tree)
}
