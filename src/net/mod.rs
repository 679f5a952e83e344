//! Network edges shared by the adapters and the front-ends: bounded reading of the answers of
//! HTTP servers we call ([`body`]), and the hardened HTTP listener of the daemon and the MCP
//! server ([`listener`]).

pub(crate) mod body;
pub mod listener;
