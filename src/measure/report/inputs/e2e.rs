//! The end-to-end duel as `lockchan duel --e2e` left it: its Markdown table (`e2e.md`), the
//! plots of that run under [`LOAD_PLOTS_DIR`], and where its trials (`e2e-trials.json`) were
//! measured. The report shows the table as written; the figures behind it stay in `e2e.json`,
//! which the report does not read.

use std::path::Path;

use super::super::LOAD_PLOTS_DIR;
use super::Source;
use crate::engines::registry::EngineKind;
use crate::measure::e2e::E2E_TRIALS_FILE;
use crate::measure::verdict::{Provenance, ResultSet};

/// The table `duel --e2e` writes beside `e2e.json`.
pub(crate) const E2E_TABLE_FILE: &str = "e2e.md";

/// The end-to-end duel's table and its plots, when present.
#[derive(Clone, Debug)]
pub(crate) struct EndToEnd {
    pub(crate) table: Option<String>,
    /// The run's plot files under [`LOAD_PLOTS_DIR`], sorted.
    pub(crate) plots: Vec<String>,
    /// Where the trials the same run wrote beside the table were measured: their engine
    /// sources say whether the table describes this build's engines.
    pub(crate) trials: Source<Provenance>,
}

impl EndToEnd {
    /// Reads what is there; an unreadable table or plot directory counts as absent, as the
    /// end-to-end duel is the one input the report only passes on. Trials that are there but
    /// unreadable count as absent too, with a note in `notes` saying why.
    pub(crate) fn read(reports_dir: &Path, notes: &mut Vec<String>) -> EndToEnd {
        let table = std::fs::read_to_string(reports_dir.join(E2E_TABLE_FILE)).ok();
        let mut plots: Vec<String> = std::fs::read_dir(reports_dir.join(LOAD_PLOTS_DIR))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| is_e2e_run_plot(name))
            .collect();
        plots.sort();
        let trials = reports_dir.join(E2E_TRIALS_FILE);
        EndToEnd {
            table,
            plots,
            trials: Source {
                data: if trials.exists() {
                    ResultSet::read(&trials)
                        .map_err(|err| {
                            notes.push(format!(
                                "{err}: nothing says which engine sources the end-to-end table \
                                 measured"
                            ));
                        })
                        .ok()
                        .map(|set| set.provenance)
                } else {
                    None
                },
                path: trials,
            },
        }
    }
}

/// `e2e-<kind>-<shards>-<chart>.svg`, for any registered engine kind: the plots of `e2e.md`'s
/// run, not of other e2e runs written under other names (`e2e-idle-1k-lock-1-…`).
fn is_e2e_run_plot(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("e2e-").filter(|_| name.ends_with(".svg")) else {
        return false;
    };
    EngineKind::all().any(|kind| {
        rest.strip_prefix(kind.name())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::is_e2e_run_plot;

    #[test]
    fn only_the_plots_of_e2e_mds_run_are_shown() {
        for name in ["e2e-lock-1-tps.svg", "e2e-actor-4-latency.svg"] {
            assert!(is_e2e_run_plot(name), "{name}");
        }
        for name in [
            "e2e-idle-1k-lock-1-tps.svg",
            "e2e-broadcast-actor-1-memory.svg",
            "e2e-lock-1-tps.png",
            "e2e-lockstep-1-tps.svg",
            "load-lock-1-tps.svg",
        ] {
            assert!(!is_e2e_run_plot(name), "{name}");
        }
    }
}
