//! The etcd watch loop: one range read of the prefix, then one watch of the
//! whole prefix from the read's revision + 1 with progress notify. It owns
//! reconnection: a broken or silent stream is retried with backoff and
//! jitter from the last applied revision + 1 on any healthy endpoint; a
//! watch cancelled for compaction, or a revision that went backwards, is
//! followed by a full re-read that sends only the difference, and so is a
//! reconnection that finds another etcd cluster (its id in the response
//! headers differs). Full reads come in pages, at one revision.

use std::time::{Duration, Instant};

use etcd_client::{Client, EventType, GetOptions, WatchOptions};
use tokio::sync::mpsc::UnboundedSender;

use super::client::MAX_MESSAGE;
use super::snapshot_writer;
use super::state::EtcdState;
use crate::config::EtcdSection;
use crate::source::{Change, Item, SourceEvent};

/// How often the loop asks etcd for a progress notification.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// A stream that says nothing for this long is treated as broken.
const SILENCE: Duration = Duration::from_secs(7);
/// Least time between two writes of the snapshot file.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// Why one session with etcd ended.
enum End {
    /// The receiver is gone: stop for good.
    Closed,
    /// The state must be re-read in full (compaction, revision went back).
    Resync(String),
    /// etcd failed or fell silent: reconnect after a backoff.
    Broken(String),
}

/// The loop's state across sessions.
pub(super) struct Watch {
    pub settings: EtcdSection,
    pub state: EtcdState,
    pub events: UnboundedSender<SourceEvent>,
    /// Whether the first `Full` event was sent.
    pub sent_full: bool,
    /// What the first `Full` event sends: the snapshot file's objects, or
    /// etcd's first read (the state keeps values, not objects).
    first: Vec<Item>,
    /// Set when a full re-read is due.
    pub resync: bool,
    dirty_since: Option<Instant>,
    last_save: Option<Instant>,
    /// The thread that writes the snapshot file (so the watch never waits
    /// on disk); `None` without a snapshot file.
    saver: Option<snapshot_writer::Saver>,
    rng: u64,
    /// Set once a session's watch is established (a later break starts a fresh backoff).
    watching: bool,
    /// Set once a run of failures was looked into (TLS refusals are logged
    /// once per run).
    probed: bool,
    /// The plugin catalog's generation the state was decoded with.
    plugins: u64,
}

