//! Configuration: the gateway's own settings (`config.yaml`) and the APISIX
//! objects (routes, services, upstreams) as serde types with APISIX's field
//! names. Unknown fields are refused; every error names kind, id and field.
//!
//! These are the outer shapes users write; `snapshot` converts them once
//! into what the proxy runs on.

mod error;
mod gateway;
mod objects;
mod upstream;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{FileError, Kind, ObjectError};
pub use gateway::{seconds, ConfigSection, GatewayConfig, GatewaySection};
pub use objects::{decode, Id, Object, RouteConf, ServiceConf};
pub use upstream::{split_host_port, KeepalivePool, NodeConf, Nodes, Timeout, UpstreamConf};
