//! Inference-only fused ops: a convolution whose output rows go through a folded
//! BatchNormalization and an activation while they are still in cache, instead of three
//! passes over memory (TensorFlow's remapper fuses Conv2D + FusedBatchNorm + Relu the same
//! way), and a residual sum with the activation after it ([`add_activation`]). The results
//! are bit-identical to the separate ops. These ops record no gradient: call them only
//! outside a [`crate::autodiff::GradientTape`] (training uses the separate, differentiable
//! ops).

use crate::kernels::simd::multiversion;
use crate::kernels::winograd;
use crate::ops::conv::{conv2d_geometry, conv2d_values, max_pool2d};
use crate::ops::conv_ext::{conv2d_ext, depthwise_conv2d, depthwise_geometry, grouped_values, ConvPadding};
use crate::ops::elementwise::{unary, Unary};
use crate::ops::norm::batch_norm_inference;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// BatchNormalization at inference as a per-channel affine map,
/// `y = (x - mean) * k + shift` with `k = gamma / sqrt(variance + epsilon)` and
/// `shift = beta` (the same expression [`batch_norm_inference`] evaluates).
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelNorm {
    mean: Vec<f32>,
    variance: Vec<f32>,
    gamma: Option<Vec<f32>>,
    beta: Option<Vec<f32>>,
    epsilon: f32,
    k: Vec<f32>,
    shift: Vec<f32>,
}

impl ChannelNorm {
    /// The map of a BatchNormalization with these statistics and (optional) scale and
    /// offset; every slice has one value per channel.
    ///
    /// ```
    /// use keras_engine::ops::ChannelNorm;
    /// let norm = ChannelNorm::new(&[1.0], &[3.0], Some(&[2.0]), Some(&[0.5]), 1.0).unwrap();
    /// let mut y = [5.0f32];
    /// norm.apply_rows(&mut y);
    /// assert_eq!(y, [(5.0 - 1.0) * (1.0 / 2.0) * 2.0 + 0.5]);
    /// ```
    pub fn new(
        mean: &[f32],
        variance: &[f32],
        gamma: Option<&[f32]>,
        beta: Option<&[f32]>,
        epsilon: f32,
    ) -> Result<Self> {
        let c = mean.len();
        let bad = |p: Option<&[f32]>| p.is_some_and(|p| p.len() != c);
        if variance.len() != c || bad(gamma) || bad(beta) {
            bail!(
                "batch_norm: statistics of {c} and {} values, gamma of {:?} and beta of {:?}",
                variance.len(),
                gamma.map(<[f32]>::len),
                beta.map(<[f32]>::len)
            );
        }
        let k =
            (0..c).map(|ch| (1.0 / (variance[ch] + epsilon).sqrt()) * gamma.map_or(1.0, |g| g[ch])).collect();
        let shift = (0..c).map(|ch| beta.map_or(0.0, |b| b[ch])).collect();
        Ok(ChannelNorm {
            mean: mean.to_vec(),
            variance: variance.to_vec(),
            gamma: gamma.map(<[f32]>::to_vec),
            beta: beta.map(<[f32]>::to_vec),
            epsilon,
            k,
            shift,
        })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// Applies the map in place to whole rows of [`ChannelNorm::channels`] values (channels
    /// last).
    pub fn apply_rows(&self, ys: &mut [f32]) {
        norm_rows(ys, &self.mean, &self.k, &self.shift);
    }

    /// Writes the map of `src` into `dst`, both whole rows of channels (channels last).
    pub(crate) fn map_rows(&self, dst: &mut [f32], src: &[f32]) {
        norm_rows_into(dst, src, &self.mean, &self.k, &self.shift);
    }

    /// Writes the map of one channel plane `src` (channel `ch`, channels first) into `dst`.
    pub(crate) fn map_plane(&self, ch: usize, dst: &mut [f32], src: &[f32]) {
        plane_affine(dst, src, self.mean[ch], self.k[ch], self.shift[ch]);
    }

    /// The same normalization as a differentiable-free tensor op (the composed fallback).
    fn apply_tensor(&self, y: &Tensor) -> Result<Tensor> {
        let (g, b) = (self.gamma.as_ref(), self.beta.as_ref());
        let c = self.channels();
        let gamma = g.map(|g| Tensor::new(g.clone(), [c])).transpose()?;
        let beta = b.map(|b| Tensor::new(b.clone(), [c])).transpose()?;
        batch_norm_inference(y, -1, &self.mean, &self.variance, gamma.as_ref(), beta.as_ref(), self.epsilon)
    }
}

multiversion! {
    fn norm_rows(ys: &mut [f32], mean: &[f32], k: &[f32], shift: &[f32]) {
        let c = mean.len();
        let (k, shift) = (&k[..c], &shift[..c]);
        for row in ys.chunks_exact_mut(c) {
            for (((y, m), k), b) in row.iter_mut().zip(mean).zip(k).zip(shift) {
                *y = (*y - m) * k + b;
            }
        }
    }
}

multiversion! {
    fn norm_rows_into(dst: &mut [f32], src: &[f32], mean: &[f32], k: &[f32], shift: &[f32]) {
        let c = mean.len();
        let (k, shift) = (&k[..c], &shift[..c]);
        for (d, s) in dst.chunks_exact_mut(c).zip(src.chunks_exact(c)) {
            for ((((y, x), m), k), b) in d.iter_mut().zip(s).zip(mean).zip(k).zip(shift) {
                *y = (x - m) * k + b;
            }
        }
    }
}

multiversion! {
    fn plane_affine(dst: &mut [f32], src: &[f32], m: f32, k: f32, b: f32) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = (s - m) * k + b;
        }
    }
}

