//! "Where the time went" under the e2e table: one line per contender, from the medians of its
//! runs. Each sets the latency its clients saw (and, for an engine, the floor's on the same
//! load) beside what the server measured itself (an event's time from its outbox to its write
//! completing, over every frame it wrote and over its directed frames alone); and CPU per
//! frame on both sides of the sockets: the server's (as a multiple of the floor's) and the
//! generator's. docs/LOAD.md says what each figure covers.

use lockchan::floor::FLOOR_NAME;
use lockchan::load::{LatencySummary, LoadReport, Scenario};
use lockchan::verdict::median;

/// One run's figures as the lines read them.
pub(crate) struct Spent<'a> {
    name: &'a str,
    figures: Figures,
}

/// The figures a line states, of one run or the medians of several; each `None` where none
/// was measured.
#[derive(Clone, Copy)]
struct Figures {
    /// The scenario's headline p99 at the clients, ms.
    clients_p99: Option<f64>,
    /// The server's own delivery p99 (outbox to write completed), ms.
    delivery_p99: Option<f64>,
    /// The same over directed frames alone (all but broadcasts), ms.
    directed_p99: Option<f64>,
    server_us_per_frame: Option<f64>,
    generator_us_per_frame: Option<f64>,
    server_percent: Option<f64>,
    generator_percent: Option<f64>,
}

/// The latency a scenario is about: what its clients mostly wait for.
fn headline(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Broadcast | Scenario::Flood | Scenario::Stall => "shout",
        Scenario::Idle => "tick",
        Scenario::Chat | Scenario::Match | Scenario::Mixed => "relay",
    }
}

impl Spent<'_> {
    pub(crate) fn of<'a>(name: &'a str, scenario: Scenario, load: &LoadReport) -> Spent<'a> {
        let p99 = |l: &LatencySummary| (l.samples > 0).then_some(l.p99_ms);
        let clients = match scenario {
            Scenario::Broadcast | Scenario::Flood | Scenario::Stall => &load.shout,
            Scenario::Idle => &load.tick,
            Scenario::Chat | Scenario::Match | Scenario::Mixed => &load.relay,
        };
        Spent {
            name,
            figures: Figures {
                clients_p99: p99(clients),
                delivery_p99: p99(&load.server_delivery),
                directed_p99: p99(&load.server_directed_delivery),
                server_us_per_frame: load.server_cpu_us_per_frame,
                generator_us_per_frame: load.generator_cpu_us_per_frame,
                server_percent: load.server_cpu_percent,
                generator_percent: load.generator_cpu_percent,
            },
        }
    }
}

/// One contender's medians over its runs.
struct Medians {
    runs: usize,
    figures: Figures,
}

impl Medians {
    fn of(runs: &[&Spent<'_>]) -> Medians {
        let of = |figure: fn(&Figures) -> Option<f64>| {
            let values: Vec<f64> = runs.iter().filter_map(|run| figure(&run.figures)).collect();
            median(&values)
        };
        Medians {
            runs: runs.len(),
            figures: Figures {
                clients_p99: of(|f| f.clients_p99),
                delivery_p99: of(|f| f.delivery_p99),
                directed_p99: of(|f| f.directed_p99),
                server_us_per_frame: of(|f| f.server_us_per_frame),
                generator_us_per_frame: of(|f| f.generator_us_per_frame),
                server_percent: of(|f| f.server_percent),
                generator_percent: of(|f| f.generator_percent),
            },
        }
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.1} ms"))
}

fn us(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.2} µs"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.0}%"))
}

/// `value` over `floor`, as " (2.10× the floor's 4.00 µs)", or nothing without both.
fn against(value: Option<f64>, floor: Option<f64>, unit: fn(Option<f64>) -> String) -> String {
    match (value, floor) {
        (Some(value), Some(floor)) if floor > 0.0 => {
            format!(" ({:.2}× the floor's {})", value / floor, unit(Some(floor)))
        }
        _ => String::new(),
    }
}

