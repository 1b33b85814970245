//! A bounded pool of large float32 buffers, recycled from tensors dropped at the end of one
//! training step into the next step's outputs.
//!
//! A training step allocates the same large activation and gradient buffers every step, and
//! frees them again when the step ends. Fresh memory from the allocator must be zero-filled
//! (or written with read-for-ownership misses) before the kernel writes it; a buffer that a
//! tensor of the same size just gave up is already mapped, and often still in cache. While
//! recycling is on ([`set_enabled`], or [`crate::parallel::enable_malloc_tuning`]), a
//! dropped tensor's float32 buffer of at least [`MIN_LEN`] elements goes to this pool
//! instead of back to the allocator, and the kernels that write every element of their
//! output ([`crate::kernels::fresh::fresh_vec`]) or zero-fill it
//! ([`crate::parallel::zeros`]) take their output from the pool first.
//!
//! A recycled buffer holds the stale values of its last owner. It is handed to kernels only
//! as initialised memory: [`crate::kernels::fresh::Out::Init`], whose `zeroed` zero-fills
//! and whose `writable` is used only by kernels that overwrite every element;
//! [`crate::parallel::zeros`] fills it with zeros. So results are the same bits with or without the pool.
//!
//! Bounds: the pool holds at most [`capacity_bytes`] (64 MiB by default, `KERAS_RECYCLE_MB`
//! changes it); returning a buffer beyond that frees the oldest ones. A buffer is reused
//! only for a request of its own size up to [`FIT_SLACK`] larger, so that little memory is
//! held idle inside live tensors. [`clear`] frees everything the pool holds.
//!
//! ```
//! use keras_engine::recycle;
//! recycle::set_enabled(true);
//! recycle::give(vec![1.0f32; 1 << 16]);
//! let v = keras_engine::parallel::zeros(1 << 16);
//! assert!(v.len() == 1 << 16 && v.iter().all(|&x| x == 0.0));
//! recycle::clear();
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Fewest elements of a buffer worth pooling (256 KiB of float32); smaller ones are served
/// well by the allocator.
pub const MIN_LEN: usize = 1 << 16;

/// A pooled buffer serves a request of `len` elements when its capacity is at most
/// `len + len / FIT_SLACK` (25% larger).
pub const FIT_SLACK: usize = 4;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Buffers handed out again since the process started.
static REUSES: AtomicUsize = AtomicUsize::new(0);

/// How many pooled buffers [`take`] has handed out since the process started.
pub fn reuses() -> usize {
    REUSES.load(Ordering::Relaxed)
}

/// The pooled buffers, the most recently returned last, and their total bytes.
struct Pool {
    bufs: Vec<Vec<f32>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { bufs: Vec::new(), bytes: 0 });

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Turns recycling on or off (process-wide). Turning it off frees what the pool holds.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
    if !on {
        clear();
    }
}

/// Whether recycling is on. `KERAS_RECYCLE=0` keeps it off even after [`set_enabled`].
pub fn enabled() -> bool {
    static VETO: OnceLock<bool> = OnceLock::new();
    ENABLED.load(Ordering::Relaxed)
        && !*VETO.get_or_init(|| std::env::var("KERAS_RECYCLE").is_ok_and(|v| v == "0"))
}

