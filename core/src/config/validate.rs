//! The limits of this build, checked after the schema (which is APISIX's
//! and accepts what APISIX accepts): features not here yet are refused,
//! never silently ignored, and values the proxy cannot use are refused.
//!
//! Each check returns `(field, reason)`; `decode` adds kind and id.

use serde_json::Value;

use super::kind::Kind;
use super::objects::{RouteConf, ServiceConf};
use super::upstream::{Scheme, TimeoutConf, UpstreamConf};

type Check = Result<(), (String, String)>;

fn fail(field: impl Into<String>, reason: impl Into<String>) -> Check {
    Err((field.into(), reason.into()))
}

const NOT_YET: &str = "is not supported by this build yet";

/// The upstream schemes the proxy can dial (`https` and `grpcs` join with
/// `upstream::tls`, `grpc` and `grpcs` with `upstream::h2_client`).
const SCHEMES: &[Scheme] = &[Scheme::Http, Scheme::Https, Scheme::Grpc, Scheme::Grpcs];

/// Refuses properties of APISIX's schema that this build cannot serve
/// (Lua scripts and filters, service discovery, stream schemes).
pub fn supported(kind: Kind, v: &Value) -> Check {
    let has = |v: &Value, k: &str| v.get(k).is_some();
    match kind {
        Kind::Route => {
            for f in ["script", "script_id", "filter_func"] {
                if has(v, f) {
                    return fail(f, format!("{f} (Lua) {NOT_YET}"));
                }
            }
            if let Some(p) = v.get("service_protocol").and_then(Value::as_str) {
                if p != "http" {
                    return fail("service_protocol", format!("{p:?} {NOT_YET}: use http"));
                }
            }
            if let Some(u) = v.get("upstream") {
                discovery(u, "upstream.")?;
            }
        }
        Kind::Service => {
            if has(v, "script") {
                return fail("script", format!("script (Lua) {NOT_YET}"));
            }
            if let Some(u) = v.get("upstream") {
                discovery(u, "upstream.")?;
            }
        }
        Kind::Upstream => discovery(v, "")?,
        _ => {}
    }
    Ok(())
}

fn discovery(u: &Value, at: &str) -> Check {
    for f in ["discovery_type", "service_name", "discovery_args"] {
        if u.get(f).is_some() {
            return fail(
                format!("{at}{f}"),
                format!("service discovery {NOT_YET}: list the nodes"),
            );
        }
    }
    Ok(())
}

/// Checks a route on its own (references are checked by the snapshot).
pub fn route(r: &RouteConf) -> Check {
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
    if r.upstream.is_some() && r.upstream_id.is_some() {
        return fail(
            "upstream_id",
            "only one of upstream and upstream_id may be set",
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
/// Every balancer `type` and `hash_on` of the schema is served (`upstream::select`).
pub fn upstream(u: &UpstreamConf, at: &str) -> Check {
    if !SCHEMES.contains(&u.scheme) {
        let served: Vec<&str> = SCHEMES.iter().map(|s| s.as_str()).collect();
        return fail(
            format!("{at}scheme"),
            format!(
                "{:?} {NOT_YET}: use {}",
                u.scheme.as_str(),
                served.join(" or ")
            ),
        );
    }
    if u.tls.is_some() && !SCHEMES.contains(&Scheme::Https) {
        return fail(format!("{at}tls"), format!("tls to upstreams {NOT_YET}"));
    }
    for (i, n) in u.nodes.0.iter().enumerate() {
        if n.host.is_empty() || n.host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return fail(
                format!("{at}nodes[{i}].host"),
                "must be a host name or address",
            );
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

fn timeout(t: &TimeoutConf, at: &str) -> Check {
    for (name, v) in [("connect", t.connect), ("send", t.send), ("read", t.read)] {
        if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
            return fail(format!("{at}.{name}"), "expected seconds > 0 and <= 86400");
        }
    }
    Ok(())
}
