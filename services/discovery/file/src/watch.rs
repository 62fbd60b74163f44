//! The watch stream: a notify watcher on the source's directory, its events forwarded
//! from notify's thread through a channel, collected into short batches, and applied to
//! the [`FileSet`].

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{self, UnboundedReceiver};
use futures::stream::LocalBoxStream;
use notify::event::{AccessKind, AccessMode, CreateKind, MetadataKind, ModifyKind, RemoveKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use switchyard_provider::{ProviderError, Snapshot};
use tokio::time::{Instant, timeout_at};

use crate::files::{Change, FileNote, FileSet};

type Events = UnboundedReceiver<notify::Result<Event>>;

/// Whether an event of this kind can change a file's content or presence. Opening and
/// reading are not changes (the provider's own reads would otherwise trigger reloads).
pub fn kind_matters(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        _ => true,
    }
}

/// What one watcher event asks for, given the set's source.
fn changes_of(files: &FileSet, event: notify::Result<Event>, out: &mut Vec<Change>) {
    let event = match event {
        Ok(event) => event,
        Err(err) => {
            // A lost watch or an overflowed queue: whatever happened is unknown.
            tracing::warn!(error = %err, "file watcher error; reading everything again");
            out.push(Change::Rescan);
            return;
        }
    };
    if event.need_rescan() {
        out.push(Change::Rescan);
        return;
    }
    if !kind_matters(&event.kind) {
        return;
    }
    let was_dir = matches!(
        event.kind,
        EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder)
    );
    for path in &event.paths {
        let is_dir = was_dir || Path::is_dir(path);
        if let Some(change) = files.classify(path, is_dir) {
            out.push(change);
        }
    }
}

/// Logs what changed in the files' errors: the provider's status on the bus shows the
/// current ones, the log says when each appeared and ended.
fn log_notes(set: &mut FileSet) {
    for note in set.take_notes() {
        match note {
            FileNote::Broken {
                path,
                error,
                keeps_last_good,
            } => {
                let outcome = if keeps_last_good {
                    "its last good content stays in use"
                } else {
                    "it contributes nothing until fixed"
                };
                tracing::warn!(file = %path.display(), %error, "configuration file does not parse; {outcome}");
            }
            FileNote::Fixed { path } => {
                tracing::info!(file = %path.display(), "configuration file parses again");
            }
            FileNote::Dropped { path } => tracing::info!(
                file = %path.display(),
                "configuration file that did not parse is no longer read; its error is gone"
            ),
        }
    }
}

fn lock(files: &Mutex<FileSet>) -> MutexGuard<'_, FileSet> {
    // The set is only changed by whole-step methods, so a panic elsewhere cannot leave
    // it half-updated.
    files.lock().unwrap_or_else(PoisonError::into_inner)
}

