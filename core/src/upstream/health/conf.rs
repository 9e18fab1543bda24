//! An upstream's `checks` object as APISIX spells it, with APISIX's
//! defaults, read from the upstream's JSON and checked. Errors name the
//! field under `checks`.

use serde::Deserialize;

/// `checks`: `active` (required, as in APISIX: only active probes bring an
/// ejected node back) and optional `passive`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConf {
    /// Probes sent by the gateway.
    pub active: Option<ActiveConf>,
    /// Outcomes of real requests.
    #[serde(default)]
    pub passive: Option<PassiveConf>,
}

/// `checks.active`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveConf {
    /// What a probe is: `http` (default), `https` or `tcp`.
    #[serde(default, rename = "type")]
    pub check_type: CheckType,
    /// Seconds a probe may take.
    #[serde(default = "one")]
    pub timeout: f64,
    /// Probes at once (accepted; each node has its own prober).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// The `Host` of an http probe (default: the node's host).
    #[serde(default)]
    pub host: Option<String>,
    /// Port to probe (default: the node's).
    #[serde(default)]
    pub port: Option<u16>,
    /// Path of an http probe.
    #[serde(default = "slash")]
    pub http_path: String,
    /// Whether an `https` probe checks the node's certificate (default true).
    #[serde(default)]
    pub https_verify_certificate: Option<bool>,
    /// Extra headers of an http probe, `"Name: value"` each.
    #[serde(default)]
    pub req_headers: Vec<String>,
    /// When a node counts as healthy, and how often healthy nodes are probed.
    #[serde(default)]
    pub healthy: ActiveHealthy,
    /// When a node counts as unhealthy, and how often unhealthy ones are probed.
    #[serde(default)]
    pub unhealthy: ActiveUnhealthy,
}

/// A check's `type`: the protocol of active probes, or what passive
/// checks count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckType {
    /// `http`: a GET whose status is classified (the default).
    #[default]
    Http,
    /// `https`: the same over TLS.
    Https,
    /// `tcp`: only whether a connection is made (passive: connect
    /// failures and timeouts, statuses do not count).
    Tcp,
}

/// `checks.active.healthy`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveHealthy {
    /// Seconds between probes of a healthy node.
    #[serde(default = "one")]
    pub interval: f64,
    /// Statuses that count as a success.
    #[serde(default = "active_ok")]
    pub http_statuses: Vec<u16>,
    /// Successes in a row that make an unhealthy node healthy.
    #[serde(default = "two")]
    pub successes: u32,
}

/// `checks.active.unhealthy`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveUnhealthy {
    /// Seconds between probes of an unhealthy node.
    #[serde(default = "one")]
    pub interval: f64,
    /// Statuses that count as an http failure.
    #[serde(default = "active_bad")]
    pub http_statuses: Vec<u16>,
    /// http failures in a row that eject a node.
    #[serde(default = "five")]
    pub http_failures: u32,
    /// Connect failures in a row that eject a node.
    #[serde(default = "two")]
    pub tcp_failures: u32,
    /// Timeouts in a row that eject a node.
    #[serde(default = "three")]
    pub timeouts: u32,
}

/// `checks.passive`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveConf {
    /// What counts: `http` (default: statuses count), `https` (the same)
    /// or `tcp` (only connect failures and timeouts count).
    #[serde(default, rename = "type")]
    pub check_type: CheckType,
    /// Which answers count as a success.
    #[serde(default)]
    pub healthy: PassiveHealthy,
    /// Which answers count as failures, and how many eject a node.
    #[serde(default)]
    pub unhealthy: PassiveUnhealthy,
}

/// `checks.passive.healthy`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveHealthy {
    /// Statuses that count as a success.
    #[serde(default = "passive_ok")]
    pub http_statuses: Vec<u16>,
    /// Successes in a row that make a node healthy.
    #[serde(default = "five")]
    pub successes: u32,
}