impl Watch {
    /// A loop from `state` (empty, or the snapshot file's with its
    /// decoded objects `first`).
    pub fn new(
        settings: EtcdSection,
        state: EtcdState,
        first: Vec<Item>,
        events: UnboundedSender<SourceEvent>,
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()) << 32;
        let path = &settings.snapshot_file;
        let saver = (!path.as_os_str().is_empty())
            .then(|| snapshot_writer::start(path, &settings.prefix, state.writer_start()));
        Watch {
            settings,
            resync: state.revision == 0,
            state,
            events,
            sent_full: false,
            first,
            dirty_since: None,
            last_save: None,
            saver,
            rng: seed | 1,
            watching: false,
            probed: false,
            plugins: crate::config::plugin_catalog_generation(),
        }
    }

    /// Runs until the receiver is dropped.
    pub async fn run(mut self) {
        let mut backoff = Duration::from_millis(100);
        // A state from the snapshot file is served at once, before etcd
        // answers (whatever its revision: the first read then sends only
        // the difference, so its objects must have gone first).
        if (!self.resync || !self.first.is_empty()) && !self.send_full() {
            return;
        }
        loop {
            let end = match super::connect(&self.settings).await {
                Ok(client) => self.session(client).await,
                Err(e) => End::Broken(format!("connect: {}", super::describe(&e))),
            };
            match end {
                End::Closed => return,
                End::Resync(why) => {
                    tracing::warn!(reason = %why, "etcd: full re-read of the prefix");
                    self.resync = true;
                    backoff = Duration::from_millis(100);
                }
                End::Broken(why) => {
                    crate::stats::set_etcd_reachable(false);
                    if std::mem::take(&mut self.watching) {
                        backoff = Duration::from_millis(100);
                        self.probed = false;
                    }
                    if !std::mem::replace(&mut self.probed, true) {
                        super::probe::log_tls_refusal(&self.settings);
                    }
                    // Without a first config the gateway cannot start: send
                    // what we have (the snapshot file's state, or nothing).
                    if !self.send_full() {
                        return;
                    }
                    let wait = self.jitter(backoff);
                    tracing::warn!(reason = %why, retry_in = ?wait, revision = self.state.revision,
                        "etcd unreachable or watch broken; serving the last applied state");
                    self.save(true);
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// A random duration between half and all of `d`.
    fn jitter(&mut self, d: Duration) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let frac = 0.5 + (self.rng % 1000) as f64 / 2000.0;
        d.mul_f64(frac)
    }

    /// Sends the first `Full` event if it was not sent; false when the receiver is gone.
    fn send_full(&mut self) -> bool {
        if self.sent_full {
            return true;
        }
        self.sent_full = true;
        crate::source::lag::sent(self.state.revision);
        self.events
            .send(SourceEvent::Full(std::mem::take(&mut self.first)))
            .is_ok()
    }

    fn send(&mut self, changes: Vec<Change>) -> bool {
        if !self.send_full() {
            return false;
        }
        if changes.is_empty() {
            return true;
        }
        self.dirty_since.get_or_insert_with(Instant::now);
        crate::source::lag::sent(self.state.revision);
        self.events.send(SourceEvent::Changes(changes)).is_ok()
    }

    /// Whether the snapshot writer waits for the whole state, and there is
    /// one to send (read from etcd or from the file).
    fn whole_wanted(&self) -> bool {
        self.state.revision > 0 && self.saver.as_ref().is_some_and(|s| s.whole.is_set())
    }

    /// When changes not yet handed to the snapshot writer may go (or the
    /// whole state it asked for): nothing waiting, `None`.
    fn save_due(&self) -> Option<tokio::time::Instant> {
        if self.dirty_since.is_none() && !self.whole_wanted() {
            return None;
        }
        let due = self.last_save.map_or_else(Instant::now, |t| t + SAVE_EVERY);
        Some(tokio::time::Instant::from_std(due))
    }

    /// Hands what changed to the snapshot writer (at most every
    /// `SAVE_EVERY` unless `now`), with the whole state when it asked.
    fn save(&mut self, now: bool) {
        if self.dirty_since.is_none() && !self.whole_wanted() {
            return;
        }
        if !now && self.last_save.is_some_and(|t| t.elapsed() < SAVE_EVERY) {
            return;
        }
        let mut delta = self.state.take_delta();
        self.dirty_since = None;
        self.last_save = Some(Instant::now());
        if let Some(saver) = &self.saver {
            if self.state.revision > 0 && saver.whole.take() {
                delta.whole = Some(self.state.pairs(&self.settings.prefix));
            }
            if saver.tx.send(delta).is_err() {
                // The writer is gone (logged when it could not start).
                self.saver = None;
            }
        }
    }

    /// A full read of the prefix; the difference goes out. Each page's new
    /// values are decoded while the next page is read.
    async fn full_read(&mut self, client: &mut Client) -> Result<bool, String> {
        let prefix = self.settings.prefix.clone();
        let started = Instant::now();
        let mut replacing = self.state.begin_replace(&prefix);
        let state = &mut self.state;
        let read = super::read_prefix_pages(
            client,
            &format!("{prefix}/"),
            self.settings.read_page_size,
            |page| {
                let kvs = page
                    .into_iter()
                    .map(|kv| {
                        note_index(&prefix, kv.key(), kv.mod_revision());
                        let (key, value) = kv.into_key_value();
                        (String::from_utf8_lossy(&key).into_owned(), value)
                    })
                    .collect();
                state.replace_page(&mut replacing, &prefix, kvs);
            },
        )
        .await;
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                self.state.abort_replace(replacing);
                return Err(format!("range read: {}", super::describe(&e)));
            }
        };
        let revision = read.revision;
        crate::stats::etcd_index("x_etcd_index", revision);
        let first = !self.sent_full;
        let read_at = Instant::now();
        let keys = replacing.keys;
        let changes = self.state.finish_replace(replacing, revision);
        self.state.cluster_id = read.cluster_id;
        tracing::info!(
            revision,
            pages = read.pages,
            cluster_id = read.cluster_id,
            keys,
            served = self.state.len(),
            changes = changes.len(),
            read_ms = (read_at - started).as_millis() as u64,
            decode_ms = read_at.elapsed().as_millis() as u64,
            "etcd: prefix read"
        );
        self.resync = false;
        let large = keys >= crate::source::LARGE_LOAD;
        let sent = if first {
            self.dirty_since.get_or_insert_with(Instant::now);
            self.first = super::state::puts(changes);
            self.send_full()
        } else {
            self.send(changes)
        };
        // The read's pages (every key and value, as etcd sent them and as
        // copied) go back to the OS rather than stay with this thread.
        if large {
            crate::source::release_freed_memory();
        }
        Ok(sent)
    }

    /// One connection: (re)read if due, then watch until something ends it.
    async fn session(&mut self, mut client: Client) -> End {
        let prefix = self.settings.prefix.clone();
        // A revision below ours means etcd was restored: re-read.
        let status = client.get(
            format!("{prefix}/"),
            Some(GetOptions::new().with_prefix().with_count_only()),
        );
        let limit = self.settings.timeout().min(Duration::from_secs(5));
        let (now, cluster) = match tokio::time::timeout(limit, status).await {
            Ok(Ok(r)) => r
                .header()
                .map_or((0, 0), |h| (h.revision(), h.cluster_id())),
            Ok(Err(e)) => return End::Broken(format!("status read: {}", super::describe(&e))),
            Err(_) => return End::Broken(format!("status read: no answer within {limit:?}")),
        };
        crate::stats::set_etcd_reachable(true);
        crate::stats::etcd_index("x_etcd_index", now);
        if now < self.state.revision {
            tracing::warn!(
                etcd = now,
                applied = self.state.revision,
                "etcd revision went backwards"
            );
            self.resync = true;
        }
        // Another cluster (a new etcd at the same address, a restored
        // backup), or one not known (a snapshot file without it): its
        // revisions say nothing about what was applied.
        if cluster != 0 && cluster != self.state.cluster_id && !self.resync {
            tracing::warn!(
                was = self.state.cluster_id,
                now = cluster,
                "etcd: another cluster answers than the one the state was read from"
            );
            self.resync = true;
        }
        if self.resync {
            match self.full_read(&mut client).await {
                Ok(true) => {}
                Ok(false) => return End::Closed,
                Err(e) => return End::Broken(e),
            }
        }
        self.save(true);
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(self.state.revision + 1)
            .with_progress_notify();
        let watch = client
            .watch_client()
            .max_decoding_message_size(MAX_MESSAGE)
            .watch(format!("{prefix}/"), Some(opts))
            .await;
        let (mut watcher, mut stream) = match watch {
            Ok(w) => w,
            Err(e) => return End::Broken(format!("watch: {}", super::describe(&e))),
        };
        tracing::info!(from = self.state.revision + 1, "etcd: watching {prefix}/");
        self.watching = true;
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        let mut heard = Instant::now();
        loop {
            // Changes held back by the save rate go out once it allows,
            // not at the next progress tick (seconds later).
            let save_due = self.save_due();
            tokio::select! {
                _ = tokio::time::sleep_until(save_due.unwrap_or_else(tokio::time::Instant::now)), if save_due.is_some() => {
                    self.save(false);
                }
                _ = tick.tick() => {
                    if heard.elapsed() > SILENCE {
                        return End::Broken(format!("watch silent for {:?}", heard.elapsed()));
                    }
                    if self.events.is_closed() {
                        return End::Closed;
                    }
                    self.save(false);
                    // New plugins (a reload): objects decode again.
                    let generation = crate::config::plugin_catalog_generation();
                    if generation != self.plugins {
                        self.plugins = generation;
                        let changes = self.state.redecode(&self.settings.prefix);
                        if !self.send(changes) {
                            return End::Closed;
                        }
                    }
                    if let Err(e) = watcher.request_progress().await {
                        return End::Broken(format!("progress request: {}", super::describe(&e)));
                    }
                }
                msg = stream.message() => {
                    heard = Instant::now();
                    let resp = match msg {
                        Ok(Some(r)) => r,
                        Ok(None) => return End::Broken("watch stream closed".into()),
                        Err(e) => return End::Broken(format!("watch: {}", super::describe(&e))),
                    };
                    if resp.canceled() {
                        if resp.compact_revision() > 0 {
                            return End::Resync(format!("watch cancelled: compacted at {}", resp.compact_revision()));
                        }
                        return End::Broken(format!("watch cancelled: {}", resp.cancel_reason()));
                    }
                    let header_rev = resp.header().map_or(0, |h| h.revision());
                    if header_rev > 0 && header_rev < self.state.revision {
                        return End::Resync(format!("revision went backwards ({header_rev} < {})", self.state.revision));
                    }
                    let mut changes = Vec::new();
                    let mut rev = self.state.revision;
                    for ev in resp.events() {
                        let Some(kv) = ev.kv() else { continue };
                        let key = String::from_utf8_lossy(kv.key());
                        rev = rev.max(kv.mod_revision());
                        note_index(&prefix, kv.key(), kv.mod_revision());
                        let c = match ev.event_type() {
                            EventType::Put => self.state.put(&prefix, &key, kv.value()),
                            EventType::Delete => self.state.delete(&prefix, &key),
                        };
                        changes.extend(c);
                    }
                    if resp.events().is_empty() {
                        // A progress notification: everything up to it was sent.
                        rev = rev.max(header_rev);
                    }
                    crate::stats::etcd_index("x_etcd_index", header_rev);
                    crate::source::lag::seen(rev.max(header_rev));
                    if rev != self.state.revision {
                        self.state.revision = rev;
                        crate::stats::etcd_index("prev_index", rev);
                        self.dirty_since.get_or_insert_with(Instant::now);
                    }
                    if !self.send(changes) {
                        return End::Closed;
                    }
                    self.save(false);
                }
            }
        }
    }
}

/// Records `key`'s modify revision under its kind's etcd modify index
/// (credentials count under `consumers`, as APISIX keeps them).
fn note_index(prefix: &str, key: &[u8], revision: i64) {
    let key = String::from_utf8_lossy(key);
    if let Some((kind, _)) = super::state::decode_key(prefix, &key) {
        let name = match kind {
            crate::config::Kind::Credential => "consumers",
            kind => kind.key(),
        };
        crate::stats::etcd_index(name, revision);
    }
}
