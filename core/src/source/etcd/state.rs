//! What the etcd source last applied: every served key with its value (not
//! its decoded object: the builder holds that), and the revision it is
//! current to. Turns etcd's puts,
//! deletes and full reads into [`Change`]s (bad values logged and skipped,
//! last good kept), records which keys changed for the snapshot file's
//! writer ([`super::snapshot_writer`]) and loads itself from that file
//! ([`super::snapshot_file`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::decode_pool::{DecodePool, Decoded, Pending};
use super::snapshot_writer::{Delta, KeyChange, KeyValue, Start};
use crate::config::{decode_stored, Id, Kind, Object, ObjectError, Store, CREDENTIALS};
use crate::source::{Change, Item};

/// The kind and id an etcd key names under `prefix`
/// (`/apisix/routes/1` -> route `1`); `None` for keys this build does not
/// serve (other kinds, `/apisix/routes` itself, nested keys).
/// `/apisix/consumers/jack/credentials/k1` is credential `jack/credentials/k1`.
pub fn decode_key(prefix: &str, key: &str) -> Option<(Kind, Id)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('/')?;
    let (kind, id) = rest.split_once('/')?;
    if kind == Kind::Consumer.key() {
        if let Some((user, own)) = id.split_once(CREDENTIALS) {
            Id::parse(user).ok()?;
            Id::parse(own).ok()?;
            return Some((Kind::Credential, Id(id.to_owned())));
        }
    }
    let kind = Kind::from_key(kind).filter(|k| k.is_served() && *k != Kind::Credential)?;
    Id::parse(id).ok().map(|id| (kind, id))
}

/// The etcd key of `kind`'s object `id` under `prefix`: what
/// [`decode_key`] reads as `(kind, id)` (a credential's id holds its
/// consumer: `jack/credentials/k1` sits under `consumers`).
pub fn encode_key(prefix: &str, kind: Kind, id: &Id) -> String {
    let kind = if kind == Kind::Credential {
        Kind::Consumer
    } else {
        kind
    };
    format!("{prefix}/{}/{}", kind.key(), id.0)
}

/// Decodes the value stored at `key` as an object of `kind` with `id`.
pub fn decode_value(kind: Kind, id: &Id, key: &str, raw: &[u8]) -> Result<Item, ObjectError> {
    let mut value: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| ObjectError::new(kind, &id.0, "", format!("{key}: not JSON: {e}")))?;
    if let serde_json::Value::Object(m) = &mut value {
        if kind != Kind::Credential {
            m.entry("id").or_insert_with(|| id.0.clone().into());
        }
    }
    let (got, object) = decode_stored(kind, value, &id.0, Store::Etcd)?;
    if &got != id {
        return Err(ObjectError::new(
            kind,
            &id.0,
            "id",
            format!("{key}: the value's id {got:?} differs from the key's"),
        ));
    }
    Ok(Item {
        id: id.clone(),
        object,
    })
}

/// The applied keys by kind and id: a hash map, not a tree (at 100k keys
/// a tree's half-full nodes cost about 6 MB more).
type Applied = HashMap<(Kind, Id), AppliedKey, foldhash::fast::RandomState>;

/// A full read being applied (see [`EtcdState::begin_replace`]).
#[derive(Debug)]
pub struct Replacing {
    /// The prefix read (the keys of deleted objects are made from it).
    prefix: String,
    /// The applied keys the read has not met yet: deleted when it ends.
    old: Applied,
    /// The refused values before the read (back on an abort).
    refused: BTreeMap<(Kind, Id), RefusedValue>,
    pool: DecodePool,
    /// Keys read so far.
    pub keys: usize,
}

/// One applied key's value. The key itself is not kept: it is made from
/// the kind and id when needed (a change's comes with it).
#[derive(Debug, Clone)]
struct AppliedKey {
    raw: Arc<[u8]>,
    /// A fingerprint of what its decoding took from the plugin catalog
    /// (see [`plugin_fingerprint`]); `None` when it names no plugin, so
    /// that the catalog cannot change how it decodes.
    plugins: Option<u64>,
}

/// A fingerprint of the part of `object` that the plugin catalog shapes
/// (its plugins' configs with their defaults, or a plugin's metadata), or
/// `None` when it has none: two decodings of one value with different
/// catalogs differ only there.
pub(super) fn plugin_fingerprint(object: &Object) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let shaped = match object {
        Object::PluginMetadata(m) => serde_json::to_vec(&m.config),
        other => match crate::snapshot::plugins_of(other) {
            Some(p) if !p.is_empty() => serde_json::to_vec(p),
            _ => return None,
        },
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // A map of JSON values always serializes; should it not, the
    // fingerprint of nothing still marks the object as shaped by plugins.
    shaped.unwrap_or_default().hash(&mut h);
    Some(h.finish())
}

