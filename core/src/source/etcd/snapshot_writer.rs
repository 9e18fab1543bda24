//! The thread that keeps the snapshot file ([`super::snapshot_file`]) up
//! to date, so that the watch never waits on the disk. It gets the keys
//! that changed and appends one record per batch. It keeps no copy of the
//! state: when it needs a new base (no usable file yet, the records have
//! outgrown the base, or an append failed), it asks for the whole state
//! ([`WholeWanted`]) and the watch sends it, shared with its own, with its
//! next delta. A change costs a write of what changed; a base's full write
//! happens once per base-sized run of changes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use super::snapshot_file::{append_private, Export, RecordOut};

/// Records smaller than this never trigger a new base on their own.
const MIN_LOG_BYTES: u64 = 256 * 1024;

/// A key put (with its new value) or deleted (`None`).
pub type KeyChange = (Arc<str>, Option<Arc<[u8]>>);

/// A key with its value, shared with the watch's state.
pub type KeyValue = (Arc<str>, Arc<[u8]>);

/// What changed in the applied state since the previous delta.
#[derive(Debug, Default)]
pub struct Delta {
    /// The revision the state is current to after it.
    pub revision: i64,
    /// The cluster the state was read from.
    pub cluster_id: u64,
    /// Keys in the order they changed: a new value, or `None` (deleted).
    pub changes: Vec<KeyChange>,
    /// The whole state after `changes`, when the writer asked for it.
    pub whole: Option<Vec<KeyValue>>,
}

/// Where the state and the file stand when the writer starts.
#[derive(Debug, Default)]
pub struct Start {
    /// The revision the state is current to.
    pub revision: i64,
    /// The cluster it was read from.
    pub cluster_id: u64,
    /// Bytes of the file's base and of its records; `None`: the file must be
    /// written whole before anything is appended (missing, unreadable,
    /// or a record cut short).
    pub sizes: Option<(u64, u64)>,
}

/// Set by the writer when its next delta must bring the whole state; the
/// watch takes it when it sends one (once it has a state to send).
#[derive(Debug, Clone, Default)]
pub struct WholeWanted(Arc<AtomicBool>);

impl WholeWanted {
    /// Whether the writer waits for the whole state.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// True once per request: the delta about to go brings the state.
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The watch's side of the writer: where deltas go, and whether the next
/// one must bring the whole state.
#[derive(Debug)]
pub struct Saver {
    /// Deltas for the writer thread (it ends when this is dropped).
    pub tx: Sender<Delta>,
    /// The writer's request for the whole state.
    pub whole: WholeWanted,
}

/// The writer's view of the file (not of the state).
struct Writer {
    path: PathBuf,
    prefix: String,
    revision: i64,
    cluster_id: u64,
    /// Bytes of the base and of the records; `None`: no usable file yet.
    sizes: Option<(u64, u64)>,
    whole: WholeWanted,
}

impl Writer {
    /// Writes a new base when a delta brings the whole state (with the
    /// changes of the deltas after it), else appends one record of what
    /// `deltas` changed, and asks for the whole state when a base is due.
    fn write(&mut self, mut deltas: Vec<Delta>) -> std::io::Result<()> {
        if let Some(i) = deltas.iter().rposition(|d| d.whole.is_some()) {
            let after = deltas.split_off(i + 1);
            let mut kvs: BTreeMap<Arc<str>, Arc<[u8]>> = BTreeMap::new();
            for d in deltas.pop().into_iter().chain(after) {
                self.revision = d.revision;
                self.cluster_id = d.cluster_id;
                // The whole state is taken after its own delta's changes:
                // applying them again changes nothing.
                kvs.extend(d.whole.into_iter().flatten());
                for (k, v) in d.changes {
                    match v {
                        Some(v) => kvs.insert(k, v),
                        None => kvs.remove(&k),
                    };
                }
            }
            return self.write_base(kvs.into_iter().collect());
        }
        let mut changed: BTreeMap<Arc<str>, Option<Arc<[u8]>>> = BTreeMap::new();
        for d in deltas {
            self.revision = d.revision;
            self.cluster_id = d.cluster_id;
            changed.extend(d.changes);
        }
        let Some((base, log)) = self.sizes else {
            // Nothing usable to append to: the whole state comes next.
            self.whole.set();
            return Ok(());
        };
        if log > base.max(MIN_LOG_BYTES) {
            // Compaction: a new base from the next delta; records go on
            // until it comes.
            self.whole.set();
        }
        let record = RecordOut {
            revision: self.revision,
            cluster_id: self.cluster_id,
            put: changed
                .iter()
                .filter_map(|(k, v)| Some((&**k, String::from_utf8_lossy(v.as_deref()?))))
                .collect::<BTreeMap<&str, Cow<str>>>(),
            del: changed
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| &**k)
                .collect(),
        };
        let mut line = b"\n".to_vec();
        serde_json::to_writer(&mut line, &record).map_err(std::io::Error::other)?;
        match append_private(&self.path, &line) {
            Ok(()) => {
                self.sizes = Some((base, log + line.len() as u64));
                Ok(())
            }
            Err(e) => {
                tracing::warn!(file = %self.path.display(), error = %e,
                    "etcd snapshot file: append failed; writing it whole with the next delta");
                self.sizes = None;
                self.whole.set();
                Ok(())
            }
        }
    }

