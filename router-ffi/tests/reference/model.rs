//! The reference matcher: docs/router.md taken literally, each path pattern a
//! regex, every route in a plain list, a request's candidates sorted by the
//! documented order (see `main.rs`).

use super::*;

/// One path pattern, compiled by the reference.
#[derive(Debug, Clone)]
pub(super) struct RefPath {
    text: String,
    /// Anchored at the start only: its first match must be the whole path.
    regex: Regex,
    /// Text a path must start with (the literal prefix, compared as text).
    prefix: Vec<u8>,
    /// Param names with the regex each value must match in full, if any.
    params: Vec<(String, Option<Regex>)>,
    exact: bool,
    literal_prefix: usize,
}

pub(super) fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

/// PCRE text as Rust regex text: a `{` that opens no `{n}`, `{n,}`,
/// `{n,m}` is literal in PCRE and escaped here.
fn pcre_text(t: &str) -> String {
    let counted = Regex::new(r"^\{[0-9]+(,[0-9]*)?\}").unwrap();
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in t.char_indices() {
        if !escaped && c == '{' && !counted.is_match(&t.as_bytes()[i..]) {
            out.push('\\');
        }
        escaped = !escaped && c == '\\';
        out.push(c);
    }
    out
}

/// docs/router.md's path grammar, segment by segment; `None` when refused.
///
/// A pattern with a param (`:name`, `{name:re}`) or a `*` segment other
/// than a bare last one is a regex built from its segments, as
/// lua-resty-radixtree builds it: text kept as regex, segments joined by
/// `\/`; it matches a path that starts with its literal prefix (as text)
/// and whose first regex match is the whole path. Any other pattern is
/// text: exact, or a prefix when it ends in `*`.
pub(super) fn compile_path(text: &str, no_param_match: bool) -> Option<RefPath> {
    if text.is_empty() {
        return None;
    }
    let segs: Vec<&str> = text.split('/').collect();
    let last = segs.len() - 1;
    let param = |seg: &str| !no_param_match && seg.starts_with(':');
    fn braced(seg: &str, no_param_match: bool) -> Option<(&str, &str)> {
        let b = seg
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .and_then(|s| s.split_once(':'));
        b.filter(|_| !no_param_match)
    }
    let dynamic = segs.iter().enumerate().any(|(i, seg)| {
        param(seg)
            || braced(seg, no_param_match).is_some()
            || (seg.starts_with('*') && (i != last || *seg != "*"))
    });
    if !dynamic {
        let (regex, params, lit) = match text.strip_suffix('*') {
            Some(lit) => (
                format!("(?s-u)^{}(?P<m0>.*)$", escape(lit.as_bytes())),
                vec![(":ext".to_string(), None)],
                lit,
            ),
            None => (format!("(?s-u)^{}$", escape(text.as_bytes())), vec![], text),
        };
        return Some(RefPath {
            text: text.to_string(),
            regex: Regex::new(&regex).unwrap(),
            prefix: Vec::new(),
            exact: params.is_empty(),
            params,
            literal_prefix: lit.len(),
        });
    }
    let mut pieces = Vec::new();
    let mut params = Vec::new();
    let mut literal_prefix: Option<usize> = None;
    let mut offset = 0;
    for seg in &segs {
        let dynamic_at = if param(seg) {
            let name = &seg[1..];
            if name.is_empty() {
                return None;
            }
            pieces.push(format!("(?P<m{}>[^/]+)", params.len()));
            params.push((name.to_string(), None));
            Some(offset)
        } else if let Some((name, re)) = braced(seg, no_param_match) {
            if name.is_empty() {
                return None;
            }
            pieces.push(format!("(?P<m{}>[^/]+)", params.len()));
            params.push((
                name.to_string(),
                Some(Regex::new(&format!("^(?:{re})$")).ok()?),
            ));
            Some(offset)
        } else if let Some(name) = seg.strip_prefix('*') {
            let name = if name.is_empty() { ":ext" } else { name };
            pieces.push(format!("(?P<m{}>(?s:.*))", params.len()));
            params.push((name.to_string(), None));
            Some(offset)
        } else {
            pieces.push(pcre_text(seg));
            None
        };
        if literal_prefix.is_none() {
            literal_prefix = dynamic_at;
        }
        offset += seg.len() + 1;
    }
    let literal_prefix = literal_prefix.unwrap_or(text.len());
    // A regex Rust cannot compile: the route is refused (strict mode).
    let regex = regex::bytes::RegexBuilder::new(&format!("^(?:{})", pieces.join("\\/")))
        .unicode(false)
        .build()
        .ok()?;
    Some(RefPath {
        text: text.to_string(),
        regex,
        prefix: text.as_bytes()[..literal_prefix].to_vec(),
        exact: false,
        params,
        literal_prefix,
    })
}

