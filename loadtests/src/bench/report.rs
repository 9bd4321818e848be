//! The benchmark's table, as Markdown for people and JSON for tools.

use std::fmt::Write as _;

use serde::Serialize;

use super::rows::Row;

/// The machine and the build a table came from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub kernel: String,
    pub rustc: String,
    pub baton: String,
    pub commit: String,
    pub profile: String,
    pub date: String,
}

impl Machine {
    /// What this machine says about itself; the rest from the environment `just bench` sets
    /// (`BATON_BENCH_RUSTC`, `BATON_BENCH_COMMIT`, `BATON_BENCH_DATE`).
    pub fn describe() -> Self {
        let env = |key: &str| std::env::var(key).unwrap_or_else(|_| "unknown".to_owned());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, name)| name.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|release| release.trim().to_owned())
                .unwrap_or_else(|_| "unknown".to_owned()),
            rustc: env("BATON_BENCH_RUSTC"),
            baton: env!("CARGO_PKG_VERSION").to_owned(),
            commit: env("BATON_BENCH_COMMIT"),
            profile: if cfg!(debug_assertions) {
                "dev (dependencies at opt-level 2, Baton's crates unoptimised)".to_owned()
            } else {
                "release".to_owned()
            },
            date: env("BATON_BENCH_DATE"),
        }
    }
}

/// One row as the table shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub row: String,
    pub unit: String,
    pub per_second: f64,
    pub ratio_to_first: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p99_saturated_us: u64,
    pub concurrency_saturated: usize,
    pub server_cpu_us_per_unit: Option<f64>,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub cache_hit_at_least: Option<f64>,
}

/// The whole table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub machine: Machine,
    pub lines: Vec<Line>,
}

impl Table {
    pub fn new(machine: Machine, rows: &[Row], concurrency: usize, cpu_available: bool) -> Self {
        let first = rows.first().map_or(0.0, |row| row.saturated.per_second());
        let lines = rows
            .iter()
            .map(|row| {
                let per_second = row.saturated.per_second();
                let cpu = (cpu_available && row.saturated.requests > 0)
                    .then(|| row.server_cpu.as_secs_f64() * 1e6 / row.saturated.requests as f64);
                Line {
                    row: row.name.to_owned(),
                    unit: row.unit.to_owned(),
                    per_second,
                    ratio_to_first: if first > 0.0 { per_second / first } else { 0.0 },
                    p50_us: row.light.quantile_us(0.50),
                    p99_us: row.light.quantile_us(0.99),
                    p99_saturated_us: row.saturated.quantile_us(0.99),
                    concurrency_saturated: if row.unit == "login" { 4 } else { concurrency },
                    server_cpu_us_per_unit: cpu,
                    failures: row.saturated.failures + row.light.failures,
                    first_failure: row
                        .saturated
                        .first_failure
                        .clone()
                        .or_else(|| row.light.first_failure.clone()),
                    cache_hit_at_least: row.cache_hit_at_least,
                }
            })
            .collect();
        Self { machine, lines }
    }

    /// The table in Markdown, with the machine above it.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Measured {} on {} cores ({}), Linux {}, {}, Baton {} ({}), profile {}.\n",
            m.date, m.cores, m.cpu, m.kernel, m.rustc, m.baton, m.commit, m.profile
        );
        let _ = writeln!(
            out,
            "| row | per second | ratio to first | p50 (1 in flight) | p99 (1 in flight) | p99 (saturated) | server CPU per unit | failures |"
        );
        let _ = writeln!(
            out,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for line in &self.lines {
            let cpu = line
                .server_cpu_us_per_unit
                .map_or_else(|| "n/a".to_owned(), |us| format!("{us:.0} µs"));
            let _ = writeln!(
                out,
                "| {} | {:.0} {}s | {:.2} | {} | {} | {} | {} | {} |",
                line.row,
                line.per_second,
                line.unit,
                line.ratio_to_first,
                micros(line.p50_us),
                micros(line.p99_us),
                micros(line.p99_saturated_us),
                cpu,
                line.failures
            );
        }
        let _ = writeln!(
            out,
            "\nSaturated: {} in flight (logins: 4). Token cache hit rate, lower bound: {}.",
            self.lines.first().map_or(0, |l| l.concurrency_saturated),
            self.lines
                .iter()
                .filter_map(|l| l.cache_hit_at_least.map(|hit| format!(
                    "{} ≥ {:.3}%",
                    l.row,
                    hit * 100.0
                )))
                .collect::<Vec<_>>()
                .join("; ")
        );
        out
    }
}

fn micros(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}
