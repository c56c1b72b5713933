//! Runs a check under a time limit, so a deadlock or a lost reply fails the check instead of
//! hanging CI.

use std::sync::mpsc;
use std::time::Duration;

use crate::domain::panic::panic_message;

/// How a watched run ended.
pub(crate) enum Watched<T> {
    Finished(T),
    /// The run panicked: an assertion inside it failed, or the engine did.
    Panicked(String),
    /// No answer within the limit. The stuck threads are left behind: nothing can free them,
    /// and the process reports and exits.
    Stalled,
}

/// Runs `body` on its own thread and waits at most `limit` for it.
pub(crate) fn watch<T, F>(name: &str, limit: Duration, body: F) -> Watched<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("verify-{name}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = done.send(outcome);
        });
    if let Err(error) = spawned {
        return Watched::Panicked(format!("could not start the check's thread: {error}"));
    }
    match finished.recv_timeout(limit) {
        Ok(Ok(value)) => Watched::Finished(value),
        Ok(Err(panic)) => Watched::Panicked(panic_message(panic)),
        Err(_) => Watched::Stalled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a watched run that panicked reported.
    fn reported<F: FnOnce() + Send + 'static>(body: F) -> String {
        match watch("panics", Duration::from_secs(30), body) {
            Watched::Panicked(message) => message,
            Watched::Finished(()) => panic!("the run finished instead of panicking"),
            Watched::Stalled => panic!("the run stalled instead of panicking"),
        }
    }

    #[test]
    fn a_panicking_check_reports_its_message() {
        assert_eq!(reported(|| panic!("boom")), "boom");
        let what = "formatted";
        assert_eq!(reported(move || panic!("boom, {what}")), "boom, formatted");
    }

    #[test]
    fn a_panic_with_a_payload_that_is_not_text_says_so() {
        assert_eq!(
            reported(|| std::panic::panic_any(17_u32)),
            "a panic without a message"
        );
    }
}
