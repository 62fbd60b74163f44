//! The decision logic of the file provider, free of any watcher: which files belong to the
//! source, which filesystem changes matter, each file's last good content, and the snapshot
//! they combine into.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use switchyard_config::{Decoded, FileError, combine, decode_file};
use switchyard_provider::{ProviderError, Snapshot};

/// What a file provider reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// One file (`.yml`, `.yaml`, `.toml`; `.json` is read as YAML).
    File(PathBuf),
    /// Every `.yml`, `.yaml` and `.toml` file in a directory and its subdirectories,
    /// except subdirectories whose name starts with `.`.
    Directory(PathBuf),
}

impl Source {
    /// The directory a watcher must watch: the directory itself, or the file's parent
    /// (editors replace a file by renaming another over it, which a watch on the file
    /// itself would lose).
    pub fn watch_root(&self) -> &Path {
        match self {
            Source::File(file) => file.parent().unwrap_or(file),
            Source::Directory(dir) => dir,
        }
    }

    /// Whether the watch must include subdirectories.
    pub fn recursive(&self) -> bool {
        matches!(self, Source::Directory(_))
    }

    fn absolute(self) -> Source {
        // Watchers report absolute paths; comparing against absolute paths keeps a
        // relative `--directory conf` working.
        let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        match self {
            Source::File(p) => Source::File(abs(p)),
            Source::Directory(p) => Source::Directory(abs(p)),
        }
    }
}

/// What a filesystem change asks the provider to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Re-read one file.
    File(PathBuf),
    /// List the source again and re-read every file in it.
    Rescan,
}

/// A change in whether a file can be used, for the log: the status on the bus lists the
/// current errors, the log says when each appeared and went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileNote {
    /// The file does not decode now, or fails differently than before.
    Broken {
        /// The file.
        path: PathBuf,
        /// The same text as in the snapshot's errors: `path: line L, column C: message`.
        error: String,
        /// Whether its last good content stays in use (else it contributes nothing).
        keeps_last_good: bool,
    },
    /// A file that did not decode does again.
    Fixed {
        /// The file.
        path: PathBuf,
    },
    /// A file that did not decode is no longer read (deleted, or its folder is gone).
    Dropped {
        /// The file.
        path: PathBuf,
    },
}

/// What is known of one file.
#[derive(Debug, Default)]
struct Entry {
    /// The last content that decoded; kept while the file is broken.
    good: Option<Decoded>,
    /// Why the current content cannot be used.
    error: Option<String>,
}

/// A file source's state: each file's last good content and current error.
#[derive(Debug)]
pub struct FileSet {
    source: Source,
    files: BTreeMap<PathBuf, Entry>,
    /// Subdirectories that could not be listed, for the snapshot's errors.
    listing_errors: Vec<String>,
    /// Changes in the files' errors not yet taken by [`FileSet::take_notes`].
    notes: Vec<FileNote>,
}

impl FileSet {
    /// An empty set for `source` (relative paths are made absolute).
    pub fn new(source: Source) -> Self {
        FileSet {
            source: source.absolute(),
            files: BTreeMap::new(),
            listing_errors: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The source, with absolute paths.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// What a change reported at `path` calls for, if anything. `is_dir` tells whether
    /// the path is (or, for a removal, was) a directory, or a link to one.
    pub fn classify(&self, path: &Path, is_dir: bool) -> Option<Change> {
        match &self.source {
            Source::File(file) => {
                if path == file.as_path() {
                    Some(Change::File(file.clone()))
                } else if Some(path) == file.parent() {
                    // The watched directory itself moved or went away.
                    Some(Change::Rescan)
                } else if is_dir && path.parent() == file.parent() {
                    // A directory link swapped next to the file (Kubernetes' `..data`) may
                    // have changed what the file points to.
                    Some(Change::File(file.clone()))
                } else {
                    None
                }
            }
            Source::Directory(root) => {
                let rel = path.strip_prefix(root).ok()?;
                let names: Vec<&OsStr> = rel
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(name) => Some(name),
                        _ => None,
                    })
                    .collect();
                let Some((_, parents)) = names.split_last() else {
                    return Some(Change::Rescan);
                };
                if parents.iter().any(|name| is_hidden(name)) {
                    return None;
                }
                if is_dir {
                    // A new, removed or renamed subdirectory, or a swapped directory link
                    // that files may point through.
                    Some(Change::Rescan)
                } else if is_config_file(path) {
                    Some(Change::File(path.to_owned()))
                } else if self.files.keys().any(|known| known.starts_with(path)) {
                    // A directory we read files from was renamed or removed.
                    Some(Change::Rescan)
                } else {
                    None
                }
            }
        }
    }

