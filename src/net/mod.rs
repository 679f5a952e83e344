//! Network edges shared by the adapters and the front-ends: bounded reading of the answers of
//! HTTP servers we call ([`body`]).

pub mod body;
