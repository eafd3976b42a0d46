#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! idbridge-protocol's integration tests, one binary: the vendor samples (golden), the mappings,
//! hostile input, and the unified faces' contracts.

mod golden_enos;
mod golden_netid;
mod hostile;
mod mapping;
mod robustness;
mod unified_json;
mod unified_openapi;
mod unified_soap;
mod unified_soap_golden;