    /// Records what reading `path` gave: new content replaces the last good one; an error
    /// is shown while the last good content stays in use.
    /// A file whose error appears, changes or goes away leaves a [`FileNote`]; reading
    /// the same error again does not.
    pub fn record(&mut self, path: PathBuf, outcome: Result<Decoded, String>) {
        let entry = self.files.entry(path.clone()).or_default();
        match outcome {
            Ok(decoded) => {
                entry.good = Some(decoded);
                if entry.error.take().is_some() {
                    self.notes.push(FileNote::Fixed { path });
                }
            }
            Err(message) => {
                if entry.error.as_ref() != Some(&message) {
                    self.notes.push(FileNote::Broken {
                        path,
                        error: message.clone(),
                        keeps_last_good: entry.good.is_some(),
                    });
                }
                entry.error = Some(message);
            }
        }
    }

    /// Forgets `path` and every file under it: their resources leave the snapshot.
    pub fn forget(&mut self, path: &Path) {
        self.retain_files(|known| !known.starts_with(path));
    }

    /// Keeps the files `keep` accepts; a broken file dropped leaves a note.
    fn retain_files(&mut self, keep: impl Fn(&Path) -> bool) {
        let notes = &mut self.notes;
        self.files.retain(|known, entry| {
            let kept = keep(known);
            if !kept && entry.error.is_some() {
                notes.push(FileNote::Dropped {
                    path: known.clone(),
                });
            }
            kept
        });
    }

    /// The changes in the files' errors since the last call, oldest first.
    pub fn take_notes(&mut self) -> Vec<FileNote> {
        std::mem::take(&mut self.notes)
    }

    /// Applies a batch of changes, reading the files concerned. Fails when the source
    /// itself is gone (the directory, or in file mode the file), leaving the state as it was.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), ProviderError> {
        if changes.contains(&Change::Rescan) {
            return self.rescan();
        }
        let paths: BTreeSet<&PathBuf> = changes
            .iter()
            .filter_map(|change| match change {
                Change::File(path) => Some(path),
                Change::Rescan => None,
            })
            .collect();
        for path in paths {
            self.refresh(path)?;
        }
        Ok(())
    }

    /// Lists the source again and re-reads every file.
    pub fn rescan(&mut self) -> Result<(), ProviderError> {
        match self.source.clone() {
            Source::File(file) => self.refresh(&file),
            Source::Directory(root) => {
                let mut listed = BTreeSet::new();
                let mut unreadable = Vec::new();
                let entries = std::fs::read_dir(&root).map_err(|err| {
                    ProviderError(format!("{}: cannot read directory: {err}", root.display()))
                })?;
                list_dir(&root, entries, &mut listed, &mut unreadable);
                self.retain_files(|known| {
                    listed.contains(known)
                        || unreadable.iter().any(|(dir, _)| known.starts_with(dir))
                });
                self.listing_errors = unreadable
                    .into_iter()
                    .map(|(dir, err)| format!("{}: cannot read directory: {err}", dir.display()))
                    .collect();
                for path in listed {
                    self.refresh(&path)?;
                }
                Ok(())
            }
        }
    }

    /// Re-reads one file.
    fn refresh(&mut self, path: &Path) -> Result<(), ProviderError> {
        match decode_file(path) {
            Ok(decoded) => self.record(path.to_owned(), Ok(decoded)),
            Err(FileError::Read { source, .. }) if source.kind() == ErrorKind::NotFound => {
                if let Source::File(file) = &self.source {
                    return Err(ProviderError(format!("{}: no such file", file.display())));
                }
                self.forget(path);
            }
            Err(err) => self.record(path.to_owned(), Err(err.to_string())),
        }
        Ok(())
    }

    /// The combined configuration of every file's last good content, with the errors of
    /// the files that do not decode now and the resources defined in two files (the first
    /// file in path order wins, as in Traefik).
    pub fn snapshot(&self) -> Snapshot {
        let good = self
            .files
            .iter()
            .filter_map(|(path, entry)| Some((path.clone(), entry.good.clone()?)))
            .collect();
        let combined = combine(good);
        let mut errors = self.listing_errors.clone();
        errors.extend(self.files.values().filter_map(|entry| entry.error.clone()));
        errors.extend(combined.duplicates);
        Snapshot {
            config: combined.decoded.config,
            problems: combined.decoded.problems,
            errors,
        }
    }
}

