//! Decoding Traefik dynamic configuration from YAML, TOML and labels.
//!
//! Decoding follows Traefik's file provider and label parser (paerser): field names and
//! sections match case-insensitively, scalars convert to what the target needs, comma
//! lists split, `tls=true`-style switches enable sections. Every resource is decoded on its
//! own, so a faulty one is reported as a [`Problem`] and left out while the others stay;
//! resources that fail the model's own validation are left out the same way.

mod combine;
pub mod de;
pub mod labels;
pub mod node;
mod resources;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use switchyard_model::{DynamicConfig, Problem};

pub use combine::{Combined, combine};
pub use de::{DecodeError, Source, from_node};
pub use labels::{LabelIssue, LabelTree, label_tree};
pub use node::{Node, Scalar};

/// A file syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (also used for `.json`, as Traefik does).
    Yaml,
    /// TOML.
    Toml,
}

impl Format {
    /// The format for a file name's extension (case-insensitive): `.yml`, `.yaml` and
    /// `.json` are YAML, `.toml` is TOML; anything else is `None`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "yml" | "yaml" | "json" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }
}

/// A decoded configuration: the resources that decoded and validated, and why the others
/// were left out.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Decoded {
    /// The usable resources.
    pub config: DynamicConfig,
    /// One entry per problem found, sorted by resource kind and name.
    pub problems: Vec<Problem>,
}

/// A file that cannot be read as configuration at all: bad syntax, or a bad section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, without the position.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SyntaxError {}

/// A configuration file that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The extension names no supported format.
    #[error("{}: unsupported file extension (expected .yml, .yaml, .json or .toml)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid YAML/TOML, or a section of it is malformed.
    #[error("{}: {error}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        error: SyntaxError,
    },
}

impl FileError {
    /// The file concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Read { path, .. }
            | FileError::UnknownFormat { path }
            | FileError::Syntax { path, .. } => path,
        }
    }
}

/// Decodes configuration text. An empty document is an empty configuration.
///
/// Syntax errors and malformed sections (`http: 3`, an unknown `http.routes`) fail the
/// whole text, as in Traefik; problems inside resources are reported in
/// [`Decoded::problems`].
pub fn decode_str(text: &str, format: Format) -> Result<Decoded, SyntaxError> {
    let root = match format {
        Format::Yaml => Node::from_yaml(text)?,
        Format::Toml => Node::from_toml(text)?,
    };
    let (decoded, structure) = resources::decode_tree(&root, Source::File, &[], true);
    if structure.is_empty() {
        Ok(decoded)
    } else {
        Err(SyntaxError {
            line: None,
            column: None,
            message: structure.join("; "),
        })
    }
}

/// Decodes container labels under the `traefik.` and `switchyard.` roots (the latter wins
/// on the same key). Labels that are not dynamic configuration are ignored.
///
/// Malformed sections are skipped here rather than failing every label: a label set has no
/// "file" to reject.
pub fn decode_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Decoded {
    let tree = label_tree(labels);
    let (decoded, _structure) =
        resources::decode_tree(&tree.node, Source::Labels, &tree.issues, true);
    decoded
}

/// Decodes container labels like [`decode_labels`] but leaves the model's validation to the
/// caller: a provider that completes resources from its source (Docker fills a router's
/// default rule and a service's server address) validates after filling. Resources that do
/// not decode, or whose label keys are malformed, are still rejected here.
pub fn decode_labels_unvalidated<'a>(
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Decoded {
    let tree = label_tree(labels);
    let (decoded, _structure) =
        resources::decode_tree(&tree.node, Source::Labels, &tree.issues, false);
    decoded
}

/// Reads and decodes a configuration file, the format chosen by its extension.
pub fn decode_file(path: &Path) -> Result<Decoded, FileError> {
    let format = Format::from_path(path).ok_or_else(|| FileError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode_str(&text, format).map_err(|error| FileError::Syntax {
        path: path.to_owned(),
        error,
    })
}