fn start_watcher(files: &FileSet) -> Result<(RecommendedWatcher, Events), ProviderError> {
    let (tx, rx) = mpsc::unbounded();
    let mut watcher = notify::recommended_watcher(move |event| {
        // Fails only when the stream is gone, and then nobody needs the event.
        let _ = tx.unbounded_send(event);
    })
    .map_err(|err| ProviderError(format!("cannot start a file watcher: {err}")))?;
    let source = files.source();
    let mode = if source.recursive() {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    watcher.watch(source.watch_root(), mode).map_err(|err| {
        ProviderError(format!(
            "{}: cannot watch: {err}",
            source.watch_root().display()
        ))
    })?;
    Ok((watcher, rx))
}

/// Waits for the next relevant changes: the first one, then whatever else arrives
/// within `settle`, so that an editor's save (several events) is read once. `None` when
/// the watcher has stopped.
async fn next_changes(
    files: &Mutex<FileSet>,
    events: &mut Events,
    settle: Duration,
) -> Option<Vec<Change>> {
    let mut changes = Vec::new();
    while changes.is_empty() {
        let event = events.next().await?;
        changes_of(&lock(files), event, &mut changes);
    }
    let deadline = Instant::now() + settle;
    while let Ok(Some(event)) = timeout_at(deadline, events.next()).await {
        changes_of(&lock(files), event, &mut changes);
    }
    Some(changes)
}

/// A running watch.
struct Running {
    // Held for its lifetime: dropping it stops the watch.
    _watcher: RecommendedWatcher,
    events: Events,
    last: Snapshot,
}

enum Phase {
    Start,
    Watching(Box<Running>),
    Idle,
    Done,
}

/// The provider's stream: a full snapshot at once, then one after every change that alters
/// it; an error (and the end) when the source is gone. Without `watch`, the first snapshot
/// is the only item and the stream then stays pending.
pub fn stream(
    files: Arc<Mutex<FileSet>>,
    watch: bool,
    settle: Duration,
) -> LocalBoxStream<'static, Result<Snapshot, ProviderError>> {
    futures::stream::unfold(Phase::Start, move |phase| {
        let files = files.clone();
        async move {
            match phase {
                Phase::Start => {
                    // Watch before the first read, so no change between the two is lost.
                    let watcher = if watch {
                        match start_watcher(&lock(&files)) {
                            Ok(started) => Some(started),
                            Err(err) => return Some((Err(err), Phase::Done)),
                        }
                    } else {
                        None
                    };
                    let mut set = lock(&files);
                    let scanned = set.rescan();
                    log_notes(&mut set);
                    if let Err(err) = scanned {
                        return Some((Err(err), Phase::Done));
                    }
                    let snapshot = set.snapshot();
                    let next = match watcher {
                        Some((watcher, events)) => Phase::Watching(Box::new(Running {
                            _watcher: watcher,
                            events,
                            last: snapshot.clone(),
                        })),
                        None => Phase::Idle,
                    };
                    Some((Ok(snapshot), next))
                }
                Phase::Watching(mut running) => loop {
                    let changes = next_changes(&files, &mut running.events, settle).await?;
                    let mut set = lock(&files);
                    let applied = set.apply(&changes);
                    log_notes(&mut set);
                    if let Err(err) = applied {
                        return Some((Err(err), Phase::Done));
                    }
                    let snapshot = set.snapshot();
                    if snapshot != running.last {
                        running.last = snapshot.clone();
                        return Some((Ok(snapshot), Phase::Watching(running)));
                    }
                },
                Phase::Idle => {
                    futures::future::pending::<()>().await;
                    None
                }
                Phase::Done => None,
            }
        }
    })
    .boxed_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::DataChange;

    #[test]
    fn event_kinds_that_matter() {
        let cases = vec![
            (
                "open",
                EventKind::Access(AccessKind::Open(AccessMode::Any)),
                false,
            ),
            (
                "close after read",
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                false,
            ),
            ("read", EventKind::Access(AccessKind::Read), false),
            (
                "close after write",
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                true,
            ),
            ("create", EventKind::Create(CreateKind::File), true),
            (
                "data",
                EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                true,
            ),
            (
                "rename",
                EventKind::Modify(ModifyKind::Name(notify::event::RenameMode::Both)),
                true,
            ),
            (
                "chmod",
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
                true,
            ),
            (
                "atime",
                EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
                false,
            ),
            ("remove", EventKind::Remove(RemoveKind::File), true),
            ("unknown", EventKind::Any, true),
        ];
        for (case, kind, want) in cases {
            assert_eq!(kind_matters(&kind), want, "{case}");
        }
    }

    #[test]
    fn events_become_changes() {
        use std::path::PathBuf;
        let files = FileSet::new(crate::Source::Directory(PathBuf::from("/nonexistent-sy")));
        let event = |kind: EventKind, paths: &[&str]| {
            let mut event = Event::new(kind);
            for path in paths {
                event = event.add_path(PathBuf::from(path));
            }
            Ok(event)
        };
        let file = |p: &str| Change::File(PathBuf::from(p));
        let cases: Vec<(&str, notify::Result<Event>, Vec<Change>)> = vec![
            (
                "a write",
                event(
                    EventKind::Modify(ModifyKind::Data(DataChange::Any)),
                    &["/nonexistent-sy/a.yml"],
                ),
                vec![file("/nonexistent-sy/a.yml")],
            ),
            (
                "our own read",
                event(
                    EventKind::Access(AccessKind::Open(AccessMode::Any)),
                    &["/nonexistent-sy/a.yml"],
                ),
                vec![],
            ),
            (
                "a rename names both files",
                event(
                    EventKind::Modify(ModifyKind::Name(notify::event::RenameMode::Both)),
                    &["/nonexistent-sy/a.yml", "/nonexistent-sy/b.toml"],
                ),
                vec![
                    file("/nonexistent-sy/a.yml"),
                    file("/nonexistent-sy/b.toml"),
                ],
            ),
            (
                "a removed folder",
                event(
                    EventKind::Remove(RemoveKind::Folder),
                    &["/nonexistent-sy/sub"],
                ),
                vec![Change::Rescan],
            ),
            (
                "an overflow",
                Ok(Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)),
                vec![Change::Rescan],
            ),
            (
                "a watcher error",
                Err(notify::Error::generic("boom")),
                vec![Change::Rescan],
            ),
        ];
        for (case, event, want) in cases {
            let mut out = Vec::new();
            changes_of(&files, event, &mut out);
            assert_eq!(out, want, "{case}");
        }
    }
}
