//! `plugins.prometheus`: the static attributes of the prometheus plugin
//! that APISIX keeps under `plugin_attr.prometheus` (this project has no
//! `plugin_attr`; the plugin's static settings sit beside
//! `plugins.export_addr`).

use serde::Deserialize;

/// APISIX's default export path.
pub const DEFAULT_EXPORT_URI: &str = "/apisix/prometheus/metrics";

/// `plugins.prometheus`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PrometheusAttr {
    /// The path metrics are served at (default
    /// `/apisix/prometheus/metrics`).
    #[serde(default)]
    pub export_uri: Option<String>,
    /// The upper bounds (ms, ascending) of `apisix_http_latency`'s buckets
    /// (default APISIX's, 1 to 60000).
    #[serde(default)]
    pub default_buckets: Option<Vec<f64>>,
}

impl PrometheusAttr {
    /// The export path.
    pub fn export_uri(&self) -> &str {
        self.export_uri.as_deref().unwrap_or(DEFAULT_EXPORT_URI)
    }

    /// Checks the attributes: the field (under `plugins.prometheus`) and
    /// the problem of the first bad one.
    pub fn check(&self) -> Result<(), (String, String)> {
        if let Some(uri) = &self.export_uri {
            let clean = uri.starts_with('/')
                && uri.len() > 1
                && uri
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#');
            if !clean {
                return Err((
                    "plugins.prometheus.export_uri".into(),
                    format!("{uri:?} is not a path (expected /..., no query)"),
                ));
            }
        }
        if let Some(buckets) = &self.default_buckets {
            let field = "plugins.prometheus.default_buckets".to_string();
            if buckets.is_empty() {
                return Err((field, "expected at least 1 bucket".into()));
            }
            if let Some(b) = buckets.iter().find(|b| !b.is_finite() || **b <= 0.0) {
                return Err((field, format!("{b} is not a positive number of ms")));
            }
            if buckets.windows(2).any(|w| w[0] >= w[1]) {
                return Err((field, "expected strictly ascending bounds".into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PrometheusAttr;
    use crate::config::GatewayConfig;

    #[test]
    fn config_yaml_refuses_bad_attributes_at_load() {
        let ok = "plugins:\n  prometheus:\n    export_uri: /m\n    default_buckets: [1, 2]\n";
        let cfg = GatewayConfig::parse(ok, "config.yaml").expect("valid");
        assert_eq!(cfg.plugins.prometheus.export_uri(), "/m");
        let bad = "plugins:\n  prometheus:\n    default_buckets: [10, 5]\n";
        let err = GatewayConfig::parse(bad, "config.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("plugins.prometheus.default_buckets") && err.contains("ascending"),
            "{err}"
        );
        let unknown = "plugins:\n  prometheus:\n    metric_prefix: x_\n";
        assert!(GatewayConfig::parse(unknown, "config.yaml").is_err());
    }

    #[test]
    fn bad_attributes_name_the_field() {
        // (export_uri, default_buckets, the field refused).
        type Case = (Option<&'static str>, Option<Vec<f64>>, Option<&'static str>);
        let cases: &[Case] = &[
            (None, None, None),
            (Some("/m"), Some(vec![1.0, 5.0]), None),
            (Some("metrics"), None, Some("export_uri")),
            (Some("/m?x=1"), None, Some("export_uri")),
            (None, Some(vec![]), Some("default_buckets")),
            (None, Some(vec![5.0, 1.0]), Some("default_buckets")),
            (None, Some(vec![-1.0]), Some("default_buckets")),
        ];
        for (uri, buckets, bad) in cases {
            let attr = PrometheusAttr {
                export_uri: uri.map(str::to_owned),
                default_buckets: buckets.clone(),
            };
            let got = attr.check().err().map(|(f, _)| f);
            match bad {
                None => assert_eq!(got, None, "{attr:?}"),
                Some(field) => assert!(
                    got.as_deref().is_some_and(|f| f.ends_with(field)),
                    "{attr:?}: {got:?}"
                ),
            }
        }
    }
}