/// The section: a heading sentence and one line per contender, in the order of `runs` (the
/// table's), or `None` without runs.
pub(crate) fn section(runs: &[Spent<'_>], scenario: Scenario) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for run in runs {
        if !names.contains(&run.name) {
            names.push(run.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let medians = |name: &str| {
        let mine: Vec<&Spent<'_>> = runs.iter().filter(|run| run.name == name).collect();
        Medians::of(&mine)
    };
    let floor = names
        .contains(&FLOOR_NAME)
        .then(|| medians(FLOOR_NAME).figures);
    let latency = headline(scenario);
    let floor_clause = if floor.is_some() {
        " and, for an engine, the floor's"
    } else {
        ""
    };
    let mut out = format!(
        "Where the time went (medians of each one's runs): the {latency} p99 its clients \
         saw{floor_clause}; the server's own delivery p99, from an event's \
         outbox to its write completing, over every frame it wrote (shouts, ticks and relays \
         alike, so it can exceed the {latency} p99: compare it across rows; what the clients saw beyond \
         it is the read and the engine before the outbox, or the kernel and the generator \
         after the write), and over directed frames alone (all but shouts and ticks: \
         relays, room events, answers), which is a relay's time in the server after the \
         engine; CPU per delivered frame in the server and per received frame in the \
         generator, with each one's share of a core.\n\n"
    );
    for name in names {
        let Medians { runs, figures: m } = medians(name);
        let floor_part = match (&floor, name == FLOOR_NAME) {
            (Some(floor), false) => match (m.clients_p99, floor.clients_p99) {
                (Some(mine), Some(theirs)) => format!(
                    " (the floor's {}: {:+.1} ms)",
                    ms(Some(theirs)),
                    mine - theirs
                ),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let floor_cpu = match (&floor, name == FLOOR_NAME) {
            (Some(floor), false) => floor.server_us_per_frame,
            _ => None,
        };
        let directed = m.directed_p99.map_or(String::new(), |p99| {
            format!(", {} over directed", ms(Some(p99)))
        });
        out += &format!(
            "- **{name}** ({} run(s)): {latency} p99 {}{floor_part}; server delivery p99 {} \
             over all frames{directed}. Server {} per frame{} at {} of a core; generator {} \
             per frame at {}.\n",
            runs,
            ms(m.clients_p99),
            ms(m.delivery_p99),
            us(m.server_us_per_frame),
            against(m.server_us_per_frame, floor_cpu, us),
            percent(m.server_percent),
            us(m.generator_us_per_frame),
            percent(m.generator_percent),
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, p99: f64, delivery: f64, server: f64, generator: f64) -> Spent<'_> {
        Spent {
            name,
            figures: Figures {
                clients_p99: Some(p99),
                delivery_p99: Some(delivery),
                directed_p99: Some(delivery / 2.0),
                server_us_per_frame: Some(server),
                generator_us_per_frame: Some(generator),
                server_percent: Some(50.0),
                generator_percent: Some(40.0),
            },
        }
    }

    #[test]
    fn each_contender_gets_one_line_of_its_medians_set_against_the_floor() {
        let runs = [
            run("floor", 10.0, 2.0, 4.0, 5.0),
            run("floor", 30.0, 4.0, 6.0, 5.0),
            run("lock/1", 40.0, 8.0, 10.0, 6.0),
            run("lock/1", 50.0, 12.0, 14.0, 4.0),
            run("lock/1", 60.0, 10.0, 12.0, 5.0),
        ];
        let section = section(&runs, Scenario::Mixed).expect("runs");
        let lines: Vec<&str> = section.lines().filter(|l| l.starts_with("- ")).collect();
        assert_eq!(lines.len(), 2, "{section}");
        assert_eq!(
            lines[0],
            "- **floor** (2 run(s)): relay p99 20.0 ms; server delivery p99 3.0 ms over all \
             frames, 1.5 ms over directed. Server 5.00 µs per frame at 50% of a core; \
             generator 5.00 µs per frame at 40%."
        );
        assert_eq!(
            lines[1],
            "- **lock/1** (3 run(s)): relay p99 50.0 ms (the floor's 20.0 ms: +30.0 ms); server \
             delivery p99 10.0 ms over all frames, 5.0 ms over directed. Server 12.00 µs per \
             frame (2.40× the floor's 5.00 µs) at 50% of a core; generator 5.00 µs per frame at \
             40%."
        );
    }

    #[test]
    fn without_a_floor_or_a_figure_nothing_is_made_up() {
        let mut lone = run("task/1", 7.0, 1.0, 3.0, 2.0);
        lone.figures.delivery_p99 = None;
        lone.figures.directed_p99 = None;
        lone.figures.generator_us_per_frame = None;
        let section = section(&[lone], Scenario::Broadcast).expect("a run");
        assert!(section.contains("shout p99"), "{section}");
        assert!(
            section.contains(
                "- **task/1** (1 run(s)): shout p99 7.0 ms; server delivery p99 – over all \
                 frames. Server 3.00 µs per frame at 50% of a core; generator – per \
                 frame at 40%."
            ),
            "{section}"
        );
        assert!(super::section(&[], Scenario::Mixed).is_none());
    }
}
