//! What this process costs right now, read from /proc: for the leak check and the server's
//! admin page. Linux-only readings; elsewhere they come back empty.

/// This process's thread count (0 where there is no /proc).
pub(crate) fn thread_count() -> u64 {
    status_field("Threads:").unwrap_or(0)
}

/// Resident memory in KiB.
pub(crate) fn resident_kb() -> Option<u64> {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}
