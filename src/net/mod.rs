//! The network side: the WebSocket server on the gate's engine, and the load generator that
//! drives it end to end. Engines never appear here except through the `Engine` trait.

pub mod load;
pub mod server;
