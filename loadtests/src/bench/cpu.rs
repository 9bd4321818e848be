//! Server CPU time, read from the kernel's per-thread accounting.
//!
//! `/proc/self/task/<tid>/stat` holds each thread's user and system time (fields 14 and 15, in
//! clock ticks). The benchmark sums every thread that is not the load generator's and not the
//! main thread, before and after a row. A thread that exits during a row takes its time with it,
//! so the figure can only be low, never high; Tokio's blocking threads live 10 s idle, longer
//! than a row.

use std::time::Duration;

/// The prefix of the load generator's thread names: their time is not the server's.
pub const LOAD_THREAD_PREFIX: &str = "bench-load";
/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux Baton runs on (reading it needs libc).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time of every server thread so far; zero where `/proc` cannot be read.
pub fn server_time() -> Duration {
    let ticks = std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            let me = std::process::id().to_string();
            tasks
                .flatten()
                .filter(|task| task.file_name().to_string_lossy() != me)
                .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
                .filter_map(|stat| server_ticks(&stat))
                .sum::<u64>()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// Whether `/proc` accounting is available here (Linux).
pub fn available() -> bool {
    std::path::Path::new("/proc/self/task").exists()
}

/// utime + stime of one thread's `stat` line, or `None` for a load-generator thread.
fn server_ticks(stat: &str) -> Option<u64> {
    // The name is in parentheses and may itself hold spaces or parentheses: split at the last.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    if name.starts_with(LOAD_THREAD_PREFIX) {
        return None;
    }
    // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let mut fields = stat.get(close + 2..)?.split(' ');
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_time_are_read_after_the_name() {
        let stat = "42 (bench-server) S 1 1 1 0 -1 4194368 10 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(server_ticks(stat), Some(10));
    }

    #[test]
    fn a_name_with_spaces_and_parentheses_is_skipped_whole() {
        let stat = "42 (a (b) c) S 1 1 1 0 -1 4194368 10 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(server_ticks(stat), Some(10));
    }

    #[test]
    fn the_load_generator_is_not_the_server() {
        let stat = "42 (bench-load-3) S 1 1 1 0 -1 4194368 10 0 0 0 7 3 0 0 20 0 1 0 5 0 0";
        assert_eq!(server_ticks(stat), None);
    }
}
