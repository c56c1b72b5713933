//! The network side: the WebSocket server on the gate's engine, the floor (the same server
//! with no engine, for the e2e duel's floor row), and the load generator that drives them end
//! to end. Engines never appear here except through the `Engine` trait.

pub mod floor;
pub mod load;
pub mod server;
