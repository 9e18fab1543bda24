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
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text.put(b'.');
                    }
                    text.push_octet(octet);
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

    /// Appends `octet` in decimal, digit by digit (a digit at a time
    /// costs a third of a formatter's call and copy).
    fn push_octet(&mut self, octet: u8) {
        if octet >= 100 {
            self.put(b'0' + octet / 100);
        }
        if octet >= 10 {
            self.put(b'0' + octet / 10 % 10);
        }
        self.put(b'0' + octet % 10);
    }

    /// Appends `byte`; an IPv4 address's 15 bytes at most fit.
    fn put(&mut self, byte: u8) {
        if let Some(to) = self.bytes.get_mut(self.len) {
            *to = byte;
            self.len += 1;
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
        // Every octet value in every place.
        for n in 0..=255u8 {
            for octets in [
                [n, 0, 9, 255],
                [1, n, 10, 99],
                [100, 7, n, 0],
                [255, 255, 1, n],
            ] {
                let ip = IpAddr::from(octets);
                assert_eq!(IpText::new(ip).as_str(), ip.to_string());
            }
        }
    }
}
