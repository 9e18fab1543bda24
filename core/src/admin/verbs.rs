//! The Admin API verbs on objects: GET (one or a page of a list), PUT,
//! POST, PATCH (merge or sub-path, compare-and-set), DELETE; each answers
//! with APISIX's status codes and JSON shapes.

use std::collections::HashMap;

use http::StatusCode;
use serde_json::{json, Value};

use super::check::{self, Refusal};
use super::index::Filters;
use super::owners;
use super::store::{AdminStore, Kv, StoreError};
use super::target::{valid_id, ObjectPath};
use crate::config::Kind;

/// A status and a JSON body.
pub type AdminReply = (StatusCode, Value);

/// `{"error_msg": msg}` with `status`.
pub fn error(status: StatusCode, msg: impl Into<String>) -> AdminReply {
    (status, json!({ "error_msg": msg.into() }))
}

fn store_error(e: &StoreError) -> AdminReply {
    match e {
        StoreError::Unavailable(_) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        StoreError::Conflict => error(StatusCode::CONFLICT, e.to_string()),
    }
}

fn refusal(r: Refusal) -> AdminReply {
    match r {
        Refusal::Invalid(msg) => error(StatusCode::BAD_REQUEST, msg),
        Refusal::AdminStore(e) => store_error(&e),
    }
}

/// A stored object of `kind` as the Admin API answers it: its encrypted
/// fields decrypted, as APISIX answers.
fn one(kind: Kind, kv: &Kv) -> Value {
    let mut value = kv.value.clone();
    crate::config::reveal(kind, &mut value);
    json!({"key": kv.key, "value": value, "createdIndex": kv.created, "modifiedIndex": kv.modified})
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn not_found(key: &str) -> AdminReply {
    error(StatusCode::NOT_FOUND, format!("Key not found: {key}"))
}

/// GET: one object, or `{total, list}` filtered by `name` (a substring),
/// `label` (`key` or `key:value`), `uri` (a substring of `uri` or of one
/// of `uris`) and paged by `page` (from 1) and `page_size` (10-500).
pub async fn get(store: &AdminStore, t: &ObjectPath, q: &HashMap<String, String>) -> AdminReply {
    let prefix = store.prefix().to_owned();
    if t.id.is_some() {
        let key = t.key(&prefix);
        return match store.get(&key).await {
            Ok(Some(kv)) => (StatusCode::OK, one(t.kind, &kv)),
            Ok(None) => not_found(&key),
            Err(e) => store_error(&e),
        };
    }
    let label = q
        .get("label")
        .map(|l| l.split_once(':').unwrap_or((l.as_str(), "")));
    let filters = Filters {
        name: q.get("name").map(String::as_str),
        uri: q.get("uri").map(String::as_str),
        label,
    };
    let (skip, take) = match q.get("page") {
        Some(page) => {
            let page: usize = page.parse().unwrap_or(1).max(1);
            let size: usize = q
                .get("page_size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10)
                .clamp(10, 500);
            ((page - 1) * size, size)
        }
        None => (0, usize::MAX),
    };
    let dir = t.key(&prefix);
    let indexed = store
        .fresh_index()
        .await
        .map(|index| index.list(&dir, &filters, skip, take));
    let (total, list) = match indexed {
        Some(found) => found,
        None => match store.list(&dir).await {
            Ok(all) => filter_page(all, &filters, skip, take),
            Err(e) => return store_error(&e),
        },
    };
    let list: Vec<Value> = list.iter().map(|kv| one(t.kind, kv)).collect();
    (StatusCode::OK, json!({ "total": total, "list": list }))
}

/// The list filters and paging over objects read from the store (the
/// file, or etcd when the index cannot answer): how many `filters` keep,
/// and those from `skip` on, at most `take`.
fn filter_page(mut list: Vec<Kv>, f: &Filters<'_>, skip: usize, take: usize) -> (usize, Vec<Kv>) {
    let has = |v: &Value, field: &str, want: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains(want))
    };
    if let Some(name) = f.name {
        list.retain(|kv| has(&kv.value, "name", name));
    }
    if let Some(uri) = f.uri {
        // In `uri`, or in any of `uris` (as APISIX).
        let in_uris = |v: &Value| {
            v.get("uris").and_then(Value::as_array).is_some_and(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .any(|u| u.contains(uri))
            })
        };
        list.retain(|kv| has(&kv.value, "uri", uri) || in_uris(&kv.value));
    }
    if let Some((k, v)) = f.label {
        list.retain(|kv| {
            kv.value
                .get("labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
                .is_some_and(|x| v.is_empty() || x == v)
        });
    }
    let total = list.len();
    let page = list.into_iter().skip(skip).take(take).collect();
    (total, page)
}

