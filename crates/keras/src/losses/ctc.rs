//! Connectionist temporal classification: the `CTC` loss (`keras.losses.ctc`,
//! `keras.ops.ctc_loss`) and `keras.ops.ctc_decode` (greedy and beam search), computed as
//! Keras's TensorFlow backend does (`tf.nn.ctc_loss`, `tf.nn.ctc_greedy_decoder`,
//! `tf.nn.ctc_beam_search_decoder`).

use serde_json::Value;

use super::classes::common_builders;
use super::kernels::{fmt_shape, needs_grad};
use super::{Loss, Reduction};
use crate::{keras_bail, Result, Tensor};

fn lse(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// `-log p(labels | logits)` for one sequence (`steps` frames of `c` logits, blank `blank`)
/// and, when asked, its gradient w.r.t. the logits (zero past `steps`).
fn ctc_one(
    logits: &[f32],
    c: usize,
    steps: usize,
    labels: &[usize],
    blank: usize,
    grad: Option<&mut [f32]>,
) -> f32 {
    // Log-softmax of every frame.
    let lp: Vec<f64> = logits[..steps * c]
        .chunks(c)
        .flat_map(|row| {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let s: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
            let lse = m + s.ln();
            row.iter().map(move |&v| v as f64 - lse)
        })
        .collect();
    // Labels with blanks around and between: blank, l1, blank, l2, ..., blank.
    let mut ext = vec![blank; 2 * labels.len() + 1];
    for (i, &l) in labels.iter().enumerate() {
        ext[2 * i + 1] = l;
    }
    let s_len = ext.len();
    let ninf = f64::NEG_INFINITY;
    if steps == 0 {
        if let Some(g) = grad {
            g.fill(0.0);
        }
        return if labels.is_empty() { 0.0 } else { f32::INFINITY };
    }
    let skip = |s: usize| s >= 2 && ext[s] != blank && ext[s] != ext[s - 2];
    let mut alpha = vec![ninf; steps * s_len];
    alpha[0] = lp[blank];
    if s_len > 1 {
        alpha[1] = lp[ext[1]];
    }
    for t in 1..steps {
        for s in 0..s_len {
            let prev = &alpha[(t - 1) * s_len..t * s_len];
            let mut a = prev[s];
            if s >= 1 {
                a = lse(a, prev[s - 1]);
            }
            if skip(s) {
                a = lse(a, prev[s - 2]);
            }
            alpha[t * s_len + s] = if a == ninf { ninf } else { a + lp[t * c + ext[s]] };
        }
    }
    let last = &alpha[(steps - 1) * s_len..];
    let log_p = if s_len > 1 { lse(last[s_len - 1], last[s_len - 2]) } else { last[0] };
    let Some(g) = grad else { return -log_p as f32 };
    g.fill(0.0);
    if log_p == ninf {
        return f32::INFINITY;
    }
    let mut beta = vec![ninf; steps * s_len];
    let t_last = steps - 1;
    beta[t_last * s_len + s_len - 1] = lp[t_last * c + blank];
    if s_len > 1 {
        beta[t_last * s_len + s_len - 2] = lp[t_last * c + ext[s_len - 2]];
    }
    for t in (0..t_last).rev() {
        for s in 0..s_len {
            let next = &beta[(t + 1) * s_len..(t + 2) * s_len];
            let mut b = next[s];
            if s + 1 < s_len {
                b = lse(b, next[s + 1]);
            }
            if s + 2 < s_len && ext[s + 2] != blank && ext[s + 2] != ext[s] {
                b = lse(b, next[s + 2]);
            }
            beta[t * s_len + s] = if b == ninf { ninf } else { b + lp[t * c + ext[s]] };
        }
    }
    // d(-log p)/dx_tk = softmax_tk - sum_{s: ext_s = k} alpha_t(s) beta_t(s) / (y_tk p).
    let mut occ = vec![ninf; c];
    for t in 0..steps {
        occ.fill(ninf);
        for s in 0..s_len {
            let v = alpha[t * s_len + s] + beta[t * s_len + s];
            occ[ext[s]] = lse(occ[ext[s]], v);
        }
        for k in 0..c {
            let y = lp[t * c + k];
            let post = if occ[k] == ninf { 0.0 } else { (occ[k] - y - log_p).exp() };
            g[t * c + k] = (y.exp() - post) as f32;
        }
    }
    -log_p as f32
}

fn lengths(t: &Tensor, what: &str, batch: usize, max: usize) -> Result<Vec<usize>> {
    if t.numel() != batch {
        keras_bail!(
            Shape,
            "`{what}` must hold one length per sample ({batch}). Received: {what}.shape={}",
            fmt_shape(t.shape())
        );
    }
    t.to_f32_vec()
        .iter()
        .map(|&v| {
            if v < 0.0 || v as usize > max {
                keras_bail!(Value, "`{what}` values must be in [0, {max}]. Received: {v}");
            }
            Ok(v as usize)
        })
        .collect()
}

/// `keras.ops.ctc_loss(target, output, target_length, output_length, mask_index=0)`: the
/// negative log-likelihood of each `target` sequence `(batch, max_label_length)` (integer
/// labels, the first `target_length` of each row) under the `output` logits
/// `(batch, max_length, num_classes)` (the first `output_length` frames), with class
/// `mask_index` as the blank. One value per sample, differentiable w.r.t. `output`.
pub fn ctc_loss(
    target: &Tensor,
    output: &Tensor,
    target_length: &Tensor,
    output_length: &Tensor,
    mask_index: i64,
) -> Result<Tensor> {
    if target.rank() != 2 {
        keras_bail!(Shape, "Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in integer format. Received: y_true.shape={}", fmt_shape(target.shape()));
    }
    if output.rank() != 3 {
        keras_bail!(Shape, "Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, num_classes)`. Received: y_pred.shape={}", fmt_shape(output.shape()));
    }
    let (b, t, c) = (output.shape()[0], output.shape()[1], output.shape()[2]);
    if target.shape()[0] != b {
        keras_bail!(
            Shape,
            "`y_true` and `y_pred` must have the same batch size. Received: y_true.shape={}, y_pred.shape={}",
            fmt_shape(target.shape()),
            fmt_shape(output.shape())
        );
    }
    let blank = if mask_index < 0 { mask_index + c as i64 } else { mask_index };
    if blank < 0 || blank >= c as i64 {
        keras_bail!(
            InvalidArgument,
            "`mask_index` must be in [-{c}, {c}). Received: mask_index={mask_index}"
        );
    }
    let lmax = target.shape()[1];
    let tl = lengths(target_length, "target_length", b, lmax)?;
    let ol = lengths(output_length, "output_length", b, t)?;
    let labels: Vec<i64> = target.to_f32_vec().iter().map(|&v| v as i32 as i64).collect();
    let x = output.as_f32()?.to_vec();
    let want_grad = needs_grad(output);
    let mut losses = vec![0.0f32; b];
    let mut grads = if want_grad { vec![0.0f32; x.len()] } else { Vec::new() };
    for i in 0..b {
        let row = &labels[i * lmax..i * lmax + tl[i]];
        if let Some(&bad) = row.iter().find(|&&l| l < 0 || l >= c as i64) {
            keras_bail!(
                Value,
                "Received a label value of {bad} which is outside the valid range of [0, {c})."
            );
        }
        let row: Vec<usize> = row.iter().map(|&l| l as usize).collect();
        let span = i * t * c..(i + 1) * t * c;
        let g = if want_grad { Some(&mut grads[span.clone()]) } else { None };
        losses[i] = ctc_one(&x[span], c, ol[i], &row, blank as usize, g);
    }
    if !want_grad {
        return Ok(Tensor::new(losses, vec![b])?);
    }
    let shape = output.shape().to_vec();
    Ok(Tensor::from_op(
        losses,
        vec![b],
        &[output],
        Box::new(move |g, _out, _inputs| {
            let gs = g.as_f32()?;
            let per = grads.len() / gs.len().max(1);
            let dx: Vec<f32> = grads.iter().enumerate().map(|(k, &v)| v * gs[k / per.max(1)]).collect();
            Ok(vec![Some(Tensor::new(dx, shape.clone())?)])
        }),
    )?)
}

/// `keras.losses.ctc(y_true, y_pred)`: [`ctc_loss`] with the blank at class 0, every frame
/// of `y_pred` used, and each label length the number of non-zero labels of its row.
pub fn ctc(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    if y_true.rank() != 2 {
        keras_bail!(Shape, "Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in integer format. Received: y_true.shape={}", fmt_shape(y_true.shape()));
    }
    if y_pred.rank() != 3 {
        keras_bail!(Shape, "Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, num_classes)`. Received: y_pred.shape={}", fmt_shape(y_pred.shape()));
    }
    let (b, t) = (y_pred.shape()[0], y_pred.shape()[1]);
    let lmax = y_true.shape()[1];
    let nonzero: Vec<f32> = y_true
        .to_f32_vec()
        .chunks(lmax.max(1))
        .take(y_true.shape()[0])
        .map(|row| row.iter().filter(|&&v| v as i32 != 0).count() as f32)
        .collect();
    let target_length = Tensor::new(nonzero, vec![y_true.shape()[0]])?;
    let output_length = Tensor::new(vec![t as f32; b], vec![b])?;
    ctc_loss(y_true, y_pred, &target_length, &output_length, 0)
}

/// `keras.losses.CTC(reduction="sum_over_batch_size", name="ctc")`: `y_true` holds label
/// sequences padded with 0 (the blank), `y_pred` logits `(batch, time, classes)`.
#[derive(Clone, Debug)]
pub struct CTC {
    name: String,
    reduction: Reduction,
}

impl CTC {
    /// Keras defaults.
    pub fn new() -> Self {
        CTC { name: "ctc".into(), reduction: Reduction::SumOverBatchSize }
    }
}
common_builders!(CTC, "ctc");

impl Loss for CTC {
    crate::losses::classes::loss_base_methods!("CTC");
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        // LossFunctionWrapper's squeeze_or_expand never applies: ranks 2 and 3 with classes > 1.
        ctc(y_true, y_pred)
    }
    fn get_config(&self) -> Value {
        serde_json::json!({"name": self.name, "reduction": self.reduction.to_config()})
    }
}

