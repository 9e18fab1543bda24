//! The one conversion from an object's JSON (outer shape) to its typed
//! value: schema check, defaults, plugins (an unknown one refuses the
//! object), serde, then the limits of this build. Errors name kind, id and
//! field.

use serde_json::Value;

use super::error::{split_serde, ObjectError};
use super::kind::Kind;
use super::objects::{Id, Object};
use super::plugin_sets::PluginMetadataConf;
use super::{schema, validate};

/// Where a credential's id says which consumer it belongs to:
/// `<username>/credentials/<id>`, as in a standalone file's `consumers:`
/// list and under etcd's `/consumers/<username>/credentials/<id>`.
pub const CREDENTIALS: &str = "/credentials/";

/// The id an object of `kind` names in errors: its `id` (a consumer's
/// `username`), else `fallback_id`.
pub fn id_text(kind: Kind, value: &Value, fallback_id: &str) -> String {
    match (kind, value.get("id"), value.get("username")) {
        (Kind::Consumer, _, Some(Value::String(u))) => u.clone(),
        (_, Some(Value::String(s)), _) => s.clone(),
        (_, Some(Value::Number(n)), _) => n.to_string(),
        _ => fallback_id.to_owned(),
    }
}

/// Decodes an object of `kind` as stored in `store` (see
/// [`super::stored::open`]): opened, then [`decode`]d.
pub fn decode_stored(
    kind: Kind,
    value: Value,
    fallback_id: &str,
    store: super::stored::Store,
) -> Result<(Id, Object), ObjectError> {
    let mut opened = value;
    let id = id_text(kind, &opened, fallback_id);
    super::stored::open(kind, &id, &mut opened, store)?;
    decode_owned(kind, opened, fallback_id)
}

/// Decodes and checks one object of `kind` from its JSON form. `fallback_id`
/// names it in errors when it has no readable id (`#3`: its position).
///
/// The id is `id` (`username` for a consumer; `<username>/credentials/<id>`
/// for a credential, taken from `id` or else from `fallback_id`, as a
/// source reading `/consumers/<username>/credentials/<id>` passes it; an
/// `id` equal to a consumer's `username` is ignored, as sources that add
/// the key's id to every value do). A plugin the plugin host has not
/// loaded (any plugin, when there is no plugin host) refuses the object:
/// `unknown plugin [<name>]`, with kind, id and plugin named.
pub fn decode(kind: Kind, value: &Value, fallback_id: &str) -> Result<(Id, Object), ObjectError> {
    decode_owned(kind, value.clone(), fallback_id)
}

/// [`decode`], taking the JSON form (no copy of it is made).
fn decode_owned(
    kind: Kind,
    mut value: Value,
    fallback_id: &str,
) -> Result<(Id, Object), ObjectError> {
    let id_text = id_text(kind, &value, fallback_id);
    let err = |(field, reason): (String, String)| ObjectError::new(kind, &id_text, field, reason);
    let mut consumer = String::new();
    if kind == Kind::Consumer
        && value.get("id").is_some()
        && value.get("id") == value.get("username")
    {
        if let Some(obj) = value.as_object_mut() {
            obj.remove("id");
        }
    }
    let id_text = match kind {
        Kind::Credential if !id_text.contains(CREDENTIALS) && fallback_id.contains(CREDENTIALS) => {
            let own = fallback_id.rsplit(CREDENTIALS).next().unwrap_or_default();
            if value.get("id").is_some() && id_text != own {
                return Err(err((
                    "id".into(),
                    format!("{id_text:?} differs from the key's {fallback_id:?}"),
                )));
            }
            fallback_id.to_owned()
        }
        _ => id_text,
    };
    let err = |(field, reason): (String, String)| ObjectError::new(kind, &id_text, field, reason);
    if kind == Kind::Credential {
        let (user, own) = id_text.split_once(CREDENTIALS).ok_or_else(|| {
            err((
                "id".into(),
                format!("{id_text:?}: expected <username>{CREDENTIALS}<id>"),
            ))
        })?;
        consumer = user.to_owned();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("id".into(), Value::String(own.to_owned()));
        }
    }
    schema::validate(kind, &id_text, &value)?;
    schema::fill_defaults(kind, &mut value);
    validate::supported(kind, &value).map_err(err)?;
    super::plugin_check::check_plugins(kind, &id_text, &value)?;
    let obj = match kind {
        Kind::Route => Object::Route(typed(kind, &id_text, value)?),
        Kind::Service => Object::Service(typed(kind, &id_text, value)?),
        Kind::Upstream => Object::Upstream(typed(kind, &id_text, value)?),
        Kind::Consumer => Object::Consumer(typed(kind, &id_text, value)?),
        Kind::ConsumerGroup => Object::ConsumerGroup(typed(kind, &id_text, value)?),
        Kind::GlobalRule => Object::GlobalRule(typed(kind, &id_text, value)?),
        Kind::PluginConfig => Object::PluginConfig(typed(kind, &id_text, value)?),
        Kind::Ssl => Object::Ssl(typed(kind, &id_text, value)?),
        Kind::Credential => {
            let mut c: Box<super::CredentialConf> = typed(kind, &id_text, value)?;
            c.consumer = consumer;
            Object::Credential(c)
        }
        Kind::PluginMetadata => {
            let mut config = match value {
                Value::Object(m) => m,
                _ => Default::default(),
            };
            let id: Id = typed(kind, &id_text, config.remove("id").unwrap_or(Value::Null))?;
            Object::PluginMetadata(Box::new(PluginMetadataConf { id, config }))
        }
        // Refused by `schema::validate` already: they have no schema.
        Kind::Proto | Kind::StreamRoute | Kind::Secret => {
            return Err(ObjectError::plain(
                kind,
                &id_text,
                "",
                schema::not_served(kind),
            ))
        }
    };
    let id = match &obj {
        Object::Route(r) => r.id.clone(),
        Object::Service(s) => s.id.clone(),
        Object::Upstream(u) => u.id.clone(),
        Object::Consumer(c) => Some(Id(c.username.clone())),
        Object::Credential(c) => Some(Id(format!("{}{CREDENTIALS}{}", c.consumer, c.id))),
        Object::ConsumerGroup(o) => Some(o.id.clone()),
        Object::GlobalRule(o) => Some(o.id.clone()),
        Object::PluginConfig(o) => Some(o.id.clone()),
        Object::PluginMetadata(o) => Some(o.id.clone()),
        Object::Ssl(o) => Some(o.id.clone()),
    }
    .ok_or_else(|| err(("id".into(), "required: every object needs an id".into())))?;
    match &obj {
        Object::Route(r) => validate::route(r),
        Object::Service(s) => validate::service(s),
        Object::Upstream(u) => validate::upstream(u, ""),
        // Certificates and keys are parsed and matched here, so that every
        // source and the Admin API refuse a bad one the same way.
        Object::Ssl(s) => crate::tls::SslRt::build(s).map(|_| ()),
        _ => Ok(()),
    }
    .map_err(err)?;
    Ok((id, obj))
}

/// Serde into the typed value, naming the field on error. The first try
/// tracks no path (tracking copies every key it passes); only a value that
/// fails is decoded again, to name the field.
fn typed<T: serde::de::DeserializeOwned>(kind: Kind, id: &str, v: Value) -> Result<T, ObjectError> {
    if let Ok(t) = T::deserialize(&v) {
        return Ok(t);
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let (field, reason) = split_serde(&e);
        ObjectError::new(kind, id, field, reason)
    })
}
