//! The simulator's HTTP side: a listener that can drop connections (Fault::Down), the routes,
//! and the entry of every API call: faults, checksum verification, call recording.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::state::Inner;
use super::{actions, xml, Fault, RecordedCall};
use crate::bbb::checksum::{checksum, ChecksumAlgorithm};

pub async fn spawn(inner: Arc<Inner>, addr: SocketAddr) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let faulty = FaultyListener { inner: listener, down: Arc::clone(&inner.down) };
    let router = Router::new()
        .route("/bigbluebutton/api", get(api_root))
        .route("/bigbluebutton/api/", get(api_root))
        .route("/bigbluebutton/api/{action}", any(api_call))
        .route("/client/{token}", get(actions::client_page))
        .route("/playback/presentation/2.3/{record_id}", get(actions::playback_page))
        .with_state(inner);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(faulty, router).await {
            tracing::warn!(%error, "the BBB simulator stopped");
        }
    });
    Ok(bound)
}

/// Accepts connections, but closes them at once while the simulator is down.
struct FaultyListener {
    inner: TcpListener,
    down: Arc<AtomicBool>,
}

impl axum::serve::Listener for FaultyListener {
    type Io = FaultyStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.inner.accept().await else { continue };
            if self.down.load(Ordering::SeqCst) {
                drop(stream);
                continue;
            }
            return (FaultyStream { inner: stream, down: Arc::clone(&self.down) }, addr);
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails every read and write while the simulator is down, so that pooled
/// keep-alive connections break too.
struct FaultyStream {
    inner: TcpStream,
    down: Arc<AtomicBool>,
}

impl FaultyStream {
    fn check(&self) -> io::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "simulated BBB outage"))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for FaultyStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

async fn api_root(State(inner): State<Arc<Inner>>) -> Response {
    if let Some(response) = apply_fault(&inner).await {
        return response;
    }
    xml::success(&[("version", "2.0"), ("apiVersion", "2.0"), ("bbbVersion", "3.0.0-simulator")])
}

/// What a request to `/bigbluebutton/api/{action}` carries.
pub struct ApiRequest {
    pub params: super::Params,
    pub host: String,
}

async fn api_call(
    State(inner): State<Arc<Inner>>,
    Path(action): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(response) = apply_fault(&inner).await {
        return response;
    }
    inner.expire();
    let query = query.unwrap_or_default();
    let verdict = verify_checksum(&action, &query, &inner.config.secret);
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().filter(|(key, _)| key != "checksum").collect();
    if method == Method::POST && is_form(&headers) {
        params.extend(form_urlencoded::parse(&body).into_owned());
    }
    inner.record_call(RecordedCall {
        action: action.clone(),
        method: method.to_string(),
        params: params.clone(),
        checksum_valid: verdict.is_ok(),
    });
    if let Err(message) = verdict {
        return xml::failed("checksumError", message);
    }
    let host = headers.get(HOST).and_then(|value| value.to_str().ok()).unwrap_or("127.0.0.1").to_owned();
    let request = ApiRequest { params: params.into_iter().collect(), host };
    actions::dispatch(&inner, &action, request)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

async fn apply_fault(inner: &Inner) -> Option<Response> {
    match inner.fault()? {
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::Garbage => Some((StatusCode::OK, "<<this is not XML>> \u{1}\u{2}").into_response()),
        Fault::Html500 => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>"),
            )
                .into_response(),
        ),
        // The connection layer has already refused to answer; nothing reaches here.
        Fault::Down => Some(StatusCode::SERVICE_UNAVAILABLE.into_response()),
    }
}

/// Verifies like bbb-web: over the raw query with the checksum pair removed, the algorithm
/// chosen by the length of the hex, compared ignoring case; exactly one checksum.
pub fn verify_checksum(action: &str, raw_query: &str, secret: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = raw_query.split('&').filter(|part| !part.is_empty()).collect();
    let checksums: Vec<&str> = parts.iter().filter_map(|part| part.strip_prefix("checksum=")).collect();
    let [presented] = checksums.as_slice() else {
        return Err(if checksums.is_empty() { "You must provide the checksum" } else { "Checksums do not match" });
    };
    let signed: Vec<&str> = parts.iter().copied().filter(|part| !part.starts_with("checksum=")).collect();
    let algorithm = ChecksumAlgorithm::from_hex_len(presented.len()).ok_or("Checksums do not match")?;
    let expected = checksum(algorithm, action, &signed.join("&"), secret);
    if expected.eq_ignore_ascii_case(presented) {
        Ok(())
    } else {
        Err("Checksums do not match")
    }
}
