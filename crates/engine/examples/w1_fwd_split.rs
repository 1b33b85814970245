//! Where W1's two-thread forward loses against one thread: times the forward's 128 x 784 x
//! 512 and 128 x 512 x 512 products (bias-free, on the own GEMM's streamed path) as the
//! Dense op runs them at two threads (halves of columns, one per pool thread, in one
//! `rayon::join`), one half alone on the calling thread, and the whole on the calling
//! thread; for the join, also when each side started after the join was entered and how
//! long it ran (medians). Between rounds a pass over 8 MB stands in for the rest of a
//! training step (the caches as Adam leaves them) and the pool's other thread idles
//! `GAP_US` microseconds (default 0, argument 3) as after a serial part.
//!
//! `KERAS_TUNE_MALLOC=1 KERAS_NUM_THREADS=2 chrt -f 1 target/release/examples/w1_fwd_split
//! [REPS [GAP_US]]`. BENCHMARKS.md "fwd19".

mod common;

use keras_engine::kernels::matmul::matmul_streamed_columns;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(301);
    let gap_us: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let m = 128;
    println!("threads {}, rows {m}, gap {gap_us} us", keras_engine::parallel::num_threads());
    let mut sink = vec![0.0f32; 2 << 20];
    for (k, n) in [(784usize, 512usize), (512, 512)] {
        let x: Vec<f32> = common::raw_values(m * k, 0.3);
        let w: Vec<f32> = common::raw_values(k * n, 1.1).into_iter().map(|v| v * 0.05).collect();
        let mid = n / 2;
        let mut c = vec![0.0f32; m * n];
        let (mut sync_a, mut sync_b) = (vec![], vec![]);
        let (mut join, mut half, mut whole, mut start_a, mut start_b, mut dur_a, mut dur_b) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let flush = |sink: &mut Vec<f32>| {
            for v in sink.iter_mut() {
                *v += 1.0;
            }
        };
        for r in 0..reps + 5 {
            // The join.
            flush(&mut sink);
            std::thread::sleep(Duration::from_micros(gap_us));
            let cs = SendPtr(c.as_mut_ptr());
            let t0 = Instant::now();
            let side = |j0: usize, j1: usize| {
                let s = Instant::now();
                // SAFETY: the two sides write disjoint columns of `c` (m * n floats).
                let c = unsafe { std::slice::from_raw_parts_mut(cs.ptr(), m * n) };
                assert!(matmul_streamed_columns((m, n, k), &x, &w, c, (j0, j1)));
                (s.duration_since(t0).as_secs_f64(), s.elapsed().as_secs_f64())
            };
            let (a, b) = rayon::join(|| side(0, mid), || side(mid, n));
            let tj = t0.elapsed().as_secs_f64();
            // Both sides started together (a spin barrier first): what each half costs
            // while the other runs.
            flush(&mut sink);
            let arrived = std::sync::atomic::AtomicUsize::new(0);
            let synced = |j0: usize, j1: usize| {
                arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                while arrived.load(std::sync::atomic::Ordering::SeqCst) < 2 {
                    std::hint::spin_loop();
                }
                let s = Instant::now();
                // SAFETY: the two sides write disjoint columns of `c` (m * n floats).
                let c = unsafe { std::slice::from_raw_parts_mut(cs.ptr(), m * n) };
                assert!(matmul_streamed_columns((m, n, k), &x, &w, c, (j0, j1)));
                s.elapsed().as_secs_f64()
            };
            let (sa, sb) = rayon::join(|| synced(0, mid), || synced(mid, n));
            // One half, then the whole, on the calling thread.
            flush(&mut sink);
            let t1 = Instant::now();
            assert!(matmul_streamed_columns((m, n, k), &x, &w, &mut c, (0, mid)));
            let th = t1.elapsed().as_secs_f64();
            flush(&mut sink);
            let t2 = Instant::now();
            assert!(matmul_streamed_columns((m, n, k), &x, &w, &mut c, (0, n)));
            let tw = t2.elapsed().as_secs_f64();
            if r >= 5 {
                join.push(tj);
                half.push(th);
                whole.push(tw);
                start_a.push(a.0);
                start_b.push(b.0);
                dur_a.push(a.1);
                dur_b.push(b.1);
                sync_a.push(sa);
                sync_b.push(sb);
            }
        }
        let us = |v: &Vec<f64>| common::median_ms(v.clone()) * 1e3;
        println!(
            "{m}x{k}x{n}: join {:.1} us (side a: start {:.1}, ran {:.1}; side b: start {:.1}, ran {:.1}); one half alone {:.1}; whole on one thread {:.1}",
            us(&join),
            us(&start_a),
            us(&dur_a),
            us(&start_b),
            us(&dur_b),
            us(&half),
            us(&whole)
        );
        println!("  started together: side a ran {:.1}, side b ran {:.1}", us(&sync_a), us(&sync_b));
    }
    println!("(sink {})", sink[12345]);
}

/// The output pointer shared by the join's two sides.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the two sides write disjoint columns.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    fn ptr(self) -> *mut f32 {
        self.0
    }
}