/// The decoding strategy of [`ctc_decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtcStrategy {
    /// Best path: the most likely class of each frame, repeats merged, blanks removed.
    Greedy,
    /// TensorFlow's beam search over label prefixes.
    BeamSearch,
}

/// Arguments of [`ctc_decode`], with Keras's defaults (`strategy="greedy"`, `beam_width=100`,
/// `top_paths=1`, `merge_repeated=True`, `mask_index=0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtcDecodeArgs {
    /// `strategy`.
    pub strategy: CtcStrategy,
    /// `beam_width` (beam search).
    pub beam_width: usize,
    /// `top_paths` (beam search; greedy gives one path).
    pub top_paths: usize,
    /// `merge_repeated` (greedy; beam search never merges, as `tf.nn.ctc_beam_search_decoder`).
    pub merge_repeated: bool,
    /// `mask_index`: the blank class (`None`: the last class).
    pub mask_index: Option<i64>,
}

impl Default for CtcDecodeArgs {
    fn default() -> Self {
        CtcDecodeArgs {
            strategy: CtcStrategy::Greedy,
            beam_width: 100,
            top_paths: 1,
            merge_repeated: true,
            mask_index: Some(0),
        }
    }
}

impl CtcDecodeArgs {
    /// Sets the strategy by Keras's name (`"greedy"` or `"beam_search"`).
    pub fn strategy(mut self, name: &str) -> Result<Self> {
        self.strategy = match name {
            "greedy" => CtcStrategy::Greedy,
            "beam_search" => CtcStrategy::BeamSearch,
            other => keras_bail!(
                InvalidArgument,
                "Invalid strategy {other}. Supported values are 'greedy' and 'beam_search'."
            ),
        };
        Ok(self)
    }
    crate::setters::setters! {
        /// `beam_width=`.
        beam_width: usize,
        /// `top_paths=`.
        top_paths: usize,
        /// `merge_repeated=`.
        merge_repeated: bool,
        /// `mask_index=` (`None`: the last class).
        mask_index: Option<i64>,
    }
}

