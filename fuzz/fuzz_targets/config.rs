//! Gateway configuration text, through the path `idbridge check-config --config FILE` takes for
//! that file: `config::load_toml` (the `config` crate's TOML reader, the raw structs, every
//! value's validation) and, for a configuration that validates, `Runtime::check` (routes that
//! collide, a backend kind that refuses its table, upstream TLS material).
//!
//! Invariant: a refused configuration names at least one problem (`ConfigError` is never empty).

#![no_main]

use idbridge_gateway::backend::Kinds;
use idbridge_gateway::config::{self, ConfigError};
use idbridge_gateway::runtime::Runtime;
use libfuzzer_sys::fuzz_target;

fn check(error: &ConfigError) {
    assert!(!error.problems.is_empty(), "a refusal without a problem");
    let _ = error.to_string();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let kinds = Kinds::default();
    match config::load_toml(text, &kinds) {
        Ok(config) => {
            if let Err(error) = Runtime::check(&config, &kinds) {
                check(&error);
            }
        }
        Err(error) => check(&error),
    }
});
