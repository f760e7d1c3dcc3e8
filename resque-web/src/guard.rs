//! What guards every answer: the `Host` a request names must be one of the
//! app's own (against DNS rebinding), and every answer carries the security
//! headers, whatever route, error or layer made it.
//!
//! DNS rebinding: a page on `evil.example` has the attacker's DNS answer
//! `127.0.0.1` for `evil.example`, then reads `http://evil.example:5678/`
//! as its own origin: the app on this machine, CSRF token included. The
//! browser still sends `Host: evil.example:5678`, so refusing host names
//! the app does not know stops it. An IP literal cannot be rebound, so the
//! port is never what decides.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use maud::{html, DOCTYPE};

/// What every answer carries: no inline script may run, no other site may
/// frame the app, and no link leaks the app's URLs.
pub(crate) const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `app` with the security headers on every answer (the outermost layer).
pub(crate) fn with_security_headers(app: Router) -> Router {
    app.layer(middleware::from_fn(security_headers))
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// The host names the app answers to.
#[derive(Debug)]
pub(crate) struct Hosts {
    /// The address the app is bound to, when known; `None` (a router
    /// mounted by an application) or an unspecified address (`0.0.0.0`,
    /// `::`) accepts any IP literal.
    bound: Option<IpAddr>,
    /// Names added with `WebOptions::with_allowed_hosts`, normalized.
    allowed: BTreeSet<String>,
}

impl Hosts {
    pub(crate) fn new(bound: Option<SocketAddr>, allowed: &[String]) -> Self {
        Hosts { bound: bound.map(|a| a.ip()), allowed: allowed.iter().map(|h| normalize(h)).collect() }
    }

    /// Whether `host` (a `Host` header's or an `Origin`'s authority,
    /// `name[:port]`) names this app.
    pub(crate) fn allows(&self, host: &str) -> bool {
        let name = normalize(host);
        if matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") || self.allowed.contains(&name) {
            return true;
        }
        let Some(ip) = ip_literal(&name) else { return false };
        match self.bound {
            None => true,
            Some(bound) if bound.is_unspecified() => true,
            Some(bound) => ip == bound || ip.is_loopback(),
        }
    }
}

/// A host name as compared: lowercase, without a port or a trailing dot.
pub(crate) fn normalize(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let name = if host.starts_with('[') {
        // `[v6]` or `[v6]:port`.
        match host.find(']') {
            Some(end) => host[..=end].to_string(),
            None => host,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
                name.to_string()
            }
            _ => host,
        }
    };
    name.strip_suffix('.').map(str::to_string).unwrap_or(name)
}

/// The IP address a normalized host names, when it is a literal.
fn ip_literal(name: &str) -> Option<IpAddr> {
    match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse().ok(),
        None => name.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// The host a request names: its `Host` header, else its URI's authority.
/// `None` when it names none (not a browser: HTTP/1.0 without `Host`).
fn request_host(request: &Request) -> Option<String> {
    match request.headers().get(header::HOST) {
        Some(value) => Some(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        None => request.uri().authority().map(|a| a.as_str().to_string()),
    }
}

/// `app` answering 421 to a request whose `Host` is not one of `hosts`.
pub(crate) fn require_host(app: Router, hosts: Arc<Hosts>) -> Router {
    app.layer(middleware::from_fn_with_state(hosts, check_host))
}

async fn check_host(State(hosts): State<Arc<Hosts>>, mut request: Request, next: Next) -> Response {
    if let Some(host) = request_host(&request) {
        if !hosts.allows(&host) {
            tracing::warn!(host, "refused a request for a host name this app does not answer to");
            return refused(&host, request.uri().path());
        }
    }
    request.extensions_mut().insert(hosts);
    next.run(request).await
}

/// 421 Misdirected Request: which host was refused and how to allow it.
fn refused(host: &str, path: &str) -> Response {
    let message = format!(
        "This resque web app does not answer to the host name {host:?}: it answers to the address \
         it listens on, localhost and the names allowed with --allowed-host (resque-cli web) or \
         WebOptions::with_allowed_hosts. If {:?} is yours, start it with --allowed-host {}.",
        normalize(host),
        normalize(host),
    );
    if path.starts_with("/api/") {
        return (StatusCode::MISDIRECTED_REQUEST, Json(serde_json::json!({"error": message})))
            .into_response();
    }
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Host refused · resque" } }
            body {
                h1 { "Host refused" }
                p { (message) }
                p { "Refusing unknown host names stops DNS rebinding: a page on another site that points its own name at this machine." }
            }
        }
    };
    (StatusCode::MISDIRECTED_REQUEST, Html(page.into_string())).into_response()
}

/// Whether a POST comes from the app's own pages: its `Origin` (else its
/// `Referer`) names one of the app's hosts. A browser that sends neither
/// (or `Origin: null`) is let through on its CSRF token alone.
pub(crate) fn same_origin(hosts: Option<&Hosts>, headers: &HeaderMap) -> Result<(), String> {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let (what, value) = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some("null"), _) => return Ok(()),
        (Some(origin), _) => ("origin", origin),
        (None, Some(referer)) => ("referer", referer),
        (None, None) => return Ok(()),
    };
    let authority = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let fallback;
    let hosts = match hosts {
        Some(hosts) => hosts,
        None => {
            fallback = Hosts::new(None, &[]);
            &fallback
        }
    };
    let ours = hosts.allows(authority);
    if ours {
        Ok(())
    } else {
        Err(format!("cross-origin request from {what} {value} refused"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_normalized() {
        assert_eq!(normalize("LocalHost:5678"), "localhost");
        assert_eq!(normalize("example.com."), "example.com");
        assert_eq!(normalize("[::1]:80"), "[::1]");
        assert_eq!(normalize("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn the_bound_address_localhost_and_allowed_names_are_served() {
        let bound: SocketAddr = "127.0.0.1:5678".parse().unwrap_or_else(|_| unreachable!());
        let hosts = Hosts::new(Some(bound), &["Resque.Example.COM".into()]);
        for ok in ["127.0.0.1:5678", "127.0.0.1", "localhost:5678", "[::1]:5678", "resque.example.com:80"] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in ["evil.example:5678", "evil.example", "10.0.0.1:5678", "localhost.evil.example"] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        let any: SocketAddr = "0.0.0.0:5678".parse().unwrap_or_else(|_| unreachable!());
        let hosts = Hosts::new(Some(any), &[]);
        assert!(hosts.allows("10.0.0.1:5678") && hosts.allows("[fe80::1]:5678"));
        assert!(!hosts.allows("evil.example:5678"));
    }

    #[test]
    fn origins_are_checked_against_the_hosts() {
        let hosts = Hosts::new(None, &["resque.example.com".into()]);
        let with = |name, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            same_origin(Some(&hosts), &headers)
        };
        assert!(with(header::ORIGIN, "http://localhost:5678").is_ok());
        assert!(with(header::ORIGIN, "https://resque.example.com").is_ok());
        assert!(with(header::ORIGIN, "http://evil.example:5678").is_err());
        assert!(with(header::REFERER, "http://evil.example:5678/overview").is_err());
        assert!(with(header::REFERER, "http://127.0.0.1:5678/failed?x=1").is_ok());
        assert!(same_origin(Some(&hosts), &HeaderMap::new()).is_ok());
    }
}
