//! The specification: the model's rules as a value (`state`), the sequential model every engine
//! must match (`model`), the one type every list of calls is made of (`call`), the invariants
//! every event stream and snapshot must keep, and one-call-at-a-time scripts that run on either.

pub mod call;
pub mod invariants;
pub(crate) mod model;
pub mod script;
pub(crate) mod state;
