//! The `[branding]` table: the organisation's name, logo and accent colour on the citizen's and
//! the agent's pages, checked at load (the colour for contrast, the logo for what a
//! Content-Security-Policy can name).

use std::net::IpAddr;

use serde::Deserialize;
use url::{Host, Url};

use super::ConfigError;

/// Longest `name`, in characters: it sits on one line above the meeting's name, on a phone.
const NAME_MAX_CHARS: usize = 80;
/// WCAG 2.2 AA (1.4.3) for text of normal size.
const MINIMUM_CONTRAST: f64 = 4.5;

/// Every key optional; without any, the pages look as they do unbranded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "test-util", derive(serde::Serialize))]
#[serde(deny_unknown_fields, default)]
pub struct Branding {
    /// The organisation's name, above the page and after its title.
    pub name: Option<String>,
    /// An image shown beside the name, from an `https://` origin (http only on loopback).
    pub logo_url: Option<Url>,
    /// `#rrggbb` of the buttons, links and state border, white text on it at 4.5:1 at least.
    pub accent_colour: Option<String>,
}

impl Branding {
    /// The accent colour as `#rrggbb` in lower case, once validated.
    pub fn accent(&self) -> Option<String> {
        let [red, green, blue] = self.accent_colour.as_deref().and_then(rgb)?;
        Some(format!("#{red:02x}{green:02x}{blue:02x}"))
    }

    /// The origin of the logo (`https://host[:port]`), the one source the pages' `img-src` adds.
    pub fn logo_origin(&self) -> Option<String> {
        self.logo_url.as_ref().map(|url| url.origin().ascii_serialization())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(name) = &self.name {
            validate_name(name)?;
        }
        if let Some(url) = &self.logo_url {
            validate_logo_url(url)?;
            // The name is the logo's text alternative (see the pages' banner): without it the
            // logo would be an image that says something and no text saying it.
            if self.name.is_none() {
                return Err(ConfigError::new("branding.logo_url", "needs branding.name too (the logo's text)"));
            }
        }
        if let Some(colour) = &self.accent_colour {
            validate_accent(colour)?;
        }
        Ok(())
    }
}

fn validate_name(name: &str) -> Result<(), ConfigError> {
    let problem = if name.trim().is_empty() {
        "must not be empty (remove it for no name)".to_owned()
    } else if name.chars().count() > NAME_MAX_CHARS {
        format!("is longer than {NAME_MAX_CHARS} characters")
    } else if name.chars().any(char::is_control) {
        "must not contain control characters (line breaks, tabs...)".to_owned()
    } else {
        return Ok(());
    };
    Err(ConfigError::new("branding.name", problem))
}

fn validate_logo_url(url: &Url) -> Result<(), ConfigError> {
    let refuse = |problem: &str| Err(ConfigError::new("branding.logo_url", problem));
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not carry credentials");
    }
    if !matches!(url.scheme(), "https" | "http") {
        return refuse("must be an https:// URL");
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) if domain.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b)) => {
            domain == "localhost"
        }
        Some(Host::Ipv4(address)) => IpAddr::V4(address).is_loopback(),
        // A Content-Security-Policy source cannot name an IPv6 address, nor a host with other
        // characters (which could also end the policy's directive).
        _ => return refuse("must name its host by a DNS name or an IPv4 address"),
    };
    if url.scheme() == "http" && !loopback {
        return refuse("must be an https:// URL (http:// only on a loopback host, for tests)");
    }
    Ok(())
}

fn validate_accent(colour: &str) -> Result<(), ConfigError> {
    let key = "branding.accent_colour";
    let Some(rgb) = rgb(colour) else {
        return Err(ConfigError::new(key, format!("{colour:?} is not a colour written #rrggbb")));
    };
    let ratio = contrast_with_white(rgb);
    if ratio < MINIMUM_CONTRAST {
        // Rounded down, so that a refused colour never shows 4.50.
        let shown = (ratio * 100.0).floor() / 100.0;
        return Err(ConfigError::new(
            key,
            format!(
                "{colour} has a contrast of {shown:.2}:1 with white, below the {MINIMUM_CONTRAST}:1 that WCAG 2.2 AA \
                 requires (white button text on it, and it as link text on white); choose a darker colour"
            ),
        ));
    }
    Ok(())
}

