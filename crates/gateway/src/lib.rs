//! idbridge-gateway owns the running gateway: configuration, the two axes — faces (how a caller
//! speaks) and backends (who holds the session) — the session store between them, endpoints, the
//! router, tokens, metrics, and the Pingora service that ties them together.
//!
//! Layout (`docs/ARCHITECTURE.md` walks through it): [`face`] decodes and renders, one module per
//! protocol; [`backend`] talks to the identity backends, one module per kind; [`intercept`] is the
//! data path between them; [`store`] remembers sessions; [`endpoint`] is where URLs become
//! connections; [`router`] is built from what faces and backends declare; [`runtime`] holds one
//! configuration's worth of all of it; [`proxy`] is the thin Pingora layer; [`server`] starts it
//! all inside the caller's tokio runtime.

pub mod access_log;
pub mod admin;
pub mod backend;
pub mod client;
pub mod config;
pub mod conn;
pub mod documents;
pub mod endpoint;
pub mod error;
pub mod face;
pub mod headers;
pub mod intercept;
pub mod logging;
pub mod memo;
pub mod metrics;
pub mod path;
pub mod proxy;
pub mod reply;
pub mod router;
pub mod runtime;
pub mod server;
pub mod store;
pub mod tls;
pub mod tokens;

pub use server::{RunningGateway, StartError};