/// Log-probabilities of one beam entry: `total = logsumexp(blank, label)`.
#[derive(Clone, Copy, Debug)]
struct BeamProb {
    total: f32,
    blank: f32,
    label: f32,
}

const LOG_ZERO: f32 = f32::NEG_INFINITY;

impl BeamProb {
    fn zero() -> Self {
        BeamProb { total: LOG_ZERO, blank: LOG_ZERO, label: LOG_ZERO }
    }
}

/// `LogSumExp` of TensorFlow's CTC code (float32, `log1p(exp(.))`).
fn lse32(a: f32, b: f32) -> f32 {
    if a == LOG_ZERO {
        b
    } else if b == LOG_ZERO {
        a
    } else if a > b {
        a + (b - a).exp().ln_1p()
    } else {
        b + (a - b).exp().ln_1p()
    }
}

struct Entry {
    parent: Option<usize>,
    label: usize,
    children: Vec<(usize, usize)>,
    oldp: BeamProb,
    newp: BeamProb,
}

/// TensorFlow's `CTCBeamSearchDecoder` for one sequence (blank = last class, no label
/// selection, no merging of repeats): the `top_paths` best label sequences and their log
/// probabilities (each frame log-softmax normalized).
fn beam_search_one(
    x: &[f32],
    c: usize,
    steps: usize,
    beam_width: usize,
    top_paths: usize,
) -> Result<Vec<(Vec<usize>, f32)>> {
    let blank = c - 1;
    let mut arena = vec![Entry {
        parent: None,
        label: usize::MAX,
        children: Vec::new(),
        oldp: BeamProb::zero(),
        newp: BeamProb { total: 0.0, blank: 0.0, label: LOG_ZERO },
    }];
    let mut leaves: Vec<usize> = vec![0];
    let bottom = |arena: &[Entry], leaves: &[usize]| -> usize {
        *leaves
            .iter()
            .min_by(|&&a, &&b| {
                arena[a].newp.total.partial_cmp(&arena[b].newp.total).unwrap_or(std::cmp::Ordering::Equal)
            })
            .unwrap_or(&0)
    };
    for t in 0..steps {
        let row = &x[t * c..(t + 1) * c];
        let max_coeff = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // Log-softmax offset, summed in float32 as TensorFlow does.
        let mut sum = 0.0f32;
        for &v in row {
            sum += (v - max_coeff).exp();
        }
        let norm = max_coeff + sum.ln();
        // Branches in decreasing new probability.
        let mut branches = std::mem::take(&mut leaves);
        branches.sort_by(|&a, &b| {
            arena[b].newp.total.partial_cmp(&arena[a].newp.total).unwrap_or(std::cmp::Ordering::Equal)
        });
        for &b in &branches {
            arena[b].oldp = arena[b].newp;
        }
        for &b in &branches {
            if let Some(p) = arena[b].parent {
                if arena[p].newp.total != LOG_ZERO {
                    let previous = if arena[b].label == arena[p].label {
                        arena[p].oldp.blank
                    } else {
                        arena[p].oldp.total
                    };
                    arena[b].newp.label = lse32(arena[b].newp.label, previous);
                }
                arena[b].newp.label += row[arena[b].label] - norm;
            }
            arena[b].newp.blank = arena[b].oldp.total + row[blank] - norm;
            arena[b].newp.total = lse32(arena[b].newp.blank, arena[b].newp.label);
            leaves.push(b);
        }
        for &b in &branches {
            let is_candidate = |arena: &[Entry], leaves: &[usize], total: f32| {
                total > LOG_ZERO
                    && (leaves.len() < beam_width || total > arena[bottom(arena, leaves)].newp.total)
            };
            if !is_candidate(&arena, &leaves, arena[b].oldp.total) {
                continue;
            }
            for (label, &logit) in row.iter().enumerate().take(c - 1) {
                let ci = match arena[b].children.iter().find(|(l, _)| *l == label) {
                    Some(&(_, i)) => i,
                    None => {
                        arena.push(Entry {
                            parent: Some(b),
                            label,
                            children: Vec::new(),
                            oldp: BeamProb::zero(),
                            newp: BeamProb::zero(),
                        });
                        let i = arena.len() - 1;
                        arena[b].children.push((label, i));
                        i
                    }
                };
                if arena[ci].newp.total != LOG_ZERO {
                    continue;
                }
                let previous =
                    if label == arena[b].label { arena[b].oldp.blank } else { arena[b].oldp.total };
                let lp = logit - norm + previous;
                arena[ci].newp = BeamProb { total: lp, blank: LOG_ZERO, label: lp };
                if is_candidate(&arena, &leaves, lp) {
                    if leaves.len() == beam_width {
                        // The bottom entry leaves the beam (its probability reset), the child
                        // takes its place.
                        let victim = bottom(&arena, &leaves);
                        arena[victim].newp = BeamProb::zero();
                        let pos = leaves.iter().position(|&l| l == victim).unwrap_or(0);
                        leaves[pos] = ci;
                    } else {
                        leaves.push(ci);
                    }
                } else {
                    arena[ci].oldp = BeamProb::zero();
                    arena[ci].newp = BeamProb::zero();
                }
            }
        }
    }
    if top_paths > beam_width {
        keras_bail!(InvalidArgument, "requested more paths than the beam width.");
    }
    if top_paths > leaves.len() {
        keras_bail!(InvalidArgument, "Less leaves in the beam search than requested.");
    }
    leaves.sort_by(|&a, &b| {
        arena[b].newp.total.partial_cmp(&arena[a].newp.total).unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(leaves
        .iter()
        .take(top_paths)
        .map(|&e| {
            let mut seq = Vec::new();
            let mut cur = e;
            while let Some(p) = arena[cur].parent {
                seq.push(arena[cur].label);
                cur = p;
            }
            seq.reverse();
            (seq, arena[e].newp.total)
        })
        .collect())
}

/// `keras.ops.ctc_decode(inputs, sequence_lengths, ...)`: decodes logits
/// `(batch, max_length, num_classes)` (not softmax-normalized) of which the first
/// `sequence_lengths[b]` frames count. Returns the decoded label sequences
/// `(top_paths, batch, max_length)` int32, padded with -1, and the scores: for greedy, the
/// negative sum of each frame's maximum logit `(batch, 1)`; for beam search, each path's log
/// probability `(batch, top_paths)`.
///
/// ```
/// use keras::losses::{ctc_decode, CtcDecodeArgs};
/// use keras::Tensor;
/// // Frames favour: blank, 1, 1, blank, 2 -> "1 2".
/// let mut x = vec![0.0f32; 5 * 3];
/// for (t, k) in [0usize, 1, 1, 0, 2].iter().enumerate() {
///     x[t * 3 + k] = 5.0;
/// }
/// let x = Tensor::new(x, [1, 5, 3]).unwrap();
/// let len = Tensor::from_i32(vec![5], [1]).unwrap();
/// let (decoded, _) = ctc_decode(&x, &len, CtcDecodeArgs::default()).unwrap();
/// assert_eq!(decoded.to_i64_vec(), vec![1, 2, -1, -1, -1]);
/// ```
pub fn ctc_decode(
    inputs: &Tensor,
    sequence_lengths: &Tensor,
    args: CtcDecodeArgs,
) -> Result<(Tensor, Tensor)> {
    if inputs.rank() != 3 {
        keras_bail!(
            Shape,
            "`inputs` must be (batch_size, max_length, num_classes). Received: inputs.shape={}",
            fmt_shape(inputs.shape())
        );
    }
    let (b, t, c) = (inputs.shape()[0], inputs.shape()[1], inputs.shape()[2]);
    if c == 0 {
        keras_bail!(InvalidArgument, "Invalid input dimensions: `inputs` has no classes.");
    }
    let lens = lengths(sequence_lengths, "sequence_lengths", b, t)?;
    let blank = match args.mask_index {
        None => c - 1,
        Some(m) => {
            let n = if m < 0 { m + c as i64 } else { m };
            if n < 0 || n >= c as i64 {
                keras_bail!(
                    InvalidArgument,
                    "blank_index expected to be between -{c} and {} but was {m}",
                    c - 1
                );
            }
            n as usize
        }
    };
    let x = inputs.to_f32_vec();
    match args.strategy {
        CtcStrategy::Greedy => {
            let mut decoded = vec![-1i32; b * t];
            let mut scores = vec![0.0f32; b];
            for i in 0..b {
                let mut prev: Option<usize> = None;
                let mut n = 0;
                for s in 0..lens[i] {
                    let row = &x[(i * t + s) * c..(i * t + s + 1) * c];
                    // Eigen's maxCoeff: the first maximum.
                    let (k, v) = row.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bk, bv), (k, &v)| {
                        if v > bv {
                            (k, v)
                        } else {
                            (bk, bv)
                        }
                    });
                    scores[i] -= v;
                    if k != blank && !(args.merge_repeated && prev == Some(k)) {
                        decoded[i * t + n] = k as i32;
                        n += 1;
                    }
                    prev = Some(k);
                }
            }
            Ok((Tensor::from_i32(decoded, vec![1, b, t])?, Tensor::new(scores, vec![b, 1])?))
        }
        CtcStrategy::BeamSearch => {
            if args.beam_width == 0 || args.top_paths == 0 {
                keras_bail!(
                    InvalidArgument,
                    "`beam_width` and `top_paths` must be positive. Received: beam_width={}, top_paths={}",
                    args.beam_width,
                    args.top_paths
                );
            }
            // TensorFlow's decoder wants the blank last: move it there, then shift labels back.
            let order: Vec<usize> = (0..c).filter(|&k| k != blank).chain(std::iter::once(blank)).collect();
            let p = args.top_paths;
            let mut decoded = vec![-1i32; p * b * t];
            let mut scores = vec![0.0f32; b * p];
            for i in 0..b {
                let moved: Vec<f32> = (0..t)
                    .flat_map(|s| order.iter().map(move |&k| (s, k)))
                    .map(|(s, k)| x[(i * t + s) * c + k])
                    .collect();
                let paths = beam_search_one(&moved, c, lens[i], args.beam_width, p)?;
                for (j, (seq, score)) in paths.into_iter().enumerate() {
                    scores[i * p + j] = score;
                    for (n, l) in seq.into_iter().enumerate() {
                        decoded[(j * b + i) * t + n] = order[l] as i32;
                    }
                }
            }
            Ok((Tensor::from_i32(decoded, vec![p, b, t])?, Tensor::new(scores, vec![b, p])?))
        }
    }
}
