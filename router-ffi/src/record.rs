//! A route compiled for the router: its record (patterns, params,
//! regexes, hosts, conditions), shared by every router that holds the
//! route, and what a router holds of it.

use crate::addr::{parse_rules, AddrRule};
use crate::error::{Field, RouteError, Tolerated};
use crate::expr::Expr;
use crate::host::HostPattern;
use crate::method::method_set;
use crate::path_regex::PathRegex;
use crate::pattern::{ParamSlot, Pattern};
use crate::router::Options;
use crate::vars::Vars;
use crate::{Request, Route};
use std::sync::Arc;

/// A route as one router holds it: its compiled record, which another
/// router may share ([`Router::adopt`]), and its value.
#[derive(Debug, Clone)]
pub(crate) struct Held<T> {
    pub(crate) record: Arc<Stored>,
    pub(crate) value: T,
}

/// A route compiled: what every router holding it reads, and nothing of
/// where one router indexes it (found again from its patterns).
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) id: Arc<str>,
    /// The first path, inline (most routes have one: a match reads it
    /// without another load).
    pub(crate) path: StoredPath,
    /// Other paths, hosts and conditions; `None` (most routes) for none.
    pub(crate) rest: Option<Box<Rest>>,
    pub(crate) priority: i32,
    pub(crate) filter: bool,
    /// `:` is ordinary text in its paths (to parse them again).
    pub(crate) no_param_match: bool,
}

// A record and its `Arc` counts fill one 96-byte allocator block.
const _: () = assert!(std::mem::size_of::<Stored>() <= 80);

/// What few routes have beside one path.
#[derive(Debug)]
pub(crate) struct Rest {
    pub(crate) more_paths: Box<[StoredPath]>,
    pub(crate) hosts: Box<[HostPattern]>,
    /// Methods, addresses and vars.
    pub(crate) conditions: Option<Conditions>,
}

#[derive(Debug)]
pub(crate) struct Conditions {
    pub(crate) methods: u16,
    pub(crate) addrs: Box<[AddrRule]>,
    pub(crate) vars: Option<Expr>,
}

#[derive(Debug)]
pub(crate) struct StoredPath {
    pub(crate) pattern: Box<str>,
    pub(crate) params: Box<[ParamSlot]>,
    pub(crate) index: Index,
    /// The regex of a pattern matched as one.
    pub(crate) regex: Option<Box<PathRegex>>,
}

/// Which index a path is in (in any router that holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    /// The hash map of exact paths.
    Exact,
    /// The tree, at the slot of its tokens.
    Tree,
    /// The tree, at the regex slot of its literal prefix.
    Regex,
    /// None: its regex did not compile (tolerant mode); it never matches.
    Nowhere,
}