    /// Writes `kvs` as a new base. After a failure the next delta asks for
    /// the whole state again (retries go at the pace of changes).
    fn write_base(&mut self, kvs: Vec<KeyValue>) -> std::io::Result<()> {
        self.sizes = None;
        let export = Export {
            prefix: self.prefix.clone(),
            revision: self.revision,
            cluster_id: self.cluster_id,
            kvs,
        };
        let written = export.write(&self.path);
        // The whole state's list and its keys, made for this base, are
        // gone: the pages that held them go back to the OS now.
        crate::source::release_freed_memory();
        self.sizes = Some((written?, 0));
        Ok(())
    }
}

/// Starts the thread that keeps `path` up to date with the deltas sent on
/// the returned channel; it ends when the sender is dropped. Without a
/// thread (spawn failed, logged) deltas are dropped and no file is kept.
pub fn start(path: &Path, prefix: &str, start: Start) -> Saver {
    let (tx, rx) = std::sync::mpsc::channel::<Delta>();
    let whole = WholeWanted::default();
    if start.sizes.is_none() {
        whole.set();
    }
    let mut writer = Writer {
        path: path.to_owned(),
        prefix: prefix.to_owned(),
        revision: start.revision,
        cluster_id: start.cluster_id,
        sizes: start.sizes,
        whole: whole.clone(),
    };
    let spawned = std::thread::Builder::new()
        .name("etcd-snapshot".into())
        .spawn(move || run(&mut writer, &rx));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no etcd snapshot writer thread: the snapshot file is not kept");
    }
    Saver { tx, whole }
}

fn run(writer: &mut Writer, rx: &Receiver<Delta>) {
    yield_to_the_gateway();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        if let Err(e) = writer.write(batch) {
            tracing::warn!(file = %writer.path.display(), error = %e, "etcd snapshot file not written");
        }
    }
}

/// The writer thread's nice value: it runs below the gateway's other
/// threads whenever the cores are busy.
const WRITER_NICE: i32 = 10;

