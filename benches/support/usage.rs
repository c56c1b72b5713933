//! Resource usage from `getrusage`, and the peak resident set size of one case.

use std::time::Duration;

/// What `getrusage(RUSAGE_SELF)` says about the whole process: every thread, the engine's
/// actors included.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
    pub voluntary: u64,
    pub involuntary: u64,
    pub max_rss_kb: u64,
}

/// The process's resource usage now; zeros if the call fails, which Linux never does here.
pub fn usage() -> Usage {
    // SAFETY: `rusage` is plain integers, so all-zero is a valid value, and `getrusage` only
    // writes the struct it is given a pointer to.
    let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointer is to a live, writable `rusage`.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut raw) } != 0 {
        return Usage::default();
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Usage {
        cpu: time(raw.ru_utime) + time(raw.ru_stime),
        voluntary: u64::try_from(raw.ru_nvcsw).unwrap_or(0),
        involuntary: u64::try_from(raw.ru_nivcsw).unwrap_or(0),
        max_rss_kb: u64::try_from(raw.ru_maxrss).unwrap_or(0),
    }
}

/// The peak resident set size of one case.
///
/// `ru_maxrss` is the high-water mark of the whole process's life, so in a bench binary that
/// runs two hundred cases it would report the largest case for every later one. Linux can
/// reset the mark (`/proc/self/clear_refs`, since 4.0) and reports it as `VmHWM`; where that
/// works each case gets its own peak, and elsewhere the record falls back to `ru_maxrss`.
pub struct PeakRss {
    reset: bool,
}

impl PeakRss {
    /// Resets the high-water mark to the current RSS, if the kernel allows, after handing the
    /// allocator's free memory back: what earlier cases freed but malloc kept would otherwise
    /// count as this case's.
    pub fn start() -> PeakRss {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live
        // allocation and is safe to call from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
        PeakRss {
            reset: std::fs::write("/proc/self/clear_refs", "5").is_ok(),
        }
    }

    /// The peak since `start`, in KiB.
    pub fn kb(&self) -> u64 {
        let hwm = || {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        };
        match self.reset.then(hwm).flatten() {
            Some(kb) => kb,
            None => usage().max_rss_kb,
        }
    }
}