fn ttl(q: &HashMap<String, String>) -> Result<Option<i64>, AdminReply> {
    match q.get("ttl") {
        None => Ok(None),
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=31_536_000).contains(&n) => Ok(Some(n)),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                format!("invalid ttl {t:?}: expected whole seconds >= 1"),
            )),
        },
    }
}

/// Fills id and times, checks, and writes. `expect` as in [`AdminStore::put`].
async fn write(
    store: &AdminStore,
    t: &ObjectPath,
    id: &str,
    mut value: Value,
    old: Option<&Kv>,
    expect: Option<i64>,
    q: &HashMap<String, String>,
) -> AdminReply {
    let ttl = match ttl(q) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Value::Object(m) = &mut value else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid configuration: expected a JSON object",
        );
    };
    if t.kind == Kind::Consumer {
        m.insert("username".into(), id.into());
    } else {
        m.insert("id".into(), id.into());
    }
    let created_at = old
        .and_then(|o| o.value.get("create_time").cloned())
        .unwrap_or_else(|| now().into());
    m.insert("create_time".into(), created_at);
    m.insert("update_time".into(), now().into());
    // A credential is named by its consumer too, as the config module expects.
    let full_id = match t.dir.strip_prefix("consumers/") {
        Some(rest) if t.kind == Kind::Credential => format!("{}/{id}", rest),
        _ => id.to_owned(),
    };
    if let Err(r) = check::object(t.kind, &full_id, &value) {
        return refusal(r);
    }
    // The objects it refers to must exist when it is written: guards of
    // the write itself (a file store cannot be written: refused there).
    let ref_guards = match store {
        AdminStore::Etcd(_) => check::ref_guards(store.prefix(), t.kind, &value),
        AdminStore::File(_) => Vec::new(),
    };
    if let Err(r) = check::client_cert(store, t.kind, &value).await {
        return refusal(r);
    }
    let path = ObjectPath {
        id: Some(id.to_owned()),
        sub: None,
        ..t.clone()
    };
    let key = path.key(store.prefix());
    // Stored with its encrypted fields sealed, as APISIX stores them.
    let mut stored = value.clone();
    crate::config::seal(t.kind, &mut stored);
    let mut tries = 0;
    let written = loop {
        let mut guards = if matches!(t.kind, Kind::Consumer | Kind::Credential) {
            match owners::check(store, t.kind, &key, &value).await {
                Ok(g) => g,
                Err(r) => return refusal(r),
            }
        } else {
            Vec::new()
        };
        let owner_guards = !guards.is_empty();
        guards.extend(ref_guards.iter().cloned());
        tries += 1;
        match store.put(&key, &stored, expect, ttl, &guards).await {
            Err(StoreError::Conflict) => {
                // A referenced object is missing: name it.
                if !ref_guards.is_empty() {
                    if let Err(r) = check::refs(store, t.kind, &value).await {
                        return refusal(r);
                    }
                }
                // A guard lost to a concurrent write: check again (a
                // PATCH's own compare-and-set is retried by the PATCH).
                if owner_guards && matches!(expect, None | Some(0)) && tries < 5 {
                    continue;
                }
                break Err(StoreError::Conflict);
            }
            other => break other,
        }
    };
    match written {
        Ok((created, rev)) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let created_rev = old.map_or(rev, |o| o.created);
            (
                status,
                json!({"key": key, "value": value, "createdIndex": created_rev, "modifiedIndex": rev}),
            )
        }
        Err(e) => store_error(&e),
    }
}

/// PUT: create (201) or replace (200). Without an id in the path, the id
/// is the body's `id` (`username` for consumers).
pub async fn put(
    store: &AdminStore,
    t: &ObjectPath,
    q: &HashMap<String, String>,
    body: Value,
) -> AdminReply {
    if t.sub.is_some() {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "PUT takes no sub path: use PATCH",
        );
    }
    let field = if t.kind == Kind::Consumer {
        "username"
    } else {
        "id"
    };
    let body_id = match body.get(field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let id = match (&t.id, body_id) {
        (Some(p), Some(b)) if *p != b => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "wrong {} id: the path says {p:?}, the body says {b:?}",
                    t.kind
                ),
            )
        }
        (Some(p), _) => p.clone(),
        (None, Some(b)) if valid_id(&b) => b,
        (None, Some(b)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                "invalid configuration: property {field:?} validation failed: {b:?} is not an id"
            ),
            )
        }
        (None, None) => return error(StatusCode::BAD_REQUEST, format!("missing {} id", t.kind)),
    };
    let key = ObjectPath {
        id: Some(id.clone()),
        ..t.clone()
    }
    .key(store.prefix());
    let old = match store.get(&key).await {
        Ok(o) => o,
        Err(e) => return store_error(&e),
    };
    write(store, t, &id, body, old.as_ref(), None, q).await
}

