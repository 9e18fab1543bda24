//! Client address rules: IPv4/IPv6 addresses and CIDRs.

use ipnet::IpNet;
use std::net::IpAddr;

/// One address rule, parsed from `1.2.3.4`, `10.0.0.0/8`, `::1`, `[::1]` or `fe80::/10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrRule(IpNet);

impl AddrRule {
    /// Parses one rule; the error says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let t = t
            .strip_prefix('[')
            .map(|rest| rest.replacen(']', "", 1))
            .unwrap_or_else(|| t.to_owned());
        if let Ok(net) = t.parse::<IpNet>() {
            return Ok(AddrRule(net.trunc()));
        }
        match t.parse::<IpAddr>() {
            Ok(ip) => Ok(AddrRule(IpNet::from(ip))),
            Err(_) => Err(format!("invalid IP address: {text}")),
        }
    }

    /// True when `ip` lies in this rule. IPv4 rules never match IPv6 addresses.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

/// Parses a list of rules; the first bad one is the error.
pub fn parse_rules<S: AsRef<str>>(texts: &[S]) -> Result<Vec<AddrRule>, String> {
    texts.iter().map(|t| AddrRule::parse(t.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_cidrs() {
        let r = AddrRule::parse("10.1.0.0/16").unwrap();
        assert!(r.contains(&ip("10.1.2.3")));
        assert!(!r.contains(&ip("10.2.0.1")));
        assert!(AddrRule::parse("[::1]").unwrap().contains(&ip("::1")));
        assert!(AddrRule::parse("fe80::/10")
            .unwrap()
            .contains(&ip("fe80::1")));
        assert!(!AddrRule::parse("0.0.0.0/0").unwrap().contains(&ip("::1")));
        assert!(AddrRule::parse("1.2.3.4/33").is_err());
        assert_eq!(
            AddrRule::parse("bogus").unwrap_err(),
            "invalid IP address: bogus"
        );
    }
}
