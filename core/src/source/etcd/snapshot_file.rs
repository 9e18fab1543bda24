//! The local snapshot file of the etcd source: the last applied keys and
//! values, their revision and the id of the cluster they came from.
//!
//! The file is a base (the whole state as one JSON object) followed by
//! records appended as keys change (one JSON object a line: the revision,
//! the keys put and the keys deleted), so that a change costs a write of
//! what changed, not of the whole state; the writer
//! ([`super::snapshot_writer`]) compacts it into a new base once the
//! records outgrow the base. A record cut short by a crash is ignored on
//! load, with a warning.
//!
//! It holds consumer keys and TLS private keys, so it is written readable
//! by its owner only: a base goes into a temp file beside it under an
//! unpredictable name (created exclusively, mode 0600), written, fsynced,
//! renamed into place, and the directory fsynced; records are appended
//! only to that same file, never through a link.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The base's shape.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// The key prefix the state is for.
    pub prefix: String,
    /// The revision the state is current to.
    pub revision: i64,
    /// The etcd cluster the state was read from (0: unknown, as in files
    /// written before it was kept).
    #[serde(default)]
    pub cluster_id: u64,
    /// Key -> value text, as etcd held them.
    pub kvs: BTreeMap<String, String>,
}

/// One appended record, as read back.
#[derive(Debug, Deserialize)]
struct Record {
    revision: i64,
    #[serde(default)]
    cluster_id: u64,
    /// Keys put since the previous record, with their values.
    #[serde(default)]
    put: BTreeMap<String, String>,
    /// Keys deleted since the previous record.
    #[serde(default)]
    del: Vec<String>,
}

/// One appended record, as written (borrowing the writer's state).
#[derive(Debug, Serialize)]
pub(super) struct RecordOut<'a> {
    pub revision: i64,
    pub cluster_id: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub put: BTreeMap<&'a str, Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub del: Vec<&'a str>,
}

/// A snapshot file as loaded: its base with every whole record applied,
/// and the sizes the writer goes on from.
#[derive(Debug)]
pub struct Loaded {
    /// The state.
    pub file: SnapshotFile,
    /// Bytes of the base.
    pub base_bytes: u64,
    /// Bytes of the records after it.
    pub log_bytes: u64,
    /// Whether a record was cut short (the next write must be a new base,
    /// or what is appended after it would never be read).
    pub torn: bool,
}

/// Reads a snapshot file: the base, then every record appended after it,
/// in order. A record that does not parse (a write cut short) ends the
/// read with a warning; what came before it stands.
pub fn read(path: &Path, text: &[u8]) -> Result<Loaded, serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<SnapshotFile>();
    let mut file = match stream.next() {
        Some(f) => f?,
        None => return Err(serde::de::Error::custom("the file is empty")),
    };
    let base_bytes = stream.byte_offset();
    let mut records =
        serde_json::Deserializer::from_slice(&text[base_bytes..]).into_iter::<Record>();
    let mut torn = false;
    for r in records.by_ref() {
        match r {
            Ok(r) => {
                file.revision = r.revision;
                file.cluster_id = r.cluster_id;
                file.kvs.extend(r.put);
                for k in r.del {
                    file.kvs.remove(&k);
                }
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e,
                    "etcd snapshot file: a record cut short is ignored");
                torn = true;
                break;
            }
        }
    }
    Ok(Loaded {
        file,
        base_bytes: base_bytes as u64,
        log_bytes: (text.len() - base_bytes) as u64,
        torn,
    })
}

/// A state as a base holds it, taken so that another thread can write it.
#[derive(Debug, Default)]
pub struct Export {
    /// The key prefix.
    pub prefix: String,
    /// The revision.
    pub revision: i64,
    /// The cluster id.
    pub cluster_id: u64,
    /// Keys and values (shared with the state).
    pub kvs: Vec<(Arc<str>, Arc<[u8]>)>,
}

impl Export {
    /// Writes it to `path` as a base (see [`write_private_with`]), streamed
    /// from the shared keys and values in key order (no copy of the state
    /// is made); returns the bytes written.
    pub fn write(mut self, path: &Path) -> std::io::Result<u64> {
        self.kvs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let base = BaseOut {
            prefix: &self.prefix,
            revision: self.revision,
            cluster_id: self.cluster_id,
            kvs: KvsOut(&self.kvs),
        };
        write_private_with(path, |w| {
            serde_json::to_writer(w, &base).map_err(std::io::Error::other)
        })
    }
}

/// A base as written: [`SnapshotFile`]'s shape, borrowing the export.
#[derive(Serialize)]
struct BaseOut<'a> {
    prefix: &'a str,
    revision: i64,
    cluster_id: u64,
    kvs: KvsOut<'a>,
}

/// Keys and values written as one JSON object of strings.
struct KvsOut<'a>(&'a [(Arc<str>, Arc<[u8]>)]);

impl Serialize for KvsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(&**k, &String::from_utf8_lossy(v))?;
        }
        map.end()
    }
}

/// Appends `bytes` to `path`, which must be a regular file of its own (not
/// reached through a link); fsyncs it.
pub fn append_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let own = std::fs::symlink_metadata(path)?;
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    let opened = f.metadata()?;
    if !own.file_type().is_file() || (own.dev(), own.ino()) != (opened.dev(), opened.ino()) {
        return Err(std::io::Error::other("not a regular file of its own"));
    }
    f.write_all(bytes)?;
    f.sync_data()
}

/// Replaces `path` with what `fill` writes (through a buffer), readable by
/// the owner only: a new file in the same directory with a random name
/// (created with `O_EXCL`, mode 0600, so a file or link planted there is
/// never written through), fsynced, renamed over `path`, then the
/// directory fsynced so the rename survives a crash. Returns the bytes
/// written.
pub fn write_private_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "snapshot".into(), |n| n.to_string_lossy());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp);
    fill(&mut out)?;
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    let written = tmp.as_file().metadata()?.len();
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rg-snapfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_file_is_private_and_replaced_whole() {
        let d = dir("mode");
        let path = d.join("snap.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_with(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
        // No temp file is left beside it.
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_link_planted_at_a_guessable_temp_name_is_not_written_through() {
        let d = dir("link");
        let path = d.join("snap.json");
        let victim = d.join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        // The names a writer without a random part would use.
        for guess in [
            format!("snap.json.tmp{}", std::process::id()),
            "snap.json.tmp".to_owned(),
            ".snap.json.tmp".to_owned(),
        ] {
            std::os::unix::fs::symlink(&victim, d.join(guess)).unwrap();
        }
        write_private_with(&path, |w| w.write_all(b"secret")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret");
        let _ = std::fs::remove_dir_all(&d);
    }
}
