//! The Admin API's index of what etcd holds under the prefix, so that a
//! list page and a reference check cost what they return, not what etcd
//! holds: every key with its value and revisions, a small decoded part of
//! it (`name`, string `labels`, `uri`/`uris`) for the list filters, and who
//! refers to whom (`upstream_id`, `service_id`, `plugin_config_id`,
//! `group_id`) for delete checks.
//!
//! It follows etcd through its own watch (a paged read, then a watch from
//! the read's revision + 1; after a compaction or a broken stream, read
//! again), started by the first request that wants it, so that it costs
//! nothing while the gateway loads its routes. An answer from the index is never staler than etcd was when it
//! was asked: [`Index::fresh`] reads etcd's current revision and waits
//! until the index has applied it (asking etcd for a progress
//! notification); when it cannot (not read yet, watch broken, no catch-up
//! within a bound), the caller reads etcd directly as without an index.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use etcd_client::{Client, EventType, KeyValue, WatchOptions};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::store::Kv;
use crate::config::Kind;
use crate::source::etcd;

/// Longest wait for the index to catch up with etcd before a caller
/// falls back to reading etcd.
const CATCH_UP: Duration = Duration::from_secs(2);
/// Keys a read takes per etcd response.
const READ_PAGE: i64 = 1024;

/// One key as the index holds it.
#[derive(Debug)]
struct Entry {
    raw: Arc<[u8]>,
    created: i64,
    modified: i64,
    /// `None`: the value is not JSON (lists leave it out, as they do
    /// reading etcd).
    meta: Option<Meta>,
}

/// What the list filters and reference checks read of a value.
#[derive(Debug, Default)]
struct Meta {
    name: Option<Box<str>>,
    labels: Vec<(Box<str>, Box<str>)>,
    uris: Vec<Box<str>>,
    /// (kind referred to, its id), for the fields of the key's kind.
    refs: Vec<(Kind, Box<str>)>,
}

/// The fields of a value the index reads; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Fields {
    name: Option<Value>,
    labels: Option<Value>,
    uri: Option<Value>,
    uris: Option<Value>,
    upstream_id: Option<Value>,
    service_id: Option<Value>,
    plugin_config_id: Option<Value>,
    group_id: Option<Value>,
    /// An upstream's `tls` (`client_cert_id` names an ssls object).
    tls: Option<Value>,
    /// A route's or service's inline upstream (its `tls` likewise).
    upstream: Option<Value>,
}

/// An id as the Admin API compares ids: a string, or a number's text.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Meta {
    /// The meta of `raw` stored under a key of `kind` (`None`: a nested
    /// key, whose references nobody checks); `None` when `raw` is not JSON.
    fn of(kind: Option<Kind>, raw: &[u8]) -> Option<Meta> {
        let f: Fields = match serde_json::from_slice(raw) {
            Ok(f) => f,
            // JSON, but not an object of these fields' types.
            Err(_) => {
                serde_json::from_slice::<serde::de::IgnoredAny>(raw).ok()?;
                return Some(Meta::default());
            }
        };
        let text = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(Box::from);
        let mut uris: Vec<Box<str>> = text(&f.uri).into_iter().collect();
        if let Some(Value::Array(all)) = &f.uris {
            uris.extend(all.iter().filter_map(Value::as_str).map(Box::from));
        }
        let labels = match &f.labels {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| Some((Box::from(k.as_str()), Box::from(v.as_str()?))))
                .collect(),
            _ => Vec::new(),
        };
        let mut refs = Vec::new();
        for (field, target) in kind.map_or(&[][..], Kind::references) {
            let value = match *field {
                "upstream_id" => &f.upstream_id,
                "service_id" => &f.service_id,
                "plugin_config_id" => &f.plugin_config_id,
                "group_id" => &f.group_id,
                _ => &None,
            };
            if let Some(id) = value.as_ref().and_then(id_text) {
                refs.push((*target, id.into_boxed_str()));
            }
        }
        let tls = match kind {
            Some(Kind::Upstream) => f.tls.as_ref(),
            Some(Kind::Route | Kind::Service) => f.upstream.as_ref().and_then(|u| u.get("tls")),
            _ => None,
        };
        if let Some(id) = tls.and_then(|t| t.get("client_cert_id")).and_then(id_text) {
            refs.push((Kind::Ssl, id.into_boxed_str()));
        }
        Some(Meta {
            name: text(&f.name),
            labels,
            uris,
            refs,
        })
    }
}

