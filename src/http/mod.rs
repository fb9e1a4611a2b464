//! The HTTP layer: the route table, the envelope, access control and request parsing.
//! Every path answers with and without its trailing slash.

mod auth;
mod callbacks;
mod client;
mod doc_page;
mod docs;
pub mod envelope;
mod events;
mod extract;
pub mod guards;
mod health;
mod join;
mod landing;
mod links;
mod meetings;
pub mod metrics;
mod openapi;
mod operations;
mod page;
mod page_assets;
mod page_look;
mod pages;
mod running;
pub mod signature;
mod state;
mod telemetry;
mod views;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

use envelope::ApiError;

pub use crate::rendezvous::end_callback_token;
pub use extract::MAX_BODY_BYTES;
pub use state::{AppState, Settings};

const MEETING: &str = "/bbb/{slug}/meeting/{guid}";
/// Routed only while `metrics = true`.
const METRICS_PATH: &str = "/metrics";

/// Which layers a route is served behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// The `/bbb/` routes: the Host is checked against `allowed_hosts`.
    HostChecked,
    /// Polled by browsers of other origins: the Host check, inside the CORS layer.
    CrossOrigin,
    /// Probes and the OpenAPI document: answered whatever the Host.
    AnyHost,
}

/// One row of the route table: a path (served with and without its trailing slash), its
/// methods and their handlers.
pub struct Route {
    pub path: String,
    pub exposure: Exposure,
    /// The methods routed, in the order given; each has its handler in `handler`.
    pub methods: Vec<Method>,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new(path: impl Into<String>, exposure: Exposure) -> Self {
        Self { path: path.into(), exposure, methods: Vec::new(), handler: MethodRouter::new() }
    }

    fn with<H, T>(mut self, method: Method, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
        self.handler = self.handler.on(filter, handler);
        self.methods.push(method);
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Self {
        self.with(Method::GET, handler)
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Self {
        self.with(Method::POST, handler)
    }
}

/// Every route of the service, once: the router serves them and a test holds /openapi.json to
/// them.
pub fn route_table() -> Vec<Route> {
    use Exposure::{AnyHost, CrossOrigin, HostChecked};
    vec![
        Route::new("/bbb/{slug}", HostChecked).get(docs::get_doc_page),
        Route::new("/bbb/{slug}/meeting", HostChecked).post(meetings::post_meeting),
        Route::new(MEETING, HostChecked).get(meetings::get_meeting),
        Route::new(format!("{MEETING}/join/{{role}}/{{key}}"), HostChecked)
            .get(join::get_join)
            .with(Method::HEAD, links::head_link),
        Route::new(format!("{MEETING}/end"), HostChecked).post(operations::post_end),
        Route::new(format!("{MEETING}/recordings"), HostChecked).get(operations::get_recordings),
        Route::new("/bbb/{slug}/status", HostChecked).get(operations::get_status),
        Route::new(format!("{MEETING}/page/{{role}}/{{key}}"), HostChecked)
            .get(pages::get_page)
            .with(Method::HEAD, links::head_link),
        Route::new(format!("{MEETING}/page/{{role}}/{{key}}/events"), HostChecked).get(events::get_page_events),
        Route::new(format!("{MEETING}/callback/end/{{token}}"), HostChecked)
            .get(callbacks::meeting_ended)
            .post(callbacks::meeting_ended),
        Route::new("/bbb/{slug}/callback/recording-ready", HostChecked).post(callbacks::recording_ready),
        // OPTIONS must be routed for the CORS layer (applied per method) to answer preflights.
        Route::new(format!("{MEETING}/is-running"), CrossOrigin)
            .get(running::get_is_running)
            .with(Method::OPTIONS, running::preflight),
        Route::new(format!("{MEETING}/events"), CrossOrigin)
            .get(events::get_events)
            .with(Method::OPTIONS, running::preflight),
        Route::new("/healthz", AnyHost).get(health::get_healthz),
        Route::new("/readyz", AnyHost).get(health::get_readyz),
        Route::new("/openapi.json", AnyHost).get(docs::get_openapi),
        Route::new(METRICS_PATH, AnyHost).get(metrics::get_metrics),
    ]
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let (mut routes, mut cross_origin, mut probes) = (Router::new(), Router::new(), Router::new());
    let metrics_on = state.config().metrics;
    for route in route_table() {
        if route.path == METRICS_PATH && !metrics_on {
            continue;
        }
        let group = match route.exposure {
            Exposure::HostChecked => &mut routes,
            Exposure::CrossOrigin => &mut cross_origin,
            Exposure::AnyHost => &mut probes,
        };
        *group = both_slashes(std::mem::take(group), &route.path, route.handler);
    }
    let host_checked = || middleware::from_fn_with_state(state.clone(), links::check_host);
    // Inside the CORS layer, so that a refused Host is answered with CORS headers too.
    let open_cross_origin = cross_origin.route_layer(host_checked()).layer(cors());
    let router = routes
        .route_layer(host_checked())
        .merge(open_cross_origin)
        .merge(probes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_announced_oversized_body));
    telemetry::layers(router.with_state(state.clone()), &state)
}

/// A body announced larger than the limit is refused before a byte of it is read, and the
/// connection is closed rather than drained.
async fn refuse_announced_oversized_body(request: Request, next: Next) -> Response {
    if !extract::announces_too_large_body(request.headers()) {
        return next.run(request).await;
    }
    let mut response = ApiError::PayloadTooLarge.into_response();
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn both_slashes(router: Router<AppState>, path: &str, handler: MethodRouter<AppState>) -> Router<AppState> {
    router.route(path, handler.clone()).route(&format!("{path}/"), handler)
}

/// Browsers poll is-running from portal pages on other origins.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers(Any)
        .max_age(Duration::from_secs(3600))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
