//! The substrate's floor: a bare Pingora reverse proxy, the `ProxyHttp` example with only
//! `upstream_peer`, built from the same Pingora as idbridge and run the way idbridge runs it
//! (the service on a multi-threaded tokio runtime, one thread per core, an upstream keep-alive
//! pool of 256). `make bench` puts it beside nginx and idbridge's pass-through, so what idbridge
//! adds to Pingora and what Pingora costs against nginx are two separate figures.
//!
//!     idbridge-bare-proxy --listen 127.0.0.1:8090 --upstream 127.0.0.1:18081

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use clap::Parser;
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
}

struct Bare {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Bare {
    type CTX = ();

    fn new_ctx(&self) -> Self::CTX {}

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
        },
    );
    let mut service = Service::new("bare".to_owned(), proxy);
    service.add_tcp(&cli.listen.to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (_stop, watch) = tokio::sync::watch::channel(false);
        eprintln!("bare Pingora proxy on {} → {}", cli.listen, cli.upstream);
        service.start_service(None, watch, 1).await;
    });
    Ok(())
}
