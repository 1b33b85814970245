//! Times W1's training step (Dense 784 -> 512 relu -> 512 relu -> 10, softmax crossentropy,
//! Adam) on `M` rows part by part, in step order, as a data-parallel replica runs it on one
//! thread with serial kernels (`M` = 64: half of batch 128), and prints each part's median
//! microseconds and the GEMMs' GFLOP/s against this thread's FMA peak (a pure FMA loop,
//! measured first).
//!
//! Parts: per layer the forward GEMM and its bias + activation epilogue; the loss gradient
//! (softmax minus one-hot, a plain loop standing in for the keras crate's loss); per layer
//! the relu mask and bias gradient, the kernel gradient `dW = X^T dZ` and the input gradient
//! `dX = dZ W^T`; then Adam over every variable (serial, as one replica's share would be) so
//! that the next round finds the caches as a training step leaves them. `ops` repeats the
//! GEMM parts through the Dense op's own forward and backward functions
//! ([`keras_engine::ops::linalg::parts`]) as a check on the sum.
//!
//! Variants (the GEMM kernels each part runs), rounds alternating between them:
//! - `today`: what the Dense op ran before this example: the forward on the `gemm` crate,
//!   `dW` and `dX` on the own GEMM without a zero fill, a row-major `op(b)` packed panel by
//!   panel;
//! - `own`: the forward on the own GEMM too (`x` read in place, `W` packed);
//! - `own_pbr`: `own` packing a row-major `op(b)` row by row (the forward's `W`, `dW`'s `dZ`);
//! - `tr_dx`: `today` with `dX` as its transpose `W dZ^T` (`W` read in place as the left
//!   operand instead of transposed while packed, `dZ^T` packed), then transposed;
//! - `tr`: `tr_dx` with the forward as its transpose `W^T X^T` too (`W^T` read in place);
//! - `new`: `own_pbr` and `tr_dx` together;
//! - `stream`: `new` with the forward on the own GEMM's streamed path (`matmul_streamed`: `W`
//!   packed a panel at a time while the next panel is prefetched), what the Dense op runs;
//! - `ops`: the Dense op's forward and backward functions with the engine's own choices
//!   (`dX` and `dW` timed together, in the `dW` line);
//! - `ops_crate`: `ops` with the two-thread forward's halves of columns on the `gemm` crate
//!   (`parts::forward_crate_columns`), as before fwd19 moved them to the streamed path.
//!
//! `KERAS_NUM_THREADS=1 chrt -f 1 target/release/examples/w1_half_step [REPS [M [VARIANTS]]]`
//! (defaults 301, 64, every variant; VARIANTS comma-separated). `KERAS_NUM_THREADS=2 ... 101
//! 128 today,ops` times today's whole-batch shape for reference (the pack order override
//! applies to the calling thread only), `... 101 128 ops_crate,ops` the two-thread
//! forward's halves of columns on the crate against the streamed path. BENCHMARKS.md
//! "half18", "fwd19".

mod common;

use keras_engine::kernels::adam::{adam_update, AdamStep};
use keras_engine::kernels::matmul::{
    matmul_fresh, matmul_gemm_crate, matmul_own, matmul_own_transposed, matmul_streamed,
    set_sgemm_pack_b_rows_outer, Trans,
};
use keras_engine::ops::linalg::parts;
use keras_engine::ops::Unary;
use std::time::Instant;

/// (inputs, units) of the three Dense layers.
const DIMS: [(usize, usize); 3] = [(784, 512), (512, 512), (512, 10)];
const CLASSES: usize = 10;

