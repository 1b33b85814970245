//! Convolution variants (differentiable): grouped / explicitly padded convolution
//! ([`conv2d_ext`]), depthwise convolution ([`depthwise_conv2d`]) and transposed
//! convolution ([`conv2d_transpose`]), all NHWC with bias and a fusable activation.

use crate::autodiff::record_owned;
use crate::kernels::conv::{self, Conv2dGeometry};
use crate::kernels::conv_ext;
use crate::ops::elementwise::Unary;
use crate::ops::linalg::pre_activation_grad;
use crate::tensor::Tensor;
use crate::{bail, EngineError, Result};

/// Spatial padding of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPadding {
    /// No padding.
    Valid,
    /// TensorFlow "same": `out = ceil(in / stride)`, extra padding at the bottom/right.
    Same,
    /// Explicit zeros `[[top, bottom], [left, right]]` (causal Conv1D: `[[0, 0], [d*(k-1), 0]]`).
    Explicit([[usize; 2]; 2]),
}

fn dims4(t: &Tensor, what: &str, layout: &str) -> Result<[usize; 4]> {
    match t.shape() {
        [a, b, c, d] => Ok([*a, *b, *c, *d]),
        s => bail!("{what} expects a 4-D {layout}, got shape {s:?}"),
    }
}

/// The geometry of a convolution with any [`ConvPadding`].
pub(crate) fn geometry(
    input: [usize; 4],
    kernel_hw: [usize; 2],
    c_out: usize,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
) -> Result<Conv2dGeometry> {
    match padding {
        ConvPadding::Valid => Conv2dGeometry::new(input, kernel_hw, c_out, strides, dilation, false),
        ConvPadding::Same => Conv2dGeometry::new(input, kernel_hw, c_out, strides, dilation, true),
        ConvPadding::Explicit(p) => {
            conv_ext::geometry_explicit(input, kernel_hw, c_out, strides, dilation, p)
        }
    }
    .map_err(EngineError::new)
}

fn check_bias(bias: Option<&Tensor>, c: usize, what: &str) -> Result<()> {
    if let Some(b) = bias {
        if b.shape() != [c] {
            bail!("{what} bias must have shape [{c}], got {:?}", b.shape());
        }
    }
    Ok(())
}

fn check_act(act: Unary, what: &str) -> Result<()> {
    if !act.invertible_derivative() {
        bail!("activation {act:?} cannot be fused into {what}; apply it separately");
    }
    Ok(())
}

/// The output values of a grouped convolution on the CPU, `epilogue` run on each block of
/// output rows while it is in cache.
pub(crate) fn grouped_values(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    g: &Conv2dGeometry,
    groups: usize,
    epilogue: &(dyn Fn(&mut [f32]) + Sync),
) -> Result<Vec<f32>> {
    let mut out = vec![0.0f32; g.output_len()];
    let bias_vals = match bias {
        Some(b) => Some(b.as_f32()?),
        None => None,
    };
    conv_ext::grouped_forward(g, groups, x.as_f32()?, kernel.as_f32()?, bias_vals, &mut out, epilogue);
    Ok(out)
}

/// Forward + gradient of a grouped convolution with a kernel stored flat as
/// `(kh, kw, c_in / groups, c_out)` (the depthwise layout `(kh, kw, c_in, dm)` is the same
/// buffer with `groups = c_in`). The kernel gradient takes the kernel tensor's shape.
fn grouped(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    g: Conv2dGeometry,
    groups: usize,
    act: Unary,
) -> Result<Tensor> {
    let epilogue = move |rows: &mut [f32]| act.apply_slice(rows);
    let out = grouped_values(x, kernel, bias, &g, groups, &epilogue)?;
    let out = Tensor::from_f32_unchecked(out, vec![g.n, g.out_h, g.out_w, g.c_out]);
    let mut inputs = vec![x, kernel];
    if let Some(b) = bias {
        inputs.push(b);
    }
    record_owned(
        out,
        &inputs,
        Box::new(move |gy, y, inputs| {
            let dpre = pre_activation_grad(gy, y, act)?;
            let dpre: &[f32] = dpre.as_f32()?;
            let (x, w) = (&inputs[0], &inputs[1]);
            let dx = if x.tracks_grad() {
                let mut dx = vec![0.0f32; g.input_len()];
                conv_ext::grouped_backward_input(&g, groups, dpre, w.as_f32()?, &mut dx);
                Some(Tensor::from_f32_unchecked(dx, x.shape().to_vec()))
            } else {
                None
            };
            let dw = if w.tracks_grad() {
                let mut dw = vec![0.0f32; w.numel()];
                conv_ext::grouped_backward_kernel(&g, groups, x.as_f32()?, dpre, &mut dw);
                Some(Tensor::from_f32_unchecked(dw, w.shape().to_vec()))
            } else {
                None
            };
            Ok(super::conv::with_bias_grad(vec![dx, dw], inputs.len() == 3, dpre, g.c_out))
        }),
    )
}