/// POST: a new object with an id generated from the etcd revision.
pub async fn post(
    store: &AdminStore,
    t: &ObjectPath,
    q: &HashMap<String, String>,
    body: Value,
) -> AdminReply {
    if t.id.is_some() {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST takes no id: use PUT /apisix/admin/<kind>/<id>",
        );
    }
    let id = match store.new_id(&t.key(store.prefix())).await {
        Ok(id) => id,
        Err(e) => return store_error(&e),
    };
    let mut body = body;
    if let Value::Object(m) = &mut body {
        m.remove("id");
    }
    write(store, t, &id, body, None, Some(0), q).await
}

/// PATCH: merge `body` into the object (or set the sub path to it),
/// compare-and-set on its modifiedIndex, retried a few times.
pub async fn patch(
    store: &AdminStore,
    t: &ObjectPath,
    q: &HashMap<String, String>,
    body: Value,
) -> AdminReply {
    let Some(id) = t.id.clone() else {
        return error(StatusCode::METHOD_NOT_ALLOWED, "PATCH needs an id");
    };
    let key = ObjectPath {
        sub: None,
        ..t.clone()
    }
    .key(store.prefix());
    let mut last = error(StatusCode::CONFLICT, "the object kept changing; retry");
    for _ in 0..5 {
        let old = match store.get(&key).await {
            Ok(Some(o)) => o,
            Ok(None) => return not_found(&key),
            Err(e) => return store_error(&e),
        };
        let mut value = old.value.clone();
        crate::config::reveal(t.kind, &mut value);
        match &t.sub {
            Some(sub) => {
                if let Err(e) = check::set_path(&mut value, sub, body.clone()) {
                    return error(StatusCode::BAD_REQUEST, format!("invalid sub path: {e}"));
                }
            }
            None if body.is_object() => check::merge(&mut value, &body),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid configuration: expected a JSON object",
                )
            }
        }
        last = write(store, t, &id, value, Some(&old), Some(old.modified), q).await;
        if last.0 != StatusCode::CONFLICT {
            return last;
        }
    }
    last
}

/// DELETE: `{"deleted":"1","key":...}`; refused while referenced unless
/// `force=true`. A consumer's credentials go in the same transaction.
pub async fn delete(store: &AdminStore, t: &ObjectPath, q: &HashMap<String, String>) -> AdminReply {
    let Some(id) = &t.id else {
        return error(StatusCode::METHOD_NOT_ALLOWED, "DELETE needs an id");
    };
    if t.sub.is_some() {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "DELETE takes no sub path: use PATCH with null",
        );
    }
    let key = t.key(store.prefix());
    match store.get(&key).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(&key),
        Err(e) => return store_error(&e),
    }
    if q.get("force").map(String::as_str) != Some("true") {
        if let Err(r) = check::unused(store, t.kind, id).await {
            return refusal(r);
        }
    }
    let nested = (t.kind == Kind::Consumer).then(|| format!("{key}/credentials/"));
    match store.delete(&key, nested.as_deref()).await {
        Ok(true) => (StatusCode::OK, json!({"deleted": "1", "key": key})),
        Ok(false) => not_found(&key),
        Err(e) => store_error(&e),
    }
}

/// `POST /apisix/admin/schema/validate/<kind>`: 200 `{}` when `body` would
/// be accepted as an object of the kind (references not checked), else 400.
pub fn validate(t: &ObjectPath, body: Value) -> AdminReply {
    let id = match body.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "1".to_owned(),
    };
    let mut body = body;
    if let Value::Object(m) = &mut body {
        m.entry("id").or_insert_with(|| id.clone().into());
    }
    match check::object(t.kind, &id, &body) {
        Ok(()) => (StatusCode::OK, json!({})),
        Err(r) => refusal(r),
    }
}
