//! The engine's single rayon pool and its size.
//!
//! Size comes from `KERAS_NUM_THREADS` when set, else from the cores rayon sees.

use std::sync::OnceLock;

static THREADS: OnceLock<usize> = OnceLock::new();

/// Number of worker threads the engine uses for parallel kernels.
pub fn num_threads() -> usize {
    *THREADS.get_or_init(|| {
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
