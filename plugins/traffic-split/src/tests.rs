//! traffic-split against the SDK's mock host: the upstream it names.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::TrafficSplit;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<TrafficSplit>(config, &MockHost::new())
}

/// The `upstream_id` the plugin leaves for `req` (none: the route's).
fn chosen(plugin: &MockInstance, mut req: MockRequest) -> Option<String> {
    assert_eq!(plugin.access(&mut req), PhaseResult::Continue);
    req.vars.get("upstream_id").cloned()
}

#[test]
fn weights_split_and_an_entry_without_upstream_is_the_routes() {
    let plugin = instance(
        r#"{"rules":[{"weighted_upstreams":[
            {"upstream_id":"canary","weight":3},{"weight":1},{"upstream_id":9,"weight":0}]}]}"#,
    )
    .expect("valid");
    let picks: Vec<Option<String>> = (0..8)
        .map(|_| chosen(&plugin, MockRequest::new("GET", "/")))
        .collect();
    let canary = picks
        .iter()
        .filter(|p| p.as_deref() == Some("canary"))
        .count();
    let route = picks.iter().filter(|p| p.is_none()).count();
    assert_eq!((canary, route), (6, 2), "{picks:?}");
}

#[test]
fn match_chooses_the_rule_and_inline_upstreams_get_their_field_path() {
    let plugin = instance(
        r#"{"rules":[
            {"match":[{"vars":[["http_release","==","new_release"]]},{"vars":[["arg_x","==","1"]]}],
             "weighted_upstreams":[{"upstream":{"nodes":{"127.0.0.1:1981":1}}}]},
            {"match":[],"weighted_upstreams":[{"upstream_id":"2"}]}]}"#,
    )
    .expect("valid");
    let header = MockRequest::new("GET", "/").header("release", "new_release");
    let inline = Some("rules[0].weighted_upstreams[0].upstream".to_owned());
    assert_eq!(chosen(&plugin, header), inline);
    assert_eq!(chosen(&plugin, MockRequest::new("GET", "/?x=1")), inline);
    // An empty match holds for every request.
    assert_eq!(
        chosen(&plugin, MockRequest::new("GET", "/")).as_deref(),
        Some("2")
    );
    // No rule holds: the route's upstream.
    let only = instance(r#"{"rules":[{"match":[{"vars":[["arg_x","==","1"]]}],"weighted_upstreams":[{"upstream_id":"2"}]}]}"#)
        .expect("valid");
    assert_eq!(chosen(&only, MockRequest::new("GET", "/")), None);
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (
            r#"{"rules":[{"weighted_upstreams":[{"upstream_id":"1","weight":"x"}]}]}"#,
            "weight",
        ),
        (
            r#"{"rules":[{"match":[{"vars":[["arg_a","~~","("]]}]}]}"#,
            "rules[0].match[0].vars[0]: failed to validate the 'vars' expression",
        ),
        (
            r#"{"rules":[{"weighted_upstreams":[{"upstream_id":"1","upstream":{"nodes":{}}}]}]}"#,
            "rules[0].weighted_upstreams[0]: only one of upstream_id and upstream",
        ),
        (
            r#"{"rules":[{"weighted_upstreams":[]}]}"#,
            "weighted_upstreams",
        ),
        (r#"{"rulez":[]}"#, "rulez"),
    ];
    for (config, want) in cases {
        match instance(config) {
            Ok(_) => panic!("{config} accepted"),
            Err(e) => assert!(e.contains(want), "{config}: {e:?} lacks {want:?}"),
        }
    }
}
