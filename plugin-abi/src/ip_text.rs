//! An IP address as text, written as its `Display` writes it but without
//! `core::fmt` for IPv4 (about 1,000 instructions a call through `fmt`),
//! for the host and plugins that write the client's address on every
//! request (`X-Forwarded-For`, a rate limit's key).

use std::io::Write as _;
use std::net::IpAddr;

/// Longest text of an address: an IPv6 address with an embedded IPv4 one
/// (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`) is 45 bytes.
const MAX: usize = 48;

/// The text of one address, on the stack.
pub struct IpText {
    len: usize,
    bytes: [u8; MAX],
}

impl IpText {
    /// The text of `ip`.
    pub fn new(ip: IpAddr) -> IpText {
        let mut text = IpText {
            len: 0,
            bytes: [0; MAX],
        };
        match ip {
            IpAddr::V4(v4) => {
                let mut digits = itoa::Buffer::new();
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text.push(b".");
                    }
                    text.push(digits.format(octet).as_bytes());
                }
            }
            IpAddr::V6(v6) => {
                let mut cur = std::io::Cursor::new(&mut text.bytes[..]);
                // 45 bytes at most: it fits.
                let _ = write!(cur, "{v6}");
                text.len = usize::try_from(cur.position()).unwrap_or(0);
            }
        }
        text
    }

    /// Appends `part`; an IPv4 address's 15 bytes at most fit.
    fn push(&mut self, part: &[u8]) {
        if let Some(to) = self.bytes.get_mut(self.len..self.len + part.len()) {
            to.copy_from_slice(part);
            self.len += part.len();
        }
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Digits, dots, colons and hex letters only.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::IpText;

    #[test]
    fn an_address_is_written_as_display_writes_it() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.5",
            "192.168.100.9",
            "::1",
            "2001:db8::8:800:200c:417a",
            "::ffff:192.0.2.1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: IpAddr = text.parse().expect("an address");
            assert_eq!(IpText::new(ip).as_str(), ip.to_string(), "{text}");
        }
    }
}
