//! APISIX's standalone file format: a YAML (or JSON) map keyed by kind
//! (`routes:`, `services:`, `upstreams:`, `consumers:`, `consumer_groups:`,
//! `global_rules:`, `plugin_configs:`, `plugin_metadata:`, `ssls:`), each a
//! list of objects with an `id` (`username` for consumers), and a trailing
//! `#END` line that marks the file as complete. Credentials are listed
//! under `consumers:` with an id `<username>/credentials/<id>`, as APISIX does.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};

use super::Item;
use crate::config::{decode_stored, FileError, Id, Kind, ObjectError, Store, CREDENTIALS};

/// One parse of a standalone file.
#[derive(Debug, Default)]
pub struct Standalone {
    /// The valid objects, each with the fingerprint of the JSON it was
    /// decoded from (to tell whether an object changed between two reads).
    pub items: Vec<(Item, Fingerprint)>,
    /// The objects that were refused.
    pub errors: Vec<ObjectError>,
    /// Top-level keys this build does not read (`plugins`, `protos`, ...).
    pub ignored: Vec<String>,
}

/// A 128-bit hash of an object's JSON text: equal for equal objects; two
/// different objects share one with odds of about 2^-128. Kept instead of
/// the JSON itself (a `serde_json::Value` costs kilobytes per route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u64; 2]);

impl Fingerprint {
    /// The fingerprint of `value`'s compact JSON text.
    pub fn of(value: &serde_json::Value) -> Fingerprint {
        let mut w = TwoHashers::default();
        w.1.write_u8(1);
        // Writing a `Value` to an infallible writer cannot fail.
        let _ = serde_json::to_writer(&mut w, value);
        Fingerprint([w.0.finish(), w.1.finish()])
    }
}

/// Two differently seeded hashers fed the same bytes.
#[derive(Default)]
struct TwoHashers(DefaultHasher, DefaultHasher);

