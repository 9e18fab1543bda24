//! Errors about configuration objects and files: each names the object's
//! kind and id, the field and what was expected.

use std::fmt;

/// The kinds of APISIX objects this build serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `routes`: what to match and where to send it.
    Route,
    /// `services`: settings that routes share.
    Service,
    /// `upstreams`: node sets with a balancer.
    Upstream,
}

impl Kind {
    /// Every kind, in the order a full set is applied.
    pub const ALL: [Kind; 3] = [Kind::Upstream, Kind::Service, Kind::Route];

    /// The singular name used in messages (`route`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Route => "route",
            Kind::Service => "service",
            Kind::Upstream => "upstream",
        }
    }

    /// The key of this kind in a standalone file and under etcd (`routes`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Route => "routes",
            Kind::Service => "services",
            Kind::Upstream => "upstreams",
        }
    }

    /// The kind whose standalone key is `key`.
    pub fn from_plural(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == key)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object was refused. Reads like APISIX's messages:
/// `invalid route "1": property "uri" validation failed: wrong type: expected string, got number`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {id:?}: property {field:?} validation failed: {reason}")]
pub struct ObjectError {
    /// The object's kind.
    pub kind: Kind,
    /// The object's id (`?` when it has none, `#n` for its position).
    pub id: String,
    /// The field at fault, as a path (`upstream.nodes[0].port`); empty for the whole object.
    pub field: String,
    /// What was wrong and what was expected.
    pub reason: String,
}

impl ObjectError {
    /// An error about `field` of the object `kind`/`id`.
    pub fn new(
        kind: Kind,
        id: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ObjectError {
            kind,
            id: id.into(),
            field: field.into(),
            reason: reason.into(),
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