/// `#rrggbb` (either case) as its three channels.
fn rgb(colour: &str) -> Option<[u8; 3]> {
    let hex = colour.strip_prefix('#').filter(|hex| hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// The WCAG contrast ratio of a colour and white. It is symmetric, so it measures white text on
/// the colour and the colour as text on white at once.
fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    const WHITE_LUMINANCE: f64 = 1.0;
    (WHITE_LUMINANCE + 0.05) / (relative_luminance(rgb) + 0.05)
}

/// WCAG 2.2's relative luminance of an sRGB colour.
fn relative_luminance([red, green, blue]: [u8; 3]) -> f64 {
    let linear = |channel: u8| {
        let value = f64::from(channel) / 255.0;
        if value <= 0.04045 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn refusal(branding: &str) -> ConfigError {
        Config::from_toml(&format!("[branding]\n{branding}")).expect_err("this branding must be refused")
    }

    #[test]
    fn a_full_branding_section_loads() {
        let config = Config::from_toml(
            "[branding]\nname = \"Ville de Sainte-Foy\"\nlogo_url = \"https://www.example.org/logo.png\"\n\
             accent_colour = \"#0B5CAD\"",
        )
        .unwrap();

        assert_eq!(config.branding.name.as_deref(), Some("Ville de Sainte-Foy"));
        assert_eq!(config.branding.logo_origin().as_deref(), Some("https://www.example.org"));
        assert_eq!(config.branding.accent().as_deref(), Some("#0b5cad"));
        assert_eq!(Config::from_toml("").unwrap().branding, Branding::default(), "no branding by default");
    }

    #[test]
    fn the_example_s_branding_section_loads_once_uncommented() {
        let example = include_str!("../../config.example.toml");
        let start = example.find("# [branding]").expect("config.example.toml shows [branding]");
        let block = example[start..].split("\n\n").next().unwrap();
        let uncommented: String = block.lines().map(|line| format!("{}\n", &line[2..])).collect();

        let config = Config::from_toml(&uncommented).expect("the example branding must be valid");

        assert!(config.branding.name.is_some() && config.branding.logo_url.is_some(), "{uncommented}");
        assert!(config.branding.accent_colour.is_some(), "{uncommented}");
    }

    #[test]
    fn a_mistaken_name_is_refused_with_its_key() {
        let long = format!("name = \"{}\"", "x".repeat(NAME_MAX_CHARS + 1));
        let cases = [
            ("name = \"\"", "empty"),
            ("name = \"  \"", "empty"),
            (long.as_str(), "longer than 80"),
            ("name = \"Ville\\nde Sainte-Foy\"", "control characters"),
            ("name = \"Ville\\u0007\"", "control characters"),
        ];
        for (line, problem) in cases {
            let error = refusal(line);

            assert_eq!(error.key, "branding.name", "{line}");
            assert!(error.problem.contains(problem), "{line}: {error}");
        }
        let exactly_80 = format!("[branding]\nname = \"{}\"", "é".repeat(NAME_MAX_CHARS));
        assert!(Config::from_toml(&exactly_80).is_ok(), "80 characters, whatever their bytes");
    }

    #[test]
    fn a_logo_url_the_pages_could_not_safely_show_is_refused_with_its_key() {
        let cases = [
            ("javascript:alert(1)", "https://"),
            ("data:image/png;base64,iVBORw0KGgo=", "https://"),
            ("ftp://www.example.org/logo.png", "https://"),
            ("http://www.example.org/logo.png", "loopback"),
            ("http://10.0.0.1/logo.png", "loopback"),
            ("https://user:password@www.example.org/logo.png", "credentials"),
            ("https://user@www.example.org/logo.png", "credentials"),
            ("https://[2001:db8::1]/logo.png", "IPv4"),
            ("https://a;b.example.org/logo.png", "DNS name"),
            ("not a url", "relative URL without a base"),
            ("/logo.png", "relative URL without a base"),
        ];
        for (url, problem) in cases {
            let error = refusal(&format!("name = \"Ville\"\nlogo_url = \"{url}\""));

            assert_eq!(error.key, "branding.logo_url", "{url}: {error}");
            assert!(error.problem.contains(problem), "{url}: {error}");
        }
        for loopback in ["http://127.0.0.1:8081/logo.png", "http://localhost/logo.png"] {
            let branding = format!("[branding]\nname = \"Ville\"\nlogo_url = \"{loopback}\"");
            assert!(Config::from_toml(&branding).is_ok(), "{loopback} is allowed for tests");
        }
    }

    #[test]
    fn a_logo_without_a_name_to_say_it_is_refused() {
        let error = refusal("logo_url = \"https://www.example.org/logo.png\"");

        assert_eq!(error.key, "branding.logo_url");
        assert!(error.problem.contains("branding.name"), "{error}");
    }

    #[test]
    fn an_accent_colour_below_wcag_aa_is_refused_with_the_ratio_measured() {
        let cases = [
            ("#ffff00", "#ffff00 has a contrast of 1.07:1 with white, below the 4.5:1"),
            ("#777777", "#777777 has a contrast of 4.47:1 with white, below the 4.5:1"),
            ("#0b5cad0", "\"#0b5cad0\" is not a colour written #rrggbb"),
            ("navy", "\"navy\" is not a colour written #rrggbb"),
        ];
        for (colour, problem) in cases {
            let error = refusal(&format!("accent_colour = \"{colour}\""));

            assert_eq!(error.key, "branding.accent_colour", "{colour}");
            assert!(error.problem.contains(problem), "{colour}: {error}");
        }
        for enough in ["#0b5cad", "#767676", "#1d7a36"] {
            let branding = format!("[branding]\naccent_colour = \"{enough}\"");
            assert!(Config::from_toml(&branding).is_ok(), "{enough} reaches 4.5:1");
        }
    }

    #[test]
    fn an_unknown_key_in_branding_is_refused_like_any_other() {
        for key in ["accent_color", "colour", "logo"] {
            let error = refusal(&format!("{key} = \"#0b5cad\""));

            assert_eq!(error.key, format!("branding.{key}"));
            assert_eq!(error.problem, "unknown key");
        }
    }

    #[test]
    fn the_contrast_with_white_follows_wcag_s_published_figures() {
        let cases = [("#000000", 21.0), ("#ffffff", 1.0), ("#777777", 4.48), ("#0b5cad", 6.67), ("#ffff00", 1.07)];
        for (colour, expected) in cases {
            let ratio = contrast_with_white(rgb(colour).unwrap());

            assert!((ratio - expected).abs() < 0.005, "{colour}: {ratio}");
        }
    }

    #[test]
    fn only_six_hex_digits_after_a_hash_are_a_colour() {
        assert_eq!(rgb("#0B5cAd"), Some([0x0b, 0x5c, 0xad]));
        for wrong in ["0b5cad", "#fff", "#0b5cad0", "#0b5cag", "blue", "", "#éééééé"] {
            assert_eq!(rgb(wrong), None, "{wrong:?}");
        }
    }
}
