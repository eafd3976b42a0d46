//! idbridge-gateway owns the running gateway: configuration, routing, interception of the backends'
//! login/status/logout calls, the session cache, and the Pingora service that ties them together.

pub mod cache;
pub mod config;
pub mod error;
