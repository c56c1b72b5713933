//! What a caught panic said. The server (a panic while handling a client's message) and
//! verify (a check that panicked) both turn a panic's payload into a sentence for people; the
//! reading lives here, below both, so neither reaches into the other for it.

/// What a caught panic said: its message when it had one.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
