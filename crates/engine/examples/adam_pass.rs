//! Times one Adam step over W1's or W2's variables (the optimizer's parallel pass: pieces of
//! 32768 elements over the engine's threads) beside the kernel before subnormal momenta were
//! handled and a pass with the same memory traffic and no float arithmetic (read `w`, `g`,
//! `m`, `v`, write `w`, `m`, `v`): how close Adam runs to the bandwidth the machine gives at
//! the moment. Each kernel steps its own copy of the state, in turn, the order rotating from
//! round to round.
//!
//! `cargo run --release -p keras-engine --example adam_pass [-- REPS]`; the thread count comes
//! from `KERAS_NUM_THREADS`, the variables from `ADAM_SIZES=w1|w2` (default w2). Prints the
//! median milliseconds of REPS rounds of each.

use keras_engine::kernels::adam::{adam_update, AdamStep};
use rayon::prelude::*;
use std::time::Instant;

/// W2's variables (conv1, conv2, dense, head: kernels and biases), in elements.
const W2: [usize; 8] = [288, 32, 18_432, 64, 1_605_632, 128, 1_280, 10];
/// W1's variables (three Dense layers: kernels and biases), in elements.
const W1: [usize; 6] = [401_408, 512, 262_144, 512, 5_120, 10];
const CHUNK: usize = 1 << 15;

/// One pass over a piece: `(w, g, m, v)`.
type Pass<'a> = dyn Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) + Sync + 'a;

struct Var {
    w: Vec<f32>,
    g: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

fn values(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 0.3).abs()).collect()
}

/// Every variable cut into pieces of [`CHUNK`] elements, all pieces run in one parallel pass.
fn pass(vars: &mut [Var], f: &Pass<'_>) {
    let mut pieces = Vec::new();
    for x in vars.iter_mut() {
        let it =
            x.w.chunks_mut(CHUNK)
                .zip(x.g.chunks(CHUNK))
                .zip(x.m.chunks_mut(CHUNK))
                .zip(x.v.chunks_mut(CHUNK));
        pieces.extend(it.map(|(((w, g), m), v)| (w, g, m, v)));
    }
    pieces.into_par_iter().for_each(|(w, g, m, v)| f(w, g, m, v));
}

/// The kernel before subnormal momenta were handled (the formula as written), compiled for
/// AVX-512 as the engine's multiversioned loop was.
fn previous(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &AdamStep) {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    unsafe fn avx512(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &AdamStep) {
        formula(w, g, m, v, h)
    }
    #[inline(always)]
    fn formula(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: &AdamStep) {
        let (b1, b2, alpha, eps) = (h.one_minus_beta_1, h.one_minus_beta_2, h.alpha, h.epsilon);
        for i in 0..w.len() {
            let gi = g[i];
            let mi = m[i] + (gi - m[i]) * b1;
            let vi = v[i] + (gi * gi - v[i]) * b2;
            m[i] = mi;
            v[i] = vi;
            w[i] -= (mi * alpha) / (vi.sqrt() + eps);
        }
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: checked just above.
        return unsafe { avx512(w, g, m, v, h) };
    }
    formula(w, g, m, v, h)
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(51);
    let threads = keras_engine::parallel::num_threads();
    let sizes: &[usize] = if std::env::var("ADAM_SIZES").as_deref() == Ok("w1") { &W1 } else { &W2 };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    // Two sets, used in turn, so that one step's pass does not find the last one's in L2.
    let mut sets: Vec<Vec<Var>> = (0..2)
        .map(|s| {
            sizes
                .iter()
                .map(|&n| Var {
                    w: values(n, 1.0 + s as f32),
                    g: values(n, 2.0),
                    m: values(n, 3.0),
                    v: values(n, 4.0),
                })
                .collect()
        })
        .collect();
    // ADAM_DENORMAL=k: every k-th element's gradient zero (a dead unit) and its `m` subnormal,
    // ADAM_DENORMAL_UNITS (default 3) times the smallest subnormal, alternating in sign.
    if let Some(k) = std::env::var("ADAM_DENORMAL").ok().and_then(|s| s.parse::<usize>().ok()) {
        let units: u32 = std::env::var("ADAM_DENORMAL_UNITS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
        for x in sets.iter_mut().flatten() {
            for (j, i) in (0..x.m.len()).step_by(k).enumerate() {
                x.m[i] = f32::from_bits(units | ((j as u32 & 1) << 31));
                x.g[i] = 0.0;
            }
        }
    }
    // ADAM_STATE=DIR: the Dense kernel's `m` and `v` from a bench run (`BENCH_SUBNORMALS=DIR`),
    // its gradient zero where `m` is subnormal or zero (dead units), as in W2.
    if let Ok(dir) = std::env::var("ADAM_STATE") {
        let read = |name: &str| -> Vec<f32> {
            let b = std::fs::read(format!("{dir}/adam_{name}.f32")).expect("ADAM_STATE file");
            b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        };
        let (m, v) = (read("dense_kernel_momentum"), read("dense_kernel_velocity"));
        assert_eq!(sizes.len(), W2.len(), "ADAM_STATE: W2's variables only");
        for x in sets.iter_mut().map(|s| &mut s[4]) {
            assert_eq!(m.len(), x.m.len(), "ADAM_STATE: not W2's Dense kernel");
            x.m.copy_from_slice(&m);
            x.v.copy_from_slice(&v);
            for (g, m) in x.g.iter_mut().zip(&m) {
                if m.is_subnormal() || *m == 0.0 {
                    *g = 0.0;
                } else {
                    *g *= 1e-3;
                }
            }
        }
    }
    // A third set for the previous kernel.
    sets.push(
        sets[0]
            .iter()
            .map(|x| Var { w: x.w.clone(), g: x.g.clone(), m: x.m.clone(), v: x.v.clone() })
            .collect(),
    );
    let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 900, None);
    let adam = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| adam_update(w, g, m, v, None, &h);
    let before = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| previous(w, g, m, v, &h);
    // Same loads and stores, no float arithmetic (a subnormal costs nothing here).
    let traffic = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
        for i in 0..w.len() {
            let (a, b, c, d) = (w[i].to_bits(), g[i].to_bits(), m[i].to_bits(), v[i].to_bits());
            m[i] = f32::from_bits(c ^ b);
            v[i] = f32::from_bits(d ^ b);
            w[i] = f32::from_bits(a ^ b);
        }
    };
    let mut times = vec![Vec::new(); 3];
    pool.install(|| {
        for r in 0..reps + 1 {
            let mut order = [(0, &adam as &Pass<'_>), (1, &traffic), (2, &before)];
            order.rotate_left(r % 3);
            for (k, f) in order {
                let t = Instant::now();
                pass(&mut sets[k], f);
                if r > 0 {
                    times[k].push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
        }
    });
    let [ta, tt, tb] = &mut times[..] else { unreachable!() };
    tb.sort_by(f64::total_cmp);
    ta.sort_by(f64::total_cmp);
    tt.sort_by(f64::total_cmp);
    let bytes = sizes.iter().sum::<usize>() as f64 * 28.0;
    let med = |t: &[f64]| t[t.len() / 2];
    println!(
        "threads {threads}, {} elements: adam {:.3} ms ({:.1} GB/s), previous kernel {:.3} ms, same traffic {:.3} ms ({:.1} GB/s)",
        sizes.iter().sum::<usize>(),
        med(ta),
        bytes / med(ta) / 1e6,
        med(tb),
        med(tt),
        bytes / med(tt) / 1e6
    );
}
