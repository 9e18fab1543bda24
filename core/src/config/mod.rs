//! Configuration: the gateway's own settings (`config.yaml`) and the APISIX
//! objects of every kind. An object's JSON (the outer shape users write) is
//! checked against its kind's JSON Schema ([`validate`], [`schema_json`]),
//! then [`decode`] turns it into a typed value with APISIX's field names;
//! `snapshot` converts those once into what the proxy runs on. Unknown
//! fields are refused; every error names kind, id and field, and carries
//! APISIX's wording for the Admin API ([`ObjectError::error_msg`]).

mod admin_settings;
mod consumer;
mod decode;
mod encryption;
mod error;
mod etcd_settings;
mod gateway;
mod http2_settings;
mod kind;
mod objects;
mod plugin_check;
mod plugin_sets;
mod prometheus_attr;
mod schema;
mod ssl;
mod stored;
mod tls_settings;
mod upstream;
mod validate;

#[cfg(test)]
mod tests;

pub use admin_settings::{AdminKey, AdminSection, Role, DEFAULT_KEY};
pub use consumer::CredentialConf;
pub use decode::{decode, decode_stored, CREDENTIALS};
pub use encryption::{DataEncryption, Keyring};
pub use error::{FileError, ObjectError};
pub use etcd_settings::{EtcdSection, EtcdTls};
pub use gateway::{seconds, GatewayConfig, Http1Server, PluginsSection, Provider, StoreLimits};
pub use http2_settings::Http2Section;
pub use kind::Kind;
pub use objects::{Id, Object, Plugins, RouteConf, ServiceConf};
#[cfg(test)]
pub use plugin_check::install_test_catalog;
pub use plugin_check::{
    plugin_catalog_generation, plugin_catalog_grew, set_plugin_catalog, unknown_plugin,
    PluginCatalog,
};
pub use prometheus_attr::PrometheusAttr;
pub use schema::validate;
pub use ssl::SslType;
pub use ssl::{SslClient, SslConf};
pub use stored::{reveal, seal, set_keyring, Store};
pub use tls_settings::{TlsSection, TlsVersion};
pub use upstream::{
    BalancerType, HashOn, KeepalivePool, PassHostMode, Scheme, TimeoutConf, UpstreamConf,
    UpstreamTls,
};
