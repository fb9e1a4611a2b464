//! The simulator's HTTP side: a listener that can drop connections (Fault::Down), the routes,
//! and the entry of every API call: faults, checksum verification, call recording.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::IncomingStream;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::state::Inner;
use super::{actions, pages, recordings, xml, Fault, RecordedCall, SimulatorConfig};
use crate::bbb::checksum::{checksum, ChecksumAlgorithm};

pub async fn spawn(inner: Arc<Inner>, addr: SocketAddr) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let faulty = FaultyListener { inner: listener, down: Arc::clone(&inner.down) };
    let router = Router::new()
        .route("/bigbluebutton/api", get(api_root))
        .route("/bigbluebutton/api/", get(api_root))
        .route("/bigbluebutton/api/{action}", any(api_call))
        .route("/html5client/join", get(pages::client_page))
        .route("/playback/presentation/2.3/{record_id}", get(pages::playback_page))
        .route("/simulator/recordings/publish", post(recordings::publish_endpoint))
        .with_state(inner);
    let service = router.into_make_service_with_connect_info::<Peer>();
    tokio::spawn(async move {
        if let Err(error) = axum::serve(faulty, service).await {
            tracing::warn!(%error, "the BBB simulator stopped");
        }
    });
    Ok(bound)
}

/// The two ends of a connection.
#[derive(Debug, Clone, Copy)]
struct Peer {
    local: SocketAddr,
    peer: SocketAddr,
}

impl Connected<IncomingStream<'_, FaultyListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, FaultyListener>) -> Self {
        let peer = *stream.remote_addr();
        let local = stream.io().inner.local_addr().unwrap_or(peer);
        Peer { local, peer }
    }
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
    /// Where the browser reaches the simulator: `https://host` (no trailing slash).
    pub origin: String,
}

