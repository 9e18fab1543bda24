//! Request variables that `vars` expressions read.

use std::collections::HashMap;

/// The value of one request variable, as a `vars` expression sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Var<'a> {
    /// Text (what nginx variables always are). Need not be UTF-8.
    Str(&'a [u8]),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A list, for the `has` operator.
    List(Vec<Var<'a>>),
}

/// A source of request variables, read lazily: only routes with `vars`
/// ask, and only for the names their expressions use.
pub trait Vars {
    /// The variable `name` (`arg_id`, `http_x_user`, `cookie_a`, ...), or
    /// `None` when the request has none.
    fn var(&self, name: &str) -> Option<Var<'_>>;
}

/// A request with no variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVars;

impl Vars for NoVars {
    fn var(&self, _name: &str) -> Option<Var<'_>> {
        None
    }
}

impl<S: std::hash::BuildHasher> Vars for HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        self.get(name).map(|v| Var::Str(v.as_bytes()))
    }
}

impl<S: std::hash::BuildHasher> Vars for HashMap<&str, &str, S> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        self.get(name).map(|v| Var::Str(v.as_bytes()))
    }
}

impl<T: Vars + ?Sized> Vars for &T {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        (**self).var(name)
    }
}