/// What runs on a convolution's output rows at inference: an optional folded
/// BatchNormalization, then an element-wise activation (any [`Unary`]: no derivative is
/// needed at inference).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvEpilogue {
    /// The normalization over the output channels, if any.
    pub norm: Option<ChannelNorm>,
    /// The activation applied last.
    pub act: Unary,
}

impl ConvEpilogue {
    fn check(&self, c_out: usize, what: &str) -> Result<()> {
        match &self.norm {
            Some(n) if n.channels() != c_out => {
                bail!("{what}: a normalization of {} channels after {c_out} filters", n.channels())
            }
            _ => Ok(()),
        }
    }

    fn run(&self, rows: &mut [f32]) {
        if let Some(n) = &self.norm {
            n.apply_rows(rows);
        }
        self.act.apply_slice(rows);
    }

    /// The composed ops (GPU tensors: the device runs each op).
    fn compose(&self, y: Tensor) -> Result<Tensor> {
        let y = match &self.norm {
            Some(n) => n.apply_tensor(&y)?,
            None => y,
        };
        if self.act == Unary::Linear {
            Ok(y)
        } else {
            unary(&y, self.act)
        }
    }
}

/// [`crate::ops::conv2d`] (any [`ConvPadding`]) followed by `epilogue` (a folded BatchNormalization and an activation), in
/// one pass over the output. Inference only: no gradient is recorded.
///
/// ```
/// use keras_engine::ops::{conv2d_inference, ChannelNorm, ConvEpilogue, ConvPadding, Unary};
/// use keras_engine::Tensor;
/// let x = Tensor::new(vec![1.0, -2.0, 3.0, -4.0], [1, 2, 2, 1]).unwrap();
/// let k = Tensor::new(vec![1.0], [1, 1, 1, 1]).unwrap();
/// let norm = ChannelNorm::new(&[0.0], &[1.0], None, Some(&[1.0]), 0.0).unwrap();
/// let epi = ConvEpilogue { norm: Some(norm), act: Unary::Relu };
/// let y = conv2d_inference(&x, &k, None, [1, 1], [1, 1], ConvPadding::Valid, &epi).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![2.0, 0.0, 4.0, 0.0]);
/// ```
pub fn conv2d_inference(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
    epilogue: &ConvEpilogue,
) -> Result<Tensor> {
    let g = conv2d_geometry(x, kernel, bias, strides, dilation, padding)?;
    epilogue.check(g.c_out, "conv2d_inference")?;
    if !on_host(&[x, kernel]) {
        let y = conv2d_ext(x, kernel, bias, strides, dilation, padding, 1, Unary::Linear)?;
        return epilogue.compose(y);
    }
    let out = conv2d_values(&g, x, kernel, bias, &|rows: &mut [f32]| epilogue.run(rows))?;
    Tensor::new(out, [g.n, g.out_h, g.out_w, g.c_out])
}

