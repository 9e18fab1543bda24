//! The SDK a plugin author uses: implement [`Plugin`], export it with
//! [`export_plugin!`](crate::export_plugin), test it with [`crate::mock`].

mod adapter;
mod batch;
mod ctx;
mod export;
mod host;
mod ops;
pub(crate) mod panics;
mod plugin;
mod redis;
mod series;
mod wait;

pub use adapter::{new_instance, root_module, root_module_built};
pub use batch::Batch;
pub use ctx::{Chunk, Ctx};
pub use export::ROOT_SYMBOL;
pub use host::Host;
pub use ops::{HttpRequest, HttpResponse};
pub use plugin::{ConfigError, Decision, Plugin, Response};
pub use redis::{RedisReply, RedisTarget};
pub use series::Series;
pub use wait::{HostCall, Waiting};