/// The list filters of `GET /apisix/admin/<kind>`.
#[derive(Debug, Default)]
pub struct Filters<'a> {
    /// A substring of `name`.
    pub name: Option<&'a str>,
    /// A substring of `uri` or of one of `uris`.
    pub uri: Option<&'a str>,
    /// `key` (any value) or `key:value`.
    pub label: Option<(&'a str, &'a str)>,
}

impl Filters<'_> {
    fn keep(&self, m: &Meta) -> bool {
        self.name
            .is_none_or(|want| m.name.as_deref().is_some_and(|n| n.contains(want)))
            && self
                .uri
                .is_none_or(|want| m.uris.iter().any(|u| u.contains(want)))
            && self.label.is_none_or(|(k, v)| {
                m.labels
                    .iter()
                    .any(|(lk, lv)| &**lk == k && (v.is_empty() || &**lv == v))
            })
    }
}

/// The indexed state.
#[derive(Debug, Default)]
struct State {
    /// Whether a full read was applied and the watch follows it.
    ready: bool,
    /// The revision everything up to which is applied.
    revision: i64,
    kvs: BTreeMap<String, Entry>,
    /// Keys of the objects that refer to (kind, id).
    users: HashMap<(Kind, Box<str>), BTreeSet<String>>,
}

impl State {
    /// The kind of a key directly under `<prefix>/<kind>/`; `None` for
    /// nested keys and other kinds.
    fn kind_of(prefix: &str, key: &str) -> Option<Kind> {
        let rest = key.strip_prefix(prefix)?.strip_prefix('/')?;
        let (dir, id) = rest.split_once('/')?;
        (!id.contains('/')).then(|| Kind::from_key(dir)).flatten()
    }

    fn remove(&mut self, key: &str) {
        let Some(old) = self.kvs.remove(key) else {
            return;
        };
        for r in old.meta.into_iter().flat_map(|m| m.refs) {
            if let Some(users) = self.users.get_mut(&r) {
                users.remove(key);
                if users.is_empty() {
                    self.users.remove(&r);
                }
            }
        }
    }

    fn put(&mut self, prefix: &str, kv: &KeyValue) {
        let Ok(key) = std::str::from_utf8(kv.key()) else {
            return;
        };
        self.remove(key);
        let meta = Meta::of(State::kind_of(prefix, key), kv.value());
        for r in meta.iter().flat_map(|m| &m.refs) {
            self.users
                .entry(r.clone())
                .or_default()
                .insert(key.to_owned());
        }
        self.kvs.insert(
            key.to_owned(),
            Entry {
                raw: Arc::from(kv.value()),
                created: kv.create_revision(),
                modified: kv.mod_revision(),
                meta,
            },
        );
    }
}

/// The index, shared by the Admin API's connections and its watch task.
pub struct Index {
    prefix: String,
    state: Mutex<State>,
    /// The applied revision, for waiters.
    applied: watch::Sender<i64>,
    /// Asks the watch task to start (the first time), then for progress
    /// notifications.
    progress: mpsc::UnboundedSender<()>,
}

/// A view of the index at least as new as etcd was when it was asked.
pub struct Fresh<'a> {
    prefix: &'a str,
    state: MutexGuard<'a, State>,
}

