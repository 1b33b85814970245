//! Prototype of an optimizer-aware backward on W1's shapes (Dense 784 -> 512 relu -> 512 relu
//! -> 10, batch 128, Adam): the backward GEMMs and Adam as a training step runs them today
//! (every kernel gradient written whole, then one parallel Adam pass over all variables)
//! against Adam run on each band of a kernel gradient's rows as soon as the GEMM has finished
//! it, on the thread that computed it ([`matmul_then`]), while the band is in that core's
//! cache. The updates give the same bits (asserted before timing).
//!
//! Variants, each on its own copies of the state (`W1_SETS` sets, default 3, used in turn so
//! that a step does not find its `m` and `v` in cache; before each timed step the set's
//! weights and activations are read, as the forward pass would):
//! - `today`: dense3 and dense2 `dX` / `dW` side by side (one worker each), dense1 `dW` over
//!   both workers, then Adam over every kernel in pieces of 32768 elements on both workers
//!   (the optimizer's `update_elementwise`);
//! - `gemms`: `today` without Adam (what Adam adds to the step);
//! - `fused`: dense3 and dense2 as today, each kernel's Adam right after its pair (halves of
//!   rows, one per worker), dense1's Adam in its GEMM's epilogue;
//! - `fused_dx_first`: as `fused`, but dense2's `dX` first over both workers, then its `dW`
//!   over both with Adam in the epilogue;
//! - `today_affine`: `today`'s GEMMs, then Adam layer by layer in halves of rows, dense1
//!   first (each worker updating about the rows of dense1 it computed);
//! - `fused_pf_band`: `fused` whose epilogue, after a band's Adam, asks for the next band's
//!   `w`, `m` and `v` lines (`prefetcht1`), so that they arrive while the GEMM computes it;
//! - `fused_pf_tile`: `fused` asking for each tile's `w`, `m`, `v` lines right before the
//!   GEMM computes the tile (spread over the band's 16 tiles instead of one burst);
//! - `fused_dx_pf_tile`: `fused_dx_first` with the tiles' prefetches.
//!
//! The biases (1,034 values) and the relu masks are left out: they are the same in every
//! variant.
//!
//! `KERAS_NUM_THREADS=2 chrt -f 1 target/release/examples/w1_adam_fused [REPS]`: prints the
//! median milliseconds of each variant over REPS (default 101) rounds, the variants' order
//! rotating from round to round.

use keras_engine::kernels::adam::{adam_update, AdamStep};
use keras_engine::kernels::matmul::{matmul, matmul_then, Trans};
use rayon::prelude::*;
use std::time::Instant;

const B: usize = 128;
/// (inputs, units) of the three Dense layers.
const DIMS: [(usize, usize); 3] = [(784, 512), (512, 512), (512, 10)];
const CHUNK: usize = 1 << 15;

struct Layer {
    k: usize,
    n: usize,
    w: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    g: Vec<f32>,
}

/// One copy of the step's state: the layers, the inputs of each layer (`acts[0]` = x), the
/// pre-activation gradients of each layer and the input gradients of dense2 and dense3.
struct Set {
    layers: Vec<Layer>,
    acts: Vec<Vec<f32>>,
    dpre: Vec<Vec<f32>>,
    dx: Vec<Vec<f32>>,
}

fn values(n: usize, seed: f32, scale: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.731 + seed).sin() * scale).collect()
}

fn new_set() -> Set {
    let layers = DIMS
        .iter()
        .enumerate()
        .map(|(l, &(k, n))| Layer {
            k,
            n,
            w: values(k * n, l as f32, 0.05),
            m: values(k * n, 1.0 + l as f32, 1e-3),
            v: values(k * n, 2.0 + l as f32, 1e-3).iter().map(|x| x * x).collect(),
            g: vec![0.0; k * n],
        })
        .collect();
    Set {
        layers,
        acts: DIMS.iter().enumerate().map(|(l, &(k, _))| values(B * k, 5.0 + l as f32, 1.0)).collect(),
        dpre: DIMS.iter().enumerate().map(|(l, &(_, n))| values(B * n, 8.0 + l as f32, 0.01)).collect(),
        dx: DIMS.iter().map(|&(k, _)| vec![0.0; B * k]).collect(),
    }
}

/// Raw pointers to one layer's `w`, `m`, `v`, written by the threads in disjoint rows.
#[derive(Clone, Copy)]
struct State(*mut f32, *mut f32, *mut f32);
// SAFETY: the bands handed to the epilogue are disjoint rows, each once.
unsafe impl Send for State {}
unsafe impl Sync for State {}

impl State {
    fn of(l: &mut Layer) -> Self {
        State(l.w.as_mut_ptr(), l.m.as_mut_ptr(), l.v.as_mut_ptr())
    }

