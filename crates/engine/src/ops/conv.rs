//! Channels-last convolution and pooling ops (differentiable), over the NHWC kernels.

use crate::autodiff::{record_owned, record_owned_reading, Reads};
use crate::kernels::conv::{self, Conv2dGeometry};
use crate::kernels::conv_direct_grad;
use crate::kernels::pool::{self, Pool2dGeometry};
use crate::kernels::relu_bias_grad::relu_masked_bias_grad;
use crate::kernels::winograd::{self, Source};
use crate::ops::conv_ext::{geometry as conv_geometry, ConvPadding};
use crate::ops::elementwise::Unary;
use crate::ops::linalg::{pre_activation_grad, relu_grad_from_mask, relu_sign_mask};
use crate::tensor::Tensor;
use crate::{bail, EngineError, Result};

fn dims4(x: &Tensor, what: &str) -> Result<[usize; 4]> {
    match x.shape() {
        [n, h, w, c] => Ok([*n, *h, *w, *c]),
        s => bail!("{what} expects a 4-D input (batch, height, width, channels), got shape {s:?}"),
    }
}

/// Checks the shapes of a [`conv2d`] call and returns its geometry.
pub(crate) fn conv2d_geometry(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
) -> Result<Conv2dGeometry> {
    let input = dims4(x, "conv2d")?;
    let [kh, kw, cin, cout] = match kernel.shape() {
        [a, b, c, d] => [*a, *b, *c, *d],
        s => bail!("conv2d kernel must be 4-D (kh, kw, in, out), got shape {s:?}"),
    };
    if cin != input[3] {
        bail!(
            "conv2d kernel expects {cin} input channels, the input has {} (shape {:?})",
            input[3],
            x.shape()
        );
    }
    if let Some(b) = bias {
        if b.shape() != [cout] {
            bail!("conv2d bias must have shape [{cout}], got {:?}", b.shape());
        }
    }
    conv_geometry(input, [kh, kw], cout, strides, dilation, padding)
}