/// Checks and compiles every field of `route`; in tolerant mode, also
/// says what it let pass.
pub(crate) fn compile<T>(route: Route<T>, opts: Options) -> Result<Compiled<T>, RouteError> {
    let id = route.id.as_str();
    let bad = |field, problem: String| RouteError::invalid(id, field, problem);
    let mut tolerated = Vec::new();
    let mut tolerate = |field, expression: &str, problem: String| {
        tolerated.push(Tolerated {
            id: id.to_owned(),
            field,
            expression: expression.to_owned(),
            problem,
        })
    };
    if route.paths.is_empty() {
        return Err(bad(Field::Paths, "at least one path is required".into()));
    }
    if route.paths.len() > u16::MAX as usize {
        return Err(bad(Field::Paths, "too many paths".into()));
    }
    let no_param_match = route.no_param_match.unwrap_or(opts.no_param_match);
    let patterns = route
        .paths
        .iter()
        .map(|p| Pattern::parse(p, no_param_match))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(Field::Paths, e))?;
    let hosts = route
        .hosts
        .iter()
        .map(|h| HostPattern::parse(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(Field::Hosts, e))?;
    let methods = method_set(&route.methods).map_err(|e| bad(Field::Methods, e))?;
    let addrs = parse_rules(&route.remote_addrs).map_err(|e| bad(Field::RemoteAddrs, e))?;
    let vars = match &route.vars {
        None => None,
        Some(v) if opts.tolerant => {
            let (e, flaws) = Expr::parse_tolerant(v).map_err(|e| bad(Field::Vars, e))?;
            for f in flaws {
                tolerate(Field::Vars, &f.rule, f.problem);
            }
            Some(e)
        }
        Some(v) => Some(Expr::parse(v).map_err(|e| bad(Field::Vars, e))?),
    };
    let mut stored_paths = Vec::with_capacity(patterns.len());
    for (text, p) in route.paths.iter().zip(&patterns) {
        let (regex, place) = match PathRegex::new(p) {
            // `place` decides where a compiled path goes.
            Ok(r) => (r.map(Box::new), Index::Exact),
            Err(problem) if opts.tolerant => {
                tolerate(Field::Paths, text, problem);
                (None, Index::Nowhere)
            }
            Err(problem) => return Err(bad(Field::Paths, format!("{text:?}: {problem}"))),
        };
        let index = match (place, &regex) {
            (Index::Nowhere, _) => Index::Nowhere,
            (_, Some(_)) => Index::Regex,
            _ if p.is_exact() => Index::Exact,
            _ => Index::Tree,
        };
        stored_paths.push(StoredPath {
            pattern: text.as_str().into(),
            params: p.param_slots().into_boxed_slice(),
            index,
            regex,
        });
    }
    let mut paths = stored_paths.into_iter();
    let path = paths
        .next()
        .ok_or_else(|| bad(Field::Paths, "at least one path is required".into()))?;
    let more_paths: Box<[StoredPath]> = paths.collect();
    let conditions = (methods != 0 || !addrs.is_empty() || vars.is_some()).then(|| Conditions {
        methods,
        addrs: addrs.into_boxed_slice(),
        vars,
    });
    let rest = (!more_paths.is_empty() || !hosts.is_empty() || conditions.is_some()).then(|| {
        Box::new(Rest {
            more_paths,
            hosts: hosts.into_boxed_slice(),
            conditions,
        })
    });
    let record = Stored {
        id: route.id.into(),
        path,
        rest,
        priority: route.priority,
        filter: route.filter,
        no_param_match,
    };
    let held = Held {
        record: Arc::new(record),
        value: route.value,
    };
    Ok((held, patterns, tolerated))
}

/// A compiled route, its parsed patterns, what tolerant mode let pass.
pub(crate) type Compiled<T> = (Held<T>, Vec<Pattern>, Vec<Tolerated>);

impl Stored {
    /// Its paths, the first one first.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &StoredPath> {
        std::iter::once(&self.path).chain(self.more_paths())
    }

    /// Its paths after the first.
    pub(crate) fn more_paths(&self) -> &[StoredPath] {
        self.rest.as_ref().map_or(&[], |r| &r.more_paths)
    }

    /// Its hosts (none: any).
    pub(crate) fn hosts(&self) -> &[HostPattern] {
        self.rest.as_ref().map_or(&[], |r| &r.hosts)
    }

    /// Its methods, addresses and vars, if it has any.
    pub(crate) fn conditions(&self) -> Option<&Conditions> {
        self.rest.as_ref()?.conditions.as_ref()
    }

    /// The regex of path `pi` matches `path` (`false` for a path that is not
    /// matched by a regex: only regex entries ask).
    #[cold]
    pub(crate) fn path_matches(&self, pi: u16, path: &[u8]) -> bool {
        let sp = match pi {
            0 => Some(&self.path),
            i => self.more_paths().get(i as usize - 1),
        };
        sp.and_then(|sp| sp.regex.as_deref())
            .is_some_and(|r| r.is_match(path))
    }

    /// The non-path conditions but the filter, in lua-resty-radixtree's
    /// order (hosts were checked by the index).
    pub(crate) fn accepts(&self, method: u16, req: &Request<'_>, vars: &dyn Vars) -> bool {
        if let Some(c) = self.conditions() {
            if c.methods != 0 && c.methods & method == 0 {
                return false;
            }
            if !c.addrs.is_empty() {
                match &req.remote_addr {
                    Some(ip) if c.addrs.iter().any(|a| a.contains(ip)) => {}
                    _ => return false,
                }
            }
            if let Some(e) = &c.vars {
                if !e.eval(vars) {
                    return false;
                }
            }
        }
        true
    }
}
