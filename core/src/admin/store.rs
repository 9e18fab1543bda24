//! Where the Admin API reads and writes: etcd (every verb), or the
//! standalone file (GET only). Each etcd call is bounded by `etcd.timeout`;
//! a call that fails or times out is [`StoreError::Unavailable`] (503).

use std::path::PathBuf;
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp};
use serde_json::Value;

use crate::config::EtcdSection;

/// One stored object.
#[derive(Debug, Clone)]
pub struct Kv {
    /// Its full key (`/apisix/routes/1`).
    pub key: String,
    /// Its value.
    pub value: Value,
    /// The revision that created it.
    pub created: i64,
    /// The revision that last changed it.
    pub modified: i64,
}

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// etcd did not answer (503).
    #[error("etcd is unreachable: {0}")]
    Unavailable(String),
    /// A compare-and-set lost to another write (409).
    #[error("the object changed while it was being written; retry")]
    Conflict,
}

/// The backend of the Admin API.
#[derive(Clone)]
pub enum AdminStore {
    /// etcd under a prefix.
    Etcd {
        /// A lazily connected client (requests go to any healthy endpoint).
        client: Box<Client>,
        /// The key prefix (`/apisix`).
        prefix: String,
        /// Bound of one call.
        timeout: Duration,
    },
    /// The standalone file (read-only).
    File(PathBuf),
}

async fn bounded<T>(
    timeout: Duration,
    f: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StoreError::Unavailable(crate::source::etcd::describe(&e))),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no answer within {timeout:?}"
        ))),
    }
}

fn to_kv(kv: &etcd_client::KeyValue) -> Option<Kv> {
    Some(Kv {
        key: String::from_utf8(kv.key().to_vec()).ok()?,
        value: serde_json::from_slice(kv.value()).ok()?,
        created: kv.create_revision(),
        modified: kv.mod_revision(),
    })
}

impl AdminStore {
    /// An etcd store for the `etcd:` settings (connects lazily).
    pub async fn etcd(settings: &EtcdSection) -> Result<AdminStore, StoreError> {
        let client = crate::source::etcd::connect(settings)
            .await
            .map_err(|e| StoreError::Unavailable(crate::source::etcd::describe(&e)))?;
        Ok(AdminStore::Etcd {
            client: Box::new(client),
            prefix: settings.prefix.clone(),
            timeout: settings.timeout(),
        })
    }

    /// The key prefix (`/apisix`).
    pub fn prefix(&self) -> &str {
        match self {
            AdminStore::Etcd { prefix, .. } => prefix,
            AdminStore::File(_) => "/apisix",
        }
    }

    /// The object at `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Kv>, StoreError> {
        match self {
            AdminStore::Etcd {
                client, timeout, ..
            } => {
                let mut c = (**client).clone();
                let r = bounded(*timeout, c.get(key, None)).await?;
                Ok(r.kvs().first().and_then(to_kv))
            }
            AdminStore::File(_) => Ok(self
                .list_file(key.rsplit_once('/').map_or("", |(d, _)| d))?
                .into_iter()
                .find(|kv| kv.key == key)),
        }
    }

    /// Every object directly under `dir` (`/apisix/routes`), by key.
    pub async fn list(&self, dir: &str) -> Result<Vec<Kv>, StoreError> {
        match self {
            AdminStore::Etcd {
                client, timeout, ..
            } => {
                let c = (**client).clone();
                let from = format!("{dir}/");
                let mut kv = c.kv_client().max_decoding_message_size(512 << 20);
                let r = bounded(
                    *timeout,
                    kv.get(from.clone(), Some(GetOptions::new().with_prefix())),
                )
                .await?;
                Ok(r.kvs()
                    .iter()
                    .filter_map(to_kv)
                    .filter(|kv| {
                        kv.key
                            .strip_prefix(&from)
                            .is_some_and(|id| !id.contains('/'))
                    })
                    .collect())
            }
            AdminStore::File(_) => self.list_file(dir),
        }
    }

    fn list_file(&self, dir: &str) -> Result<Vec<Kv>, StoreError> {
        let AdminStore::File(path) = self else {
            return Ok(Vec::new());
        };
        let kind = dir.rsplit('/').next().unwrap_or("");
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        let doc: Value = serde_norway::from_str(&text)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        let list = doc
            .get(kind)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(list
            .into_iter()
            .filter_map(|v| {
                let id = match v.get("id")? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some(Kv {
                    key: format!("{dir}/{id}"),
                    value: v,
                    created: 0,
                    modified: 0,
                })
            })
            .collect())
    }

    /// Writes `value` at `key`. `expect`: `None` = unconditionally,
    /// `Some(0)` = only if absent, `Some(rev)` = only if unchanged since
    /// `rev`. `ttl`: seconds of a new lease. Returns (created, revision).
    pub async fn put(
        &self,
        key: &str,
        value: &Value,
        expect: Option<i64>,
        ttl: Option<i64>,
    ) -> Result<(bool, i64), StoreError> {
        let AdminStore::Etcd {
            client, timeout, ..
        } = self
        else {
            return Err(StoreError::Unavailable("read-only".into()));
        };
        let mut c = (**client).clone();
        let mut opts = PutOptions::new().with_prev_key();
        if let Some(ttl) = ttl {
            let lease = bounded(*timeout, c.lease_grant(ttl, None)).await?;
            opts = opts.with_lease(lease.id());
        }
        let text = value.to_string();
        let put = TxnOp::put(key, text, Some(opts));
        let txn = match expect {
            None => Txn::new().and_then(vec![put]),
            Some(rev) => Txn::new()
                .when(vec![Compare::mod_revision(key, CompareOp::Equal, rev)])
                .and_then(vec![put]),
        };
        let r = bounded(*timeout, c.txn(txn)).await?;
        if !r.succeeded() {
            return Err(StoreError::Conflict);
        }
        let created = r.op_responses().into_iter().any(|op| match op {
            etcd_client::TxnOpResponse::Put(p) => p.prev_key().is_none(),
            _ => false,
        });
        Ok((created, r.header().map_or(0, |h| h.revision())))
    }

    /// Deletes `key`; whether it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let AdminStore::Etcd {
            client, timeout, ..
        } = self
        else {
            return Err(StoreError::Unavailable("read-only".into()));
        };
        let mut c = (**client).clone();
        Ok(bounded(*timeout, c.delete(key, None)).await?.deleted() > 0)
    }

    /// A new id: the revision of a write to the collection's own key,
    /// zero-padded to 20 digits (as APISIX does).
    pub async fn new_id(&self, dir_key: &str) -> Result<String, StoreError> {
        let AdminStore::Etcd {
            client, timeout, ..
        } = self
        else {
            return Err(StoreError::Unavailable("read-only".into()));
        };
        let mut c = (**client).clone();
        let r = bounded(*timeout, c.put(dir_key, "init_dir", None)).await?;
        Ok(format!("{:020}", r.header().map_or(0, |h| h.revision())))
    }
}