async fn api_call(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(Peer { local, peer }): ConnectInfo<Peer>,
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
    let form: Vec<(String, String)> = if method == Method::POST && is_form(&headers) {
        form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let (verdict, mut params) = if query.is_empty() && !form.is_empty() {
        (verify_body_checksum(&action, &form, &inner.config.secret), Vec::new())
    } else {
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        (verify_checksum(&action, &query, &inner.config.secret).and_then(|()| not_in_both(&params, &form)), params)
    };
    params.retain(|(key, _)| key != "checksum");
    params.extend(form.into_iter().filter(|(key, _)| key != "checksum"));
    inner.record_call(RecordedCall {
        action: action.clone(),
        method: method.to_string(),
        params: params.clone(),
        checksum_valid: verdict.is_ok(),
    });
    if let Err(message) = verdict {
        return xml::failed("checksumError", message);
    }
    let request =
        ApiRequest { params: params.into_iter().collect(), origin: origin(&inner.config, local, peer, &headers) };
    actions::dispatch(&inner, &action, request)
}

/// A parameter sent both in the URL and in the body is a checksum error (reference §2.5).
fn not_in_both(query: &[(String, String)], form: &[(String, String)]) -> Result<(), &'static str> {
    if form.iter().any(|(key, _)| query.iter().any(|(other, _)| other == key)) {
        Err("Checksums do not match")
    } else {
        Ok(())
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

/// Where browsers reach the simulator, for the links it hands out: `--public-url`; else, when
/// the peer is on loopback (a local TLS proxy), `X-Forwarded-Proto` / `X-Forwarded-Host`; else
/// the Host over http. A value that does not make a plain origin is ignored.
fn origin(config: &SimulatorConfig, local: SocketAddr, peer: SocketAddr, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.as_str().trim_end_matches('/').to_owned();
    }
    let header = |name: &str| {
        let value = headers.get(name).and_then(|value| value.to_str().ok())?;
        value.split(',').next().map(str::trim).filter(|value| !value.is_empty())
    };
    let forwarded = |name: &str| header(name).filter(|_| peer.ip().is_loopback());
    let scheme = forwarded("x-forwarded-proto").map(str::to_ascii_lowercase);
    let scheme = scheme.as_deref().filter(|scheme| matches!(*scheme, "http" | "https")).unwrap_or("http");
    let hosts = [forwarded("x-forwarded-host"), header(HOST.as_str())];
    hosts.into_iter().flatten().find_map(|host| plain_origin(scheme, host)).unwrap_or_else(|| format!("http://{local}"))
}

/// `scheme://host[:port]`, if `host` is only that.
fn plain_origin(scheme: &str, host: &str) -> Option<String> {
    if host.contains(['/', '?', '#', '@', '\\']) {
        return None;
    }
    let url = Url::parse(&format!("{scheme}://{host}")).ok()?;
    url.host().is_some().then(|| url.origin().ascii_serialization())
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

/// Verifies a POST whose parameters, checksum included, all came in a form body with an empty
/// query, as bbb-web accepts (reference §2.5): over the sorted, re-encoded parameters (2.5) or
/// over an empty query (2.7 and later, body unsigned). Recording calls hash only the query.
pub fn verify_body_checksum(action: &str, form: &[(String, String)], secret: &str) -> Result<(), &'static str> {
    let checksums: Vec<&str> =
        form.iter().filter(|(key, _)| key == "checksum").map(|(_, value)| value.as_str()).collect();
    let [presented] = checksums.as_slice() else {
        return Err(if checksums.is_empty() { "You must provide the checksum" } else { "Checksums do not match" });
    };
    let algorithm = ChecksumAlgorithm::from_hex_len(presented.len()).ok_or("Checksums do not match")?;
    let mut signed: Vec<&(String, String)> = form.iter().filter(|(key, _)| key != "checksum").collect();
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    let sorted = form_urlencoded::Serializer::new(String::new()).extend_pairs(signed).finish();
    let recording_call =
        matches!(action, "getRecordings" | "publishRecordings" | "deleteRecordings" | "updateRecordings");
    let candidates: &[&str] = if recording_call { &[""] } else { &[&sorted, ""] };
    if candidates.iter().any(|query| checksum(algorithm, action, query, secret).eq_ignore_ascii_case(presented)) {
        Ok(())
    } else {
        Err("Checksums do not match")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn forwarded_headers_count_only_from_a_loopback_peer() {
        let config = SimulatorConfig::default();
        let local = SocketAddr::from(([127, 0, 0, 1], 8090));
        let proxied = headers(&[
            ("host", "127.0.0.1:8090"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "bbb.example.org"),
        ]);
        let cases = [
            (SocketAddr::from(([127, 0, 0, 1], 50000)), "https://bbb.example.org"),
            ("[::1]:50000".parse().unwrap(), "https://bbb.example.org"),
            (SocketAddr::from(([192, 0, 2, 7], 50000)), "http://127.0.0.1:8090"),
            ("[2001:db8::7]:50000".parse().unwrap(), "http://127.0.0.1:8090"),
        ];

        for (peer, expected) in cases {
            assert_eq!(origin(&config, local, peer, &proxied), expected, "from {peer}");
        }
    }

    #[test]
    fn the_public_url_wins_and_a_host_that_is_not_one_is_ignored() {
        let local = SocketAddr::from(([127, 0, 0, 1], 8090));
        let peer = SocketAddr::from(([127, 0, 0, 1], 50000));
        let public = SimulatorConfig {
            public_url: Some(Url::parse("https://visio.example.org/bbb/").unwrap()),
            ..SimulatorConfig::default()
        };
        let plain = SimulatorConfig::default();

        assert_eq!(origin(&public, local, peer, &headers(&[("host", "a.example")])), "https://visio.example.org/bbb");
        assert_eq!(origin(&plain, local, peer, &headers(&[("host", "a.example:8443")])), "http://a.example:8443");
        assert_eq!(origin(&plain, local, peer, &headers(&[("host", "a.example/x?y")])), "http://127.0.0.1:8090");
        assert_eq!(origin(&plain, local, peer, &headers(&[])), "http://127.0.0.1:8090");
    }
}
