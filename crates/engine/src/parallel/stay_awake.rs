//! Keeps the pool's other threads awake between the parallel regions of a step.
//!
//! rayon puts an idle worker to sleep on a futex after ~32 rounds of `sched_yield` (tens of
//! microseconds). A training step alternates parallel regions with short serial stretches
//! on the calling thread (the tape, small ops, the loss), so between regions the other
//! thread falls asleep, and each region then pays a futex wake on the caller and a context
//! switch on the worker, and starts its second half late or runs it on the caller. Measured
//! on W1 (two threads, `perf` at 10 kHz): the caller busy 83% of the time and the worker 69%,
//! with ~7% of the caller's and ~8% of the worker's samples in the kernel's wake and
//! schedule paths. OpenMP runtimes spin for the same reason (Intel's `KMP_BLOCKTIME`, 200 ms).
//!
//! [`stay_awake`] gives every pool thread but the caller a job that keeps taking the pool's
//! work with `rayon::yield_now` and spins with a pause hint while there is none, until it
//! has found nothing for the spin window (`KERAS_POOL_SPIN_US`, default 1000 us; `0` turns
//! it off). Work is split by sizes, never by which thread runs a piece, so results are the
//! same bits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Pool threads other than the caller that are running the spin job now.
static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// The spin window: how long a thread keeps looking for work before it goes back to
/// rayon's own sleep (`KERAS_POOL_SPIN_US`, microseconds; 0 = never spin).
fn window() -> Duration {
    static W: OnceLock<Duration> = OnceLock::new();
    *W.get_or_init(|| {
        let us = std::env::var("KERAS_POOL_SPIN_US").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(1000);
        Duration::from_micros(us)
    })
}

/// Keeps the engine pool's other threads taking work for the next spin window (see the
/// module doc): call it at the start of each step of a loop that runs many short parallel
/// regions (the trainer calls it before every training, test and predict step). Cheap when
/// they are awake already (one atomic load); does nothing with one thread, when the spin
/// window is 0, or when the caller is not the pool's thread 0 (a pool worker, or a thread
/// outside a pool that it did not join: the pool's threads are then all workers, woken by
/// rayon as usual).
///
/// ```
/// keras_engine::parallel::stay_awake();
/// let z = keras_engine::parallel::zeros(1 << 20);
/// assert!(z.iter().all(|&v| v == 0.0));
/// ```
pub fn stay_awake() {
    if !super::POOL_CALLER.get() || window().is_zero() {
        return;
    }
    let n = rayon::current_num_threads();
    if n < 2 {
        return;
    }
    // Threads 1..n of the caller's pool; the caller's own copy returns at once.
    if SPINNING.load(Ordering::Acquire) >= n - 1 {
        return;
    }
    SPINNING.fetch_add(n - 1, Ordering::AcqRel);
    rayon::spawn_broadcast(|ctx| {
        if ctx.index() == 0 {
            return;
        }
        spin(window());
        SPINNING.fetch_sub(1, Ordering::AcqRel);
    });
}

/// Runs the pool's jobs as they come until none came for `window`.
fn spin(window: Duration) {
    let mut idle_since = Instant::now();
    let mut polls = 0u32;
    loop {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => {
                idle_since = Instant::now();
                polls = 0;
            }
            Some(rayon::Yield::Idle) => {
                for _ in 0..32 {
                    std::hint::spin_loop();
                }
                polls += 1;
                // The clock is read every 64 empty polls (~10 us), not on each.
                if polls.is_multiple_of(64) && idle_since.elapsed() >= window {
                    return;
                }
            }
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spinners_run_jobs_and_give_the_same_bits() {
        // Run on a thread that joins its own two-thread pool as thread 0, as the main thread
        // does, so the spinner is really started.
        std::thread::spawn(|| {
            let pool = super::super::join_pool_as_caller(2).unwrap();
            let data: Vec<f32> = (0..1 << 16).map(|i| (i as f32 * 0.37).sin()).collect();
            let sum = |d: &[f32]| -> Vec<f32> {
                use rayon::prelude::*;
                d.par_chunks(4096).map(|c| c.iter().sum::<f32>()).collect()
            };
            let before = sum(&data);
            stay_awake();
            // The caller's pool has one other thread: one spinner was started.
            assert_eq!(SPINNING.load(Ordering::Acquire), 1);
            for _ in 0..50 {
                assert_eq!(sum(&data), before);
            }
            // The spinner ends by itself once the pool has been idle for the window.
            let t = Instant::now();
            while SPINNING.load(Ordering::Acquire) > 0 && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(SPINNING.load(Ordering::Acquire), 0);
            drop(pool);
        })
        .join()
        .unwrap();
    }
}
