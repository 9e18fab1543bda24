//! A reader of Prometheus' text exposition format: families by name with
//! their type, and series with their labels and values.

use std::collections::BTreeMap;

/// One series: its labels (name, value) and its value.
#[derive(Debug)]
pub struct Series {
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// A scrape: `# TYPE` by family and series by metric name (histogram
/// series under `name_bucket`, `name_sum`, `name_count`).
#[derive(Debug, Default)]
pub struct Exposition {
    types: BTreeMap<String, String>,
    series: BTreeMap<String, Vec<Series>>,
}

/// The label pairs of `text` (what is between the braces).
fn labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        out.push((name.trim().to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(out)
}

impl Exposition {
    /// Reads `text`; lines it cannot read are left out (and so fail the
    /// checks that need them).
    pub fn parse(text: &str) -> Exposition {
        let mut x = Exposition::default();
        for line in text.lines() {
            if let Some(t) = line.strip_prefix("# TYPE ") {
                if let Some((name, kind)) = t.split_once(' ') {
                    x.types.insert(name.to_owned(), kind.to_owned());
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (head, value) = match line.rsplit_once(' ') {
                Some(p) => p,
                None => continue,
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, pairs) = match head.split_once('{') {
                Some((name, rest)) => match rest.strip_suffix('}').and_then(labels) {
                    Some(pairs) => (name, pairs),
                    None => continue,
                },
                None => (head, Vec::new()),
            };
            x.series.entry(name.to_owned()).or_default().push(Series {
                labels: pairs,
                value,
            });
        }
        x
    }

    /// The family `metric` belongs to (`h_bucket` -> `h` when `h` is a
    /// histogram).
    fn family<'m>(&self, metric: &'m str) -> &'m str {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = metric.strip_suffix(suffix) {
                if self.types.get(base).is_some_and(|t| t == "histogram") {
                    return base;
                }
            }
        }
        metric
    }

    /// Ok when `metric` has series, its family is typed `kind`, every
    /// series carries every label of `labels`, and each `(label, value)`
    /// of `selects` has a series; else what is missing.
    pub fn serves(
        &self,
        metric: &str,
        kind: &str,
        labels: &[&str],
        selects: &[(&str, &str)],
    ) -> Result<(), String> {
        let family = self.family(metric);
        match self.types.get(family) {
            Some(t) if t == kind => {}
            Some(t) => return Err(format!("{family} is a {t}, not a {kind}")),
            None => return Err(format!("no # TYPE line for {family}")),
        }
        let series = self
            .series
            .get(metric)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("no series of {metric}"))?;
        for s in series {
            for l in labels {
                if !s.labels.iter().any(|(n, _)| n == l) {
                    return Err(format!("{metric} has a series without label {l}: {s:?}"));
                }
            }
        }
        for (l, v) in selects {
            if !series
                .iter()
                .any(|s| s.labels.iter().any(|(n, x)| n == l && x == v))
            {
                return Err(format!("no series of {metric} with {l}=\"{v}\""));
            }
        }
        Ok(())
    }

    /// The sum of the series of `metric` carrying every pair of `want`.
    pub fn sum(&self, metric: &str, want: &[(&str, &str)]) -> f64 {
        self.series.get(metric).map_or(0.0, |series| {
            series
                .iter()
                .filter(|s| {
                    want.iter()
                        .all(|(l, v)| s.labels.iter().any(|(n, x)| n == l && x == v))
                })
                .map(|s| s.value)
                .sum()
        })
    }

    /// The distinct values of `label` among the series of `metric`, sorted.
    pub fn label_values(&self, metric: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .series
            .get(metric)
            .into_iter()
            .flatten()
            .filter_map(|s| s.labels.iter().find(|(n, _)| n == label))
            .map(|(_, v)| v.clone())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}
