//! Traefik's file provider as a discovery source: dynamic configuration read from one file
//! or a directory of files, watched for changes.
//!
//! [`FileProvider`] implements [`switchyard_provider::Provider`] (kind `file`). Its watch
//! yields a full [`Snapshot`](switchyard_provider::Snapshot) at once and after every
//! change:
//!
//! - Each file is decoded on its own (`switchyard_config::decode_file`) and the files are
//!   combined in path order (`switchyard_config::combine`); a resource defined in two files
//!   keeps its first definition and the duplicate is listed in the snapshot's errors.
//! - A file that stops parsing keeps its last good content in the snapshot, and its error
//!   (`path: line L, column C: message`) is listed; a file that never parsed contributes
//!   nothing; a deleted file's resources disappear. The same error text is logged (warn)
//!   once when it appears or changes, and its end is logged (info) when the file parses
//!   again or is removed.
//! - Directory mode reads `.yml`, `.yaml` and `.toml` files and enters subdirectories, as
//!   Traefik does, except hidden ones (name starting with `.`), and watches the whole tree
//!   (Traefik watches only the top directory).
//! - A directory that does not exist (or disappears), or in file mode a missing file, is a
//!   [`ProviderError`](switchyard_provider::ProviderError): the harness keeps the last
//!   published configuration and watches again after a backoff.
//!
//! Traefik's Go templating in file-provider files (`{{ range }}`, Sprig functions) is not
//! supported: files are read as plain YAML or TOML.

mod files;
mod watch;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::LocalBoxStream;
use switchyard_provider::{Provider, ProviderError, Snapshot};

pub use files::{Change, FileNote, FileSet, Source};
pub use watch::kind_matters;

/// How long after a relevant change further events are collected before the files are
/// read: an editor's save is a burst of events (the harness throttles too).
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(50);

/// The file provider.
#[derive(Debug, Clone)]
pub struct FileProvider {
    // Shared with the running watch, and kept across watches, so that a file broken when
    // a watch restarts still contributes its last good content.
    files: Arc<Mutex<FileSet>>,
    watch: bool,
    settle: Duration,
}

impl FileProvider {
    /// A provider reading `source`; with `watch` false it publishes once and then stays
    /// idle.
    pub fn new(source: Source, watch: bool) -> Self {
        FileProvider {
            files: Arc::new(Mutex::new(FileSet::new(source))),
            watch,
            settle: DEFAULT_SETTLE,
        }
    }

    /// Sets how long a burst of events is collected before reading (default
    /// [`DEFAULT_SETTLE`]).
    pub fn with_settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }
}

impl Provider for FileProvider {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn watch(&mut self) -> LocalBoxStream<'static, Result<Snapshot, ProviderError>> {
        watch::stream(self.files.clone(), self.watch, self.settle)
    }
}
