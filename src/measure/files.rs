//! Reading the files measurement leaves behind, for the gate and the report alike: JSON read
//! into its producer's type with an error that names the file, a missing file told apart from
//! a broken one, and the natural order their names sort in.

use std::cmp::Ordering;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// An input that exists but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse {}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A saved result set that is unreadable, of another format, or inconsistent.
    #[error(transparent)]
    Results(#[from] crate::measure::verdict::ResultsError),
}

/// Reads and parses `path`, or `None` when there is no such file.
pub(crate) fn read_json_if_present<T: DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, InputError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InputError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes `value` as pretty JSON with a final newline, creating the directory it goes in:
/// how every result file the project writes is laid out.
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    std::fs::write(path, json + "\n")
}

/// Reads and parses `path`, which must exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, InputError> {
    serde_json::from_str(text).map_err(|source| InputError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// The entries of `dir`, or `None` when there is no such directory: a missing directory is
/// an absent input, not an error.
pub(crate) fn read_dir_if_present(dir: &Path) -> Result<Option<std::fs::ReadDir>, InputError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(Some(entries)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InputError::Read {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Orders strings with their digit runs compared as numbers, so `t2` comes before `t16`.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let a_len = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
                let b_len = b.find(|c: char| !c.is_ascii_digit()).unwrap_or(b.len());
                let (a_digits, b_digits) = (
                    a[..a_len].trim_start_matches('0'),
                    b[..b_len].trim_start_matches('0'),
                );
                let order = a_digits
                    .len()
                    .cmp(&b_digits.len())
                    .then_with(|| a_digits.cmp(b_digits));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[a_len..];
                b = &b[b_len..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}