/// Collects the configuration files under a directory, depth first. Subdirectories are
/// entered as Traefik does, but not through links (loops) nor into hidden ones (`.git`,
/// Kubernetes' `..2024_01_01` copies, which would duplicate every resource).
fn list_dir(
    dir: &Path,
    entries: std::fs::ReadDir,
    listed: &mut BTreeSet<PathBuf>,
    unreadable: &mut Vec<(PathBuf, std::io::Error)>,
) {
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                unreadable.push((dir.to_owned(), err));
                continue;
            }
        };
        let path = entry.path();
        let is_real_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_real_dir {
            if is_hidden(&entry.file_name()) {
                continue;
            }
            match std::fs::read_dir(&path) {
                Ok(sub) => list_dir(&path, sub, listed, unreadable),
                Err(err) => unreadable.push((path, err)),
            }
        } else if is_config_file(&path) {
            listed.insert(path);
        }
    }
}

/// Whether a directory-mode file is read: `.yml`, `.yaml` or `.toml`, any case (Traefik's
/// list; `.json` only in file mode).
fn is_config_file(path: &Path) -> bool {
    path.extension().and_then(OsStr::to_str).is_some_and(|ext| {
        ["yml", "yaml", "toml"]
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    })
}

fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_config::{Format, decode_str};

    fn yaml(text: &str) -> Decoded {
        match decode_str(text, Format::Yaml) {
            Ok(decoded) => decoded,
            Err(err) => panic!("test YAML does not decode: {err}"),
        }
    }

    fn router(name: &str, rule: &str) -> Decoded {
        yaml(&format!(
            "http:\n  routers:\n    {name}:\n      rule: \"{rule}\"\n      service: s\n"
        ))
    }

    fn rules(snapshot: &Snapshot) -> Vec<(String, String)> {
        snapshot
            .config
            .http
            .routers
            .iter()
            .map(|(name, r)| (name.clone(), r.rule.clone()))
            .collect()
    }

    fn dir_set() -> FileSet {
        FileSet::new(Source::Directory(PathBuf::from("/conf")))
    }

    #[test]
    fn last_good_content_survives_errors() {
        struct Case {
            case: &'static str,
            steps: Vec<(&'static str, Result<Decoded, String>)>,
            rules: Vec<(&'static str, &'static str)>,
            errors: Vec<&'static str>,
        }
        let cases = vec![
            Case {
                case: "good content is used",
                steps: vec![("/conf/a.yml", Ok(router("a", "Host(`a`)")))],
                rules: vec![("a", "Host(`a`)")],
                errors: vec![],
            },
            Case {
                case: "newer content replaces older",
                steps: vec![
                    ("/conf/a.yml", Ok(router("a", "Host(`a`)"))),
                    ("/conf/a.yml", Ok(router("a", "Host(`b`)"))),
                ],
                rules: vec![("a", "Host(`b`)")],
                errors: vec![],
            },
            Case {
                case: "a broken file keeps its last good content and shows its error",
                steps: vec![
                    ("/conf/a.yml", Ok(router("a", "Host(`a`)"))),
                    ("/conf/a.yml", Err("a.yml: line 2, column 3: bad".into())),
                ],
                rules: vec![("a", "Host(`a`)")],
                errors: vec!["a.yml: line 2, column 3: bad"],
            },
            Case {
                case: "fixing the file clears the error",
                steps: vec![
                    ("/conf/a.yml", Ok(router("a", "Host(`a`)"))),
                    ("/conf/a.yml", Err("a.yml: bad".into())),
                    ("/conf/a.yml", Ok(router("a", "Host(`c`)"))),
                ],
                rules: vec![("a", "Host(`c`)")],
                errors: vec![],
            },
            Case {
                case: "a file that never decoded contributes nothing",
                steps: vec![
                    ("/conf/a.yml", Ok(router("a", "Host(`a`)"))),
                    ("/conf/b.yml", Err("b.yml: bad".into())),
                ],
                rules: vec![("a", "Host(`a`)")],
                errors: vec!["b.yml: bad"],
            },
            Case {
                case: "a resource in two files: first file wins, duplicate reported",
                steps: vec![
                    ("/conf/b.yml", Ok(router("a", "Host(`b`)"))),
                    ("/conf/a.yml", Ok(router("a", "Host(`a`)"))),
                ],
                rules: vec![("a", "Host(`a`)")],
                errors: vec![
                    "http.routers.a: defined in both /conf/a.yml and /conf/b.yml; the definition in /conf/a.yml is used",
                ],
            },
        ];
        for case in cases {
            let mut set = dir_set();
            for (path, outcome) in case.steps {
                set.record(PathBuf::from(path), outcome);
            }
            let snapshot = set.snapshot();
            let want: Vec<(String, String)> = case
                .rules
                .iter()
                .map(|(n, r)| (n.to_string(), r.to_string()))
                .collect();
            assert_eq!(rules(&snapshot), want, "{}", case.case);
            assert_eq!(snapshot.errors, case.errors, "{}", case.case);
        }
    }

    #[test]
    fn error_changes_leave_one_note_each() {
        enum Step {
            /// A read of a file: `Ok(rule of router r)` or `Err(message)`.
            Read(&'static str, Result<&'static str, &'static str>),
            Forget(&'static str),
        }
        use Step::{Forget, Read};
        let broken = |path: &str, error: &str, keeps_last_good| FileNote::Broken {
            path: PathBuf::from(path),
            error: error.to_owned(),
            keeps_last_good,
        };
        let fixed = |path: &str| FileNote::Fixed {
            path: PathBuf::from(path),
        };
        let dropped = |path: &str| FileNote::Dropped {
            path: PathBuf::from(path),
        };
        let cases: Vec<(&str, Vec<Step>, Vec<FileNote>)> = vec![
            (
                "good reads leave no note",
                vec![
                    Read("/conf/a.yml", Ok("Host(`a`)")),
                    Read("/conf/a.yml", Ok("Host(`b`)")),
                ],
                vec![],
            ),
            (
                "a file that never decoded",
                vec![Read("/conf/b.yml", Err("b.yml: line 1, column 2: e1"))],
                vec![broken("/conf/b.yml", "b.yml: line 1, column 2: e1", false)],
            ),
            (
                "the same error read again is noted once",
                vec![
                    Read("/conf/a.yml", Ok("Host(`a`)")),
                    Read("/conf/a.yml", Err("e1")),
                    Read("/conf/a.yml", Err("e1")),
                ],
                vec![broken("/conf/a.yml", "e1", true)],
            ),
            (
                "a different error is noted",
                vec![
                    Read("/conf/a.yml", Err("e1")),
                    Read("/conf/a.yml", Err("e2")),
                ],
                vec![
                    broken("/conf/a.yml", "e1", false),
                    broken("/conf/a.yml", "e2", false),
                ],
            ),
            (
                "a fix is noted",
                vec![
                    Read("/conf/a.yml", Ok("Host(`a`)")),
                    Read("/conf/a.yml", Err("e1")),
                    Read("/conf/a.yml", Ok("Host(`a`)")),
                ],
                vec![broken("/conf/a.yml", "e1", true), fixed("/conf/a.yml")],
            ),
            (
                "a broken file removed with its folder",
                vec![
                    Read("/conf/a.yml", Err("e1")),
                    Read("/conf/sub/c.yml", Err("e2")),
                    Read("/conf/sub/d.yml", Ok("Host(`d`)")),
                    Forget("/conf/sub"),
                ],
                vec![
                    broken("/conf/a.yml", "e1", false),
                    broken("/conf/sub/c.yml", "e2", false),
                    dropped("/conf/sub/c.yml"),
                ],
            ),
            (
                "a good file removed leaves no note",
                vec![Read("/conf/a.yml", Ok("Host(`a`)")), Forget("/conf/a.yml")],
                vec![],
            ),
        ];
        for (case, steps, want) in cases {
            let mut set = dir_set();
            for step in steps {
                match step {
                    Read(path, outcome) => set.record(
                        PathBuf::from(path),
                        outcome.map(|rule| router("r", rule)).map_err(str::to_owned),
                    ),
                    Forget(path) => set.forget(Path::new(path)),
                }
            }
            assert_eq!(set.take_notes(), want, "{case}");
            assert_eq!(set.take_notes(), vec![], "{case}: notes are taken once");
        }
    }

    #[test]
    fn the_noted_error_is_the_status_text_and_names_file_and_position() {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("temporary folder: {e}"),
        };
        let path = dir.path().join("broken.yml");
        let written = std::fs::write(&path, "http:\n  routers:\n    a: [unclosed\n");
        assert!(written.is_ok(), "{written:?}");
        let mut set = FileSet::new(Source::Directory(dir.path().to_owned()));
        assert_eq!(set.rescan(), Ok(()));
        let notes = set.take_notes();
        let [
            FileNote::Broken {
                path: noted,
                error,
                keeps_last_good: false,
            },
        ] = notes.as_slice()
        else {
            panic!("one broken file expected, got {notes:?}");
        };
        assert_eq!(noted, &path);
        assert_eq!(
            set.snapshot().errors,
            vec![error.clone()],
            "same text as the status"
        );
        let prefix = format!("{}: line ", path.display());
        assert!(error.starts_with(&prefix), "{error}");
        assert!(error.contains(", column "), "{error}");
        // Rescanning the unchanged file says nothing new; fixing it is noted.
        assert_eq!(set.rescan(), Ok(()));
        assert_eq!(set.take_notes(), vec![]);
        let written = std::fs::write(&path, "http: {}\n");
        assert!(written.is_ok(), "{written:?}");
        assert_eq!(set.rescan(), Ok(()));
        assert_eq!(
            set.take_notes(),
            vec![FileNote::Fixed { path: path.clone() }]
        );
    }

    #[test]
    fn forgetting_a_file_or_directory_drops_its_resources() {
        let mut set = dir_set();
        set.record("/conf/a.yml".into(), Ok(router("a", "Host(`a`)")));
        set.record("/conf/sub/b.yml".into(), Ok(router("b", "Host(`b`)")));
        set.record("/conf/sub/c.yml".into(), Err("c.yml: bad".into()));
        set.forget(Path::new("/conf/sub"));
        let snapshot = set.snapshot();
        assert_eq!(rules(&snapshot), vec![("a".into(), "Host(`a`)".into())]);
        assert!(snapshot.errors.is_empty());
        set.forget(Path::new("/conf/a.yml"));
        assert_eq!(set.snapshot(), Snapshot::default());
    }

    #[test]
    fn directory_changes_are_classified() {
        let mut set = dir_set();
        set.record("/conf/sub/known.yml".into(), Ok(router("a", "Host(`a`)")));
        let file = |p: &str| Some(Change::File(PathBuf::from(p)));
        let cases: Vec<(&str, &str, bool, Option<Change>)> = vec![
            ("yaml file", "/conf/a.yml", false, file("/conf/a.yml")),
            ("yaml long ext", "/conf/a.yaml", false, file("/conf/a.yaml")),
            ("toml file", "/conf/a.toml", false, file("/conf/a.toml")),
            ("upper-case ext", "/conf/A.YML", false, file("/conf/A.YML")),
            (
                "nested file",
                "/conf/x/y/a.yml",
                false,
                file("/conf/x/y/a.yml"),
            ),
            (
                "hidden file is read",
                "/conf/.a.yml",
                false,
                file("/conf/.a.yml"),
            ),
            ("json is not read", "/conf/a.json", false, None),
            ("editor swap file", "/conf/.a.yml.swp", false, None),
            ("editor backup", "/conf/a.yml~", false, None),
            ("vim probe file", "/conf/4913", false, None),
            ("outside the root", "/other/a.yml", false, None),
            ("sibling with root prefix", "/confx/a.yml", false, None),
            ("inside hidden dir", "/conf/.git/a.yml", false, None),
            ("inside k8s copy", "/conf/..2024_01/a.yml", false, None),
            ("new subdirectory", "/conf/new", true, Some(Change::Rescan)),
            (
                "swapped dir link",
                "/conf/..data",
                true,
                Some(Change::Rescan),
            ),
            (
                "dir named like a file",
                "/conf/d.yml",
                true,
                Some(Change::Rescan),
            ),
            (
                "known dir went away",
                "/conf/sub",
                false,
                Some(Change::Rescan),
            ),
            ("unknown non-config path", "/conf/other", false, None),
            ("root itself", "/conf", true, Some(Change::Rescan)),
            ("root itself removed", "/conf", false, Some(Change::Rescan)),
        ];
        for (case, path, is_dir, want) in cases {
            assert_eq!(set.classify(Path::new(path), is_dir), want, "{case}");
        }
    }

    #[test]
    fn file_changes_are_classified() {
        let set = FileSet::new(Source::File(PathBuf::from("/etc/sy/dynamic.yml")));
        let this = Some(Change::File(PathBuf::from("/etc/sy/dynamic.yml")));
        let cases: Vec<(&str, &str, bool, Option<Change>)> = vec![
            ("the file", "/etc/sy/dynamic.yml", false, this.clone()),
            ("another file", "/etc/sy/other.yml", false, None),
            (
                "a temp file renamed over it",
                "/etc/sy/.dynamic.yml.tmp",
                false,
                None,
            ),
            ("the parent itself", "/etc/sy", true, Some(Change::Rescan)),
            ("a directory link next to it", "/etc/sy/..data", true, this),
            (
                "a same-named file elsewhere",
                "/etc/dynamic.yml",
                false,
                None,
            ),
        ];
        for (case, path, is_dir, want) in cases {
            assert_eq!(set.classify(Path::new(path), is_dir), want, "{case}");
        }
    }

    #[test]
    fn source_watch_roots() {
        let file = Source::File(PathBuf::from("/etc/sy/dynamic.yml"));
        assert_eq!(file.watch_root(), Path::new("/etc/sy"));
        assert!(!file.recursive());
        let dir = Source::Directory(PathBuf::from("/etc/sy"));
        assert_eq!(dir.watch_root(), Path::new("/etc/sy"));
        assert!(dir.recursive());
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let set = FileSet::new(Source::Directory(PathBuf::from("conf")));
        let Source::Directory(root) = set.source() else {
            panic!("source kind changed");
        };
        assert!(root.is_absolute());
        assert!(root.ends_with("conf"));
    }
}