impl std::io::Write for TwoHashers {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf);
        self.1.write(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parses the text of a standalone file; `path` names it in errors. A file
/// error means nothing in it can be trusted; object errors leave the other
/// objects usable.
pub fn parse_standalone(text: &str, path: &str) -> Result<Standalone, FileError> {
    let complete = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_end() == "#END");
    if !complete {
        return Err(FileError::NoEnd {
            path: path.to_owned(),
        });
    }
    let syntax = |reason: String| FileError::Syntax {
        path: path.to_owned(),
        reason,
    };
    let doc: serde_json::Value = serde_norway::from_str(text).map_err(|e| syntax(e.to_string()))?;
    let mut map = match doc {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => Default::default(),
        _ => {
            return Err(syntax(
                "expected a map with keys routes, services, upstreams, consumers, ...".into(),
            ))
        }
    };
    let mut out = Standalone::default();
    let mut seen: HashMap<(Kind, Id), ()> = HashMap::new();
    for kind in Kind::SERVED {
        if kind == Kind::Credential {
            continue;
        }
        // Taken out of the document: each object's JSON is freed once
        // decoded, so the whole file is never held twice.
        let list = match map.remove(kind.key()) {
            None | Some(serde_json::Value::Null) => continue,
            Some(serde_json::Value::Array(list)) => list,
            Some(_) => {
                return Err(syntax(format!(
                    "{}: expected a list of {} objects",
                    kind.key(),
                    kind
                )))
            }
        };
        for (i, value) in list.into_iter().enumerate() {
            let is_credential = kind == Kind::Consumer
                && value
                    .get("id")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|id| id.contains(CREDENTIALS));
            let kind = if is_credential {
                Kind::Credential
            } else {
                kind
            };
            let fingerprint = Fingerprint::of(&value);
            match decode_stored(kind, value, &format!("#{i}"), Store::File) {
                Ok((id, object)) => {
                    if seen.insert((kind, id.clone()), ()).is_some() {
                        out.errors.push(ObjectError::new(
                            kind,
                            id.0,
                            "id",
                            "duplicate: another object of this kind has this id",
                        ));
                        continue;
                    }
                    out.items.push((Item { id, object }, fingerprint));
                }
                Err(e) => out.errors.push(e),
            }
        }
    }
    out.ignored = map
        .keys()
        .filter(|k| Kind::from_key(k).is_none_or(|k| !k.is_served() || k == Kind::Credential))
        .cloned()
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_end_line() {
        let r = parse_standalone("routes: []\n", "f");
        assert!(matches!(r, Err(FileError::NoEnd { .. })));
        assert!(parse_standalone("routes: []\n#END\n\n", "f").is_ok());
    }

    #[test]
    fn bad_objects_are_reported_and_skipped() {
        let text = "routes:\n  - {id: 1, uri: /a, upstream_id: u}\n  - {id: 2, uri: 3, upstream_id: u}\n  - {id: 1, uri: /b, upstream_id: u}\nupstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nplugins: []\n#END\n";
        let s = parse_standalone(text, "f").unwrap();
        assert_eq!(s.items.len(), 2);
        assert_eq!(s.errors.len(), 2);
        assert_eq!(
            (s.errors[0].id.as_str(), s.errors[0].field.as_str()),
            ("2", "uri")
        );
        assert!(s.errors[1].reason.contains("duplicate"));
        assert_eq!(s.ignored, vec!["plugins".to_string()]);
    }

    #[test]
    fn every_kind_has_its_key() {
        crate::config::install_test_catalog();
        let text = "consumers:\n  - {username: jack, plugins: {key-auth: {key: k}}}\n  - {id: jack/credentials/c1, plugins: {key-auth: {key: k}}}\n  - {id: c2, plugins: {}}\nconsumer_groups:\n  - {id: g, plugins: {}}\nglobal_rules:\n  - {id: 1, plugins: {}}\nplugin_configs:\n  - {id: 1, plugins: {}}\nplugin_metadata:\n  - {id: http-logger, log_format: {}}\nssls: []\nprotos: []\n#END\n";
        let s = parse_standalone(text, "f").unwrap();
        let got: Vec<(Kind, &str)> = s
            .items
            .iter()
            .map(|(i, _)| (i.kind(), i.id.0.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::PluginConfig, "1"),
                (Kind::ConsumerGroup, "g"),
                (Kind::Consumer, "jack"),
                (Kind::Credential, "jack/credentials/c1"),
                (Kind::GlobalRule, "1"),
                (Kind::PluginMetadata, "http-logger"),
            ]
        );
        // A consumer entry that is neither a consumer nor a credential.
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert_eq!(
            (s.errors[0].kind, s.errors[0].id.as_str()),
            (Kind::Consumer, "c2")
        );
        assert_eq!(s.ignored, vec!["protos".to_string()]);
    }

    #[test]
    fn wrong_shapes_are_file_errors() {
        assert!(parse_standalone("routes: {a: 1}\n#END\n", "f").is_err());
        assert!(parse_standalone("- 1\n#END\n", "f").is_err());
        assert!(parse_standalone("routes: [\n#END\n", "f").is_err());
    }

    #[test]
    fn apisix_admin_api_examples_load() {
        crate::config::install_test_catalog();
        let text = include_str!("../config/fixtures/admin_api_examples.yaml");
        let parsed = parse_standalone(text, "admin_api_examples.yaml").unwrap();
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert!(parsed.ignored.is_empty(), "{:?}", parsed.ignored);
        let mut count = std::collections::BTreeMap::new();
        for (item, _) in &parsed.items {
            *count.entry(item.kind()).or_insert(0) += 1;
        }
        let want = [
            (Kind::Route, 4),
            (Kind::Service, 2),
            (Kind::Upstream, 3),
            (Kind::Consumer, 2),
            (Kind::Credential, 1),
            (Kind::ConsumerGroup, 1),
            (Kind::GlobalRule, 1),
            (Kind::PluginConfig, 1),
            (Kind::PluginMetadata, 1),
            (Kind::Ssl, 2),
        ];
        assert_eq!(count, want.into_iter().collect());
        let ssl = parsed.items.iter().find_map(|(i, _)| match &i.object {
            crate::config::Object::Ssl(s) if i.id.0 == "2" => Some(s.clone()),
            _ => None,
        });
        let ssl = ssl.unwrap();
        assert_eq!(ssl.server_names(), vec!["*.test.com".to_string()]);
        assert_eq!(
            (ssl.ssl_type, ssl.status, ssl.client.map(|c| c.depth)),
            (crate::config::SslType::Server, 1, Some(2))
        );
    }
}
