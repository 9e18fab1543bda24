//! Router benchmarks: `cargo bench -p radix-router --bench router`.
//!
//! - `github`: matchit's 130 GitHub API routes, every route's path looked up
//!   once per iteration, through this router, matchit and path-tree, each
//!   result checked inside the loop (as matchit's own benchmark does);
//!   `github_matchit_calls` is the same with matchit's four request paths.
//! - `lua_sets`: the route sets of lua-resty-radixtree's benchmarks (see
//!   docs/performance.md, "Router"), at their size and at 1k routes
//!   to show that a lookup does not grow with the number of routes.
//! - `changes`: building 100k routes, one update, one insert + remove.
//! - memory: bytes per route at 10k and 100k, counted by the global allocator
//!   below and printed before the timed groups (only under `cargo bench`).
//!
//! `benches/lua/bench_router.lua` times the same sets through LuaJIT.

use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};
use radix_router::{Options, Request, Route, Router};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::time::Duration;

mod github;

// ---------------------------------------------------------------------------
// A counting allocator: heap bytes allocated minus freed, and their peak,
// while `COUNTING` is on (only inside `measure`), so that the timed groups
// pay one relaxed load per allocation and no atomic read-modify-write.

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n as isize, Relaxed) + n as isize;
    PEAK.fetch_max(now, Relaxed);
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n as isize, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Relaxed) {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && COUNTING.load(Relaxed) {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Relaxed) {
            shrank(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && COUNTING.load(Relaxed) {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ---------------------------------------------------------------------------
// Route sets.

/// 32 hex digits standing in for lua-resty-radixtree's `ngx.md5(i)`: two
/// splitmix64 outputs, so no md5 dependency is needed. The keys have md5's
/// shape (length, alphabet, spread), not its values; bench_router.lua
/// computes the same keys.
fn hex_key(i: u64) -> String {
    fn splitmix64(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    format!("{:016x}{:016x}", splitmix64(2 * i), splitmix64(2 * i + 1))
}

/// Routes numbered `1..=n`, value `i`.
fn routes(n: u64, make: impl Fn(u64) -> Route<u64>) -> impl Iterator<Item = Route<u64>> {
    (1..=n).map(make)
}

fn static_route(i: u64) -> Route<u64> {
    Route::new(format!("s{i}"), i).path(format!("/{}", hex_key(i)))
}

fn prefix_route(i: u64) -> Route<u64> {
    Route::new(format!("p{i}"), i).path(format!("/{}/*", hex_key(i)))
}

fn param_route(i: u64) -> Route<u64> {
    Route::new(format!("u{i}"), i).path(format!("/user{i}/:name"))
}

fn host_route(i: u64) -> Route<u64> {
    Route::new(format!("h{i}"), i)
        .path("/foo")
        .host(format!("host{i}.com"))
}

fn wildcard_host_route(i: u64) -> Route<u64> {
    Route::new(format!("w{i}"), i)
        .path("/foo")
        .host(format!("*.host{i}.com"))
}

fn shared_prefix_route(i: u64) -> Route<u64> {
    Route::new(format!("a{i}"), i).path(format!("/api/:version/res{i}"))
}

fn build(n: u64, make: impl Fn(u64) -> Route<u64>) -> Router<u64> {
    Router::build(routes(n, make), Options::default()).expect("routes are valid")
}

fn size_name(n: u64) -> String {
    match n {
        n if n % 1000 == 0 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

// ---------------------------------------------------------------------------
// (a) GitHub API routes.

fn github_group(c: &mut Criterion, name: &str, calls: &[(String, usize)]) {
    let mut ours = Router::default();
    for (i, route) in github::ROUTES.iter().enumerate() {
        ours.insert(Route::new(i.to_string(), i).path(*route))
            .unwrap();
    }
    let mut matchit = matchit::Router::new();
    for (i, route) in github::ROUTES.iter().enumerate() {
        matchit.insert(github::to_braces(route), i).unwrap();
    }
    let mut path_tree = path_tree::PathTree::new();
    for (i, route) in github::ROUTES.iter().enumerate() {
        let _ = path_tree.insert(route, i);
    }

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(calls.len() as u64));
    group.bench_function("radix-router", |b| {
        b.iter(|| {
            for (path, want) in black_box(calls) {
                let m = ours.find(&Request::new(path.as_str())).unwrap();
                assert_eq!(m.value, want, "{path}");
            }
        })
    });
    group.bench_function("matchit", |b| {
        b.iter(|| {
            for (path, want) in black_box(calls) {
                let m = matchit.at(path).unwrap();
                assert_eq!(m.value, want, "{path}");
            }
        })
    });
    group.bench_function("path-tree", |b| {
        b.iter(|| {
            for (path, want) in black_box(calls) {
                let (v, _) = path_tree.find(path).unwrap();
                assert_eq!(v, want, "{path}");
            }
        })
    });
    group.finish();
}

fn github(c: &mut Criterion) {
    let all: Vec<(String, usize)> = github::ROUTES
        .iter()
        .enumerate()
        .map(|(i, r)| (github::request_path(r), i))
        .collect();
    github_group(c, "github", &all);

    let index = |route: &str| github::ROUTES.iter().position(|r| *r == route).unwrap();
    let four = [
        "/user/repos",
        "/repos/:p1/:p2/stargazers",
        "/orgs/:p1/public_members/:p2",
        "/repos/:p1/:p2/releases/:p3",
    ];
    let calls: Vec<(String, usize)> = github::MATCHIT_CALLS
        .iter()
        .zip(four)
        .map(|(p, r)| (p.to_string(), index(r)))
        .collect();
    github_group(c, "github_matchit_calls", &calls);
}

// ---------------------------------------------------------------------------
// (b) lua-resty-radixtree's route sets.

/// The value a lookup must find, and one param it must capture; `None`: no match.
type Want<'a> = Option<(u64, Option<(&'a str, &'a [u8])>)>;

/// Makes route number `i` of a set.
type MakeRoute = fn(u64) -> Route<u64>;

/// Times one lookup of `req`, checking the matched value (and a param).
fn lookup(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: String,
    r: &Router<u64>,
    req: Request<'_>,
    want: Want<'_>,
) {
    // Check once outside the timing so a wrong set-up fails loudly.
    let got = r.find(&req).map(|m| *m.value);
    assert_eq!(got, want.map(|w| w.0), "{id}");
    group.bench_function(id, |b| {
        b.iter(|| {
            let m = r.find(black_box(&req));
            match (m, want) {
                (Some(m), Some((value, param))) => {
                    assert_eq!(*m.value, value);
                    if let Some((name, v)) = param {
                        assert_eq!(m.params.get(name), Some(v));
                    }
                }
                (None, None) => {}
                _ => panic!("wrong match"),
            }
        })
    });
}

fn lua_sets(c: &mut Criterion) {
    let mut group = c.benchmark_group("lua_sets");

    for n in [100_000, 1_000] {
        let size = size_name(n);
        let mid = n / 2;

        let r = build(n, static_route);
        let path = format!("/{}", hex_key(mid));
        lookup(
            &mut group,
            format!("static/{size}"),
            &r,
            Request::new(&path),
            Some((mid, None)),
        );
        drop(r);

        let r = build(n, prefix_route);
        let hit = format!("/{}/a", hex_key(mid));
        let miss = format!("/{}/a", hex_key(n + 7));
        lookup(
            &mut group,
            format!("prefix_hit/{size}"),
            &r,
            Request::new(&hit),
            Some((mid, None)),
        );
        lookup(
            &mut group,
            format!("prefix_miss/{size}"),
            &r,
            Request::new(&miss),
            None,
        );
        drop(r);

        let r = build(n, param_route);
        let path = format!("/user{mid}/gordon");
        lookup(
            &mut group,
            format!("param/{size}"),
            &r,
            Request::new(&path),
            Some((mid, Some(("name", b"gordon")))),
        );
    }

    for n in [1_000, 10] {
        let size = size_name(n);
        let mid = n / 2;
        let r = build(n, host_route);
        let host = format!("host{mid}.com");
        lookup(
            &mut group,
            format!("hosts/{size}"),
            &r,
            Request::new("/foo").host(&host),
            Some((mid, None)),
        );
        let r = build(n, wildcard_host_route);
        let host = format!("www.host{mid}.com");
        lookup(
            &mut group,
            format!("wildcard_hosts/{size}"),
            &r,
            Request::new("/foo").host(&host),
            Some((mid, None)),
        );
    }

    // Equal priorities go longest pattern first, then insertion order: with
    // routes 1..=n, `res9` is tried last and `res<n>` first.
    for n in [10_000, 1_000] {
        let size = size_name(n);
        let r = build(n, shared_prefix_route);
        lookup(
            &mut group,
            format!("shared_prefix_last_res9/{size}"),
            &r,
            Request::new("/api/v1/res9"),
            Some((9, Some(("version", b"v1")))),
        );
        let path = format!("/api/v1/res{n}");
        lookup(
            &mut group,
            format!("shared_prefix_first_res{n}/{size}"),
            &r,
            Request::new(&path),
            Some((n, Some(("version", b"v1")))),
        );
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// (c) Build and change costs.

fn changes(c: &mut Criterion) {
    const N: u64 = 100_000;
    let mut group = c.benchmark_group("changes");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(3));

    // Inputs are made outside the timing; the built router is dropped outside it too.
    let statics: Vec<Route<u64>> = routes(N, static_route).collect();
    let params: Vec<Route<u64>> = routes(N, param_route).collect();
    group.bench_function("build_static/100k/radix-router", |b| {
        b.iter_batched(
            || statics.clone(),
            |rs| Router::build(rs, Options::default()).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("build_static/100k/matchit", |b| {
        b.iter_batched(
            || statics.clone(),
            |rs| {
                let mut m = matchit::Router::new();
                for r in rs {
                    m.insert(r.paths.into_iter().next().unwrap(), r.value)
                        .unwrap();
                }
                m
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("build_static/100k/path-tree", |b| {
        b.iter_batched(
            || statics.clone(),
            |rs| {
                let mut t = path_tree::PathTree::new();
                for r in rs {
                    let _ = t.insert(&r.paths[0], r.value);
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("build_param/100k/radix-router", |b| {
        b.iter_batched(
            || params.clone(),
            |rs| Router::build(rs, Options::default()).unwrap(),
            BatchSize::PerIteration,
        )
    });
    drop((statics, params));

    // One change in a 100k router. The route handed over is made outside
    // the timing; checking and storing it, and dropping the old one, inside.
    group
        .sample_size(50)
        .sampling_mode(SamplingMode::Auto)
        .measurement_time(Duration::from_secs(2));
    for (set, make) in [
        ("static", static_route as MakeRoute),
        ("param", param_route as MakeRoute),
    ] {
        let mut r = build(N, make);
        let mid = N / 2;
        group.bench_function(format!("update/{set}/100k"), |b| {
            b.iter_batched(
                || make(mid),
                |route| assert_eq!(r.upsert(route).unwrap(), Some(mid)),
                BatchSize::SmallInput,
            )
        });
        let new_id = make(N + 1).id;
        group.bench_function(format!("insert_remove/{set}/100k"), |b| {
            b.iter_batched(
                || make(N + 1),
                |route| {
                    r.insert(route).unwrap();
                    assert_eq!(r.remove(&new_id).unwrap(), N + 1);
                },
                BatchSize::SmallInput,
            )
        });
        assert_eq!(r.len(), N as usize);
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// (d) Memory.

/// Heap bytes still held by what `make` returns (allocated minus freed
/// while making it), and the peak while making it.
fn measure<R>(make: impl FnOnce() -> R) -> (R, usize, usize) {
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let r = make();
    COUNTING.store(false, Relaxed);
    let held = LIVE.load(Relaxed).max(0) as usize;
    let peak = PEAK.load(Relaxed).max(0) as usize;
    (r, held, peak)
}

fn memory_report() {
    println!("memory (heap held after build: bytes requested from the allocator, without malloc overhead):");
    println!(
        "{:<36} {:>8} {:>12} {:>10} {:>12}",
        "set", "routes", "bytes", "B/route", "peak bytes"
    );
    let line = |name: &str, n: u64, held: usize, peak: usize| {
        println!(
            "{:<36} {:>8} {:>12} {:>10} {:>12}",
            name,
            n,
            held,
            held as u64 / n,
            peak
        );
    };
    for n in [10_000, 100_000] {
        let sets: [(&str, MakeRoute); 4] = [
            ("radix-router static /<hex>", static_route),
            ("radix-router prefix /<hex>/*", prefix_route),
            ("radix-router param /user<i>/:name", param_route),
            (
                "radix-router shared /api/:version/res<i>",
                shared_prefix_route,
            ),
        ];
        for (name, make) in sets {
            let (r, held, peak) = measure(|| build(n, make));
            assert_eq!(r.len(), n as usize);
            line(name, n, held, peak);
            drop(r);
        }
        let (m, held, peak) = measure(|| {
            let mut m = matchit::Router::new();
            for i in 1..=n {
                m.insert(format!("/{}", hex_key(i)), i).unwrap();
            }
            m
        });
        line("matchit static /<hex>", n, held, peak);
        drop(m);
        let (t, held, peak) = measure(|| {
            let mut t = path_tree::PathTree::new();
            for i in 1..=n {
                let _ = t.insert(&format!("/{}", hex_key(i)), i);
            }
            t
        });
        line("path-tree static /<hex>", n, held, peak);
        drop(t);
    }
    println!();
}

// ---------------------------------------------------------------------------

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = github, lua_sets, changes
}

fn main() {
    // Only under `cargo bench` (which passes --bench), not in test mode.
    if std::env::args().any(|a| a == "--bench") {
        memory_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
