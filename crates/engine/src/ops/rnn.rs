//! Fused recurrent ops: a whole SimpleRNN / LSTM / GRU sequence as ONE differentiable op with
//! a hand-written backward through time (no per-step tape).
//!
//! Layout: the input `(batch, time, features)` is gathered time-major in processing order
//! (reversed for `go_backwards`) and projected (`x W + b`), then each step runs one fused-gate
//! GEMM for the recurrent part and one pass over the gates. All buffers are allocated before
//! the loop. Batch rows never interact through time, so large batches are split into one chunk
//! of rows per thread, each running the whole time loop with single-threaded GEMMs (one
//! fork/join per sequence instead of one per step); the gate passes are monomorphized for the
//! usual tanh / sigmoid pair so they vectorize. Where it gives the same sums, the gather and
//! the projection run per step inside the chunks too, and the chunks initialize the buffers
//! they write, so the calling thread does no serial pass while the pool waits. The backward
//! pass mirrors it: one GEMM per step for the recurrent gradient (same chunks), the input
//! gradient per step in the chunks as well (else one GEMM after the loop), then the kernel and
//! recurrent-kernel GEMMs over all steps and the bias gradient split by columns.

use std::mem::MaybeUninit;

use gemm::gemm;

use crate::autodiff::record;
use crate::kernels::matmul::{matmul as mm, parallelism_for, Trans, TRANSPOSE_B_MIN};
use crate::kernels::sgemm::PackedB;
use crate::ops::elementwise::Unary;
use crate::ops::lstm::{fast_exp, lstm_backward_gates, lstm_forward_gates, lstm_tanh};
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Which recurrent cell the op runs (Keras gate orders).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RnnCell {
    /// `h = act(x W + h U + b)`.
    Simple,
    /// LSTM with gates `i, f, c, o` in kernel columns.
    Lstm,
    /// GRU with gates `z, r, h`; `reset_after` applies the reset gate after the recurrent
    /// matmul (bias `(2, 3u)`: input row, recurrent row) or before it (bias `(3u,)`).
    Gru {
        /// Keras `reset_after`.
        reset_after: bool,
    },
}

impl RnnCell {
    /// Gates per unit (columns of the kernel are `gates * units`).
    pub fn gates(self) -> usize {
        match self {
            RnnCell::Simple => 1,
            RnnCell::Lstm => 4,
            RnnCell::Gru { .. } => 3,
        }
    }

    /// Number of state tensors (`[h]` or `[h, c]`).
    pub fn num_states(self) -> usize {
        match self {
            RnnCell::Lstm => 2,
            _ => 1,
        }
    }
}

/// Static options of [`rnn`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnArgs {
    /// The cell.
    pub cell: RnnCell,
    /// Cell activation (`tanh`); needs a derivative computable from its output.
    pub activation: Unary,
    /// Gate activation (`sigmoid`); unused by [`RnnCell::Simple`].
    pub recurrent_activation: Unary,
    /// Process the sequence in reverse; the output sequence stays in processing order.
    pub go_backwards: bool,
    /// Return the whole output sequence `(batch, time, units)` instead of the last output.
    pub return_sequences: bool,
    /// Masked steps output zeros instead of the previous output.
    pub zero_output_for_mask: bool,
}

/// The tensors of [`rnn`]. `mask` (`(batch, time)`, non-zero = valid step) and
/// `recurrent_dropout` (`(batch, units)` multiplier applied to `h` before the recurrent
/// matmul) are not differentiated.
pub struct RnnInputs<'a> {
    /// `(batch, time, features)`.
    pub x: &'a Tensor,
    /// `(features, gates * units)`.
    pub kernel: &'a Tensor,
    /// `(units, gates * units)`.
    pub recurrent_kernel: &'a Tensor,
    /// `(gates * units)`, or `(2, 3 * units)` for a reset-after GRU.
    pub bias: Option<&'a Tensor>,
    /// Empty (zeros) or one `(batch, units)` tensor per state.
    pub initial_state: &'a [Tensor],
    /// Optional `(batch, time)` step mask.
    pub mask: Option<&'a Tensor>,
    /// Optional `(batch, units)` recurrent dropout multiplier.
    pub recurrent_dropout: Option<&'a Tensor>,
}

/// Strided row-major GEMM: `c[i*c_rs + j] (+)= sum_p a[i*a_rs + p*a_cs] * b[p*b_rs + j*b_cs]`.
#[allow(clippy::too_many_arguments)]
fn sgemm(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * c_rs..i * c_rs + n].fill(0.0);
            }
        }
        return;
    }
    assert!(
        (m - 1) * a_rs + (k - 1) * a_cs < a.len()
            && (k - 1) * b_rs + (n - 1) * b_cs < b.len()
            && (m - 1) * c_rs + n - 1 < c.len(),
        "rnn gemm buffer too short"
    );
    // SAFETY: the assert above bounds every index gemm reads or writes with these strides.
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            if parallel { parallelism_for(m, n, k) } else { gemm::Parallelism::None },
        );
    }
}

/// A per-step product `c (+)= a @ b` (row-major, `a` rows `a_rs` apart, `b` rows `n` apart)
/// on `b` packed once per sequence where [`PackedB`] runs, else through [`sgemm`] on the
/// crate: the same sums in the same order either way (`PackedB`'s tests).
#[allow(clippy::too_many_arguments)]
fn step_gemm(
    packed: Option<&PackedB>,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
) {
    match packed {
        Some(pb) => pb.gemm(m, a, a_rs, c, c_rs, accumulate),
        None => sgemm((m, n, k), a, (a_rs, 1), b, (n, 1), c, c_rs, accumulate, false),
    }
}

/// Depth up to which `gemm` sums every product in one accumulator, then adds it to the
/// destination (`gemm_common::cache::kernel_params` never splits `k <= 512`).
const GEMM_ONE_DEPTH_BLOCK: usize = 512;