/// A refused value: its key and its text, as etcd holds them.
type RefusedValue = (Arc<str>, Arc<[u8]>);

/// The applied state.
#[derive(Debug, Default)]
pub struct EtcdState {
    entries: Applied,
    /// Keys whose latest value was refused (key, value): decoded again
    /// when the plugin catalog grows, so that an object naming a plugin
    /// loaded later is served without an edit.
    refused: BTreeMap<(Kind, Id), RefusedValue>,
    /// The etcd revision this state is current to (0: never read).
    pub revision: i64,
    /// The etcd cluster it was read from (0: not known yet).
    pub cluster_id: u64,
    /// Applied keys changed since the last [`EtcdState::take_delta`]: a
    /// new value, or `None` (gone).
    journal: Vec<KeyChange>,
    /// Bytes of the snapshot file's base and records, when it was loaded
    /// whole (see [`Start::sizes`]).
    file_sizes: Option<(u64, u64)>,
}

impl EtcdState {
    /// Number of applied objects.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// A put at `key`: the change, or `None` when the key is not served,
    /// the value is unchanged, or it is invalid (logged; the last good stays).
    pub fn put(&mut self, prefix: &str, key: &str, raw: &[u8]) -> Option<Change> {
        let (kind, id) = decode_key(prefix, key)?;
        if self
            .entries
            .get(&(kind, id.clone()))
            .is_some_and(|e| *e.raw == *raw)
        {
            return None;
        }
        let decoded = decode_value(kind, &id, key, raw);
        self.keep(kind, id, key, raw, decoded)
    }

    /// Keeps what decoding the value `raw` at `key` gave: the change, or
    /// `None` when it was refused (logged; the last good stays).
    fn keep(
        &mut self,
        kind: Kind,
        id: Id,
        key: &str,
        raw: &[u8],
        decoded: Result<Item, ObjectError>,
    ) -> Option<Change> {
        self.keep_decoded(Decoded::new(
            (kind, id),
            Arc::from(key),
            Arc::from(raw),
            decoded,
        ))
    }

    /// [`EtcdState::keep`], for a value decoded with its key and text
    /// already shared.
    fn keep_decoded(&mut self, d: Decoded) -> Option<Change> {
        let (kind, id) = d.slot;
        match d.result {
            Ok(item) => {
                self.refused.remove(&(kind, id.clone()));
                let applied = AppliedKey {
                    raw: d.raw,
                    plugins: d.plugins,
                };
                self.journal.push((d.key, Some(applied.raw.clone())));
                self.entries.insert((kind, id), applied);
                Some(Change::Put(item))
            }
            Err(e) => {
                tracing::error!(key = %d.key, error = %e, "invalid value in etcd skipped; its last good version stays");
                self.refused.insert((kind, id), (d.key, d.raw));
                None
            }
        }
    }

    /// Decodes again (the plugin catalog grew) every refused value and
    /// every applied one that names plugins: the objects that decode
    /// differently now, as puts; a value that fails keeps its last good
    /// version. Values naming no plugin decode the same whatever the
    /// catalog, and are not read.
    pub fn redecode(&mut self, prefix: &str) -> Vec<Change> {
        let mut changes = Vec::new();
        for ((kind, id), (key, raw)) in std::mem::take(&mut self.refused) {
            match decode_value(kind, &id, &key, &raw) {
                Ok(item) => {
                    let applied = AppliedKey {
                        raw,
                        plugins: plugin_fingerprint(&item.object),
                    };
                    self.journal.push((key, Some(applied.raw.clone())));
                    self.entries.insert((kind, id), applied);
                    changes.push(Change::Put(item));
                }
                Err(_) => {
                    self.refused.insert((kind, id), (key, raw));
                }
            }
        }
        for ((kind, id), e) in &mut self.entries {
            if e.plugins.is_none() {
                continue;
            }
            let key = encode_key(prefix, *kind, id);
            match decode_value(*kind, id, &key, &e.raw) {
                Ok(item) => {
                    let now = plugin_fingerprint(&item.object);
                    if now != e.plugins {
                        e.plugins = now;
                        changes.push(Change::Put(item));
                    }
                }
                Err(err) => {
                    tracing::error!(key = %key, error = %err, "value refused on re-decode; its last good version stays");
                }
            }
        }
        // Objects a refused one needs go first; then by id, as the
        // applied keys are in no order.
        changes.sort_by(|a, b| a.apply_order().cmp(&b.apply_order()));
        changes
    }

