//! Starting and stopping the gateway inside the caller's tokio runtime.
//!
//! The listener is bound here, before anything is spawned, and handed to Pingora through its
//! listen-fd table (the mechanism it uses for graceful upgrades). So `start` returns a gateway that
//! is already accepting, on the real port even when the config says port 0: tests need no fixed
//! ports and no sleeps, and `run` reports a bind failure as an error instead of a panic in a task.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::sync::Arc;

use pingora::server::configuration::ServerConf;
use pingora::server::{Fds, ListenFds};
use pingora::services::Service as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::proxy::GatewayProxy;
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the gateway: {0}")]
    Init(String),
}

/// A running gateway. Dropping it leaves the gateway running until the runtime ends; call
/// [`RunningGateway::shutdown`] to stop accepting and wait for the listener to close.
#[derive(Debug)]
pub struct RunningGateway {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

// === impl RunningGateway ===

impl RunningGateway {
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let state = Arc::new(State::new(config).map_err(|e| StartError::Init(e.to_string()))?);
        let (listener, addr) = bind(state.config.server.listen)?;
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
        let (shutdown, watch) = watch::channel(false);
        let task = tokio::spawn(async move {
            service.start_service(Some(fds), watch, 1).await;
        });
        tracing::info!(%addr, "gateway listening");
        Ok(Self {
            addr,
            state,
            shutdown,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shared state, for tests and the admin side.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let err = |source| StartError::Bind { addr, source };
    let listener = TcpListener::bind(addr).map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    let bound = listener.local_addr().map_err(err)?;
    Ok((listener, bound))
}