    /// Adam on elements `e0..e0 + g.len()`.
    ///
    /// # Safety
    /// The range lies inside the layer and no other thread touches it meanwhile.
    unsafe fn adam(self, e0: usize, g: &[f32], h: &AdamStep) {
        let len = g.len();
        let w = std::slice::from_raw_parts_mut(self.0.add(e0), len);
        let m = std::slice::from_raw_parts_mut(self.1.add(e0), len);
        let v = std::slice::from_raw_parts_mut(self.2.add(e0), len);
        adam_update(w, g, m, v, None, h);
    }
}

/// `dX = dpre W^T` and `dW = x^T dpre` of layer `l`, side by side (one worker each).
fn pair(s: &mut Set, l: usize) {
    let Set { layers, acts, dpre, dx } = s;
    let layer = &mut layers[l];
    let (k, n) = (layer.k, layer.n);
    let (w, g) = (&layer.w, &mut layer.g);
    let (x, dp, dxl) = (&acts[l], &dpre[l], &mut dx[l]);
    rayon::join(|| matmul(B, k, n, dp, Trans::No, w, Trans::Yes, dxl, false), || kernel_grad(k, n, x, dp, g));
}

/// `dW = x^T dpre` on the own GEMM as the Dense backward runs it (`matmul_into`; `matmul`
/// would take the `gemm` crate for this layout): here through [`matmul_then`] with nothing
/// to do per band.
fn kernel_grad(k: usize, n: usize, x: &[f32], dp: &[f32], g: &mut [f32]) {
    matmul_then((k, n, B), (x, Trans::Yes), (dp, Trans::No), g, &|_, _| {}, None);
}

/// Adam over a whole layer in halves of rows, one per worker.
fn adam_halves(layer: &mut Layer, h: &AdamStep) {
    let half = layer.k.div_ceil(2) * layer.n;
    let (w1, w2) = layer.w.split_at_mut(half);
    let (m1, m2) = layer.m.split_at_mut(half);
    let (v1, v2) = layer.v.split_at_mut(half);
    let (g1, g2) = layer.g.split_at(half);
    rayon::join(|| adam_update(w1, g1, m1, v1, None, h), || adam_update(w2, g2, m2, v2, None, h));
}

