//! Batched matrix products and two-operand `einsum`, the contractions behind Keras's `Dot`,
//! attention layers and `EinsumDense`.
//!
//! `einsum` is written over differentiable pieces (sum over private indices, transpose,
//! reshape, [`batch_matmul`]), so its gradient comes from theirs.

use crate::autodiff::record;
use crate::kernels::matmul::{matmul as gemm, Trans};
use crate::ops::layout::transpose;
use crate::ops::reduce::sum_axis;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// `a @ b` over a shared batch: `a (..., m, k)` and `b (..., k, n)` with identical leading
/// dimensions give `(..., m, n)` (differentiable). Rank 2 is a plain matrix product.
pub fn batch_matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (ra, rb) = (a.rank(), b.rank());
    if ra < 2
        || ra != rb
        || a.shape()[..ra - 2] != b.shape()[..rb - 2]
        || a.shape()[ra - 1] != b.shape()[rb - 2]
    {
        bail!(
            "batch_matmul needs shapes (..., m, k) and (..., k, n), got {:?} and {:?}",
            a.shape(),
            b.shape()
        );
    }
    let batch: usize = a.shape()[..ra - 2].iter().product();
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let (av, bv) = (a.as_f32()?, b.as_f32()?);
    let mut out = vec![0.0f32; batch * m * n];
    for i in 0..batch {
        gemm(m, n, k, &av[i * m * k..], Trans::No, &bv[i * k * n..], Trans::No, &mut out[i * m * n..], false);
    }
    let mut out_shape = a.shape()[..ra - 1].to_vec();
    out_shape.push(n);
    let out = Tensor::from_f32_unchecked(out, out_shape);
    record(
        out,
        &[a, b],
        Box::new(move |g, _o, inputs| {
            let (a, b) = (&inputs[0], &inputs[1]);
            let gs = g.as_f32()?;
            let ga = if a.tracks_grad() {
                let bv = b.as_f32()?;
                let mut da = vec![0.0f32; batch * m * k];
                for i in 0..batch {
                    gemm(
                        m,
                        k,
                        n,
                        &gs[i * m * n..],
                        Trans::No,
                        &bv[i * k * n..],
                        Trans::Yes,
                        &mut da[i * m * k..],
                        false,
                    );
                }
                Some(Tensor::from_f32_unchecked(da, a.shape().to_vec()))
            } else {
                None
            };
            let gb = if b.tracks_grad() {
                let av = a.as_f32()?;
                let mut db = vec![0.0f32; batch * k * n];
                for i in 0..batch {
                    gemm(
                        k,
                        n,
                        m,
                        &av[i * m * k..],
                        Trans::Yes,
                        &gs[i * m * n..],
                        Trans::No,
                        &mut db[i * k * n..],
                        false,
                    );
                }
                Some(Tensor::from_f32_unchecked(db, b.shape().to_vec()))
            } else {
                None
            };
            Ok(vec![ga, gb])
        }),
    )
}

/// Parses `"ab,bc->ac"` into the two operand subscripts and the output subscripts (letters
/// only; no ellipsis, no repeated letter within one operand).
fn parse(equation: &str) -> Result<(Vec<char>, Vec<char>, Vec<char>)> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let Some((lhs, out)) = eq.split_once("->") else {
        bail!("einsum: equation {equation:?} needs an explicit output (`ab,bc->ac`)");
    };
    let Some((a, b)) = lhs.split_once(',') else {
        bail!("einsum: equation {equation:?} needs exactly two operands");
    };
    let (a, b, out): (Vec<char>, Vec<char>, Vec<char>) =
        (a.chars().collect(), b.chars().collect(), out.chars().collect());
    for s in [&a, &b, &out] {
        if s.iter().any(|c| !c.is_ascii_alphabetic()) {
            bail!("einsum: equation {equation:?} may only use letters (no ellipsis)");
        }
        let mut seen = s.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != s.len() {
            bail!("einsum: equation {equation:?} repeats a letter within one term");
        }
    }
    if let Some(c) = out.iter().find(|c| !a.contains(c) && !b.contains(c)) {
        bail!("einsum: output letter '{c}' of {equation:?} appears in no operand");
    }
    Ok((a, b, out))
}

