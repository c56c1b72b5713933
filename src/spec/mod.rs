//! The specification: the sequential model every engine must match, the invariants every
//! event stream and snapshot must keep, and one-call-at-a-time scripts that run on either.

pub mod invariants;
pub(crate) mod model;
pub mod script;
