//! Client connections: a cap on how many are open, and deadlines so that slow clients cannot hold
//! them.
//!
//! Pingora bounds each read of a request header on its own (and, on a kept-alive HTTP/1.1
//! connection, not at all): a client that sends a header one byte every few seconds, or opens
//! connections and sends nothing, holds them for as long as it likes. So the gateway wraps
//! Pingora's HTTP app in [`Guard`], a `ServerApp` that
//! - holds a semaphore permit for the life of each connection, and closes a connection over
//!   `server.max_connections` at once (existing ones are unaffected);
//! - gives every connection's reads a deadline ([`Guarded`]): the complete header of a request
//!   within `server.header_timeout` (from the connection's start for the first request, from its
//!   first byte for later ones), and the first byte of the next request on a kept-alive
//!   connection within `server.keepalive_timeout`.
//!
//! Between the header and the end of the answer the request is the proxy's ([`RequestGuard`],
//! held by its context): it gives the body `server.body_timeout` (an intercepted call's whole
//! body, 408 past it; each read of a proxied one), and the endpoints' deadlines apply. An
//! HTTP/2 connection (TLS, ALPN `h2`) has the header deadline for its preface, then Pingora's
//! `h2_idle_timeout` (set to `server.keepalive_timeout`). A TLS handshake is Pingora's, bounded by
//! its fixed 60 s. A connection cut off is closed without an answer, as there is no request to
//! answer; `idbridge_client_connections_closed_total` counts why.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use pingora::apps::ServerApp;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::{SslDigest, TlsRef};
use pingora::protocols::{
    ALPN, GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    Stream, TimingDigest, UniqueID, UniqueIDType,
};
use pingora::server::ShutdownWatch;
use prometheus::{IntCounterVec, IntGauge};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// The HTTP/2 client preface, read under the header deadline.
const H2_PREFACE: usize = 24;
/// At most one warning about refused connections per this long.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// `server.max_connections`, `server.header_timeout`, `server.keepalive_timeout`,
/// `server.body_timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// A request's whole body, once its header is in (enforced by the proxy, not here).
    pub body_timeout: Duration,
}

/// What the guard counts; clones of the runtime's metrics (they survive reloads).
#[derive(Clone, Debug)]
pub struct ConnMetrics {
    pub open: IntGauge,
    pub closed: IntCounterVec,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// The current request's header must be complete by then.
    Header(Instant),
    /// Kept alive between requests: the next one's first byte must come by then.
    Idle(Instant),
    /// A request's header is in; the rest is the proxy's.
    Busy,
    /// An HTTP/2 connection past its preface.
    Open,
}

/// One connection's phase, shared by its stream and the proxy's per-request context.
#[derive(Debug)]
pub struct ConnState {
    phase: Mutex<Phase>,
    h2_preface_left: Mutex<usize>,
    limits: ConnLimits,
    closed: IntCounterVec,
    /// Counted once per connection, however many reads see the deadline passed.
    cut: AtomicBool,
}

tokio::task_local! {
    /// The connection the current task serves. HTTP/1 requests run in their connection's task;
    /// HTTP/2 streams run in tasks of their own, where this is unset.
    static CONN: Arc<ConnState>;
}

/// Held by a request's context from the end of its header to the end of its answer.
#[derive(Debug)]
pub struct RequestGuard(Arc<ConnState>);

/// A stream whose reads fail once its connection's deadline has passed.
pub struct Guarded {
    inner: Stream,
    state: Arc<ConnState>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
}

/// See the module documentation.
pub struct Guard<A> {
    app: Arc<A>,
    permits: Arc<Semaphore>,
    limits: ConnLimits,
    metrics: ConnMetrics,
    /// Connections refused since the last warning, and when that was.
    refused: AtomicU64,
    last_warned: Mutex<Option<Instant>>,
}

// === impl ConnState ===

