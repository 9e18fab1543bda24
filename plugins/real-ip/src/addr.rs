//! Addresses as a proxy writes them: `1.2.3.4`, `1.2.3.4:80`, `::1`,
//! `[::1]`, `[::1]:80`; and trusted networks as configs write them.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use radixgate_plugin::ConfigError;

/// The IP and port of `text`; `None` when it is not an address, or names
/// port 0.
pub fn parse(text: &str) -> Option<(IpAddr, Option<u16>)> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some((ip, None));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.parse::<IpAddr>().ok().map(|ip| (ip, None));
    }
    let addr = text.parse::<SocketAddr>().ok()?;
    (addr.port() != 0).then_some((addr.ip(), Some(addr.port())))
}

/// An address (one host) or a CIDR; `field` names it in errors.
pub fn parse_net(text: &str, field: &str) -> Result<IpNet, ConfigError> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| ConfigError::field(field, format!("invalid ip address: {text}")))
}
