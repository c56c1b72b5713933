//! The benches' extra records: every `*.json` in their directory, each read as the
//! [`BenchRecord`] the benches wrote, in report order.

use std::path::Path;

use crate::bench_extras::BenchRecord;
use crate::measure::criterion::Contender;
use crate::measure::files::{InputError, natural_cmp, read_dir_if_present, read_json};

impl BenchRecord {
    /// Who ran the case, named as the report names criterion's contenders.
    pub(crate) fn contender(&self) -> Contender {
        Contender::parse(&self.engine)
    }
}

/// Every `*.json` in `dir` ([`BenchRecord::file_name`]), sorted by group, contender and
/// parameter. A missing directory is no records.
pub(crate) fn read_extras(dir: &Path) -> Result<Vec<BenchRecord>, InputError> {
    let Some(entries) = read_dir_if_present(dir)? else {
        return Ok(Vec::new());
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| InputError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            paths.push(path);
        }
    }
    let mut records = paths
        .iter()
        .map(|path| read_json::<BenchRecord>(path))
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| {
        (&a.group, a.contender())
            .cmp(&(&b.group, b.contender()))
            .then_with(|| natural_cmp(&a.param, &b.param))
    });
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_extras::{BenchMachine, ContextSwitches, Fairness, Latency};
    use crate::engines::registry::{EngineKind, EngineSpec};
    use crate::measure::testkit::Fixture;

    fn record(engine: &str, param: &str) -> BenchRecord {
        BenchRecord {
            group: "mixed".to_owned(),
            engine: engine.to_owned(),
            param: param.to_owned(),
            threads: 4,
            ops: 1000,
            latency_us: Latency {
                p50: 1,
                p99: 2,
                p999: 3,
                max: 4,
            },
            fairness: Fairness {
                min_ops: 240,
                max_ops: 260,
                jain: 0.99,
            },
            cpu_us_per_op: 1.5,
            ctx_switches_per_op: ContextSwitches {
                voluntary: 0.25,
                involuntary: 0.0,
            },
            peak_rss_kb: 2048,
            peak_queue_depth: Some(7),
            machine: BenchMachine {
                cpu: "cpu".to_owned(),
                cores: 2,
                kernel: "k".to_owned(),
                rustc: "r".to_owned(),
                commit: "c".to_owned(),
                date: "d".to_owned(),
            },
        }
    }

    /// What the benches write (the same type, under its own file name) is what is read.
    #[test]
    fn records_read_back_as_written_in_report_order() {
        let fixture = Fixture::new("extras-roundtrip");
        for record in [
            record("lock-1", "t16"),
            record("lock-1", "t2"),
            record("model", "t1"),
        ] {
            let json = serde_json::to_string_pretty(&record).expect("a record serializes");
            fixture.write(&fixture.extra().join(record.file_name()), &json);
        }
        let read = read_extras(&fixture.extra()).expect("the records read");
        let order: Vec<(Contender, &str)> = read
            .iter()
            .map(|r| (r.contender(), r.param.as_str()))
            .collect();
        let lock1 = Contender::Engine(EngineSpec::new(EngineKind::LOCK, 1));
        assert_eq!(
            order,
            [
                (Contender::Model, "t1"),
                (lock1.clone(), "t2"),
                (lock1, "t16")
            ]
        );
        assert_eq!(read[0].peak_queue_depth, Some(7));
        assert_eq!(read[0].machine, record("model", "t1").machine);
    }
}
