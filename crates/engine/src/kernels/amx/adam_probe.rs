//! A probe of whether Adam's pass can hide behind the AMX kernels of a kernel gradient on
//! the same core (the "Adam in the GEMM's epilogue" lever): times one thread's `dW = x^T dY`
//! and plain Adam over `W` with it, serially and fused two ways, on W1's shapes. Measured
//! answer on an Intel Xeon model 207 (BENCHMARKS.md "s22"): fused is slower, so the
//! training step keeps them apart.

use super::{compute_block, kernel, pack_all, Geometry, Plan, View};
use crate::kernels::adam::{plain_rows, AdamStep, Prepared};

/// Median microseconds over `reps` rounds of `dW = op(a) op(b)` (`m x n`, `k` steps, on the
/// calling thread, `m` and `n` non-zero multiples of 32) followed by plain Adam over `W` with `dW`:
/// `[kernels alone, Adam alone, serial (kernels then Adam), band (Adam on each 32-row band
/// right after its kernels), block (Adam on each 32 x 32 block after the next block's
/// kernels)]`, each round on one of three state sets in turn (cold `W`, `m`, `v`, as after a
/// forward pass). Also whether every variant gave the serial one's bits. `None` without AMX
/// or for other shapes.
#[doc(hidden)]
pub fn bench_adam_overlap((m, n, k): (usize, usize, usize), reps: usize) -> Option<([f64; 5], bool)> {
    let runs = super::available()
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma");
    if !runs || m < 32 || n < 32 || m % 32 != 0 || n % 32 != 0 || !(16..=1024).contains(&k) {
        return None;
    }
    let vals = |len: usize, seed: u32, scale: f32| -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                ((s >> 8) as f32 / (1u32 << 23) as f32 - 1.0) * scale
            })
            .collect()
    };
    // `x` (k x m) and `dY` (k x n) row-major: `op(a) = x^T`, as a Dense kernel gradient.
    let (a, b) = (vals(k * m, 1, 1.0), vals(k * n, 2, 0.01));
    let g = Geometry::new(m, n, k);
    let plan = Plan::new(&g, 1);
    let mut buf = vec![0u16; plan.len(&g) + 32];
    let off = buf.as_ptr().align_offset(64).min(32);
    let p = buf[off..].as_mut_ptr();
    // SAFETY: the views describe `a` and `b`; `buf` holds the plan's packed operands.
    let (ra, rb) = unsafe {
        pack_all(
            g,
            View { ptr: a.as_ptr(), rs: 1, cs: m },
            View { ptr: b.as_ptr(), rs: n, cs: 1 },
            (0, 0),
            p,
            plan,
        )
    };
    if super::scales(ra, rb, k) != Some((0, 0)) {
        return None;
    }
    let (pa, pb) = plan.regions(&g, p, 0);
    let prep = Prepared::new(&AdamStep::new(0.001, 0.9, 0.999, 1e-7, 3, None));
    let state0 =
        [vals(m * n, 3, 0.1), vals(m * n, 4, 0.01), vals(m * n, 5, 0.001).iter().map(|x| x.abs()).collect()];
    let mut sets: Vec<[Vec<f32>; 3]> = (0..3).map(|_| state0.clone()).collect();
    let mut c = vec![0.0f32; m * n];
    let block = g.chunks * 1536;
    let (rps, cgs) = (m / 32, n / 32);
    // SAFETY (every call below): AMX and `plain_rows`'s features available (checked), `pa` /
    // `pb` packed for `g`, `c` and the state hold `m x n` floats.
    let adam = |st: &mut [Vec<f32>; 3], c: *const f32, r0: usize, rows: usize, c0: usize, cols: usize| unsafe {
        let o = r0 * n + c0;
        let [w, mm, vv] = st;
        plain_rows(
            w.as_mut_ptr().add(o),
            c.add(o),
            mm.as_mut_ptr().add(o),
            vv.as_mut_ptr().add(o),
            (rows, cols),
            (n, n),
            &prep,
        );
    };
    let kernels = |c: *mut f32| unsafe { compute_block(g, pa, pb, c, n, false, None, 0, rps, 0, 2 * cgs) };
    let run = |variant: usize, st: &mut [Vec<f32>; 3], c: &mut Vec<f32>| {
        let cp = c.as_mut_ptr();
        match variant {
            0 => kernels(cp),
            1 => adam(st, cp, 0, m, 0, n),
            2 => {
                kernels(cp);
                adam(st, cp, 0, m, 0, n);
            }
            3 => {
                for rp in 0..rps {
                    unsafe { compute_block(g, pa, pb, cp, n, false, None, rp, rp + 1, 0, 2 * cgs) };
                    adam(st, cp, 32 * rp, 32, 0, n);
                }
            }
            _ => {
                unsafe { kernel::configure() };
                for blk in 0..rps * cgs {
                    let (rp, cg) = (blk / cgs, blk % cgs);
                    let (ap, bp) =
                        unsafe { (pa.add(2 * rp * block) as *const u8, pb.add(2 * cg * block) as *const u8) };
                    unsafe {
                        kernel::two_by_two(
                            ap,
                            ap.add(2 * block),
                            bp,
                            bp.add(2 * block),
                            g.chunks,
                            cp.add(32 * (rp * n + cg)),
                            n,
                        )
                    };
                    if blk > 0 {
                        let (pr, pc) = ((blk - 1) / cgs, (blk - 1) % cgs);
                        adam(st, cp, 32 * pr, 32, 32 * pc, 32);
                    }
                }
                unsafe { kernel::release() };
                adam(st, cp, m - 32, 32, n - 32, 32);
            }
        }
    };
    // The bits: every fused variant against the serial one, from the same state.
    let mut same = true;
    let mut serial = state0.clone();
    run(2, &mut serial, &mut c);
    for variant in [3, 4] {
        let mut st = state0.clone();
        run(variant, &mut st, &mut c);
        same &= st.iter().zip(&serial).all(|(x, y)| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
    let mut times: [Vec<f64>; 5] = Default::default();
    for r in 0..reps.max(1) {
        // Variants in a rotating order, each on the state set used longest ago.
        for i in 0..5 {
            let variant = (i + r) % 5;
            let st = &mut sets[(r * 5 + i) % 3];
            let t0 = std::time::Instant::now();
            run(variant, st, &mut c);
            times[variant].push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut out = [0.0; 5];
    for (o, t) in out.iter_mut().zip(times.iter_mut()) {
        *o = median(t);
    }
    Some((out, same))
}