/// 2-D convolution with `groups` and any [`ConvPadding`]: NHWC input `[n, h, w, c_in]`,
/// kernel `(kh, kw, c_in / groups, c_out)` (Keras layout), optional bias `[c_out]`, and a
/// fused activation (must satisfy [`Unary::invertible_derivative`]). Group `gi` maps input
/// channels `gi * c_in/groups ..` to output channels `gi * c_out/groups ..`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_ext(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
    groups: usize,
    act: Unary,
) -> Result<Tensor> {
    let input = dims4(x, "conv2d", "input (batch, height, width, channels)")?;
    let [kh, kw, cin_g, cout] = dims4(kernel, "conv2d", "kernel (kh, kw, in / groups, out)")?;
    if groups == 0 || !input[3].is_multiple_of(groups) || !cout.is_multiple_of(groups) {
        bail!(
            "conv2d: groups={groups} must divide the input channels ({}) and the filters ({cout})",
            input[3]
        );
    }
    if cin_g * groups != input[3] {
        bail!(
            "conv2d kernel expects {} input channels ({cin_g} per group x {groups} groups), the input \
             has {} (shape {:?})",
            cin_g * groups,
            input[3],
            x.shape()
        );
    }
    check_bias(bias, cout, "conv2d")?;
    check_act(act, "conv2d")?;
    let g = geometry(input, [kh, kw], cout, strides, dilation, padding)?;
    // On a GPU, an ungrouped convolution whose padding cuDNN can express runs there (the
    // host kernels below would read the tensors back and compute on the CPU).
    #[cfg(feature = "cuda")]
    if groups == 1 {
        let mut all = vec![x, kernel];
        all.extend(bias);
        if let Some(d) = crate::tensor::cuda_of("conv2d", &all)? {
            if crate::cuda::ops::conv2d_supported(&g) {
                return crate::cuda::ops::conv2d(d, x, kernel, bias, g, act);
            }
        }
    }
    grouped(x, kernel, bias, g, groups, act)
}

/// Depthwise 2-D convolution: NHWC input `[n, h, w, c]`, kernel `(kh, kw, c, depth_multiplier)`
/// (Keras `DepthwiseConv2D`), output channel `ci * depth_multiplier + m`, optional bias
/// `[c * depth_multiplier]`, fused activation.
pub fn depthwise_conv2d(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
    act: Unary,
) -> Result<Tensor> {
    check_act(act, "depthwise_conv2d")?;
    let g = depthwise_geometry(x, kernel, bias, strides, dilation, padding)?;
    grouped(x, kernel, bias, g, g.c_in, act)
}

/// Checks the shapes of a [`depthwise_conv2d`] call and returns its geometry.
pub(crate) fn depthwise_geometry(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    padding: ConvPadding,
) -> Result<Conv2dGeometry> {
    let input = dims4(x, "depthwise_conv2d", "input (batch, height, width, channels)")?;
    let [kh, kw, c, dm] = dims4(kernel, "depthwise_conv2d", "kernel (kh, kw, in, depth_multiplier)")?;
    if c != input[3] {
        bail!("depthwise_conv2d kernel expects {c} input channels, the input has shape {:?}", x.shape());
    }
    if dm == 0 {
        bail!("depthwise_conv2d: depth_multiplier must be positive, got 0");
    }
    check_bias(bias, c * dm, "depthwise_conv2d")?;
    geometry(input, [kh, kw], c * dm, strides, dilation, padding)
}

/// Output length of a transposed convolution along one axis (Keras
/// `compute_conv_transpose_output_length`).
pub fn conv_transpose_output_len(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    same: bool,
    output_padding: Option<usize>,
) -> usize {
    let k = kernel + kernel.saturating_sub(1) * dilation.saturating_sub(1);
    match output_padding {
        None if same => input * stride,
        None => input * stride + k.saturating_sub(stride),
        Some(op) => {
            let pad = if same { k / 2 } else { 0 };
            ((input.saturating_sub(1)) * stride + k + op).saturating_sub(2 * pad)
        }
    }
}

