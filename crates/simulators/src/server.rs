//! Running a simulator: bind, spawn the axum server on the current tokio runtime, and hand back a
//! [`Simulator`] handle for its address, counters, faults and shutdown.
//!
//! The listener is bound before `start_*` returns, so a simulator is ready the moment its handle
//! exists: tests never wait or retry.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener, ListenerExt as _};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::control::{self, Control, Faults};
use crate::tls::TlsListener;
use crate::{SimError, SimOptions, enos, netid};

/// A handle to one running simulator. Dropping it stops the server too (without waiting);
/// [`Simulator::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct Simulator {
    name: &'static str,
    local_addr: SocketAddr,
    tls: bool,
    control: Arc<Control>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

// === impl Simulator ===

impl Simulator {
    /// Starts an EnOS IAM simulator on `addr` (port 0 picks a free port).
    pub async fn start_enos(addr: SocketAddr, opts: &SimOptions) -> Result<Simulator, SimError> {
        opts.directory.validate()?;
        let listener = bind(addr).await?;
        let local_addr = local_addr(&listener, addr)?;
        let control = Arc::new(Control::new(enos::STATS));
        let app = enos::router(control.clone(), opts);
        Self::spawn("enos", listener, local_addr, app, control, opts)
    }

    /// Starts a Net iD Portal simulator on `addr` (port 0 picks a free port).
    pub async fn start_netid(addr: SocketAddr, opts: &SimOptions) -> Result<Simulator, SimError> {
        opts.directory.validate()?;
        let listener = bind(addr).await?;
        let local_addr = local_addr(&listener, addr)?;
        let control = Arc::new(Control::new(netid::STATS));
        let app = netid::router(control.clone(), opts, local_addr);
        Self::spawn("netid", listener, local_addr, app, control, opts)
    }

    fn spawn(
        name: &'static str,
        listener: TcpListener,
        local_addr: SocketAddr,
        app: Router,
        control: Arc<Control>,
        opts: &SimOptions,
    ) -> Result<Simulator, SimError> {
        let app = control::router(control.clone()).merge(app);
        let (stop, stopped) = oneshot::channel::<()>();
        // Either a stop request or the handle being dropped ends the server.
        let stopped = async move {
            let _ = stopped.await;
        };
        let task = match &opts.tls {
            None => tokio::spawn(serve(name, listener, app, stopped)),
            Some(config) => {
                let listener = TlsListener::new(listener, config.clone())
                    .map_err(|source| SimError::Bind {
                        addr: local_addr,
                        source,
                    })?
                    // `tap_io` gives the TLS connections axum's `ConnectInfo<SocketAddr>`.
                    .tap_io(|_| ());
                tokio::spawn(serve(name, listener, app, stopped))
            }
        };
        tracing::info!(simulator = name, addr = %local_addr, tls = opts.tls.is_some(), "simulator listening");
        Ok(Simulator {
            name,
            local_addr,
            tls: opts.tls.is_some(),
            control,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://IP:PORT`, or `https://IP:PORT` over TLS, without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Every request counter (see the `enos`/`netid` module docs for the names).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.control.stats.snapshot()
    }

    /// One request counter; 0 for a name this simulator does not count.
    pub fn count(&self, op: &str) -> u64 {
        self.control.stats.count(op)
    }

    /// The fault settings: `set_delay`, `fail_next`, `set_stall`, `clear`.
    pub fn faults(&self) -> &Faults {
        &self.control.faults
    }

    /// Stops accepting connections, lets requests in flight finish (stalled ones are released),
    /// and waits for the server to end.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(simulator = self.name, error = %e, "simulator task failed");
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // A stalled request would hold graceful shutdown forever.
            self.control.faults.set_stall(false);
            let _ = stop.send(());
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// Serves `app` on `listener` until `stopped`.
async fn serve<L>(
    name: &'static str,
    listener: L,
    app: Router,
    stopped: impl Future<Output = ()> + Send + 'static,
) where
    L: Listener,
    L::Addr: std::fmt::Debug,
    for<'a> SocketAddr: Connected<IncomingStream<'a, L>>,
{
    let serve = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped);
    if let Err(e) = serve.await {
        tracing::error!(simulator = name, error = %e, "simulator server failed");
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener, addr: SocketAddr) -> Result<SocketAddr, SimError> {
    listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })
}
