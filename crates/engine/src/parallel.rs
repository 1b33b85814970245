//! The engine's single rayon pool and its size.
//!
//! Size comes from `KERAS_NUM_THREADS` when set, else from the cores rayon sees. On the
//! program's main thread the caller becomes the pool's thread 0 (see [`num_threads`]). Also
//! the opt-in allocator tuning for training loops ([`enable_malloc_tuning`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static THREADS: OnceLock<usize> = OnceLock::new();

/// Number of worker threads the engine uses for parallel kernels; the first call makes the
/// global rayon pool of that size (when nothing made it before).
///
/// When the first call comes from the program's main thread (the thread named `main`) and
/// the pool has two threads or more, the main thread becomes the pool's thread 0 (rayon's
/// `use_current_thread`) and one thread fewer is started. A parallel kernel called from it
/// then runs its first half itself and hands the rest to the other threads through its own
/// work queue, instead of injecting the whole job from outside the pool and blocking on a
/// futex until a worker finishes it (measured: a W1 training step made ~40 futex calls, one
/// block and one wake per parallel region; BENCHMARKS.md "Training-step overheads (eighth
/// session)"). Kernels split their work by sizes, never by which thread runs a piece, so the
/// results are the same bits either way. `KERAS_POOL_MAIN_THREAD=0` keeps the main thread
/// outside the pool: do so for a program that makes its first tensor on the main thread but
/// runs its parallel work on other threads (several trials at once, a server's request
/// threads), since jobs from those are served only by the pool threads other than the main
/// one.
///
/// ```
/// let n = keras_engine::parallel::num_threads();
/// assert!(n >= 1);
/// // Doc tests run on their program's main thread: with two threads or more it joined.
/// if n >= 2 && std::env::var("KERAS_POOL_MAIN_THREAD").map_or(true, |v| v != "0") {
///     assert_eq!(rayon::current_thread_index(), Some(0));
/// }
/// ```
pub fn num_threads() -> usize {
    *THREADS.get_or_init(|| {
        tune_allocator();
        let n = std::env::var("KERAS_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(default_threads);
        let join = n >= 2 && caller_joins_pool();
        // Best effort: the global pool may already exist (then it keeps its size).
        match pool_builder(n, join).build_global() {
            Ok(()) if join => POOL_CALLER.set(true),
            Ok(()) => {}
            Err(_) if join => {
                let _ = pool_builder(n, false).build_global();
            }
            Err(_) => {}
        }
        n
    })
}

thread_local! {
    /// Whether this thread is a caller that joined its pool as thread 0 ([`num_threads`],
    /// [`join_pool_as_caller`]): such a thread starts parallel regions, as one outside the
    /// pool does.
    static POOL_CALLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread runs inside a piece of a parallel region, where a kernel runs
/// serially instead of splitting its work again: a pool worker, or a caller that joined the
/// pool as its thread 0 ([`num_threads`]) while pieces of its region wait in its own queue.
/// Such a caller outside any region has an empty queue (every region it started has ended),
/// so its kernels split as those of a caller outside the pool do; inside a region with its
/// queue empty (the other threads took the rest), a nested kernel splits too and runs whole
/// on it unless an idle thread takes a part. Either way the results are the same bits:
/// kernels split their work by sizes, and gemm's sums do not depend on the split.
///
/// ```
/// assert!(!std::thread::spawn(keras_engine::parallel::in_worker).join().unwrap());
/// ```
pub fn in_worker() -> bool {
    rayon::current_thread_index().is_some()
        && (!POOL_CALLER.get() || rayon_core::current_thread_has_pending_tasks() == Some(true))
}

/// Makes the calling thread thread 0 of a new pool of `n` threads (two or more), the way
/// [`num_threads`] treats the program's main thread, for a thread other than the main one
/// that runs training steps; parallel iterators called on it then run in the returned pool.
/// rayon keeps the thread's pool state for the thread's life (the pool is leaked with it).
///
/// # Errors
/// When the thread already belongs to a pool, or the pool cannot be made.
///
/// ```
/// std::thread::spawn(|| {
///     let _pool = keras_engine::parallel::join_pool_as_caller(2).unwrap();
///     assert_eq!(rayon::current_thread_index(), Some(0));
///     assert!(!keras_engine::parallel::in_worker());
/// })
/// .join()
/// .unwrap();
/// ```
pub fn join_pool_as_caller(n: usize) -> crate::Result<rayon::ThreadPool> {
    let pool = pool_builder(n.max(2), true)
        .build()
        .map_err(|e| crate::EngineError::new(format!("cannot make the thread pool: {e}")))?;
    POOL_CALLER.set(true);
    Ok(pool)
}

/// Rayon's default size, read without making rayon's global pool (`RAYON_NUM_THREADS`, its
/// older name `RAYON_RS_NUM_CPUS`, else the cores the process may use).
fn default_threads() -> usize {
    ["RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS"]
        .iter()
        .find_map(|k| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Whether the calling thread becomes the pool's thread 0: the program's main thread, unless
/// `KERAS_POOL_MAIN_THREAD=0`. Other threads (a test harness's, a server's) may end while
/// the pool lives on, so they stay outside it.
fn caller_joins_pool() -> bool {
    std::thread::current().name() == Some("main")
        && std::env::var("KERAS_POOL_MAIN_THREAD").map_or(true, |v| v != "0")
}

/// The pool of `n` threads; with `join`, the calling thread is its thread 0.
fn pool_builder(n: usize, join: bool) -> rayon::ThreadPoolBuilder {
    let b = rayon::ThreadPoolBuilder::new().num_threads(n);
    if join {
        b.use_current_thread()
    } else {
        b
    }
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

/// Bytes from which [`gather_rows`] splits a copy over the engine threads: a training batch
/// of W1 (128 x 784 floats, 400 KB) is read from a dataset larger than the caches, and one
/// thread copying it while the others wait was 3% of the step (Intel Xeon model 207,
/// BENCHMARKS.md "s22").
const PARALLEL_COPY_MIN_BYTES: usize = 1 << 17;

/// The rows `rows` (each `row` elements of `src`, in that order) copied into one vector.
/// Large copies are split over the engine threads by rows, each thread writing its own part
/// of the new vector; the result is the same.
///
/// # Panics
/// If a row is out of `src`'s bounds (callers check the indices first).
pub(crate) fn gather_rows<T: Copy + Send + Sync>(
    src: &[T],
    row: usize,
    rows: impl ExactSizeIterator<Item = usize> + Clone + Send + Sync,
) -> Vec<T> {
    use rayon::prelude::*;
    let count = rows.len();
    let n = count * row;
    let threads = num_threads();
    if n * std::mem::size_of::<T>() < PARALLEL_COPY_MIN_BYTES || threads < 2 || row == 0 || in_worker() {
        let mut out = Vec::with_capacity(n);
        for i in rows {
            out.extend_from_slice(&src[i * row..(i + 1) * row]);
        }
        return out;
    }
    let mut out: Vec<T> = Vec::with_capacity(n);
    let per = count.div_ceil(threads);
    out.spare_capacity_mut()[..n].par_chunks_mut(per * row).enumerate().for_each(|(p, part)| {
        let mut written = 0;
        for (dst, i) in part.chunks_mut(row).zip(rows.clone().skip(p * per)) {
            let s = &src[i * row..(i + 1) * row];
            // SAFETY: `dst` and `s` are `row` elements each, and distinct allocations.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), dst.as_mut_ptr().cast::<T>(), row) };
            written += row;
        }
        // An iterator shorter than its `len` would leave elements unwritten: never set them
        // as initialised (the panic reaches the caller before `set_len`).
        assert_eq!(written, part.len(), "gather_rows: fewer rows than the iterator's length");
    });
    // SAFETY: the parts cover the first `n` elements, and each part was filled whole (the
    // assert above).
    unsafe { out.set_len(n) };
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.731).sin()).collect()
    }

    /// Rows copied by [`gather_rows`] (split over the threads from 128 KiB on) are the rows
    /// asked for, in order, for every element type, whole and partial splits, repeated and
    /// reversed indices, and the empty cases; the tensor entry points agree.
    #[test]
    fn gathered_rows_are_the_rows_asked_for() {
        fn serial<T: Copy>(src: &[T], row: usize, idx: &[usize]) -> Vec<T> {
            idx.iter().flat_map(|&i| src[i * row..(i + 1) * row].iter().copied()).collect()
        }
        fn check<T: Copy + Send + Sync + PartialEq + std::fmt::Debug>(src: &[T], row: usize, rows: usize) {
            let idx_sets: Vec<Vec<usize>> = vec![
                (0..rows).collect(),
                (3..rows - 2).collect(),
                (0..rows).rev().collect(),
                (0..rows).map(|i| (i * 7919) % rows).collect(),
                vec![1, 1, 0],
                vec![],
            ];
            for idx in &idx_sets {
                let got = gather_rows(src, row, idx.iter().copied());
                assert_eq!(got, serial(src, row, idx), "{} rows of {row}", idx.len());
            }
            let range = gather_rows(src, row, 2..rows - 1);
            assert_eq!(range, serial(src, row, &(2..rows - 1).collect::<Vec<_>>()));
        }
        // 301 rows of 217 floats: 261 KB, above the threshold; 5 rows: below.
        for rows in [301, 5] {
            let row = 217;
            let f: Vec<f32> = data(rows * row, 0.5);
            check(&f, row, rows);
            let i: Vec<i32> = (0..(rows * row) as i32).collect();
            check(&i, row, rows);
            let l: Vec<i64> = (0..(rows * row) as i64).map(|v| v * 3 - 7).collect();
            check(&l, row, rows);
        }
        // Rows of no elements.
        assert!(gather_rows::<f32>(&[], 0, 0..1000).is_empty());
        let t = Tensor::new(data(301 * 217, 1.5), [301, 217]).unwrap();
        let all = t.to_f32_vec();
        assert_eq!(t.slice_rows(10, 290).unwrap().to_f32_vec(), all[10 * 217..290 * 217].to_vec());
        let idx: Vec<usize> = (0..301).rev().collect();
        assert_eq!(t.gather_rows(&idx).unwrap().to_f32_vec(), serial(&all, 217, &idx));
    }

    /// Parallel kernels called from a thread that is the pool's thread 0 (the main thread's
    /// case) and from a thread outside the pool give the same bits.
    fn kernels() -> Vec<Vec<u32>> {
        let a = Tensor::new(data(384 * 320, 1.0), [384, 320]).unwrap();
        let b = Tensor::new(data(320 * 288, 2.0), [320, 288]).unwrap();
        let x = Tensor::new(data(8 * 18 * 18 * 16, 3.0), [8, 18, 18, 16]).unwrap();
        let w = Tensor::new(data(3 * 3 * 16 * 32, 4.0), [3, 3, 16, 32]).unwrap();
        let mm = crate::ops::matmul(&a, &b).unwrap();
        let conv = crate::ops::conv2d(&x, &w, None, [1, 1], [1, 1], false, crate::ops::Unary::Relu).unwrap();
        let z = zeros(1 << 20);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        vec![bits(&mm.to_f32_vec()), bits(&conv.to_f32_vec()), bits(&z)]
    }

    #[test]
    fn a_caller_that_is_the_pools_thread_0_gets_the_same_bits() {
        let outside = std::thread::spawn(kernels).join().unwrap();
        let inside = std::thread::spawn(|| {
            // This thread joins a local pool of 2 as its thread 0 (leaked with the thread's
            // state, as rayon documents); parallel iterators called here run in it.
            let _pool = join_pool_as_caller(2).unwrap();
            assert_eq!(rayon::current_thread_index(), Some(0));
            assert_eq!(rayon::current_num_threads(), 2);
            assert!(!in_worker());
            kernels()
        })
        .join()
        .unwrap();
        assert_eq!(outside.len(), inside.len());
        for (o, i) in outside.iter().zip(&inside) {
            assert_eq!(o, i);
        }
    }

    #[test]
    fn only_the_main_thread_joins_the_pool() {
        let joins = std::thread::Builder::new().name("worker".into()).spawn(caller_joins_pool).unwrap();
        assert!(!joins.join().unwrap());
    }

    #[test]
    fn the_default_size_follows_rayons_rule() {
        assert!(default_threads() >= 1);
    }
}