/// 2-D transposed convolution (the input-gradient of a convolution): NHWC input
/// `[n, h, w, c_in]`, kernel `(kh, kw, filters, c_in)` (Keras `Conv2DTranspose`), optional
/// bias `[filters]`, fused activation. Output size per axis:
/// [`conv_transpose_output_len`]; padding follows TensorFlow's rules for the convolution of
/// that output back to the input. Its input gradient is the convolution forward.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_transpose(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    strides: [usize; 2],
    dilation: [usize; 2],
    same_padding: bool,
    output_padding: Option<[usize; 2]>,
    act: Unary,
) -> Result<Tensor> {
    let [n, h, w, cin] = dims4(x, "conv2d_transpose", "input (batch, height, width, channels)")?;
    let [kh, kw, filters, kin] = dims4(kernel, "conv2d_transpose", "kernel (kh, kw, filters, in)")?;
    if kin != cin {
        bail!("conv2d_transpose kernel expects {kin} input channels, the input has shape {:?}", x.shape());
    }
    check_bias(bias, filters, "conv2d_transpose")?;
    check_act(act, "conv2d_transpose")?;
    if h == 0 || w == 0 || cin == 0 || filters == 0 {
        bail!(
            "conv2d_transpose: sizes must be positive, got input {:?}, kernel {:?}",
            x.shape(),
            kernel.shape()
        );
    }
    if strides.contains(&0) || dilation.contains(&0) || kh == 0 || kw == 0 {
        bail!("conv2d_transpose: strides, dilation and kernel size must be positive");
    }
    let out_h =
        conv_transpose_output_len(h, kh, strides[0], dilation[0], same_padding, output_padding.map(|p| p[0]));
    let out_w =
        conv_transpose_output_len(w, kw, strides[1], dilation[1], same_padding, output_padding.map(|p| p[1]));
    // The convolution this op is the input-gradient of: from the output back to the input.
    let g = Conv2dGeometry::new([n, out_h, out_w, filters], [kh, kw], cin, strides, dilation, same_padding)
        .map_err(|e| EngineError::new(format!("conv2d_transpose: {e}")))?;
    if g.out_h != h || g.out_w != w {
        bail!(
            "conv2d_transpose: output size ({out_h}, {out_w}) does not map back to the input size \
             ({h}, {w}) with kernel ({kh}, {kw}), strides {strides:?} and output_padding {output_padding:?}"
        );
    }
    let mut out = vec![0.0f32; g.input_len()];
    conv::conv2d_backward_input(&g, x.as_f32()?, kernel.as_f32()?, &mut out);
    let bias_vals = match bias {
        Some(b) => Some(b.as_f32()?),
        None => None,
    };
    if filters > 0 {
        for px in out.chunks_exact_mut(filters) {
            if let Some(b) = bias_vals {
                for (v, bv) in px.iter_mut().zip(b) {
                    *v += *bv;
                }
            }
            act.apply_slice(px);
        }
    }
    let out = Tensor::from_f32_unchecked(out, vec![n, out_h, out_w, filters]);
    let mut inputs = vec![x, kernel];
    if let Some(b) = bias {
        inputs.push(b);
    }
    record_owned(
        out,
        &inputs,
        Box::new(move |gy, y, inputs| {
            let dpre = pre_activation_grad(gy, y, act)?;
            let dpre: &[f32] = dpre.as_f32()?;
            let (x, w) = (&inputs[0], &inputs[1]);
            let dx = if x.tracks_grad() {
                let mut dx = vec![0.0f32; g.output_len()];
                conv::conv2d_forward(&g, dpre, w.as_f32()?, None, &mut dx, &|_| {});
                Some(Tensor::from_f32_unchecked(dx, x.shape().to_vec()))
            } else {
                None
            };
            let dw = if w.tracks_grad() {
                let mut dw = vec![0.0f32; g.kernel_len()];
                conv::conv2d_backward_kernel(&g, dpre, x.as_f32()?, &mut dw);
                Some(Tensor::from_f32_unchecked(dw, w.shape().to_vec()))
            } else {
                None
            };
            Ok(super::conv::with_bias_grad(vec![dx, dw], inputs.len() == 3, dpre, g.c_in))
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
    fn grouped_conv_grads() {
        let x = t(&[2, 4, 5, 4], 0.0);
        let w = t(&[3, 2, 2, 6], 1.0);
        let b = t(&[6], 2.0);
        for padding in [ConvPadding::Valid, ConvPadding::Same, ConvPadding::Explicit([[0, 0], [2, 0]])] {
            for act in [Unary::Linear, Unary::Tanh] {
                check_grad(
                    &[&x, &w, &b],
                    |v| conv2d_ext(v[0], v[1], Some(v[2]), [1, 2], [1, 1], padding, 2, act),
                    2e-2,
                );
            }
        }
        // groups = 1 with causal-style explicit padding and dilation.
        let w1 = t(&[1, 3, 4, 3], 3.0);
        let x1 = t(&[2, 1, 6, 4], 4.0);
        check_grad(
            &[&x1, &w1],
            |v| {
                conv2d_ext(
                    v[0],
                    v[1],
                    None,
                    [1, 1],
                    [1, 2],
                    ConvPadding::Explicit([[0, 0], [4, 0]]),
                    1,
                    Unary::Relu,
                )
            },
            2e-2,
        );
        assert!(conv2d_ext(&x, &w, None, [1, 1], [1, 1], ConvPadding::Valid, 3, Unary::Linear).is_err());
        assert!(conv2d_ext(&x, &w, None, [1, 1], [1, 1], ConvPadding::Valid, 1, Unary::Linear).is_err());
    }

    #[test]
    fn depthwise_grads() {
        let x = t(&[2, 5, 4, 3], 0.5);
        for dm in [1, 2] {
            let w = t(&[3, 3, 3, dm], 1.5);
            let b = t(&[3 * dm], 2.5);
            for (padding, strides) in [(ConvPadding::Valid, [1, 1]), (ConvPadding::Same, [2, 2])] {
                check_grad(
                    &[&x, &w, &b],
                    |v| depthwise_conv2d(v[0], v[1], Some(v[2]), strides, [1, 1], padding, Unary::Tanh),
                    2e-2,
                );
            }
        }
        let w = t(&[3, 3, 2, 1], 0.0);
        assert!(depthwise_conv2d(&x, &w, None, [1, 1], [1, 1], ConvPadding::Valid, Unary::Linear).is_err());
    }

    #[test]
    fn transpose_shapes_and_grads() {
        let x = t(&[2, 3, 4, 3], 0.25);
        let b = t(&[2], 1.25);
        for (k, s, same, op) in [
            (3, 2, false, None),
            (3, 2, true, None),
            (2, 3, false, None),
            (1, 2, false, None),
            (3, 2, true, Some([1, 0])),
        ] {
            let w = t(&[k, k, 2, 3], 0.75);
            let y = conv2d_transpose(&x, &w, Some(&b), [s, s], [1, 1], same, op, Unary::Linear).unwrap();
            let want_h = conv_transpose_output_len(3, k, s, 1, same, op.map(|p| p[0]));
            assert_eq!(y.shape()[1], want_h);
            check_grad(
                &[&x, &w, &b],
                |v| conv2d_transpose(v[0], v[1], Some(v[2]), [s, s], [1, 1], same, op, Unary::Tanh),
                2e-2,
            );
        }
        assert_eq!(conv_transpose_output_len(4, 3, 2, 1, false, None), 9);
        assert_eq!(conv_transpose_output_len(4, 3, 2, 1, true, None), 8);
        assert_eq!(conv_transpose_output_len(4, 1, 3, 1, false, None), 12);
        let w = t(&[3, 3, 2, 4], 0.0);
        assert!(conv2d_transpose(&x, &w, None, [2, 2], [1, 1], false, None, Unary::Linear).is_err());
    }

    /// Transposed convolution is the adjoint of convolution: <conv(a), b> = <a, convT(b)>.
    #[test]
    fn transpose_is_adjoint_of_conv() {
        let w = t(&[3, 3, 2, 3], 0.1); // conv: 2 -> 3 channels; transpose: 3 -> 2.
        let a = t(&[1, 7, 7, 2], 0.2);
        let ca = crate::ops::conv2d(&a, &w, None, [2, 2], [1, 1], false, Unary::Linear).unwrap();
        let bt = t(ca.shape(), 0.3);
        let tb = conv2d_transpose(&bt, &w, None, [2, 2], [1, 1], false, None, Unary::Linear).unwrap();
        assert_eq!(tb.shape(), a.shape());
        let dot = |p: &Tensor, q: &Tensor| -> f64 {
            p.as_f32().unwrap().iter().zip(q.as_f32().unwrap()).map(|(a, b)| *a as f64 * *b as f64).sum()
        };
        assert!((dot(&ca, &bt) - dot(&a, &tb)).abs() < 1e-4);
    }
}