/// `checks.passive.unhealthy`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassiveUnhealthy {
    /// Statuses that count as an http failure.
    #[serde(default = "passive_bad")]
    pub http_statuses: Vec<u16>,
    /// http failures in a row that eject a node (0: never).
    #[serde(default = "five")]
    pub http_failures: u32,
    /// Connect failures in a row that eject a node (0: never).
    #[serde(default = "two")]
    pub tcp_failures: u32,
    /// Timeouts in a row that eject a node (0: never).
    #[serde(default = "seven")]
    pub timeouts: u32,
}

macro_rules! defaults {
    ($($name:ident: $t:ty = $v:expr;)*) => { $(fn $name() -> $t { $v })* };
}
defaults! {
    slash: String = "/".to_owned();
    one: f64 = 1.0;
    two: u32 = 2;
    three: u32 = 3;
    five: u32 = 5;
    seven: u32 = 7;
    active_ok: Vec<u16> = vec![200, 302];
    active_bad: Vec<u16> = vec![429, 404, 500, 501, 502, 503, 504, 505];
    passive_ok: Vec<u16> = vec![
        200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
        300, 301, 302, 303, 304, 305, 306, 307, 308,
    ];
    passive_bad: Vec<u16> = vec![429, 500, 503];
}

impl Default for ActiveHealthy {
    fn default() -> Self {
        ActiveHealthy {
            interval: one(),
            http_statuses: active_ok(),
            successes: two(),
        }
    }
}

impl Default for ActiveUnhealthy {
    fn default() -> Self {
        ActiveUnhealthy {
            interval: one(),
            http_statuses: active_bad(),
            http_failures: five(),
            tcp_failures: two(),
            timeouts: three(),
        }
    }
}

impl Default for PassiveHealthy {
    fn default() -> Self {
        PassiveHealthy {
            http_statuses: passive_ok(),
            successes: five(),
        }
    }
}

impl Default for PassiveUnhealthy {
    fn default() -> Self {
        PassiveUnhealthy {
            http_statuses: passive_bad(),
            http_failures: five(),
            tcp_failures: two(),
            timeouts: seven(),
        }
    }
}

type Check = Result<(), (String, String)>;

fn fail(field: &str, reason: impl Into<String>) -> Check {
    Err((format!("checks.{field}"), reason.into()))
}

/// Reads and checks `checks` from its JSON; an error is (field, reason).
pub fn parse(value: &serde_json::Value) -> Result<ChecksConf, (String, String)> {
    let conf: ChecksConf = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "checks".to_owned()
        } else {
            format!("checks.{path}")
        };
        (field, e.inner().to_string())
    })?;
    let Some(a) = &conf.active else {
        fail(
            "active",
            "required: passive checks eject nodes, only active ones bring them back",
        )?;
        return Ok(conf);
    };
    seconds(a.timeout, "active.timeout")?;
    seconds(a.healthy.interval, "active.healthy.interval")?;
    seconds(a.unhealthy.interval, "active.unhealthy.interval")?;
    if !a.http_path.starts_with('/') || a.http_path.bytes().any(|b| b <= b' ') {
        fail(
            "active.http_path",
            format!("{:?} is not a path starting with '/'", a.http_path),
        )?;
    }
    if let Some(h) = &a.host {
        if h.is_empty() || h.bytes().any(|b| b <= b' ' || b == 0x7f) {
            fail("active.host", format!("{h:?} is not a host name"))?;
        }
    }
    if a.port == Some(0) {
        fail("active.port", "expected 1 to 65535")?;
    }
    for (i, h) in a.req_headers.iter().enumerate() {
        let ok = h.split_once(':').is_some_and(|(k, _)| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) && !h.bytes().any(|b| b == b'\r' || b == b'\n');
        if !ok {
            fail(
                &format!("active.req_headers[{i}]"),
                format!("{h:?} is not \"Name: value\""),
            )?;
        }
    }
    statuses(&a.healthy.http_statuses, "active.healthy.http_statuses")?;
    statuses(&a.unhealthy.http_statuses, "active.unhealthy.http_statuses")?;
    count(a.healthy.successes, 1, "active.healthy.successes")?;
    count(
        a.unhealthy.http_failures,
        1,
        "active.unhealthy.http_failures",
    )?;
    count(a.unhealthy.tcp_failures, 1, "active.unhealthy.tcp_failures")?;
    count(a.unhealthy.timeouts, 1, "active.unhealthy.timeouts")?;
    if let Some(p) = &conf.passive {
        statuses(&p.healthy.http_statuses, "passive.healthy.http_statuses")?;
        statuses(
            &p.unhealthy.http_statuses,
            "passive.unhealthy.http_statuses",
        )?;
        count(p.healthy.successes, 0, "passive.healthy.successes")?;
        count(
            p.unhealthy.http_failures,
            0,
            "passive.unhealthy.http_failures",
        )?;
        count(
            p.unhealthy.tcp_failures,
            0,
            "passive.unhealthy.tcp_failures",
        )?;
        count(p.unhealthy.timeouts, 0, "passive.unhealthy.timeouts")?;
    }
    Ok(conf)
}

