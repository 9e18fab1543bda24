//! The standalone file source: reads `conf/apisix.yaml`, checks its size and
//! mtime every interval, and on a change re-reads it and sends only the
//! objects that changed. A bad file keeps everything as it was; a bad object
//! keeps its last good version.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use super::standalone::{parse_standalone, Standalone};
use super::{Change, ConfigSource, Item, SourceEvent};
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

type Known = HashMap<(Kind, Id), (Item, serde_json::Value)>;

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
    /// theirs, invalid ones keep their last good version, absent ones go.
    /// Returns the changes, or `None` when the file as a whole is unusable.
    fn reload(&self, known: &mut Known) -> Option<Vec<Change>> {
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
            if let Some(old) = known.get(&(e.kind, Id(e.id.clone()))) {
                next.insert((e.kind, Id(e.id.clone())), old.clone());
            }
        }
        for (item, raw) in parsed.items {
            next.insert((item.kind(), item.id.clone()), (item, raw));
        }
        let mut changes = Vec::new();
        // Puts in dependency order (upstreams, services, routes) so a route
        // never arrives before the upstream it names; deletes in reverse.
        for kind in Kind::ALL {
            let mut puts: Vec<_> = next
                .iter()
                .filter(|((k, id), (_, raw))| {
                    *k == kind && known.get(&(*k, id.clone())).map(|(_, r)| r) != Some(raw)
                })
                .map(|(_, (item, _))| Change::Put(item.clone()))
                .collect();
            puts.sort_by(|a, b| change_id(a).cmp(change_id(b)));
            changes.extend(puts);
        }
        for kind in Kind::ALL.into_iter().rev() {
            let mut gone: Vec<Id> = known
                .keys()
                .filter(|(k, id)| *k == kind && !next.contains_key(&(*k, id.clone())))
                .map(|(_, id)| id.clone())
                .collect();
            gone.sort();
            changes.extend(gone.into_iter().map(|id| Change::Delete { kind, id }));
        }
        *known = next;
        Some(changes)
    }

    fn run(self, events: UnboundedSender<SourceEvent>) {
        let mut known = Known::new();
        let mut stamp = self.stamp();
        let mut plugins = crate::config::plugin_catalog_generation();
        // The first read always sends a full set, empty when the file is bad,
        // so the gateway starts and keeps watching.
        self.reload(&mut known);
        let full = known.values().map(|(i, _)| i.clone()).collect();
        if events.send(SourceEvent::Full(full)).is_err() {
            return;
        }
        loop {
            std::thread::sleep(self.interval);
            if events.is_closed() {
                return;
            }
            // New plugins (a reload): every object is decoded again, and
            // all of them are sent, as their raw values did not change.
            let generation = crate::config::plugin_catalog_generation();
            if generation != plugins {
                plugins = generation;
                stamp = self.stamp();
                tracing::info!(file = %self.path.display(), "plugins reloaded; decoding the config file again");
                if self.reload(&mut known).is_some() {
                    let full = known.values().map(|(i, _)| i.clone()).collect();
                    if events.send(SourceEvent::Full(full)).is_err() {
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
            if let Some(changes) = self.reload(&mut known) {
                if !changes.is_empty() && events.send(SourceEvent::Changes(changes)).is_err() {
                    return;
                }
            }
        }
    }
}

fn change_id(c: &Change) -> &Id {
    match c {
        Change::Put(i) => &i.id,
        Change::Delete { id, .. } => id,
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