#[cfg(test)]
thread_local! {
    /// Tests set this to run the one-GEMM projection and input gradient (the reference for
    /// the per-step ones) on the calling thread, and every per-step product on the crate
    /// (the reference for [`PackedB`]).
    static FORCE_ONE_GEMM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Tests set this to run [`weight_grad`] on the crate.
    static FORCE_CRATE_WGRAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Tests set bits of [`Lever`] here to turn those levers off on this thread.
    static TEST_LEVERS_OFF: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Tests set this to let [`shared_weight_grads`] use AMX on this thread (where the CPU
    /// has it) while the process's switch stays off for the other tests.
    static TEST_FORCE_AMX: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The row-major `k x n` right operand of per-step products packed once ([`PackedB`]), or
/// `None` for the crate (no AVX-512F, or a test's one-GEMM reference run).
fn pack_once(b: &[f32], k: usize, n: usize) -> Option<PackedB> {
    if one_gemm_forced() {
        return None;
    }
    PackedB::new(b, n, k, n)
}

/// Whether a test asked for the weight gradients on the crate ([`weight_grad`]'s reference).
fn one_gemm_forced_crate() -> bool {
    #[cfg(test)]
    {
        FORCE_CRATE_WGRAD.get()
    }
    #[cfg(not(test))]
    {
        false
    }
}

/// Whether a test asked for the one-GEMM paths ([`per_step_projection`], [`per_step_dx`]).
fn one_gemm_forced() -> bool {
    #[cfg(test)]
    {
        FORCE_ONE_GEMM.get()
    }
    #[cfg(not(test))]
    {
        false
    }
}

/// Whether the backward pass computes the input gradient step by step inside its chunks of
/// batch rows (straight into the batch-major layout) instead of one GEMM over all steps and a
/// reorder on the calling thread. Only where that one GEMM (`matmul` with the transposed
/// kernel) ran gemm's general blocked path on a pre-transposed kernel with the whole depth
/// `G * U <= 512` in one block, and the per-step GEMMs (at least 2 rows, `D >= 2`) take that
/// path too: there both sum every element's products in the same order (bit-identical,
/// tested), while gemm's small-matrix kernels (horizontal dot products, gemv) would not.
fn per_step_dx(t: usize, b: usize, d: usize, gu: usize) -> bool {
    if one_gemm_forced() {
        return false;
    }
    (3..=GEMM_ONE_DEPTH_BLOCK).contains(&gu)
        && d >= 2
        && b >= 2
        && gu * d >= TRANSPOSE_B_MIN
        && !matches!(parallelism_for(t * b, d, gu), gemm::Parallelism::None)
}

/// Whether the backward pass computes the kernel's and the recurrent kernel's gradients side
/// by side, one single-threaded GEMM each (`rayon::join`), or in one call of the own GEMM
/// split by columns ([`shared_weight_grads`]), instead of one after the other, each split
/// over the threads: with two threads each GEMM then runs whole on one core with no split of
/// its packing (the shared call: each thread packs half of `dZ`, once for both). Measured on an Intel Xeon (Emerald Rapids, `gemm_shapes`,
/// 128 x 512 x 2560 with `A^T`, W3's shape): 1,753-2,391 us on two threads against
/// 2,578-2,668 us on one, so the pair takes ~2.6 ms side by side against ~3.5 ms in turn.
/// `gemm` sums each element in the same blocks of `k` whatever its threads (tested), so the
/// bits are the same either way. Not inside a pool worker (no second thread to run the other
/// half), and not for products too small to split anyway.
fn weight_grads_side_by_side(d: usize, u: usize, gu: usize, k: usize) -> bool {
    !one_gemm_forced()
        && crate::parallel::num_threads() >= 2
        && !matches!(parallelism_for(d.max(u), gu, k), gemm::Parallelism::None)
}

/// A weight gradient `c = a^T @ b` over all steps (`a` `(k, m)` with rows `lda` apart, `b`
/// `(k, n)` with rows `ldb` apart, `c` `(m, n)` with rows `ldc` apart): `dW = X^T dZ`,
/// `dU = H^T dZ`. On the own GEMM where it runs (AVX-512F; `KERAS_RNN_OFF=wgrad` keeps the
/// crate, to measure), which reads `A^T` in place and packs `dZ` itself, single-threaded
/// unless `parallel`; its result does not depend on its threads. Measured on an Intel Xeon
/// (BENCHMARKS.md, seventeenth session). For `k` over 256 (W3: 2,560) the own GEMM adds its
/// partial sums of 256-step blocks where the crate adds those of its own blocks: the bits
/// differ from the crate's within rounding; for `k <= 256` both sum in one chain (the same
/// bits, tested).
#[allow(clippy::too_many_arguments)]
fn weight_grad(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    parallel: bool,
) {
    use crate::kernels::sgemm::{mode, Mode, View};
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || mode() == Mode::Off || one_gemm_forced_crate() || !lever_on(Lever::OwnWeightGrads) {
        sgemm((m, n, k), a, (1, lda), b, (ldb, 1), c, ldc, false, parallel);
        return;
    }
    assert!(
        lda >= m
            && ldb >= n
            && ldc >= n
            && (k - 1) * lda + m <= a.len()
            && (k - 1) * ldb + n <= b.len()
            && (m - 1) * ldc + n <= c.len(),
        "rnn weight gradient buffer too short"
    );
    let threads = match parallelism_for(m, n, k) {
        gemm::Parallelism::Rayon(t) if parallel => t,
        _ => 1,
    };
    let (av, bv) = (View { ptr: a.as_ptr(), rs: 1, cs: lda }, View { ptr: b.as_ptr(), rs: ldb, cs: 1 });
    // SAFETY: AVX-512F checked by `mode()`; the assert bounds every element read or written.
    unsafe { crate::kernels::sgemm::sgemm(m, n, k, av, bv, c.as_mut_ptr(), ldc, false, threads) };
}

/// `dW = X^T dZ` and `dU = H^T dZ` (`X` `(k, d)`, `H` `(k, u)`, `dZ` `(k, gu)`) in one call
/// of the own GEMM that packs each block of `dZ` once for both products
/// ([`crate::kernels::sgemm::sgemm_shared_b`]), split over the threads by columns, where
/// [`weight_grad`] would run them on the own GEMM (else `None`; `KERAS_RNN_OFF=shared` runs
/// them side by side, to measure): each thread then packs and reads half of `dZ` instead of
/// all of it. The bits of [`weight_grad`] on each (tested). With `bias_grad` (`gu` floats)
/// it also adds the column sums of `dZ` there from the packed blocks, with the bits of
/// [`add_column_sums`] (`KERAS_RNN_OFF=colsum` leaves them to it, to measure); the `bool`
/// says whether it did.
///
/// Where the process runs f32 products on AMX and the shapes gain
/// ([`crate::kernels::matmul::amx_shared_shape`]; W3's), both products and the column sums
/// run in one AMX call that splits and packs `dZ` once
/// ([`crate::kernels::amx::sgemm_amx_shared_b`]; `KERAS_RNN_OFF=amxgrad` keeps the own GEMM,
/// to measure): W3's pair 1.85-1.93 -> 1.49-1.56 ms on two threads (`amx_gemm`, Intel Xeon
/// model 207). The weight gradients are then as accurate as the FMA GEMM's, not its bits;
/// the bias gradient keeps its bits. Where AMX declines (NaN, infinities, ranges no scale
/// takes), the own GEMM runs.
fn shared_weight_grads(
    (d, u, gu, k): (usize, usize, usize, usize),
    xs: &[f32],
    hm: &[f32],
    dz: &[f32],
    bias_grad: Option<&mut [f32]>,
) -> Option<(Vec<f32>, Vec<f32>, bool)> {
    use crate::kernels::sgemm::{mode, sgemm_shared_b, Left, Mode, View};
    if k == 0
        || d == 0
        || u == 0
        || gu == 0
        || mode() == Mode::Off
        || one_gemm_forced_crate()
        || !lever_on(Lever::OwnWeightGrads)
        || !lever_on(Lever::SharedPacking)
    {
        return None;
    }
    assert!(
        xs.len() >= k * d && hm.len() >= k * u && dz.len() >= k * gu,
        "rnn weight gradient buffer too short"
    );
    let sums = match bias_grad {
        Some(db) if lever_on(Lever::FusedBiasGrad) => {
            assert!(db.len() >= gu, "rnn bias gradient buffer too short");
            db.as_mut_ptr()
        }
        _ => std::ptr::null_mut(),
    };
    let (mut dw, mut dr) = (vec![0.0f32; d * gu], vec![0.0f32; u * gu]);
    let lefts = [
        Left { m: d, a: View { ptr: xs.as_ptr(), rs: 1, cs: d }, c: dw.as_mut_ptr(), ldc: gu },
        Left { m: u, a: View { ptr: hm.as_ptr(), rs: 1, cs: u }, c: dr.as_mut_ptr(), ldc: gu },
    ];
    let threads = crate::parallel::num_threads();
    let dzv = View { ptr: dz.as_ptr(), rs: gu, cs: 1 };
    // SAFETY (of both calls): the asserts bound both operands and `sums`, the outputs hold `d`
    // and `u` rows of `gu` floats; the own GEMM's AVX-512F is checked by `mode()`.
    if amx_weight_grads()
        && crate::kernels::matmul::amx_shared_shape(&[d, u], gu, k)
        && unsafe { crate::kernels::amx::sgemm_amx_shared_b(&lefts, gu, k, dzv, threads, sums) }
    {
        return Some((dw, dr, !sums.is_null()));
    }
    let summed = unsafe { sgemm_shared_b(&lefts, gu, k, dzv, threads, sums) };
    Some((dw, dr, summed))
}

/// The input projection `x @ kernel + bias` (`(rows, n)` from `(rows, k)` and `(k, n)`). With
/// a bias and `k <= 512`, the output starts as the bias rows and the GEMM adds its products
/// to them: `gemm` computes `bias + sum` once per element, the same float32 addition as the
/// sum followed by `+ bias`, so the result is bit-identical to zero-fill, GEMM, add, with one
/// pass over the buffer instead of three.
fn project(x: &[f32], kernel: &[f32], bias: Option<&[f32]>, (rows, n, k): (usize, usize, usize)) -> Vec<f32> {
    match bias {
        Some(ib) if k <= GEMM_ONE_DEPTH_BLOCK => {
            let mut out = Vec::with_capacity(rows * n);
            for _ in 0..rows {
                out.extend_from_slice(&ib[..n]);
            }
            mm(rows, n, k, x, Trans::No, kernel, Trans::No, &mut out, true);
            out
        }
        _ => {
            let mut out = vec![0.0f32; rows * n];
            mm(rows, n, k, x, Trans::No, kernel, Trans::No, &mut out, false);
            if let Some(ib) = bias {
                for row in out.chunks_mut(n) {
                    row.iter_mut().zip(ib).for_each(|(v, &bb)| *v += bb);
                }
            }
            out
        }
    }
}

/// Activation values in the recurrent op: sigmoid and tanh through [`fast_exp`].
#[inline(always)]
fn fapply(u: Unary, x: f32) -> f32 {
    match u {
        Unary::Sigmoid => 1.0 / (1.0 + fast_exp(-x)),
        Unary::Tanh => 1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0),
        other => other.apply(x),
    }
}

/// Everything the backward pass needs, kept from the forward pass.
struct Saved {
    opts: RnnArgs,
    b: usize,
    t: usize,
    d: usize,
    u: usize,
    /// Processing-order inputs `(T, B, D)`.
    xs: Vec<f32>,
    /// States `h` `(T + 1, B, U)`; `hs[0]` is the initial state.
    hs: Vec<f32>,
    /// LSTM cell states `(T + 1, B, U)`.
    cs: Vec<f32>,
    /// Activated gates `(T, B, G * U)`.
    gates: Vec<f32>,
    /// Gate pre-activations `(T, B, G * U)`, kept only for activations whose derivative needs
    /// them (empty otherwise).
    pre: Vec<f32>,
    /// GRU reset-after: recurrent candidate part `h U_h + rb_h` `(T, B, U)`;
    /// GRU reset-before: `r * h_in` `(T, B, U)`.
    aux: Vec<f32>,
    /// Recurrent-matmul inputs `h * dropout` `(T, B, U)` when recurrent dropout is on.
    hin: Vec<f32>,
    /// `(B, T)` step validity, processing order (`valid[s * B + b]`).
    valid: Option<Vec<bool>>,
    rdrop: Option<Vec<f32>>,
    kernel: Vec<f32>,
    rkernel: Vec<f32>,
    has_bias: bool,
    n_init: usize,
    /// The LSTM gate passes run [`lstm_forward_gates`] / [`lstm_backward_gates`].
    fast_lstm: bool,
    /// `tanh` of the LSTM cell states `(T, B, U)` (`tanh(cs[s + 1])`) as the fast forward
    /// gate pass computed them, for the fast backward one (empty otherwise: it computes them).
    tc: Vec<f32>,
}

/// Runs a recurrent layer over a whole sequence. Returns `[output, h]` or `[output, h, c]`
/// (LSTM), where `output` is `(batch, time, units)` with `return_sequences`, else the last
/// output `(batch, units)`. Gradients flow to `x`, the kernels, the bias and the initial states.
///
/// ```
/// use keras_engine::ops::{rnn, RnnCell, RnnInputs, RnnArgs, Unary};
/// use keras_engine::Tensor;
/// let x = Tensor::ones([2, 5, 3]);
/// let k = Tensor::full([3, 8], 0.1);
/// let r = Tensor::full([2, 8], 0.1);
/// let opts = RnnArgs {
///     cell: RnnCell::Lstm,
///     activation: Unary::Tanh,
///     recurrent_activation: Unary::Sigmoid,
///     go_backwards: false,
///     return_sequences: false,
///     zero_output_for_mask: false,
/// };
/// let inputs = RnnInputs { x: &x, kernel: &k, recurrent_kernel: &r, bias: None,
///     initial_state: &[], mask: None, recurrent_dropout: None };
/// let out = rnn(inputs, &opts).unwrap();
/// assert_eq!(out[0].shape(), &[2, 2]);
/// assert_eq!(out.len(), 3);
/// ```
pub fn rnn(inputs: RnnInputs<'_>, opts: &RnnArgs) -> Result<Vec<Tensor>> {
    rnn_with(inputs, opts, true)
}

/// [`rnn`], with the per-ISA LSTM gate passes of `ops::lstm` allowed or not (tests compare
/// both paths).
fn rnn_with(inputs: RnnInputs<'_>, opts: &RnnArgs, allow_fast: bool) -> Result<Vec<Tensor>> {
    let opts = *opts;
    let cell = opts.cell;
    let g = cell.gates();
    let x = inputs.x;
    if x.rank() != 3 {
        bail!("rnn expects inputs of shape (batch, time, features), got {:?}", x.shape());
    }
    let (b, t, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let rk = inputs.recurrent_kernel;
    if rk.rank() != 2 || rk.shape()[0] * g != rk.shape()[1] {
        bail!("rnn recurrent kernel must be (units, {g} * units), got {:?}", rk.shape());
    }
    let u = rk.shape()[0];
    let gu = g * u;
    if inputs.kernel.shape() != [d, gu] {
        bail!("rnn kernel must be {:?}, got {:?}", [d, gu], inputs.kernel.shape());
    }
    let reset_after = matches!(cell, RnnCell::Gru { reset_after: true });
    if let Some(bias) = inputs.bias {
        let want: Vec<usize> = if reset_after { vec![2, gu] } else { vec![gu] };
        if bias.shape() != want.as_slice() {
            bail!("rnn bias must be {want:?}, got {:?}", bias.shape());
        }
    }
    // Activations whose derivative cannot be read off their output (hard_sigmoid is one that
    // can; gelu, silu, relu6... cannot) need the pre-activation gate values kept.
    let keep_pre =
        !(opts.activation.invertible_derivative() && opts.recurrent_activation.invertible_derivative());
    let fast_lstm = allow_fast && !keep_pre && fast_lstm_pair(&opts);
    let ns = cell.num_states();
    if !inputs.initial_state.is_empty() {
        if inputs.initial_state.len() != ns {
            bail!("rnn expects {ns} initial state tensor(s), got {}", inputs.initial_state.len());
        }
        for s in inputs.initial_state {
            if s.shape() != [b, u] {
                bail!("rnn initial states must be (batch, units) = {:?}, got {:?}", [b, u], s.shape());
            }
        }
    }
    let valid: Option<Vec<bool>> = match inputs.mask {
        None => None,
        Some(m) => {
            if m.shape() != [b, t] {
                bail!("rnn mask must be (batch, time) = {:?}, got {:?}", [b, t], m.shape());
            }
            let mv = m.to_f32_vec();
            let mut v = vec![false; t * b];
            for s in 0..t {
                let tm = if opts.go_backwards { t - 1 - s } else { s };
                for bi in 0..b {
                    v[s * b + bi] = mv[bi * t + tm] != 0.0;
                }
            }
            Some(v)
        }
    };
    let rdrop: Option<Vec<f32>> = match inputs.recurrent_dropout {
        None => None,
        Some(r) => {
            if r.shape() != [b, u] {
                bail!("rnn recurrent dropout mask must be {:?}, got {:?}", [b, u], r.shape());
            }
            Some(r.to_f32_vec())
        }
    };

    let xv = x.as_f32()?;
    let kernel = inputs.kernel.as_f32()?.to_vec();
    let rkernel = rk.as_f32()?.to_vec();
    let bias: Option<Vec<f32>> = match inputs.bias {
        Some(bt) => Some(bt.as_f32()?.to_vec()),
        None => None,
    };
    let bu = b * u;
    let lstm = cell == RnnCell::Lstm;
    // Where the input projection runs step by step inside the chunks ([`per_step_projection`])
    // the time-major inputs `xs` are gathered there too; otherwise both happen here first.
    let step_proj = per_step_projection(b, d, gu);
    let mut xs: Vec<f32> = Vec::with_capacity(t * b * d);
    let mut projected = Vec::new();
    let rbias: Option<&[f32]> = if reset_after { bias.as_ref().map(|bv| &bv[gu..]) } else { None };
    if !step_proj {
        for s in 0..t {
            let tm = if opts.go_backwards { t - 1 - s } else { s };
            for bi in 0..b {
                let src = (bi * t + tm) * d;
                xs.extend_from_slice(&xv[src..src + d]);
            }
        }
        // One GEMM for the input projection of every step (+ input bias).
        projected = project(&xs, &kernel, bias.as_deref().map(|bv| &bv[..gu]), (t * b, gu, d));
    }
    // The buffers the chunks fill are allocated without a zero fill here: each chunk
    // initializes its rows of a step (in cache) right before writing them.
    let mut gates: Vec<f32> = Vec::with_capacity(t * b * gu);
    let mut hs: Vec<f32> = Vec::with_capacity((t + 1) * bu);
    let mut cs: Vec<f32> = Vec::with_capacity(if lstm { (t + 1) * bu } else { 0 });
    // The output sequence differs from the states only for masked steps.
    let mut outseq: Vec<f32> = Vec::with_capacity(if valid.is_some() { t * bu } else { 0 });
    let h0 = match inputs.initial_state.first() {
        Some(h) => Some(h.as_f32()?),
        None => None,
    };
    let c0 = match inputs.initial_state.get(1) {
        Some(c) => Some(c.as_f32()?),
        None => None,
    };
    let mut aux = if matches!(cell, RnnCell::Gru { .. }) { vec![0.0f32; t * bu] } else { Vec::new() };
    let mut hin = if rdrop.is_some() { vec![0.0f32; t * bu] } else { Vec::new() };
    let mut pre = if keep_pre { vec![0.0f32; t * b * gu] } else { Vec::new() };
    let keep_tc = fast_lstm && lever_on(Lever::KeptTanh);
    let mut tcs: Vec<f32> = Vec::with_capacity(if keep_tc { t * bu } else { 0 });
    {
        // Batch rows are independent through time: each chunk of rows runs the whole time loop
        // on its own thread (one fork/join per sequence, not per step).
        let sizes = chunk_sizes(b, t * b * gu * u);
        let params = StepParams {
            opts,
            t,
            b,
            u,
            gu,
            rkernel: &rkernel,
            rbias,
            valid: valid.as_deref(),
            rdrop: rdrop.as_deref(),
            fast_lstm,
            proj: if step_proj {
                Proj::PerStep { x: xv, kernel: &kernel, bias: bias.as_deref().map(|bv| &bv[..gu]), d }
            } else {
                Proj::Done(&projected)
            },
            // Packed once here instead of by every step's GEMM (GRU reset-before multiplies
            // column blocks of the kernel separately and keeps the crate).
            rpacked: if cell == (RnnCell::Gru { reset_after: false }) {
                None
            } else {
                pack_once(&rkernel, u, gu)
            },
            kpacked: if step_proj { pack_once(&kernel, d, gu) } else { None },
            h0,
            c0,
        };
        let mut xp =
            pieces(&mut xs.spare_capacity_mut()[..if step_proj { t * b * d } else { 0 }], t, d, &sizes)
                .into_iter();
        let mut gp = pieces(&mut gates.spare_capacity_mut()[..t * b * gu], t, gu, &sizes).into_iter();
        let mut hp = pieces(&mut hs.spare_capacity_mut()[..(t + 1) * bu], t + 1, u, &sizes).into_iter();
        let n_cs = if lstm { (t + 1) * bu } else { 0 };
        let mut cp = pieces(&mut cs.spare_capacity_mut()[..n_cs], t + 1, u, &sizes).into_iter();
        let n_out = if valid.is_some() { t * bu } else { 0 };
        let mut op = pieces(&mut outseq.spare_capacity_mut()[..n_out], t, u, &sizes).into_iter();
        let mut ap = pieces(&mut aux, t, u, &sizes).into_iter();
        let mut ip = pieces(&mut hin, t, u, &sizes).into_iter();
        let mut pp = pieces(&mut pre, t, gu, &sizes).into_iter();
        let n_tc = if keep_tc { t * bu } else { 0 };
        let mut tp = pieces(&mut tcs.spare_capacity_mut()[..n_tc], t, u, &sizes).into_iter();
        let mut chunks = Vec::with_capacity(sizes.len());
        let mut b0 = 0;
        for &bc in &sizes {
            chunks.push(FwdChunk {
                b0,
                bc,
                xs: xp.next().unwrap_or_default(),
                gates: gp.next().unwrap_or_default(),
                hs: hp.next().unwrap_or_default(),
                cs: cp.next().unwrap_or_default(),
                aux: ap.next().unwrap_or_default(),
                hin: ip.next().unwrap_or_default(),
                out: op.next().unwrap_or_default(),
                pre: pp.next().unwrap_or_default(),
                rec: if reset_after { vec![0.0f32; bc * gu] } else { Vec::new() },
                tc: tp.next().unwrap_or_default(),
                tc_scratch: if fast_lstm && !keep_tc {
                    vec![MaybeUninit::uninit(); bc * u]
                } else {
                    Vec::new()
                },
            });
            b0 += bc;
        }
        run_chunks(&mut chunks, |c| forward_chunk(&params, c));
    }
    // SAFETY: the chunks cover all `b` rows; each initialized its rows of the initial states
    // (`hs` / `cs` step 0) and, at every one of the `t` steps, its rows of that step's gates,
    // states, `tanh(c)` (when kept), output (with a mask) and inputs (with the per-step
    // projection) before reading them (`forward_chunk_with`).
    unsafe {
        gates.set_len(t * b * gu);
        hs.set_len((t + 1) * bu);
        if lstm {
            cs.set_len((t + 1) * bu);
        }
        if valid.is_some() {
            outseq.set_len(t * bu);
        }
        if step_proj {
            xs.set_len(t * b * d);
        }
        if keep_tc {
            tcs.set_len(t * bu);
        }
    }
    drop(projected);
    let outs: &[f32] = if valid.is_some() { &outseq } else { &hs[bu..] };

    // Packed result per batch row: [output (T*U or U)] [h] [c].
    let tout = if opts.return_sequences { t } else { 1 };
    let p = tout * u + ns * u;
    let mut packed = vec![0.0f32; b * p];
    for bi in 0..b {
        let row = &mut packed[bi * p..(bi + 1) * p];
        if opts.return_sequences {
            for s in 0..t {
                row[s * u..(s + 1) * u].copy_from_slice(&outs[s * bu + bi * u..s * bu + (bi + 1) * u]);
            }
        } else if t > 0 {
            row[..u].copy_from_slice(&outs[(t - 1) * bu + bi * u..(t - 1) * bu + (bi + 1) * u]);
        }
        let hbase = t * bu + bi * u;
        row[tout * u..tout * u + u].copy_from_slice(&hs[hbase..hbase + u]);
        if ns == 2 {
            row[tout * u + u..].copy_from_slice(&cs[hbase..hbase + u]);
        }
    }
    let saved = Saved {
        opts,
        b,
        t,
        d,
        u,
        xs,
        hs,
        cs,
        gates,
        pre,
        aux,
        hin,
        valid,
        rdrop,
        kernel,
        rkernel,
        has_bias: inputs.bias.is_some(),
        n_init: inputs.initial_state.len(),
        fast_lstm,
        tc: tcs,
    };
    let mut op_inputs: Vec<&Tensor> = vec![x, inputs.kernel, rk];
    if let Some(bt) = inputs.bias {
        op_inputs.push(bt);
    }
    op_inputs.extend(inputs.initial_state.iter());
    let out = Tensor::from_f32_unchecked(packed, vec![b, p]);
    let out = record(
        out,
        &op_inputs,
        Box::new(move |gr, _o, ins| backward(&saved, gr.as_f32()?, ins, reset_after)),
    )?;
    // Differentiable views of the packed result.
    let mut widths = vec![tout * u];
    widths.extend(std::iter::repeat_n(u, ns));
    let parts = split_columns(&out, &widths)?;
    let mut parts = parts.into_iter();
    let first = parts.next().expect("one part per width");
    let first = if opts.return_sequences { first.reshape(vec![b, t, u])? } else { first };
    let mut result = vec![first];
    result.extend(parts);
    Ok(result)
}

/// Splits a `(rows, sum(widths))` tensor into `(rows, w)` pieces (differentiable).
fn split_columns(x: &Tensor, widths: &[usize]) -> Result<Vec<Tensor>> {
    let rows = x.shape()[0];
    let p = x.shape()[1];
    let xv = x.as_f32()?;
    let mut out = Vec::with_capacity(widths.len());
    let mut start = 0;
    for &w in widths {
        let mut data = Vec::with_capacity(rows * w);
        for r in 0..rows {
            data.extend_from_slice(&xv[r * p + start..r * p + start + w]);
        }
        let off = start;
        let piece = record(
            Tensor::from_f32_unchecked(data, vec![rows, w]),
            &[x],
            Box::new(move |g, _o, _i| {
                let gv = g.as_f32()?;
                let mut full = vec![0.0f32; rows * p];
                for r in 0..rows {
                    full[r * p + off..r * p + off + w].copy_from_slice(&gv[r * w..(r + 1) * w]);
                }
                Ok(vec![Some(Tensor::from_f32_unchecked(full, vec![rows, p]))])
            }),
        )?;
        out.push(piece);
        start += w;
    }
    Ok(out)
}

/// A gate or cell activation with its derivative, resolved at compile time for the usual
/// `tanh` / `sigmoid` pair so the gate loops vectorize (no per-element branch). `d` gets the
/// pre-activation `x` (meaningful only when the op kept it) and the output `y`.
trait Act: Copy + Send + Sync {
    fn f(self, x: f32) -> f32;
    fn d(self, x: f32, y: f32) -> f32;
}

#[derive(Clone, Copy)]
struct SigmoidAct;

#[derive(Clone, Copy)]
struct TanhAct;

impl Act for SigmoidAct {
    #[inline(always)]
    fn f(self, x: f32) -> f32 {
        1.0 / (1.0 + fast_exp(-x))
    }
    #[inline(always)]
    fn d(self, _x: f32, y: f32) -> f32 {
        y * (1.0 - y)
    }
}

impl Act for TanhAct {
    #[inline(always)]
    fn f(self, x: f32) -> f32 {
        1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
    }
    #[inline(always)]
    fn d(self, _x: f32, y: f32) -> f32 {
        1.0 - y * y
    }
}

impl Act for Unary {
    #[inline(always)]
    fn f(self, x: f32) -> f32 {
        fapply(self, x)
    }
    #[inline(always)]
    fn d(self, x: f32, y: f32) -> f32 {
        match self.derivative_from_output(y) {
            Some(d) => d,
            None => self.derivative(x, y),
        }
    }
}

#[inline(always)]
fn map_act<A: Act>(a: A, xs: &mut [f32]) {
    xs.iter_mut().for_each(|v| *v = a.f(*v));
}

/// Below this many multiply-adds in the recurrent GEMMs of a sequence, one thread runs it.
const PAR_MIN_WORK: usize = 1 << 18;

/// Batch rows per chunk: one chunk per engine thread (at least 4 rows each), or one chunk for
/// small problems.
fn chunk_sizes(b: usize, work: usize) -> Vec<usize> {
    let n = if work < PAR_MIN_WORK { 1 } else { crate::parallel::num_threads().min(b / 4).max(1) };
    (0..n).map(|k| b / n + usize::from(k < b % n)).collect()
}

/// Splits a `(steps, batch, row)` buffer into, per chunk of batch rows (`sizes`), one mutable
/// `(rows, row)` slice per step. An unused (too short) buffer gives empty lists.
fn pieces<'a, T>(buf: &'a mut [T], steps: usize, row: usize, sizes: &[usize]) -> Vec<Vec<&'a mut [T]>> {
    let mut out: Vec<Vec<&'a mut [T]>> = sizes.iter().map(|_| Vec::with_capacity(steps)).collect();
    if buf.len() < steps * row * sizes.iter().sum::<usize>() {
        return out;
    }
    let mut rest = buf;
    for _ in 0..steps {
        for (k, &bc) in sizes.iter().enumerate() {
            let (a, r) = std::mem::take(&mut rest).split_at_mut(bc * row);
            out[k].push(a);
            rest = r;
        }
    }
    out
}

