//! idbridge-sim: stateful simulators of the two identity backends idbridge fronts, **EnOS IAM** and
//! **Pointsharp Net iD Portal**, for the gateway's integration tests, the `idbridge demo` and
//! `idbridge sim` commands, and anyone who wants to curl a backend without one.
//!
//! # Why a separate, self-contained crate
//! The simulators are written from the vendor documentation (`shared/reference/`) and depend on no
//! other idbridge crate: a codec bug in `idbridge-protocol` must not be able to hide itself by
//! being on both ends of a test. Responses are rendered from `serde_json` values and XML string
//! templates, and SOAP requests are parsed here with quick-xml.
//!
//! # What is simulated
//! - EnOS IAM (`/enos-iam-service/v2.0/`): `login`, `session/info`, `logout`, `organization/info`
//!   ([`enos`] module docs list the rules).
//! - Net iD Portal: SOAP 1.1 at `/portal/service.svc` (dispatched on `SOAPAction`, WSDL at `?wsdl`)
//!   and REST under `/api/`: `Login`, `GetLoginStatus`, `Logout`, `GetObject` ([`netid`] module
//!   docs).
//! - Control routes on both: `/__sim/faults` (fault injection) and `/__sim/stats` (request
//!   counters), see [`Faults`] and [`Stats`].
//!
//! # Documented vs assumed
//! Documented by the vendors: the EnOS Log In and session/info request and response shapes, the
//! success envelope and the error codes; the Net iD GetLoginStatus SOAP and REST shapes, the SOAP
//! conventions and the Login inputs and outputs. Assumed by this project (no public source): the
//! EnOS failure envelope, the EnOS logout endpoint, the failure-lockout numbers (5 failures within
//! 15 minutes), the cipher of Net iD's two-step login and its step 2's inputs (plaintext calls
//! otherwise), the Net iD `Logout`/`GetObject` shapes, the
//! non-Success status codes, the SOAP endpoint path and fault forms, and the 1 MiB body limit.
//!
//! # Demo directory (`config/demo/directory.json`, see [`Directory`])
//! Every EnOS demo password is `Demo-Passw0rd`.
//! - `portal_test01` (authType 0): the vendor sample's user `u15578227990211` in organisation
//!   `o15578227985571` "portal_test01"; logs in.
//! - `disabled_user01` (authType 0, state 1): 30511.
//! - `expired_user01` (authType 0, password expired): 30410.
//! - `ldap_user01` (authType 1 on LDAP link `corp-ldap`): logs in, organisation `o16000000000001`.
//! - Net iD: "John Doe" of "Contoso Ltd" (the GetLoginStatus sample's user), logging in with
//!   `config/demo/john-doe.cer`; the server certificate is `config/demo/netid-server.cer`.

use std::path::PathBuf;
use std::time::Duration;

mod body;
pub mod clock;
pub mod control;
pub mod directory;
pub mod enos;
pub mod netid;
mod server;
pub mod tls;

pub use clock::Clock;
pub use control::{FaultSettings, Faults, Stats};
pub use directory::Directory;
pub use server::Simulator;

/// How a simulator is set up. Cloned into each simulator started with it, so one `SimOptions` (and
/// one [`Clock`], whose clones share their time) can drive an EnOS and a Net iD simulator together.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Accounts, users, organisations and certificates the simulators know.
    pub directory: Directory,
    /// The time every expiry, lockout window and idle timeout is measured against.
    pub clock: Clock,
    /// Net iD idle timeout: a session with no accepted call for this long is logged out.
    pub netid_idle_timeout: Duration,
    /// Serve over TLS with this configuration ([`tls::server_config`]); plain HTTP when `None`.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// EnOS failed logins (per account and per client IP, within 15 minutes) that lock logins
    /// out with 30429. 5 by default (assumed); a fuzzer sending made-up passwords raises it.
    pub enos_lockout_failures: usize,
}

// === impl SimOptions ===

impl Default for SimOptions {
    /// The demo directory, the system clock and the 1200 s idle timeout of the vendor sample.
    fn default() -> Self {
        Self {
            directory: Directory::demo(),
            clock: Clock::system(),
            netid_idle_timeout: Duration::from_secs(1200),
            tls: None,
            enos_lockout_failures: 5,
        }
    }
}

/// Everything that can go wrong setting a simulator up. Request handling never fails with this:
/// requests are answered in the simulated protocol's own error forms.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind the simulator listener to {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the directory file {}: {source}", path.display())]
    ReadDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the directory is not valid JSON of the expected shape: {0}")]
    ParseDirectory(#[from] serde_json::Error),
    #[error("the directory is inconsistent: {}", .0.join("; "))]
    InvalidDirectory(Vec<String>),
    #[error("TLS: {0}")]
    Tls(String),
}
