//! Errors about configuration objects and files: each names the object's
//! kind and id, the field and what was expected; object errors also carry
//! APISIX's own wording for the Admin API.

use std::fmt;

/// The kinds of APISIX objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `routes`: what to match and where to send it.
    Route,
    /// `services`: settings that routes share.
    Service,
    /// `upstreams`: node sets with a balancer.
    Upstream,
    /// `consumers`: who calls, keyed by `username`.
    Consumer,
    /// `consumer_groups`: plugins that consumers share.
    ConsumerGroup,
    /// `global_rules`: plugins that run for every request.
    GlobalRule,
    /// `plugin_configs`: plugins that routes share (`plugin_config_id`).
    PluginConfig,
    /// `plugin_metadata`: one plugin's process-wide settings, keyed by plugin name.
    PluginMetadata,
    /// `ssls`: certificates chosen by SNI.
    Ssl,
    /// `consumers/<username>/credentials`: one auth plugin's secret for a consumer.
    Credential,
}

impl Kind {
    /// Every kind, in the order a full set is applied (what an object names
    /// comes before it); deletes go in the reverse order.
    pub const ALL: [Kind; 10] = [
        Kind::Upstream,
        Kind::Service,
        Kind::PluginConfig,
        Kind::ConsumerGroup,
        Kind::Consumer,
        Kind::Credential,
        Kind::GlobalRule,
        Kind::PluginMetadata,
        Kind::Ssl,
        Kind::Route,
    ];

    /// The singular name, used in messages and by `GET /apisix/admin/schema/<name>` (`route`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Route => "route",
            Kind::Service => "service",
            Kind::Upstream => "upstream",
            Kind::Consumer => "consumer",
            Kind::ConsumerGroup => "consumer_group",
            Kind::GlobalRule => "global_rule",
            Kind::PluginConfig => "plugin_config",
            Kind::PluginMetadata => "plugin_metadata",
            Kind::Ssl => "ssl",
            Kind::Credential => "credential",
        }
    }

    /// The key of this kind in a standalone file, under etcd and in Admin API
    /// paths (`routes`). Credentials have no standalone key of their own: they
    /// are listed under `consumers` with an id `<username>/credentials/<id>`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Route => "routes",
            Kind::Service => "services",
            Kind::Upstream => "upstreams",
            Kind::Consumer => "consumers",
            Kind::ConsumerGroup => "consumer_groups",
            Kind::GlobalRule => "global_rules",
            Kind::PluginConfig => "plugin_configs",
            Kind::PluginMetadata => "plugin_metadata",
            Kind::Ssl => "ssls",
            Kind::Credential => "credentials",
        }
    }

    /// The kind whose plural key is `key` (`routes` -> `Route`).
    pub fn from_plural(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == key)
    }

    /// The kind whose singular name is `name` (`route` -> `Route`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object was refused. `Display` is the log line, naming kind, id,
/// field and reason: `invalid route "1": property "uri" validation failed:
/// wrong type: expected string, got number`. [`ObjectError::error_msg`] is
/// APISIX's text for the same problem, what the Admin API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {id:?}: {}", self.detail())]
pub struct ObjectError {
    /// The object's kind.
    pub kind: Kind,
    /// The object's id (`?` when it has none, `#n` for its position).
    pub id: String,
    /// The field at fault, as a path (`upstream.nodes[0].port`); empty for the whole object.
    pub field: String,
    /// What was wrong and what was expected, for that field
    /// (`wrong type: expected string, got number`).
    pub reason: String,
    /// APISIX's `error_msg` (`invalid configuration: property "upstream"
    /// validation failed: property "nodes" validation failed: ...`).
    pub error_msg: String,
}

impl ObjectError {
    /// A schema-style error about `field` of the object `kind`/`id`; its
    /// `error_msg` reads `invalid configuration: property "<field>" validation failed: <reason>`.
    pub fn new(
        kind: Kind,
        id: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        let (field, reason) = (field.into(), reason.into());
        let error_msg = if field.is_empty() {
            format!("invalid configuration: {reason}")
        } else {
            format!("invalid configuration: property {field:?} validation failed: {reason}")
        };
        ObjectError {
            kind,
            id: id.into(),
            field,
            reason,
            error_msg,
        }
    }

    /// An error whose APISIX text is `message` itself, without the
    /// `invalid configuration: ` prefix (reference and consistency checks:
    /// `failed to fetch upstream info by upstream id [1]`).
    pub fn plain(
        kind: Kind,
        id: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        ObjectError {
            kind,
            id: id.into(),
            field: field.into(),
            reason: message.clone(),
            error_msg: message,
        }
    }

    /// The `error_msg` the Admin API answers with (HTTP 400).
    pub fn error_msg(&self) -> &str {
        &self.error_msg
    }

    fn detail(&self) -> String {
        if self.field.is_empty() {
            self.reason.clone()
        } else {
            format!(
                "property {:?} validation failed: {}",
                self.field, self.reason
            )
        }
    }
}

/// A whole configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid YAML, or not the expected shape.
    #[error("{path}: {reason}")]
    Syntax {
        /// The file.
        path: String,
        /// Where and why.
        reason: String,
    },
    /// A standalone file without its trailing `#END` line (maybe half written).
    #[error("{path}: no trailing \"#END\" line: the file is incomplete or still being written")]
    NoEnd {
        /// The file.
        path: String,
    },
    /// A setting of the gateway's own configuration is wrong.
    #[error("{path}: setting {field:?}: {reason}")]
    Setting {
        /// The file.
        path: String,
        /// The setting, as a path (`gateway.listen[0]`).
        field: String,
        /// What was wrong and what was expected.
        reason: String,
    },
}

/// Turns a serde error with its path into (field, reason).
pub(crate) fn split_serde<E: fmt::Display>(
    err: &serde_path_to_error::Error<E>,
) -> (String, String) {
    let mut field = err.path().to_string();
    if field == "." {
        field.clear();
    }
    let reason = err.inner().to_string();
    // An unknown field is named in the message, not the path: name it as the field.
    if let Some(rest) = reason.strip_prefix("unknown field `") {
        if let Some(end) = rest.find('`') {
            let name = &rest[..end];
            // The path usually ends with the unknown key already.
            let field = if field.is_empty() {
                name.to_owned()
            } else if field == name || field.ends_with(&format!(".{name}")) {
                field
            } else {
                format!("{field}.{name}")
            };
            return (
                field,
                "additional properties forbidden".to_owned() + &rest[end + 1..],
            );
        }
    }
    (field, reason)
}
