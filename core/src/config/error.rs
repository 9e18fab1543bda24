//! Errors about configuration objects and files: each names the object's
//! kind and id, the field and what was expected; object errors also carry
//! APISIX's own wording for the Admin API.

use std::fmt;

use super::kind::Kind;

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
