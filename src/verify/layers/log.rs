//! The layer log: one JSON line per test and engine, appended by the test harnesses while
//! `LOCKCHAN_LAYER_LOG` names a file, and read back by `verify --merge-layers` with the same
//! type ([`LayerLine`]).
//!
//! Tests run in parallel threads, and the loom, shuttle and race smoke binaries one after the
//! other, all appending to one file: each line is written with a single `write` on a file
//! opened for appending, so lines never interleave, and a line written short is an error,
//! not a torn record. Without the variable nothing is written, so a plain `cargo test`
//! leaves no trace.
//!
//! ```text
//! {"layer":"shuttle","engine":"actor/2","ran":{"passed":350,"failed":0,"inconclusive":34}}
//! {"layer":"loom","engine":"actor/4","cannot_run":"loom models at most 5 threads; ..."}
//! ```

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Layer, LayerError};
use crate::engines::registry::EngineSpec;
use crate::verify::Tally;

/// The environment variable that names the log; unset or empty, nothing is recorded.
pub const LAYER_LOG: &str = "LOCKCHAN_LAYER_LOG";

/// One line of the log: what one test of one layer did on one engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerLine {
    pub layer: Layer,
    /// The engine as `verification.json` names it (`lock/4`, an [`EngineSpec`]'s display).
    pub engine: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// What the test did on the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// It ran, with these counts.
    Ran(Tally),
    /// The layer cannot run this engine, and why.
    CannotRun(String),
}

/// Appends `entry` for `layer` on `spec` to the log, when `LOCKCHAN_LAYER_LOG` names one.
/// A harness must call it before it panics on a failure, or the failure goes unrecorded (and
/// the layer shows as not run, which fails too, but says less).
pub fn record(layer: Layer, spec: EngineSpec, entry: Entry) -> Result<(), LayerError> {
    match std::env::var_os(LAYER_LOG) {
        Some(path) if !path.is_empty() => append(Path::new(&path), layer, spec, entry),
        _ => Ok(()),
    }
}

/// Appends one line to the log at `path` in one write.
pub fn append(path: &Path, layer: Layer, spec: EngineSpec, entry: Entry) -> Result<(), LayerError> {
    let line = LayerLine {
        layer,
        engine: spec.to_string(),
        entry,
    };
    let failed = |source| LayerError::Write {
        path: path.to_owned(),
        source,
    };
    let mut text = serde_json::to_string(&line).map_err(|e| failed(std::io::Error::other(e)))?;
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(failed)?;
    let written = file.write(text.as_bytes()).map_err(failed)?;
    if written != text.len() {
        return Err(LayerError::ShortWrite {
            path: path.to_owned(),
            written,
            len: text.len(),
        });
    }
    Ok(())
}

/// Every line of the log at `path`, in order. A missing file is an error: the command that
/// merges expects the layers to have run.
pub fn read_log(path: &Path) -> Result<Vec<LayerLine>, LayerError> {
    let text = std::fs::read_to_string(path).map_err(|source| LayerError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_log(path, &text)
}

/// The lines of a log's `text`; blank lines are skipped, anything else must be a [`LayerLine`].
pub fn parse_log(path: &Path, text: &str) -> Result<Vec<LayerLine>, LayerError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|source| LayerError::Line {
                path: path.to_owned(),
                line: n + 1,
                source,
            })
        })
        .collect()
}
