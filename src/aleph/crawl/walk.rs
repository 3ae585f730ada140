//! Walking the directory tree of a directory ingest: the folders (parents first) and files to
//! upload, what was passed over on purpose, and the paths refused before any upload.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{CrawlFailure, EntryKind, PassReason, PassedOver, SkipFn, is_junk};

/// A directory or file found by the walk.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// The relative path with `/` separators (the foreign id).
    pub(super) rel: String,
    /// The relative path of its folder (`None` at the top).
    pub(super) parent: Option<String>,
    /// Where to read it.
    pub(super) path: PathBuf,
    /// Its name.
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) mtime: Option<DateTime<Utc>>,
    pub(super) depth: usize,
}

#[derive(Debug, Default)]
pub(super) struct Tree {
    pub(super) folders: Vec<Node>,
    pub(super) files: Vec<Node>,
    pub(super) passed_over: Vec<PassedOver>,
    pub(super) failures: Vec<CrawlFailure>,
}

pub(super) struct Walk {
    pub(super) root_real: PathBuf,
    pub(super) follow_symlinks: bool,
    pub(super) skip_junk: bool,
    pub(super) skip_if: Option<SkipFn>,
    pub(super) manifest: Option<PathBuf>,
}

impl Walk {
    /// Walks the tree below `root`: folders sorted parents first, files by path.
    pub(super) fn run(&self, root: &Path) -> Tree {
        let mut tree = Tree::default();
        let mut visited: HashSet<PathBuf> = HashSet::new();
        visited.insert(self.root_real.clone());
        let mut stack: Vec<(PathBuf, Option<String>, usize)> = vec![(root.to_path_buf(), None, 0)];
        // Folders reached through a symbolic link wait until every folder reachable without
        // one was seen, so that a folder is crawled under its real path when it has one.
        let mut deferred: std::collections::VecDeque<Node> = std::collections::VecDeque::new();
        loop {
            let (dir, rel, depth) = match stack.pop() {
                Some(next) => next,
                None => {
                    let Some(link) = deferred.pop_front() else {
                        break;
                    };
                    let real =
                        std::fs::canonicalize(&link.path).unwrap_or_else(|_| link.path.clone());
                    if !visited.insert(real) {
                        tree.passed_over.push(PassedOver {
                            path: link.rel,
                            reason: PassReason::Loop,
                        });
                        continue;
                    }
                    let next = (link.path.clone(), Some(link.rel.clone()), link.depth);
                    tree.folders.push(link);
                    next
                }
            };
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    tree.failures.push(CrawlFailure {
                        path: rel.clone().unwrap_or_else(|| ".".into()),
                        kind: EntryKind::Folder,
                        reason: format!("cannot list the folder: {e}"),
                        attempts: 0,
                    });
                    continue;
                }
            };
            let mut children = Vec::new();
            for entry in entries {
                match entry {
                    Ok(entry) => children.push(entry),
                    Err(e) => tree.failures.push(CrawlFailure {
                        path: rel.clone().unwrap_or_else(|| ".".into()),
                        kind: EntryKind::Folder,
                        reason: format!("cannot read an entry of the folder: {e}"),
                        attempts: 0,
                    }),
                }
            }
            children.sort_by_key(|e| e.file_name());
            for entry in children {
                let name = entry.file_name().to_string_lossy().into_owned();
                let child_rel = match &rel {
                    Some(parent) => format!("{parent}/{name}"),
                    None => name.clone(),
                };
                let pass = |tree: &mut Tree, reason| {
                    tree.passed_over.push(PassedOver {
                        path: child_rel.clone(),
                        reason,
                    })
                };
                let path = entry.path();
                let link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
                let metadata = if link {
                    if !self.follow_symlinks {
                        pass(&mut tree, PassReason::Symlink);
                        continue;
                    }
                    let Ok(target) = std::fs::canonicalize(&path) else {
                        pass(&mut tree, PassReason::BrokenSymlink);
                        continue;
                    };
                    if !target.starts_with(&self.root_real) {
                        pass(&mut tree, PassReason::OutsideRoot);
                        continue;
                    }
                    std::fs::metadata(&target)
                } else {
                    entry.metadata()
                };
                let metadata = match metadata {
                    Ok(m) => m,
                    Err(e) => {
                        tree.failures.push(CrawlFailure {
                            path: child_rel.clone(),
                            kind: EntryKind::File,
                            reason: format!("cannot read its metadata: {e}"),
                            attempts: 0,
                        });
                        continue;
                    }
                };
                let is_folder = metadata.is_dir();
                if self.skip_junk && is_junk(&name, is_folder) {
                    pass(&mut tree, PassReason::Junk);
                    continue;
                }
                if self
                    .skip_if
                    .as_ref()
                    .is_some_and(|f| f(&child_rel, is_folder))
                {
                    pass(&mut tree, PassReason::Filtered);
                    continue;
                }
                if is_folder {
                    let node = Node {
                        rel: child_rel.clone(),
                        parent: rel.clone(),
                        path: path.clone(),
                        name,
                        size: 0,
                        mtime: None,
                        depth: depth + 1,
                    };
                    if link {
                        deferred.push_back(node);
                        continue;
                    }
                    if self.follow_symlinks {
                        // Each real folder is crawled once, whichever way it is reached.
                        visited
                            .insert(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()));
                    }
                    tree.folders.push(node);
                    stack.push((path, Some(child_rel), depth + 1));
                } else if metadata.is_file() {
                    if let Some(manifest) = &self.manifest
                        && std::fs::canonicalize(&path).is_ok_and(|p| p == *manifest)
                    {
                        pass(&mut tree, PassReason::Manifest);
                        continue;
                    }
                    tree.files.push(Node {
                        rel: child_rel,
                        parent: rel.clone(),
                        path,
                        name,
                        size: metadata.len(),
                        mtime: metadata.modified().ok().map(DateTime::<Utc>::from),
                        depth: depth + 1,
                    });
                } else {
                    pass(&mut tree, PassReason::NotAFile);
                }
            }
        }
        tree.folders
            .sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.rel.cmp(&b.rel)));
        tree.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        refuse_ambiguous_paths(&mut tree);
        tree
    }
}

