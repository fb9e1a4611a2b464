//! BBB URLs: normalising the configured base, encoding a query exactly as it is signed, and
//! appending the checksum.

use url::Url;

use super::checksum::{checksum, ChecksumAlgorithm};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BaseUrlError(String);

/// `https://h/bigbluebutton`, `.../bigbluebutton/`, `.../api` or `.../api/` (surrounding blanks
/// ignored) -> `https://h/bigbluebutton/api/`.
pub fn normalize_base_url(raw: &str) -> Result<Url, BaseUrlError> {
    let mut url = Url::parse(raw.trim()).map_err(|err| BaseUrlError(format!("malformed URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(BaseUrlError("must be an http:// or https:// URL".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError("must not have a query string or fragment".to_owned()));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    let api_path = if path.ends_with("/api") { format!("{path}/") } else { format!("{path}/api/") };
    url.set_path(&api_path);
    Ok(url)
}

/// Form-encodes `params` sorted by name (then value), as `application/x-www-form-urlencoded`:
/// the exact bytes that are signed and sent.
pub fn encode_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = params.into_iter().collect();
    sorted.sort();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(sorted).finish()
}

/// `{api_base}{action}?{query}&checksum={hex}`.
pub fn signed_url(api_base: &Url, action: &str, query: &str, algorithm: ChecksumAlgorithm, secret: &str) -> Url {
    let hex = checksum(algorithm, action, query, secret);
    let mut url = api_base.join(action).unwrap_or_else(|_| api_base.clone());
    let full_query = if query.is_empty() { format!("checksum={hex}") } else { format!("{query}&checksum={hex}") };
    url.set_query(Some(&full_query));
    url
}

/// The URL without its query, for logs and error messages.
pub fn without_query(url: &Url) -> String {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_to_the_api_folder() {
        for raw in [
            "https://bbb.example.org/bigbluebutton",
            "https://bbb.example.org/bigbluebutton/",
            "https://bbb.example.org/bigbluebutton/api",
            " https://bbb.example.org/bigbluebutton/api/ ",
        ] {
            assert_eq!(
                normalize_base_url(raw).unwrap().as_str(),
                "https://bbb.example.org/bigbluebutton/api/",
                "{raw}"
            );
        }
        assert_eq!(normalize_base_url("http://127.0.0.1:8090/").unwrap().as_str(), "http://127.0.0.1:8090/api/");
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for raw in ["", "bbb.example.org", "ftp://bbb/", "https://bbb/bigbluebutton/?a=1", "https://bbb/#x"] {
            assert!(normalize_base_url(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn queries_are_sorted_and_form_encoded() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("name", "Test Meeting"), ("meetingID", "abc")], "meetingID=abc&name=Test+Meeting"),
            (&[("welcome", "a&b=c+d%e")], "welcome=a%26b%3Dc%2Bd%25e"),
            (&[("x", "~'*-._")], "x=%7E%27*-._"),
            (&[("name", "Réunion 🎥")], "name=R%C3%A9union+%F0%9F%8E%A5"),
            (&[], ""),
        ];
        for (params, expected) in cases {
            assert_eq!(encode_query(params.iter().copied()), expected);
        }
    }

    #[test]
    fn signed_urls_carry_the_published_checksum() {
        let base = normalize_base_url("https://bbb.example.org/bigbluebutton/").unwrap();
        let query = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444";

        let url = signed_url(&base, "create", query, ChecksumAlgorithm::Sha1, "639259d4-9dd8-4b25-bf01-95f9567eaf4b");
        let empty =
            signed_url(&base, "getMeetings", "", ChecksumAlgorithm::Sha1, "639259d4-9dd8-4b25-bf01-95f9567eaf4b");

        assert_eq!(url.as_str(), format!("https://bbb.example.org/bigbluebutton/api/create?{query}&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"));
        assert_eq!(
            empty.as_str(),
            "https://bbb.example.org/bigbluebutton/api/getMeetings?checksum=2027baa7771026e9e93392f55031535d1444c41f"
        );
        assert_eq!(without_query(&url), "https://bbb.example.org/bigbluebutton/api/create");
    }
}
