//! Which engine `lockchan serve` runs, and the sentence that says why: the gate's choice by
//! default, a named strategy on request.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::gate::Gate;
use crate::{EngineKind, EngineSpec, UnknownEngine};

/// The engine served when `--engine auto` finds no usable gate: the lock engine on one shard,
/// the one every gate run so far has chosen, and verified by `lockchan verify` by default.
pub const FALLBACK_ENGINE: EngineSpec = EngineSpec {
    kind: EngineKind::LOCK,
    shards: 1,
};

/// The `--engine` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineFlag {
    /// The gate's choice (`reports/gate.json`).
    Auto,
    Kind(EngineKind),
}

impl FromStr for EngineFlag {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<EngineFlag, UnknownEngine> {
        match s {
            "auto" => Ok(EngineFlag::Auto),
            kind => kind.parse().map(EngineFlag::Kind),
        }
    }
}

impl fmt::Display for EngineFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineFlag::Auto => f.write_str("auto"),
            EngineFlag::Kind(kind) => kind.fmt(f),
        }
    }
}

/// The engine to serve and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineChoice {
    pub spec: EngineSpec,
    pub reason: String,
    /// `--engine auto` only: why the gate's evidence does not hold for this binary (it was
    /// decided on other engine sources), or `None` when it does or no gate was used.
    pub stale_gate: Option<String>,
    /// `--engine auto` only: whether a usable gate chose the engine (not the fallback).
    pub gate_used: bool,
}

/// Resolves `--engine` and `--shards` against the gate file at `gate_path`. `shards` overrides
/// the gate's shard count too.
pub fn choose_engine(flag: EngineFlag, shards: Option<usize>, gate_path: &Path) -> EngineChoice {
    let with_shards = |spec: EngineSpec| match shards {
        Some(shards) => EngineSpec::new(spec.kind, shards),
        None => spec,
    };
    match flag {
        EngineFlag::Kind(kind) => EngineChoice {
            spec: with_shards(EngineSpec::new(kind, 1)),
            reason: format!("chosen by --engine {kind}"),
            stale_gate: None,
            gate_used: false,
        },
        EngineFlag::Auto => match Gate::load(gate_path) {
            Ok(gate) => match gate.choice.as_ref().map(|choice| choice.spec()) {
                Some(Ok(spec)) => EngineChoice {
                    spec: with_shards(spec),
                    reason: format!("the gate ({}): {}", gate_path.display(), gate.reason),
                    stale_gate: gate.stale_reason(),
                    gate_used: true,
                },
                _ => EngineChoice {
                    spec: with_shards(FALLBACK_ENGINE),
                    reason: format!(
                        "the gate ({}) chose no engine ({}); serving the default {FALLBACK_ENGINE}",
                        gate_path.display(),
                        gate.reason
                    ),
                    stale_gate: gate.stale_reason(),
                    gate_used: false,
                },
            },
            Err(error) => EngineChoice {
                spec: with_shards(FALLBACK_ENGINE),
                reason: format!(
                    "no usable gate ({error}); serving the default {FALLBACK_ENGINE} \
                     (run `lockchan gate` to choose by measurement)"
                ),
                stale_gate: None,
                gate_used: false,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_kind_wins_and_a_missing_gate_falls_back_and_says_so() {
        let missing = Path::new("/nonexistent/gate.json");
        let named = choose_engine(EngineFlag::Kind(EngineKind::ACTOR), Some(3), missing);
        assert_eq!(named.spec, EngineSpec::new(EngineKind::ACTOR, 3));
        let fallback = choose_engine(EngineFlag::Auto, None, missing);
        assert_eq!(fallback.spec, FALLBACK_ENGINE);
        assert!(
            fallback.reason.contains("no usable gate"),
            "{}",
            fallback.reason
        );
        assert_eq!("auto".parse::<EngineFlag>().ok(), Some(EngineFlag::Auto));
        assert!("mutex".parse::<EngineFlag>().is_err());
    }

    /// A gate file choosing `lock/2`, with `hash` as its engine-source fingerprint.
    fn gate_file(dir: &Path, hash: Option<&str>) -> std::path::PathBuf {
        let hash = hash.map_or("null".to_owned(), |h| format!("\"{h}\""));
        let json = format!(
            r#"{{"choice": {{"engine": "lock", "shards": 2}}, "reason": "measured",
                "candidates": [], "inputs": {{"criterion": {{"path": "c", "found": true}},
                "verification": {{"path": "v", "found": true}}}},
                "engine_source_hash": {hash}}}"#
        );
        let path = dir.join(format!("gate-{}.json", hash.len()));
        std::fs::write(&path, json).expect("the temp dir is writable");
        path
    }

    #[test]
    fn a_gate_from_other_engine_sources_is_stale_and_one_from_these_is_not() {
        let dir = std::env::temp_dir().join(format!("lockchan-choice-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the temp dir is writable");
        let fresh = choose_engine(
            EngineFlag::Auto,
            None,
            &gate_file(&dir, Some(crate::ENGINE_SOURCE_HASH)),
        );
        assert_eq!(fresh.spec, EngineSpec::new(EngineKind::LOCK, 2));
        assert_eq!(fresh.stale_gate, None);
        assert!(fresh.gate_used);
        let other = choose_engine(EngineFlag::Auto, None, &gate_file(&dir, Some("0123")));
        assert_eq!(other.spec, EngineSpec::new(EngineKind::LOCK, 2));
        let stale = other.stale_gate.expect("another build's gate is stale");
        assert!(
            stale.starts_with("stale gate: ") && stale.contains("0123"),
            "{stale}"
        );
        let old = choose_engine(EngineFlag::Auto, None, &gate_file(&dir, None));
        assert!(
            old.stale_gate
                .is_some_and(|s| s.contains("no engine-source fingerprint"))
        );
        // A named engine does not consult the gate, stale or not.
        let named = choose_engine(
            EngineFlag::Kind(EngineKind::ACTOR),
            None,
            &gate_file(&dir, Some("0123")),
        );
        assert_eq!(named.stale_gate, None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_registered_engine_can_be_served_by_name() {
        let missing = Path::new("/nonexistent/gate.json");
        for kind in EngineKind::all() {
            let flag = kind.name().parse::<EngineFlag>().ok();
            assert_eq!(flag, Some(EngineFlag::Kind(kind)));
            let chosen = choose_engine(EngineFlag::Kind(kind), Some(2), missing);
            assert_eq!(chosen.spec, EngineSpec::new(kind, 2));
        }
    }
}
