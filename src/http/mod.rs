//! The HTTP layer: the route table, the envelope, access control and request parsing.
//! Every path answers with and without its trailing slash.

mod auth;
mod callbacks;
mod client;
pub mod envelope;
mod extract;
pub mod guards;
mod health;
mod join;
mod links;
mod meetings;
mod operations;
mod page;
mod pages;
mod running;
pub mod signature;
mod state;
mod telemetry;
mod views;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

use envelope::ApiError;

pub use crate::rendezvous::end_callback_token;
pub use extract::MAX_BODY_BYTES;
pub use state::AppState;

const MEETING: &str = "/bbb/{slug}/meeting/{guid}";

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new();
    routes = both_slashes(routes, "/bbb/{slug}/meeting", post(meetings::post_meeting));
    routes = both_slashes(routes, MEETING, get(meetings::get_meeting));
    routes =
        both_slashes(routes, &format!("{MEETING}/join/{{role}}/{{key}}"), get(join::get_join).head(links::head_link));
    routes = both_slashes(routes, &format!("{MEETING}/end"), post(operations::post_end));
    routes = both_slashes(routes, &format!("{MEETING}/recordings"), get(operations::get_recordings));
    routes = both_slashes(routes, "/bbb/{slug}/status", get(operations::get_status));
    routes =
        both_slashes(routes, &format!("{MEETING}/page/{{role}}/{{key}}"), get(pages::get_page).head(links::head_link));
    routes = both_slashes(
        routes,
        &format!("{MEETING}/callback/end/{{token}}"),
        get(callbacks::meeting_ended).post(callbacks::meeting_ended),
    );
    routes = both_slashes(routes, "/bbb/{slug}/callback/recording-ready", post(callbacks::recording_ready));
    // OPTIONS must be routed for the CORS layer (applied per method) to answer preflights.
    let polled = get(running::get_is_running).options(|| async { StatusCode::NO_CONTENT });
    let host_checked = || middleware::from_fn_with_state(state.clone(), links::check_host);
    // Inside the CORS layer, so that a refused Host is answered with CORS headers too.
    let open_cross_origin =
        both_slashes(Router::new(), &format!("{MEETING}/is-running"), polled).route_layer(host_checked()).layer(cors());
    let mut probes = Router::new();
    probes = both_slashes(probes, "/healthz", get(health::get_healthz));
    probes = both_slashes(probes, "/readyz", get(health::get_readyz));
    let router = routes
        .route_layer(host_checked())
        .merge(open_cross_origin)
        .merge(probes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_announced_oversized_body))
        .with_state(state);
    telemetry::layers(router)
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