impl Index {
    /// Starts following `prefix` through `client` on the current runtime.
    pub fn start(client: Client, prefix: &str) -> Arc<Index> {
        let (progress, asked) = mpsc::unbounded_channel();
        let index = Arc::new(Index {
            prefix: prefix.to_owned(),
            state: Mutex::new(State::default()),
            applied: watch::Sender::new(0),
            progress,
        });
        tokio::spawn(follow(client, index.clone(), asked));
        index
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held left a state that is still whole
        // (every change is applied by one call that cannot panic midway).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The index once it has applied etcd's revision `now` (read by the
    /// caller just before); `None` when it is not following etcd or does
    /// not catch up within [`CATCH_UP`].
    pub async fn fresh(&self, now: i64) -> Option<Fresh<'_>> {
        let mut applied = self.applied.subscribe();
        if !self.lock().ready {
            // Starts the watch task the first time; this answer reads etcd.
            let _ = self.progress.send(());
            return None;
        }
        if *applied.borrow() < now {
            // The last write may be outside the prefix: only a progress
            // notification tells the watch that it has seen everything.
            let _ = self.progress.send(());
            let caught_up = applied.wait_for(|&r| r >= now);
            if !matches!(tokio::time::timeout(CATCH_UP, caught_up).await, Ok(Ok(_))) {
                return None;
            }
        }
        let state = self.lock();
        state.ready.then_some(Fresh {
            prefix: &self.prefix,
            state,
        })
    }
}

impl Fresh<'_> {
    /// The objects directly under `dir` (`/apisix/routes`) that `filters`
    /// keep, in key order: how many, and those from `skip` on (at most
    /// `take`), decoded.
    pub fn list(
        &self,
        dir: &str,
        filters: &Filters<'_>,
        skip: usize,
        take: usize,
    ) -> (usize, Vec<Kv>) {
        let from = format!("{dir}/");
        let mut total = 0;
        let mut page = Vec::new();
        for (key, e) in self.state.kvs.range(from.clone()..) {
            let Some(id) = key.strip_prefix(&from) else {
                break;
            };
            let Some(meta) = &e.meta else { continue };
            if id.contains('/') || !filters.keep(meta) {
                continue;
            }
            if total >= skip && page.len() < take {
                if let Ok(value) = serde_json::from_slice(&e.raw) {
                    page.push(Kv {
                        key: key.clone(),
                        value,
                        created: e.created,
                        modified: e.modified,
                    });
                }
            }
            total += 1;
        }
        (total, page)
    }

    /// The first object of `user` kind (by key) that refers to `kind`/`id`.
    pub fn first_user(&self, user: Kind, kind: Kind, id: &str) -> Option<&str> {
        let users = self.state.users.get(&(kind, Box::from(id)))?;
        let dir = format!("{}/{}/", self.prefix, user.key());
        users
            .iter()
            .find(|k| k.strip_prefix(&dir).is_some_and(|i| !i.contains('/')))
            .map(String::as_str)
    }
}

/// The watch task: read, watch, apply; read again after a compaction or
/// a failure (the index is not used meanwhile).
async fn follow(client: Client, index: Arc<Index>, mut asked: mpsc::UnboundedReceiver<()>) {
    let from = format!("{}/", index.prefix);
    let mut backoff = Duration::from_millis(100);
    // Wanted once a request asks for it.
    if asked.recv().await.is_none() {
        return;
    }
    loop {
        let why = session(&client, &index, &from, &mut asked).await;
        index.lock().ready = false;
        tracing::warn!(reason = %why, retry_in = ?backoff,
            "Admin API index: lost etcd; lists read etcd until it is back");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
        if why.starts_with("compacted") {
            backoff = Duration::from_millis(100);
        }
    }
}

