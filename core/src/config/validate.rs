//! Checks beyond types: exclusive fields, ranges, and features this build
//! does not have yet (refused, never silently ignored).
//!
//! Each check returns `(field, reason)`; `objects::decode` adds kind and id.

use super::objects::{RouteConf, ServiceConf};
use super::upstream::{Timeout, UpstreamConf};

type Check = Result<(), (String, String)>;

fn fail(field: impl Into<String>, reason: impl Into<String>) -> Check {
    Err((field.into(), reason.into()))
}

const METHODS: [&str; 11] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE",
    "MKCOL",
];

/// Checks a route on its own (references are checked by the snapshot).
pub fn route(r: &RouteConf) -> Check {
    name(&r.name)?;
    match (&r.uri, &r.uris) {
        (Some(_), Some(_)) => return fail("uris", "only one of uri and uris may be set"),
        (None, None) => return fail("uri", "required: one of uri and uris"),
        (None, Some(u)) if u.is_empty() => return fail("uris", "expected at least 1 item"),
        _ => {}
    }
    for (i, p) in r.uri.iter().chain(r.uris.iter().flatten()).enumerate() {
        if !p.starts_with('/') && p != "*" {
            let field = if r.uri.is_some() {
                "uri".to_owned()
            } else {
                format!("uris[{i}]")
            };
            return fail(field, format!("{p:?} must start with '/'"));
        }
    }
    if r.host.is_some() && r.hosts.is_some() {
        return fail("hosts", "only one of host and hosts may be set");
    }
    if r.remote_addr.is_some() && r.remote_addrs.is_some() {
        return fail(
            "remote_addrs",
            "only one of remote_addr and remote_addrs may be set",
        );
    }
    for (i, m) in r.methods.iter().flatten().enumerate() {
        if !METHODS.contains(&m.as_str()) {
            return fail(
                format!("methods[{i}]"),
                format!("{m:?} is not one of {}", METHODS.join(", ")),
            );
        }
    }
    if r.status > 1 {
        return fail("status", "expected 0 (not served) or 1 (served)");
    }
    if r.plugins.as_ref().is_some_and(|p| !p.is_empty()) {
        return fail("plugins", "plugins are not supported by this build yet");
    }
    if r.plugin_config_id.is_some() {
        return fail(
            "plugin_config_id",
            "plugins are not supported by this build yet",
        );
    }
    if r.upstream.is_some() && r.upstream_id.is_some() {
        return fail(
            "upstream_id",
            "only one of upstream and upstream_id may be set",
        );
    }
    if r.upstream.is_none() && r.upstream_id.is_none() && r.service_id.is_none() {
        return fail(
            "upstream",
            "required: one of upstream, upstream_id, service_id",
        );
    }
    if let Some(t) = &r.timeout {
        timeout(t, "timeout")?;
    }
    if let Some(u) = &r.upstream {
        upstream(u, "upstream.")?;
    }
    Ok(())
}

/// Checks a service on its own.
pub fn service(s: &ServiceConf) -> Check {
    name(&s.name)?;
    if s.plugins.as_ref().is_some_and(|p| !p.is_empty()) {
        return fail("plugins", "plugins are not supported by this build yet");
    }
    if s.upstream.is_some() && s.upstream_id.is_some() {
        return fail(
            "upstream_id",
            "only one of upstream and upstream_id may be set",
        );
    }
    if let Some(u) = &s.upstream {
        upstream(u, "upstream.")?;
    }
    Ok(())
}

/// Checks an upstream; `at` prefixes field names (`upstream.` when inline).
pub fn upstream(u: &UpstreamConf, at: &str) -> Check {
    name(&u.name)?;
    match u.kind.as_deref() {
        None | Some("roundrobin") => {}
        Some("chash") => match (u.hash_on.as_deref(), &u.key) {
            (Some("consumer"), _) => {
                return fail(
                    format!("{at}hash_on"),
                    "consumer is not supported by this build yet",
                )
            }
            (_, None) => return fail(format!("{at}key"), "required when type is chash"),
            _ => {}
        },
        Some(t @ ("least_conn" | "ewma")) => {
            return fail(
                format!("{at}type"),
                format!("{t:?} is not supported by this build yet: use roundrobin or chash"),
            )
        }
        Some(t) => {
            return fail(
                format!("{at}type"),
                format!("{t:?} is not one of roundrobin, chash, least_conn, ewma"),
            )
        }
    }
    match u.scheme.as_deref() {
        None | Some("http") => {}
        Some(s) => {
            return fail(
                format!("{at}scheme"),
                format!("{s:?} is not supported by this build yet: use http"),
            )
        }
    }
    match u.pass_host.as_deref() {
        None | Some("pass") | Some("node") => {}
        Some("rewrite") => {
            if u.upstream_host.as_deref().is_none_or(str::is_empty) {
                return fail(
                    format!("{at}upstream_host"),
                    "required when pass_host is rewrite",
                );
            }
        }
        Some(p) => {
            return fail(
                format!("{at}pass_host"),
                format!("{p:?} is not one of pass, node, rewrite"),
            )
        }
    }
    if let Some(h) = &u.upstream_host {
        if h.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return fail(format!("{at}upstream_host"), "must be a host name");
        }
    }
    for (i, n) in u.nodes.0.iter().enumerate() {
        if n.host.is_empty() || n.host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return fail(
                format!("{at}nodes[{i}].host"),
                "must be a host name or address",
            );
        }
        if n.port == Some(0) {
            return fail(format!("{at}nodes[{i}].port"), "expected 1 to 65535");
        }
    }
    if let Some(t) = &u.timeout {
        timeout(t, &format!("{at}timeout"))?;
    }
    if let Some(t) = u.retry_timeout {
        if !(t.is_finite() && (0.0..=86_400.0).contains(&t)) {
            return fail(
                format!("{at}retry_timeout"),
                "expected seconds >= 0 and <= 86400",
            );
        }
    }
    Ok(())
}

fn timeout(t: &Timeout, at: &str) -> Check {
    for (name, v) in [("connect", t.connect), ("send", t.send), ("read", t.read)] {
        if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
            return fail(format!("{at}.{name}"), "expected seconds > 0 and <= 86400");
        }
    }
    Ok(())
}

fn name(n: &Option<String>) -> Check {
    match n {
        Some(n) if n.len() > 256 => fail("name", "longer than 256 bytes"),
        _ => Ok(()),
    }
}
