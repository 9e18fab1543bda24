//! The upstreams traffic-split may send a route's requests to, built by
//! the host once per object that configures the plugin (a route, service
//! or plugin_config): its inline upstreams as upstreams of their own
//! (pooled connections, balancer, health checks, named
//! `<kind> <id> traffic-split <field>`), and the stored upstreams it
//! names by id. The plugin names its choice in request variable
//! `upstream_id`: a stored id, or an inline upstream's field path
//! (`rules[0].weighted_upstreams[1].upstream`), which stored ids cannot
//! hold. The proxy looks the name up in the route's [`SplitUpstreams`].
//! On other objects (global rules, consumers) traffic-split is refused.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::config::{decode, Id, Kind, Object, ObjectError, Plugins};
use crate::upstream::UpstreamRt;

/// The plugin whose configs name upstreams.
pub const PLUGIN: &str = "traffic-split";

/// The request variable the plugin names its upstream in.
pub const UPSTREAM_VAR: &str = "upstream_id";

/// A route's traffic-split upstreams by the name the plugin gives them.
pub type SplitUpstreams = HashMap<String, Arc<UpstreamRt>>;

/// What one object's traffic-split config names.
#[derive(Debug, Default)]
pub struct SplitConf {
    /// Its inline upstreams, built, by field path.
    pub inline: SplitUpstreams,
    /// The stored upstreams it names.
    pub ids: Vec<Id>,
}

/// What the entries of a traffic-split config name, each with the path
/// of its entry (`rules[0].weighted_upstreams[1]`).
enum Named<'a> {
    /// An inline `upstream`.
    Inline(String, &'a Value),
    /// An `upstream_id`.
    Stored(String, Id),
}

/// Every inline upstream and stored id `config` names, in order.
fn named(config: &Value) -> Vec<Named<'_>> {
    let mut out = Vec::new();
    let rules = config.get("rules").and_then(Value::as_array);
    for (r, rule) in rules.into_iter().flatten().enumerate() {
        let entries = rule.get("weighted_upstreams").and_then(Value::as_array);
        for (e, entry) in entries.into_iter().flatten().enumerate() {
            let at = format!("rules[{r}].weighted_upstreams[{e}]");
            if let Some(u) = entry.get("upstream") {
                out.push(Named::Inline(at.clone(), u));
            }
            match entry.get("upstream_id") {
                Some(Value::String(s)) => out.push(Named::Stored(at, Id(s.clone()))),
                Some(Value::Number(n)) => out.push(Named::Stored(at, Id(n.to_string()))),
                _ => {}
            }
        }
    }
    out
}

/// The inline upstreams of `config`, by field path
/// (`rules[0].weighted_upstreams[1].upstream`: the plugin's name for them).
fn inline(config: &Value) -> impl Iterator<Item = (String, &Value)> {
    named(config).into_iter().filter_map(|n| match n {
        Named::Inline(at, u) => Some((format!("{at}.upstream"), u)),
        Named::Stored(..) => None,
    })
}

/// Refuses traffic-split on objects whose chains the proxy does not look
/// up split upstreams for (global rules, consumers, consumer groups): the
/// plugin's choice there would name upstreams the route does not carry.
fn served_on(kind: Kind, id: &str) -> Result<(), ObjectError> {
    match kind {
        Kind::Route | Kind::Service | Kind::PluginConfig => Ok(()),
        _ => Err(ObjectError::new(
            kind,
            id,
            format!("plugins.{PLUGIN}"),
            format!("{PLUGIN} on a {kind} is not supported by this build yet: configure it on the route, its service or its plugin_config"),
        )),
    }
}

/// Decodes an inline upstream as an upstream object (which needs an id:
/// one is lent when it has none).
fn decode_inline(u: &Value) -> Result<(Id, Object), ObjectError> {
    let mut u = u.clone();
    if let Value::Object(m) = &mut u {
        m.entry("id")
            .or_insert_with(|| Value::String("inline".into()));
    }
    decode(Kind::Upstream, &u, "inline")
}

