//! The file provider driving a real watcher on a temporary directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::LocalBoxStream;
use switchyard_discovery_file::{FileProvider, Source};
use switchyard_provider::{Provider, ProviderError, Snapshot};
use tokio::time::{Instant, timeout, timeout_at};

/// The longest any expected snapshot may take.
const WAIT: Duration = Duration::from_secs(10);

struct Watch {
    stream: LocalBoxStream<'static, Result<Snapshot, ProviderError>>,
}

impl Watch {
    fn start(provider: &mut FileProvider) -> Self {
        Watch {
            stream: provider.watch(),
        }
    }

    async fn item(&mut self) -> Option<Result<Snapshot, ProviderError>> {
        match timeout(WAIT, self.stream.next()).await {
            Ok(item) => item,
            Err(_) => panic!("no item from the watch within {WAIT:?}"),
        }
    }

    async fn next(&mut self) -> Snapshot {
        match self.item().await {
            Some(Ok(snapshot)) => snapshot,
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    /// The first snapshot meeting `want`; snapshots on the way (an editor's save can be
    /// seen half done) are skipped.
    async fn until(&mut self, what: &str, want: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            match timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(snapshot))) if want(&snapshot) => return snapshot,
                Ok(Some(Ok(snapshot))) => seen.push(snapshot),
                Ok(other) => panic!("{what}: expected a snapshot, got {other:?}"),
                Err(_) => panic!("{what}: not seen within {WAIT:?}; saw {seen:#?}"),
            }
        }
    }

    async fn error(&mut self) -> ProviderError {
        let deadline = Instant::now() + WAIT;
        loop {
            match timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Err(err))) => return err,
                Ok(Some(Ok(_))) => continue,
                Ok(None) => panic!("the watch ended without an error"),
                Err(_) => panic!("no error within {WAIT:?}"),
            }
        }
    }
}

fn router(name: &str, host: &str) -> String {
    format!("http:\n  routers:\n    {name}:\n      rule: \"Host(`{host}`)\"\n      service: s\n")
}

fn toml_router(name: &str, host: &str) -> String {
    format!("[http.routers.{name}]\nrule = \"Host(`{host}`)\"\nservice = \"s\"\n")
}