/// Writes zeros over `buf` and returns it as initialized floats (buffers allocated without a
/// zero fill on the calling thread are initialized this way by the thread that writes them).
fn zero_init(buf: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    buf.fill(MaybeUninit::new(0.0));
    // SAFETY: every element was just written, and `MaybeUninit<f32>` has the layout of `f32`.
    unsafe { &mut *(buf as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// Views fully written floats as initialized.
///
/// # Safety
/// Every element of `buf` has been written.
unsafe fn assume_init(buf: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    &mut *(buf as *mut [MaybeUninit<f32>] as *mut [f32])
}

/// Levers of this op that `KERAS_RNN_OFF` turns off (read once; a comma-separated list of
/// `wgrad`, `tanh`, `nozero`, `shared`, `colsum`, `biastile`), to measure each against the
/// path it replaced in one binary.
#[derive(Clone, Copy)]
enum Lever {
    /// `wgrad`: the weight gradients on the own GEMM ([`weight_grad`]) instead of the crate.
    OwnWeightGrads = 1,
    /// `tanh`: the LSTM forward gate pass keeps `tanh(c)` for the backward one.
    KeptTanh = 2,
    /// `nozero`: the fast LSTM gate passes write their outputs without a zero fill first.
    NoZeroFill = 4,
    /// `shared`: both weight gradients in one own-GEMM call ([`shared_weight_grads`]).
    SharedPacking = 8,
    /// `colsum`: that call also sums the bias gradient from the packed `dZ`.
    FusedBiasGrad = 16,
    /// `biastile`: the forward's per-step input projection starts its tiles from the bias
    /// row ([`PackedB::gemm_from_bias`]) instead of bias rows copied into the gates first.
    BiasInTile = 32,
    /// `amxgrad`: the shared weight gradients on AMX where it runs ([`shared_weight_grads`]).
    AmxWeightGrads = 64,
}

/// Whether `l` is on (see [`Lever`]).
fn lever_on(l: Lever) -> bool {
    static OFF: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let off = *OFF.get_or_init(|| {
        let v = std::env::var("KERAS_RNN_OFF").unwrap_or_default();
        v.split(',')
            .map(|w| match w.trim() {
                "wgrad" => Lever::OwnWeightGrads as u32,
                "tanh" => Lever::KeptTanh as u32,
                "nozero" => Lever::NoZeroFill as u32,
                "shared" => Lever::SharedPacking as u32,
                "colsum" => Lever::FusedBiasGrad as u32,
                "biastile" => Lever::BiasInTile as u32,
                "amxgrad" => Lever::AmxWeightGrads as u32,
                _ => 0,
            })
            .fold(0, |a, b| a | b)
    });
    #[cfg(test)]
    if TEST_LEVERS_OFF.get() & l as u32 != 0 {
        return false;
    }
    off & l as u32 == 0
}

/// Whether [`shared_weight_grads`] tries AMX: the `amxgrad` lever and the process's AMX
/// switch ([`crate::kernels::matmul::amx_enabled`]; off in the engine's unit tests, whose
/// AMX runs ask for it on their thread instead).
fn amx_weight_grads() -> bool {
    #[cfg(test)]
    if TEST_FORCE_AMX.get() {
        return lever_on(Lever::AmxWeightGrads) && crate::kernels::amx::available();
    }
    lever_on(Lever::AmxWeightGrads) && crate::kernels::matmul::amx_enabled()
}

/// Adds the column sums of the row-major `(rows, w)` buffer `m` to `out` (`w` long): every
/// column is summed row by row in order from its `out` value, as a serial loop over the rows
/// would, so the result is bit-identical to it. Large buffers split their columns over the
/// engine threads (the LSTM bias gradient of a W3 step: a 2560 x 512 sum that ran on the
/// calling thread while the pool waited).
fn add_column_sums(m: &[f32], w: usize, out: &mut [f32]) {
    use rayon::prelude::*;
    let threads = crate::parallel::num_threads();
    if w == 0 {
        return;
    }
    let add_rows = |c0: usize, oc: &mut [f32]| {
        for row in m.chunks_exact(w) {
            let n = oc.len();
            oc.iter_mut().zip(&row[c0..c0 + n]).for_each(|(a, &v)| *a += v);
        }
    };
    if threads < 2 || m.len() < crate::parallel::ELEMENTWISE_PARALLEL_MIN || w < 32 {
        add_rows(0, &mut out[..w]);
        return;
    }
    let cw = w.div_ceil(threads).next_multiple_of(16);
    out[..w].par_chunks_mut(cw).enumerate().for_each(|(k, oc)| add_rows(k * cw, oc));
}

/// Runs `f` on every chunk, in parallel when there are several.
fn run_chunks<C: Send>(chunks: &mut [C], f: impl Fn(&mut C) + Sync + Send) {
    use rayon::prelude::*;
    if chunks.len() == 1 {
        f(&mut chunks[0]);
    } else {
        chunks.par_iter_mut().for_each(f);
    }
}

/// Rows `b0..b0 + bc` of step `s` of a `(steps, b, w)` buffer.
#[inline]
fn rows(buf: &[f32], s: usize, (b, b0, bc): (usize, usize, usize), w: usize) -> &[f32] {
    &buf[(s * b + b0) * w..(s * b + b0 + bc) * w]
}

/// What every forward chunk shares.
struct StepParams<'a> {
    opts: RnnArgs,
    t: usize,
    b: usize,
    u: usize,
    gu: usize,
    rkernel: &'a [f32],
    rbias: Option<&'a [f32]>,
    valid: Option<&'a [bool]>,
    rdrop: Option<&'a [f32]>,
    /// LSTM with tanh / sigmoid: the gate pass runs [`lstm_forward_gates`].
    fast_lstm: bool,
    /// Where each step's input projection comes from.
    proj: Proj<'a>,
    /// The recurrent kernel packed once for the per-step products (`None`: the crate).
    rpacked: Option<PackedB>,
    /// The input kernel packed likewise, with [`Proj::PerStep`].
    kpacked: Option<PackedB>,
    /// Initial states `(B, U)` (zeros when absent).
    h0: Option<&'a [f32]>,
    c0: Option<&'a [f32]>,
}

/// The input projection `x W + b` of a step, as the forward chunks get it.
enum Proj<'a> {
    /// Computed by the chunk for its rows of each step: gathered time-major into its rows of
    /// `xs`, then `bias + xs_s @ kernel` (see [`per_step_projection`]).
    PerStep {
        /// The batch-major input `(B, T, D)`.
        x: &'a [f32],
        /// `(D, G * U)`.
        kernel: &'a [f32],
        /// The input bias `(G * U)`.
        bias: Option<&'a [f32]>,
        d: usize,
    },
    /// Computed for all steps before the loop, `(T, B, G * U)`: the chunk copies its rows.
    Done(&'a [f32]),
}

/// Whether the forward chunks compute the input projection step by step (one
/// `(rows, G * U, D)` GEMM per step and chunk, started from the bias rows) instead of one GEMM
/// over all steps on the calling thread before the loop: where both take gemm's general
/// blocked path with the whole depth `D <= 512` in one block (at least 2 rows and 3 columns
/// of depth, so neither gemm's gemv nor its `k <= 2` kernels run), they sum every element's
/// products in the same order, starting from the same bias, so the gates are bit-identical
/// (tested).
fn per_step_projection(b: usize, d: usize, gu: usize) -> bool {
    if one_gemm_forced() {
        return false;
    }
    b >= 2 && (3..=GEMM_ONE_DEPTH_BLOCK).contains(&d) && gu >= 2
}

/// Copies `src` into `buf` and returns it as initialized floats.
///
/// # Panics
/// If the lengths differ.
fn init_from<'a>(buf: &'a mut [MaybeUninit<f32>], src: &[f32]) -> &'a mut [f32] {
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and viewing initialized floats as
    // possibly uninitialized ones (read only) is sound.
    let src = unsafe { &*(src as *const [f32] as *const [MaybeUninit<f32>]) };
    buf.copy_from_slice(src);
    // SAFETY: every element was just written.
    unsafe { &mut *(buf as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// Whether the cell is an LSTM with the default `tanh` / `sigmoid` pair (the gate passes of
/// `ops::lstm`, compiled per instruction set).
fn fast_lstm_pair(opts: &RnnArgs) -> bool {
    opts.cell == RnnCell::Lstm
        && opts.activation == Unary::Tanh
        && opts.recurrent_activation == Unary::Sigmoid
}

/// Batch rows `b0..b0 + bc` of the forward buffers, one slice per step. The not yet
/// initialized ones are initialized by the chunk's step before it writes them.
struct FwdChunk<'a> {
    b0: usize,
    bc: usize,
    /// Time-major inputs (only with [`Proj::PerStep`]).
    xs: Vec<&'a mut [MaybeUninit<f32>]>,
    gates: Vec<&'a mut [MaybeUninit<f32>]>,
    /// States `h`, steps `0..=T`.
    hs: Vec<&'a mut [MaybeUninit<f32>]>,
    /// LSTM cell states, steps `0..=T`.
    cs: Vec<&'a mut [MaybeUninit<f32>]>,
    aux: Vec<&'a mut [f32]>,
    hin: Vec<&'a mut [f32]>,
    /// Outputs, only with a mask (without one they are the states).
    out: Vec<&'a mut [MaybeUninit<f32>]>,
    /// Gate pre-activations per step (no slices when not kept).
    pre: Vec<&'a mut [f32]>,
    /// Reset-after GRU: the recurrent matmul of one step `(bc, 3u)`.
    rec: Vec<f32>,
    /// LSTM gate pass: `tanh(c)` per step, kept for the backward pass (no slices when not
    /// kept: the pass then writes [`FwdChunk::tc_scratch`]).
    tc: Vec<&'a mut [MaybeUninit<f32>]>,
    /// `(bc, u)` scratch for `tanh(c)` when it is not kept.
    tc_scratch: Vec<MaybeUninit<f32>>,
}

fn forward_chunk<'a>(p: &StepParams<'_>, c: &mut FwdChunk<'a>) {
    match (p.opts.activation, p.opts.recurrent_activation) {
        (Unary::Tanh, Unary::Sigmoid) => forward_chunk_with(TanhAct, SigmoidAct, p, c),
        (a, r) => forward_chunk_with(a, r, p, c),
    }
}

fn forward_chunk_with<'a, A: Act, R: Act>(act: A, ract: R, p: &StepParams<'_>, c: &mut FwdChunk<'a>) {
    use std::mem::take;
    let (t, b, u, gu) = (p.t, p.b, p.u, p.gu);
    let (b0, bc) = (c.b0, c.bc);
    let cell = p.opts.cell;
    let lstm = cell == RnnCell::Lstm;
    let rd = p.rdrop.map(|r| &r[b0 * u..(b0 + bc) * u]);
    let lu = bc * u;
    let init_state = |buf: &'a mut [MaybeUninit<f32>], s0: Option<&[f32]>| -> &'a [f32] {
        match s0 {
            Some(v) => init_from(buf, &v[b0 * u..b0 * u + lu]),
            None => zero_init(buf),
        }
    };
    let mut hprev: &'a [f32] = init_state(take(&mut c.hs[0]), p.h0);
    let mut cprev: &'a [f32] = if lstm { init_state(take(&mut c.cs[0]), p.c0) } else { &[] };
    let mut oprev: &'a [f32] = &[];
    for s in 0..t {
        // Written whole by the gate pass below (zero-filled first where a pass may not).
        let hraw = take(&mut c.hs[s + 1]);
        let craw: &'a mut [MaybeUninit<f32>] = if lstm { take(&mut c.cs[s + 1]) } else { &mut [] };
        if let Some(rd) = rd {
            c.hin[s].iter_mut().zip(hprev.iter().zip(rd)).for_each(|(o, (&h, &m))| *o = h * m);
        }
        let hmat: &[f32] = if rd.is_some() { c.hin[s] } else { hprev };
        // This step's input projection.
        let z: &mut [f32] = match p.proj {
            Proj::PerStep { x, kernel, bias, d } => {
                let tm = if p.opts.go_backwards { t - 1 - s } else { s };
                let xr = take(&mut c.xs[s]);
                for (bi, row) in xr.chunks_exact_mut(d).enumerate() {
                    let src = ((b0 + bi) * t + tm) * d;
                    init_from(row, &x[src..src + d]);
                }
                // SAFETY: every row was just written.
                let xr: &[f32] = unsafe { &*(xr as *mut [MaybeUninit<f32>] as *const [f32]) };
                let zr = take(&mut c.gates[s]);
                match bias {
                    Some(bv) if p.kpacked.is_some() && lever_on(Lever::BiasInTile) => {
                        // The tiles start from the bias row: no pass writing it first.
                        let pb = p.kpacked.as_ref().expect("checked above");
                        pb.gemm_from_bias(bc, xr, d, bv, zr, gu);
                        // SAFETY: `gemm_from_bias` wrote every element of the `bc` rows.
                        unsafe { assume_init(zr) }
                    }
                    Some(bv) => {
                        for row in zr.chunks_exact_mut(gu) {
                            init_from(row, bv);
                        }
                        // SAFETY: every row was just written.
                        let z = unsafe { &mut *(zr as *mut [MaybeUninit<f32>] as *mut [f32]) };
                        step_gemm(p.kpacked.as_ref(), (bc, gu, d), xr, d, kernel, z, gu, true);
                        z
                    }
                    None => {
                        let z = zero_init(zr);
                        step_gemm(p.kpacked.as_ref(), (bc, gu, d), xr, d, kernel, z, gu, false);
                        z
                    }
                }
            }
            Proj::Done(all) => init_from(take(&mut c.gates[s]), rows(all, s, (b, b0, bc), gu)),
        };
        match cell {
            RnnCell::Simple | RnnCell::Lstm => {
                step_gemm(p.rpacked.as_ref(), (bc, gu, u), hmat, u, p.rkernel, z, gu, true);
            }
            RnnCell::Gru { reset_after: true } => {
                step_gemm(p.rpacked.as_ref(), (bc, gu, u), hmat, u, p.rkernel, &mut c.rec, gu, false);
                if let Some(rb) = p.rbias {
                    for row in c.rec.chunks_mut(gu) {
                        row.iter_mut().zip(rb).for_each(|(v, &bb)| *v += bb);
                    }
                }
            }
            RnnCell::Gru { reset_after: false } => {
                sgemm((bc, 2 * u, u), hmat, (u, 1), p.rkernel, (gu, 1), z, gu, true, false);
            }
        }
        if !c.pre.is_empty() && matches!(cell, RnnCell::Simple | RnnCell::Lstm) {
            c.pre[s].copy_from_slice(z);
        }
        let pre: &mut [f32] = if c.pre.is_empty() { &mut [] } else { c.pre[s] };
        let keep = !pre.is_empty();
        let (hnew, cnew): (&'a mut [f32], &'a mut [f32]) = if lstm && p.fast_lstm {
            // Every element of `h`, `c` and `tanh(c)` is written by the pass: no zero fill.
            let tc: &mut [MaybeUninit<f32>] =
                if c.tc.is_empty() { &mut c.tc_scratch[..] } else { take(&mut c.tc[s]) };
            if !lever_on(Lever::NoZeroFill) {
                for buf in [&mut *hraw, &mut *craw, &mut *tc] {
                    zero_init(buf);
                }
            }
            lstm_forward_gates(z, cprev, craw, tc, hraw, u);
            // SAFETY: `lstm_forward_gates` wrote every element of both.
            unsafe { (assume_init(hraw), assume_init(craw)) }
        } else {
            let (hnew, cnew) = (zero_init(hraw), zero_init(craw));
            match cell {
                RnnCell::Simple => {
                    map_act(act, z);
                    hnew.copy_from_slice(z);
                }
                RnnCell::Lstm => {
                    for bi in 0..bc {
                        let zr = &mut z[bi * gu..(bi + 1) * gu];
                        let (zi, rest) = zr.split_at_mut(u);
                        let (zf, rest) = rest.split_at_mut(u);
                        let (zg, zo) = rest.split_at_mut(u);
                        map_act(ract, zi);
                        map_act(ract, zf);
                        map_act(act, zg);
                        map_act(ract, zo);
                        let r = bi * u..(bi + 1) * u;
                        let (cp, cn, hn) = (&cprev[r.clone()], &mut cnew[r.clone()], &mut hnew[r]);
                        let (zi, zf, zg, zo) = (&zi[..u], &zf[..u], &zg[..u], &zo[..u]);
                        for j in 0..u {
                            let cv = zf[j] * cp[j] + zi[j] * zg[j];
                            cn[j] = cv;
                            hn[j] = zo[j] * act.f(cv);
                        }
                    }
                }
                RnnCell::Gru { reset_after: true } => {
                    let rh: &mut [f32] = c.aux[s];
                    for bi in 0..bc {
                        let zr = &mut z[bi * gu..(bi + 1) * gu];
                        let rr = &c.rec[bi * gu..(bi + 1) * gu];
                        for j in 0..u {
                            let (az, ar) = (zr[j] + rr[j], zr[u + j] + rr[u + j]);
                            let zg = ract.f(az);
                            let r = ract.f(ar);
                            rh[bi * u + j] = rr[2 * u + j];
                            let ah = zr[2 * u + j] + r * rr[2 * u + j];
                            let hh = act.f(ah);
                            if keep {
                                let o = bi * gu;
                                (pre[o + j], pre[o + u + j], pre[o + 2 * u + j]) = (az, ar, ah);
                            }
                            zr[j] = zg;
                            zr[u + j] = r;
                            zr[2 * u + j] = hh;
                            hnew[bi * u + j] = zg * hprev[bi * u + j] + (1.0 - zg) * hh;
                        }
                    }
                }
                RnnCell::Gru { reset_after: false } => {
                    let rhd: &mut [f32] = c.aux[s];
                    for bi in 0..bc {
                        let zr = &mut z[bi * gu..(bi + 1) * gu];
                        for j in 0..u {
                            if keep {
                                pre[bi * gu + j] = zr[j];
                                pre[bi * gu + u + j] = zr[u + j];
                            }
                            zr[j] = ract.f(zr[j]);
                            let r = ract.f(zr[u + j]);
                            zr[u + j] = r;
                            rhd[bi * u + j] = r * hmat[bi * u + j];
                        }
                    }
                    sgemm(
                        (bc, u, u),
                        rhd,
                        (u, 1),
                        &p.rkernel[2 * u..],
                        (gu, 1),
                        &mut z[2 * u..],
                        gu,
                        true,
                        false,
                    );
                    for bi in 0..bc {
                        let zr = &mut z[bi * gu..(bi + 1) * gu];
                        for j in 0..u {
                            if keep {
                                pre[bi * gu + 2 * u + j] = zr[2 * u + j];
                            }
                            let hh = act.f(zr[2 * u + j]);
                            zr[2 * u + j] = hh;
                            let zg = zr[j];
                            hnew[bi * u + j] = zg * hprev[bi * u + j] + (1.0 - zg) * hh;
                        }
                    }
                }
            }
            (hnew, cnew)
        };
        // Outputs (kept apart from the states only with a mask), and masked steps carrying
        // the previous state / output.
        if let Some(v) = p.valid {
            let out: &'a mut [f32] = init_from(take(&mut c.out[s]), hnew);
            for bi in 0..bc {
                if v[s * b + b0 + bi] {
                    continue;
                }
                let r = bi * u..(bi + 1) * u;
                hnew[r.clone()].copy_from_slice(&hprev[r.clone()]);
                if lstm {
                    cnew[r.clone()].copy_from_slice(&cprev[r.clone()]);
                }
                if p.opts.zero_output_for_mask || s == 0 {
                    out[r].fill(0.0);
                } else {
                    out[r.clone()].copy_from_slice(&oprev[r]);
                }
            }
            oprev = out;
        }
        hprev = hnew;
        cprev = cnew;
    }
}