/// Checks every inline upstream of `plugins`' traffic-split config
/// against the upstream schema; the error names the field
/// (`plugins.traffic-split.rules[0].weighted_upstreams[0].upstream.nodes`).
pub fn check(kind: Kind, id: &str, plugins: &Plugins) -> Result<(), ObjectError> {
    let Some(config) = plugins.get(PLUGIN) else {
        return Ok(());
    };
    served_on(kind, id)?;
    for (field, u) in inline(config) {
        decode_inline(u).map_err(|e| {
            let at = format!("plugins.{PLUGIN}.{field}");
            let field = if e.field.is_empty() {
                at
            } else {
                format!("{at}.{}", e.field)
            };
            ObjectError::new(kind, id, field, e.reason)
        })?;
    }
    Ok(())
}

/// The stored upstream ids `value`'s (an object's JSON) traffic-split
/// config names, for the Admin API's reference check.
pub fn referenced_ids(value: &Value) -> Vec<(String, Id)> {
    let Some(config) = value.get("plugins").and_then(|p| p.get(PLUGIN)) else {
        return Vec::new();
    };
    named(config)
        .into_iter()
        .filter_map(|n| match n {
            Named::Stored(at, id) => Some((format!("plugins.{PLUGIN}.{at}.upstream_id"), id)),
            Named::Inline(..) => None,
        })
        .collect()
}

/// Builds what object `kind`/`id`'s traffic-split config names (`None`
/// when it configures none) with `build` (an upstream's config and its
/// name to a built upstream, or the failed field and why).
pub fn build(
    kind: Kind,
    id: &Id,
    plugins: &Plugins,
    mut build: impl FnMut(
        &crate::config::UpstreamConf,
        String,
    ) -> Result<Arc<UpstreamRt>, (String, String)>,
) -> Result<Option<SplitConf>, ObjectError> {
    let Some(config) = plugins.get(PLUGIN) else {
        return Ok(None);
    };
    served_on(kind, &id.0)?;
    let ids = named(config)
        .into_iter()
        .filter_map(|n| match n {
            Named::Stored(_, id) => Some(id),
            Named::Inline(..) => None,
        })
        .collect();
    let mut conf = SplitConf {
        inline: HashMap::new(),
        ids,
    };
    for (field, u) in inline(config) {
        let at = format!("plugins.{PLUGIN}.{field}");
        let bad = |f: String, reason: String| {
            let f = if f.is_empty() {
                at.clone()
            } else {
                format!("{at}.{f}")
            };
            ObjectError::new(kind, &id.0, f, reason)
        };
        let Object::Upstream(u) = decode_inline(u)
            .map_err(|e| bad(e.field.clone(), e.reason.clone()))?
            .1
        else {
            return Err(bad(String::new(), "not an upstream".into()));
        };
        let name = format!("{kind} {id} {PLUGIN} {field}");
        let rt = build(&u, name).map_err(|(f, r)| bad(f, r))?;
        conf.inline.insert(field, rt);
    }
    Ok(Some(conf))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{check, referenced_ids};
    use crate::config::{Id, Kind, Plugins};

    #[test]
    fn ids_and_inline_upstreams_are_found_and_named_by_field() {
        let route = json!({"plugins": {"traffic-split": {"rules": [
            {"weighted_upstreams": [{"upstream_id": "a"}, {"weight": 1}]},
            {"weighted_upstreams": [{"upstream": {"nodes": {"127.0.0.1:1": 1}}}, {"upstream_id": 7}]}
        ]}}});
        let ids = referenced_ids(&route);
        let field = "plugins.traffic-split.rules[1].weighted_upstreams[1].upstream_id";
        assert_eq!(
            ids,
            [
                (
                    "plugins.traffic-split.rules[0].weighted_upstreams[0].upstream_id".to_owned(),
                    Id("a".into())
                ),
                (field.to_owned(), Id("7".into())),
            ]
        );
        let plugins: Plugins = serde_json::from_value(route["plugins"].clone()).unwrap();
        assert!(check(Kind::Route, "r", &plugins).is_ok());
        // A bad inline upstream names its field; another kind is refused.
        let bad: Plugins = serde_json::from_value(json!({"traffic-split": {"rules": [
            {"weighted_upstreams": [{"upstream": {"nodes": {"127.0.0.1:1": 1}, "type": "x"}}]}]}}))
        .unwrap();
        let e = check(Kind::Route, "r", &bad).unwrap_err();
        assert_eq!(
            e.field,
            "plugins.traffic-split.rules[0].weighted_upstreams[0].upstream.type"
        );
        let e = check(Kind::GlobalRule, "g", &plugins).unwrap_err();
        assert!(e.reason.contains("not supported"), "{e:?}");
    }
}