/// Sums `x` (subscripts `subs`) over every letter in neither `other` nor `out`.
fn sum_private(x: &Tensor, subs: &[char], other: &[char], out: &[char]) -> Result<(Tensor, Vec<char>)> {
    let mut x = x.clone();
    let mut subs = subs.to_vec();
    let mut i = subs.len();
    while i > 0 {
        i -= 1;
        if !other.contains(&subs[i]) && !out.contains(&subs[i]) {
            x = sum_axis(&x, i as isize, false)?;
            subs.remove(i);
        }
    }
    Ok((x, subs))
}

/// Two-operand Einstein summation (`numpy.einsum("abc,cd->abd", a, b)`), differentiable.
///
/// Letters in both operands and the output are batch axes, letters in both operands only are
/// summed (contracted), letters of one operand only are kept if they are in the output and
/// summed otherwise. Sizes of shared letters must agree.
pub fn einsum(equation: &str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (sa, sb, so) = parse(equation)?;
    if sa.len() != a.rank() || sb.len() != b.rank() {
        bail!(
            "einsum: equation {equation:?} does not fit operands of shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        );
    }
    for (i, c) in sa.iter().enumerate() {
        if let Some(j) = sb.iter().position(|d| d == c) {
            if a.shape()[i] != b.shape()[j] {
                bail!(
                    "einsum: letter '{c}' of {equation:?} has size {} in the first operand and {} in the second",
                    a.shape()[i],
                    b.shape()[j]
                );
            }
        }
    }
    let (a, sa) = sum_private(a, &sa, &sb, &so)?;
    let (b, sb) = sum_private(b, &sb, &sa, &so)?;
    let size_of = |c: char| -> usize {
        match sa.iter().position(|&d| d == c) {
            Some(i) => a.shape()[i],
            None => b.shape()[sb.iter().position(|&d| d == c).unwrap_or(0)],
        }
    };
    let batch: Vec<char> = so.iter().copied().filter(|c| sa.contains(c) && sb.contains(c)).collect();
    let contract: Vec<char> = sa.iter().copied().filter(|c| sb.contains(c) && !so.contains(c)).collect();
    let free_a: Vec<char> = sa.iter().copied().filter(|c| !sb.contains(c)).collect();
    let free_b: Vec<char> = sb.iter().copied().filter(|c| !sa.contains(c)).collect();
    let pos = |subs: &[char], c: char| subs.iter().position(|&d| d == c).unwrap_or(0);
    let prod = |cs: &[char]| cs.iter().map(|&c| size_of(c)).product::<usize>();
    let (nb, nm, nk, nn) = (prod(&batch), prod(&free_a), prod(&contract), prod(&free_b));

    let perm_a: Vec<usize> = batch.iter().chain(&free_a).chain(&contract).map(|&c| pos(&sa, c)).collect();
    let perm_b: Vec<usize> = batch.iter().chain(&contract).chain(&free_b).map(|&c| pos(&sb, c)).collect();
    let a3 = transpose(&a, &perm_a)?.reshape(vec![nb, nm, nk])?;
    let b3 = transpose(&b, &perm_b)?.reshape(vec![nb, nk, nn])?;
    let prod3 = batch_matmul(&a3, &b3)?;
    let order: Vec<char> = batch.iter().chain(&free_a).chain(&free_b).copied().collect();
    let full: Vec<usize> = order.iter().map(|&c| size_of(c)).collect();
    let y = prod3.reshape(full)?;
    let perm_out: Vec<usize> = so.iter().map(|&c| pos(&order, c)).collect();
    transpose(&y, &perm_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GradientTape;

    fn t(shape: &[usize], seed: f32) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::new((0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect(), shape.to_vec()).unwrap()
    }

    /// Direct einsum by loops over every index assignment.
    fn naive(eq: &str, a: &Tensor, b: &Tensor) -> Vec<f32> {
        let (sa, sb, so) = parse(eq).unwrap();
        let mut letters: Vec<char> = sa.iter().chain(&sb).copied().collect();
        letters.sort_unstable();
        letters.dedup();
        let size = |c: char| match sa.iter().position(|&d| d == c) {
            Some(i) => a.shape()[i],
            None => b.shape()[sb.iter().position(|&d| d == c).unwrap()],
        };
        let sizes: Vec<usize> = letters.iter().map(|&c| size(c)).collect();
        let out_sizes: Vec<usize> = so.iter().map(|&c| size(c)).collect();
        let mut out = vec![0.0f32; out_sizes.iter().product()];
        let (av, bv) = (a.to_f32_vec(), b.to_f32_vec());
        let flat = |subs: &[char], dims: &[usize], idx: &dyn Fn(char) -> usize| {
            subs.iter().zip(dims).fold(0, |acc, (&c, &d)| acc * d + idx(c))
        };
        let total: usize = sizes.iter().product();
        for mut r in 0..total {
            let mut vals = vec![0; letters.len()];
            for i in (0..letters.len()).rev() {
                vals[i] = r % sizes[i];
                r /= sizes[i];
            }
            let idx = |c: char| vals[letters.iter().position(|&d| d == c).unwrap()];
            out[flat(&so, &out_sizes, &idx)] +=
                av[flat(&sa, a.shape(), &idx)] * bv[flat(&sb, b.shape(), &idx)];
        }
        out
    }

    #[test]
    fn einsum_matches_loops_for_keras_equations() {
        for (eq, sa, sb) in [
            ("abc,cd->abd", vec![2, 3, 4], vec![4, 5]),
            ("abc,cde->abde", vec![2, 3, 4], vec![4, 2, 3]),
            ("abcd,cde->abe", vec![2, 3, 2, 4], vec![2, 4, 5]),
            ("aecd,abcd->acbe", vec![2, 3, 2, 4], vec![2, 5, 2, 4]),
            ("acbe,aecd->abcd", vec![2, 2, 5, 3], vec![2, 3, 2, 4]),
            ("ab,b->a", vec![3, 4], vec![4]),
            ("abc,abd->acd", vec![2, 3, 2], vec![2, 3, 4]),
        ] {
            let (a, b) = (t(&sa, 0.0), t(&sb, 1.5));
            let y = einsum(eq, &a, &b).unwrap();
            let want = naive(eq, &a, &b);
            for (g, w) in y.to_f32_vec().iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{eq}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn einsum_gradient_matches_finite_differences() {
        let eq = "aecd,abcd->acbe";
        let a = t(&[2, 3, 2, 4], 0.0).requiring_grad();
        let b = t(&[2, 5, 2, 4], 2.0).requiring_grad();
        let w = t(&[2, 2, 5, 3], 4.0);
        let f = |a: &Tensor, b: &Tensor| -> Tensor {
            crate::ops::sum_all(&crate::ops::mul(&einsum(eq, a, b).unwrap(), &w).unwrap()).unwrap()
        };
        let tape = GradientTape::new();
        let loss = f(&a, &b);
        let g = tape.gradient(&loss, &[&a, &b]).unwrap();
        drop(tape);
        for (which, x) in [&a, &b].into_iter().enumerate() {
            let base = x.detach().to_f32_vec();
            let ga = g[which].as_ref().unwrap().to_f32_vec();
            for i in 0..base.len() {
                let eps = 1e-2;
                let mut p = base.clone();
                p[i] += eps;
                let mut m = base.clone();
                m[i] -= eps;
                let xp = Tensor::new(p, x.shape().to_vec()).unwrap();
                let xm = Tensor::new(m, x.shape().to_vec()).unwrap();
                let (lp, lm) = if which == 0 {
                    (f(&xp, &b.detach()), f(&xm, &b.detach()))
                } else {
                    (f(&a.detach(), &xp), f(&a.detach(), &xm))
                };
                let fd = (lp.item().unwrap() - lm.item().unwrap()) / (2.0 * eps);
                assert!((fd - ga[i]).abs() < 1e-2, "operand {which} [{i}]: {fd} vs {}", ga[i]);
            }
        }
    }

    #[test]
    fn bad_equations_are_errors() {
        let (a, b) = (t(&[2, 3], 0.0), t(&[3, 4], 0.0));
        assert!(einsum("ab,bc", &a, &b).is_err());
        assert!(einsum("ab->ab", &a, &b).is_err());
        assert!(einsum("ab,bc->ad", &a, &b).is_err());
        assert!(einsum("ab,cd->ad", &a, &b).is_ok());
        assert!(einsum("ab,ac->bc", &a, &b).is_err()); // a: 2 vs 3
        assert!(einsum("abc,bc->a", &a, &b).is_err());
        assert!(einsum("a.b,bc->ac", &a, &b).is_err());
        assert!(batch_matmul(&a, &a).is_err());
    }
}