/// [`conv2d_inference`] followed by 2x2 max pooling with stride 2 and `valid` padding
/// (Keras `Conv2D(..., activation=...)` then `MaxPooling2D()`), for inference. Where the
/// convolution runs by Winograd ([`winograd::eligible`]) the pooling is fused into its
/// output transform and only the pooled output is written; elsewhere (and on a device) the
/// two ops run one after the other. Either way the values are bit-identical to the two
/// ops. No gradient is recorded.
///
/// ```
/// use keras_engine::ops::{conv2d_maxpool2_inference, ConvEpilogue, ConvPadding, Unary};
/// use keras_engine::Tensor;
/// let x = Tensor::new((0..16).map(|v| v as f32 - 8.0).collect::<Vec<_>>(), [1, 4, 4, 1]).unwrap();
/// let k = Tensor::new(vec![1.0], [1, 1, 1, 1]).unwrap();
/// let epi = ConvEpilogue { norm: None, act: Unary::Relu };
/// let y = conv2d_maxpool2_inference(&x, &k, None, [1, 1], [1, 1], ConvPadding::Valid, &epi).unwrap();
/// assert_eq!(y.shape(), &[1, 2, 2, 1]);
/// assert_eq!(y.to_f32_vec(), vec![0.0, 0.0, 5.0, 7.0]);
/// ```
pub fn conv2d_maxpool2_inference(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
    epilogue: &ConvEpilogue,
) -> Result<Tensor> {
    let g = conv2d_geometry(x, kernel, bias, strides, dilation, padding)?;
    epilogue.check(g.c_out, "conv2d_maxpool2_inference")?;
    if !on_host(&[x, kernel]) || !winograd::eligible(&g) || g.out_h < 2 || g.out_w < 2 {
        let y = conv2d_inference(x, kernel, bias, strides, dilation, padding, epilogue)?;
        return max_pool2d(&y, [2, 2], [2, 2], false);
    }
    let u = crate::ops::winograd_kernels::transformed(&g, kernel)?;
    let bias = bias.map(Tensor::as_f32).transpose()?;
    let (ph, pw) = (g.out_h / 2, g.out_w / 2);
    let out = winograd::conv2d_winograd_maxpool2_vec(&g, x.as_f32()?, &u, bias, &|rows: &mut [f32]| {
        epilogue.run(rows)
    });
    Tensor::new(out, [g.n, ph, pw, g.c_out])
}

/// [`depthwise_conv2d`] followed by `epilogue`, in one pass over the output. Inference only:
/// no gradient is recorded.
pub fn depthwise_conv2d_inference(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
    epilogue: &ConvEpilogue,
) -> Result<Tensor> {
    let g = depthwise_geometry(x, kernel, bias, strides, dilation, padding)?;
    epilogue.check(g.c_out, "depthwise_conv2d_inference")?;
    if !on_host(&[x, kernel]) {
        let y = depthwise_conv2d(x, kernel, bias, strides, dilation, padding, Unary::Linear)?;
        return epilogue.compose(y);
    }
    let out = grouped_values(x, kernel, bias, &g, g.c_in, &|rows: &mut [f32]| epilogue.run(rows))?;
    Tensor::new(out, [g.n, g.out_h, g.out_w, g.c_out])
}

/// Whether every tensor is on the host (the fused CPU kernels apply).
fn on_host(ts: &[&Tensor]) -> bool {
    #[cfg(feature = "cuda")]
    {
        !matches!(crate::tensor::cuda_of("inference", ts), Ok(Some(_)))
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = ts;
        true
    }
}

/// `act(a + b)` for two tensors of one shape, in one pass (a residual connection and the
/// activation after it, as in ResNet). Inference only: no gradient is recorded.
///
/// ```
/// use keras_engine::ops::{add_activation, Unary};
/// use keras_engine::Tensor;
/// let a = Tensor::new(vec![1.0, -3.0], [2]).unwrap();
/// let b = Tensor::new(vec![0.5, 1.0], [2]).unwrap();
/// assert_eq!(add_activation(&a, &b, Unary::Relu).unwrap().to_f32_vec(), vec![1.5, 0.0]);
/// ```
pub fn add_activation(a: &Tensor, b: &Tensor, act: Unary) -> Result<Tensor> {
    if a.shape() != b.shape() {
        bail!("add_activation needs two tensors of one shape, got {:?} and {:?}", a.shape(), b.shape());
    }
    if !on_host(&[a, b]) {
        return unary(&crate::ops::add(a, b)?, act);
    }
    let (xa, xb) = (a.as_f32()?, b.as_f32()?);
    let mut out = vec![0.0f32; xa.len()];
    let chunk = |((o, x), y): ((&mut [f32], &[f32]), &[f32])| {
        add_into(o, x, y);
        act.apply_slice(o);
    };
    if xa.len() >= crate::parallel::ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        out.par_chunks_mut(ADD_BLOCK)
            .zip(xa.par_chunks(ADD_BLOCK))
            .zip(xb.par_chunks(ADD_BLOCK))
            .for_each(chunk);
    } else {
        out.chunks_mut(ADD_BLOCK).zip(xa.chunks(ADD_BLOCK)).zip(xb.chunks(ADD_BLOCK)).for_each(chunk);
    }
    Tensor::new(out, a.shape().to_vec())
}

/// Values per block of [`add_activation`]: the sum is activated while it is in L1.
const ADD_BLOCK: usize = 4096;

multiversion! {
    fn add_into(out: &mut [f32], a: &[f32], b: &[f32]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x + y;
        }
    }
}
