//! Checks before a write: the object on its own (through the config
//! module's decoding) and its references to other objects; and, before a
//! delete, who still refers to the object.

use serde_json::Value;

use super::store::{AdminStore, Guard, StoreError};
use crate::config::{decode, Kind};

/// Why a write was refused.
#[derive(Debug)]
pub enum Refusal {
    /// The object or a reference is wrong (400, APISIX's `error_msg`).
    Invalid(String),
    /// The store failed.
    AdminStore(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::AdminStore(e)
    }
}

/// Checks `value` as an object of `kind` with `id`
/// (`<username>/credentials/<id>` for a credential): its JSON Schema, the
/// limits of this build, with APISIX's `error_msg`.
pub fn object(kind: Kind, id: &str, value: &Value) -> Result<(), Refusal> {
    if !kind.is_served() {
        return Err(Refusal::Invalid(format!(
            "{kind} objects are not supported by this build yet"
        )));
    }
    // A plugin the host has not loaded is refused: the object would
    // otherwise serve without it.
    if let Some(name) = crate::config::unknown_plugin(kind, value) {
        return Err(Refusal::Invalid(format!("unknown plugin [{name}]")));
    }
    let (_, object) =
        decode(kind, value, id).map_err(|e| Refusal::Invalid(e.error_msg().to_owned()))?;
    // traffic-split's inline upstreams, checked as upstreams.
    if let Some(plugins) = crate::snapshot::plugins_of(&object) {
        crate::snapshot::split::check(kind, id, plugins)
            .map_err(|e| Refusal::Invalid(e.error_msg().to_owned()))?;
    }
    Ok(())
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The guards a write of `value` (an object of `kind`) holds to: every
/// object it refers to exists (its `*_id` fields, and the stored upstreams
/// its traffic-split names). Checked by etcd in the write's transaction,
/// so a reference is never checked apart from the write (no round trip,
/// no race with a delete); when the write fails, [`refs`] says which.
pub fn ref_guards(prefix: &str, kind: Kind, value: &Value) -> Vec<Guard> {
    let mut keys: Vec<String> = Vec::new();
    for (field, target) in kind.references() {
        if let Some(id) = value.get(*field).and_then(id_text) {
            keys.push(format!("{prefix}/{}/{id}", target.key()));
        }
    }
    for (_, id) in crate::snapshot::split::referenced_ids(value) {
        keys.push(format!("{prefix}/{}/{id}", Kind::Upstream.key()));
    }
    keys.sort();
    keys.dedup();
    keys.into_iter().map(Guard::Exists).collect()
}

/// Checks that every object `value` names exists:
/// `failed to fetch upstream info by upstream id [x], response code: 404`.
pub async fn refs(store: &AdminStore, kind: Kind, value: &Value) -> Result<(), Refusal> {
    for (field, target) in kind.references() {
        let Some(id) = value.get(*field).and_then(id_text) else {
            continue;
        };
        let key = format!("{}/{}/{id}", store.prefix(), target.key());
        if store.get(&key).await?.is_none() {
            let what = target.name();
            return Err(Refusal::Invalid(format!(
                "failed to fetch {what} info by {what} id [{id}], response code: 404"
            )));
        }
    }
    // The stored upstreams traffic-split names.
    for (field, id) in crate::snapshot::split::referenced_ids(value) {
        let key = format!("{}/{}/{id}", store.prefix(), Kind::Upstream.key());
        if store.get(&key).await?.is_none() {
            return Err(Refusal::Invalid(format!(
                "invalid configuration: property {field:?} validation failed: \
                 failed to fetch upstream info by upstream id [{id}], response code: 404"
            )));
        }
    }
    Ok(())
}

/// Where an object of `kind` names a `type: client` ssls object, and the
/// id it names: an upstream's `tls.client_cert_id`, a route's or
/// service's inline upstream's `upstream.tls.client_cert_id`.
pub fn client_cert_ref(kind: Kind, value: &Value) -> Option<(&'static str, String)> {
    let (tls, field) = match kind {
        Kind::Upstream => (value.get("tls"), "tls.client_cert_id"),
        Kind::Route | Kind::Service => (
            value.get("upstream").and_then(|u| u.get("tls")),
            "upstream.tls.client_cert_id",
        ),
        _ => return None,
    };
    let id = tls
        .and_then(|t| t.get("client_cert_id"))
        .and_then(id_text)?;
    Some((field, id))
}

/// Checks that an upstream's `tls.client_cert_id` (a route's or service's
/// inline upstream's too) names an `ssls` object of `type: client`, as
/// APISIX does: `failed to fetch ssl info by ssl id [x], response code: 404`
/// or `..., wrong ssl type`, with the field named.
pub async fn client_cert(store: &AdminStore, kind: Kind, value: &Value) -> Result<(), Refusal> {
    let Some((field, id)) = client_cert_ref(kind, value) else {
        return Ok(());
    };
    let key = format!("{}/{}/{id}", store.prefix(), Kind::Ssl.key());
    let problem = match store.get(&key).await? {
        None => "response code: 404",
        Some(kv) if kv.value.get("type").and_then(Value::as_str) != Some("client") => {
            "wrong ssl type"
        }
        Some(_) => return Ok(()),
    };
    Err(Refusal::Invalid(format!(
        "invalid configuration: property {field:?} validation failed: \
         failed to fetch ssl info by ssl id [{id}], {problem}"
    )))
}

/// Refuses to delete `kind`/`id` while another object refers to it:
/// `can not delete this upstream, route [1] is still using it now`; an
/// ssls object named by a `tls.client_cert_id` counts as used too.
pub async fn unused(store: &AdminStore, kind: Kind, id: &str) -> Result<(), Refusal> {
    let in_use = |user: Kind, user_key: &str| {
        let user_id = user_key.rsplit('/').next().unwrap_or("");
        Err(Refusal::Invalid(format!(
            "can not delete this {kind}, {user} [{user_id}] is still using it now"
        )))
    };
    if let Some(index) = store.fresh_index().await {
        for user in Kind::ADMIN {
            if let Some(key) = index.first_user(user, kind, id) {
                return in_use(user, key);
            }
        }
        return Ok(());
    }
    for user in Kind::ADMIN {
        let fields: Vec<&str> = user
            .references()
            .iter()
            .filter(|(_, t)| *t == kind)
            .map(|(f, _)| *f)
            .collect();
        // Objects that may name an ssls object in `tls.client_cert_id`.
        let certs =
            kind == Kind::Ssl && matches!(user, Kind::Upstream | Kind::Route | Kind::Service);
        if fields.is_empty() && !certs {
            continue;
        }
        let dir = format!("{}/{}", store.prefix(), user.key());
        for kv in store.list(&dir).await? {
            let uses = fields
                .iter()
                .any(|f| kv.value.get(*f).and_then(id_text).as_deref() == Some(id))
                || (certs && client_cert_ref(user, &kv.value).is_some_and(|(_, c)| c == id));
            if uses {
                return in_use(user, &kv.key);
            }
        }
    }
    Ok(())
}

/// JSON merge patch (RFC 7386): `null` deletes a member, objects merge,
/// anything else (arrays included) replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Sets the member at `path` (`upstream/nodes`) of `target` to `value`,
/// creating objects on the way; `Err` names a step that is not an object.
pub fn set_path(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut at = target;
    let steps: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((last, init)) = steps.split_last() else {
        *at = value;
        return Ok(());
    };
    for step in init {
        let Value::Object(m) = at else {
            return Err(format!(
                "{step:?} is inside something that is not an object"
            ));
        };
        at = m
            .entry((*step).to_owned())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    match at {
        Value::Object(m) => {
            if value.is_null() {
                m.remove(*last);
            } else {
                m.insert((*last).to_owned(), value);
            }
            Ok(())
        }
        _ => Err(format!("{path:?}: the parent is not an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_not_served_are_refused_by_name() {
        match object(Kind::StreamRoute, "1", &json!({})) {
            Err(Refusal::Invalid(m)) => {
                assert_eq!(
                    m,
                    "stream_route objects are not supported by this build yet"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn client_cert_ids_are_found_where_each_kind_names_them() {
        let tls = json!({"client_cert_id": "c1"});
        let cases = [
            (
                Kind::Upstream,
                json!({"tls": tls}),
                Some("tls.client_cert_id"),
            ),
            (
                Kind::Route,
                json!({"upstream": {"tls": tls}}),
                Some("upstream.tls.client_cert_id"),
            ),
            (
                Kind::Service,
                json!({"upstream": {"tls": tls}}),
                Some("upstream.tls.client_cert_id"),
            ),
            // A number is an id too.
            (
                Kind::Upstream,
                json!({"tls": {"client_cert_id": 7}}),
                Some("tls.client_cert_id"),
            ),
            // Not where this kind names one.
            (Kind::Route, json!({"tls": tls}), None),
            (Kind::Upstream, json!({"upstream": {"tls": tls}}), None),
            (Kind::Consumer, json!({"tls": tls}), None),
            (Kind::Upstream, json!({"tls": {"verify": true}}), None),
        ];
        for (kind, value, field) in cases {
            let found = client_cert_ref(kind, &value);
            assert_eq!(found.as_ref().map(|(f, _)| *f), field, "{kind} {value}");
            if let Some((_, id)) = found {
                assert!(id == "c1" || id == "7", "{id}");
            }
        }
    }

    #[test]
    fn merge_patch_deletes_merges_and_replaces() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]});
        merge(&mut v, &json!({"a": null, "b": {"c": 9}, "e": [3]}));
        assert_eq!(v, json!({"b": {"c": 9, "d": 3}, "e": [3]}));
    }

    #[test]
    fn sub_path_sets_and_deletes() {
        let mut v = json!({"upstream": {"nodes": {"a:1": 1}}});
        set_path(&mut v, "upstream/nodes", json!({"b:2": 1})).unwrap();
        assert_eq!(v, json!({"upstream": {"nodes": {"b:2": 1}}}));
        set_path(&mut v, "desc", json!("x")).unwrap();
        assert_eq!(v["desc"], "x");
        assert!(set_path(&mut v, "desc/x", json!(1)).is_err());
    }
}
