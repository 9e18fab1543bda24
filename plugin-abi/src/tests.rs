//! SDK tests: a test plugin driven through the ABI with the mock host.

use abi_stable::std_types::RStr;

use crate::abi::{PhaseResult, ABI_MAJOR, ABI_MINOR};
use crate::mock::{MockHost, MockInstance, MockRequest};
use crate::serde::Deserialize;
use crate::{ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response};

#[derive(Deserialize)]
#[serde(crate = "crate::serde")]
struct Config {
    limit: i64,
    #[serde(default)]
    nested: Nested,
}

#[derive(Deserialize, Default)]
#[serde(crate = "crate::serde")]
struct Nested {
    #[serde(default)]
    upper: bool,
}

/// A plugin exercising every SDK path: replies, errors, panics, store, log.
struct Probe {
    limit: i64,
    upper: bool,
    host: Host,
}

impl Plugin for Probe {
    const NAME: &'static str = "probe";
    const VERSION: &'static str = "1.2.3";
    const PRIORITY: i32 = 2500;
    const PHASES: Phases = Phases::ALL;
    const CONSUMER_SCHEMA: Option<&'static str> = Some(r#"{"type":"object"}"#);

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        if config.limit < 0 {
            return Err(ConfigError::field("limit", "must be >= 0"));
        }
        if config.limit == 99 {
            panic!("constructor panic");
        }
        Ok(Probe {
            limit: config.limit,
            upper: config.nested.upper,
            host: host.clone(),
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let count = ctx.headers().count().to_string();
        ctx.set_var("header_count", &count);
        ctx.remove_header("x-secret");
        Decision::Continue
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        match ctx.path() {
            "/panic" => panic!("boom at {}", ctx.path()),
            "/error" => return Decision::Error("refused by probe".into()),
            _ => {}
        }
        let key = format!("probe:{}", ctx.client_addr().ip());
        let counter = self.host.incr(&key, 1, 60_000);
        if counter.value > self.limit {
            self.host.log(LogLevel::Warn, "limit reached");
            return Decision::Respond(Response::new(429).header("Retry-After", "60"));
        }
        if let Some(user) = ctx.query_arg("user") {
            let user = user.to_string();
            ctx.set_consumer(&user);
        }
        Decision::Continue
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        let status = ctx.response_status().to_string();
        ctx.add_response_header("x-upstream-status", &status);
        Decision::Continue
    }

    fn body_filter(&self, _ctx: &mut Ctx<'_>, chunk: &mut crate::Chunk<'_>) -> Decision {
        if self.upper {
            let upper = chunk.data().to_ascii_uppercase();
            chunk.replace(upper);
        }
        Decision::Continue
    }

    fn log(&self, _ctx: &mut Ctx<'_>) -> Decision {
        panic!("log panic")
    }
}

fn probe(config: &str, host: &MockHost) -> MockInstance {
    match MockInstance::new::<Probe>(config, host) {
        Ok(instance) => instance,
        Err(e) => panic!("config refused: {e}"),
    }
}

#[test]
fn the_export_symbol_is_abi_stables() {
    assert_eq!(
        crate::sdk::ROOT_SYMBOL,
        abi_stable::library::ROOT_MODULE_LOADER_NAME
    );
}

#[test]
fn the_root_module_declares_the_plugin() {
    let root = crate::root_module::<Probe>(ABI_MAJOR, ABI_MINOR);
    assert_eq!(root.abi_major(), ABI_MAJOR);
    assert_eq!(root.name(), RStr::from("probe"));
    assert_eq!(root.version(), RStr::from("1.2.3"));
    assert_eq!(root.priority(), 2500);
    assert!(root.phases().contains(Phase::BodyFilter));
    assert!(root.consumer_schema().is_some());
    assert!(root.metadata_schema().is_none());
}

#[test]
fn config_errors_name_the_field() {
    let host = MockHost::new();
    let err = MockInstance::new::<Probe>(r#"{"limit":"x"}"#, &host).err();
    assert!(
        err.as_deref().is_some_and(|e| e.starts_with("limit:")),
        "{err:?}"
    );
    let err = MockInstance::new::<Probe>(r#"{"limit":1,"nested":{"upper":3}}"#, &host).err();
    assert!(
        err.as_deref()
            .is_some_and(|e| e.starts_with("nested.upper:")),
        "{err:?}"
    );
    let err = MockInstance::new::<Probe>(r#"{"limit":-1}"#, &host).err();
    assert_eq!(err.as_deref(), Some("limit: must be >= 0"));
    let err = MockInstance::new::<Probe>(r#"{"limit":99}"#, &host).err();
    assert!(
        err.as_deref().is_some_and(|e| e.contains("panicked")),
        "{err:?}"
    );
}

#[test]
fn a_panic_becomes_the_plugins_error_and_the_next_call_works() {
    let host = MockHost::new();
    let plugin = probe(r#"{"limit":5}"#, &host);
    match plugin.access(&mut MockRequest::new("GET", "/panic")) {
        PhaseResult::Error(failure) => {
            assert!(failure.panicked);
            assert_eq!(failure.plugin.as_str(), "probe");
            assert!(failure.message.contains("access"), "{}", failure.message);
            assert!(
                failure.message.contains("boom at /panic"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let next = plugin.access(&mut MockRequest::new("GET", "/ok"));
    assert_eq!(next, PhaseResult::Continue);
    assert!(
        matches!(plugin.log(&mut MockRequest::new("GET", "/")), PhaseResult::Error(f) if f.panicked)
    );
}

#[test]
fn errors_and_replies_cross_the_boundary() {
    let host = MockHost::new();
    let plugin = probe(r#"{"limit":1}"#, &host);
    match plugin.access(&mut MockRequest::new("GET", "/error")) {
        PhaseResult::Error(f) => assert!(!f.panicked && f.message == "refused by probe"),
        other => panic!("expected an error, got {other:?}"),
    }
    let mut first = MockRequest::new("GET", "/a?user=ann");
    assert_eq!(plugin.access(&mut first), PhaseResult::Continue);
    assert_eq!(first.consumer.as_deref(), Some("ann"));
    match plugin.access(&mut MockRequest::new("GET", "/a")) {
        PhaseResult::Respond(reply) => {
            assert_eq!(reply.status, 429);
            assert_eq!(reply.headers[0].0.as_str(), "Retry-After");
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    let logs = host.logs();
    assert_eq!(logs.len(), 1);
    assert_eq!((logs[0].0, logs[0].1.as_str()), (LogLevel::Warn, "probe"));
}

#[test]
fn headers_vars_and_response_edits() {
    let host = MockHost::new();
    let plugin = probe(r#"{"limit":1}"#, &host);
    let mut req = MockRequest::new("GET", "/")
        .header("Host", "a")
        .header("X-Secret", "s");
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.vars.get("header_count").map(String::as_str), Some("2"));
    assert_eq!(req.header_value("x-secret"), None);
    req.response_status = 502;
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-Upstream-Status"), Some("502"));
}

#[test]
fn body_filter_replaces_or_keeps_the_chunk() {
    let host = MockHost::new();
    let upper = probe(r#"{"limit":1,"nested":{"upper":true}}"#, &host);
    let mut req = MockRequest::new("GET", "/");
    let (result, out) = upper.body_filter(&mut req, b"abc", false);
    assert_eq!(
        (result, out.as_slice()),
        (PhaseResult::Continue, &b"ABC"[..])
    );
    let keep = probe(r#"{"limit":1}"#, &host);
    let (_, out) = keep.body_filter(&mut req, b"abc", true);
    assert_eq!(out, b"abc");
}

#[test]
fn the_mock_store_counts_and_expires() {
    let host = MockHost::new();
    let handle = Host::new(host.handle(), "probe");
    assert_eq!(handle.incr("k", 2, 0).value, 2);
    assert_eq!(handle.incr("k", 3, 0).value, 5);
    assert_eq!(handle.get("k").as_deref(), Some("5"));
    handle.set("s", "v", 60_000);
    assert_eq!(handle.get("s").as_deref(), Some("v"));
    let counter = handle
        .register_counter("requests", "help", &["route"])
        .expect("registered");
    handle.counter_add(counter, &["r1".into()], 2);
    assert_eq!(host.metric(counter, &["r1"]), 2.0);
    host.set_metadata("probe", r#"{"a":1}"#);
    assert_eq!(handle.metadata().as_deref(), Some(r#"{"a":1}"#));
}

#[test]
fn the_root_module_records_the_panic_strategy() {
    let root = crate::root_module::<Probe>(ABI_MAJOR, ABI_MINOR);
    assert_eq!(root.panic_unwind(), Some(cfg!(panic = "unwind")));
    let abort = crate::__private::root_module_built::<Probe>(ABI_MAJOR, ABI_MINOR, false);
    assert_eq!(abort.panic_unwind(), Some(false));
}

/// A plugin whose `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("deliberate panic in drop");
    }
}

impl Plugin for PanicsOnDrop {
    const NAME: &'static str = "panics-on-drop";
    const VERSION: &'static str = "1.0.0";
    const PRIORITY: i32 = 0;
    const PHASES: Phases = Phases::NONE;

    type Config = crate::serde_json::Value;

    fn new(_: Self::Config, _: &Host) -> Result<Self, ConfigError> {
        Ok(PanicsOnDrop)
    }
}

#[test]
fn a_panic_in_a_plugins_drop_is_caught_and_logged() {
    let host = MockHost::new();
    let instance = MockInstance::new::<PanicsOnDrop>("{}", &host).expect("built");
    // Unwinding out of the instance's drop (an extern "C" function of the
    // vtable) would abort this test binary.
    drop(instance);
    let logs = host.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let (level, plugin, message) = &logs[0];
    assert_eq!(
        (*level, plugin.as_str()),
        (LogLevel::Error, "panics-on-drop")
    );
    assert!(
        message.starts_with("panicked while being dropped: deliberate panic in drop"),
        "{message}"
    );
}
