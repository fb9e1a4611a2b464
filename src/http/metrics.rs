//! `GET /metrics` (Prometheus text format, DESIGN §4) and the series of every request. One
//! recorder per process, installed by the first app built with `metrics = true`: the counters of
//! the bbb and rendezvous layers go to it through the `metrics` macros.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::auth::{identify, Caller};
use super::client::client_address;
use super::envelope::ApiError;
use super::state::AppState;
use crate::config::Config;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";
/// Upper bounds of the duration histograms, in seconds: from a cached answer to a BBB timeout.
const DURATION_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0];
/// How often the histograms' samples are folded in, whether or not anybody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (a process holds one: tests start many apps,
/// which share it). Call it before the connectors are built: they register their counters.
pub fn recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".to_owned()), &DURATION_BUCKETS)
        .expect("non-empty buckets");
    let handle = match builder.install_recorder() {
        Ok(handle) => handle,
        Err(error) => {
            tracing::warn!(%error, "metrics: a recorder was already installed; /metrics shows none of ours");
            PrometheusBuilder::new().build_recorder().handle()
        }
    };
    let upkept = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            upkept.run_upkeep();
        })
        .expect("a thread for the metrics upkeep");
    describe();
    metrics::gauge!("bbb_connector_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    metrics::gauge!("bbb_connector_events_streams").set(0.0);
    handle
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("bbb_connector_http_requests_total", "HTTP requests answered, by route, method and status");
    describe_histogram!("bbb_connector_http_request_duration_seconds", Unit::Seconds, "time to answer, by route");
    describe_counter!("bbb_connector_bbb_calls_total", "BBB API calls, by connector, action and outcome");
    describe_histogram!("bbb_connector_bbb_call_duration_seconds", Unit::Seconds, "BBB API call time");
    describe_counter!("bbb_connector_is_running_cache_total", "is-running answers from the cache (hit) or not (miss)");
    describe_counter!("bbb_connector_rendezvous_created_total", "rendezvous created (replays not counted)");
    describe_counter!("bbb_connector_joins_total", "join links followed to BBB, by connector and role");
    describe_counter!("bbb_connector_refusals_total", "requests refused by the rate limits or the negative cache");
    describe_gauge!("bbb_connector_events_streams", "events streams open");
    describe_gauge!("bbb_connector_build_info", "the version running");
}

/// The series of one route, kept per worker thread: a request then costs no label allocation
/// and no registry lookup (routes, methods and statuses are bounded, so are these).
struct RouteSeries {
    duration: Histogram,
    requests: Vec<(&'static str, u16, Counter)>,
}

thread_local! {
    static SERIES: RefCell<HashMap<String, RouteSeries>> = RefCell::new(HashMap::new());
}

/// Counts and times one answered request (the request-log layer calls it, so that measuring
/// costs no layer of its own), labels bounded: the matched route (`unmatched` otherwise), a
/// standard method (`other` otherwise) and the status.
pub(super) fn record_request(route: &str, method: &Method, status: u16, seconds: f64) {
    let method = method_label(method);
    SERIES.with_borrow_mut(|series| {
        if !series.contains_key(route) {
            let duration =
                metrics::histogram!("bbb_connector_http_request_duration_seconds", "route" => route.to_owned());
            series.insert(route.to_owned(), RouteSeries { duration, requests: Vec::new() });
        }
        let Some(route_series) = series.get_mut(route) else { return };
        route_series.duration.record(seconds);
        let known = route_series.requests.iter().position(|(m, s, _)| *m == method && *s == status);
        let index = known.unwrap_or_else(|| {
            let labels = [("route", route.to_owned()), ("method", method.to_owned()), ("status", status.to_string())];
            let counter = metrics::counter!("bbb_connector_http_requests_total", &labels);
            route_series.requests.push((method, status, counter));
            route_series.requests.len() - 1
        });
        route_series.requests[index].2.increment(1);
    });
}

fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    STANDARD.iter().find(|standard| *standard == method).map_or("other", Method::as_str)
}

/// The process's metrics in Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    description = "Routed only while `metrics = true` (the default). Open to a loopback client address \
        (behind `trusted_proxies`, the address they forwarded), else to the api users listed in \
        `metrics_access`. Series: `bbb_connector_http_requests_total{route,method,status}`, \
        `bbb_connector_http_request_duration_seconds{route}`, `bbb_connector_bbb_calls_total{connector,action,outcome}`, \
        `bbb_connector_bbb_call_duration_seconds{connector,action}`, `bbb_connector_is_running_cache_total{connector,result}`, \
        `bbb_connector_rendezvous_created_total{connector}`, `bbb_connector_joins_total{connector,role}`, \
        `bbb_connector_refusals_total{reason}`, `bbb_connector_events_streams`, `bbb_connector_build_info{version}`.",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain"),
        (status = 403, description = "`access-denied`", body = super::envelope::Failure),
    ),
    security((), ("publik_signature" = []), ("apikey" = []), ("basic" = []))
)]
pub async fn get_metrics(_reader: MetricsReader) -> Response {
    let mut response = recorder().render().into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    response
}

/// Who may read `/metrics`: a loopback client address (DESIGN §7: behind trusted proxies, the
/// address they forwarded), else an api user of `metrics_access`.
pub struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if opens_to(parts, &state.config()) {
            return Ok(Self);
        }
        match identify(parts, &state.config(), state.store.as_ref()).await? {
            Caller::ApiUser(name) if state.config().metrics_access.contains(&name) => Ok(Self),
            Caller::ApiUser(name) => {
                Err(ApiError::AccessDenied(format!("access denied: api user {name:?} may not read the metrics")))
            }
            Caller::Anonymous => Err(ApiError::AccessDenied("access denied: authentication required".to_owned())),
        }
    }
}

/// True when the client address is loopback: the metrics are open to it.
fn opens_to(parts: &Parts, config: &Config) -> bool {
    let client: IpAddr = client_address(parts, &config.trusted_proxies);
    client.is_loopback()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use axum::http::Request;

    use super::*;

    fn parts(peer: &str, forwarded_for: Option<&str>) -> Parts {
        let mut request = Request::builder().uri("/metrics");
        if let Some(value) = forwarded_for {
            request = request.header("x-forwarded-for", value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn the_metrics_are_open_to_loopback_clients_only_and_a_forged_forwarded_for_does_not_open_them() {
        let config = Config::default();

        assert!(opens_to(&parts("127.0.0.1:1", None), &config));
        assert!(opens_to(&parts("[::1]:1", None), &config));
        assert!(!opens_to(&parts("198.51.100.7:1", Some("127.0.0.1")), &config), "untrusted peer, forged header");
        assert!(!opens_to(&parts("127.0.0.1:1", Some("203.0.113.9")), &config), "a client behind the proxy");
        assert!(opens_to(&parts("127.0.0.1:1", Some("127.0.0.1")), &config));
    }

    #[test]
    fn method_labels_are_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
