#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! idbridge-gateway's integration tests, one binary: the gateway started in process on ephemeral
//! ports in front of the simulators (`common` is the harness).

mod apps;
mod common;
mod config;
mod fidelity;
mod fuzz;
mod intercept_enos;
mod intercept_failure;
mod intercept_netid;
mod limits;
mod logs;
mod memory;
mod ops;
mod paths;
mod raw;
mod redis;
mod replay;
mod replicas;
mod runtime;
mod slow;
mod smuggling;
mod sso;
mod third_backend;
mod timeouts;
mod tls;
mod tokens;
mod two_step;