/// One variable with its Adam slots.
struct Var {
    w: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Var {
    fn new(n: usize, seed: f32, scale: f32) -> Var {
        let w = common::raw_values(n, seed).into_iter().map(|x| x * scale).collect();
        Var { w, m: vec![0.0; n], v: vec![0.0; n] }
    }
}

/// Which kernels a round runs.
#[derive(Clone, Copy, PartialEq)]
struct Variant {
    name: &'static str,
    fwd: Fwd,
    /// Whether `dX` runs as its transpose (`matmul_own_transposed`).
    dx_transposed: bool,
    /// How the own GEMM packs a row-major `op(b)` (`set_sgemm_pack_b_rows_outer`).
    pack_b_rows_outer: Option<bool>,
}

#[derive(Clone, Copy, PartialEq)]
enum Fwd {
    /// The `gemm` crate.
    Crate,
    /// The own GEMM.
    Own,
    /// The own GEMM on the transposed product (`matmul_own_transposed`).
    Transposed,
    /// The own GEMM's streamed path (`matmul_streamed`).
    Streamed,
    /// The Dense op's own functions (forward and backward).
    Ops,
    /// `Ops` with the two-thread forward's halves of columns on the crate.
    OpsCrate,
}

const VARIANTS: [Variant; 9] = [
    Variant { name: "today", fwd: Fwd::Crate, dx_transposed: false, pack_b_rows_outer: Some(false) },
    Variant { name: "own", fwd: Fwd::Own, dx_transposed: false, pack_b_rows_outer: Some(false) },
    Variant { name: "own_pbr", fwd: Fwd::Own, dx_transposed: false, pack_b_rows_outer: Some(true) },
    Variant { name: "tr_dx", fwd: Fwd::Crate, dx_transposed: true, pack_b_rows_outer: Some(false) },
    Variant { name: "tr", fwd: Fwd::Transposed, dx_transposed: true, pack_b_rows_outer: Some(false) },
    Variant { name: "new", fwd: Fwd::Own, dx_transposed: true, pack_b_rows_outer: Some(true) },
    Variant { name: "stream", fwd: Fwd::Streamed, dx_transposed: true, pack_b_rows_outer: Some(true) },
    Variant { name: "ops", fwd: Fwd::Ops, dx_transposed: false, pack_b_rows_outer: None },
    Variant { name: "ops_crate", fwd: Fwd::OpsCrate, dx_transposed: false, pack_b_rows_outer: None },
];

impl Variant {
    fn parse(s: &str) -> Variant {
        *VARIANTS.iter().find(|v| v.name == s).unwrap_or_else(|| panic!("unknown variant {s}"))
    }
    fn name(self) -> &'static str {
        self.name
    }
    /// Whether the round runs the Dense op's own functions.
    fn ops(self) -> bool {
        matches!(self.fwd, Fwd::Ops | Fwd::OpsCrate)
    }
}

/// Part names, in step order, and their multiply-adds at `m` rows (0: not a GEMM).
fn part_names(m: usize) -> Vec<(String, usize)> {
    let mut p = Vec::new();
    for (l, &(k, n)) in DIMS.iter().enumerate() {
        p.push((format!("fwd{} gemm {m}x{k}x{n}", l + 1), m * k * n));
        p.push((format!("fwd{} bias+act", l + 1), 0));
    }
    p.push(("loss grad".into(), 0));
    for (l, &(k, n)) in DIMS.iter().enumerate().rev() {
        p.push((format!("bwd{} relu+bias grad", l + 1), 0));
        p.push((format!("bwd{} dW {k}x{m}x{n}", l + 1), m * k * n));
        if l > 0 {
            p.push((format!("bwd{} dX {m}x{n}x{k}", l + 1), m * k * n));
        }
    }
    p.push(("adam (all variables)".into(), 0));
    p
}