/// The output values of a convolution on the CPU, `epilogue` run on each block of output
/// rows while it is in cache: by Winograd F(4x4, 3x3) where it applies
/// ([`winograd::eligible`]), else by im2col + GEMM.
pub(crate) fn conv2d_values(
    g: &Conv2dGeometry,
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> Result<Vec<f32>> {
    let bias_vals = match bias {
        Some(b) => Some(b.as_f32()?),
        None => None,
    };
    Ok(if winograd::eligible(g) {
        let u = crate::ops::winograd_kernels::transformed(g, kernel)?;
        winograd::conv2d_winograd_vec(g, x.as_f32()?, &u, bias_vals, epilogue)
    } else {
        conv::conv2d_forward_vec(g, x.as_f32()?, kernel.as_f32()?, bias_vals, epilogue)
    })
}

/// The input gradient of a convolution: by Winograd as the convolution of `dy` with the
/// flipped kernel where that applies ([`winograd::backward_input_geometry`]), else col2im.
fn conv2d_input_grad(g: &Conv2dGeometry, dy: Source<'_>, w: &[f32]) -> Vec<f32> {
    match winograd::backward_input_geometry(g).filter(winograd::eligible) {
        Some(gb) => {
            let u = winograd::transform_kernel(&gb, &winograd::flipped_kernel(g.c_in, g.c_out, w));
            winograd::conv2d_winograd_from_vec(&gb, dy, &u)
        }
        None => conv::conv2d_backward_input_vec(g, &dy.values(g.n, g.out_h, g.out_w, g.c_out), w),
    }
}

/// The kernel gradient of a convolution: by Winograd where the forward pass may use it
/// ([`winograd::eligible`]), else im2col.
fn conv2d_kernel_grad(g: &Conv2dGeometry, x: &[f32], dy: Source<'_>, dw: &mut [f32]) {
    if winograd::eligible(g) {
        winograd::conv2d_winograd_backward_kernel_from(g, x, dy, dw);
    } else {
        conv::conv2d_backward_kernel(g, x, &dy.values(g.n, g.out_h, g.out_w, g.c_out), dw);
    }
}

/// 2-D convolution, NHWC input, HWIO kernel `(kh, kw, c_in, c_out)`, with the bias and an
/// activation fused into the GEMM epilogue. `same_padding` follows TensorFlow (extra
/// padding at the bottom/right). `act` must be fusable ([`Unary::invertible_derivative`]).
pub fn conv2d(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    same_padding: bool,
    act: Unary,
) -> Result<Tensor> {
    let padding = if same_padding { ConvPadding::Same } else { ConvPadding::Valid };
    let g = conv2d_geometry(x, kernel, bias, strides, dilation, padding)?;
    if !act.invertible_derivative() {
        bail!("activation {act:?} cannot be fused into conv2d; apply it separately");
    }
    #[cfg(feature = "cuda")]
    {
        let mut all = vec![x, kernel];
        all.extend(bias);
        if let Some(d) = crate::tensor::cuda_of("conv2d", &all)? {
            if crate::cuda::ops::conv2d_supported(&g) {
                return crate::cuda::ops::conv2d(d, x, kernel, bias, g, act);
            }
        }
    }
    let epilogue = move |rows: &mut [f32]| act.apply_slice(rows);
    let out = conv2d_values(&g, x, kernel, bias, &epilogue)?;
    let out = Tensor::from_f32_unchecked(out, vec![g.n, g.out_h, g.out_w, g.c_out]);
    let mut inputs = vec![x, kernel];
    if let Some(b) = bias {
        inputs.push(b);
    }
    if act == Unary::Relu && crate::autodiff::is_recording() && !out.device().is_cuda() {
        // The backward needs only the output's signs: keep those, so that the output's
        // buffer goes as soon as the next layer is done with it (a following pooling or
        // dropout keeps only its shape).
        let mask = relu_sign_mask(out.as_f32()?);
        return record_owned_reading(
            out,
            &inputs,
            Reads { output: false, input_values: true },
            Box::new(move |gy, y, inputs| {
                drop(y);
                if let Some(grads) = direct_kernel_and_bias_grads(&g, &gy, &mask, inputs)? {
                    return Ok(grads);
                }
                let (dpre, db) = relu_grad_and_bias_grad(gy, &mask, inputs.len() == 3, g.c_out)?;
                let mut grads = conv2d_grads(&g, dpre.as_f32()?, &inputs[..2])?;
                if inputs.len() == 3 {
                    grads.push(Some(match db {
                        Some(db) => Tensor::from_f32_unchecked(db, vec![g.c_out]),
                        None => bias_grad_tensor(dpre.as_f32()?, g.c_out),
                    }));
                }
                Ok(grads)
            }),
        );
    }
    record_owned(
        out,
        &inputs,
        Box::new(move |gy, y, inputs| {
            let dpre = pre_activation_grad(gy, y, act)?;
            conv2d_grads(&g, dpre.as_f32()?, inputs)
        }),
    )
}

/// [`conv2d`] with a fused ReLU followed by 2x2 max pooling with stride 2 and `valid`
/// padding ([`max_pool2d`]`(y, [2, 2], [2, 2], false)`: Keras `Conv2D(..., activation="relu")`
/// then `MaxPooling2D()`), differentiable, in one op. Where the convolution runs by
/// Winograd on the host and a tape records, the pooling is fused into its output transform:
/// the convolution's output is never written, only the pooled values and one byte per
/// pooled value (its window's winner, and whether it is above zero, which is all the ReLU's
/// and the pool's gradients read). Elsewhere the two ops run one after the other. Either way
/// the values and the gradients are bit-identical to the two ops.
///
/// ```
/// use keras_engine::ops::{conv2d_relu_maxpool2, max_pool2d, conv2d, Unary};
/// use keras_engine::Tensor;
/// let x = Tensor::new((0..16).map(|v| v as f32 - 8.0).collect::<Vec<_>>(), [1, 4, 4, 1]).unwrap();
/// let k = Tensor::new(vec![1.0], [1, 1, 1, 1]).unwrap();
/// let y = conv2d_relu_maxpool2(&x, &k, None, [1, 1], [1, 1], false).unwrap();
/// assert_eq!(y.to_f32_vec(), vec![0.0, 0.0, 5.0, 7.0]);
/// let two = max_pool2d(&conv2d(&x, &k, None, [1, 1], [1, 1], false, Unary::Relu).unwrap(), [2, 2], [2, 2], false);
/// assert_eq!(y.to_f32_vec(), two.unwrap().to_f32_vec());
/// ```
pub fn conv2d_relu_maxpool2(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    same_padding: bool,
) -> Result<Tensor> {
    let padding = if same_padding { ConvPadding::Same } else { ConvPadding::Valid };
    let g = conv2d_geometry(x, kernel, bias, strides, dilation, padding)?;
    let fused = crate::autodiff::is_recording()
        && !x.device().is_cuda()
        && !kernel.device().is_cuda()
        && winograd::eligible(&g)
        && g.out_h >= 2
        && g.out_w >= 2;
    if !fused {
        let y = conv2d(x, kernel, bias, strides, dilation, same_padding, Unary::Relu)?;
        return max_pool2d(&y, [2, 2], [2, 2], false);
    }
    let pg = pool2d_geometry([g.n, g.out_h, g.out_w, g.c_out], [2, 2], [2, 2], false)?;
    let u = crate::ops::winograd_kernels::transformed(&g, kernel)?;
    let bias_vals = bias.map(Tensor::as_f32).transpose()?;
    let relu = |rows: &mut [f32]| Unary::Relu.apply_slice(rows);
    let (out, argmax) = winograd::conv2d_winograd_maxpool2_argmax_vec(&g, x.as_f32()?, &u, bias_vals, &relu);
    let out = Tensor::from_f32_unchecked(out, vec![pg.n, pg.out_h, pg.out_w, pg.c]);
    let mut inputs = vec![x, kernel];
    inputs.extend(bias);
    record_owned_reading(
        out,
        &inputs,
        Reads { output: false, input_values: true },
        Box::new(move |gy, y, inputs| {
            drop(y);
            // The gradient before the ReLU is the pool's gradient where the winner was above
            // zero (its offset plus NOT_POSITIVE matches no position otherwise), zero
            // elsewhere: the two ops' backward bits. The Winograd passes build it where they
            // read it, from the pooled gradient and the winners (never written out).
            let dy = gy.as_f32()?;
            // The bias gradient (the full gradient's channel sums) from the pooled gradient,
            // a quarter of the full size, with the same bits.
            let db = (inputs.len() == 3).then(|| {
                let mut db = vec![0.0f32; g.c_out];
                pool::max_pool2x2_backward_channel_sums(&pg, dy, &argmax, &mut db);
                Tensor::from_f32_unchecked(db, vec![g.c_out])
            });
            let dpre = winograd::Source::PooledGrad { dy, argmax: &argmax };
            let mut grads = conv2d_input_kernel_grads(&g, dpre, &inputs[..2])?;
            grads.extend(db.map(Some));
            Ok(grads)
        }),
    )
}

/// The gradients of a ReLU convolution over an input that needs none (a model's first layer)
/// where [`conv_direct_grad`] applies: the kernel's and the bias's in one pass over the
/// output gradient `gy` and the ReLU's sign `mask`, the masked gradient never written.
/// `None` where it does not apply (the caller runs the general path).
fn direct_kernel_and_bias_grads(
    g: &Conv2dGeometry,
    gy: &Tensor,
    mask: &[u64],
    inputs: &[Tensor],
) -> Result<Option<Vec<Option<Tensor>>>> {
    let (x, w) = (&inputs[0], &inputs[1]);
    let bias_wanted = inputs.get(2).is_some_and(Tensor::tracks_grad);
    if x.tracks_grad()
        || !w.tracks_grad()
        || (inputs.len() == 3 && !bias_wanted)
        || gy.device().is_cuda()
        || !conv_direct_grad::eligible(g)
    {
        return Ok(None);
    }
    let mut dw = vec![0.0f32; g.kernel_len()];
    let mut db = bias_wanted.then(|| vec![0.0f32; g.c_out]);
    conv_direct_grad::kernel_and_bias_grads(g, x.as_f32()?, gy.as_f32()?, mask, &mut dw, db.as_deref_mut());
    let mut grads = vec![None, Some(Tensor::from_f32_unchecked(dw, w.shape().to_vec()))];
    grads.extend(db.map(|db| Some(Tensor::from_f32_unchecked(db, vec![g.c_out]))));
    Ok(Some(grads))
}

/// The gradients of a convolution's input, kernel and bias (each when wanted) from the
/// gradient `dpre` of its output before the activation.
fn conv2d_grads(g: &Conv2dGeometry, dpre: &[f32], inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
    let grads = conv2d_input_kernel_grads(g, Source::Values(dpre), &inputs[..2])?;
    Ok(with_bias_grad(grads, inputs.len() == 3, dpre, g.c_out))
}

/// The gradients of a convolution's input and kernel `inputs` (each when wanted) from the
/// gradient `dpre` of its output before the activation.
fn conv2d_input_kernel_grads(
    g: &Conv2dGeometry,
    dpre: Source<'_>,
    inputs: &[Tensor],
) -> Result<Vec<Option<Tensor>>> {
    let (x, w) = (&inputs[0], &inputs[1]);
    let dx = if x.tracks_grad() {
        let dx = conv2d_input_grad(g, dpre, w.as_f32()?);
        Some(Tensor::from_f32_unchecked(dx, x.shape().to_vec()))
    } else {
        None
    };
    let dw = if w.tracks_grad() {
        let mut dw = vec![0.0f32; g.kernel_len()];
        conv2d_kernel_grad(g, x.as_f32()?, dpre, &mut dw);
        Some(Tensor::from_f32_unchecked(dw, w.shape().to_vec()))
    } else {
        None
    };
    Ok(vec![dx, dw])
}

/// `grads` followed, when the op has a bias, by the bias gradient: `dpre`'s sums over its
/// `channels` (the last axis).
pub(crate) fn with_bias_grad(
    mut grads: Vec<Option<Tensor>>,
    has_bias: bool,
    dpre: &[f32],
    channels: usize,
) -> Vec<Option<Tensor>> {
    if has_bias {
        grads.push(Some(bias_grad_tensor(dpre, channels)));
    }
    grads
}

/// The bias gradient: `dpre`'s sums over its `channels` (the last axis).
fn bias_grad_tensor(dpre: &[f32], channels: usize) -> Tensor {
    let mut db = vec![0.0f32; channels];
    conv::bias_grad(dpre, channels, &mut db);
    Tensor::from_f32_unchecked(db, vec![channels])
}

/// A fused ReLU's gradient from its sign mask ([`relu_grad_from_mask`]) and, `with_bias`,
/// the bias gradient over the last axis of `channels`, in one pass over `gy` where
/// [`relu_masked_bias_grad`] applies (`None` for the bias then means: not computed).
fn relu_grad_and_bias_grad(
    gy: Tensor,
    mask: &[u64],
    with_bias: bool,
    channels: usize,
) -> Result<(Tensor, Option<Vec<f32>>)> {
    let mut gy = gy;
    if with_bias {
        let v = gy.f32_mut()?;
        if v.len().div_ceil(64) == mask.len() {
            let mut db = vec![0.0f32; channels];
            if relu_masked_bias_grad(v, mask, channels, &mut db) {
                return Ok((gy, Some(db)));
            }
        }
    }
    Ok((relu_grad_from_mask(gy, mask)?, None))
}

/// The output geometry of a pooling op, or an error for invalid arguments.
pub fn pool2d_geometry(
    input: [usize; 4],
    pool: [usize; 2],
    strides: [usize; 2],
    same_padding: bool,
) -> Result<Pool2dGeometry> {
    Pool2dGeometry::new(input, pool, strides, same_padding).map_err(EngineError::new)
}

/// 2-D max pooling over NHWC input (padded positions never win).
pub fn max_pool2d(x: &Tensor, pool: [usize; 2], strides: [usize; 2], same_padding: bool) -> Result<Tensor> {
    let g = pool2d_geometry(dims4(x, "max_pool2d")?, pool, strides, same_padding)?;
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("max_pool2d", &[x])? {
        return crate::cuda::ops::max_pool2d(d, x, g);
    }
    if !crate::autodiff::is_recording() || !x.tracks_grad() {
        // Nothing will differentiate this: skip the winners' positions.
        let mut out = vec![0.0f32; g.output_len()];
        pool::max_pool2d_values(&g, x.as_f32()?, &mut out);
        return Ok(Tensor::from_f32_unchecked(out, vec![g.n, g.out_h, g.out_w, g.c]));
    }
    if <u8 as pool::WindowOffset>::fits(g.ph * g.pw) {
        max_pool2d_recorded::<u8>(x, g)
    } else {
        max_pool2d_recorded::<u32>(x, g)
    }
}

/// The training path of [`max_pool2d`]: the winners are kept as window offsets of type `T`
/// (one byte each for windows of up to 256 elements) for the backward pass.
fn max_pool2d_recorded<T: pool::WindowOffset>(x: &Tensor, g: Pool2dGeometry) -> Result<Tensor> {
    let mut argmax = vec![T::default(); g.output_len()];
    let out = pool::max_pool2d_forward_vec(&g, x.as_f32()?, &mut argmax);
    let out = Tensor::from_f32_unchecked(out, vec![g.n, g.out_h, g.out_w, g.c]);
    // Neither the pooled values nor the input's are read: a relu output before this op,
    // and this op's output after the next one that reads only shapes, can go early.
    record_owned_reading(
        out,
        &[x],
        Reads { output: false, input_values: false },
        Box::new(move |gy, y, inputs| {
            // The pooled values are not needed: let them go before allocating `dx`.
            drop(y);
            let dx = pool::max_pool2d_backward_vec(&g, gy.as_f32()?, &argmax);
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

/// 2-D average pooling over NHWC input; with `same` padding each window is divided by its
/// number of valid elements (TensorFlow).
pub fn avg_pool2d(x: &Tensor, pool: [usize; 2], strides: [usize; 2], same_padding: bool) -> Result<Tensor> {
    let g = pool2d_geometry(dims4(x, "avg_pool2d")?, pool, strides, same_padding)?;
    #[cfg(feature = "cuda")]
    if let Some(d) = crate::tensor::cuda_of("avg_pool2d", &[x])? {
        return crate::cuda::ops::avg_pool2d(d, x, g);
    }
    let mut out = vec![0.0f32; g.output_len()];
    pool::avg_pool2d_forward(&g, x.as_f32()?, &mut out);
    let out = Tensor::from_f32_unchecked(out, vec![g.n, g.out_h, g.out_w, g.c]);
    // Neither the pooled values nor the input's are read: a relu output before this op,
    // and this op's output after the next one that reads only shapes, can go early.
    record_owned_reading(
        out,
        &[x],
        Reads { output: false, input_values: false },
        Box::new(move |gy, y, inputs| {
            // The pooled values are not needed: let them go before allocating `dx`.
            drop(y);
            let mut dx = vec![0.0f32; g.input_len()];
            pool::avg_pool2d_backward(&g, gy.as_f32()?, &mut dx);
            Ok(vec![Some(Tensor::from_f32_unchecked(dx, inputs[0].shape().to_vec()))])
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;

    fn t(shape: &[usize], seed: f32) -> Tensor {
        crate::testing::smooth_tensor(shape, seed)
    }

    #[test]
    fn conv2d_grads_with_fused_activation() {
        let x = t(&[2, 5, 4, 3], 0.0);
        let w = t(&[3, 2, 3, 4], 1.0);
        let b = t(&[4], 2.0);
        for (same, strides, dil) in [(false, [1, 1], [1, 1]), (true, [2, 2], [1, 1]), (true, [1, 1], [2, 1])]
        {
            for act in [Unary::Linear, Unary::Relu, Unary::Tanh] {
                check_grad(&[&x, &w, &b], |v| conv2d(v[0], v[1], Some(v[2]), strides, dil, same, act), 2e-2);
            }
        }
        assert!(conv2d(&w, &w, None, [1, 1], [1, 1], false, Unary::Linear).is_err());
        assert!(conv2d(&t(&[1, 2, 2, 3], 0.0), &w, None, [1, 1], [1, 1], false, Unary::Linear).is_err());
    }

    /// The fused op against the two ops it replaces, bit for bit in the values and in every
    /// gradient (whose finite-difference checks are `conv2d_grads_with_fused_activation` and
    /// `pooling_grads`): Winograd shapes with odd outputs (a row and a column the pool
    /// drops), both paddings, with and without bias, ReLU zeros and a NaN in the input.
    #[test]
    fn conv2d_relu_maxpool2_matches_the_two_ops() {
        use crate::autodiff::GradientTape;
        let bits = |t: &Tensor| t.to_f32_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let w = t(&[3, 3, 16, 32], 1.0);
        let b = t(&[32], 2.0);
        for (shape, same) in [([2, 15, 13, 16], false), ([1, 17, 16, 16], true)] {
            let mut xv = t(&shape, 0.1).to_f32_vec();
            xv[1234] = f32::NAN;
            let x = Tensor::new(xv, shape).unwrap();
            let g = conv2d_geometry(
                &x,
                &w,
                None,
                [1, 1],
                [1, 1],
                if same { ConvPadding::Same } else { ConvPadding::Valid },
            );
            assert!(winograd::eligible(&g.unwrap()), "the fused path runs");
            for bias in [None, Some(&b)] {
                let run = |fused: bool| {
                    let (xs, ws) = (x.requiring_grad(), w.requiring_grad());
                    let bs = bias.map(|b| b.requiring_grad());
                    let tape = GradientTape::new();
                    let y = if fused {
                        conv2d_relu_maxpool2(&xs, &ws, bs.as_ref(), [1, 1], [1, 1], same).unwrap()
                    } else {
                        let c = conv2d(&xs, &ws, bs.as_ref(), [1, 1], [1, 1], same, Unary::Relu).unwrap();
                        max_pool2d(&c, [2, 2], [2, 2], false).unwrap()
                    };
                    let weights = t(y.shape(), 3.0);
                    let loss = crate::ops::sum_all(&crate::ops::mul(&y, &weights).unwrap()).unwrap();
                    let mut wrt = vec![&xs, &ws];
                    wrt.extend(bs.as_ref());
                    let grads = tape.gradient(&loss, &wrt).unwrap();
                    let mut out = vec![bits(&y)];
                    out.extend(grads.iter().map(|g| bits(g.as_ref().unwrap())));
                    out
                };
                let (fused, two) = (run(true), run(false));
                assert_eq!(fused.len(), two.len());
                for (i, (a, b)) in fused.iter().zip(&two).enumerate() {
                    assert_eq!(
                        a,
                        b,
                        "output / gradient {i} ({shape:?}, same {same}, bias {})",
                        bias.is_some()
                    );
                }
            }
        }
        let x = t(&[1, 9, 8, 16], 0.4);
        assert!(conv2d_relu_maxpool2(&x, &t(&[3, 3, 8, 32], 0.0), None, [1, 1], [1, 1], false).is_err());
    }

    /// A first layer (its input needs no gradient) takes the one-pass kernel and bias
    /// gradients where they apply: against the same layer with the input's gradient wanted
    /// (the general path), the bias gradient bit for bit and the kernel gradient within
    /// rounding, with and without a bias and with the kernel frozen.
    #[test]
    fn first_layer_grads_match_the_general_path() {
        use crate::autodiff::GradientTape;
        let w = t(&[3, 3, 3, 32], 1.0);
        let b = t(&[32], 2.0);
        for (shape, same) in [([4, 32, 32, 3], false), ([2, 13, 17, 3], true)] {
            let x = t(&shape, 0.1);
            for bias in [None, Some(&b)] {
                // A frozen kernel with no bias leaves nothing to differentiate.
                for frozen in [false, bias.is_some()] {
                    let run = |x_grad: bool| {
                        let xs = if x_grad { x.requiring_grad() } else { x.clone() };
                        let ws = if frozen { w.clone() } else { w.requiring_grad() };
                        let bs = bias.map(|b| b.requiring_grad());
                        let tape = GradientTape::new();
                        let y = conv2d(&xs, &ws, bs.as_ref(), [1, 1], [1, 1], same, Unary::Relu).unwrap();
                        let weights = t(y.shape(), 3.0);
                        let loss = crate::ops::sum_all(&crate::ops::mul(&y, &weights).unwrap()).unwrap();
                        let mut wrt = vec![&ws];
                        wrt.extend(bs.as_ref());
                        tape.gradient(&loss, &wrt).unwrap()
                    };
                    let (direct, general) = (run(false), run(true));
                    for (i, (a, e)) in direct.iter().zip(&general).enumerate() {
                        let (a, e) = (a.as_ref().map(Tensor::to_f32_vec), e.as_ref().map(Tensor::to_f32_vec));
                        let (Some(a), Some(e)) = (a, e) else {
                            assert!(frozen && i == 0, "gradient {i} missing");
                            continue;
                        };
                        let scale = e.iter().fold(1.0f32, |m, v| m.max(v.abs()));
                        for (j, (p, q)) in a.iter().zip(&e).enumerate() {
                            if i == 1 {
                                assert_eq!(p.to_bits(), q.to_bits(), "bias gradient [{j}] ({shape:?})");
                            } else {
                                assert!((p - q).abs() <= 1e-5 * scale, "kernel gradient [{j}] {p} vs {q}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pooling_grads() {
        let x = t(&[2, 5, 5, 3], 0.3);
        for same in [false, true] {
            check_grad(&[&x], |v| max_pool2d(v[0], [2, 2], [2, 2], same), 2e-2);
            check_grad(&[&x], |v| avg_pool2d(v[0], [3, 2], [1, 2], same), 2e-2);
        }
        assert!(max_pool2d(&x, [6, 6], [1, 1], false).is_err());
    }
}