    /// A delete at `key`: the change, or `None` when nothing was applied there.
    pub fn delete(&mut self, prefix: &str, key: &str) -> Option<Change> {
        let (kind, id) = decode_key(prefix, key)?;
        self.refused.remove(&(kind, id.clone()));
        self.entries.remove(&(kind, id.clone()))?;
        self.journal.push((Arc::from(key), None));
        Some(Change::Delete { kind, id })
    }

    /// Replaces the state with a full read (`kvs` at `revision`) and returns
    /// the difference: puts in dependency order, then deletes in reverse
    /// (into an empty state: every valid object, as puts).
    /// A key whose new value is invalid keeps its last good version.
    pub fn replace(
        &mut self,
        prefix: &str,
        kvs: Vec<(String, Vec<u8>)>,
        revision: i64,
    ) -> Vec<Change> {
        let mut replacing = self.begin_replace(prefix);
        self.replace_page(&mut replacing, prefix, kvs);
        self.finish_replace(replacing, revision)
    }

    /// Starts a [`EtcdState::replace`] that takes its keys page by page
    /// ([`EtcdState::replace_page`]), decoding each page's new values while
    /// the next is read, until [`EtcdState::finish_replace`] (or
    /// [`EtcdState::abort_replace`], which leaves the state as it was).
    pub fn begin_replace(&mut self, prefix: &str) -> Replacing {
        Replacing {
            prefix: prefix.to_owned(),
            old: std::mem::take(&mut self.entries),
            // What is still refused is found again.
            refused: std::mem::take(&mut self.refused),
            pool: DecodePool::default(),
            keys: 0,
        }
    }

    /// The next keys (in key order) of a full read.
    pub fn replace_page(
        &mut self,
        replacing: &mut Replacing,
        prefix: &str,
        kvs: Vec<(String, Vec<u8>)>,
    ) {
        replacing.keys += kvs.len();
        let mut todo = Vec::new();
        for (key, raw) in kvs {
            let Some(slot) = decode_key(prefix, &key) else {
                continue;
            };
            if let Some(e) = replacing.old.remove(&slot) {
                if *e.raw == *raw {
                    self.entries.insert(slot, e);
                    continue;
                }
                // Kept while the new value is refused.
                self.entries.insert(slot.clone(), e);
            }
            todo.push(Pending { slot, key, raw });
        }
        replacing.pool.submit(todo);
    }

    /// Ends a full read at `revision`: what [`EtcdState::replace`] returns.
    pub fn finish_replace(&mut self, replacing: Replacing, revision: i64) -> Vec<Change> {
        let Replacing {
            old, pool, prefix, ..
        } = replacing;
        let mut puts = Vec::new();
        for d in pool.finish() {
            if let Some(c) = self.keep_decoded(d) {
                puts.push(c);
            }
        }
        // Read in key order: only the kinds are put in order.
        puts.sort_by_key(|c| c.apply_order().0);
        let rank = Kind::apply_rank;
        let mut gone: Vec<_> = old.into_iter().collect();
        gone.sort_by_key(|((k, id), _)| (std::cmp::Reverse(rank(*k)), id.clone()));
        for ((kind, id), _) in gone {
            self.journal
                .push((Arc::from(encode_key(&prefix, kind, &id)), None));
            puts.push(Change::Delete { kind, id });
        }
        self.revision = revision;
        puts
    }

    /// Gives up a full read (it failed half-way): the state is as before it.
    pub fn abort_replace(&mut self, replacing: Replacing) {
        // Every key is either still in `old` or was put back unchanged.
        self.entries.extend(replacing.old);
        self.refused = replacing.refused;
    }

    /// The keys changed since the last call, for the snapshot file's writer.
    pub fn take_delta(&mut self) -> Delta {
        Delta {
            revision: self.revision,
            cluster_id: self.cluster_id,
            changes: std::mem::take(&mut self.journal),
            whole: None,
        }
    }

    /// Where the snapshot file's writer starts: this state's revision and
    /// cluster, and the sizes of the file it was loaded from, if that can
    /// be appended to.
    pub fn writer_start(&self) -> Start {
        Start {
            revision: self.revision,
            cluster_id: self.cluster_id,
            sizes: self.file_sizes,
        }
    }

    /// Every applied key under `prefix` with its value (shared).
    pub fn pairs(&self, prefix: &str) -> Vec<KeyValue> {
        self.entries
            .iter()
            .map(|((kind, id), e)| (Arc::from(encode_key(prefix, *kind, id)), e.raw.clone()))
            .collect()
    }

