//! Where limit-count counts (the trait a policy implements: `local` in the
//! host's shared store; the Redis policies, [`crate::redis`] and
//! [`crate::sync`], answer [`Counted::Later`] when they wait), and the
//! groups: routes whose configs name the same `group` share counters, and
//! as in APISIX a config whose fields differ from the group's is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use radixgate_plugin::{ConfigError, Host};

use crate::config::Config;
use crate::shared::Counted;

/// A window's count after this request, and the ms until it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Requests counted in the window, this one included.
    pub count: i64,
    /// Milliseconds until the window resets.
    pub reset_ms: u64,
}

/// Where a config's counters live (its `policy`).
pub trait Windows: Send + Sync {
    /// Counts one request in the window of `window_ms` keyed `key`, whose
    /// limit is `limit`; an error when the counters could not be reached.
    fn incoming(&self, key: &str, limit: i64, window_ms: u64) -> Counted<Result<Window, String>>;
}

/// Counters in the host's shared store (atomic increment with expiry),
/// shared by every worker thread.
pub struct LocalWindows {
    host: Host,
}

impl LocalWindows {
    /// Counters in `host`'s store.
    pub fn new(host: Host) -> LocalWindows {
        LocalWindows { host }
    }
}

impl Windows for LocalWindows {
    fn incoming(&self, key: &str, _limit: i64, window_ms: u64) -> Counted<Result<Window, String>> {
        let counter = self.host.incr(key, 1, window_ms);
        let now = self.host.now_unix_ms();
        Counted::Now(Ok(Window {
            count: counter.value,
            reset_ms: counter.expires_at_ms.saturating_sub(now),
        }))
    }
}

/// A group's config, held by every live instance of the group.
#[derive(Debug)]
pub struct GroupHold {
    name: String,
    config: Config,
}

/// The groups with a live instance, by name.
static GROUPS: Mutex<Option<HashMap<String, Weak<GroupHold>>>> = Mutex::new(None);

/// Joins `config`'s group: the group's hold, or a refusal when a live
/// instance of the group counts with other fields (APISIX's `group conf
/// mismatched`). A group whose last instance is gone takes the next config
/// as it comes.
pub fn join(config: &Config) -> Result<Option<Arc<GroupHold>>, ConfigError> {
    let Some(name) = &config.group else {
        return Ok(None);
    };
    let mut groups = GROUPS.lock().unwrap_or_else(PoisonError::into_inner);
    let groups = groups.get_or_insert_with(HashMap::new);
    groups.retain(|_, hold| hold.strong_count() > 0);
    if let Some(hold) = groups.get(name).and_then(Weak::upgrade) {
        if hold.config != *config {
            return Err(ConfigError::field(
                "group",
                format!(
                    "group conf mismatched: group \"{}\" counts with another config ({:?})",
                    hold.name, hold.config
                ),
            ));
        }
        return Ok(Some(hold));
    }
    let hold = Arc::new(GroupHold {
        name: name.clone(),
        config: config.clone(),
    });
    groups.insert(name.clone(), Arc::downgrade(&hold));
    Ok(Some(hold))
}