/// One round: the step's parts in order, each part's seconds pushed to `t`.
fn round(
    variant: Variant,
    m: usize,
    x: &[f32],
    labels: &[usize],
    vars: &mut [Var],
    step: u64,
    t: &mut Vec<f64>,
) {
    set_sgemm_pack_b_rows_outer(variant.pack_b_rows_outer);
    let mut clock = Instant::now();
    let mut lap = |t: &mut Vec<f64>| {
        let now = Instant::now();
        t.push(now.duration_since(clock).as_secs_f64());
        clock = now;
    };
    // Forward.
    let mut acts: Vec<Vec<f32>> = Vec::new();
    for (l, &(k, n)) in DIMS.iter().enumerate() {
        let input = if l == 0 { x } else { &acts[l - 1] };
        let act = if l + 1 < DIMS.len() { Unary::Relu } else { Unary::Linear };
        let (w, b) = (&vars[2 * l].w, &vars[2 * l + 1].w);
        let mut out = vec![0.0f32; m * n];
        match variant.fwd {
            Fwd::Crate => matmul_gemm_crate(m, n, k, input, Trans::No, w, Trans::No, &mut out, false),
            Fwd::Own => assert!(matmul_own(m, n, k, input, Trans::No, w, Trans::No, &mut out, false)),
            Fwd::Streamed => assert!(matmul_streamed(m, n, k, input, w, &mut out)),
            Fwd::Transposed => {
                assert!(matmul_own_transposed(m, n, k, input, Trans::No, w, Trans::No, &mut out))
            }
            Fwd::Ops => parts::forward(input, w, Some(b), act, (m, k, n), &mut out),
            Fwd::OpsCrate => parts::forward_crate_columns(input, w, Some(b), act, (m, k, n), &mut out),
        }
        lap(t);
        if !variant.ops() {
            parts::bias_act(&mut out, n, Some(b), act);
        }
        lap(t);
        acts.push(out);
    }
    // Softmax crossentropy's gradient on the logits (mean over the rows).
    let mut dz = acts.pop().expect("three layers");
    for (row, &label) in dz.chunks_mut(CLASSES).zip(labels) {
        let max = row.iter().copied().fold(f32::MIN, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v / sum - if j == label { 1.0 } else { 0.0 }) / m as f32;
        }
    }
    lap(t);
    // Backward. `acts` holds the outputs of the relu layers (the inputs of the next ones).
    let mut grads: Vec<Vec<f32>> = vec![Vec::new(); 2 * DIMS.len()];
    for (l, &(k, n)) in DIMS.iter().enumerate().rev() {
        grads[2 * l + 1] = if l + 1 == DIMS.len() {
            parts::bias_grad(&dz, n)
        } else {
            parts::relu_grad_and_bias_grad(&mut dz, &acts[l], n).expect("lengths")
        };
        lap(t);
        let input = if l == 0 { x } else { &acts[l - 1] };
        let w = &vars[2 * l].w;
        if variant.ops() {
            // dX and dW together (one lap; the dX lap is left empty).
            let (dx, dw) = parts::input_and_kernel_grads(&dz, input, w, (m, k, n), l > 0, true);
            lap(t);
            if l > 0 {
                lap(t);
            }
            grads[2 * l] = dw.expect("wanted");
            dz = dx.unwrap_or_default();
        } else {
            grads[2 * l] = matmul_fresh((k, n, m), (input, Trans::Yes), (&dz, Trans::No));
            lap(t);
            if l > 0 {
                dz = if variant.dx_transposed {
                    let mut dx = vec![0.0; m * k];
                    assert!(matmul_own_transposed(m, k, n, &dz, Trans::No, w, Trans::Yes, &mut dx));
                    dx
                } else {
                    matmul_fresh((m, k, n), (&dz, Trans::No), (w, Trans::Yes))
                };
                lap(t);
            }
        }
    }
    let h = AdamStep::new(1e-3, 0.9, 0.999, 1e-7, step, None);
    for (var, g) in vars.iter_mut().zip(&grads) {
        adam_update(&mut var.w, g, &mut var.m, &mut var.v, None, &h);
    }
    lap(t);
    set_sgemm_pack_b_rows_outer(None);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(301);
    let m: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let variants: Vec<Variant> = args
        .get(3)
        .map_or("today,own,own_pbr,tr_dx,tr,new,stream,ops", |s| s.as_str())
        .split(',')
        .map(Variant::parse)
        .collect();
    let threads = keras_engine::parallel::num_threads();
    let peak = common::fma_peak();
    println!(
        "threads {threads}, M {m}, one-thread FMA peak {}",
        peak.map_or("n/a (no AVX-512F)".into(), |p| format!("{p:.1} GFLOP/s"))
    );
    let x: Vec<f32> = common::raw_values(m * DIMS[0].0, 0.3).into_iter().map(|v| v.abs() / 1.7).collect();
    let labels: Vec<usize> = (0..m).map(|i| (i * 7 + 3) % CLASSES).collect();
    let names = part_names(m);
    // Each variant on its own copy of the variables (the same starting values).
    let mut states: Vec<Vec<Var>> = variants
        .iter()
        .map(|_| {
            DIMS.iter()
                .enumerate()
                .flat_map(|(l, &(k, n))| [Var::new(k * n, l as f32, 0.08), Var::new(n, l as f32 + 0.5, 0.01)])
                .collect()
        })
        .collect();
    let mut times: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); names.len()]; variants.len()];
    let mut totals: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let warm = 5;
    for r in 0..reps + warm {
        for (vi, &v) in variants.iter().enumerate() {
            let mut t = Vec::with_capacity(names.len());
            round(v, m, &x, &labels, &mut states[vi], r as u64 + 1, &mut t);
            assert_eq!(t.len(), names.len());
            if r >= warm {
                totals[vi].push(t.iter().sum());
                for (i, s) in t.into_iter().enumerate() {
                    times[vi][i].push(s);
                }
            }
        }
    }
    let header: String = variants.iter().map(|v| format!("{:>16}", v.name())).collect();
    println!("{:<28}{header}   (median us; GEMMs: GFLOP/s, % of {threads} x peak)", "part");
    for (i, (name, macs)) in names.iter().enumerate() {
        let cols: String = (0..variants.len())
            .map(|vi| {
                let us = common::median_ms(times[vi][i].clone()) * 1e3;
                if *macs > 0 {
                    let gf = 2.0 * *macs as f64 / us / 1e3;
                    let pct = peak
                        .map_or(String::new(), |p| format!(" {:3.0}%", 100.0 * gf / (p * threads as f64)));
                    format!("{us:>7.1} {gf:>4.0}{pct}")
                } else {
                    format!("{us:>16.1}")
                }
            })
            .collect();
        println!("{name:<28}{cols}");
    }
    let cols: String =
        totals.iter().map(|t| format!("{:>16.1}", common::median_ms(t.clone()) * 1e3)).collect();
    println!("{:<28}{cols}", "step (median of sums)");
    let macs: usize = names.iter().map(|(_, m)| m).sum();
    println!("GEMM multiply-adds per step: {:.1} M", macs as f64 / 1e6);
}
