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

/// CPU time this process has used, user and system, in seconds (0 where unavailable).
pub(crate) fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a whole `rusage` into the pointer it is given, which points
    // at a zeroed `rusage` that lives across the call; RUSAGE_SELF is always valid.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if status != 0 {
        return 0.0;
    }
    // SAFETY: zero-initialized is a valid `rusage` (plain integers), and the call succeeded.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Returns the allocator's free pages to the system where the allocator keeps them (glibc);
/// elsewhere it does nothing.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks glibc's own free lists under glibc's own locks and
    // takes no pointer; 0 asks it to keep no padding. It is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_grows_with_work() {
        let before = super::cpu_seconds();
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = super::cpu_seconds();
        assert!(after > before, "{before} -> {after}");
        assert!(super::resident_kb().unwrap_or(0) > 0);
    }

    #[test]
    fn freed_memory_goes_back_to_the_system() {
        // 64 MiB in small blocks (below glibc's mmap threshold, so they live on the heap),
        // touched, then freed: trimming must leave less resident than before the trim.
        let blocks: Vec<Vec<u8>> = (0..16_384).map(|_| vec![1u8; 4096]).collect();
        let loaded = super::resident_kb().unwrap_or(0);
        drop(blocks);
        super::release_free_memory();
        let trimmed = super::resident_kb().unwrap_or(0);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(
                trimmed + 32 * 1024 < loaded,
                "{loaded} KiB loaded, {trimmed} KiB after the trim"
            );
        }
    }
}