/// Batch rows `b0..b0 + bc` of the backward pass: per-step gradient slices, and the
/// gradients on the initial states once the loop is done.
struct BwdChunk<'a> {
    /// The recurrent kernel transposed, `(G * U, U)` row-major, shared by all chunks: the
    /// per-step `dz @ U^T` then reads it contiguously (a strided `U^T` made the GEMM re-pack
    /// the whole kernel every step, 40% of W3 training).
    rkt: &'a [f32],
    /// The input kernel transposed, `(G * U, D)` row-major, when the input gradient is
    /// computed step by step inside the chunk (empty otherwise).
    kt: &'a [f32],
    /// [`BwdChunk::rkt`] and [`BwdChunk::kt`] packed once for the per-step products (`None`:
    /// the crate).
    rkt_packed: Option<&'a PackedB>,
    kt_packed: Option<&'a PackedB>,
    /// Rows `b0..b0 + bc` of the batch-major input gradient `(B, T, D)`, not yet initialized
    /// (empty when [`BwdChunk::kt`] is).
    dx: &'a mut [MaybeUninit<f32>],
    b0: usize,
    bc: usize,
    /// The gate gradients per step, not yet initialized: each is written whole by the
    /// chunk's step (the fast LSTM gate pass directly, the other passes after a zero fill).
    dz: Vec<&'a mut [MaybeUninit<f32>]>,
    drec: Vec<&'a mut [f32]>,
    dh: Vec<f32>,
    dc: Vec<f32>,
}