impl RefPath {
    fn matches(&self, path: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
        if !path.starts_with(&self.prefix) {
            return None;
        }
        let caps = self.regex.captures(path)?;
        if caps.get(0)?.end() != path.len() {
            return None;
        }
        let mut out = Vec::new();
        for (i, (name, re)) in self.params.iter().enumerate() {
            let v = caps.name(&format!("m{i}"))?.as_bytes();
            if re.as_ref().is_some_and(|re| !re.is_match(v)) {
                return None;
            }
            out.push((name.clone(), v.to_vec()));
        }
        Some(out)
    }
}

#[derive(Clone)]
pub(super) struct RefRoute {
    id: String,
    value: usize,
    pub(super) spec: Spec,
    paths: Vec<RefPath>,
    /// Insertion number of each path.
    seqs: Vec<u64>,
}

#[derive(Default, Clone)]
pub(super) struct Model {
    no_param_match: bool,
    pub(super) routes: Vec<RefRoute>,
    seq: u64,
}

/// What a lookup returns: route id, the pattern that matched, params.
pub(super) type Hit = Option<(String, String, Vec<(String, Vec<u8>)>)>;

pub(super) fn addr_rule_holds(rule: &str, ip: IpAddr) -> bool {
    match (rule, ip) {
        ("10.0.0.0/8", IpAddr::V4(v4)) => v4.octets()[0] == 10,
        ("0.0.0.0/0", IpAddr::V4(_)) => true,
        ("::1", IpAddr::V6(v6)) => v6 == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

pub(super) fn host_holds(pattern: &str, host: Option<&str>, http_host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let pattern = pattern.to_ascii_lowercase();
    let target = if pattern.contains(':') {
        http_host.unwrap_or(host)
    } else {
        host
    }
    .to_ascii_lowercase();
    match pattern.strip_prefix('*') {
        Some(suffix) => target.ends_with(suffix),
        None => target == pattern,
    }
}

impl Model {
    /// An empty reference, with the router's `no_param_match` option.
    pub(super) fn new(no_param_match: bool) -> Model {
        Model {
            no_param_match,
            ..Model::default()
        }
    }

    fn compile(&self, spec: &Spec) -> Option<Vec<RefPath>> {
        spec.paths
            .iter()
            .map(|p| compile_path(p, self.no_param_match))
            .collect()
    }

    fn place(&mut self, id: String, value: usize, spec: Spec, paths: Vec<RefPath>) {
        let seqs = paths
            .iter()
            .map(|_| {
                self.seq += 1;
                self.seq
            })
            .collect();
        self.routes.push(RefRoute {
            id,
            value,
            spec,
            paths,
            seqs,
        });
    }

    pub(super) fn position(&self, id: &str) -> Option<usize> {
        self.routes.iter().position(|r| r.id == id)
    }

    pub(super) fn insert(&mut self, id: String, value: usize, spec: Spec) -> bool {
        if self.position(&id).is_some() {
            return false;
        }
        let Some(paths) = self.compile(&spec) else {
            return false;
        };
        self.place(id, value, spec, paths);
        true
    }

    pub(super) fn update(&mut self, id: String, value: usize, spec: Spec) -> bool {
        let Some(at) = self.position(&id) else {
            return false;
        };
        let Some(paths) = self.compile(&spec) else {
            return false;
        };
        self.routes.remove(at);
        self.place(id, value, spec, paths);
        true
    }

    pub(super) fn remove(&mut self, id: &str) -> bool {
        match self.position(id) {
            Some(at) => {
                self.routes.remove(at);
                true
            }
            None => false,
        }
    }

    pub(super) fn find(&self, q: &Concrete) -> Hit {
        // (sort key, route, path, params) of every path that matches.
        let mut cands = Vec::new();
        for r in &self.routes {
            for (pi, p) in r.paths.iter().enumerate() {
                if let Some(params) = p.matches(&q.path) {
                    let key = (
                        !p.exact,
                        if p.exact {
                            0
                        } else {
                            usize::MAX - p.literal_prefix
                        },
                        -r.spec.priority,
                        usize::MAX - p.text.len(),
                        r.seqs[pi],
                    );
                    cands.push((key, r, p, params));
                }
            }
        }
        cands.sort_by_key(|c| c.0);
        cands
            .into_iter()
            .find(|(_, r, _, _)| self.conditions_hold(r, q))
            .map(|(_, r, p, params)| (r.id.clone(), p.text.clone(), params))
    }

    fn conditions_hold(&self, r: &RefRoute, q: &Concrete) -> bool {
        let s = &r.spec;
        if !s.methods.is_empty() && !q.method.is_some_and(|m| s.methods.contains(&m)) {
            return false;
        }
        if let Some(rule) = s.addr {
            if !q.addr.is_some_and(|ip| addr_rule_holds(rule, ip)) {
                return false;
            }
        }
        if !s.hosts.is_empty()
            && !s
                .hosts
                .iter()
                .any(|h| host_holds(h, q.host, q.http_host.as_deref()))
        {
            return false;
        }
        if !(VARS[s.vars].1)(q.arg_a, q.arg_b) {
            return false;
        }
        !s.filter || q.deny & (1 << (r.value % 8)) == 0
    }
}

/// The reference itself, on docs/router.md's examples (so that agreement means something).
#[test]
fn reference_follows_router_md() {
    let mut m = Model::default();
    let spec = |p: &str, prio: i32| Spec {
        paths: vec![p.to_string()],
        hosts: vec![],
        methods: vec![],
        addr: None,
        vars: 0,
        priority: prio,
        filter: false,
    };
    for (k, (p, prio)) in [("/*", 100), ("/foo/*", 0), ("/aa*", 0), ("/bar/*", 0)]
        .into_iter()
        .enumerate()
    {
        assert!(m.insert(format!("r{k}"), k, spec(p, prio)));
    }
    let find = |m: &Model, path: &str| {
        let q = Rq {
            path: PathGen::Raw(vec![], 0),
            host: None,
            http_host: 0,
            method: None,
            addr: None,
            arg_a: None,
            arg_b: None,
            deny: 0,
        };
        let mut c = concrete(&q, &[]);
        c.path = path.as_bytes().to_vec();
        m.find(&c).map(|h| (h.0, h.2))
    };
    let ext = |id: &str, v: &str| Some((id.to_string(), vec![(":ext".into(), v.into())]));
    assert_eq!(find(&m, "/foo/bar"), ext("r1", "bar"));
    assert_eq!(find(&m, "/aa"), ext("r2", ""));
    assert_eq!(find(&m, "/aa/bb"), ext("r2", "/bb"));
    assert_eq!(find(&m, "/bar"), ext("r0", "bar"));
    let p = compile_path("/a/*/b", false).unwrap();
    assert_eq!(
        p.matches(b"/a/x/y/b"),
        Some(vec![(":ext".into(), b"x/y".to_vec())])
    );
    let p = compile_path("/:id/v1.0", false).unwrap();
    assert!(p.matches(b"/5/v1.0").is_some() && p.matches(b"/5/v1X0").is_some());
    let p = compile_path("/n/:id/x?", false).unwrap();
    assert!(p.matches(b"/n/5/x").is_some() && p.matches(b"/n/5/").is_some());
    assert!(compile_path("/foo:bar", false).unwrap().exact);
    assert!(compile_path("/a*b/c", false).unwrap().exact);
    assert!(host_holds("*.foo.com", Some("a.b.foo.com"), None));
    assert!(!host_holds("*.foo.com", Some("foo.com"), None));
    assert!(host_holds(
        "foo.com:8080",
        Some("foo.com"),
        Some("foo.com:8080")
    ));
    assert!(!host_holds("foo.com:8080", None, Some("foo.com:8080")));
}