    /// Loads a snapshot file written for `prefix`, with the objects it
    /// holds (decoded, in dependency order); `None` (logged) when it is
    /// missing, unreadable, or for another prefix.
    pub fn load(prefix: &str, path: &Path) -> Option<(EtcdState, Vec<Item>)> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "etcd snapshot file not read");
                return None;
            }
        };
        let loaded = match super::snapshot_file::read(path, &text) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "etcd snapshot file is not valid; ignored");
                return None;
            }
        };
        drop(text);
        let file = loaded.file;
        if file.prefix != prefix {
            tracing::warn!(file = %path.display(), prefix = %file.prefix, "etcd snapshot file is for another prefix; ignored");
            return None;
        }
        let mut state = EtcdState::default();
        let kvs: Vec<_> = file
            .kvs
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect();
        let read = kvs.len();
        let items = puts(state.replace(prefix, kvs, file.revision));
        state.cluster_id = file.cluster_id;
        // The file holds what was just read: nothing to write back.
        state.journal.clear();
        // Refused values are not in the file, and the writer's view holds
        // the applied ones only: appending to a file whose base holds more
        // would bring them back on the next load.
        let same = state.entries.len() == read;
        state.file_sizes = (!loaded.torn && same).then_some((loaded.base_bytes, loaded.log_bytes));
        Some((state, items))
    }
}

