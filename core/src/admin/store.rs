//! Where the Admin API reads and writes: etcd (every verb), or the
//! standalone file (GET only). Each etcd call is bounded by `etcd.timeout`;
//! a call that fails or times out is [`StoreError::Unavailable`] (503). A
//! call etcd refuses for an expired auth token is retried once after
//! authenticating again. Writes may carry [`Guard`]s that etcd checks in
//! the write's own transaction.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, DeleteOptions, PutOptions, Txn, TxnOp};
use serde_json::Value;

use super::index::{Fresh, Index};
use crate::config::EtcdSection;
use crate::source::etcd;

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

/// Conditions a write holds to, checked by etcd in the write's own
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The key exists (a credential's consumer).
    Exists(String),
    /// No key under the prefix changed after the revision (what a
    /// uniqueness check read is still what etcd holds).
    Unchanged {
        /// The key prefix (`/apisix/consumers/`).
        prefix: String,
        /// The revision the check read.
        since: i64,
    },
}

/// Keys read at one revision.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The objects, by key.
    pub kvs: Vec<Kv>,
    /// The revision they were read at.
    pub revision: i64,
}

/// Keys a list read takes per etcd response.
const LIST_PAGE: i64 = 256;

/// The etcd side of the Admin API: a client that authenticates again when
/// etcd stops taking its token, and retries that call once.
#[derive(Clone)]
pub struct EtcdStore {
    /// A lazily connected client (requests go to any healthy endpoint).
    client: Client,
    /// The key prefix (`/apisix`).
    prefix: String,
    /// Bound of one call.
    timeout: Duration,
    /// `etcd.user` and `etcd.password`, when etcd has authentication on.
    credentials: Option<(String, String)>,
    /// What the prefix holds, followed through a watch.
    index: Arc<Index>,
}

/// The backend of the Admin API.
#[derive(Clone)]
pub enum AdminStore {
    /// etcd under a prefix.
    Etcd(Box<EtcdStore>),
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

impl EtcdStore {
    /// Runs `op` on the client, bounded by the timeout. When etcd refuses
    /// the auth token (expired, or issued before a change of users), the
    /// client authenticates again and `op` runs once more.
    async fn call<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        let first = tokio::time::timeout(self.timeout, op(self.client.clone())).await;
        match first {
            Ok(Err(e)) if self.credentials.is_some() && etcd::auth_token_refused(&e) => {
                tracing::info!(reason = %etcd::describe(&e),
                    "Admin API: etcd refused the auth token; authenticating again");
                self.authenticate().await?;
                bounded(self.timeout, op(self.client.clone())).await
            }
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError::Unavailable(etcd::describe(&e))),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// Gets a new token for `etcd.user`; every clone of the client uses it.
    async fn authenticate(&self) -> Result<(), StoreError> {
        let Some((user, password)) = &self.credentials else {
            return Ok(());
        };
        let mut auth = self.client.auth_client();
        let again = bounded(
            self.timeout,
            auth.set_client_auth(user.clone(), password.clone()),
        )
        .await;
        if again.is_err() {
            // etcd may refuse the request for the stale token it carries.
            auth.remove_client_auth();
            bounded(
                self.timeout,
                auth.set_client_auth(user.clone(), password.clone()),
            )
            .await?;
        }
        Ok(())
    }
}

impl AdminStore {
    /// An etcd store for the `etcd:` settings (connects lazily); its index
    /// follows etcd from a task on the current runtime.
    pub async fn etcd(settings: &EtcdSection) -> Result<AdminStore, StoreError> {
        let client = etcd::connect(settings)
            .await
            .map_err(|e| StoreError::Unavailable(etcd::describe(&e)))?;
        Ok(AdminStore::Etcd(Box::new(EtcdStore {
            index: Index::start(client.clone(), &settings.prefix),
            client,
            prefix: settings.prefix.clone(),
            timeout: settings.timeout(),
            credentials: settings.user.clone().zip(settings.password.clone()),
        })))
    }

    /// The index, at least as new as etcd is now; `None` without one (the
    /// file backend), or when it cannot catch up (the caller reads etcd).
    pub async fn fresh_index(&self) -> Option<Fresh<'_>> {
        let AdminStore::Etcd(e) = self else {
            return None;
        };
        // A point read: its header says etcd's current revision.
        let key = e.prefix.clone();
        let now = e
            .call(|mut c| {
                let key = key.clone();
                async move { c.get(key, None).await }
            })
            .await
            .ok()?
            .header()?
            .revision();
        e.index.fresh(now).await
    }

    /// The key prefix (`/apisix`).
    pub fn prefix(&self) -> &str {
        match self {
            AdminStore::Etcd(e) => &e.prefix,
            AdminStore::File(_) => "/apisix",
        }
    }

    fn writable(&self) -> Result<&EtcdStore, StoreError> {
        match self {
            AdminStore::Etcd(e) => Ok(e),
            AdminStore::File(_) => Err(StoreError::Unavailable("read-only".into())),
        }
    }