fn backward_chunk(sv: &Saved, gp: &[f32], c: &mut BwdChunk<'_>) {
    match (sv.opts.activation, sv.opts.recurrent_activation) {
        (Unary::Tanh, Unary::Sigmoid) => backward_chunk_with(TanhAct, SigmoidAct, sv, gp, c),
        (a, r) => backward_chunk_with(a, r, sv, gp, c),
    }
}

fn backward_chunk_with<A: Act, R: Act>(act: A, ract: R, sv: &Saved, gp: &[f32], c: &mut BwdChunk<'_>) {
    let (b, t, u) = (sv.b, sv.t, sv.u);
    let opts = sv.opts;
    let cell = opts.cell;
    let gu = cell.gates() * u;
    let ns = cell.num_states();
    let tout = if opts.return_sequences { t } else { 1 };
    let p = tout * u + ns * u;
    let (b0, bc) = (c.b0, c.bc);
    let sel = (b, b0, bc);
    let lu = bc * u;
    // Incoming gradients on the final states.
    let mut dh = vec![0.0f32; lu];
    let mut dc = vec![0.0f32; if ns == 2 { lu } else { 0 }];
    for bi in 0..bc {
        let row = &gp[(b0 + bi) * p..(b0 + bi + 1) * p];
        dh[bi * u..(bi + 1) * u].copy_from_slice(&row[tout * u..tout * u + u]);
        if ns == 2 {
            dc[bi * u..(bi + 1) * u].copy_from_slice(&row[tout * u + u..]);
        }
    }
    let mut dcarry = vec![0.0f32; lu];
    let mut dh_next = vec![0.0f32; lu];
    let mut dtot = vec![0.0f32; lu];
    let mut direct = vec![0.0f32; lu];
    let mut scratch = vec![0.0f32; if cell == (RnnCell::Gru { reset_after: false }) { lu } else { 0 }];
    let mut tc = vec![0.0f32; u];
    let fast_lstm = sv.fast_lstm;
    let mut tc_scratch = vec![0.0f32; if fast_lstm && sv.tc.is_empty() { lu } else { 0 }];
    let valid_at = |s: usize, bi: usize| sv.valid.as_ref().is_none_or(|v| v[s * b + b0 + bi]);
    let rd = sv.rdrop.as_ref().map(|r| &r[b0 * u..(b0 + bc) * u]);
    let d = sv.d;
    let mut dxc: Option<&mut [f32]> =
        if c.kt.is_empty() { None } else { Some(zero_init(std::mem::take(&mut c.dx))) };
    for s in (0..t).rev() {
        // Gradient reaching this step's output.
        for bi in 0..bc {
            let is_valid = valid_at(s, bi);
            let grow = &gp[(b0 + bi) * p..(b0 + bi + 1) * p];
            for j in 0..u {
                let gout = if opts.return_sequences {
                    grow[s * u + j]
                } else if s == t - 1 {
                    grow[j]
                } else {
                    0.0
                };
                let k = bi * u + j;
                let go = gout + dcarry[k];
                if is_valid {
                    dtot[k] = dh[k] + go;
                    dcarry[k] = 0.0;
                } else {
                    dtot[k] = 0.0;
                    dcarry[k] = if opts.zero_output_for_mask { 0.0 } else { go };
                }
            }
        }
        let hprev = rows(&sv.hs, s, sel, u);
        let hnew = rows(&sv.hs, s + 1, sel, u);
        let gt = rows(&sv.gates, s, sel, gu);
        // Pre-activations, or the gates again when not kept (the derivatives then ignore it).
        let pv = if sv.pre.is_empty() { gt } else { rows(&sv.pre, s, sel, gu) };
        let dzraw = std::mem::take(&mut c.dz[s]);
        let hmat: &[f32] = if sv.rdrop.is_some() { rows(&sv.hin, s, sel, u) } else { hprev };
        let dzs: &mut [f32] = if cell == RnnCell::Lstm && fast_lstm {
            let cprev = rows(&sv.cs, s, sel, u);
            let tcs: &[f32] = if sv.tc.is_empty() {
                lstm_tanh(rows(&sv.cs, s + 1, sel, u), &mut tc_scratch);
                &tc_scratch
            } else {
                rows(&sv.tc, s, sel, u)
            };
            if !lever_on(Lever::NoZeroFill) {
                zero_init(dzraw);
            }
            for bi in 0..bc {
                let r = bi * u..(bi + 1) * u;
                let dr = &mut dzraw[bi * gu..(bi + 1) * gu];
                direct[r.clone()].fill(0.0);
                if !valid_at(s, bi) {
                    // Masked row: no gate gradient; dh / dc pass through unchanged.
                    dr.fill(MaybeUninit::new(0.0));
                    continue;
                }
                let gr = &gt[bi * gu..(bi + 1) * gu];
                lstm_backward_gates(
                    gr,
                    &cprev[r.clone()],
                    &tcs[r.clone()],
                    &dtot[r.clone()],
                    &mut dc[r],
                    dr,
                    u,
                );
            }
            // SAFETY: every row was written whole, by the gate pass or as zeros.
            let dzs = unsafe { assume_init(dzraw) };
            step_gemm(c.rkt_packed, (bc, u, gu), dzs, gu, c.rkt, &mut dh_next, u, false);
            dzs
        } else {
            let dzs = zero_init(dzraw);
            match cell {
                RnnCell::Simple => {
                    for k in 0..lu {
                        dzs[k] = dtot[k] * act.d(pv[k], hnew[k]);
                        direct[k] = 0.0;
                    }
                    step_gemm(c.rkt_packed, (bc, u, gu), dzs, gu, c.rkt, &mut dh_next, u, false);
                }
                RnnCell::Lstm => {
                    let cprev = rows(&sv.cs, s, sel, u);
                    let cnew = rows(&sv.cs, s + 1, sel, u);
                    for bi in 0..bc {
                        let r = bi * u..(bi + 1) * u;
                        let dr = &mut dzs[bi * gu..(bi + 1) * gu];
                        if !valid_at(s, bi) {
                            // Masked row: no gate gradient; dh / dc pass through unchanged.
                            dr.fill(0.0);
                            direct[r].fill(0.0);
                            continue;
                        }
                        let gr = &gt[bi * gu..(bi + 1) * gu];
                        tc.iter_mut().zip(&cnew[r.clone()]).for_each(|(o, &cv)| *o = act.f(cv));
                        let pr = &pv[bi * gu..(bi + 1) * gu];
                        let (gi, rest) = gr.split_at(u);
                        let (gf, rest) = rest.split_at(u);
                        let (gg, go) = rest.split_at(u);
                        let (di, rest) = dr.split_at_mut(u);
                        let (df, rest) = rest.split_at_mut(u);
                        let (dg, dout) = rest.split_at_mut(u);
                        let (gi, gf, gg, go, dout, tcs) =
                            (&gi[..u], &gf[..u], &gg[..u], &go[..u], &mut dout[..u], &tc[..u]);
                        let cnr = &cnew[r.clone()];
                        let (dtr, dcr, cpr, dirr) =
                            (&dtot[r.clone()], &mut dc[r.clone()], &cprev[r.clone()], &mut direct[r]);
                        for j in 0..u {
                            let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
                            let tcj = tcs[j];
                            let dht = dtr[j];
                            let dct = dcr[j] + dht * o * act.d(cnr[j], tcj);
                            di[j] = dct * g * ract.d(pr[j], i);
                            df[j] = dct * cpr[j] * ract.d(pr[u + j], f);
                            dg[j] = dct * i * act.d(pr[2 * u + j], g);
                            dout[j] = dht * tcj * ract.d(pr[3 * u + j], o);
                            dirr[j] = 0.0;
                            dcr[j] = dct * f;
                        }
                    }
                    step_gemm(c.rkt_packed, (bc, u, gu), dzs, gu, c.rkt, &mut dh_next, u, false);
                }
                RnnCell::Gru { reset_after: true } => {
                    let rh = rows(&sv.aux, s, sel, u);
                    let drs: &mut [f32] = c.drec[s];
                    for bi in 0..bc {
                        let gr = &gt[bi * gu..(bi + 1) * gu];
                        let pr = &pv[bi * gu..(bi + 1) * gu];
                        for j in 0..u {
                            let k = bi * u + j;
                            let (zg, r, hh) = (gr[j], gr[u + j], gr[2 * u + j]);
                            let dht = dtot[k];
                            let dzg = dht * (hprev[k] - hh);
                            let dhh = dht * (1.0 - zg);
                            direct[k] = dht * zg;
                            let dah = dhh * act.d(pr[2 * u + j], hh);
                            let dr = dah * rh[k];
                            let daz = dzg * ract.d(pr[j], zg);
                            let dar = dr * ract.d(pr[u + j], r);
                            let o = bi * gu;
                            dzs[o + j] = daz;
                            dzs[o + u + j] = dar;
                            dzs[o + 2 * u + j] = dah;
                            drs[o + j] = daz;
                            drs[o + u + j] = dar;
                            drs[o + 2 * u + j] = dah * r;
                        }
                    }
                    step_gemm(c.rkt_packed, (bc, u, gu), drs, gu, c.rkt, &mut dh_next, u, false);
                }
                RnnCell::Gru { reset_after: false } => {
                    for bi in 0..bc {
                        let gr = &gt[bi * gu..(bi + 1) * gu];
                        for j in 0..u {
                            let k = bi * u + j;
                            let (zg, hh) = (gr[j], gr[2 * u + j]);
                            let dht = dtot[k];
                            direct[k] = dht * zg;
                            dzs[bi * gu + j] = dht * (hprev[k] - hh) * ract.d(pv[bi * gu + j], zg);
                            dzs[bi * gu + 2 * u + j] = dht * (1.0 - zg) * act.d(pv[bi * gu + 2 * u + j], hh);
                        }
                    }
                    // d(r * h_in) = da_h @ R_h^T
                    sgemm(
                        (bc, u, u),
                        &dzs[2 * u..],
                        (gu, 1),
                        &c.rkt[2 * u * u..],
                        (u, 1),
                        &mut scratch,
                        u,
                        false,
                        false,
                    );
                    for bi in 0..bc {
                        for j in 0..u {
                            let k = bi * u + j;
                            let r = gt[bi * gu + u + j];
                            let drhd = scratch[k];
                            dzs[bi * gu + u + j] = drhd * hmat[k] * ract.d(pv[bi * gu + u + j], r);
                            scratch[k] = drhd * r;
                        }
                    }
                    sgemm((bc, u, 2 * u), dzs, (gu, 1), c.rkt, (u, 1), &mut dh_next, u, false, false);
                    dh_next.iter_mut().zip(&scratch).for_each(|(a, &v)| *a += v);
                }
            }
            dzs
        };
        if let Some(dxc) = dxc.as_deref_mut() {
            // This step's input gradient `dz @ W^T`, written straight into the batch-major
            // rows (row stride `T * D`); the same sums as one GEMM over all steps
            // ([`per_step_dx`]).
            let tm = if opts.go_backwards { t - 1 - s } else { s };
            step_gemm(c.kt_packed, (bc, d, gu), dzs, gu, c.kt, &mut dxc[tm * d..], t * d, false);
        }
        if let Some(rd) = rd {
            dh_next.iter_mut().zip(rd).for_each(|(a, &m)| *a *= m);
        }
        for bi in 0..bc {
            if valid_at(s, bi) {
                // Masked rows: dz is zero (dtot was zero), dh / dc pass through unchanged.
                let r = bi * u..(bi + 1) * u;
                dh[r.clone()]
                    .iter_mut()
                    .zip(dh_next[r.clone()].iter().zip(&direct[r]))
                    .for_each(|(a, (&n, &d))| *a = n + d);
            }
        }
    }
    c.dh = dh;
    c.dc = dc;
}

