//! What an Admin API path names: a kind's collection, one object, a path
//! inside one object, or a schema. `/apisix/admin/routes/1` -> route `1`
//! stored at `<prefix>/routes/1`.

use std::collections::HashMap;

use crate::config::Kind;

/// What a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTarget {
    /// Objects of a kind, or one of them.
    Object(ObjectPath),
    /// `GET /apisix/admin/schema/<kind>`.
    Schema(String),
    /// `GET /apisix/admin/schema/plugins/<name>`: a plugin's config schema.
    PluginSchema(String),
    /// `POST /apisix/admin/schema/validate/<kind>`: check a body, write nothing.
    Validate(Kind),
    /// `GET /apisix/admin/plugins/list`.
    PluginList,
    /// `PUT /apisix/admin/plugins/reload`: load new files of the plugin directory.
    PluginReload,
}

/// A collection (`id` = None), an object, or a path inside an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// The kind (credentials: under a consumer).
    pub kind: Kind,
    /// The collection's key below the prefix (`routes`, `consumers/jack/credentials`).
    pub dir: String,
    /// The object's id.
    pub id: Option<String>,
    /// A `/`-separated path inside the object (PATCH only).
    pub sub: Option<String>,
}

impl ObjectPath {
    /// The etcd key of the object (`<prefix>/routes/1`), or of the collection.
    pub fn key(&self, prefix: &str) -> String {
        match &self.id {
            Some(id) => format!("{prefix}/{}/{id}", self.dir),
            None => format!("{prefix}/{}", self.dir),
        }
    }
}

/// Whether `id` is a valid object id: 1-64 of `[a-zA-Z0-9-_.]`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Why a path names nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Not under `/apisix/admin/`, or an unknown kind (404).
    NotFound(String),
    /// An id with bad characters (400).
    BadId(String),
}

/// Parses the path of a request (without its query).
pub fn parse(path: &str) -> Result<AdminTarget, PathError> {
    let not_found = || PathError::NotFound(format!("{path} is not an Admin API path"));
    let rest = path.strip_prefix("/apisix/admin/").ok_or_else(not_found)?;
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match segs.as_slice() {
        ["schema", "validate", kind] => {
            return Kind::ADMIN
                .into_iter()
                .find(|k| k.key() == *kind || k.name() == *kind)
                .map(AdminTarget::Validate)
                .ok_or_else(|| PathError::NotFound(format!("unknown kind {kind:?}")))
        }
        ["schema", "plugins", name] => return Ok(AdminTarget::PluginSchema((*name).to_owned())),
        ["schema", kind] => return Ok(AdminTarget::Schema((*kind).to_owned())),
        ["schema", ..] => return Err(not_found()),
        ["plugins", "list"] => return Ok(AdminTarget::PluginList),
        ["plugins", "reload"] => return Ok(AdminTarget::PluginReload),
        _ => {}
    }
    let kind = Kind::ADMIN
        .into_iter()
        .find(|k| Some(k.key()) == segs.first().copied())
        .ok_or_else(|| {
            let keys: Vec<&str> = Kind::ADMIN.iter().map(|k| k.key()).collect();
            PathError::NotFound(format!(
                "unknown kind {:?}: expected one of {}",
                segs.first().copied().unwrap_or(""),
                keys.join(", ")
            ))
        })?;
    let check = |id: &str| {
        if valid_id(id) {
            Ok(id.to_owned())
        } else {
            Err(PathError::BadId(format!(
                "invalid {kind} id {id:?}: expected 1-64 of [a-zA-Z0-9-_.]"
            )))
        }
    };
    let obj = |kind, dir: String, id: Option<String>, sub: &[&str]| {
        Ok(AdminTarget::Object(ObjectPath {
            kind,
            dir,
            id,
            sub: (!sub.is_empty()).then(|| sub.join("/")),
        }))
    };
    match segs.as_slice() {
        [k] => obj(kind, (*k).to_owned(), None, &[]),
        ["consumers", user, "credentials"] => obj(
            Kind::Credential,
            format!("consumers/{}/credentials", check(user)?),
            None,
            &[],
        ),
        ["consumers", user, "credentials", id, sub @ ..] => obj(
            Kind::Credential,
            format!("consumers/{}/credentials", check(user)?),
            Some(check(id)?),
            sub,
        ),
        ["secrets", manager, id, sub @ ..] => obj(
            kind,
            format!("secrets/{}", check(manager)?),
            Some(check(id)?),
            sub,
        ),
        [k, id, sub @ ..] => obj(kind, (*k).to_owned(), Some(check(id)?), sub),
        _ => Err(not_found()),
    }
}

