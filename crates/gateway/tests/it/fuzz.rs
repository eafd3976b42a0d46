//! The unified REST face fuzzed against its own OpenAPI document by schemathesis (software that
//! is not ours): every answer must be one the document describes, in status, content type,
//! headers and schema; schema-valid requests must not be refused as malformed and invalid ones
//! must be; nothing may make the gateway fail (5xx); auth must not be ignored.

use crate::common;

use std::fmt::Write as _;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

/// schemathesis major version the command line and configuration below are written for (v3's
/// differ); `make deps` installs it.
const SCHEMATHESIS_MAJOR: &str = "4";
/// Test cases per operation and phase, and the seed, unless IDBRIDGE_FUZZ_SECONDS asks for a
/// time-boxed run instead (then fuzzing repeats until the time is spent).
const MAX_EXAMPLES: u32 = 100;
const DEFAULT_SEED: &str = "20261202";
/// Hard stop for the child, whatever it is told.
const WALL_CLOCK: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_wrong_with_the_unified_face() {
    let check = format!(
        "import schemathesis, sys; sys.exit(schemathesis.__version__.split('.')[0] != '{SCHEMATHESIS_MAJOR}')"
    );
    if !common::tool_available("python3", &["-c", &check]) {
        return;
    }
    // One client address fails thousands of logins and looks up thousands of made-up sessions:
    // with the default budgets (10 failed logins per address and 5 per account in 15 min, 300
    // lookups a minute) nearly every call after the first seconds would be a 429 and exercise
    // nothing. The 429 answers are in the document (so a throttled call still has to conform)
    // and the budgets have their own tests in limits.rs. The EnOS simulator's own lockout (5
    // failures per address) is lifted for the same reason.
    let h = common::builder()
        .enos_lockout_failures(usize::MAX)
        .set("limits.login_failures_per_address", "1000000")
        .set("limits.login_failures_per_account", "1000000")
        .set("limits.lookups_per_address", "1000000")
        .start()
        .await;

    // The login schemathesis repeats whenever a bearer call answers 401 (the fuzzed logout ends
    // the session it was given, so one fixed token would leave session, logout and auth
    // answering nothing but 401). EnOS, not Net iD: a Net iD login takes two calls, and
    // schemathesis makes one. Logging in once here shows the payload works, so an
    // authentication error below is schemathesis' finding.
    let (status, v) = h
        .post_json(
            &h.gw.base_url(),
            "/idbridge/v1/login",
            None,
            json!({"backend": "enos", "principal": common::DEMO_PRINCIPAL,
                   "credentials": common::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["token"].is_string(), "{v}");

    // Run in a temporary directory: schemathesis and Hypothesis keep state in the working
    // directory (.schemathesis/, .hypothesis/); HOME is not needed and no network beyond the
    // gateway is used (the document has no remote $ref).
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, schemathesis_toml()).unwrap();
    let seed = std::env::var("IDBRIDGE_FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let budget = match std::env::var("IDBRIDGE_FUZZ_SECONDS") {
        Ok(secs) => vec!["--max-time".to_owned(), secs],
        Err(_) => vec!["--max-examples".to_owned(), MAX_EXAMPLES.to_string()],
    };
    let mut schemathesis = tokio::process::Command::new("python3");
    schemathesis
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .args(["run", &h.url("/idbridge/v1/openapi.json")])
        .args(["--seed", &seed, "--continue-on-failure", "--no-color"])
        .args(["--request-timeout", "10"])
        .args(&budget)
        .current_dir(dir.path())
        // Never through a proxy: everything it talks to is the gateway on 127.0.0.1.
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .stdin(Stdio::null())
        // A timeout drops the future, which kills the child.
        .kill_on_drop(true);
    let out = match tokio::time::timeout(WALL_CLOCK, schemathesis.output()).await {
        Ok(out) => out.unwrap(),
        Err(_) => panic!("schemathesis did not finish within {WALL_CLOCK:?}"),
    };
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = write!(text, "{}", String::from_utf8_lossy(&out.stderr));
    // 0: no failure and no error; 1: failures or errors (the output says which, with a curl
    // line per failure); anything else: a usage or configuration error.
    assert!(
        out.status.success(),
        "schemathesis (seed {seed}) against the unified face:\n{text}"
    );
}

/// The run's configuration. Every check is on (the default without `--checks` on the command
/// line, which would override the per-operation setting below), with one reasoned exception.
fn schemathesis_toml() -> String {
    format!(
        r#"# Written by crates/gateway/tests/it/fuzz.rs.

# No state between runs: no replay of an earlier run's crashes, no example database.
[cache]
enabled = false

[generation]
database = "none"

# A run that never got past 401 or 429 tested nothing: fail it.
[warnings]
fail-on = ["missing_auth", "rate_limited", "unused_openapi_auth", "base_url_mismatch"]

# Declaring the login operation as the one that mints credentials also tells schemathesis that
# a 400 there can be a credential the backend refuses (a certificate that is not one, an LDAP
# link that does not exist), which no schema can express: not a positive_data_acceptance failure.
[auth.dynamic.openapi.bearer]
path = "/idbridge/v1/login"
payload = {{ backend = "enos", principal = "{principal}", credentials = "{password}" }}
extract_selector = "/token"

# Login needs no auth: its 401 is the answer to made-up credentials, not a missing token.
[[operations]]
include-operation-id = "login"
warnings.fail-on = ["rate_limited", "base_url_mismatch"]

# Forward-auth answers every method on purpose (Envoy's ext_authz forwards the original one),
# so an "undeclared method" there is not an error.
[[operations]]
include-path = "/idbridge/v1/auth"
checks.unsupported_method.enabled = false
"#,
        principal = common::DEMO_PRINCIPAL,
        password = common::DEMO_PASSWORD,
    )
}