fn backward(sv: &Saved, gp: &[f32], ins: &[Tensor], reset_after: bool) -> Result<Vec<Option<Tensor>>> {
    let (b, t, d, u) = (sv.b, sv.t, sv.d, sv.u);
    let opts = sv.opts;
    let cell = opts.cell;
    let gu = cell.gates() * u;
    let bu = b * u;
    let ns = cell.num_states();
    // The gate gradients: no zero fill here, each chunk initializes its rows of a step (in
    // cache) when it writes them.
    let n_dz = t * b * gu;
    let mut dz: Vec<f32> = Vec::with_capacity(n_dz);
    let mut drec = if reset_after { vec![0.0f32; t * b * gu] } else { Vec::new() };
    let mut rkt = vec![0.0f32; gu * u];
    crate::kernels::transpose::transpose(&sv.rkernel, u, gu, &mut rkt);
    // The input gradient computed per step inside the chunks where that gives the same
    // sums ([`per_step_dx`]), straight into the batch-major layout.
    let x = &ins[0];
    let step_dx = x.tracks_grad() && per_step_dx(t, b, d, gu);
    let mut kt = Vec::new();
    let mut dxv: Vec<f32> = Vec::new();
    if step_dx {
        kt = vec![0.0f32; gu * d];
        crate::kernels::transpose::transpose(&sv.kernel, d, gu, &mut kt);
        dxv.reserve_exact(b * t * d);
    }
    // GRU reset-before multiplies column blocks of `rkt` separately and keeps the crate.
    let rkt_packed =
        if cell != (RnnCell::Gru { reset_after: false }) { pack_once(&rkt, gu, u) } else { None };
    let kt_packed = if step_dx { pack_once(&kt, gu, d) } else { None };
    let (dh, dc) = {
        let sizes = chunk_sizes(b, t * b * gu * u);
        let mut zp = pieces(&mut dz.spare_capacity_mut()[..n_dz], t, gu, &sizes).into_iter();
        let mut rp = pieces(&mut drec, t, gu, &sizes).into_iter();
        let mut dx_rest: &mut [MaybeUninit<f32>] =
            if step_dx { &mut dxv.spare_capacity_mut()[..b * t * d] } else { &mut [] };
        let mut chunks = Vec::with_capacity(sizes.len());
        let mut b0 = 0;
        for &bc in &sizes {
            let (dx, rest) = std::mem::take(&mut dx_rest).split_at_mut(if step_dx { bc * t * d } else { 0 });
            dx_rest = rest;
            chunks.push(BwdChunk {
                rkt: &rkt,
                kt: &kt,
                rkt_packed: rkt_packed.as_ref(),
                kt_packed: kt_packed.as_ref(),
                dx,
                b0,
                bc,
                dz: zp.next().unwrap_or_default(),
                drec: rp.next().unwrap_or_default(),
                dh: Vec::new(),
                dc: Vec::new(),
            });
            b0 += bc;
        }
        run_chunks(&mut chunks, |c| backward_chunk(sv, gp, c));
        let dh: Vec<f32> = chunks.iter().flat_map(|c| c.dh.iter().copied()).collect();
        let dc: Vec<f32> = chunks.iter().flat_map(|c| c.dc.iter().copied()).collect();
        (dh, dc)
    };
    // SAFETY: the chunks cover all `b` rows, and each wrote its rows of every one of the `t`
    // steps of `dz` whole (the fast LSTM gate pass or masked-row zeros, else `zero_init`
    // then the gate pass) and, when `step_dx`,
    // zeroed its whole row range of `dxv` before its loop.
    unsafe {
        dz.set_len(n_dz);
        if step_dx {
            dxv.set_len(b * t * d);
        }
    }

    let dx = if step_dx {
        Some(Tensor::from_f32_unchecked(dxv, vec![b, t, d]))
    } else if x.tracks_grad() {
        let mut dxs = vec![0.0f32; t * b * d];
        mm(t * b, d, gu, &dz, Trans::No, &sv.kernel, Trans::Yes, &mut dxs, false);
        let mut dxv = vec![0.0f32; b * t * d];
        for s in 0..t {
            let tm = if opts.go_backwards { t - 1 - s } else { s };
            for bi in 0..b {
                let dst = (bi * t + tm) * d;
                dxv[dst..dst + d].copy_from_slice(&dxs[(s * b + bi) * d..(s * b + bi + 1) * d]);
            }
        }
        Some(Tensor::from_f32_unchecked(dxv, vec![b, t, d]))
    } else {
        None
    };
    // The weight gradients `dW = X^T dZ` and `dU = H^T dZ` (k = T * B, 2560 for W3): in one
    // call sharing the packing of `dZ`, or side by side, one thread each, where both are
    // wanted; see [`weight_grads_side_by_side`].
    let hm: &[f32] = if sv.rdrop.is_some() { &sv.hin } else { &sv.hs[..t * bu] };
    let kernel_grad = |parallel: bool| {
        let mut dw = vec![0.0f32; d * gu];
        weight_grad((d, gu, t * b), &sv.xs, d, &dz, gu, &mut dw, gu, parallel);
        dw
    };
    let recurrent_grad = |parallel: bool| {
        let mut dr = vec![0.0f32; u * gu];
        match cell {
            RnnCell::Simple | RnnCell::Lstm => {
                weight_grad((u, gu, t * b), hm, u, &dz, gu, &mut dr, gu, parallel);
            }
            RnnCell::Gru { reset_after: true } => {
                weight_grad((u, gu, t * b), hm, u, &drec, gu, &mut dr, gu, parallel);
            }
            RnnCell::Gru { reset_after: false } => {
                weight_grad((u, 2 * u, t * b), hm, u, &dz, gu, &mut dr, gu, parallel);
                weight_grad((u, u, t * b), &sv.aux, u, &dz[2 * u..], gu, &mut dr[2 * u..], gu, parallel);
            }
        }
        dr
    };
    let (want_k, want_r) = (ins[1].tracks_grad(), ins[2].tracks_grad());
    // Simple and LSTM cells: both products read `dZ`, whose column sums are the bias gradient.
    let shared = matches!(cell, RnnCell::Simple | RnnCell::Lstm);
    let mut db = sv.has_bias.then(|| vec![0.0f32; if reset_after { 2 * gu } else { gu }]);
    let mut bias_summed = false;
    let (dw, dr) = if want_k && want_r && weight_grads_side_by_side(d, u, gu, t * b) {
        let both = if shared {
            shared_weight_grads((d, u, gu, t * b), &sv.xs, hm, &dz, db.as_deref_mut())
        } else {
            None
        };
        let (dw, dr) = match both {
            Some((dw, dr, summed)) => {
                bias_summed = summed;
                (dw, dr)
            }
            None => rayon::join(|| kernel_grad(false), || recurrent_grad(false)),
        };
        (Some(dw), Some(dr))
    } else {
        (want_k.then(|| kernel_grad(true)), want_r.then(|| recurrent_grad(true)))
    };
    let dk = dw.map(|dw| Tensor::from_f32_unchecked(dw, vec![d, gu]));
    let drk = dr.map(|dr| Tensor::from_f32_unchecked(dr, vec![u, gu]));
    let mut grads = vec![dx, dk, drk];
    if let Some(mut db) = db {
        if !bias_summed {
            add_column_sums(&dz, gu, &mut db[..gu]);
        }
        if reset_after {
            add_column_sums(&drec, gu, &mut db[gu..]);
        }
        let shape = if reset_after { vec![2, gu] } else { vec![gu] };
        grads.push(Some(Tensor::from_f32_unchecked(db, shape)));
    }
    if sv.n_init > 0 {
        grads.push(Some(Tensor::from_f32_unchecked(dh, vec![b, u])));
        if ns == 2 {
            grads.push(Some(Tensor::from_f32_unchecked(dc, vec![b, u])));
        }
    }
    Ok(grads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    #[test]
    fn fast_activations_are_accurate() {
        let mut worst = 0.0f32;
        for i in -20000..=20000 {
            let x = i as f32 * 0.005;
            for u in [Unary::Sigmoid, Unary::Tanh] {
                worst = worst.max((fapply(u, x) - u.apply(x)).abs());
            }
            if x.abs() < 87.0 {
                let rel = (fast_exp(x) - x.exp()).abs() / x.exp();
                assert!(rel < 5e-7, "exp({x}): rel error {rel}");
            }
        }
        assert!(worst < 3e-7, "worst abs error {worst}");
        assert_eq!(fapply(Unary::Tanh, 1e3), 1.0);
        assert_eq!(fapply(Unary::Tanh, -1e3), -1.0);
        assert!(fapply(Unary::Sigmoid, -1e3).abs() < 1e-30);
        assert_eq!(fapply(Unary::Sigmoid, 1e3), 1.0);
    }

    fn t(n: usize, shape: &[usize], seed: f32, scale: f32) -> Tensor {
        Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.731).sin() * scale).collect(), shape.to_vec())
            .unwrap()
    }

    fn opts(cell: RnnCell, go_backwards: bool, return_sequences: bool) -> RnnArgs {
        RnnArgs {
            cell,
            activation: Unary::Tanh,
            recurrent_activation: Unary::Sigmoid,
            go_backwards,
            return_sequences,
            zero_output_for_mask: false,
        }
    }

    /// Sum of every output weighted differently, so one check covers all outputs.
    fn combined(outs: Vec<Tensor>) -> Result<Tensor> {
        let mut acc: Option<Tensor> = None;
        for (i, o) in outs.into_iter().enumerate() {
            let flat = o.reshape(vec![o.numel()])?;
            let s = crate::ops::scale(&crate::ops::unary(&flat, Unary::Square)?, 0.3 + i as f32)?;
            let s = crate::ops::sum_all(&crate::ops::add(&s, &flat)?)?;
            acc = Some(match acc {
                None => s,
                Some(a) => crate::ops::add(&a, &s)?,
            });
        }
        Ok(acc.expect("at least one output"))
    }

    fn check_cell(cell: RnnCell, with_mask: bool, with_drop: bool) {
        check_cell_with(cell, with_mask, with_drop, Unary::Tanh, Unary::Sigmoid);
    }

    fn check_cell_with(cell: RnnCell, with_mask: bool, with_drop: bool, act: Unary, ract: Unary) {
        let (b, tt, d, u) = (2, 3, 2, 2);
        let g = cell.gates();
        let x = t(b * tt * d, &[b, tt, d], 0.0, 1.0);
        let k = t(d * g * u, &[d, g * u], 1.0, 0.6);
        let r = t(u * g * u, &[u, g * u], 2.0, 0.6);
        let bias = match cell {
            RnnCell::Gru { reset_after: true } => t(2 * g * u, &[2, g * u], 3.0, 0.3),
            _ => t(g * u, &[g * u], 3.0, 0.3),
        };
        let h0 = t(b * u, &[b, u], 4.0, 0.5);
        let c0 = t(b * u, &[b, u], 5.0, 0.5);
        let mask = Tensor::new(vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0], [b, tt]).unwrap();
        let drop = Tensor::new(vec![2.0, 0.0, 0.0, 2.0], [b, u]).unwrap();
        for go_backwards in [false, true] {
            for return_sequences in [false, true] {
                for zero_out in [false, true] {
                    let mut o = opts(cell, go_backwards, return_sequences);
                    o.zero_output_for_mask = zero_out;
                    o.activation = act;
                    o.recurrent_activation = ract;
                    let f = |v: &[&Tensor]| {
                        let states: Vec<Tensor> = v[4..].iter().map(|s| (*s).clone()).collect();
                        let inputs = RnnInputs {
                            x: v[0],
                            kernel: v[1],
                            recurrent_kernel: v[2],
                            bias: Some(v[3]),
                            initial_state: &states,
                            mask: with_mask.then_some(&mask),
                            recurrent_dropout: with_drop.then_some(&drop),
                        };
                        combined(rnn(inputs, &o)?)
                    };
                    if cell == RnnCell::Lstm {
                        check_grad(&[&x, &k, &r, &bias, &h0, &c0], f, 2e-2);
                    } else {
                        check_grad(&[&x, &k, &r, &bias, &h0], f, 2e-2);
                    }
                }
            }
        }
    }

    #[test]
    fn simple_rnn_grads() {
        check_cell(RnnCell::Simple, false, false);
        check_cell(RnnCell::Simple, true, true);
    }

    #[test]
    fn lstm_grads() {
        check_cell(RnnCell::Lstm, false, false);
        check_cell(RnnCell::Lstm, true, false);
        check_cell(RnnCell::Lstm, false, true);
    }

    #[test]
    fn gru_reset_after_grads() {
        check_cell(RnnCell::Gru { reset_after: true }, false, false);
        check_cell(RnnCell::Gru { reset_after: true }, true, true);
    }

    #[test]
    fn gru_reset_before_grads() {
        check_cell(RnnCell::Gru { reset_after: false }, false, false);
        check_cell(RnnCell::Gru { reset_after: false }, true, true);
    }

    /// A batch big enough to be split over threads gives, row by row, the outputs and input
    /// gradients of running each row alone (one chunk), with masks and all cells.
    #[test]
    fn batch_chunks_match_single_rows() {
        let (b, tt, d, u) = (12, 8, 5, 64);
        for cell in [
            RnnCell::Simple,
            RnnCell::Lstm,
            RnnCell::Gru { reset_after: true },
            RnnCell::Gru { reset_after: false },
        ] {
            let g = cell.gates();
            let x = t(b * tt * d, &[b, tt, d], 0.0, 1.0).requiring_grad();
            let k = t(d * g * u, &[d, g * u], 1.0, 0.3);
            let r = t(u * g * u, &[u, g * u], 2.0, 0.2);
            let mask: Vec<f32> = (0..b * tt).map(|i| if (i * 7) % 5 == 0 { 0.0 } else { 1.0 }).collect();
            let mask = Tensor::new(mask, [b, tt]).unwrap();
            let run = |x: &Tensor, m: &Tensor| -> (Vec<f32>, Vec<f32>) {
                let tape = crate::autodiff::GradientTape::new();
                let o = opts(cell, true, true);
                let inputs = RnnInputs {
                    x,
                    kernel: &k,
                    recurrent_kernel: &r,
                    bias: None,
                    initial_state: &[],
                    mask: Some(m),
                    recurrent_dropout: None,
                };
                let out = rnn(inputs, &o).unwrap();
                let loss = combined(out.clone()).unwrap();
                let gx = tape.gradient(&loss, &[x]).unwrap();
                (out[0].to_f32_vec(), gx[0].as_ref().unwrap().to_f32_vec())
            };
            let (yb, gb) = run(&x, &mask);
            for bi in 0..b {
                let xi = x.detach().slice_rows(bi, bi + 1).unwrap().requiring_grad();
                let mi = mask.slice_rows(bi, bi + 1).unwrap();
                let (yi, gi) = run(&xi, &mi);
                let (ys, gs) = (&yb[bi * tt * u..(bi + 1) * tt * u], &gb[bi * tt * d..(bi + 1) * tt * d]);
                assert!(yi.iter().zip(ys).all(|(a, c)| (a - c).abs() < 1e-5), "{cell:?} row {bi} outputs");
                assert!(gi.iter().zip(gs).all(|(a, c)| (a - c).abs() < 1e-4), "{cell:?} row {bi} grads");
            }
        }
    }

    #[test]
    fn lstm_gate_passes_match_the_generic_path() {
        // Odd sizes, masked steps, initial states, both directions: the per-ISA gate passes
        // give the same outputs and gradients as the generic (monomorphized) passes.
        let (b, tt, d, u) = (5, 4, 3, 7);
        let x = t(b * tt * d, &[b, tt, d], 0.0, 1.5);
        let k = t(d * 4 * u, &[d, 4 * u], 1.0, 0.7);
        let r = t(u * 4 * u, &[u, 4 * u], 2.0, 0.7);
        let bias = t(4 * u, &[4 * u], 3.0, 0.4);
        let h0 = t(b * u, &[b, u], 4.0, 0.5);
        let c0 = t(b * u, &[b, u], 5.0, 0.5);
        let mv: Vec<f32> = (0..b * tt).map(|i| if i % 7 == 3 { 0.0 } else { 1.0 }).collect();
        let mask = Tensor::new(mv, [b, tt]).unwrap();
        for go_backwards in [false, true] {
            for return_sequences in [false, true] {
                let o = opts(RnnCell::Lstm, go_backwards, return_sequences);
                let run = |fast: bool| -> Vec<Vec<f32>> {
                    let ws: Vec<Tensor> =
                        [&x, &k, &r, &bias, &h0, &c0].iter().map(|v| v.requiring_grad()).collect();
                    let tape = crate::autodiff::GradientTape::new();
                    let inputs = RnnInputs {
                        x: &ws[0],
                        kernel: &ws[1],
                        recurrent_kernel: &ws[2],
                        bias: Some(&ws[3]),
                        initial_state: &ws[4..],
                        mask: Some(&mask),
                        recurrent_dropout: None,
                    };
                    let y = combined(rnn_with(inputs, &o, fast).unwrap()).unwrap();
                    let cot: Vec<f32> = (0..y.numel()).map(|i| ((i * 31 % 11) as f32 - 5.0) / 5.0).collect();
                    let cot = Tensor::new(cot, y.shape().to_vec()).unwrap();
                    let refs: Vec<&Tensor> = ws.iter().collect();
                    let grads = tape.gradient_with(&y, &cot, &refs).unwrap();
                    let mut all = vec![y.to_f32_vec()];
                    all.extend(grads.into_iter().map(|g| g.unwrap().to_f32_vec()));
                    all
                };
                let (fast, generic) = (run(true), run(false));
                for (a, g) in fast.iter().zip(&generic) {
                    assert_eq!(a.len(), g.len());
                    for (p, q) in a.iter().zip(g) {
                        assert!((p - q).abs() <= 1e-6 * q.abs().max(1.0), "{p} vs {q}");
                    }
                }
            }
        }
    }

    #[test]
    fn lstm_matches_a_plain_step_loop() {
        let (b, tt, d, u) = (2, 4, 3, 2);
        let x = t(b * tt * d, &[b, tt, d], 0.0, 1.0);
        let k = t(d * 4 * u, &[d, 4 * u], 1.0, 0.5);
        let r = t(u * 4 * u, &[u, 4 * u], 2.0, 0.5);
        let inputs = RnnInputs {
            x: &x,
            kernel: &k,
            recurrent_kernel: &r,
            bias: None,
            initial_state: &[],
            mask: None,
            recurrent_dropout: None,
        };
        let out = rnn(inputs, &opts(RnnCell::Lstm, false, true)).unwrap();
        let (xv, kv, rv) = (x.as_f32().unwrap(), k.as_f32().unwrap(), r.as_f32().unwrap());
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        for bi in 0..b {
            let (mut h, mut c) = (vec![0.0f32; u], vec![0.0f32; u]);
            for s in 0..tt {
                let mut z = vec![0.0f32; 4 * u];
                for (col, zc) in z.iter_mut().enumerate() {
                    for p in 0..d {
                        *zc += xv[(bi * tt + s) * d + p] * kv[p * 4 * u + col];
                    }
                    for p in 0..u {
                        *zc += h[p] * rv[p * 4 * u + col];
                    }
                }
                for j in 0..u {
                    c[j] = sig(z[u + j]) * c[j] + sig(z[j]) * z[2 * u + j].tanh();
                    h[j] = sig(z[3 * u + j]) * c[j].tanh();
                }
                let got = &out[0].as_f32().unwrap()[(bi * tt + s) * u..(bi * tt + s + 1) * u];
                for j in 0..u {
                    assert!((got[j] - h[j]).abs() < 1e-5);
                }
            }
        }
        assert_eq!(out[2].shape(), &[b, u]);
    }

    #[test]
    fn projection_with_the_bias_in_place_is_bit_identical_to_add_after() {
        // k = 600 takes the old path (gemm splits the depth there); the others start from
        // the bias rows.
        for &(rows, n, k) in &[(2560, 512, 128), (7, 12, 5), (64, 48, 512), (9, 16, 600)] {
            let x: Vec<f32> = (0..rows * k).map(|i| ((i as f32) * 0.37).sin()).collect();
            let w: Vec<f32> = (0..k * n).map(|i| ((i as f32) * 0.11 + 1.0).cos() * 0.2).collect();
            let bias: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin() * 3.0).collect();
            let got = project(&x, &w, Some(&bias), (rows, n, k));
            let mut want = vec![0.0f32; rows * n];
            mm(rows, n, k, &x, Trans::No, &w, Trans::No, &mut want, false);
            for row in want.chunks_mut(n) {
                row.iter_mut().zip(&bias).for_each(|(v, &bb)| *v += bb);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "({rows}, {n}, {k})");
            let mut plain = vec![0.0f32; rows * n];
            mm(rows, n, k, &x, Trans::No, &w, Trans::No, &mut plain, false);
            assert_eq!(bits(&project(&x, &w, None, (rows, n, k))), bits(&plain));
        }
    }

    #[test]
    fn column_sums_over_threads_are_bit_identical_to_a_row_loop() {
        for &(rows, w) in &[(2560, 512), (300, 200), (7, 12), (1000, 33)] {
            let m: Vec<f32> = (0..rows * w).map(|i| ((i as f32) * 0.37).sin() * 10.0).collect();
            let start: Vec<f32> = (0..w).map(|i| i as f32 * 0.01).collect();
            let mut want = start.clone();
            for row in m.chunks(w) {
                want.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
            let mut got = start.clone();
            add_column_sums(&m, w, &mut got);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "({rows}, {w})");
        }
    }

    /// The input gradient computed per step and chunk of rows, straight into the batch-major
    /// layout (as `backward_chunk_with` does), has the bits of the one GEMM over all steps
    /// followed by the time-major to batch-major reorder.
    #[test]
    fn per_step_input_gradient_is_bit_identical_to_one_gemm() {
        if crate::parallel::num_threads() < 2 {
            return; // one thread: the per-step path is never taken
        }
        for &(t, b, d, gu, bc) in &[(80, 32, 128, 512, 16), (9, 8, 64, 100, 4), (7, 6, 33, 300, 3)] {
            assert!(per_step_dx(t, b, d, gu), "({t}, {b}, {d}, {gu})");
            for go_backwards in [false, true] {
                let dz: Vec<f32> = (0..t * b * gu).map(|i| ((i as f32) * 0.37).sin()).collect();
                let w: Vec<f32> = (0..d * gu).map(|i| ((i as f32) * 0.11 + 1.0).cos() * 0.2).collect();
                let mut dxs = vec![0.0f32; t * b * d];
                mm(t * b, d, gu, &dz, Trans::No, &w, Trans::Yes, &mut dxs, false);
                let mut want = vec![0.0f32; b * t * d];
                for s in 0..t {
                    let tm = if go_backwards { t - 1 - s } else { s };
                    for bi in 0..b {
                        let dst = (bi * t + tm) * d;
                        want[dst..dst + d].copy_from_slice(&dxs[(s * b + bi) * d..(s * b + bi + 1) * d]);
                    }
                }
                let mut kt = vec![0.0f32; gu * d];
                crate::kernels::transpose::transpose(&w, d, gu, &mut kt);
                let mut got = vec![f32::NAN; b * t * d];
                let mut b0 = 0;
                while b0 < b {
                    let n = bc.min(b - b0);
                    let region = &mut got[b0 * t * d..(b0 + n) * t * d];
                    for s in 0..t {
                        let tm = if go_backwards { t - 1 - s } else { s };
                        let dzs = &dz[(s * b + b0) * gu..(s * b + b0 + n) * gu];
                        sgemm(
                            (n, d, gu),
                            dzs,
                            (gu, 1),
                            &kt,
                            (d, 1),
                            &mut region[tm * d..],
                            t * d,
                            false,
                            false,
                        );
                    }
                    b0 += n;
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "({t}, {b}, {d}, {gu}) backwards {go_backwards}");
            }
        }
    }

    /// End to end: the per-step input projection (forward) and input gradient (backward)
    /// give outputs and gradients with the bits of the one-GEMM paths, for every cell, both
    /// directions, both output kinds, with and without a mask, with a bias and initial states.
    #[test]
    fn weight_gradient_gemms_give_the_same_bits_on_one_thread_as_split() {
        // `weight_grads_side_by_side` runs each on one thread: W3's shape (k = 2560 spans
        // several depth blocks), a small one, and odd sizes; on the own GEMM where it runs
        // and on the crate.
        if crate::parallel::num_threads() < 2 {
            eprintln!("SKIP weight_gradient_gemms_give_the_same_bits_on_one_thread_as_split: one thread");
            return;
        }
        for crate_gemm in [false, true] {
            FORCE_CRATE_WGRAD.set(crate_gemm);
            for (m, n, k) in [(128, 512, 2560), (64, 256, 64), (100, 384, 3001)] {
                assert!(weight_grads_side_by_side(m, m, n, k), "{m} {n} {k}");
                let a = t(k * m, &[k, m], 0.5, 1.0).to_f32_vec();
                let b = t(k * n, &[k, n], 1.5, 0.7).to_f32_vec();
                let run = |parallel: bool| {
                    let mut c = vec![0.0f32; m * n];
                    weight_grad((m, n, k), &a, m, &b, n, &mut c, n, parallel);
                    c.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
                };
                assert_eq!(run(true), run(false), "{m} x {n} x {k} crate {crate_gemm}");
            }
            FORCE_CRATE_WGRAD.set(false);
        }
    }

    /// The weight gradients on the own GEMM against the crate: the same bits where both sum
    /// `k` in one chain (`k <= 256`), within float32 rounding of the sums of absolute
    /// products beyond (W3: `k = 2560`), strided operands and a column block of `c` (GRU
    /// reset-before) included.
    #[test]
    fn own_weight_gradients_match_the_crate() {
        for (m, n, k, lda, ldb, ldc) in [
            (128, 512, 2560, 128, 512, 512),
            (64, 256, 64, 64, 256, 256),
            (37, 45, 256, 40, 96, 50),
            (13, 70, 700, 13, 70, 70),
        ] {
            let a = t(k * lda, &[k, lda], 0.5, 1.0).to_f32_vec();
            let b = t(k * ldb, &[k, ldb], 1.5, 0.7).to_f32_vec();
            let run = |crate_gemm: bool| {
                FORCE_CRATE_WGRAD.set(crate_gemm);
                let mut c = vec![7.0f32; m * ldc];
                weight_grad((m, n, k), &a, lda, &b, ldb, &mut c, ldc, false);
                FORCE_CRATE_WGRAD.set(false);
                c
            };
            let (own, reference) = (run(false), run(true));
            for i in 0..m {
                for j in 0..ldc {
                    let (o, r) = (own[i * ldc + j], reference[i * ldc + j]);
                    if j >= n {
                        assert_eq!(o, 7.0, "column {j} past n written");
                        continue;
                    }
                    let abs: f32 = (0..k).map(|p| (a[p * lda + i] * b[p * ldb + j]).abs()).sum();
                    if k <= 256 {
                        assert_eq!(o.to_bits(), r.to_bits(), "({m}, {n}, {k}) at ({i}, {j})");
                    } else {
                        assert!((o - r).abs() <= 1e-6 * abs, "({m}, {n}, {k}) at ({i}, {j}): {o} vs {r}");
                    }
                }
            }
        }
    }

    /// The LSTM's kept `tanh(c)` and its gate passes without a zero fill give the bits of
    /// computing `tanh(c)` again in the backward pass over zero-filled buffers, and the own
    /// GEMM's weight gradients stay within rounding of the crate's (W3's sizes but 24 steps,
    /// with and without a mask, both directions).
    #[test]
    fn lstm_levers_keep_the_bits_of_the_paths_they_replace() {
        let (b, tt, d, u) = (32, 24, 128, 128);
        let x = t(b * tt * d, &[b, tt, d], 0.0, 0.5);
        let k = t(d * 4 * u, &[d, 4 * u], 1.0, 0.1);
        let r = t(u * 4 * u, &[u, 4 * u], 2.0, 0.1);
        let bias = t(4 * u, &[4 * u], 3.0, 0.4);
        let mv: Vec<f32> = (0..b * tt).map(|i| if i % 7 == 3 { 0.0 } else { 1.0 }).collect();
        let mask = Tensor::new(mv, [b, tt]).unwrap();
        for with_mask in [false, true] {
            for go_backwards in [false, true] {
                let o = opts(RnnCell::Lstm, go_backwards, false);
                let run = |off: u32| -> Vec<Vec<f32>> {
                    TEST_LEVERS_OFF.set(off);
                    let ws: Vec<Tensor> = [&x, &k, &r, &bias].iter().map(|v| v.requiring_grad()).collect();
                    let tape = crate::autodiff::GradientTape::new();
                    let inputs = RnnInputs {
                        x: &ws[0],
                        kernel: &ws[1],
                        recurrent_kernel: &ws[2],
                        bias: Some(&ws[3]),
                        initial_state: &[],
                        mask: with_mask.then_some(&mask),
                        recurrent_dropout: None,
                    };
                    let y = combined(rnn(inputs, &o).unwrap()).unwrap();
                    let refs: Vec<&Tensor> = ws.iter().collect();
                    let grads = tape.gradient(&y, &refs).unwrap();
                    TEST_LEVERS_OFF.set(0);
                    let mut all = vec![y.to_f32_vec()];
                    all.extend(grads.into_iter().map(|g| g.unwrap().to_f32_vec()));
                    all
                };
                let bits = |v: &[Vec<f32>]| -> Vec<Vec<u32>> {
                    v.iter().map(|x| x.iter().map(|f| f.to_bits()).collect()).collect()
                };
                let wgrad = Lever::OwnWeightGrads as u32;
                let all_off =
                    wgrad | Lever::KeptTanh as u32 | Lever::NoZeroFill as u32 | Lever::BiasInTile as u32;
                let (new, old) = (run(0), run(all_off));
                // Both weight gradients in one call: the bits of one call each; the bias
                // gradient from the packed `dZ`: the bits of the column sums.
                assert_eq!(bits(&run(Lever::SharedPacking as u32)), bits(&new), "shared packing");
                assert_eq!(bits(&run(Lever::FusedBiasGrad as u32)), bits(&new), "fused bias gradient");
                assert_eq!(bits(&run(Lever::BiasInTile as u32)), bits(&new), "bias in the tiles");
                // Without the own weight gradients, the other two levers change no bit.
                assert_eq!(bits(&run(wgrad)), bits(&old), "mask {with_mask} backwards {go_backwards}");
                // Both weight gradients on AMX (where the CPU has it): the output, input and
                // bias gradients keep their bits (the bias summed while `dZ` is packed), the
                // weight gradients within rounding of the FMA GEMM's, not its bits (the path ran).
                if crate::kernels::amx::available() {
                    TEST_FORCE_AMX.set(true);
                    let amx = run(0);
                    TEST_FORCE_AMX.set(false);
                    for (i, (p, q)) in amx.iter().zip(&new).enumerate() {
                        if i == 2 || i == 3 {
                            assert_ne!(
                                bits(std::slice::from_ref(p)),
                                bits(std::slice::from_ref(q)),
                                "AMX ran"
                            );
                            let scale = q.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                            for (a, c) in p.iter().zip(q) {
                                assert!((a - c).abs() <= 1e-5 * scale, "AMX output {i}: {a} vs {c}");
                            }
                        } else {
                            assert_eq!(
                                bits(std::slice::from_ref(p)),
                                bits(std::slice::from_ref(q)),
                                "AMX output {i}"
                            );
                        }
                    }
                    TEST_FORCE_AMX.set(true);
                    let amx_off = run(Lever::AmxWeightGrads as u32);
                    TEST_FORCE_AMX.set(false);
                    assert_eq!(bits(&amx_off), bits(&new), "amxgrad off");
                }
                // Output, input, bias gradients: the same bits; the weight gradients within rounding.
                for (i, (p, q)) in new.iter().zip(&old).enumerate() {
                    if i == 2 || i == 3 {
                        let scale = q.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                        for (a, c) in p.iter().zip(q) {
                            assert!((a - c).abs() <= 1e-5 * scale, "output {i}: {a} vs {c}");
                        }
                    } else {
                        assert_eq!(
                            bits(std::slice::from_ref(p)),
                            bits(std::slice::from_ref(q)),
                            "output {i}, mask {with_mask}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn per_step_projection_and_input_gradient_match_the_one_gemm_paths_bit_for_bit() {
        let (b, tt, d, u) = (8, 8, 64, 64);
        let mv: Vec<f32> = (0..b * tt).map(|i| if i % 7 == 3 { 0.0 } else { 1.0 }).collect();
        let mask = Tensor::new(mv, [b, tt]).unwrap();
        for cell in [
            RnnCell::Simple,
            RnnCell::Lstm,
            RnnCell::Gru { reset_after: true },
            RnnCell::Gru { reset_after: false },
        ] {
            let (g, ns) = (cell.gates(), cell.num_states());
            assert!(per_step_projection(b, d, g * u));
            if crate::parallel::num_threads() >= 2 {
                assert!(per_step_dx(tt, b, d, g * u));
            }
            let x = t(b * tt * d, &[b, tt, d], 0.0, 1.0);
            let k = t(d * g * u, &[d, g * u], 1.0, 0.3);
            let r = t(u * g * u, &[u, g * u], 2.0, 0.3);
            let reset_after = cell == RnnCell::Gru { reset_after: true };
            let bias =
                if reset_after { t(2 * g * u, &[2, g * u], 3.0, 0.4) } else { t(g * u, &[g * u], 3.0, 0.4) };
            let h0 = t(b * u, &[b, u], 4.0, 0.5);
            let c0 = t(b * u, &[b, u], 5.0, 0.5);
            for with_mask in [false, true] {
                for go_backwards in [false, true] {
                    for return_sequences in [false, true] {
                        let o = opts(cell, go_backwards, return_sequences);
                        let run = |one_gemm: bool| -> Vec<Vec<u32>> {
                            FORCE_ONE_GEMM.set(one_gemm);
                            let init: &[&Tensor] = if ns == 2 { &[&h0, &c0] } else { &[&h0] };
                            let ws: Vec<Tensor> =
                                [&x, &k, &r, &bias].iter().chain(init).map(|v| v.requiring_grad()).collect();
                            let tape = crate::autodiff::GradientTape::new();
                            let inputs = RnnInputs {
                                x: &ws[0],
                                kernel: &ws[1],
                                recurrent_kernel: &ws[2],
                                bias: Some(&ws[3]),
                                initial_state: &ws[4..],
                                mask: if with_mask { Some(&mask) } else { None },
                                recurrent_dropout: None,
                            };
                            let y = combined(rnn(inputs, &o).unwrap()).unwrap();
                            let refs: Vec<&Tensor> = ws.iter().collect();
                            let grads = tape.gradient(&y, &refs).unwrap();
                            FORCE_ONE_GEMM.set(false);
                            let mut all = vec![y.to_f32_vec()];
                            all.extend(grads.into_iter().map(|g| g.unwrap().to_f32_vec()));
                            all.iter().map(|v| v.iter().map(|f| f.to_bits()).collect()).collect()
                        };
                        assert_eq!(
                            run(false),
                            run(true),
                            "{cell:?} mask {with_mask} go_backwards {go_backwards} return_sequences {return_sequences}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let x = Tensor::ones([2, 3, 4]);
        let k = Tensor::ones([4, 8]);
        let r = Tensor::ones([2, 8]);
        let o = opts(RnnCell::Lstm, false, false);
        let mk = |x: &Tensor| {
            rnn(
                RnnInputs {
                    x,
                    kernel: &k,
                    recurrent_kernel: &r,
                    bias: None,
                    initial_state: &[],
                    mask: None,
                    recurrent_dropout: None,
                },
                &o,
            )
        };
        assert!(mk(&Tensor::ones([2, 4])).is_err());
        assert!(mk(&Tensor::ones([2, 3, 5])).is_err());
        let bad_mask = Tensor::ones([2, 2]);
        assert!(rnn(
            RnnInputs {
                x: &x,
                kernel: &k,
                recurrent_kernel: &r,
                bias: None,
                initial_state: &[],
                mask: Some(&bad_mask),
                recurrent_dropout: None
            },
            &o
        )
        .is_err());
        // Any element-wise activation runs (keeping pre-activations when needed).
        let mut o2 = o;
        o2.activation = Unary::Silu;
        assert!(rnn(
            RnnInputs {
                x: &x,
                kernel: &k,
                recurrent_kernel: &r,
                bias: None,
                initial_state: &[],
                mask: None,
                recurrent_dropout: None
            },
            &o2
        )
        .is_ok());
    }

    #[test]
    fn other_activations_grads() {
        // hard_sigmoid (derivative from its output), and functions that need the
        // pre-activation (silu, gelu, softsign, relu6), as gate and cell activations.
        let relu6 = Unary::ReluParams { negative_slope: 0.0, max_value: 6.0, threshold: 0.0 };
        for (act, ract) in [
            (Unary::Tanh, Unary::HardSigmoid),
            (Unary::Silu, Unary::HardSigmoid),
            (Unary::Gelu, Unary::Softsign),
            (relu6, Unary::Sigmoid),
        ] {
            for cell in [
                RnnCell::Simple,
                RnnCell::Lstm,
                RnnCell::Gru { reset_after: true },
                RnnCell::Gru { reset_after: false },
            ] {
                check_cell_with(cell, true, false, act, ract);
            }
        }
    }
}
