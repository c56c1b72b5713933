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
        Ok(Err(panic)) => Watched::Panicked(panic_message(&panic)),
        Err(_) => Watched::Stalled,
    }
}
