//! Configuration sources: where routes, services and upstreams come from.
//!
//! Every source speaks the same protocol: one [`SourceEvent::Full`] with the
//! whole valid set, then [`SourceEvent::Changes`] with the objects that
//! changed. Invalid objects never reach the channel: the source logs them
//! (kind, id, reason) and keeps sending the last good version it had. The
//! sources are the standalone file ([`FileSource`]) and etcd
//! ([`etcd::EtcdSource`]).

pub mod etcd;
mod file;
pub mod lag;
mod standalone;

pub use file::FileSource;
#[cfg(test)]
pub use standalone::parse_standalone;

use crate::config::{Id, Kind, Object};
use tokio::sync::mpsc::UnboundedSender;

/// How many objects make a load large enough for its thread to return the
/// memory it freed ([`release_freed_memory`] walks the heap: not worth it
/// for each small change).
pub const LARGE_LOAD: usize = 1000;

/// Hands the memory a config load freed back to the system: the garbage of
/// parsing, checking and decoding a large file (several times the size of
/// what is kept) would otherwise stay resident in the calling thread's
/// allocator pages. Call on the thread that loaded (or applied) the config.
pub fn release_freed_memory() {
    extern "C" {
        /// mimalloc (the gateway's global allocator, see `main.rs`): frees the calling
        /// thread's empty pages and, with `force`, returns them to the OS.
        fn mi_collect(force: bool);
    }
    // SAFETY: `mi_collect` takes no pointer and only walks the calling
    // thread's own heap and mimalloc's thread-safe arenas; mimalloc is
    // linked into every binary of this crate (`lib.rs`), and is the
    // gateway binary's global allocator (in a test or bench that uses
    // another, it frees nothing).
    unsafe { mi_collect(true) }
}

/// One valid object with its identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The object's id.
    pub id: Id,
    /// The decoded, checked object.
    pub object: Object,
}

impl Item {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        self.object.kind()
    }
}

/// A change to one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The object was added or replaced.
    Put(Item),
    /// The object was removed.
    Delete {
        /// Its kind.
        kind: Kind,
        /// Its id.
        id: Id,
    },
}

impl Change {
    /// Where it goes among changes applied together: objects others
    /// refer to first ([`Kind::apply_rank`]), then by id.
    pub fn apply_order(&self) -> (usize, &Id) {
        match self {
            Change::Put(item) => (item.kind().apply_rank(), &item.id),
            Change::Delete { kind, id } => (kind.apply_rank(), id),
        }
    }
}

/// What a source sends.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// The whole valid set: replaces everything known before.
    Full(Vec<Item>),
    /// Changes since the previous event, in order.
    Changes(Vec<Change>),
    /// Not from a source: the plugin host replaced these plugins with new
    /// versions; every object using one gets new instances.
    PluginsUpgraded(Vec<String>),
}

/// A source of configuration objects.
pub trait ConfigSource: Send + 'static {
    /// Starts the source: it sends one `Full` event as soon as it has read
    /// its data (an empty set when it cannot), then `Changes` as they come,
    /// until the receiver is dropped. Returns once the source is running.
    fn start(self: Box<Self>, events: UnboundedSender<SourceEvent>) -> std::io::Result<()>;
}
