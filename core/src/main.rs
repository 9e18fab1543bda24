//! The `radixgate` binary: parses the command line, sets up logging and
//! runs the gateway (or only checks its configuration).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use radixgate::GatewayConfig;

/// Every thread allocates from its own mimalloc heap (cheaper than glibc
/// malloc on the proxy's hot path, measured with perf).
#[global_allocator]
static ALLOC: radixgate::GatewayAllocator = radixgate::GatewayAllocator;

/// An API gateway with Apache APISIX's data model.
#[derive(Debug, Parser)]
#[command(name = "radixgate", version, about)]
struct Cli {
    /// The gateway's settings.
    #[arg(short, long, default_value = "conf/config.yaml")]
    config: PathBuf,
    /// Check the settings and the standalone file, print every problem, and
    /// exit (non-zero when there is one).
    #[arg(short = 't', long)]
    test_config: bool,
}

fn main() -> ExitCode {
    radixgate::no_transparent_huge_pages();
    let cli = Cli::parse();
    if cli.test_config {
        return match radixgate::app::test_config(&cli.config) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(problems) => {
                for p in &problems {
                    eprintln!("error: {p}");
                }
                eprintln!("configuration test failed: {} problem(s)", problems.len());
                ExitCode::FAILURE
            }
        };
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("radixgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let config = GatewayConfig::load(&cli.config).context("loading the configuration")?;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| f.parse::<tracing_subscriber::EnvFilter>().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(&config.gateway.log_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), config = %cli.config.display(), "radixgate starting");
    radixgate::app::run(config)?;
    Ok(())
}
