//! `baton-bench`: what each security layer costs, one table (`just bench`).
//!
//! Starts three in-process platforms and the reference servers on one Tokio runtime, drives them
//! from another, and writes `target/bench/bench.md` and `target/bench/bench.json`. See
//! `docs/performance.md` for what each row teaches. `BATON_BENCH_SECS` sets the saturated phase
//! of each row (default 3); `BATON_BENCH_ONLY=3` (or `2,3`) measures only those rows, for
//! profiling one: `BATON_BENCH_ONLY=3 BATON_BENCH_SECS=20 perf record -g target/release/baton-bench`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use baton_loadtests::bench::cpu;
use baton_loadtests::bench::report::{Machine, Table};
use baton_loadtests::bench::rows::{self, Setup, Timing};

const OUT_DIR: &str = "target/bench";

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("baton-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> anyhow::Result<()> {
    let mut timing = Timing::default();
    if let Ok(secs) = std::env::var("BATON_BENCH_SECS") {
        let secs: f64 = secs.parse().context("BATON_BENCH_SECS is not a number")?;
        timing.throughput = Duration::from_secs_f64(secs.max(0.5));
    }
    let only: Vec<usize> = match std::env::var("BATON_BENCH_ONLY") {
        Ok(list) if !list.is_empty() => list
            .split(',')
            .map(|n| n.trim().parse())
            .collect::<Result<_, _>>()
            .context("BATON_BENCH_ONLY is not a list of row numbers")?,
        _ => Vec::new(),
    };
    let server = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    let load = tokio::runtime::Builder::new_multi_thread()
        .thread_name(cpu::LOAD_THREAD_PREFIX)
        .enable_all()
        .build()?;
    eprintln!("baton-bench: starting three platforms and the reference servers…");
    let setup = server.block_on(Setup::start())?;
    let rows = load.block_on(rows::run_all(&setup, timing, &only))?;
    let table = Table::new(
        Machine::describe(),
        &rows,
        timing.concurrency,
        cpu::available(),
    );
    std::fs::create_dir_all(OUT_DIR)?;
    let markdown = table.markdown();
    std::fs::write(format!("{OUT_DIR}/bench.md"), &markdown)?;
    std::fs::write(
        format!("{OUT_DIR}/bench.json"),
        serde_json::to_string_pretty(&table)?,
    )?;
    println!("{markdown}");
    println!("written to {OUT_DIR}/bench.md and {OUT_DIR}/bench.json");
    drop(setup);
    server.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}
