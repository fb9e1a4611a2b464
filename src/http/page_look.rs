//! The pages' look as the configuration's `[branding]` makes it: the organisation's name and
//! logo at the top, its accent colour, and the Content-Security-Policy that lets exactly these
//! in. Worked out once per loaded configuration and kept with the settings, never per request.

use std::sync::LazyLock;

use axum::http::HeaderValue;
use base64::Engine;
use maud::{html, Markup, PreEscaped};
use sha2::{Digest, Sha256};

use super::page_assets::{PAGE_SCRIPT, PAGE_STYLE};
use crate::config::Branding;

pub struct PageLook {
    name: Option<String>,
    logo_url: Option<String>,
    /// A second `<style>`, after [`PAGE_STYLE`]: the accent's custom property.
    accent_style: Option<String>,
    content_security_policy: HeaderValue,
}

static PLAIN: LazyLock<PageLook> = LazyLock::new(|| PageLook::of(&Branding::default()));

impl PageLook {
    pub fn of(branding: &Branding) -> Self {
        let accent_style = branding.accent().map(|accent| format!(":root{{--accent:{accent}}}"));
        let logo_origin = branding.logo_origin();
        let content_security_policy = content_security_policy(accent_style.as_deref(), logo_origin.as_deref());
        Self {
            name: branding.name.clone(),
            logo_url: branding.logo_url.as_ref().map(|url| url.as_str().to_owned()),
            accent_style,
            content_security_policy,
        }
    }

    /// Without branding: the connector's documentation page, which is not the organisation's.
    pub fn plain() -> &'static Self {
        &PLAIN
    }

    pub fn content_security_policy(&self) -> HeaderValue {
        self.content_security_policy.clone()
    }

    /// A page's `<title>`: its own, then the organisation's name.
    pub fn title(&self, title: &str) -> String {
        match &self.name {
            Some(name) => format!("{title} – {name}"),
            None => title.to_owned(),
        }
    }

    /// The styles of a page: ours, then the accent's when there is one.
    pub fn styles(&self) -> Markup {
        html! {
            style { (PreEscaped(PAGE_STYLE)) }
            @if let Some(accent) = &self.accent_style { style { (PreEscaped(accent)) } }
        }
    }

    /// The organisation's logo and name above the page, or nothing.
    pub fn banner(&self) -> Markup {
        let Some(name) = &self.name else { return html! {} };
        html! {
            header.brand {
                // The name is written beside the logo: an empty alt keeps screen readers from
                // saying it twice (the logo is decorative next to it, WCAG technique H2). The
                // configuration refuses a logo without a name.
                @if let Some(logo) = &self.logo_url { img src=(logo) alt=""; }
                span.brand-name { (name) }
            }
        }
    }
}

/// `'sha256-…'` of an inline script or style, as CSP names it.
fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// Our own script and styles by their hash, images from ourselves and the logo's origin only.
fn content_security_policy(accent_style: Option<&str>, logo_origin: Option<&str>) -> HeaderValue {
    let mut styles = csp_hash(PAGE_STYLE);
    let mut images = "'self'".to_owned();
    for (sources, extra) in [(&mut styles, accent_style.map(csp_hash)), (&mut images, logo_origin.map(str::to_owned))] {
        if let Some(extra) = extra {
            sources.push(' ');
            sources.push_str(&extra);
        }
    }
    let policy = format!(
        "default-src 'none'; script-src {}; style-src {styles}; connect-src 'self'; img-src {images}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(PAGE_SCRIPT)
    );
    // The logo's origin was checked at load to be a scheme, a DNS name or IPv4 and a port.
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branded() -> Branding {
        Branding {
            name: Some("Ville de Sainte-Foy".to_owned()),
            logo_url: Some("https://cdn.example.org:8443/logos/ville.png?v=2".parse().unwrap()),
            accent_colour: Some("#1D7A36".to_owned()),
        }
    }

    #[test]
    fn the_policy_adds_the_logo_s_origin_and_the_accent_s_hash_and_nothing_else() {
        let look = PageLook::of(&branded());
        let plain = PageLook::plain().content_security_policy();

        let policy = look.content_security_policy();

        let accent_hash = csp_hash(":root{--accent:#1d7a36}");
        let directive = |policy: &str, name: &str| {
            policy.split("; ").find(|d| d.starts_with(name)).map(str::to_owned).unwrap_or_default()
        };
        let policy = policy.to_str().unwrap();
        let plain = plain.to_str().unwrap();
        assert_eq!(directive(policy, "img-src"), "img-src 'self' https://cdn.example.org:8443");
        assert_eq!(directive(policy, "style-src"), format!("style-src {} {accent_hash}", csp_hash(PAGE_STYLE)));
        assert_eq!(directive(plain, "img-src"), "img-src 'self'");
        assert_eq!(directive(plain, "style-src"), format!("style-src {}", csp_hash(PAGE_STYLE)));
        assert_eq!(policy.replace(&format!(" {accent_hash}"), "").replace(" https://cdn.example.org:8443", ""), plain);
        assert!(!policy.contains("unsafe"), "{policy}");
    }

    #[test]
    fn the_accent_style_is_the_one_its_hash_allows() {
        let look = PageLook::of(&branded());

        let styles = look.styles().into_string();

        assert!(styles.ends_with("<style>:root{--accent:#1d7a36}</style>"), "{styles}");
        assert_eq!(PageLook::plain().styles().into_string(), format!("<style>{PAGE_STYLE}</style>"));
    }

    #[test]
    fn the_name_follows_the_title_and_heads_the_page_with_the_logo() {
        let look = PageLook::of(&branded());

        let banner = look.banner().into_string();

        assert_eq!(look.title("Entretien"), "Entretien – Ville de Sainte-Foy");
        assert_eq!(PageLook::plain().title("Entretien"), "Entretien");
        assert!(banner.contains(r#"<img src="https://cdn.example.org:8443/logos/ville.png?v=2" alt="">"#), "{banner}");
        assert!(banner.contains("Ville de Sainte-Foy"), "{banner}");
        assert_eq!(PageLook::plain().banner().into_string(), "");
    }
}
