//! The substrate's floor: a bare Pingora reverse proxy, the `ProxyHttp` example with only
//! `upstream_peer`, built from the same Pingora as idbridge and run the way idbridge runs it
//! (one thread per core on Pingora's no-steal runtime, an upstream keep-alive pool of 256).
//! `make bench` puts it beside nginx and idbridge's pass-through, so what idbridge adds to Pingora
//! and what Pingora costs against nginx are two separate figures.
//!
//! With `--body FILE` it also answers `GET /session-info.json` itself with the file's bytes, from
//! `request_filter`, as idbridge answers a cache hit: the floor under idbridge's cache hits, as
//! (f), nginx serving the same bytes, is nginx's.
//!
//!     idbridge-bare-proxy --listen 127.0.0.1:8090 --upstream 127.0.0.1:18081 [--body FILE]

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use clap::Parser;
use pingora::http::ResponseHeader;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::server::configuration::ServerConf;
use pingora::services::Service as _;
use pingora::services::listening::Service;

#[derive(Debug, Parser)]
struct Cli {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    upstream: SocketAddr,
    /// Answer `GET /session-info.json` with this file's bytes instead of proxying it.
    #[arg(long)]
    body: Option<std::path::PathBuf>,
    /// Serve on tokio's work-stealing scheduler, as idbridge does with `server.work_stealing`;
    /// by default each thread keeps its connections (Pingora's no-steal runtime), as idbridge.
    #[arg(long)]
    work_stealing: bool,
}

struct Bare {
    upstream: SocketAddr,
    body: Option<Bytes>,
}

/// The path `--body` answers.
const BODY_PATH: &str = "/session-info.json";

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();

    fn new_ctx(&self) -> Self::CTX {}

    async fn request_filter(&self, session: &mut Session, _ctx: &mut ()) -> pingora::Result<bool> {
        let Some(body) = self.body.clone() else {
            return Ok(false);
        };
        if session.req_header().uri.path() != BODY_PATH {
            return Ok(false);
        }
        let mut resp = ResponseHeader::build(200, Some(2))?;
        resp.insert_header("content-type", "application/json")?;
        resp.insert_header("content-length", body.len().to_string())?;
        session.write_response_header(Box::new(resp), false).await?;
        session.write_response_body(Some(body), true).await?;
        Ok(true)
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut (),
    ) -> pingora::Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let conf = Arc::new(ServerConf {
        upstream_keepalive_pool_size: 256,
        ..ServerConf::default()
    });
    let proxy = pingora::proxy::http_proxy(
        &conf,
        Bare {
            upstream: cli.upstream,
            body: cli.body.map(std::fs::read).transpose()?.map(Bytes::from),
        },
    );
    let mut service = Service::new("bare".to_owned(), proxy);
    service.add_tcp(&cli.listen.to_string());
    let serve = async move {
        let (_stop, watch) = tokio::sync::watch::channel(false);
        eprintln!("bare Pingora proxy on {} → {}", cli.listen, cli.upstream);
        service.start_service(None, watch, 1).await;
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = if cli.work_stealing {
        pingora_runtime::Runtime::new_steal(threads, "bare")
    } else {
        pingora_runtime::Runtime::new_no_steal(threads, "bare")
    };
    // Spawned, not run here: a no-steal runtime's threads drive it, and their own handles are
    // what Pingora hands each accepted connection to.
    let handle = runtime.get_handle();
    handle.block_on(handle.spawn(serve))?;
    Ok(())
}
