//! Accepting connections and serving the router on them, with the limits a public
//! endpoint needs: a client that does not send a request's header within
//! [`ListenConfig::header_read_timeout`] is disconnected (a slow-header client cannot hold
//! a connection open forever), each request carries its peer address for the handlers that
//! need it, and at shutdown the listener closes and open connections get a grace period.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ListenConfig {
    /// A connection whose request header is not complete within this long is closed.
    pub header_read_timeout: Duration,
    /// After shutdown begins, how long open connections may take to finish.
    pub grace: Duration,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            header_read_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(20),
        }
    }
}

/// What ended serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every connection finished within the grace period.
    Drained,
    /// Connections still open at the end of the grace period were cut off.
    CutOff,
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and gives
/// open connections [`ListenConfig::grace`] to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ListenConfig,
    shutdown: impl Future<Output = ()>,
) -> Ended {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // out of file descriptors or a connection reset before it was taken:
                // pause instead of spinning, then go on
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY failed");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            answer(app.clone(), peer, request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    match tokio::time::timeout(config.grace, graceful.shutdown()).await {
        Ok(()) => Ended::Drained,
        Err(_) => Ended::CutOff,
    }
}

async fn answer(
    app: Router,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<axum::response::Response, Infallible> {
    let mut request = request.map(Body::new);
    request.extensions_mut().insert(ConnectInfo(peer));
    app.oneshot(request).await
}