/// Lowers the calling thread's priority to [`WRITER_NICE`]. The file is a
/// fallback for a start without etcd; writing a base of 100k keys takes
/// a core for a good part of a second, and at start or after a resync it
/// would take it from the decoding and the build of the config the
/// gateway is waiting to serve. Under CFS a nice-10 thread still gets
/// about a tenth of a core beside one busy nice-0 thread, so the file is
/// never starved, only late.
fn yield_to_the_gateway() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority(PRIO_PROCESS, 0, n) sets the nice value of
        // the calling thread (on Linux, of the thread, not of the whole
        // process) and reads or writes no memory of ours.
        let set = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICE) };
        if set != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(),
                "etcd snapshot writer: priority not lowered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot_file::read;
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rg-snapwriter-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn delta(revision: i64, puts: &[(&str, &str)], dels: &[&str]) -> Delta {
        let mut changes: Vec<KeyChange> = puts
            .iter()
            .map(|(k, v)| (Arc::from(*k), Some(Arc::from(v.as_bytes()))))
            .collect();
        changes.extend(dels.iter().map(|k| (Arc::from(*k), None)));
        Delta {
            revision,
            cluster_id: 9,
            changes,
            whole: None,
        }
    }

    /// The watch's side as the tests play it: the applied state, sent
    /// whole with a delta when the writer asked for it.
    struct Feed {
        w: Writer,
        state: BTreeMap<Arc<str>, Arc<[u8]>>,
    }

    impl Feed {
        /// A writer with no usable file yet (it wants the whole state).
        fn new(path: &Path) -> Feed {
            let whole = WholeWanted::default();
            whole.set();
            Feed {
                w: Writer {
                    path: path.to_owned(),
                    prefix: "/apisix".into(),
                    revision: 0,
                    cluster_id: 0,
                    sizes: None,
                    whole,
                },
                state: BTreeMap::new(),
            }
        }

        fn write(&mut self, mut deltas: Vec<Delta>) {
            for d in &mut deltas {
                for (k, v) in &d.changes {
                    match v {
                        Some(v) => self.state.insert(k.clone(), v.clone()),
                        None => self.state.remove(k),
                    };
                }
                if self.w.whole.take() {
                    let pairs = self.state.iter().map(|(k, v)| (k.clone(), v.clone()));
                    d.whole = Some(pairs.collect());
                }
            }
            self.w.write(deltas).unwrap();
        }

        /// The state as the file should hold it.
        fn expected(&self) -> BTreeMap<String, String> {
            self.state
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v).into_owned()))
                .collect()
        }
    }

    fn load(path: &Path) -> (BTreeMap<String, String>, i64, u64, bool) {
        let text = std::fs::read(path).unwrap();
        let l = read(path, &text).unwrap();
        (l.file.kvs, l.file.revision, l.log_bytes, l.torn)
    }

    #[test]
    fn changes_are_appended_and_read_back_in_order() {
        let d = dir("append");
        let path = d.join("snap.json");
        let mut w = Feed::new(&path);
        w.write(vec![delta(
            1,
            &[("/apisix/routes/1", "a"), ("/apisix/routes/2", "b")],
            &[],
        )]);
        let base = std::fs::metadata(&path).unwrap().len();
        w.write(vec![delta(2, &[("/apisix/routes/1", "c")], &[])]);
        w.write(vec![
            delta(3, &[("/apisix/routes/3", "d")], &[]),
            delta(4, &[], &["/apisix/routes/2"]),
        ]);
        // The base was written once; the rest are records after it.
        let (kvs, rev, log, torn) = load(&path);
        assert!(log > 0 && std::fs::metadata(&path).unwrap().len() == base + log);
        let want: BTreeMap<String, String> = [("/apisix/routes/1", "c"), ("/apisix/routes/3", "d")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!((kvs, rev, torn), (want, 4, false));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn records_past_the_base_size_are_compacted_into_a_new_base() {
        let d = dir("compact");
        let path = d.join("snap.json");
        let mut w = Feed::new(&path);
        w.write(vec![delta(1, &[("/apisix/routes/1", "a")], &[])]);
        let value = "x".repeat(4096);
        let mut compacted = false;
        for rev in 2..200 {
            w.write(vec![delta(rev, &[("/apisix/routes/1", &value)], &[])]);
            let (_, _, log, _) = load(&path);
            compacted |= log == 0;
        }
        assert!(compacted, "never compacted");
        // Never more than the base plus a bounded run of records.
        assert!(std::fs::metadata(&path).unwrap().len() < 2 * MIN_LOG_BYTES + 3 * 4096);
        let (kvs, rev, _, _) = load(&path);
        assert_eq!((kvs.len(), rev), (1, 199));
        assert_eq!(kvs["/apisix/routes/1"], value);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_base_is_written_only_from_the_whole_state_the_watch_sends() {
        let d = dir("whole");
        let path = d.join("snap.json");
        let mut w = Feed::new(&path);
        // Asked for, but not sent (the watch had no state yet): nothing is
        // written, and the writer still asks.
        w.w.write(vec![delta(1, &[("/apisix/routes/1", "a")], &[])])
            .unwrap();
        assert!(!path.exists());
        assert!(w.w.whole.is_set());
        w.state
            .insert(Arc::from("/apisix/routes/1"), Arc::from(&b"a"[..]));
        w.write(vec![delta(2, &[("/apisix/routes/2", "b")], &[])]);
        assert!(!w.w.whole.is_set());
        assert_eq!(load(&path).0, w.expected());
        // An append that fails (the file replaced by a link, which appends
        // never follow) asks for the whole state; the next delta brings it
        // and a base replaces the link, with the failed batch's change.
        let elsewhere = d.join("elsewhere.json");
        std::fs::write(&elsewhere, b"{}").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        w.write(vec![delta(3, &[("/apisix/routes/3", "c")], &[])]);
        assert!(w.w.whole.is_set());
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"{}");
        w.write(vec![delta(4, &[], &["/apisix/routes/1"])]);
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_file());
        let (kvs, rev, log, torn) = load(&path);
        assert_eq!((kvs, rev, log, torn), (w.expected(), 4, 0, false));
        assert_eq!(w.expected().len(), 2);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_writer_thread_runs_below_the_gateways_priority() {
        let d = dir("nice");
        let path = d.join("snap.json");
        let saver = start(&path, "/apisix", Start::default());
        let mut first = delta(1, &[("/apisix/routes/1", "a")], &[]);
        assert!(
            saver.whole.take(),
            "a writer without a file asks for the state"
        );
        first.whole = Some(vec![(Arc::from("/apisix/routes/1"), Arc::from(&b"a"[..]))]);
        saver.tx.send(first).unwrap();
        let written = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !path.exists() && std::time::Instant::now() < written {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(path.exists(), "the writer wrote nothing");
        // While `saver` lives, its thread does too: "etcd-snapshot", nice 10
        // (field 19 of its stat; a writer of another test may be at 0 for
        // the moment after its spawn, so one at WRITER_NICE is the check).
        let nices: Vec<i64> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| {
                let t = t.ok()?.path();
                let comm = std::fs::read_to_string(t.join("comm")).ok()?;
                let stat = std::fs::read_to_string(t.join("stat")).ok()?;
                // The fields after the name in parentheses: state is 3rd, nice 19th.
                let after = stat.rsplit_once(')')?.1;
                let nice = after.split_whitespace().nth(16)?.parse().ok()?;
                (comm.trim() == "etcd-snapshot").then_some(nice)
            })
            .collect();
        assert!(
            nices.contains(&(WRITER_NICE as i64)),
            "writer threads' nice values: {nices:?}"
        );
        drop(saver);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_record_cut_short_is_ignored_with_what_came_before_it_kept() {
        let d = dir("torn");
        let path = d.join("snap.json");
        let mut w = Feed::new(&path);
        w.write(vec![delta(1, &[("/apisix/routes/1", "a")], &[])]);
        w.write(vec![delta(2, &[("/apisix/routes/2", "b")], &[])]);
        append_private(
            &path,
            br#"
{"revision":3,"put":{"/apisix/routes/3":"#,
        )
        .unwrap();
        let (kvs, rev, _, torn) = load(&path);
        assert_eq!((kvs.len(), rev, torn), (2, 2, true));
        let _ = std::fs::remove_dir_all(&d);
    }
}