fn seconds(v: f64, field: &str) -> Check {
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(())
    } else {
        fail(field, "expected seconds > 0 and <= 86400")
    }
}

fn statuses(list: &[u16], field: &str) -> Check {
    match list.iter().position(|s| !(200..=599).contains(s)) {
        Some(i) => fail(
            &format!("{field}[{i}]"),
            "expected a status from 200 to 599",
        ),
        None => Ok(()),
    }
}

fn count(v: u32, min: u32, field: &str) -> Check {
    if (min..=254).contains(&v) {
        Ok(())
    } else {
        fail(field, format!("expected {min} to 254"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_apisix_s() {
        let c = parse(&json!({"active": {}, "passive": {}})).unwrap();
        let a = c.active.unwrap();
        assert_eq!(
            (a.check_type, a.http_path.as_str(), a.timeout),
            (CheckType::Http, "/", 1.0)
        );
        assert_eq!(a.healthy.successes, 2);
        assert_eq!(a.unhealthy.http_failures, 5);
        assert_eq!(a.unhealthy.tcp_failures, 2);
        assert_eq!(a.unhealthy.timeouts, 3);
        let p = c.passive.unwrap();
        assert_eq!(p.unhealthy.http_statuses, vec![429, 500, 503]);
        assert_eq!(p.unhealthy.timeouts, 7);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |v| parse(&v).unwrap_err().0;
        assert_eq!(field(json!({"passive": {}})), "checks.active");
        assert_eq!(
            field(json!({"active": {"type": "udp"}})),
            "checks.active.type"
        );
        assert_eq!(
            field(json!({"active": {"timeout": 0}})),
            "checks.active.timeout"
        );
        assert_eq!(
            field(json!({"active": {"healthy": {"interval": -1}}})),
            "checks.active.healthy.interval"
        );
        assert_eq!(
            field(json!({"active": {"unhealthy": {"http_statuses": [600]}}})),
            "checks.active.unhealthy.http_statuses[0]"
        );
        assert_eq!(
            field(json!({"active": {"http_path": "x"}})),
            "checks.active.http_path"
        );
        assert_eq!(
            field(json!({"active": {"healthy": {"successes": 0}}})),
            "checks.active.healthy.successes"
        );
        assert_eq!(
            field(json!({"active": {"extra": 1}})),
            "checks.active.extra"
        );
        assert_eq!(
            field(json!({"active": {"req_headers": ["bad"]}})),
            "checks.active.req_headers[0]"
        );
        assert_eq!(
            field(json!({"active": {"healthy": {"successes": "x"}}})),
            "checks.active.healthy.successes"
        );
    }
}
