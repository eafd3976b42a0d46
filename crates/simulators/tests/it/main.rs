#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests of the simulators over HTTP: each test starts its own simulator(s) on
//! `127.0.0.1:0` and talks to them with reqwest. One test binary (`tests/it/`, a module per area) so
//! the crate links its tests once.

mod enos_errors;
mod enos_login;
mod faults;
mod hostile;
mod netid_rest;
mod netid_soap;
mod support;
