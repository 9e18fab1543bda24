//! file-logger through the mock host, writing a real file in a temp dir.

use std::time::{Duration, Instant};

use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
use radixgate_plugin::serde_json::{self, json, Value};

use crate::FileLogger;

fn lines_of(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a line is JSON"))
        .collect()
}

fn until(mut what: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn lines_match_and_follow_a_renamed_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.log");
    let host = MockHost::new();
    let config = json!({"path": path, "log_format": {"u": "$uri"},
                        "match": [["arg_skip", "~=", "1"]]});
    let logger = MockInstance::new::<FileLogger>(&config.to_string(), &host).unwrap();
    logger.log(&mut MockRequest::new("GET", "/a"));
    logger.log(&mut MockRequest::new("GET", "/skipped?skip=1"));
    assert!(until(|| lines_of(&path).len() == 1));
    assert_eq!(lines_of(&path), [json!({"u": "/a"})]);
    // logrotate: the file is renamed; the next lines go to a new file at
    // `path` within a second or so.
    let rotated = dir.path().join("file.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    let mut n = 0;
    assert!(until(|| {
        n += 1;
        logger.log(&mut MockRequest::new("GET", &format!("/b{n}")));
        path.exists()
    }));
    assert!(until(|| !lines_of(&path).is_empty()));
    assert_eq!(lines_of(&rotated)[0], json!({"u": "/a"}));
    assert!(lines_of(&path)[0]["u"].as_str().unwrap().starts_with("/b"));
}

#[test]
fn a_path_it_cannot_open_is_logged_and_counted_not_failed() {
    let host = MockHost::new();
    let config = json!({"path": "/nonexistent-dir/x/file.log"});
    let logger = MockInstance::new::<FileLogger>(&config.to_string(), &host).unwrap();
    let mut req = MockRequest::new("GET", "/a");
    assert_eq!(
        logger.log(&mut req),
        radixgate_plugin::abi::PhaseResult::Continue
    );
    assert!(until(|| host.logs().iter().any(|(_, _, m)| m.contains(
        "cannot open /nonexistent-dir/x/file.log for appending"
    ))));
}
