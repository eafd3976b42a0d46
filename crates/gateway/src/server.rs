//! Starting, reloading and stopping the gateway inside the caller's tokio runtime.
//!
//! Both listeners are bound here, before anything is spawned. The main one is handed to Pingora
//! through its listen-fd table (the mechanism it uses for graceful upgrades), so `start` returns a
//! gateway that is already accepting, on the real ports even when the config says port 0: tests
//! need no fixed ports and no sleeps, and `run` reports a bind failure as an error, not a panic.
//!
//! Endpoints are resolved before the gateway accepts, and again every [`REFRESH_EVERY`] in the
//! background, together with the backend probe: no request ever waits for DNS.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora::server::configuration::ServerConf;
use pingora::server::{Fds, ListenFds};
use pingora::services::Service as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin;
use crate::backend::Kinds;
use crate::config::Config;
use crate::proxy::GatewayProxy;
use crate::runtime::{BuildError, Runtime};

/// How often endpoints are resolved again and backends probed for `idbridge_backend_up`.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the gateway: {0}")]
    Init(#[from] BuildError),
}

/// A running gateway. Call [`RunningGateway::shutdown`] to stop accepting and wait for the
/// listeners to close.
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
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
        let (listener, addr) = bind(config.server.listen)?;
        let (admin_listener, admin_addr) = bind(config.server.admin_listen)?;
        let runtime = Runtime::new(config, kinds)?;
        runtime.resolve().await;
        let state = Arc::new(ArcSwap::from_pointee(runtime));
        let (shutdown, watch) = watch::channel(false);

        let key = addr.to_string();
        let mut fds = Fds::new();
        fds.add(key.clone(), listener.into_raw_fd());
        let fds: ListenFds = Arc::new(parking_lot::Mutex::new(fds));
        let conf = Arc::new(ServerConf {
            upstream_keepalive_pool_size: 256,
            ..ServerConf::default()
        });
        let mut service = pingora::proxy::http_proxy_service_with_name(
            &conf,
            GatewayProxy::new(state.clone()),
            "idbridge",
        );
        service.add_tcp(&key);
        let main_watch = watch.clone();
        let main =
            tokio::spawn(async move { service.start_service(Some(fds), main_watch, 1).await });

        let admin = tokio::spawn(serve_admin(admin_listener, state.clone(), watch.clone()));
        let probe = tokio::spawn(refresh_loop(state.clone(), watch));
        tracing::info!(%addr, %admin_addr, "gateway listening");
        Ok(Self {
            addr,
            admin_addr,
            runtime: state,
            shutdown,
            tasks: vec![main, admin, probe],
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
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
