//! The standalone file source: reads `conf/apisix.yaml`, checks its size and
//! mtime every interval, and on a change re-reads it and sends only the
//! objects that changed. A bad file keeps everything as it was; a bad object
//! keeps its last good version.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use super::standalone::{parse_standalone, Fingerprint, Standalone};
use super::{Change, ConfigSource, SourceEvent};
use crate::config::{FileError, Id, Kind};

/// Watches one standalone file.
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    interval: Duration,
}

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// The objects the last good read sent, by kind and id, with the
/// fingerprint of their JSON. The decoded objects themselves live only in
/// the snapshot builder's store.
type Known = HashMap<(Kind, Id), Fingerprint>;

impl FileSource {
    /// A source for `path`, checked every `interval`.
    pub fn new(path: impl Into<PathBuf>, interval: Duration) -> Self {
        FileSource {
            path: path.into(),
            interval,
        }
    }

    /// Reads and parses the file once (for `--test-config` and the first load).
    pub fn read(&self) -> Result<Standalone, FileError> {
        let name = self.path.display().to_string();
        let text = std::fs::read_to_string(&self.path).map_err(|source| FileError::Read {
            path: name.clone(),
            source,
        })?;
        parse_standalone(&text, &name)
    }

    fn stamp(&self) -> Option<Stamp> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some(Stamp {
            len: m.len(),
            modified: m.modified().ok(),
        })
    }

    /// Reads the file and folds it into `known`: valid objects replace
    /// theirs, invalid ones keep their last good version (nothing is sent
    /// for them), absent ones go. Returns the changes (every valid object
    /// with `all`, else only those whose JSON changed), or `None` when the
    /// file as a whole is unusable.
    fn reload(&self, known: &mut Known, all: bool) -> Option<Vec<Change>> {
        let parsed = match self.read() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "config file not loaded; keeping the last good config");
                return None;
            }
        };
        for key in &parsed.ignored {
            tracing::warn!(file = %self.path.display(), key = %key, "not served by this build yet; ignored");
        }
        let mut next: Known = HashMap::with_capacity(parsed.items.len());
        for e in &parsed.errors {
            tracing::error!(kind = %e.kind, id = %e.id, field = %e.field, reason = %e.reason,
                "invalid object skipped; its last good version stays");
            let key = (e.kind, Id(e.id.clone()));
            if let Some(old) = known.get(&key) {
                next.insert(key, *old);
            }
        }
        let mut puts = Vec::new();
        for (item, print) in parsed.items {
            let key = (item.kind(), item.id.clone());
            if all || known.get(&key) != Some(&print) {
                puts.push(item);
            }
            next.insert(key, print);
        }
        // Puts in dependency order (upstreams, services, routes) so a route
        // never arrives before the upstream it names; deletes in reverse.
        puts.sort_by(|a, b| (a.kind().apply_rank(), &a.id).cmp(&(b.kind().apply_rank(), &b.id)));
        let mut changes: Vec<Change> = puts.into_iter().map(Change::Put).collect();
        for kind in Kind::SERVED.into_iter().rev() {
            let mut gone: Vec<Id> = known
                .keys()
                .filter(|(k, id)| *k == kind && !next.contains_key(&(*k, id.clone())))
                .map(|(_, id)| id.clone())
                .collect();
            gone.sort();
            changes.extend(gone.into_iter().map(|id| Change::Delete { kind, id }));
        }
        *known = next;
        super::release_freed_memory();
        Some(changes)
    }

    fn run(self, events: UnboundedSender<SourceEvent>) {
        let mut known = Known::new();
        let mut stamp = self.stamp();
        let mut plugins = crate::config::plugin_catalog_generation();
        // The first read always sends a full set, empty when the file is bad,
        // so the gateway starts and keeps watching.
        let full = self
            .reload(&mut known, true)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| match c {
                Change::Put(item) => Some(item),
                Change::Delete { .. } => None,
            })
            .collect();
        if events.send(SourceEvent::Full(full)).is_err() {
            return;
        }
        loop {
            std::thread::sleep(self.interval);
            if events.is_closed() {
                return;
            }
            // The builder frees the objects sent once it has copied them,
            // whenever that is: their pages go back at the next check.
            super::release_freed_memory();
            // New plugins (a reload): every object is decoded again, and
            // every valid one is sent, as their JSON did not change.
            let generation = crate::config::plugin_catalog_generation();
            if generation != plugins {
                plugins = generation;
                stamp = self.stamp();
                tracing::info!(file = %self.path.display(), "plugins reloaded; decoding the config file again");
                if let Some(changes) = self.reload(&mut known, true) {
                    if events.send(SourceEvent::Changes(changes)).is_err() {
                        return;
                    }
                }
                continue;
            }
            let now = self.stamp();
            if now == stamp {
                continue;
            }
            stamp = now;
            tracing::info!(file = %self.path.display(), "config file changed; reloading");
            if let Some(changes) = self.reload(&mut known, false) {
                if !changes.is_empty() && events.send(SourceEvent::Changes(changes)).is_err() {
                    return;
                }
            }
        }
    }
}

impl ConfigSource for FileSource {
    fn start(self: Box<Self>, events: UnboundedSender<SourceEvent>) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("config-file".into())
            .spawn(move || self.run(events))
            .map(|_| ())
    }
}