/// Most bytes the pool holds: `KERAS_RECYCLE_MB` mebibytes (read once), else 64 MiB.
pub fn capacity_bytes() -> usize {
    static CAP: OnceLock<usize> = OnceLock::new();
    *CAP.get_or_init(|| {
        std::env::var("KERAS_RECYCLE_MB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(64 << 20, |mb| mb << 20)
    })
}

/// Frees every buffer the pool holds.
pub fn clear() {
    let bufs = {
        let mut p = pool();
        p.bytes = 0;
        std::mem::take(&mut p.bufs)
    };
    drop(bufs);
}

/// Bytes the pool holds now.
pub fn pooled_bytes() -> usize {
    pool().bytes
}

/// Hands a buffer that is no longer needed to the pool (dropped tensors' buffers come here
/// by themselves). Small buffers, and every buffer while recycling is off, are freed.
pub fn give(v: Vec<f32>) {
    if v.capacity() < MIN_LEN || !enabled() {
        return;
    }
    let cap = capacity_bytes();
    let bytes = v.capacity() * 4;
    if bytes > cap {
        return;
    }
    let mut evicted = Vec::new();
    {
        let mut p = pool();
        p.bytes += bytes;
        p.bufs.push(v);
        let mut drop_n = 0;
        while p.bytes > cap {
            p.bytes -= p.bufs[drop_n].capacity() * 4;
            drop_n += 1;
        }
        if drop_n > 0 {
            evicted.extend(p.bufs.drain(..drop_n));
        }
    }
    // Freed outside the lock.
    drop(evicted);
}

/// A pooled buffer of exactly `len` elements with stale (initialised) values, the most
/// recently returned one that fits; `None` when recycling is off, `len` is below
/// [`MIN_LEN`] or nothing fits.
pub fn take(len: usize) -> Option<Vec<f32>> {
    if len < MIN_LEN || !enabled() {
        return None;
    }
    let mut v = {
        let mut p = pool();
        let max = len + len / FIT_SLACK;
        let i = p.bufs.iter().rposition(|b| (len..=max).contains(&b.capacity()))?;
        let v = p.bufs.remove(i);
        p.bytes -= v.capacity() * 4;
        v
    };
    REUSES.fetch_add(1, Ordering::Relaxed);
    if v.len() >= len {
        v.truncate(len);
    } else {
        v.resize(len, 0.0);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test drives the process-wide pool, so that parallel tests do not race on it.
    #[test]
    fn buffers_are_reused_by_size_bounded_and_zeroed_on_request() {
        set_enabled(true);
        clear();
        // Too small: freed, never pooled.
        give(vec![1.0; MIN_LEN - 1]);
        assert_eq!(pooled_bytes(), 0);
        assert!(take(MIN_LEN - 1).is_none());
        // The most recent fitting buffer comes back, with its stale values, cut to length.
        give(vec![1.0; MIN_LEN]);
        give(vec![2.0; MIN_LEN + 10]);
        let v = take(MIN_LEN).unwrap();
        assert_eq!((v.len(), v[0]), (MIN_LEN, 2.0));
        // A longer request than the buffer's length but within its capacity: the tail is
        // initialised (zeros).
        give(v);
        let w = take(MIN_LEN + 5).unwrap();
        assert_eq!(w.len(), MIN_LEN + 5);
        assert_eq!((w[0], w[MIN_LEN + 4]), (2.0, 0.0));
        assert_eq!(take(MIN_LEN).unwrap()[0], 1.0);
        assert_eq!(pooled_bytes(), 0);
        // A buffer much larger than the request is not used for it.
        give(vec![3.0; 4 * MIN_LEN]);
        assert!(take(MIN_LEN).is_none());
        // Zeroed means zeros, recycled or not.
        let z = crate::parallel::zeros(4 * MIN_LEN);
        assert!(z.iter().all(|&x| x == 0.0));
        assert_eq!(pooled_bytes(), 0);
        // The pool stays under its cap: the oldest buffers go first.
        let n = capacity_bytes() / (MIN_LEN * 4) + 2;
        for i in 0..n {
            give(vec![i as f32; MIN_LEN]);
        }
        assert!(pooled_bytes() <= capacity_bytes());
        assert_eq!(take(MIN_LEN).unwrap()[0], (n - 1) as f32);
        // Off: nothing is pooled, and what was pooled is freed.
        set_enabled(false);
        assert_eq!(pooled_bytes(), 0);
        give(vec![1.0; MIN_LEN]);
        assert_eq!(pooled_bytes(), 0);
        assert!(take(MIN_LEN).is_none());
    }
}
