//! Errors returned when a route is added, updated or removed.

use std::fmt;

/// The route field an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The route's id.
    Id,
    /// Its path patterns.
    Paths,
    /// Its host patterns.
    Hosts,
    /// Its methods.
    Methods,
    /// Its client address rules (IPs and CIDRs).
    RemoteAddrs,
    /// Its `vars` expression.
    Vars,
}

impl Field {
    /// The field's name as users write it in a route.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Paths => "paths",
            Field::Hosts => "hosts",
            Field::Methods => "methods",
            Field::RemoteAddrs => "remote_addrs",
            Field::Vars => "vars",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A route was refused: names the route, the field and the problem.
/// The router keeps every route it had before the refused call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A field of the route is malformed.
    #[error("route {id:?}: field {field}: {problem}")]
    Invalid {
        /// The route's id.
        id: String,
        /// The field at fault.
        field: Field,
        /// What is wrong with it.
        problem: String,
    },
    /// `insert` was given an id the router already holds.
    #[error("route {id:?}: a route with this id already exists")]
    DuplicateId {
        /// The id given.
        id: String,
    },
    /// `update` or `remove` was given an id the router does not hold.
    #[error("route {id:?}: no route with this id")]
    NotFound {
        /// The id given.
        id: String,
    },
    /// The router holds the maximum number of routes (u32::MAX - 1).
    #[error("route {id:?}: the router is full")]
    Full {
        /// The id of the route that did not fit.
        id: String,
    },
}

/// What a tolerant router ([`crate::Options::tolerant`]) let pass when it
/// added a route: the route is in; the path never matches, or the `vars`
/// comparison is always false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerated {
    /// The route's id.
    pub id: String,
    /// `paths` or `vars`.
    pub field: Field,
    /// The path pattern, or the `vars` comparison as JSON text.
    pub expression: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for Tolerated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.field {
            Field::Paths => "this path never matches",
            _ => "this comparison is always false",
        };
        write!(
            f,
            "route {:?}: field {}: {}: {} (tolerated: {outcome})",
            self.id, self.field, self.expression, self.problem
        )
    }
}

impl RouteError {
    pub(crate) fn invalid(id: &str, field: Field, problem: impl Into<String>) -> Self {
        RouteError::Invalid {
            id: id.to_owned(),
            field,
            problem: problem.into(),
        }
    }

    /// The field at fault, when the error is about one field.
    pub fn field(&self) -> Option<Field> {
        match self {
            RouteError::Invalid { field, .. } => Some(*field),
            _ => None,
        }
    }

    /// The problem alone, without the route id and field.
    pub fn problem(&self) -> String {
        match self {
            RouteError::Invalid { problem, .. } => problem.clone(),
            RouteError::DuplicateId { .. } => "a route with this id already exists".into(),
            RouteError::NotFound { .. } => "no route with this id".into(),
            RouteError::Full { .. } => "the router is full".into(),
        }
    }
}
