#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of the simulators over HTTP: each test starts its own simulator(s) on
//! `127.0.0.1:0` and talks to them with reqwest. One test binary (modules under `tests/sim/`) so
//! the crate links its tests once.

#[path = "sim/enos_errors.rs"]
mod enos_errors;
#[path = "sim/enos_login.rs"]
mod enos_login;
#[path = "sim/faults.rs"]
mod faults;
#[path = "sim/hostile.rs"]
mod hostile;
#[path = "sim/netid_rest.rs"]
mod netid_rest;
#[path = "sim/netid_soap.rs"]
mod netid_soap;
#[path = "sim/support.rs"]
mod support;
