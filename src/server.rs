//! The connection loop (DESIGN §7): HTTP/1.1 only, through hyper's own connection builder so
//! that every connection has a header-read deadline (which also closes idle keep-alives), a
//! cap on open connections (beyond it, new ones wait in the listen backlog), and an open-file
//! limit raised at start so that a flood never leaves the process unable to accept.
//!
//! hyper-util's protocol-detecting builder is not used: it waits for the HTTP/2 preface with no
//! deadline, so a silent client would hold its connection forever.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// File descriptors kept for everything but client connections: the database pool, BBB
/// calls, log files, the listener.
const RESERVED_FILES: u64 = 256;
/// How long to wait before accepting again after an accept error (e.g. no file descriptor).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Accept errors are logged at most this often: under a flood they come by thousands.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The connection settings of `[limits]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Raises the soft open-file limit to the hard one; returns the limit now in force (None where
/// the platform has no such limit).
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft)
        }
    }
}

/// `configured`, lowered so that connections can never use up the open-file limit.
pub fn connection_cap(configured: usize, open_file_limit: Option<u64>) -> usize {
    let Some(limit) = open_file_limit else { return configured };
    let available = usize::try_from(limit.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX).max(1);
    if available < configured {
        tracing::warn!(
            configured,
            open_file_limit = limit,
            "limits.max_connections lowered to {available} to stay below the open-file limit"
        );
    }
    configured.min(available)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_errors.note(&error);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = builder.serve_connection(TokioIo::new(stream_for(stream)), service_for(router.clone(), peer));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away or times out ends its connection: nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn stream_for(stream: TcpStream) -> TcpStream {
    // Small answers go out at once rather than waiting for more to send.
    let _ = stream.set_nodelay(true);
    stream
}

/// The router as a hyper service that knows the peer address (`ConnectInfo`).
fn service_for(
    router: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(axum::body::Body::new))
    })
}

/// Logs accept errors at most once per interval, with how many were not logged.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn note(&mut self, error: &std::io::Error) {
        let due = self.last_logged.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_LOG_INTERVAL);
        if !due {
            self.unlogged += 1;
            return;
        }
        tracing::error!(%error, more_since_last_report = self.unlogged, "cannot accept a connection");
        self.last_logged = Some(Instant::now());
        self.unlogged = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_below_the_open_file_limit() {
        assert_eq!(connection_cap(10_000, Some(1_024)), 768);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(500, None), 500);
        assert_eq!(connection_cap(10, Some(100)), 1);
    }
}
