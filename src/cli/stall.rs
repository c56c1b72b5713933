//! The stall's section in `duel --e2e`: for each run, the readers' longest gap between two
//! shouts against the shouter's own longest gap between two sends, and whether the client that
//! stopped reading was cut off. docs/LOAD.md states the target the excess is held to.

use lockchan::load::LoadReport;

/// The section, or `None` when no run measured a stall; `runs` are (contender, round from 0,
/// its load), in the table's order.
pub(crate) fn section<'a>(
    runs: impl IntoIterator<Item = (&'a str, usize, &'a LoadReport)>,
) -> Option<String> {
    let mut out = String::from(
        "**One client stops reading.** The readers' longest gap between two shouts, beside \
         the shouter's own longest gap between two sends (its control: a gap the generator \
         made reaches every reader), both after the ramp:\n\n\
         | contender | round | readers' longest gap ms | shouter's longest gap ms | above the shouter ms | stalled clients cut |\n\
         |---|--:|--:|--:|--:|--:|\n",
    );
    let mut any = false;
    for (name, round, load) in runs {
        let Some(stall) = &load.stall else {
            continue;
        };
        any = true;
        out += &format!(
            "| {name} | {} | {:.1} | {:.1} | {:+.1} | {} of {} |\n",
            round + 1,
            stall.reader_gap_max_ms,
            stall.sender_gap_max_ms,
            stall.excess_ms(),
            stall.stalled_cut,
            stall.stalled,
        );
    }
    any.then_some(out)
}
