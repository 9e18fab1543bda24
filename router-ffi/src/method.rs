//! HTTP methods as a bit set.

/// The methods a route may list, in lua-resty-radixtree's bit order.
pub const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE",
];

/// The bit of one method name (upper case, case-sensitive), or `None` for
/// a name outside [`METHODS`].
pub fn method_bit(name: &[u8]) -> Option<u16> {
    METHODS
        .iter()
        .position(|m| m.as_bytes() == name)
        .map(|i| 1u16 << i)
}

/// The bit set of a list of method names; the first unknown name is the error.
pub fn method_set<S: AsRef<str>>(names: &[S]) -> Result<u16, String> {
    let mut set = 0;
    for name in names {
        let name = name.as_ref();
        match method_bit(name.as_bytes()) {
            Some(bit) => set |= bit,
            None => {
                return Err(format!(
                    "unknown method {name:?}: expected one of {}",
                    METHODS.join(", ")
                ))
            }
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_methods() {
        assert_eq!(method_set(&["GET", "PURGE"]), Ok(1 | 1 << 9));
        assert!(method_set(&["get"]).unwrap_err().contains("\"get\""));
        assert_eq!(method_bit(b"CONNECT"), Some(1 << 7));
        assert_eq!(method_bit(b"BREW"), None);
    }
}