impl State {
    /// Asks for the lines of elements `e0..e1` of `w`, `m` and `v` into L2 (the next band's,
    /// while the GEMM computes it).
    fn prefetch(self, e0: usize, e1: usize) {
        #[cfg(target_arch = "x86_64")]
        for e in (e0..e1).step_by(16) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
            // SAFETY: a prefetch never faults; the addresses lie inside the layer's buffers.
            unsafe {
                _mm_prefetch::<_MM_HINT_T1>(self.0.add(e) as *const i8);
                _mm_prefetch::<_MM_HINT_T1>(self.1.add(e) as *const i8);
                _mm_prefetch::<_MM_HINT_T1>(self.2.add(e) as *const i8);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (e0, e1);
    }
}

/// Where [`kernel_grad_with_adam`] asks for a band's `w`, `m`, `v` ahead of its Adam.
#[derive(Clone, Copy, PartialEq)]
enum Prefetch {
    None,
    /// The next band's, after a band's Adam, all at once.
    NextBand,
    /// Each tile's, right before the GEMM computes the tile (`matmul_then`'s `tile`).
    Tile,
}

/// `dW = x^T dpre` of layer `l` over both workers, Adam on each band as the GEMM finishes it.
fn kernel_grad_with_adam(s: &mut Set, l: usize, h: &AdamStep, prefetch: Prefetch) {
    let Set { layers, acts, dpre, .. } = s;
    let layer = &mut layers[l];
    let (k, n) = (layer.k, layer.n);
    let st = State::of(layer);
    let epilogue = |i0: usize, band: &mut [f32]| {
        // SAFETY: bands are disjoint rows of the `k x n` kernel, each handed out once.
        unsafe { st.adam(i0 * n, band, h) }
        if prefetch == Prefetch::NextBand {
            let e1 = i0 * n + band.len();
            st.prefetch(e1, (e1 + band.len()).min(k * n));
        }
    };
    let tile = |i0: usize, rows: usize, j0: usize, cols: usize| {
        for i in i0..i0 + rows {
            st.prefetch(i * n + j0, i * n + j0 + cols);
        }
    };
    let tile: Option<&(dyn Fn(usize, usize, usize, usize) + Sync)> =
        if prefetch == Prefetch::Tile { Some(&tile) } else { None };
    matmul_then((k, n, B), (&acts[l], Trans::Yes), (&dpre[l], Trans::No), &mut layer.g, &epilogue, tile);
}

fn today(s: &mut Set, h: &AdamStep, with_adam: bool) {
    pair(s, 2);
    pair(s, 1);
    let l0 = &mut s.layers[0];
    kernel_grad(l0.k, l0.n, &s.acts[0], &s.dpre[0], &mut l0.g);
    if !with_adam {
        return;
    }
    let mut pieces = Vec::new();
    for l in s.layers.iter_mut() {
        let it =
            l.w.chunks_mut(CHUNK)
                .zip(l.g.chunks(CHUNK))
                .zip(l.m.chunks_mut(CHUNK))
                .zip(l.v.chunks_mut(CHUNK));
        pieces.extend(it.map(|(((w, g), m), v)| (w, g, m, v)));
    }
    pieces.into_par_iter().for_each(|(w, g, m, v)| adam_update(w, g, m, v, None, h));
}

/// `today`'s GEMMs, then Adam layer by layer, dense1 first, in halves of rows (one per
/// worker, as dense1's GEMM split its rows): the cheap version of the fusion.
fn today_affine(s: &mut Set, h: &AdamStep) {
    today(s, h, false);
    adam_halves(&mut s.layers[0], h);
    adam_halves(&mut s.layers[1], h);
    let l2 = &mut s.layers[2];
    adam_update(&mut l2.w, &l2.g, &mut l2.m, &mut l2.v, None, h);
}

fn fused(s: &mut Set, h: &AdamStep, dx_first: bool, prefetch: Prefetch) {
    pair(s, 2);
    let l2 = &mut s.layers[2];
    adam_update(&mut l2.w, &l2.g, &mut l2.m, &mut l2.v, None, h);
    if dx_first {
        let Set { layers, dpre, dx, .. } = &mut *s;
        let l1 = &layers[1];
        matmul(B, l1.k, l1.n, &dpre[1], Trans::No, &l1.w, Trans::Yes, &mut dx[1], false);
        kernel_grad_with_adam(s, 1, h, prefetch);
    } else {
        pair(s, 1);
        adam_halves(&mut s.layers[1], h);
    }
    kernel_grad_with_adam(s, 0, h, prefetch);
}

/// Reads the set's weights and activations (as the forward pass before the backward does).
fn touch(s: &Set) -> f32 {
    let mut t = 0.0;
    for l in &s.layers {
        t += l.w.iter().step_by(16).sum::<f32>();
    }
    for a in s.acts.iter().chain(&s.dpre) {
        t += a.iter().step_by(16).sum::<f32>();
    }
    t
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(101);
    let nsets: usize = std::env::var("W1_SETS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    let threads = keras_engine::parallel::num_threads();
    let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 900, None);
    type Step = fn(&mut Set, &AdamStep);
    let variants: [(&str, Step); 8] = [
        ("today", |s, h| today(s, h, true)),
        ("gemms", |s, h| today(s, h, false)),
        ("fused", |s, h| fused(s, h, false, Prefetch::None)),
        ("fused_dx_first", |s, h| fused(s, h, true, Prefetch::None)),
        ("today_affine", today_affine),
        ("fused_pf_band", |s, h| fused(s, h, false, Prefetch::NextBand)),
        ("fused_pf_tile", |s, h| fused(s, h, false, Prefetch::Tile)),
        ("fused_dx_pf_tile", |s, h| fused(s, h, true, Prefetch::Tile)),
    ];
    // Same bits: one step of each updating variant from the same state.
    let mut reference = new_set();
    today(&mut reference, &h, true);
    for (name, f) in variants[2..].iter().copied() {
        let mut s = new_set();
        f(&mut s, &h);
        for (l, (a, b)) in reference.layers.iter().zip(&s.layers).enumerate() {
            assert!(
                bits(&a.w) == bits(&b.w) && bits(&a.m) == bits(&b.m) && bits(&a.v) == bits(&b.v),
                "{name}: layer {l}'s update differs from today's"
            );
        }
        assert!(bits(&reference.dx[1]) == bits(&s.dx[1]) && bits(&reference.dx[2]) == bits(&s.dx[2]));
    }
    println!("same bits: every variant gives today's w, m, v and input gradients");
    let mut sets: Vec<Vec<Set>> = variants.iter().map(|_| (0..nsets).map(|_| new_set()).collect()).collect();
    let mut times = vec![Vec::new(); variants.len()];
    let mut sink = 0.0;
    for r in 0..reps + 1 {
        for j in 0..variants.len() {
            let v = (r + j) % variants.len();
            let s = &mut sets[v][r % nsets];
            sink += touch(s);
            let t = Instant::now();
            (variants[v].1)(s, &h);
            if r > 0 {
                times[v].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    std::hint::black_box(sink);
    let med = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let meds: Vec<f64> = times.iter_mut().map(med).collect();
    println!("threads {threads}, {nsets} sets, {reps} rounds, median ms:");
    for ((name, _), t) in variants.iter().zip(&meds) {
        println!("  {name:<15} {t:.3}");
    }
    let adam = meds[0] - meds[1];
    for (i, (name, _)) in variants.iter().enumerate().skip(2) {
        println!(
            "  {name}: {:+.3} ms against today ({:+.1}%), {:.0}% of Adam's {adam:.3} ms hidden",
            meds[i] - meds[0],
            100.0 * (meds[i] / meds[0] - 1.0),
            100.0 * (meds[0] - meds[i]) / adam
        );
    }
}
