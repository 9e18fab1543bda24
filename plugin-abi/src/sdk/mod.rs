//! The SDK a plugin author uses: implement [`Plugin`], export it with
//! [`export_plugin!`](crate::export_plugin), test it with [`crate::mock`].

mod adapter;
mod ctx;
mod export;
mod host;
pub(crate) mod panics;
mod plugin;

pub use adapter::{new_instance, root_module};
pub use ctx::{Chunk, Ctx};
pub use export::ROOT_SYMBOL;
pub use host::Host;
pub use plugin::{ConfigError, Decision, Plugin, Response};
