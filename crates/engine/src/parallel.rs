//! The engine's single rayon pool and its size.
//!
//! Size comes from `KERAS_NUM_THREADS` when set, else from the cores rayon sees.

use std::sync::OnceLock;

static THREADS: OnceLock<usize> = OnceLock::new();

/// Number of worker threads the engine uses for parallel kernels.
pub fn num_threads() -> usize {
    *THREADS.get_or_init(|| {
        tune_allocator();
        let n = std::env::var("KERAS_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(rayon::current_num_threads);
        // Best effort: the global pool may already exist (then it keeps its size).
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
        n
    })
}

/// Minimum number of elements before an element-wise loop is split over threads.
pub const ELEMENTWISE_PARALLEL_MIN: usize = 1 << 15;

/// Keeps freed large buffers in the process heap instead of returning them to the OS.
///
/// A training step allocates and frees the same large activation and gradient buffers every
/// step; glibc serves blocks above 128 KiB with fresh `mmap`s by default, so every step paid
/// page faults and zeroing for them (measured: ~8% of a CNN step). Raising the mmap and trim
/// thresholds makes those buffers come back from the heap, warm.
pub(crate) fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::Once;
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            extern "C" {
                fn mallopt(param: i32, value: i32) -> i32;
            }
            const M_TRIM_THRESHOLD: i32 = -1;
            const M_MMAP_THRESHOLD: i32 = -3;
            // SAFETY: mallopt only changes glibc allocator tunables; called once, before the
            // engine's own large allocations.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, 256 << 20);
                mallopt(M_TRIM_THRESHOLD, 512 << 20);
            }
        });
    }
}
