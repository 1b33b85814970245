//! Times one Adam step over W2's variables (the optimizer's parallel pass: pieces of 32768
//! elements over the engine's threads) beside a pass with the same memory traffic and no
//! arithmetic (read `w`, `g`, `m`, `v`, write `w`, `m`, `v`): how close Adam runs to the
//! bandwidth the machine gives at the moment.
//!
//! `cargo run --release -p keras-engine --example adam_pass [-- REPS]`; the thread count comes
//! from `KERAS_NUM_THREADS`. Prints the median milliseconds of REPS alternating runs of each.

use keras_engine::kernels::adam::{adam_update, AdamStep};
use rayon::prelude::*;
use std::time::Instant;

/// W2's variables (conv1, conv2, dense, head: kernels and biases), in elements.
const SIZES: [usize; 8] = [288, 32, 18_432, 64, 1_605_632, 128, 1_280, 10];
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

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(51);
    let threads = keras_engine::parallel::num_threads();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    // Two sets, used in turn, so that one step's pass does not find the last one's in L2.
    let mut sets: Vec<Vec<Var>> = (0..2)
        .map(|s| {
            SIZES
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
    let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 3, None);
    let adam = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| adam_update(w, g, m, v, None, &h);
    // Same loads and stores, no arithmetic to speak of.
    let traffic = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
        for i in 0..w.len() {
            let (a, b, c, d) = (w[i], g[i], m[i], v[i]);
            m[i] = c + b;
            v[i] = d + b;
            w[i] = a + c;
        }
    };
    let (mut ta, mut tt) = (Vec::new(), Vec::new());
    pool.install(|| {
        for r in 0..reps + 1 {
            for (k, f) in [(0, &adam as &Pass<'_>), (1, &traffic)] {
                let set = &mut sets[(r + k) % 2];
                let t = Instant::now();
                pass(set, f);
                let dt = t.elapsed().as_secs_f64() * 1e3;
                if r > 0 {
                    if k == 0 {
                        ta.push(dt)
                    } else {
                        tt.push(dt)
                    }
                }
            }
        }
    });
    ta.sort_by(f64::total_cmp);
    tt.sort_by(f64::total_cmp);
    let bytes = SIZES.iter().sum::<usize>() as f64 * 28.0;
    let med = |t: &[f64]| t[t.len() / 2];
    println!(
        "threads {threads}: adam {:.3} ms ({:.1} GB/s), same traffic {:.3} ms ({:.1} GB/s)",
        med(&ta),
        bytes / med(&ta) / 1e6,
        med(&tt),
        bytes / med(&tt) / 1e6
    );
}
