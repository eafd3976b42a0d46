//! Starting, reloading and stopping the gateway inside the caller's tokio runtime.
//!
//! Both listeners are bound here, before anything is spawned. The main one is handed to Pingora
//! through its listen-fd table (the mechanism it uses for graceful upgrades), so `start` returns a
//! gateway that is already accepting, on the real ports even when the config says port 0: tests
//! need no fixed ports and no sleeps, and `run` reports a bind failure as an error, not a panic.
//!
//! The TLS listener, when configured, is handed over the same way; its certificate is a
//! [`ListenerCert`] that a reload re-reads, so new handshakes get the new certificate while open
//! connections carry on.
//!
//! Client connections are served, by default, on threads of their own ([`ProxyThreads`], made at
//! the first start in the process and kept), each keeping the connections it accepted: Pingora's
//! no-steal runtime. With `server.work_stealing` they are served on the caller's runtime, as is
//! everything else (the admin listener, the background refresh, the store's connections).
//!
//! Endpoints are resolved before the gateway accepts, and again every [`REFRESH_EVERY`] in the
//! background, together with the backend probe: no request ever waits for DNS.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::server::configuration::ServerConf;
use pingora::server::{Fds, ListenFds};
use pingora::services::Service as _;
use pingora::services::listening::Service;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin;
use crate::backend::Kinds;
use crate::config::{Config, ConfigError, ListenerTls};
use crate::conn::{ConnMetrics, Guard};
use crate::proxy::GatewayProxy;
use crate::runtime::{BuildError, Runtime};
use crate::tls::{self, ListenerCert};

/// How often endpoints are resolved again and backends probed for `idbridge_backend_up`.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15);

/// Bytes a client connection's writes gather before a send. Pingora's default (1460, one MSS)
/// split every answer whose head and body pass it in two sends, the head and then the body: a Net
/// iD SOAP status answer (1.6 KiB with the demo's session) left in two `sendto`s, now in one
/// (strace). Pingora only holds back bodies of known length, and sends them when complete, so a
/// larger buffer delays no streamed answer; it costs its size per open connection, beside the
/// 64 KiB read buffer.
const CLIENT_WRITE_BUFFER: usize = 8 * 1024;

/// The threads that serve client connections when they do not steal work: one set per process.
///
/// Pingora's no-steal runtime is a current-thread tokio runtime per thread, whose handles it keeps
/// in a process-wide table for `current_handle`; a dropped one would leave that table pointing at
/// runtimes that are gone, so it is made once and never dropped. Measured on two cores (the
/// 2026-12-03 runtime section of benches/RESULTS.md), it served cache hits with less CPU per
/// request than tokio's work-stealing scheduler, and pass-through about the same.
struct ProxyThreads {
    threads: usize,
    runtime: pingora_runtime::Runtime,
}

static PROXY_THREADS: OnceLock<ProxyThreads> = OnceLock::new();

impl ProxyThreads {
    /// The process's proxy threads, `threads` of them (0: one per core) when this is the first
    /// call. A later gateway in the same process (tests, an in-process restart) shares them, and
    /// is told so when it asked for another number.
    fn get(threads: usize) -> &'static Self {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let made = PROXY_THREADS.get_or_init(|| {
            tracing::info!(threads, "proxy threads started, without work stealing");
            Self {
                threads,
                runtime: pingora_runtime::Runtime::new_no_steal(threads, "idbridge-proxy"),
            }
        });
        if made.threads != threads {
            tracing::warn!(
                threads = made.threads,
                "server.threads takes effect when the process starts: this gateway runs on \
                 the proxy threads already made"
            );
        }
        made
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the gateway: {0}")]
    Init(#[from] BuildError),
    #[error("cannot start the TLS listener: {0}")]
    Tls(String),
}

/// A running gateway. Call [`RunningGateway::shutdown`] to stop accepting and wait for the
/// listeners to close.
#[derive(Debug)]
pub struct RunningGateway {
    addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    listener_cert: Option<Arc<ListenerCert>>,
    admin_addr: SocketAddr,
    runtime: Arc<ArcSwap<Runtime>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

// === impl RunningGateway ===

impl RunningGateway {
    /// Starts a gateway with the built-in backend kinds.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Self::start_with(config, Kinds::default()).await
    }