/// The objects `changes` puts, in their order (a replace of an empty
/// state gives puts only: the whole set).
pub fn puts(changes: Vec<Change>) -> Vec<Item> {
    changes
        .into_iter()
        .filter_map(|c| match c {
            Change::Put(item) => Some(item),
            Change::Delete { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: &[u8] = br#"{"id":"u","nodes":{"127.0.0.1:1":1}}"#;
    const R1: &[u8] = br#"{"id":"1","uri":"/a","upstream_id":"u"}"#;

    #[test]
    fn keys_name_kind_and_id() {
        assert_eq!(
            decode_key("/apisix", "/apisix/routes/1"),
            Some((Kind::Route, Id("1".into())))
        );
        assert_eq!(decode_key("/apisix", "/apisix/routes"), None);
        assert_eq!(
            decode_key("/apisix", "/apisix/consumers/jack/credentials/k1"),
            Some((Kind::Credential, Id("jack/credentials/k1".into())))
        );
        assert_eq!(decode_key("/apisix", "/apisix/credentials/k1"), None);
        assert_eq!(decode_key("/apisix", "/apisix/routes/a b"), None);
        assert_eq!(decode_key("/apisix", "/other/routes/1"), None);
    }

    #[test]
    fn keys_are_made_again_from_kind_and_id() {
        for key in [
            "/apisix/routes/1",
            "/apisix/consumers/jack",
            "/apisix/consumers/jack/credentials/k1",
            "/apisix/plugin_metadata/limit-count",
        ] {
            let (kind, id) = decode_key("/apisix", key).expect(key);
            assert_eq!(encode_key("/apisix", kind, &id), key);
        }
    }

    /// `n` routes (`bad` among them refused: its uri is a number) and
    /// their upstream, as a full read returns them (key order).
    fn full_set(n: usize, uri: &str, bad: usize) -> Vec<(String, Vec<u8>)> {
        let mut kvs: Vec<(String, Vec<u8>)> = (0..n)
            .map(|i| {
                let v = if i == bad {
                    format!(r#"{{"id":"{i}","uri":{i},"upstream_id":"u"}}"#)
                } else {
                    format!(r#"{{"id":"{i}","uri":"/{uri}/{i}","upstream_id":"u"}}"#)
                };
                (format!("/apisix/routes/{i}"), v.into_bytes())
            })
            .collect();
        kvs.push(("/apisix/upstreams/u".to_owned(), UP.to_vec()));
        kvs.sort();
        kvs
    }

    /// What a state applies: each key with its value, and the refused keys.
    fn applied(s: &EtcdState) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
        let mut entries: Vec<_> = s
            .entries
            .iter()
            .map(|((kind, id), e)| (encode_key("/apisix", *kind, id), e.raw.to_vec()))
            .collect();
        entries.sort();
        let refused = s.refused.values().map(|(k, _)| k.to_string());
        (entries, refused.collect())
    }

    fn ids(changes: &[Change]) -> Vec<String> {
        let id = |c: &Change| match c {
            Change::Put(i) => format!("put {}", i.id.0),
            Change::Delete { id, .. } => format!("delete {}", id.0),
        };
        changes.iter().map(id).collect()
    }

    #[test]
    fn a_read_in_pages_applies_what_one_read_does_and_an_abort_changes_nothing() {
        // Enough values for the decoding threads, in pages of several chunks.
        let first = full_set(9000, "a", 4321);
        let mut whole = EtcdState::default();
        let whole_changes = whole.replace("/apisix", first.clone(), 5);
        let mut paged = EtcdState::default();
        let mut r = paged.begin_replace("/apisix");
        for page in first.chunks(2500) {
            paged.replace_page(&mut r, "/apisix", page.to_vec());
        }
        let paged_changes = paged.finish_replace(r, 5);
        assert_eq!(ids(&paged_changes), ids(&whole_changes));
        assert_eq!(paged_changes.len(), 9000, "the upstream and 8999 routes");
        assert_eq!(applied(&paged), applied(&whole));
        assert_eq!(applied(&paged).1, ["/apisix/routes/4321"]);

        // A read that fails half-way, after pages that change values, drop
        // others' keys and fix the refused one: nothing of it is applied.
        let before = applied(&paged);
        let second = full_set(7000, "b", usize::MAX);
        let mut r = paged.begin_replace("/apisix");
        for page in second.chunks(2500).take(2) {
            paged.replace_page(&mut r, "/apisix", page.to_vec());
        }
        paged.abort_replace(r);
        assert_eq!(applied(&paged), before);
        assert_eq!(paged.revision, 5);

        // The read done again gives the whole difference.
        let changes = paged.replace("/apisix", second.clone(), 6);
        let expected = whole.replace("/apisix", second, 6);
        assert_eq!(ids(&changes), ids(&expected));
        assert_eq!(changes.len(), 7000 + 2000, "puts, then the deletes");
        assert_eq!(applied(&paged), applied(&whole));
    }

    #[test]
    fn bad_values_keep_the_last_good_one() {
        let mut s = EtcdState::default();
        assert!(s.put("/apisix", "/apisix/upstreams/u", UP).is_some());
        assert!(s.put("/apisix", "/apisix/routes/1", R1).is_some());
        assert!(
            s.put("/apisix", "/apisix/routes/1", R1).is_none(),
            "unchanged"
        );
        assert!(s.put("/apisix", "/apisix/routes/1", b"{").is_none());
        assert!(s
            .put("/apisix", "/apisix/routes/1", br#"{"uri":3}"#)
            .is_none());
        assert_eq!(s.len(), 2);
        assert!(s.delete("/apisix", "/apisix/routes/1").is_some());
        assert!(s.delete("/apisix", "/apisix/routes/1").is_none());
    }

    #[test]
    fn full_reads_give_the_difference_in_order() {
        let mut s = EtcdState::default();
        s.put("/apisix", "/apisix/upstreams/u", UP);
        s.put("/apisix", "/apisix/routes/1", R1);
        let r2 = br#"{"id":"2","uri":"/b","upstream_id":"u"}"#.to_vec();
        let kvs = vec![
            ("/apisix/routes/2".to_owned(), r2),
            ("/apisix/upstreams/u".to_owned(), UP.to_vec()),
        ];
        let changes = s.replace("/apisix", kvs, 9);
        assert_eq!(changes.len(), 2);
        assert!(matches!(&changes[0], Change::Put(i) if i.id.0 == "2"));
        assert!(matches!(&changes[1], Change::Delete { id, .. } if id.0 == "1"));
        assert_eq!(s.revision, 9);
    }

    #[test]
    fn snapshot_file_round_trips() {
        let dir = std::env::temp_dir().join(format!("rg-etcd-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("snap.json");
        let mut s = EtcdState::default();
        s.put("/apisix", "/apisix/upstreams/u", UP);
        s.put("/apisix", "/apisix/routes/1", R1);
        let cred = br#"{"plugins":{}}"#;
        assert!(s
            .put(
                "/apisix",
                "/apisix/consumers/jack",
                br#"{"username":"jack"}"#
            )
            .is_some());
        assert!(s
            .put("/apisix", "/apisix/consumers/jack/credentials/k1", cred)
            .is_some());
        s.revision = 7;
        s.cluster_id = 42;
        super::super::snapshot_file::Export {
            prefix: "/apisix".into(),
            revision: s.revision,
            cluster_id: s.cluster_id,
            kvs: s.pairs("/apisix"),
        }
        .write(&path)
        .unwrap();
        let (back, items) = EtcdState::load("/apisix", &path).unwrap();
        assert_eq!((back.len(), back.revision, back.cluster_id), (4, 7, 42));
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].kind(), Kind::Upstream, "dependency order");
        assert!(EtcdState::load("/other", &path).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
