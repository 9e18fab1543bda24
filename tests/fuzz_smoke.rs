//! A short, bounded smoke run of each fuzz target (`core/fuzz/`): the
//! targets' own entry points (`radixgate::fuzzing`) over their seeds, every
//! input a fuzz run found crashing (`core/fuzz/regressions/<target>/`, kept
//! as regression tests), and a fixed stream of mutations of the seeds, for
//! at most a second per target. The long runs are `cargo fuzz`'s; see
//! `core/fuzz/README.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Time each target's mutations may take.
const BUDGET: Duration = Duration::from_secs(1);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file under `core/fuzz/<dir>/<target>/`.
fn inputs(dir: &str, target: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())))
        .collect()
}

/// xorshift64*: the same stream on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes parsers of these inputs give meaning to.
const TOKENS: [&[u8]; 12] = [
    b"\r\n",
    b"%2e",
    b"/..",
    b"//",
    b"chunked",
    b"Content-Length: 9\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"\"nodes\":",
    b"{\"a\":",
    b"ffffffffffffff\r\n",
    b"%",
    b"0\r\n\r\n",
];

/// One mutation of `seed`, with `other` to splice from.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.truncate(i);
            }
            2 => {
                let i = rng.below(v.len() + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(i..i, t.iter().copied());
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = rng.below(v.len() - i) + 1;
                v.drain(i..i + n);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let j = rng.below(other.len() + 1);
                v.splice(i..i, other[j..].iter().copied());
            }
        }
    }
    v
}

/// Runs `target` over its seeds and regressions, then mutations of the
/// seeds within [`BUDGET`]; returns how many inputs ran.
fn smoke(name: &str, target: fn(&[u8])) -> usize {
    let seeds = inputs("seeds", name);
    assert!(!seeds.is_empty(), "no seeds in core/fuzz/seeds/{name}");
    let regressions = inputs("regressions", name);
    for input in seeds.iter().chain(&regressions) {
        target(input);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let start = Instant::now();
    let mut ran = seeds.len() + regressions.len();
    while start.elapsed() < BUDGET && ran < 200_000 {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        target(&mutate(&mut rng, seed, other));
        ran += 1;
    }
    ran
}

#[test]
fn response_head_smoke() {
    let ran = smoke("response_head", radixgate::fuzzing::response_head);
    assert!(ran > 100, "{ran}");
}

#[test]
fn request_head_smoke() {
    let ran = smoke("request_head", radixgate::fuzzing::request_head);
    assert!(ran > 100, "{ran}");
}

#[test]
fn normalize_path_smoke() {
    let ran = smoke("normalize_path", radixgate::fuzzing::normalize_path);
    assert!(ran > 100, "{ran}");
}

#[test]
fn admin_decode_smoke() {
    let ran = smoke("admin_decode", radixgate::fuzzing::admin_decode);
    assert!(ran > 20, "{ran}");
}
