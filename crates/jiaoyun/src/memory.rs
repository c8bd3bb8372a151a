//! The process's allocator. glibc's malloc keeps what the threads of a busy moment freed, in
//! per-thread arenas, for good: after the exam benchmark (3,000 students at once) the process
//! idled at 254 MiB while 22 MiB of the heap was live (a heaptrack profile, docs/deployment.md,
//! Memory). jemalloc's background threads hand freed pages back to the system within seconds
//! of a load ending, and its statistics say what is live.

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What the allocator holds, in bytes: `allocated` by the program (live), `resident` in memory
/// (live, plus freed pages not yet returned, plus the allocator's own books).
#[derive(Clone, Copy, Debug)]
pub struct Heap {
    pub allocated: u64,
    pub resident: u64,
}

/// The allocator's figures now; `None` without jemalloc (the fuzz targets, or a platform
/// without it).
pub fn heap() -> Option<Heap> {
    #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        // The statistics are a snapshot taken when the epoch advances.
        epoch::advance().ok()?;
        Some(Heap {
            allocated: stats::allocated::read().ok()? as u64,
            resident: stats::resident::read().ok()? as u64,
        })
    }
    #[cfg(not(all(feature = "jemalloc", not(target_env = "msvc"))))]
    None
}

/// "live X MiB, held Y MiB" for the benchmarks' memory lines, or nothing.
pub fn describe() -> String {
    heap().map_or_else(String::new, |h| {
        format!(
            "; the allocator: {:.0} MiB live, {:.0} MiB held",
            h.allocated as f64 / 1048576.0,
            h.resident as f64 / 1048576.0
        )
    })
}

/// Publishes the figures as gauges (`allocator_allocated_bytes`, `allocator_resident_bytes`).
pub fn publish() {
    if let Some(h) = heap() {
        metrics::gauge!("allocator_allocated_bytes").set(h.allocated as f64);
        metrics::gauge!("allocator_resident_bytes").set(h.resident as f64);
    }
}

#[cfg(all(test, feature = "jemalloc", not(target_env = "msvc")))]
mod tests {
    #[test]
    fn the_allocator_counts_what_is_live() {
        let before = super::heap().map(|h| h.allocated);
        let block = vec![1u8; 64 << 20];
        let during = super::heap().map(|h| h.allocated);
        assert!(std::hint::black_box(&block)[(64 << 20) - 1] == 1);
        drop(block);
        let after = super::heap().map(|h| h.allocated);
        let (Some(before), Some(during), Some(after)) = (before, during, after) else {
            panic!("jemalloc is the allocator on this platform: its statistics are readable");
        };
        assert!(during >= before + (48 << 20), "{before} → {during}");
        assert!(after + (32 << 20) < during, "{during} → {after}");
    }
}
