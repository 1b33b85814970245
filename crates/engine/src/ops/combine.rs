//! Differentiable ops that combine several tensors: concatenation along any axis and the
//! element-wise maximum / minimum with broadcasting. They back Keras's merging layers.

use crate::autodiff::record;
use crate::ops::elementwise::{broadcast_shapes, broadcast_to_vec, sum_to_shape};
use crate::ops::reduce::{normalize_axis, split_axis};
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Joins `parts` along `axis` (numpy `concatenate`; negative axes count from the end). Every
/// other dimension must agree. Differentiable: each part receives its slice of the gradient.
pub fn concat(parts: &[&Tensor], axis: isize) -> Result<Tensor> {
    let Some(first) = parts.first() else {
        bail!("concat: needs at least one tensor");
    };
    let rank = first.rank();
    let ax = normalize_axis(axis, rank)?;
    if rank == 0 {
        bail!("concat: cannot concatenate scalars");
    }
    for p in parts {
        let same = p.rank() == rank && (0..rank).all(|d| d == ax || p.shape()[d] == first.shape()[d]);
        if !same {
            bail!("concat: shapes {:?} and {:?} differ outside axis {ax}", first.shape(), p.shape());
        }
    }
    let lens: Vec<usize> = parts.iter().map(|p| p.shape()[ax]).collect();
    let total: usize = lens.iter().sum();
    let (outer, _, inner) = split_axis(first.shape(), ax);
    let mut out_shape = first.shape().to_vec();
    out_shape[ax] = total;
    let mut data = Vec::with_capacity(outer * total * inner);
    let slices: Vec<&[f32]> = parts.iter().map(|p| p.as_f32()).collect::<Result<_>>()?;
    for o in 0..outer {
        for (s, &len) in slices.iter().zip(&lens) {
            data.extend_from_slice(&s[o * len * inner..(o + 1) * len * inner]);
        }
    }
    let out = Tensor::from_f32_unchecked(data, out_shape);
    record(
        out,
        parts,
        Box::new(move |g, _out, inputs| {
            let gs = g.as_f32()?;
            let mut grads: Vec<Vec<f32>> =
                lens.iter().map(|&l| Vec::with_capacity(outer * l * inner)).collect();
            let mut at = 0;
            for _ in 0..outer {
                for (gi, &len) in grads.iter_mut().zip(&lens) {
                    gi.extend_from_slice(&gs[at..at + len * inner]);
                    at += len * inner;
                }
            }
            Ok(grads
                .into_iter()
                .zip(inputs)
                .map(|(d, x)| x.tracks_grad().then(|| Tensor::from_f32_unchecked(d, x.shape().to_vec())))
                .collect())
        }),
    )
}

/// Element-wise `max(a, b)` with broadcasting. The gradient goes to `a` where `a >= b` and to
/// `b` elsewhere (TensorFlow's rule, so ties match Keras's gradients).
pub fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, true)
}

/// Element-wise `min(a, b)` with broadcasting. The gradient goes to `a` where `a <= b` and to
/// `b` elsewhere (TensorFlow's rule).
pub fn minimum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    extremum(a, b, false)
}

fn extremum(a: &Tensor, b: &Tensor, max: bool) -> Result<Tensor> {
    let out_shape = broadcast_shapes(a.shape(), b.shape())?;
    let ab = broadcast_to_vec(a.as_f32()?, a.shape(), &out_shape);
    let bb = broadcast_to_vec(b.as_f32()?, b.shape(), &out_shape);
    let pick_a = move |x: f32, y: f32| if max { x >= y } else { x <= y };
    let data: Vec<f32> = ab.iter().zip(bb.iter()).map(|(&x, &y)| if pick_a(x, y) { x } else { y }).collect();
    let out = Tensor::from_f32_unchecked(data, out_shape.clone());
    record(
        out,
        &[a, b],
        Box::new(move |g, _out, inputs| {
            let (a, b) = (&inputs[0], &inputs[1]);
            let ab = broadcast_to_vec(a.as_f32()?, a.shape(), &out_shape);
            let bb = broadcast_to_vec(b.as_f32()?, b.shape(), &out_shape);
            let gs = g.as_f32()?;
            let mut ga = vec![0.0f32; gs.len()];
            let mut gb = vec![0.0f32; gs.len()];
            for i in 0..gs.len() {
                if pick_a(ab[i], bb[i]) {
                    ga[i] = gs[i];
                } else {
                    gb[i] = gs[i];
                }
            }
            let ga = Tensor::from_f32_unchecked(ga, out_shape.clone());
            let gb = Tensor::from_f32_unchecked(gb, out_shape.clone());
            Ok(vec![
                if a.tracks_grad() { Some(sum_to_shape(&ga, a.shape())?) } else { None },
                if b.tracks_grad() { Some(sum_to_shape(&gb, b.shape())?) } else { None },
            ])
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GradientTape;

    #[test]
    fn concat_middle_axis_and_gradient() {
        let a = Tensor::new((0..12).map(|v| v as f32).collect(), [2, 2, 3]).unwrap().requiring_grad();
        let b = Tensor::new((0..6).map(|v| 100.0 + v as f32).collect(), [2, 1, 3]).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let c = concat(&[&a, &b], 1).unwrap();
        assert_eq!(c.shape(), &[2, 3, 3]);
        assert_eq!(&c.to_f32_vec()[..9], &[0., 1., 2., 3., 4., 5., 100., 101., 102.]);
        let w = Tensor::new((0..18).map(|v| v as f32).collect(), [2, 3, 3]).unwrap();
        let loss = crate::ops::sum_all(&crate::ops::mul(&c, &w).unwrap()).unwrap();
        let g = tape.gradient(&loss, &[&a, &b]).unwrap();
        assert_eq!(
            g[0].as_ref().unwrap().to_f32_vec(),
            vec![0., 1., 2., 3., 4., 5., 9., 10., 11., 12., 13., 14.]
        );
        assert_eq!(g[1].as_ref().unwrap().to_f32_vec(), vec![6., 7., 8., 15., 16., 17.]);
        assert!(concat(&[&a, &b], 2).is_err());
        assert!(concat(&[], 0).is_err());
    }

    #[test]
    fn extremum_broadcasts_and_routes_gradient() {
        let a = Tensor::new(vec![1.0, 5.0, 3.0, 3.0], [2, 2]).unwrap().requiring_grad();
        let b = Tensor::new(vec![2.0, 3.0], [2]).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let m = maximum(&a, &b).unwrap();
        assert_eq!(m.to_f32_vec(), vec![2.0, 5.0, 3.0, 3.0]);
        let loss = crate::ops::sum_all(&m).unwrap();
        let g = tape.gradient(&loss, &[&a, &b]).unwrap();
        // Ties (3 vs 3) go to `a`.
        assert_eq!(g[0].as_ref().unwrap().to_f32_vec(), vec![0.0, 1.0, 1.0, 1.0]);
        assert_eq!(g[1].as_ref().unwrap().to_f32_vec(), vec![1.0, 0.0]);
        assert_eq!(minimum(&a, &b).unwrap().to_f32_vec(), vec![1.0, 3.0, 2.0, 3.0]);
    }
}