    /// Starts a gateway that also knows the backend kinds registered in `kinds`.
    pub async fn start_with(config: Config, kinds: Kinds) -> Result<Self, StartError> {
        let plain = config.server.listen.map(bind).transpose()?;
        let tls = match &config.server.tls {
            Some(t) => Some((bind(t.listen)?, tls_settings(t)?)),
            None => None,
        };
        let (admin_listener, admin_addr) = bind(config.server.admin_listen)?;
        let runtime = Runtime::new(config, kinds)?;
        runtime.store.start().await;
        runtime.resolve().await;
        let state = Arc::new(ArcSwap::from_pointee(runtime));
        let (shutdown, watch) = watch::channel(false);

        let mut fds = Fds::new();
        let conf = Arc::new(ServerConf {
            upstream_keepalive_pool_size: 256,
            ..ServerConf::default()
        });
        let limits = state.load().config.server.connections;
        let mut proxy = pingora::proxy::http_proxy(&conf, GatewayProxy::new(state.clone()));
        let mut options = HttpServerOptions::default();
        options.h2_idle_timeout = Some(limits.keepalive_timeout);
        proxy.server_options = Some(options);
        let metrics = {
            let rt = state.load();
            rt.metrics
                .client_connections_limit
                .set(i64::try_from(limits.max_connections).unwrap_or(i64::MAX));
            ConnMetrics {
                open: rt.metrics.client_connections.clone(),
                closed: rt.metrics.client_connections_closed.clone(),
            }
        };
        let mut service = Service::new("idbridge".to_owned(), Guard::new(proxy, limits, metrics));
        let addr = plain.map(|(listener, addr)| {
            fds.add(addr.to_string(), listener.into_raw_fd());
            service.add_listener(ListenerConfig::tcp(addr.to_string()).l4_buffer(buffers()));
            addr
        });
        let (tls_addr, listener_cert) = match tls {
            Some(((listener, addr), (settings, cert))) => {
                fds.add(addr.to_string(), listener.into_raw_fd());
                service.add_listener(
                    ListenerConfig::tcp(addr.to_string())
                        .tls(settings)
                        .l4_buffer(buffers()),
                );
                state
                    .load()
                    .metrics
                    .certificate_expiry
                    .with_label_values(&["listener"])
                    .set(cert.not_after());
                (Some(addr), Some(cert))
            }
            None => (None, None),
        };
        let fds: ListenFds = Arc::new(parking_lot::Mutex::new(fds));
        let main_watch = watch.clone();
        let serve = async move { service.start_service(Some(fds), main_watch, 1).await };
        let main = match &state.load().config.server {
            s if s.work_stealing => tokio::spawn(serve),
            s => ProxyThreads::get(s.threads)
                .runtime
                .get_handle()
                .spawn(serve),
        };

        let admin = tokio::spawn(serve_admin(admin_listener, state.clone(), watch.clone()));
        let probe = tokio::spawn(refresh_loop(state.clone(), watch));
        tracing::info!(addr = ?addr, tls = ?tls_addr, %admin_addr, "gateway listening");
        Ok(Self {
            addr,
            tls_addr,
            listener_cert,
            admin_addr,
            runtime: state,
            shutdown,
            tasks: vec![main, admin, probe],
        })
    }

    /// The plain listener's address, when it is on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The TLS listener's address, when it is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The plain listener's URL; the TLS one's when the plain listener is off.
    pub fn base_url(&self) -> String {
        match (self.addr, self.tls_addr) {
            (Some(addr), _) => format!("http://{addr}"),
            (None, tls) => self.tls_url().unwrap_or_else(|| format!("https://{tls:?}")),
        }
    }

    /// The TLS listener's URL, named `localhost` (what the demo certificate is for).
    pub fn tls_url(&self) -> Option<String> {
        self.tls_addr.map(|a| match a.ip() {
            ip if ip.is_loopback() => format!("https://localhost:{}", a.port()),
            _ => format!("https://{a}"),
        })
    }

    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin_addr)
    }

    /// The current runtime snapshot (tests, diagnostics).
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Applies a new configuration to requests that start from now on; requests in flight finish
    /// with the old one and no connection is dropped. Sessions, counters and metrics are kept.
    /// Returns the changes that need a restart to take effect.
    pub async fn reload(&self, config: Config) -> Result<Vec<String>, BuildError> {
        let (next, restart_needed) = self.runtime.load().reconfigure(config)?;
        if let (Some(cert), Some(tls)) = (&self.listener_cert, &next.config.server.tls) {
            cert.reload(tls)
                .map_err(|e| BuildError::Config(ConfigError::one("server.tls", e.to_string())))?;
            next.metrics
                .certificate_expiry
                .with_label_values(&["listener"])
                .set(cert.not_after());
            tracing::info!("listener certificate reloaded");
        }
        next.resolve().await;
        self.runtime.store(Arc::new(next));
        for change in &restart_needed {
            tracing::warn!("{change}");
        }
        tracing::info!("configuration reloaded");
        Ok(restart_needed)
    }

    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The TLS listener's settings: TLS 1.2 and 1.3 with rustls' modern suites, ALPN `h2` then
/// `http/1.1`, the certificate from a [`ListenerCert`], client certificates when configured.
fn tls_settings(t: &ListenerTls) -> Result<(TlsSettings, Arc<ListenerCert>), StartError> {
    let cert = Arc::new(ListenerCert::load(t).map_err(|e| StartError::Tls(e.to_string()))?);
    let mut settings =
        TlsSettings::intermediate("", "").map_err(|e| StartError::Tls(e.to_string()))?;
    settings.set_cert_resolver(cert.clone());
    settings.enable_h2();
    if let Some(verifier) = tls::client_verifier(t).map_err(|e| StartError::Tls(e.to_string()))? {
        settings.set_client_cert_verifier(verifier);
    }
    Ok((settings, cert))
}

fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let err = |source| StartError::Bind { addr, source };
    let listener = TcpListener::bind(addr).map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    Ok((listener, bound))
}

async fn serve_admin(
    listener: TcpListener,
    state: Arc<ArcSwap<Runtime>>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "admin listener unusable");
            return;
        }
    };
    let shutdown = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    if let Err(e) = axum::serve(listener, admin::router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "admin listener failed");
    }
}

async fn refresh_loop(state: Arc<ArcSwap<Runtime>>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(REFRESH_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                let state = state.load_full();
                for endpoint in state.endpoints() {
                    endpoint.refresh().await;
                }
                for (backend, up) in admin::probe_backends(&state).await {
                    if !up {
                        tracing::warn!(backend, "backend unreachable");
                    }
                }
            }
            // Any change is the shutdown signal (it only ever goes false → true).
            _ = stop.changed() => return,
        }
    }
}

/// The client listeners' socket buffers: Pingora's read buffer, a larger write buffer.
fn buffers() -> L4BufferSettings {
    L4BufferSettings::default().write(CLIENT_WRITE_BUFFER)
}
