//! What the auth plugins share: the host's published consumer keys, the
//! holder of a key, naming the consumer to the node, and the query helpers
//! for credentials sent as query arguments.
//!
//! The host publishes consumers in its shared store (no expiry, not
//! writable by plugins), written when consumers and credentials load and
//! removed when they go:
//!
//! - `consumer:<plugin>:<key>` -> `{"owner": "<id>", "conf": {...}}` for
//!   basic-auth (`username`), jwt-auth (`key`) and hmac-auth (`key_id`), and
//!   the plain owner id for key-auth; the owner is the consumer's username
//!   or `<username>/credentials/<id>` for a credential, published while
//!   exactly one of them holds the key;
//! - `consumer:name:<username>` -> the username, for every consumer.
//!
//! A library, not a plugin: each auth plugin links it in (`make run`
//! installs only the crates that build a `cdylib`).

use radixgate_plugin::serde::de::DeserializeOwned;
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{serde_json, Ctx, Host, LogLevel};

/// The store keys saying a consumer exists: `consumer:name:<username>`.
pub const CONSUMER_PREFIX: &str = "consumer:name:";

/// APISIX's request headers naming the consumer to the node.
const CONSUMER_HEADERS: [&str; 3] = [
    "X-Consumer-Username",
    "X-Credential-Identifier",
    "X-Consumer-Custom-Id",
];

/// What holds a key: a consumer, through its own config or a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The consumer's username.
    pub username: String,
    /// The credential's id, when a credential holds it.
    pub credential: Option<String>,
}

impl Holder {
    /// The holder named by a published owner id (`jack` or
    /// `jack/credentials/cred-1`).
    pub fn parse(owner: &str) -> Holder {
        match owner.split_once("/credentials/") {
            Some((username, id)) => Holder {
                username: username.to_string(),
                credential: Some(id.to_string()),
            },
            None => Holder {
                username: owner.to_string(),
                credential: None,
            },
        }
    }

    /// Consumer `username` itself (an anonymous consumer).
    pub fn consumer(username: &str) -> Holder {
        Holder {
            username: username.to_string(),
            credential: None,
        }
    }
}

/// What the host publishes per key: the holder and its config.
#[derive(Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
struct Published<C> {
    owner: String,
    conf: C,
}

/// The store key under which the host publishes the holder of `plugin`'s
/// `key`.
pub fn credential_key(plugin: &str, key: &str) -> String {
    format!("consumer:{plugin}:{key}")
}

/// The store key under which the host says consumer `username` exists.
pub fn consumer_key(username: &str) -> String {
    format!("{CONSUMER_PREFIX}{username}")
}

/// The holder of `plugin`'s `key` and its config of the plugin, if one
/// holds it.
pub fn holder_of<C: DeserializeOwned>(host: &Host, plugin: &str, key: &str) -> Option<(Holder, C)> {
    let value = host.get(&credential_key(plugin, key))?;
    let published: Published<C> = serde_json::from_str(&value).ok()?;
    Some((Holder::parse(&published.owner), published.conf))
}

/// Whether consumer `username` exists.
pub fn consumer_exists(host: &Host, username: &str) -> bool {
    host.get(&consumer_key(username))
        .is_some_and(|name| !name.is_empty())
}

/// The consumer `username` (a plugin's `anonymous_consumer`) as the
/// request's holder when it exists; when it does not, logged at `error`
/// naming `plugin`, and `None` (the plugin answers 401).
pub fn anonymous(host: &Host, plugin: &str, username: &str) -> Option<Holder> {
    if consumer_exists(host, username) {
        return Some(Holder::consumer(username));
    }
    host.log(
        LogLevel::Error,
        &format!("{plugin}: the anonymous consumer {username} does not exist"),
    );
    None
}

/// Sets the request's consumer and names it to the node, replacing what
/// the client sent in those headers (as APISIX's `attach_consumer`).
pub fn attach(ctx: &mut Ctx<'_>, holder: &Holder) {
    attach_parts(ctx, &holder.username, holder.credential.as_deref());
}

/// [`attach`] of the holder named by a published owner id (`jack` or
/// `jack/credentials/cred-1`), read borrowed.
pub fn attach_owner(ctx: &mut Ctx<'_>, owner: &str) {
    let (username, credential) = owner_parts(owner);
    attach_parts(ctx, username, credential);
}

/// The consumer's username and the credential's id of an owner id. A
/// username holds no `/` (the consumer schema's pattern), so the first
/// `/` is where a credential's part begins; a one-byte search, where a
/// search for `/credentials/` costs hundreds of instructions per request.
fn owner_parts(owner: &str) -> (&str, Option<&str>) {
    owner
        .split_once('/')
        .and_then(|(username, rest)| Some((username, Some(rest.strip_prefix("credentials/")?))))
        .unwrap_or((owner, None))
}

fn attach_parts(ctx: &mut Ctx<'_>, username: &str, credential: Option<&str>) {
    ctx.set_consumer(username);
    for name in CONSUMER_HEADERS {
        ctx.remove_header(name);
    }
    ctx.set_header(CONSUMER_HEADERS[0], username);
    if let Some(id) = credential {
        ctx.set_header(CONSUMER_HEADERS[1], id);
    }
}

/// `query` without the arguments named `name`.
pub fn query_without(query: &str, name: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split_once('=').map_or(*pair, |p| p.0) != name)
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-decodes a query value (`+` is a space), as APISIX's uri args;
/// invalid escapes are kept as they are.
pub fn decode_query_value(raw: &str) -> String {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::owner_parts;

    #[test]
    fn an_owner_id_names_the_consumer_and_maybe_its_credential() {
        assert_eq!(owner_parts("jack"), ("jack", None));
        assert_eq!(
            owner_parts("jack/credentials/cred-1"),
            ("jack", Some("cred-1"))
        );
        // Not a credential's id: the whole is the owner, as published.
        assert_eq!(owner_parts("jack/other/x"), ("jack/other/x", None));
        assert_eq!(owner_parts("jack/credentials/"), ("jack", Some("")));
    }
}
