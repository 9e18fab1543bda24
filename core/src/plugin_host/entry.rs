//! One loaded plugin: its declarations, its compiled JSON Schemas, and the
//! constructor that builds instances from configs.

use std::fmt;
use std::path::{Path, PathBuf};

use jsonschema::Validator;
use radixgate_plugin::abi::{HostHandle, InstanceBox, PluginModRef};
use radixgate_plugin::Phases;
use serde_json::Value;

/// Builds an instance from a checked config's JSON text and the host's
/// services; the error is the plugin's message. A Rust plugin's calls its
/// root module's constructor, a C plugin's its `instance_new`.
pub(super) type Constructor =
    Box<dyn Fn(&str, HostHandle) -> Result<InstanceBox, String> + Send + Sync>;

/// What a plugin declares, whichever ABI it speaks.
pub(super) struct Declared<'a> {
    /// The name configs use.
    pub name: &'a str,
    /// The plugin's own version.
    pub version: &'a str,
    /// Run order within a phase.
    pub priority: i32,
    /// The phases it implements.
    pub phases: Phases,
    /// APISIX's `run_policy = "prefer_route"`.
    pub prefer_route: bool,
    /// Its route config schema (JSON text).
    pub route_schema: &'a str,
    /// Its consumer config schema, if any.
    pub consumer_schema: Option<&'a str>,
    /// Its plugin_metadata schema, if any.
    pub metadata_schema: Option<&'a str>,
}

/// A loaded, checked plugin. Lives (in an `Arc`) as long as any config or
/// instance uses it; its library is never unloaded.
pub struct PluginEntry {
    /// The name configs use.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Run order within a phase, higher first.
    pub priority: i32,
    /// The phases it implements.
    pub phases: Phases,
    /// APISIX's `run_policy = "prefer_route"` (ABI 1.1; false before).
    pub prefer_route: bool,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// Its route config schema (JSON).
    pub route_schema: Value,
    /// Its consumer config schema, if any.
    pub consumer_schema: Option<Value>,
    /// Its plugin_metadata schema, if any.
    pub metadata_schema: Option<Value>,
    route_validator: Validator,
    consumer_validator: Option<Validator>,
    metadata_validator: Option<Validator>,
    constructor: Constructor,
}

impl fmt::Debug for PluginEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginEntry")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("priority", &self.priority)
            .field("phases", &self.phases)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Parses and compiles one schema; the error says which one and why.
fn compile(which: &str, text: &str) -> Result<(Value, Validator), String> {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("its {which} schema is not JSON: {e}"))?;
    let validator = jsonschema::draft7::options()
        .build(&schema)
        .map_err(|e| format!("its {which} schema does not compile: {e}"))?;
    Ok((schema, validator))
}

/// `value` against `validator`: the first error as `<field>: <reason>`.
fn check(validator: &Validator, value: &Value) -> Result<(), String> {
    validator.validate(value).map_err(|e| {
        let field = e
            .instance_path()
            .as_str()
            .trim_start_matches('/')
            .replace('/', ".");
        if field.is_empty() {
            e.to_string()
        } else {
            format!("{field}: {e}")
        }
    })
}

impl PluginEntry {
    /// Reads a checked root module's declarations and compiles its schemas;
    /// an error says what is wrong with the plugin.
    pub(super) fn from_root(path: &Path, root: PluginModRef) -> Result<PluginEntry, String> {
        let new_instance = root.new_instance();
        let declared = Declared {
            name: root.name().as_str(),
            version: root.version().as_str(),
            priority: root.priority(),
            phases: root.phases(),
            prefer_route: root.prefer_route().unwrap_or(false),
            route_schema: root.route_schema().as_str(),
            consumer_schema: root.consumer_schema().into_option().map(|s| s.as_str()),
            metadata_schema: root.metadata_schema().into_option().map(|s| s.as_str()),
        };
        let constructor: Constructor = Box::new(move |config, host| {
            new_instance(config.into(), host)
                .into_result()
                .map_err(Into::into)
        });
        PluginEntry::from_declared(path, declared, constructor)
    }

    /// A plugin of either ABI from its declarations: checks its name and
    /// compiles its schemas; an error says what is wrong with the plugin.
    pub(super) fn from_declared(
        path: &Path,
        declared: Declared<'_>,
        constructor: Constructor,
    ) -> Result<PluginEntry, String> {
        let name = declared.name.to_string();
        if name.is_empty() {
            return Err("the plugin declares an empty name".into());
        }
        let with_name = |e: String| format!("plugin {name:?}: {e}");
        let (route_schema, route_validator) =
            compile("route config", declared.route_schema).map_err(with_name)?;
        let consumer = match declared.consumer_schema {
            Some(text) => Some(compile("consumer config", text).map_err(with_name)?),
            None => None,
        };
        let metadata = match declared.metadata_schema {
            Some(text) => Some(compile("plugin_metadata", text).map_err(with_name)?),
            None => None,
        };
        let (consumer_schema, consumer_validator) = consumer.unzip();
        let (metadata_schema, metadata_validator) = metadata.unzip();
        Ok(PluginEntry {
            version: declared.version.to_string(),
            priority: declared.priority,
            phases: declared.phases,
            prefer_route: declared.prefer_route,
            path: path.to_path_buf(),
            route_schema,
            consumer_schema,
            metadata_schema,
            route_validator,
            consumer_validator,
            metadata_validator,
            constructor,
            name,
        })
    }

    /// Checks a route/service/global rule config against the plugin's
    /// schema: `Err("<field>: <reason>")` when it does not fit.
    pub fn check_config(&self, config: &Value) -> Result<(), String> {
        check(&self.route_validator, config)
    }

    /// Checks a consumer config; a plugin without a consumer schema
    /// accepts none.
    pub fn check_consumer_config(&self, config: &Value) -> Result<(), String> {
        match &self.consumer_validator {
            Some(v) => check(v, config),
            None => Err(format!("plugin {} takes no consumer config", self.name)),
        }
    }

    /// Checks a plugin_metadata value; a plugin without a metadata schema
    /// accepts none.
    pub fn check_metadata(&self, metadata: &Value) -> Result<(), String> {
        match &self.metadata_validator {
            Some(v) => check(v, metadata),
            None => Err(format!("plugin {} takes no plugin_metadata", self.name)),
        }
    }

    /// Calls the plugin's constructor with `config_json` (already checked);
    /// the error is the plugin's message (naming the field) or its panic.
    pub(super) fn construct(
        &self,
        config_json: &str,
        host: HostHandle,
    ) -> Result<InstanceBox, String> {
        (self.constructor)(config_json, host)
    }
}
