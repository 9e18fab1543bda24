//! `traffic-split`: sends a share of a route's requests to other upstreams
//! (APISIX's plugin, priority 966, access phase): canary releases,
//! blue-green deploys, A/B tests. `rules` are tried in order; the first
//! whose `match` holds (one of its `vars` expressions; a rule without
//! `match`, or with an empty one, holds for every request) picks one of
//! its `weighted_upstreams` by weighted round robin, per rule, as APISIX
//! does. An entry names a stored upstream (`upstream_id`), an inline
//! `upstream`, or neither: then the route's own upstream serves.
//!
//! ```json
//! "traffic-split": {"rules": [{
//!     "match": [{"vars": [["http_release", "==", "new"]]}],
//!     "weighted_upstreams": [{"upstream_id": "canary", "weight": 3}, {"weight": 1}]}]}
//! ```
//!
//! The choice reaches the host through request variable `upstream_id`:
//! a stored upstream's id, or for an inline upstream its field path
//! (`rules[0].weighted_upstreams[1].upstream`), which the host built into
//! a pooled, health-checked upstream when it loaded the route's config
//! (see [`inline_key`]). The host answers 502, logged, when the variable
//! names no upstream it has.

pub mod config;
mod rr;

use radixgate_plugin::{export_plugin, ConfigError, Ctx, Decision, Phase, Phases, Plugin};
use radixgate_plugin_vars_expr::Expr;

pub use config::Config;
use rr::RoundRobin;

/// The request variable through which the host learns the upstream.
pub const UPSTREAM_VAR: &str = "upstream_id";

/// The value of [`UPSTREAM_VAR`] naming the inline upstream of
/// `rules[rule].weighted_upstreams[entry]` (stored ids never hold `[`).
pub fn inline_key(rule: usize, entry: usize) -> String {
    format!("rules[{rule}].weighted_upstreams[{entry}].upstream")
}

/// Where one weighted entry sends a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The route's own upstream.
    Route,
    /// The upstream [`UPSTREAM_VAR`] is set to (a stored id or an
    /// [`inline_key`]).
    Upstream(String),
}

/// One rule, prepared once.
struct Rule {
    /// `None`: holds for every request.
    condition: Option<Expr>,
    /// The entries with a weight above 0, and the round robin over them.
    targets: Vec<Target>,
    rr: RoundRobin,
}

/// One config's rules.
pub struct TrafficSplit {
    rules: Vec<Rule>,
}

impl TrafficSplit {
    /// Where this request goes: `None` when no rule holds (the route's
    /// upstream serves), else the target the rule's round robin chose.
    pub fn choose(&self, ctx: &Ctx<'_>) -> Option<Target> {
        let rule = self
            .rules
            .iter()
            .find(|r| r.condition.as_ref().is_none_or(|c| c.eval(ctx)))?;
        let i = rule.rr.next()?;
        rule.targets.get(i).cloned()
    }
}

impl Plugin for TrafficSplit {
    const NAME: &'static str = "traffic-split";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 966;
    const PHASES: Phases = Phases::of(Phase::Access);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, _host: &radixgate_plugin::Host) -> Result<Self, ConfigError> {
        let mut rules = Vec::new();
        for (r, rule) in config.rules.iter().enumerate() {
            let condition = match &rule.r#match {
                Some(list) if !list.is_empty() => {
                    Some(config::condition(list, &format!("rules[{r}].match"))?)
                }
                _ => None,
            };
            let entries = rule.entries();
            if entries.is_empty() || entries.len() > 20 {
                return Err(ConfigError::field(
                    &format!("rules[{r}].weighted_upstreams"),
                    "expect array to have 1 to 20 items",
                ));
            }
            let mut targets = Vec::new();
            let mut weights = Vec::new();
            for (e, entry) in entries.iter().enumerate() {
                if entry.weight == 0 {
                    continue;
                }
                let field = format!("rules[{r}].weighted_upstreams[{e}]");
                let target = match (&entry.upstream_id, &entry.upstream) {
                    (Some(_), Some(_)) => {
                        return Err(ConfigError::field(
                            &field,
                            "only one of upstream_id and upstream may be given",
                        ))
                    }
                    (Some(id), None) => Target::Upstream(config::id_text(id, &field)?),
                    (None, Some(_)) => Target::Upstream(inline_key(r, e)),
                    (None, None) => Target::Route,
                };
                targets.push(target);
                weights.push(entry.weight);
            }
            rules.push(Rule {
                condition,
                targets,
                rr: RoundRobin::new(weights),
            });
        }
        Ok(TrafficSplit { rules })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        if let Some(Target::Upstream(key)) = self.choose(ctx) {
            ctx.set_var(UPSTREAM_VAR, &key);
        }
        Decision::Continue
    }
}

export_plugin!(TrafficSplit);

#[cfg(test)]
mod tests;