    /// The object at `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Kv>, StoreError> {
        match self {
            AdminStore::Etcd(e) => {
                let r = e
                    .call(|mut c| async move { c.get(key, None).await })
                    .await?;
                Ok(r.kvs().first().and_then(to_kv))
            }
            AdminStore::File(_) => Ok(self
                .list_file(key.rsplit_once('/').map_or("", |(d, _)| d))?
                .into_iter()
                .find(|kv| kv.key == key)),
        }
    }

    /// Every object under `dir` (`/apisix/consumers`), nested ones
    /// included, read at one revision.
    pub async fn tree(&self, dir: &str) -> Result<Tree, StoreError> {
        match self {
            AdminStore::Etcd(e) => {
                let from = format!("{dir}/");
                let read = e
                    .call(|c| {
                        let from = from.clone();
                        async move { etcd::read_prefix(&c, &from, LIST_PAGE).await }
                    })
                    .await?;
                Ok(Tree {
                    kvs: read.kvs.iter().filter_map(to_kv).collect(),
                    revision: read.revision,
                })
            }
            AdminStore::File(_) => Ok(Tree {
                kvs: self.list_file(dir)?,
                revision: 0,
            }),
        }
    }

    /// Every object directly under `dir` (`/apisix/routes`), by key.
    pub async fn list(&self, dir: &str) -> Result<Vec<Kv>, StoreError> {
        let from = format!("{dir}/");
        let mut tree = self.tree(dir).await?;
        tree.kvs.retain(|kv| {
            kv.key
                .strip_prefix(&from)
                .is_some_and(|id| !id.contains('/'))
        });
        Ok(tree.kvs)
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

    /// Writes `value` at `key` if every guard holds. `expect`: `None` =
    /// unconditionally, `Some(0)` = only if absent, `Some(rev)` = only if
    /// unchanged since `rev`. `ttl`: seconds of a new lease. Returns
    /// (created, revision); [`StoreError::Conflict`] when a condition failed.
    pub async fn put(
        &self,
        key: &str,
        value: &Value,
        expect: Option<i64>,
        ttl: Option<i64>,
        guards: &[Guard],
    ) -> Result<(bool, i64), StoreError> {
        let e = self.writable()?;
        let mut opts = PutOptions::new().with_prev_key();
        if let Some(ttl) = ttl {
            let lease = e
                .call(|mut c| async move { c.lease_grant(ttl, None).await })
                .await?;
            opts = opts.with_lease(lease.id());
        }
        let text = value.to_string();
        let mut when: Vec<Compare> = guards.iter().map(compare).collect();
        if let Some(rev) = expect {
            when.push(Compare::mod_revision(key, CompareOp::Equal, rev));
        }
        let r = e
            .call(|mut c| {
                let txn = Txn::new().when(when.clone()).and_then(vec![TxnOp::put(
                    key,
                    text.clone(),
                    Some(opts.clone()),
                )]);
                async move { c.txn(txn).await }
            })
            .await?;
        if !r.succeeded() {
            return Err(StoreError::Conflict);
        }
        let created = r.op_responses().into_iter().any(|op| match op {
            etcd_client::TxnOpResponse::Put(p) => p.prev_key().is_none(),
            _ => false,
        });
        Ok((created, r.header().map_or(0, |h| h.revision())))
    }

    /// Deletes `key` and, in the same transaction, every key under
    /// `nested` (`<key>/credentials/` for a consumer); whether `key` existed.
    pub async fn delete(&self, key: &str, nested: Option<&str>) -> Result<bool, StoreError> {
        let e = self.writable()?;
        let r = e
            .call(|mut c| {
                let mut ops = vec![TxnOp::delete(key, None)];
                if let Some(n) = nested {
                    ops.push(TxnOp::delete(n, Some(DeleteOptions::new().with_prefix())));
                }
                let txn = Txn::new().and_then(ops);
                async move { c.txn(txn).await }
            })
            .await?;
        let deleted = r
            .op_responses()
            .into_iter()
            .next()
            .is_some_and(|op| match op {
                etcd_client::TxnOpResponse::Delete(d) => d.deleted() > 0,
                _ => false,
            });
        Ok(deleted)
    }

    /// A new id: the revision of a write to the collection's own key,
    /// zero-padded to 20 digits (as APISIX does).
    pub async fn new_id(&self, dir_key: &str) -> Result<String, StoreError> {
        let e = self.writable()?;
        let r = e
            .call(|mut c| async move { c.put(dir_key, "init_dir", None).await })
            .await?;
        Ok(format!("{:020}", r.header().map_or(0, |h| h.revision())))
    }
}

/// The etcd comparison of a guard.
fn compare(g: &Guard) -> Compare {
    match g {
        Guard::Exists(key) => Compare::create_revision(key.as_str(), CompareOp::Greater, 0),
        Guard::Unchanged { prefix, since } => {
            Compare::mod_revision(prefix.as_str(), CompareOp::Less, since + 1).with_prefix()
        }
    }
}
