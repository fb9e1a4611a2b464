//! Who a request comes from and which host it was sent to (DESIGN §4, §7). `X-Forwarded-For`,
//! `-Proto` and `-Host` are believed only from a peer listed in `trusted_proxies`; the Host is
//! checked against `allowed_hosts` whenever URLs are built from it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use super::envelope::ApiError;
use crate::config::{Config, ANY_HOST};

/// The client address of a request: the peer, or behind trusted proxies the last address of
/// `X-Forwarded-For` that is not one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    std::sync::Arc<Config>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = std::sync::Arc::<Config>::from_ref(state);
        Ok(Self(client_address(parts, &config.trusted_proxies)))
    }
}

/// The peer of the connection; unspecified when unknown (requests built in tests).
fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    let address = address.to_canonical();
    trusted.iter().any(|net| net.contains(&address))
}

pub fn client_address(parts: &Parts, trusted: &[IpNet]) -> IpAddr {
    let peer = peer(parts).to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map_while(|item| item.trim().parse::<IpAddr>().ok())
        .map(|address| address.to_canonical())
        .collect();
    forwarded.iter().rev().copied().find(|address| !is_trusted(*address, trusted)).unwrap_or(peer)
}

/// The last value of a forwarding header, when the peer may set it.
fn forwarded<'a>(headers: &'a HeaderMap, name: &str, trusted_peer: bool) -> Option<&'a str> {
    if !trusted_peer {
        return None;
    }
    let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    value.rsplit(',').next().map(str::trim).filter(|value| !value.is_empty())
}

/// The origin `check_host` already worked out for this request.
#[derive(Debug, Clone)]
pub struct CheckedOrigin(pub String);

/// The scheme and host the client addressed, checked: `http(s)://host[:port]`.
pub fn request_origin(parts: &Parts, config: &Config) -> Result<String, ApiError> {
    let trusted_peer = is_trusted(peer(parts), &config.trusted_proxies);
    let host = forwarded(&parts.headers, "x-forwarded-host", trusted_peer)
        .or_else(|| parts.headers.get(HOST).and_then(|value| value.to_str().ok()))
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|authority| authority.to_string()))
        .unwrap_or_else(|| config.listen.clone());
    let scheme = match forwarded(&parts.headers, "x-forwarded-proto", trusted_peer) {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let origin = parse_origin(scheme, &host).ok_or(ApiError::InvalidHost)?;
    if !host_allowed(&origin, &config.allowed_hosts) {
        return Err(ApiError::InvalidHost);
    }
    Ok(origin.origin().ascii_serialization())
}

/// `scheme://host` when `host` is a bare host with an optional port: no user, path, query or
/// fragment can ride along into the URLs built from it.
fn parse_origin(scheme: &str, host: &str) -> Option<url::Url> {
    let plain = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !plain {
        return None;
    }
    url::Url::parse(&format!("{scheme}://{host}/")).ok().filter(|url| url.host().is_some())
}

fn host_allowed(origin: &url::Url, allowed: &[String]) -> bool {
    let Some(host) = origin.host_str() else { return false };
    allowed.iter().any(|entry| {
        entry == ANY_HOST || entry.trim_matches(['[', ']']).eq_ignore_ascii_case(host.trim_matches(['[', ']']))
    })
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = Request::builder().uri("/x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    fn loopback() -> Vec<IpNet> {
        vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let forged = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(client_address(&parts("198.51.100.7:5000", &forged), &loopback()).to_string(), "198.51.100.7");
        assert_eq!(client_address(&parts("127.0.0.1:5000", &forged), &loopback()).to_string(), "203.0.113.9");
        // A client may prepend anything: the proxy appends what it saw, the last untrusted one.
        let chain = [("x-forwarded-for", "1.2.3.4, 203.0.113.9, 127.0.0.5")];
        assert_eq!(client_address(&parts("127.0.0.1:5000", &chain), &loopback()).to_string(), "203.0.113.9");
        let garbage = [("x-forwarded-for", "not-an-address")];
        assert_eq!(client_address(&parts("127.0.0.1:5000", &garbage), &loopback()).to_string(), "127.0.0.1");
        assert_eq!(client_address(&parts("[::ffff:198.51.100.7]:1", &[]), &loopback()).to_string(), "198.51.100.7");
    }

    fn config(allowed: &[&str], trusted: Vec<IpNet>) -> Config {
        Config {
            allowed_hosts: allowed.iter().map(|host| (*host).to_owned()).collect(),
            trusted_proxies: trusted,
            ..Config::default()
        }
    }

    #[test]
    fn the_origin_follows_the_host_only_when_it_is_allowed() {
        let config = config(&["connectors.example.org"], vec![]);
        let origin = |headers: &[(&str, &str)]| request_origin(&parts("198.51.100.7:1", headers), &config);

        assert_eq!(origin(&[("host", "connectors.example.org:8443")]).unwrap(), "http://connectors.example.org:8443");
        assert_eq!(origin(&[("host", "CONNECTORS.example.org")]).unwrap(), "http://connectors.example.org");
        assert!(matches!(origin(&[("host", "evil.example")]), Err(ApiError::InvalidHost)));
        // Untrusted peer: forwarded headers are ignored, not believed.
        let forged =
            [("host", "connectors.example.org"), ("x-forwarded-host", "evil.example"), ("x-forwarded-proto", "https")];
        assert_eq!(origin(&forged).unwrap(), "http://connectors.example.org");
    }

    #[test]
    fn a_host_that_is_not_a_bare_host_is_refused() {
        let config = config(&["*"], vec![]);
        for host in ["evil.example#</script>", "a@b", "x/y", "h?q", "", "a b", "\"x\""] {
            let result = request_origin(&parts("198.51.100.7:1", &[("host", host)]), &config);
            assert!(matches!(result, Err(ApiError::InvalidHost)), "{host:?}: {result:?}");
        }
    }

    #[test]
    fn a_trusted_proxy_sets_the_scheme_and_host() {
        let config = config(&["*"], loopback());
        let headers =
            [("host", "127.0.0.1:8080"), ("x-forwarded-host", "rdv.example.org"), ("x-forwarded-proto", "https")];

        assert_eq!(request_origin(&parts("127.0.0.1:1", &headers), &config).unwrap(), "https://rdv.example.org");
    }
}
