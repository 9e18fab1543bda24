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

/// The inline upstreams (field path and config) and stored ids of a
/// traffic-split config.
fn named(config: &Value) -> (Vec<(String, &Value)>, Vec<Id>) {
    let (mut inline, mut ids) = (Vec::new(), Vec::new());
    let rules = config.get("rules").and_then(Value::as_array);
    for (r, rule) in rules.into_iter().flatten().enumerate() {
        let entries = rule.get("weighted_upstreams").and_then(Value::as_array);
        for (e, entry) in entries.into_iter().flatten().enumerate() {
            if let Some(u) = entry.get("upstream") {
                inline.push((format!("rules[{r}].weighted_upstreams[{e}].upstream"), u));
            }
            match entry.get("upstream_id") {
                Some(Value::String(s)) => ids.push(Id(s.clone())),
                Some(Value::Number(n)) => ids.push(Id(n.to_string())),
                _ => {}
            }
        }
    }
    (inline, ids)
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
    for (field, u) in named(config).0 {
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
    let mut out = Vec::new();
    let rules = config.get("rules").and_then(Value::as_array);
    for (r, rule) in rules.into_iter().flatten().enumerate() {
        let entries = rule.get("weighted_upstreams").and_then(Value::as_array);
        for (e, entry) in entries.into_iter().flatten().enumerate() {
            let id = match entry.get("upstream_id") {
                Some(Value::String(s)) => Id(s.clone()),
                Some(Value::Number(n)) => Id(n.to_string()),
                _ => continue,
            };
            let field = format!("plugins.{PLUGIN}.rules[{r}].weighted_upstreams[{e}].upstream_id");
            out.push((field, id));
        }
    }
    out
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
    let (inline, ids) = named(config);
    let mut conf = SplitConf {
        inline: HashMap::with_capacity(inline.len()),
        ids,
    };
    for (field, u) in inline {
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