/// Router name -> host, for short assertions.
fn routers(snapshot: &Snapshot) -> Vec<(String, String)> {
    snapshot
        .config
        .http
        .routers
        .iter()
        .map(|(name, r)| {
            let host = r
                .rule
                .trim_start_matches("Host(`")
                .trim_end_matches("`)")
                .to_owned();
            (name.clone(), host)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Writes through a temporary file renamed over the target, as editors do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    write(&tmp, text);
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn dir_provider(dir: &Path) -> FileProvider {
    FileProvider::new(Source::Directory(dir.to_owned()), true)
}

#[tokio::test]
async fn initial_snapshot_reads_the_tree() {
    let dir = tempdir();
    let root = dir.path();
    write(&root.join("a.yml"), &router("a", "a.example"));
    write(&root.join("sub/deeper/b.yaml"), &router("b", "b.example"));
    write(&root.join("c.TOML"), &toml_router("c", "c.example"));
    write(&root.join("notes.txt"), &router("txt", "ignored"));
    write(
        &root.join("e.json"),
        "{\"http\": {\"routers\": {\"json\": {\"rule\": \"Host(`x`)\", \"service\": \"s\"}}}}",
    );
    write(&root.join(".hidden/d.yml"), &router("hidden", "ignored"));
    write(&root.join("f.yml"), "http:\n  routers: [\n");

    let mut watch = Watch::start(&mut dir_provider(root));
    let snapshot = watch.next().await;
    assert_eq!(
        routers(&snapshot),
        pairs(&[("a", "a.example"), ("b", "b.example"), ("c", "c.example")])
    );
    assert_eq!(snapshot.errors.len(), 1, "{:?}", snapshot.errors);
    let broken = root.join("f.yml");
    assert!(
        snapshot.errors[0].starts_with(&format!("{}: line ", broken.display())),
        "{:?}",
        snapshot.errors
    );
}

#[tokio::test]
async fn edits_breakage_and_fixes() {
    let dir = tempdir();
    let file = dir.path().join("a.yml");
    write(&file, &router("a", "one.example"));
    write(
        &dir.path().join("other.yml"),
        &router("other", "other.example"),
    );
    let mut watch = Watch::start(&mut dir_provider(dir.path()));
    let first = watch.next().await;
    assert_eq!(
        routers(&first),
        pairs(&[("a", "one.example"), ("other", "other.example")])
    );

    write(&file, &router("a", "two.example"));
    let edited = watch
        .until("edit", |s| {
            routers(s).contains(&pairs(&[("a", "two.example")])[0])
        })
        .await;
    assert!(edited.errors.is_empty(), "{:?}", edited.errors);

    // Line 3 holds the unclosed flow sequence.
    write(&file, "http:\n  routers:\n    a: [\n");
    let broken = watch.until("breakage", |s| !s.errors.is_empty()).await;
    assert_eq!(
        routers(&broken),
        pairs(&[("a", "two.example"), ("other", "other.example")]),
        "the last good content stays"
    );
    assert_eq!(broken.errors.len(), 1, "{:?}", broken.errors);
    let error = &broken.errors[0];
    assert!(
        error.starts_with(&format!("{}: line ", file.display())) && error.contains(", column "),
        "{error}"
    );

    write(&file, &router("a", "three.example"));
    let fixed = watch.until("fix", |s| s.errors.is_empty()).await;
    assert_eq!(
        routers(&fixed),
        pairs(&[("a", "three.example"), ("other", "other.example")])
    );
}

#[tokio::test]
async fn deleted_files_and_directories_lose_their_resources() {
    let dir = tempdir();
    let root = dir.path();
    write(&root.join("a.yml"), &router("a", "a.example"));
    write(&root.join("b.yml"), &router("b", "b.example"));
    write(&root.join("sub/c.yml"), &router("c", "c.example"));
    let mut watch = Watch::start(&mut dir_provider(root));
    assert_eq!(routers(&watch.next().await).len(), 3);

    fs::remove_file(root.join("b.yml")).unwrap_or_else(|e| panic!("{e}"));
    let after = watch.until("file deleted", |s| routers(s).len() == 2).await;
    assert_eq!(
        routers(&after),
        pairs(&[("a", "a.example"), ("c", "c.example")])
    );

    fs::remove_dir_all(root.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    let after = watch
        .until("directory deleted", |s| routers(s).len() == 1)
        .await;
    assert_eq!(routers(&after), pairs(&[("a", "a.example")]));
    assert!(after.errors.is_empty(), "{:?}", after.errors);
}

#[tokio::test]
async fn added_files_are_combined_and_duplicates_reported() {
    let dir = tempdir();
    let root = dir.path();
    write(&root.join("b.yml"), &router("shared", "from-b.example"));
    let mut watch = Watch::start(&mut dir_provider(root));
    assert_eq!(
        routers(&watch.next().await),
        pairs(&[("shared", "from-b.example")])
    );

    write(&root.join("c.toml"), &toml_router("t", "toml.example"));
    let combined = watch.until("toml added", |s| routers(s).len() == 2).await;
    assert_eq!(
        routers(&combined),
        pairs(&[("shared", "from-b.example"), ("t", "toml.example")])
    );

    // A new subdirectory is watched too.
    write(&root.join("new/sub/n.yml"), &router("n", "n.example"));
    watch
        .until("nested file added", |s| routers(s).len() == 3)
        .await;

    // `a.yml` sorts first, so its definition wins, as in Traefik's directory order.
    write(&root.join("a.yml"), &router("shared", "from-a.example"));
    let dup = watch.until("duplicate", |s| !s.errors.is_empty()).await;
    assert!(
        routers(&dup).contains(&pairs(&[("shared", "from-a.example")])[0]),
        "{:?}",
        routers(&dup)
    );
    assert_eq!(dup.errors.len(), 1, "{:?}", dup.errors);
    let error = &dup.errors[0];
    assert!(
        error.starts_with("http.routers.shared: defined in both")
            && error.contains(&root.join("a.yml").display().to_string())
            && error.contains(&root.join("b.yml").display().to_string()),
        "{error}"
    );

    fs::remove_file(root.join("a.yml")).unwrap_or_else(|e| panic!("{e}"));
    let clean = watch
        .until("duplicate removed", |s| s.errors.is_empty())
        .await;
    assert!(routers(&clean).contains(&pairs(&[("shared", "from-b.example")])[0]));
}

#[tokio::test]
async fn renames_are_followed() {
    let dir = tempdir();
    let root = dir.path();
    write(&root.join("a.yml"), &router("a", "one.example"));
    let mut watch = Watch::start(&mut dir_provider(root));
    assert_eq!(routers(&watch.next().await), pairs(&[("a", "one.example")]));

    // Renamed to a name that is not read: gone.
    fs::rename(root.join("a.yml"), root.join("a.yml.bak")).unwrap_or_else(|e| panic!("{e}"));
    watch.until("renamed away", |s| routers(s).is_empty()).await;

    // Renamed back under another readable name: back.
    fs::rename(root.join("a.yml.bak"), root.join("z.yaml")).unwrap_or_else(|e| panic!("{e}"));
    watch.until("renamed back", |s| routers(s).len() == 1).await;

    // An editor's save: a temporary file renamed over the original.
    replace(&root.join("z.yaml"), &router("a", "two.example"));
    let saved = watch
        .until("replaced", |s| routers(s) == pairs(&[("a", "two.example")]))
        .await;
    assert!(saved.errors.is_empty(), "{:?}", saved.errors);

    // A whole subdirectory renamed in.
    let outside = tempdir();
    write(
        &outside.path().join("moved/m.yml"),
        &router("m", "m.example"),
    );
    fs::rename(outside.path().join("moved"), root.join("moved")).unwrap_or_else(|e| panic!("{e}"));
    watch
        .until("directory moved in", |s| routers(s).len() == 2)
        .await;
}

#[tokio::test]
async fn single_file_mode() {
    let dir = tempdir();
    let file = dir.path().join("dynamic.yml");
    write(&file, &router("a", "one.example"));
    write(&dir.path().join("other.yml"), &router("other", "ignored"));
    let mut provider = FileProvider::new(Source::File(file.clone()), true);
    let mut watch = Watch::start(&mut provider);
    assert_eq!(routers(&watch.next().await), pairs(&[("a", "one.example")]));

    // Other files in the directory are not read: the next snapshot is the edit's.
    write(
        &dir.path().join("other.yml"),
        &router("other", "still-ignored"),
    );
    write(&dir.path().join("new.yml"), &router("new", "ignored"));
    replace(&file, &router("a", "two.example"));
    let next = watch.next().await;
    assert_eq!(routers(&next), pairs(&[("a", "two.example")]));

    write(&file, "http: [\n");
    let broken = watch.until("breakage", |s| !s.errors.is_empty()).await;
    assert_eq!(routers(&broken), pairs(&[("a", "two.example")]));
    assert!(
        broken.errors[0].starts_with(&format!("{}: line ", file.display())),
        "{:?}",
        broken.errors
    );

    fs::remove_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let err = watch.error().await;
    assert!(err.0.contains("dynamic.yml"), "{err}");
    assert!(
        watch.item().await.is_none(),
        "the watch ends after its error"
    );
}

#[tokio::test]
async fn a_missing_directory_is_an_error_until_it_exists() {
    let dir = tempdir();
    let root = dir.path().join("conf");
    let mut provider = dir_provider(&root);
    let mut watch = Watch::start(&mut provider);
    let err = watch.error().await;
    assert!(err.0.contains("conf"), "{err}");
    assert!(
        watch.item().await.is_none(),
        "the watch ends after its error"
    );

    // The harness watches again after a backoff; by then the directory exists.
    write(&root.join("a.yml"), &router("a", "a.example"));
    let mut watch = Watch::start(&mut provider);
    assert_eq!(routers(&watch.next().await), pairs(&[("a", "a.example")]));

    // Broken, then the directory goes away: an error, and the watch ends.
    write(&root.join("a.yml"), "http: [\n");
    watch.until("breakage", |s| !s.errors.is_empty()).await;
    let moved = dir.path().join("moved");
    fs::rename(&root, &moved).unwrap_or_else(|e| panic!("{e}"));
    let err = watch.error().await;
    assert!(err.0.contains("conf"), "{err}");
    assert!(
        watch.item().await.is_none(),
        "the watch ends after its error"
    );

    // Back, still broken: the next watch still has the last good content.
    fs::rename(&moved, &root).unwrap_or_else(|e| panic!("{e}"));
    let mut watch = Watch::start(&mut provider);
    let again = watch.next().await;
    assert_eq!(routers(&again), pairs(&[("a", "a.example")]));
    assert_eq!(again.errors.len(), 1, "{:?}", again.errors);
}

#[tokio::test]
async fn without_watch_it_publishes_once() {
    let dir = tempdir();
    let file = dir.path().join("a.yml");
    write(&file, &router("a", "one.example"));
    let mut provider = FileProvider::new(Source::Directory(dir.path().to_owned()), false);
    let mut watch = Watch::start(&mut provider);
    assert_eq!(routers(&watch.next().await), pairs(&[("a", "one.example")]));
    write(&file, &router("a", "two.example"));
    let more = timeout(Duration::from_millis(500), watch.stream.next()).await;
    assert!(more.is_err(), "the stream stays pending, got {more:?}");
}

#[tokio::test]
async fn relative_paths_work() {
    // The watcher reports absolute paths; a relative source must still match them.
    let dir = tempdir();
    write(&dir.path().join("conf/a.yml"), &router("a", "one.example"));
    let cwd = std::env::current_dir().unwrap_or_else(|e| panic!("{e}"));
    let relative: PathBuf = pathdiff(&dir.path().join("conf"), &cwd);
    let mut watch = Watch::start(&mut dir_provider(&relative));
    assert_eq!(routers(&watch.next().await), pairs(&[("a", "one.example")]));
    write(&dir.path().join("conf/a.yml"), &router("a", "two.example"));
    watch
        .until("edit", |s| routers(s) == pairs(&[("a", "two.example")]))
        .await;
}

/// `path` relative to `base` (both absolute), through `..` as needed.
fn pathdiff(path: &Path, base: &Path) -> PathBuf {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &path[common..] {
        out.push(part);
    }
    out
}