/// The query string as a map (last value wins; `%XX` and `+` decoded).
pub fn query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(p: &str) -> ObjectPath {
        match parse(p) {
            Ok(AdminTarget::Object(o)) => o,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn paths_name_kind_id_and_sub_path() {
        let o = obj("/apisix/admin/routes/1");
        assert_eq!(
            (o.kind, o.id.as_deref(), o.key("/apisix")),
            (Kind::Route, Some("1"), "/apisix/routes/1".into())
        );
        assert_eq!(obj("/apisix/admin/routes").id, None);
        assert_eq!(
            obj("/apisix/admin/routes/1/upstream/nodes").sub.as_deref(),
            Some("upstream/nodes")
        );
        let c = obj("/apisix/admin/consumers/jack/credentials/k1");
        assert_eq!(c.key("/apisix"), "/apisix/consumers/jack/credentials/k1");
        assert_eq!(
            obj("/apisix/admin/secrets/vault/1").key("/p"),
            "/p/secrets/vault/1"
        );
        assert_eq!(
            parse("/apisix/admin/schema/route"),
            Ok(AdminTarget::Schema("route".into()))
        );
        assert!(matches!(
            parse("/apisix/admin/nope/1"),
            Err(PathError::NotFound(_))
        ));
        assert!(matches!(parse("/other"), Err(PathError::NotFound(_))));
        assert!(matches!(
            parse("/apisix/admin/routes/a%20b"),
            Err(PathError::BadId(_))
        ));
    }

    #[test]
    fn validate_and_plugin_list_paths() {
        assert_eq!(
            parse("/apisix/admin/schema/validate/route"),
            Ok(AdminTarget::Validate(Kind::Route))
        );
        assert_eq!(
            parse("/apisix/admin/plugins/list"),
            Ok(AdminTarget::PluginList)
        );
        assert_eq!(
            parse("/apisix/admin/schema/plugins/key-auth"),
            Ok(AdminTarget::PluginSchema("key-auth".into()))
        );
        assert!(parse("/apisix/admin/schema/validate/nope").is_err());
        assert_eq!(
            parse("/apisix/admin/schema/validate/protos"),
            Ok(AdminTarget::Validate(Kind::Proto))
        );
    }

    #[test]
    fn unknown_kinds_list_the_known_ones() {
        assert_eq!(
            parse("/apisix/admin/nope/1"),
            Err(PathError::NotFound(
                "unknown kind \"nope\": expected one of routes, services, upstreams, consumers, \
                 consumer_groups, global_rules, plugin_configs, plugin_metadata, ssls, protos, \
                 stream_routes, secrets"
                    .into()
            ))
        );
        assert_eq!(
            parse("/apisix/admin/consumers/jack/credentials/a%20b"),
            Err(PathError::BadId(
                "invalid consumer id \"a%20b\": expected 1-64 of [a-zA-Z0-9-_.]".into()
            ))
        );
        assert_eq!(
            obj("/apisix/admin/consumers/jack/credentials").kind,
            Kind::Credential
        );
    }

    #[test]
    fn query_decodes() {
        let q = query(Some("api_key=a%2Fb&force=true&x"));
        assert_eq!(q.get("api_key").map(String::as_str), Some("a/b"));
        assert_eq!(q.get("force").map(String::as_str), Some("true"));
        assert_eq!(q.get("x").map(String::as_str), Some(""));
        assert_eq!(query(Some("a=%4")).get("a").map(String::as_str), Some("%4"));
    }
}
