//! The engine's single rayon pool and its size.
//!
//! Size comes from `KERAS_NUM_THREADS` when set, else from the cores rayon sees. Also the
//! opt-in allocator tuning for training loops ([`enable_malloc_tuning`]).

use std::sync::atomic::{AtomicBool, Ordering};
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

/// Length from which [`zeros`] splits the zero fill over the engine threads.
const PARALLEL_ZEROS_MIN: usize = 1 << 19;

/// A vector of `n` zeros. Large ones (2 MiB and up) are filled by every engine thread, each
/// writing its own slice, instead of by one `calloc` memset on the calling thread while the
/// others wait (the dense 20000x128 embedding gradient and the recurrent op's gate gradients
/// of a W3 training step: 6.7% of its samples, all on the main thread).
///
/// ```
/// let z = keras_engine::parallel::zeros(1 << 20);
/// assert_eq!(z.len(), 1 << 20);
/// assert!(z.iter().all(|&v| v == 0.0));
/// ```
pub fn zeros(n: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let threads = num_threads();
    if n < PARALLEL_ZEROS_MIN || threads < 2 {
        return vec![0.0; n];
    }
    let mut v: Vec<f32> = Vec::with_capacity(n);
    v.spare_capacity_mut()[..n]
        .par_chunks_mut(n.div_ceil(threads))
        .for_each(|c| c.fill(std::mem::MaybeUninit::new(0.0)));
    // SAFETY: the loop above wrote every one of the first `n` elements.
    unsafe { v.set_len(n) };
    v
}

/// Whether [`enable_malloc_tuning`] was called (the environment variable is read separately).
static MALLOC_TUNING: AtomicBool = AtomicBool::new(false);

/// Opts in to glibc allocator tuning for training loops: keeps freed large buffers in the
/// process heap instead of returning them to the OS.
///
/// A training step allocates and frees the same large activation and gradient buffers every
/// step; glibc serves blocks above 128 KiB with fresh `mmap`s by default, so every step pays
/// page faults and zeroing for them (measured: ~8% of a CNN training step, BENCHMARKS.md).
/// This raises glibc's `M_MMAP_THRESHOLD` to 256 MiB and `M_TRIM_THRESHOLD` to 512 MiB with
/// `mallopt`. Those settings are process-wide: they change how every allocation of the
/// program is served and let the heap keep up to 512 MiB of freed memory, which is why a
/// library does not do it unasked. Setting the environment variable `KERAS_TUNE_MALLOC=1`
/// has the same effect (applied when the first tensor is made).
///
/// Returns whether the tuning is applied: `false` where the allocator is not glibc's.
///
/// ```
/// let applied = keras_engine::parallel::enable_malloc_tuning();
/// assert_eq!(applied, cfg!(all(target_os = "linux", target_env = "gnu")));
/// ```
pub fn enable_malloc_tuning() -> bool {
    MALLOC_TUNING.store(true, Ordering::Relaxed);
    apply_malloc_tuning()
}

/// Applies the allocator tuning when it was asked for, by [`enable_malloc_tuning`] or by
/// `KERAS_TUNE_MALLOC=1` (called when tensors are made; cheap after the first call).
pub(crate) fn tune_allocator() {
    static FROM_ENV: OnceLock<bool> = OnceLock::new();
    let env = *FROM_ENV.get_or_init(|| std::env::var("KERAS_TUNE_MALLOC").is_ok_and(|v| v == "1"));
    if env || MALLOC_TUNING.load(Ordering::Relaxed) {
        apply_malloc_tuning();
    }
}

/// Calls `mallopt` once per process; whether it is supported here.
fn apply_malloc_tuning() -> bool {
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
            // SAFETY: mallopt only changes glibc allocator tunables and is thread-safe.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, 256 << 20);
                mallopt(M_TRIM_THRESHOLD, 512 << 20);
            }
        });
        true
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