impl ConnState {
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        match *self.phase.lock() {
            Phase::Header(d) => Some((d, "header_timeout")),
            Phase::Idle(d) => Some((d, "keepalive_timeout")),
            Phase::Busy | Phase::Open => None,
        }
    }

    fn bytes_read(&self, n: usize) {
        {
            let mut phase = self.phase.lock();
            if let Phase::Idle(_) = *phase {
                *phase = Phase::Header(Instant::now() + self.limits.header_timeout);
            }
        }
        let mut left = self.h2_preface_left.lock();
        if *left > 0 {
            *left = left.saturating_sub(n);
            if *left == 0 {
                *self.phase.lock() = Phase::Open;
            }
        }
    }

    fn timed_out(&self, reason: &'static str) -> io::Error {
        if !self.cut.swap(true, Ordering::Relaxed) {
            self.closed.with_label_values(&[reason]).inc();
        }
        io::Error::new(io::ErrorKind::TimedOut, reason)
    }
}

// === impl RequestGuard ===

impl RequestGuard {
    /// Marks the current connection's request as started (its header is in); `None` outside a
    /// guarded HTTP/1 connection.
    pub fn start() -> Option<Self> {
        let conn = CONN.try_with(Arc::clone).ok()?;
        *conn.phase.lock() = Phase::Busy;
        Some(Self(conn))
    }
}

impl Drop for RequestGuard {
    /// The request is over: the connection idles until its next one.
    fn drop(&mut self) {
        let idle = Instant::now() + self.0.limits.keepalive_timeout;
        *self.0.phase.lock() = Phase::Idle(idle);
    }
}

// === impl Guarded ===

impl Guarded {
    fn new(inner: Stream, state: Arc<ConnState>) -> Self {
        Self {
            inner,
            state,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: None,
        }
    }
}

impl fmt::Debug for Guarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("inner", &self.inner)
            .finish()
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let deadline = this.state.deadline();
        if let Some((at, reason)) = deadline
            && Instant::now() >= at
        {
            return Poll::Ready(Err(this.state.timed_out(reason)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n > 0 {
                    this.state.bytes_read(n);
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {}
        }
        // Nothing to read yet: wake up at the deadline too.
        let Some((at, reason)) = deadline else {
            return Poll::Pending;
        };
        if this.armed != Some(at) {
            this.sleep.as_mut().reset(at);
            this.armed = Some(at);
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(this.state.timed_out(reason))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

// What Pingora asks of a stream besides reading and writing: all the inner stream's.

#[async_trait]
impl Shutdown for Guarded {
    async fn shutdown(&mut self) {
        Shutdown::shutdown(&mut *self.inner).await
    }
}

impl UniqueID for Guarded {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for Guarded {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for Guarded {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for Guarded {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for Guarded {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for Guarded {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

// === impl Guard ===

impl<A> Guard<A> {
    pub fn new(app: A, limits: ConnLimits, metrics: ConnMetrics) -> Self {
        Self {
            app: Arc::new(app),
            permits: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
            metrics,
            refused: AtomicU64::new(0),
            last_warned: Mutex::new(None),
        }
    }
}

impl<A> fmt::Debug for Guard<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("limits", &self.limits)
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// Keeps the open-connections gauge while a connection is served.
struct Open(IntGauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for Guard<A> {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        // Over the cap: dropping the stream closes the connection at once.
        let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
            self.metrics
                .closed
                .with_label_values(&["max_connections"])
                .inc();
            // A flood of connections must not become a flood of log lines: one per interval.
            let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
            let mut last = self.last_warned.lock();
            if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                *last = Some(Instant::now());
                self.refused.store(0, Ordering::Relaxed);
                tracing::warn!(
                    max_connections = self.limits.max_connections,
                    refused,
                    "connections refused: server.max_connections are open"
                );
            }
            return None;
        };
        self.metrics.open.inc();
        let _open = Open(self.metrics.open.clone());
        let state = Arc::new(ConnState {
            phase: Mutex::new(Phase::Header(Instant::now() + self.limits.header_timeout)),
            h2_preface_left: Mutex::new(0),
            limits: self.limits,
            closed: self.metrics.closed.clone(),
            cut: AtomicBool::new(false),
        });
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            *state.h2_preface_left.lock() = H2_PREFACE;
        }
        let stream: Stream = Box::new(Guarded::new(stream, state.clone()));
        // An HTTP app never hands the stream back (its keep-alive loop is inside), so the permit
        // is held exactly as long as the connection is served.
        CONN.scope(state, ServerApp::process_new(&self.app, stream, shutdown))
            .await
    }

    async fn cleanup(&self) {
        self.app.cleanup().await
    }
}
