//! idbridge-gateway owns the running gateway: configuration, routing, interception of the backends'
//! login/status/logout calls, the session cache, and the Pingora service that ties them together.
//!
//! Layout: [`route`] (pure) decides; [`intercept`] answers identity calls (no Pingora types);
//! [`respond`] renders every answer in the caller's protocol; [`proxy`] is the thin Pingora layer;
//! [`server`] starts it all inside the caller's tokio runtime.

pub mod admin;
pub mod cache;
pub mod config;
pub mod counter;
pub mod documents;
pub mod error;
pub mod intercept;
pub mod logging;
pub mod metrics;
pub mod proxy;
pub mod respond;
pub mod route;
pub mod server;
pub mod state;
pub mod tokens;
pub mod upstream;

pub use server::{RunningGateway, StartError};