/// One read and watch; returns why it ended.
async fn session(
    client: &Client,
    index: &Index,
    from: &str,
    asked: &mut mpsc::UnboundedReceiver<()>,
) -> String {
    let read = match etcd::read_prefix(client, from, READ_PAGE).await {
        Ok(r) => r,
        Err(e) => return format!("read: {}", etcd::describe(&e)),
    };
    {
        let mut state = State::default();
        for kv in &read.kvs {
            state.put(&index.prefix, kv);
        }
        drop(read.kvs);
        state.revision = read.revision;
        *index.lock() = state;
    }
    let opts = WatchOptions::new()
        .with_prefix()
        .with_start_revision(read.revision + 1);
    let watch = client
        .watch_client()
        .max_decoding_message_size(etcd::MAX_MESSAGE)
        .watch(from, Some(opts))
        .await;
    let (mut watcher, mut stream) = match watch {
        Ok(w) => w,
        Err(e) => return format!("watch: {}", etcd::describe(&e)),
    };
    index.lock().ready = true;
    index.applied.send_replace(read.revision);
    loop {
        tokio::select! {
            msg = stream.message() => {
                let resp = match msg {
                    Ok(Some(r)) => r,
                    Ok(None) => return "watch stream closed".into(),
                    Err(e) => return format!("watch: {}", etcd::describe(&e)),
                };
                if resp.canceled() {
                    if resp.compact_revision() > 0 {
                        return format!("compacted at {}", resp.compact_revision());
                    }
                    return format!("watch cancelled: {}", resp.cancel_reason());
                }
                let mut state = index.lock();
                let mut rev = state.revision;
                for ev in resp.events() {
                    let Some(kv) = ev.kv() else { continue };
                    rev = rev.max(kv.mod_revision());
                    match ev.event_type() {
                        EventType::Put => state.put(&index.prefix, kv),
                        EventType::Delete => {
                            if let Ok(key) = std::str::from_utf8(kv.key()) {
                                state.remove(key);
                            }
                        }
                    }
                }
                if resp.events().is_empty() {
                    // A progress notification: everything up to it was sent.
                    rev = rev.max(resp.header().map_or(0, |h| h.revision()));
                }
                state.revision = rev;
                drop(state);
                index.applied.send_replace(rev);
            }
            Some(()) = asked.recv() => {
                if let Err(e) = watcher.request_progress().await {
                    return format!("progress request: {}", etcd::describe(&e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_cert_id_is_a_reference_to_its_ssl() {
        let refs = |kind: Kind, raw: &str| Meta::of(Some(kind), raw.as_bytes()).map(|m| m.refs);
        let ssl = |id: &str| vec![(Kind::Ssl, Box::from(id))];
        let cases = [
            (
                Kind::Upstream,
                r#"{"tls": {"client_cert_id": "c1"}}"#,
                ssl("c1"),
            ),
            (
                Kind::Route,
                r#"{"uri": "/", "upstream": {"tls": {"client_cert_id": 2}}}"#,
                ssl("2"),
            ),
            (
                Kind::Service,
                r#"{"upstream": {"tls": {"client_cert_id": "c1"}}}"#,
                ssl("c1"),
            ),
            // Where the kind does not name one, or names none.
            (Kind::Route, r#"{"tls": {"client_cert_id": "c1"}}"#, vec![]),
            (
                Kind::Upstream,
                r#"{"upstream": {"tls": {"client_cert_id": "c1"}}}"#,
                vec![],
            ),
            (Kind::Upstream, r#"{"tls": {"verify": true}}"#, vec![]),
        ];
        for (kind, raw, want) in cases {
            assert_eq!(refs(kind, raw), Some(want), "{kind} {raw}");
        }
        // Beside the other references.
        assert_eq!(
            refs(
                Kind::Route,
                r#"{"upstream_id": "u", "upstream": {"tls": {"client_cert_id": "c1"}}}"#
            ),
            Some(vec![
                (Kind::Upstream, Box::from("u")),
                (Kind::Ssl, Box::from("c1"))
            ])
        );
    }
}
