//! The etcd config source: follows APISIX's keys under a prefix (default
//! `/apisix`) through one watch, never by polling, and emits the same
//! [`SourceEvent`]s as the standalone file. A local snapshot file of the
//! last applied state lets the gateway start and serve while etcd is down.

mod client;
mod decode_pool;
mod probe;
mod snapshot_file;
mod snapshot_writer;
mod state;
mod watch;

pub use client::{
    auth_token_refused, connect, describe, read_prefix, read_prefix_pages, MAX_MESSAGE,
};
pub use state::EtcdState;

use tokio::sync::mpsc::UnboundedSender;

use super::{ConfigSource, SourceEvent};
use crate::config::EtcdSection;

/// Follows one etcd prefix.
#[derive(Debug, Clone)]
pub struct EtcdSource {
    settings: EtcdSection,
}

impl EtcdSource {
    /// A source for the `etcd:` settings.
    pub fn new(settings: EtcdSection) -> Self {
        EtcdSource { settings }
    }
}

impl ConfigSource for EtcdSource {
    /// Starts a thread with its own runtime. The first `Full` event is the
    /// prefix as etcd holds it; when etcd cannot be reached, it is the
    /// snapshot file's state (or nothing), and the difference follows once
    /// etcd answers.
    fn start(self: Box<Self>, events: UnboundedSender<SourceEvent>) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let settings = self.settings;
        std::thread::Builder::new()
            .name("config-etcd".into())
            .spawn(move || {
                let (state, first) = match EtcdState::load(
                    &settings.prefix,
                    &settings.snapshot_file,
                ) {
                    Some((s, items)) => {
                        tracing::info!(file = %settings.snapshot_file.display(), objects = s.len(),
                                revision = s.revision, "etcd snapshot file loaded");
                        // The file's text and its parse are garbage now.
                        crate::source::release_freed_memory();
                        (s, items)
                    }
                    None => (EtcdState::default(), Vec::new()),
                };
                rt.block_on(watch::Watch::new(settings, state, first, events).run());
            })
            .map(|_| ())
    }
}
