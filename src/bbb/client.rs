//! `BbbClient`: one pooled HTTP client per BBB server, one method per API call. Every call is
//! signed over the exact query sent; URLs with their checksum never reach the logs.

use std::future::Future;
use std::time::Instant;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use secrecy::ExposeSecret;
use url::Url;

use super::error::BbbError;
use super::model::*;
use super::parse;
use super::url::{encode_query, signed_url, without_query};
use super::xml::{self, Element};

/// Largest answer read; a bigger one is not a BBB answer we need.
const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;
/// Largest getMeetings answer read: it lists every meeting of the server (about 1.5 KiB each),
/// and answers the is-running checks of all of them once batching applies.
const MAX_MEETINGS_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// Above this URL length, bulky create parameters move to a form body (reference §2.5).
const MAX_URL_BYTES: usize = 6 * 1024;
/// Create parameters that must stay in the signed URL.
const PINNED_PARAMETERS: [&str; 4] = ["meetingID", "name", "attendeePW", "moderatorPW"];
/// Redirects the API root call follows, and only on the BBB host: load balancers such as
/// Scalelite redirect `api` to `api/` (reference §8.2).
const MAX_ROOT_REDIRECTS: usize = 3;

/// The `connector` label of the calls of a client not named after one.
const UNNAMED: &str = "unnamed";

#[derive(Clone)]
pub struct BbbClient {
    http: reqwest::Client,
    server: BbbServer,
    /// Who the calls are counted for in the metrics.
    connector: metrics::SharedString,
}

impl std::fmt::Debug for BbbClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BbbClient").field("api_base", &self.server.api_base.as_str()).finish_non_exhaustive()
    }
}

impl BbbClient {
    pub fn new(server: BbbServer) -> Result<Self, BbbError> {
        let http = reqwest::Client::builder()
            .timeout(server.timeout)
            .connect_timeout(server.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|err| BbbError::Transport(err.to_string()))?;
        Ok(Self { http, server, connector: metrics::SharedString::const_str(UNNAMED) })
    }

    /// The client with its calls counted under `connector` in the metrics.
    pub fn for_connector(self, connector: &str) -> Self {
        Self { connector: metrics::SharedString::from(std::sync::Arc::<str>::from(connector)), ..self }
    }

    pub fn api_base(&self) -> &Url {
        &self.server.api_base
    }

    fn signed(&self, action: &str, query: &str) -> Url {
        signed_url(&self.server.api_base, action, query, self.server.algorithm, self.server.secret.expose_secret())
    }

    /// Unsigned API root call (reference §1.2): `GET {api_base}` (trailing slash), following
    /// at most 3 redirects that stay on the BBB host, within the call's timeout.
    pub async fn api_version(&self) -> Result<ApiVersion, BbbError> {
        let timeout = self.server.timeout;
        let answer = tokio::time::timeout(timeout, self.root_answer());
        let root = self.logged("api", async { answer.await.unwrap_or(Err(BbbError::Timeout(timeout))) }).await?;
        let bbb_version = Some(root.text_of("bbbVersion").trim().to_owned()).filter(|version| !version.is_empty());
        Ok(ApiVersion { version: root.text_of("version").trim().to_owned(), bbb_version })
    }

    /// The status probe: the API root's version, then one signed `isMeetingRunning` on a random
    /// meetingID, whose SUCCESS (`running=false`) proves the shared secret and the algorithm.
    pub async fn check(&self) -> Result<ServerStatus, BbbError> {
        let started = Instant::now();
        let version = self.api_version().await?;
        self.is_meeting_running(&probe_meeting_id()).await?;
        Ok(ServerStatus { version, latency: started.elapsed() })
    }

    /// The root answer; a redirect off the BBB host (scheme, host or port) or past the
    /// limit is not followed and fails as the 3xx it is.
    async fn root_answer(&self) -> Result<Element, BbbError> {
        let origin = self.server.api_base.origin();
        let mut url = self.server.api_base.clone();
        let mut redirects = 0;
        loop {
            let response = self.send(self.http.get(url.clone())).await?;
            match redirect_target(&response, &url) {
                Some(next) if redirects < MAX_ROOT_REDIRECTS && next.origin() == origin => {
                    redirects += 1;
                    url = next;
                }
                _ => return self.read_answer(response, MAX_ANSWER_BYTES).await,
            }
        }
    }

    pub async fn create(&self, request: &CreateRequest) -> Result<CreateAnswer, BbbError> {
        let mut params: Vec<(&str, &str)> = request.parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        params.extend([
            ("meetingID", request.meeting_id.as_str()),
            ("name", request.name.as_str()),
            ("attendeePW", request.attendee_pw.as_str()),
            ("moderatorPW", request.moderator_pw.as_str()),
        ]);
        if let Some(url) = &request.meeting_ended_url {
            params.push(("meetingEndedURL", url.as_str()));
        }
        let root = self.call_with_body_fallback("create", params).await?;
        let create_time = root
            .text_of("createTime")
            .parse::<i64>()
            .map_err(|_| BbbError::Protocol("answered create without a createTime".to_owned()))?;
        let skip = ["returncode", "attendeePW", "moderatorPW", "messageKey", "message"];
        let mut info = xml::to_json(&root, &skip);
        for field in ["messageKey", "message"] {
            let text = root.text_of(field);
            if !text.is_empty() {
                info.insert(xml::snake_case(field), serde_json::Value::String(text.to_owned()));
            }
        }
        Ok(CreateAnswer {
            create_time,
            duplicate: root.text_of("messageKey") == "duplicateWarning",
            meeting_info: info.into(),
        })
    }