/// Fails every path that another path of the tree shares once its name was made readable.
///
/// A name that is not valid UTF-8 is read with `U+FFFD` in place of the bad bytes, so the
/// names `a<0xFF>.txt` and `a<0xFE>.txt` both become `a\u{FFFD}.txt`: the same `foreign_id`,
/// which Aleph maps to one document, so the second upload would silently replace the first.
/// Both (and, for folders, everything below them) are reported as failures instead; renaming
/// them lets the next run ingest them.
fn refuse_ambiguous_paths(tree: &mut Tree) {
    let mut seen = HashSet::new();
    let ambiguous: HashSet<String> = tree
        .folders
        .iter()
        .chain(&tree.files)
        .filter(|node| !seen.insert(node.rel.as_str()))
        .map(|node| node.rel.clone())
        .collect();
    if ambiguous.is_empty() {
        return;
    }
    let is_ambiguous = |rel: &str| {
        ambiguous.iter().any(|a| {
            rel == a
                || rel
                    .strip_prefix(a.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    };
    let mut refused = Vec::new();
    for (nodes, kind) in [
        (&mut tree.folders, EntryKind::Folder),
        (&mut tree.files, EntryKind::File),
    ] {
        nodes.retain(|node| {
            if is_ambiguous(&node.rel) {
                refused.push(CrawlFailure {
                    path: node.rel.clone(),
                    kind,
                    reason: "its name is not valid UTF-8 and reads the same as another path's \
                             (the same foreign_id); rename one of them"
                        .into(),
                    attempts: 0,
                });
                false
            } else {
                true
            }
        });
    }
    tree.failures.extend(refused);
}
