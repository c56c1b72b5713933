//! What a caught panic said. The server (a panic while handling a client's message) and
//! verify (a check that panicked) both turn a panic's payload into a sentence for people; the
//! reading lives here, below both, so neither reaches into the other for it.

/// What a caught panic said: its message when it had one.
///
/// It takes the payload `catch_unwind` returned by value, not by reference: a
/// `&Box<dyn Any + Send>` coerces silently to `&dyn Any` with the box itself as the value, every
/// downcast misses and each panic would read "a panic without a message". A box by value admits
/// no such coercion.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// assert_eq!(lockchan::verify::panic_message(payload), "boom");
/// ```
///
/// ```compile_fail
/// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// lockchan::verify::panic_message(&payload);
/// ```
pub fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