    pub fn join_url(&self, request: &JoinRequest<'_>) -> Url {
        let create_time = request.create_time.to_string();
        let mut params: Vec<(&str, &str)> = request.parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        params.extend([
            ("meetingID", request.meeting_id),
            ("fullName", request.full_name),
            ("role", request.role),
            ("password", request.password),
            ("createTime", create_time.as_str()),
        ]);
        self.signed("join", &encode_query(params))
    }

    pub async fn is_meeting_running(&self, meeting_id: &str) -> Result<bool, BbbError> {
        let root = self.call("isMeetingRunning", &[("meetingID", meeting_id)]).await?;
        Ok(root.text_of("running") == "true")
    }

    pub async fn get_meeting_info(&self, meeting_id: &str) -> Result<MeetingInfo, BbbError> {
        let root = self.call("getMeetingInfo", &[("meetingID", meeting_id)]).await?;
        Ok(parse::meeting_info(&root))
    }

    pub async fn get_meetings(&self) -> Result<Vec<MeetingInfo>, BbbError> {
        let root = self.call("getMeetings", &[]).await?;
        let meetings =
            root.child("meetings").map(|list| list.children_named("meeting").map(parse::meeting_info).collect());
        Ok(meetings.unwrap_or_default())
    }

    pub async fn end(&self, meeting_id: &str) -> Result<(), BbbError> {
        self.call("end", &[("meetingID", meeting_id)]).await.map(drop)
    }

    pub async fn get_recordings(&self, meeting_id: &str) -> Result<Vec<Recording>, BbbError> {
        let root = self.call("getRecordings", &[("meetingID", meeting_id)]).await?;
        let recordings =
            root.child("recordings").map(|list| list.children_named("recording").map(parse::recording).collect());
        Ok(recordings.unwrap_or_default())
    }

    async fn call(&self, action: &'static str, params: &[(&str, &str)]) -> Result<Element, BbbError> {
        let url = self.signed(action, &encode_query(params.iter().copied()));
        self.fetch(action, self.http.get(url)).await
    }

    /// GET with every parameter signed in the URL; if that URL would be too long, the bulkiest
    /// parameters (never the pinned ones) move to a form-encoded POST body.
    async fn call_with_body_fallback(
        &self,
        action: &'static str,
        params: Vec<(&str, &str)>,
    ) -> Result<Element, BbbError> {
        let (mut in_url, mut in_body) = (params, Vec::new());
        in_url.sort_by_key(|(name, value)| (PINNED_PARAMETERS.contains(name), std::cmp::Reverse(value.len())));
        while self.signed(action, &encode_query(in_url.iter().copied())).as_str().len() > MAX_URL_BYTES
            && in_url.first().is_some_and(|(name, _)| !PINNED_PARAMETERS.contains(name))
        {
            in_body.push(in_url.remove(0));
        }
        let url = self.signed(action, &encode_query(in_url.iter().copied()));
        let request = if in_body.is_empty() {
            self.http.get(url)
        } else {
            self.http.post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(encode_query(in_body))
        };
        self.fetch(action, request).await
    }

    async fn fetch(&self, action: &'static str, request: reqwest::RequestBuilder) -> Result<Element, BbbError> {
        let limit = if action == "getMeetings" { MAX_MEETINGS_ANSWER_BYTES } else { MAX_ANSWER_BYTES };
        self.logged(action, async { self.read_answer(self.send(request).await?, limit).await }).await
    }

    /// Times a call, counts it and logs its outcome, without its URL's query.
    async fn logged(
        &self,
        action: &'static str,
        call: impl Future<Output = Result<Element, BbbError>>,
    ) -> Result<Element, BbbError> {
        let started = Instant::now();
        let outcome = call.await;
        let elapsed = started.elapsed();
        let label = outcome.as_ref().err().map_or("ok", BbbError::outcome);
        let connector = self.connector.clone();
        let labels = [("connector", connector.clone()), ("action", action.into()), ("outcome", label.into())];
        metrics::counter!("bbb_connector_bbb_calls_total", &labels).increment(1);
        metrics::histogram!("bbb_connector_bbb_call_duration_seconds", "connector" => connector, "action" => action)
            .record(elapsed.as_secs_f64());
        let latency_ms = (elapsed.as_secs_f64() * 100_000.0).round() / 100.0;
        match &outcome {
            Ok(_) => {
                tracing::debug!(action, latency_ms, base = %without_query(&self.server.api_base), "BBB call succeeded")
            }
            Err(error) => tracing::debug!(action, latency_ms, %error, "BBB call failed"),
        }
        outcome
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, BbbError> {
        request
            .header(ACCEPT, "application/xml")
            .send()
            .await
            .map_err(|err| BbbError::from_reqwest(err, self.server.timeout))
    }

    /// The XML of a 200 answer; any other status, a body that is not BBB XML, or FAILED is an error.
    async fn read_answer(&self, mut response: reqwest::Response, limit: usize) -> Result<Element, BbbError> {
        let timeout = self.server.timeout;
        if response.status() != reqwest::StatusCode::OK {
            return Err(BbbError::HttpStatus(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| BbbError::from_reqwest(err, timeout))? {
            if body.len() + chunk.len() > limit {
                return Err(BbbError::Protocol(format!("answer is larger than {} KiB", limit / 1024)));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&body);
        let root = xml::parse(&text).map_err(BbbError::Protocol)?;
        if root.text_of("returncode") != "SUCCESS" {
            let (message_key, message) = xml::failure(&root);
            return Err(BbbError::Api { message_key, message });
        }
        Ok(root)
    }
}

/// Where a redirect answer points, resolved against the URL asked.
fn redirect_target(response: &reqwest::Response, asked: &Url) -> Option<Url> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    asked.join(location).ok()
}

/// A meetingID no rendezvous uses: 32 random hex digits, like ours.
fn probe_meeting_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
