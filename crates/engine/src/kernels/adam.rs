//! The Adam update of one variable (or one piece of it), in place, in one multiversioned pass.
//!
//! Keras's Adam (`keras/src/optimizers/adam.py`), per element, in this order:
//! `x = w - w * wd * lr` (decoupled weight decay, AdamW), `m += (g - m) * (1 - beta_1)`,
//! `v += (g * g - v) * (1 - beta_2)`, with AMSGrad `v_hat = max(v_hat, v)`, then
//! `w = x - (m * alpha) / (sqrt(v or v_hat) + epsilon)` where
//! `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`. Every version `multiversion!`
//! compiles runs these float32 operations in this order, so the result is bit-identical to a
//! scalar loop on any CPU.
//!
//! Subnormal momenta: a weight whose gradient stays zero (a dead ReLU unit) sees its `m` decay
//! by `beta_1` each step into the subnormal range, where it stops at a few units of the
//! smallest subnormal (`m * (1 - beta_1)` rounds to zero). Intel cores run every vector
//! multiply or divide that meets a subnormal through a microcode assist (~100+ cycles), so
//! after a few hundred steps such momenta made W2's Adam pass 5-15x slower on an Intel Xeon
//! (BENCHMARKS.md, "Intel Xeon, thirteenth session"). Those "stuck" lanes are computed here
//! with `m` replaced by a zero of its sign, and those still decaying are emulated in integer
//! units of `2^-149`: the same bits without a subnormal operand (see `block_lane`).
//!
//! ```
//! use keras_engine::kernels::adam::{adam_update, AdamStep};
//! let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 0, None);
//! let (mut w, g) = (vec![1.0f32; 3], vec![0.5f32; 3]);
//! let (mut m, mut v) = (vec![0.0f32; 3], vec![0.0f32; 3]);
//! adam_update(&mut w, &g, &mut m, &mut v, None, &h);
//! assert!(w[0] < 1.0 && m[0] > 0.0 && v[0] > 0.0);
//! ```

use crate::kernels::simd::multiversion;

/// The per-step constants of one Adam update, in float32 as Keras computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    pub alpha: f32,
    /// `1 - beta_1`.
    pub one_minus_beta_1: f32,
    /// `1 - beta_2`.
    pub one_minus_beta_2: f32,
    /// `epsilon`.
    pub epsilon: f32,
    /// Decoupled weight decay `(weight_decay, lr)`: `w - w * weight_decay * lr` first.
    pub decay: Option<(f32, f32)>,
}

impl AdamStep {
    /// The constants of the step after `iterations` updates (`t = iterations + 1`) with
    /// learning rate `lr`; `beta_1`, `beta_2` and `epsilon` as the optimizer holds them.
    pub fn new(lr: f32, beta_1: f64, beta_2: f64, epsilon: f64, iterations: u64, decay: Option<f32>) -> Self {
        let t = (iterations + 1) as f32;
        let b1p = (beta_1 as f32).powf(t);
        let b2p = (beta_2 as f32).powf(t);
        AdamStep {
            alpha: lr * (1.0 - b2p).sqrt() / (1.0 - b1p),
            one_minus_beta_1: (1.0 - beta_1) as f32,
            one_minus_beta_2: (1.0 - beta_2) as f32,
            epsilon: epsilon as f32,
            decay: decay.map(|wd| (wd, lr)),
        }
    }
}

/// Updates `var`, `m` and `v` (and `v_hat` for AMSGrad) in place with the gradient `grad`.
/// All slices have the length of `var` (extra elements of longer ones are left alone).
///
/// # Panics
/// If a slice is shorter than `var` (a caller bug).
pub fn adam_update(
    var: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_hat: Option<&mut [f32]>,
    h: &AdamStep,
) {
    let n = var.len();
    assert!(
        grad.len() >= n && m.len() >= n && v.len() >= n,
        "adam_update: a slice shorter than the variable"
    );
    let c = Consts::new(h);
    match (v_hat, h.decay) {
        (None, None) => plain(var, &grad[..n], &mut m[..n], &mut v[..n], &c),
        (None, Some((wd, lr))) => decayed(var, &grad[..n], &mut m[..n], &mut v[..n], wd, lr, &c),
        (Some(vh), decay) => {
            assert!(vh.len() >= n, "adam_update: a slice shorter than the variable");
            match decay {
                Some((wd, lr)) => {
                    amsgrad_decayed(var, &grad[..n], &mut m[..n], &mut v[..n], &mut vh[..n], wd, lr, &c)
                }
                None => amsgrad(var, &grad[..n], &mut m[..n], &mut v[..n], &mut vh[..n], &c),
            }
        }
    }
}

/// The largest `|m|`, in units of the smallest subnormal (`2^-149`), for which a zero
/// gradient leaves `m` unchanged and makes the step's numerator `m * alpha` a zero: then
/// `e = (g - m) * (1 - beta_1)` rounds to a zero, `m + e == m`, and `m * alpha` rounds to
/// the zero of sign `sign(m) ^ sign(alpha)`, which is what the same operations give with `m`
/// replaced by the zero of its sign. Both products are exact in `f64` (24-bit factors,
/// `k < 2^23`), and a product of exactly one half rounds to the even zero. 0 turns the
/// shortcut off (a NaN or infinite constant).
fn stuck_limit(h: &AdamStep) -> u32 {
    const MAX: u32 = (1 << 23) - 1;
    let limit = |c: f32| -> u32 {
        let c = f64::from(c.abs());
        if c == 0.0 {
            return MAX;
        }
        if !c.is_finite() {
            return 0;
        }
        let mut k = (0.5 / c).floor().min(f64::from(MAX));
        while k > 0.0 && k * c > 0.5 {
            k -= 1.0;
        }
        k as u32
    };
    limit(h.one_minus_beta_1).min(limit(h.alpha))
}

/// `2^23`: added to a non-negative float below `2^23`, it rounds the float to an integer
/// (ties to even), the rounding of a subnormal result in units of `2^-149`.
const TWO23: f32 = 8_388_608.0;
/// Elements scanned together for decaying subnormal momenta (see [`block_lane`]).
const BLOCK: usize = 64;

/// The loop's constants.
struct Consts {
    b1: f32,
    b2: f32,
    alpha: f32,
    eps: f32,
    /// [`stuck_limit`].
    t: u32,
    /// Whether decaying subnormal momenta may be emulated: `0 <= 1 - beta_1 <= 1` and
    /// `0 <= alpha <= 1` keep every product of [`block_lane`] below `2^23` units and every sign known.
    emulate: bool,
}

impl Consts {
    fn new(h: &AdamStep) -> Self {
        let unit = |x: f32| (0.0..=1.0).contains(&x);
        Consts {
            b1: h.one_minus_beta_1,
            b2: h.one_minus_beta_2,
            alpha: h.alpha,
            eps: h.epsilon,
            t: stuck_limit(h),
            emulate: unit(h.one_minus_beta_1) && unit(h.alpha),
        }
    }
}

/// Whether `m` is a nonzero subnormal with a zero gradient beside it (a dead unit's momentum).
#[inline(always)]
fn dead(g: f32, m: f32) -> bool {
    let bits = m.to_bits() & 0x7fff_ffff;
    (g.to_bits() & 0x7fff_ffff == 0) & (bits.wrapping_sub(1) < 0x7f_ffff)
}

/// Keras's formula for one element, as written (the weight `x` after weight decay, `v_hat`
/// read only with `AMS`): the new weight, `m`, `v` and `v_hat`.
#[inline(always)]
fn formula<const AMS: bool>(x: f32, g: f32, m: f32, v: f32, vh: f32, c: &Consts) -> [f32; 4] {
    let mi = m + (g - m) * c.b1;
    let vi = v + (g * g - v) * c.b2;
    let vhi = if AMS { vh.max(vi) } else { vi };
    [x - (mi * c.alpha) / (vhi.sqrt() + c.eps), mi, vi, vhi]
}

/// One element of a block with a dead momentum: `m0` is `m`, or the zero of `m`'s sign
/// where the lane is dead ([`dead`]), and `m` its bits. Returns the new weight, `m`, `v`,
/// `v_hat`, and whether the lane must run [`formula`] instead. A lane that is not dead runs
/// the formula's operations; a dead one never feeds a subnormal to the float unit:
/// - stuck (`|m| <= t` units, [`stuck_limit`]): the formula's operations on `m0`, `m` kept.
/// - decaying (`t < |m|`, with [`Consts::emulate`], a weight of at least `2^-100` and a
///   denominator in `[2^-60, 2^60]`): in units of `2^-149` `m` is the integer `k`, so
///   `e = round(k * b1)` and `n = round((k - e) * alpha)` are single fused multiply-adds
///   onto `2^23` (exact products rounded once, as the subnormal results are), `m` becomes
///   `k - e` units of its sign, and the step is `n / den` units: when that rounds to at
///   least `2^23` the step is the float times `2^-149` (a normal number, the same rounding);
///   below, `|step| <= 2^-126` is less than half an ulp of a weight of at least `2^-100`, so
///   the weight is unchanged.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block_lane<const AMS: bool>(
    x: f32,
    g: f32,
    m0: f32,
    m: u32,
    is_dead: bool,
    v: f32,
    vh: f32,
    c: &Consts,
) -> ([f32; 4], bool) {
    let vi = v + (g * g - v) * c.b2;
    let vhi = if AMS { vh.max(vi) } else { vi };
    let den = vhi.sqrt() + c.eps;
    let mi = m0 + (g - m0) * c.b1;
    // A dead lane's numerator: the zero `m * alpha` rounds to (stuck), or any zero
    // (decaying: `x` is not one).
    let w0 = x - (if is_dead { m0 } else { mi } * c.alpha) / den;
    let (bits, sign) = (m & 0x7fff_ffff, m & 0x8000_0000);
    let stuck = is_dead & (bits <= c.t);
    let ok = c.emulate & (x.abs() >= 2f32.powi(-100)) & (den >= 2f32.powi(-60)) & (den <= 2f32.powi(60));
    let decaying = is_dead & !stuck & ok;
    let k = if decaying { bits as i32 as f32 } else { 0.0 };
    let mu = k - (k.mul_add(c.b1, TWO23) - TWO23);
    let n = mu.mul_add(c.alpha, TWO23) - TWO23;
    let qf = n / if decaying { den } else { 1.0 };
    let big = decaying & (qf >= TWO23);
    let q = f32::from_bits(sign | if big { qf } else { TWO23 }.to_bits()) * 2f32.powi(-75) * 2f32.powi(-74);
    // `mu` is an integer below 2^23: its bits are those of `2^23 + mu` less those of `2^23`.
    let units = (mu + TWO23).to_bits() - TWO23.to_bits();
    let mo = if !is_dead {
        mi
    } else if stuck {
        f32::from_bits(m)
    } else if units == 0 {
        0.0
    } else {
        f32::from_bits(sign | units)
    };
    ([if big { x - q } else { w0 }, mo, vi, vhi], is_dead & !stuck & !ok)
}

/// The loop of every variant: `x` is the weight after weight decay (`DECAY`), `vh` is read
/// and written only with `AMS`. A block with a dead momentum ([`dead`]) runs [`block_lane`],
/// with a dead lane's `m` replaced by a zero of its sign in a buffer the compiler cannot see
/// through (else it may compute the discarded results from the subnormal after all).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sweep<const DECAY: bool, const AMS: bool>(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    vh: &mut [f32],
    wd: f32,
    lr: f32,
    c: &Consts,
) {
    let n = w.len();
    let mut s = 0;
    while s < n {
        let e = (s + BLOCK).min(n);
        let (w, g, m, v) = (&mut w[s..e], &g[s..e], &mut m[s..e], &mut v[s..e]);
        let vh = if AMS { &mut vh[s..e] } else { &mut vh[..0] };
        let decay = |w: f32| if DECAY { w - w * wd * lr } else { w };
        let mut any = false;
        for i in 0..w.len() {
            any |= dead(g[i], m[i]);
        }
        if !any {
            for i in 0..w.len() {
                let [wi, mi, vi, vhi] =
                    formula::<AMS>(decay(w[i]), g[i], m[i], v[i], if AMS { vh[i] } else { 0.0 }, c);
                (w[i], m[i], v[i]) = (wi, mi, vi);
                if AMS {
                    vh[i] = vhi;
                }
            }
        } else {
            let mut m0 = [0.0f32; BLOCK];
            for i in 0..w.len() {
                m0[i] = if dead(g[i], m[i]) { f32::from_bits(m[i].to_bits() & 0x8000_0000) } else { m[i] };
            }
            let m0 = std::hint::black_box(&m0);
            let mut redo = [false; BLOCK];
            for i in 0..w.len() {
                let (x, h) = (decay(w[i]), if AMS { vh[i] } else { 0.0 });
                let (r, bad) =
                    block_lane::<AMS>(x, g[i], m0[i], m[i].to_bits(), dead(g[i], m[i]), v[i], h, c);
                redo[i] = bad;
                // A lane to redo keeps its inputs.
                if !redo[i] {
                    (w[i], m[i], v[i]) = (r[0], r[1], r[2]);
                    if AMS {
                        vh[i] = r[3];
                    }
                }
            }
            for i in 0..w.len() {
                if redo[i] {
                    let r = formula::<AMS>(decay(w[i]), g[i], m[i], v[i], if AMS { vh[i] } else { 0.0 }, c);
                    (w[i], m[i], v[i]) = (r[0], r[1], r[2]);
                    if AMS {
                        vh[i] = r[3];
                    }
                }
            }
        }
        s = e;
    }
}

multiversion! {
    /// Adam without weight decay.
    fn plain(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: &Consts) {
        sweep::<false, false>(w, g, m, v, &mut [], 0.0, 0.0, c)
    }
}

multiversion! {
    /// Adam with decoupled weight decay (AdamW).
    fn decayed(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], wd: f32, lr: f32, c: &Consts) {
        sweep::<true, false>(w, g, m, v, &mut [], wd, lr, c)
    }
}

multiversion! {
    /// AMSGrad without weight decay.
    fn amsgrad(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vh: &mut [f32], c: &Consts) {
        sweep::<false, true>(w, g, m, v, vh, 0.0, 0.0, c)
    }
}

multiversion! {
    /// AMSGrad with decoupled weight decay.
    #[allow(clippy::too_many_arguments)]
    fn amsgrad_decayed(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        vh: &mut [f32],
        wd: f32,
        lr: f32,
        c: &Consts,
    ) {
        sweep::<true, true>(w, g, m, v, vh, wd, lr, c)
    }
}

/// Adam's per-step constants prepared once for many small regions ([`plain_rows`]; the AMX
/// driver's overlap probe).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Prepared(Consts);

#[cfg(target_arch = "x86_64")]
impl Prepared {
    /// The constants of `h` (which must have no weight decay for [`plain_rows`]).
    pub(crate) fn new(h: &AdamStep) -> Self {
        Prepared(Consts::new(h))
    }
}

/// Plain Adam over `rows` rows of `cols` elements: `w`, `m`, `v` rows `ldw` apart, `g`'s
/// `ldg` apart (the same bits as [`adam_update`] on each row).
///
/// # Safety
/// The regions are valid and do not overlap; AVX-512F/VL/BW/DQ, AVX2 and FMA are available.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn plain_rows(
    w: *mut f32,
    g: *const f32,
    m: *mut f32,
    v: *mut f32,
    (rows, cols): (usize, usize),
    (ldw, ldg): (usize, usize),
    c: &Prepared,
) {
    for r in 0..rows {
        let w = std::slice::from_raw_parts_mut(w.add(r * ldw), cols);
        let g = std::slice::from_raw_parts(g.add(r * ldg), cols);
        let m = std::slice::from_raw_parts_mut(m.add(r * ldw), cols);
        let v = std::slice::from_raw_parts_mut(v.add(r * ldw), cols);
        sweep::<false, false>(w, g, m, v, &mut [], 0.0, 0.0, &c.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar reference: Keras's formula, element by element.
    fn reference(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        mut vh: Option<&mut [f32]>,
        h: &AdamStep,
    ) {
        for i in 0..w.len() {
            let x = match h.decay {
                Some((wd, lr)) => w[i] - w[i] * wd * lr,
                None => w[i],
            };
            m[i] += (g[i] - m[i]) * h.one_minus_beta_1;
            v[i] += (g[i] * g[i] - v[i]) * h.one_minus_beta_2;
            let denom = match vh.as_deref_mut() {
                Some(vh) => {
                    vh[i] = vh[i].max(v[i]);
                    vh[i]
                }
                None => v[i],
            };
            w[i] = x - (m[i] * h.alpha) / (denom.sqrt() + h.epsilon);
        }
    }

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.731).sin() * 0.3).collect()
    }

    #[test]
    fn every_variant_is_bit_identical_to_the_scalar_formula_at_odd_sizes() {
        for n in [0usize, 1, 7, 16, 33, 1031] {
            for (ams, decay) in [(false, None), (false, Some(0.004)), (true, None), (true, Some(0.01))] {
                for it in [0u64, 5] {
                    let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, it, decay);
                    let g = data(n, 1.0);
                    let (mut w1, mut m1, mut v1, mut vh1) =
                        (data(n, 2.0), data(n, 3.0), data(n, 4.0), data(n, 5.0));
                    v1.iter_mut().chain(vh1.iter_mut()).for_each(|x| *x = x.abs());
                    let (mut w2, mut m2, mut v2, mut vh2) = (w1.clone(), m1.clone(), v1.clone(), vh1.clone());
                    reference(&mut w1, &g, &mut m1, &mut v1, ams.then_some(&mut vh1[..]), &h);
                    adam_update(&mut w2, &g, &mut m2, &mut v2, ams.then_some(&mut vh2[..]), &h);
                    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&w1), bits(&w2), "var n={n} ams={ams} decay={decay:?}");
                    assert_eq!(bits(&m1), bits(&m2));
                    assert_eq!(bits(&v1), bits(&v2));
                    assert_eq!(bits(&vh1), bits(&vh2));
                }
            }
        }
    }

    /// Dead units: zero gradients (of both signs) beside subnormal momenta of a few units of
    /// `2^-149` (stuck, see `stuck_limit`) and larger (still decaying), and normal lanes.
    #[test]
    fn subnormal_momenta_give_the_scalar_formulas_bits() {
        let n = 389;
        let g: Vec<f32> = (0..n)
            .map(|i| match i % 5 {
                0 => 0.0,
                1 => -0.0,
                2 => f32::from_bits(3),
                _ => ((i as f32) * 0.37).sin() * 1e-3,
            })
            .collect();
        let m0: Vec<f32> = (0..n)
            .map(|i| {
                let sign = ((i as u32 / 3) & 1) << 31;
                match i % 7 {
                    6 => ((i as f32) * 0.11).cos() * 1e-4,
                    5 => f32::from_bits(sign | (1000 + i as u32 * 977)),
                    4 => f32::from_bits(sign),
                    k => f32::from_bits(sign | (1 + (i as u32 / 7) % 9 + k as u32)),
                }
            })
            .collect();
        // (beta_1, lr): Keras's default; a 1 - beta_1 of exactly 1/8 (ties); a large and a
        // negative rate; a rate that makes no lane stuck; a NaN rate.
        for (beta_1, lr) in
            [(0.9, 0.001), (0.875, 0.125), (0.5, 0.3), (0.9, -0.01), (0.9, 2.0), (0.9, f32::NAN)]
        {
            for (ams, decay) in [(false, None), (false, Some(0.004)), (true, None)] {
                let h = AdamStep::new(lr, beta_1, 0.999, 1e-7, 40, decay);
                let (mut w1, mut m1, mut v1, mut vh1) =
                    (data(n, 2.0), m0.clone(), data(n, 4.0), data(n, 5.0));
                // Zero weights of both signs in stuck lanes of both signs (the update's sign).
                for (i, z) in [(35, 0.0), (36, -0.0), (70, -0.0), (21, -0.0), (105, 0.0)] {
                    w1[i] = z;
                }
                v1.iter_mut().chain(vh1.iter_mut()).for_each(|x| *x = x.abs());
                // Steps of a normal size from decaying momenta (tiny `v`), and weights about
                // the emulation's bound of 2^-100 (7.9e-31).
                for i in (0..n).step_by(11) {
                    (v1[i], vh1[i]) = (0.0, 1e-30);
                }
                // (110 and 341: decaying momenta, v == 0, so the step moves these weights.)
                for (i, x) in [
                    (0, 1e-31),
                    (1, -1e-29),
                    (15, 5e-31),
                    (16, -1e-36),
                    (10, 2e-30),
                    (110, 1e-30),
                    (341, -3e-30),
                ] {
                    w1[i] = x;
                }
                let (mut w2, mut m2, mut v2, mut vh2) = (w1.clone(), m1.clone(), v1.clone(), vh1.clone());
                for _ in 0..3 {
                    reference(&mut w1, &g, &mut m1, &mut v1, ams.then_some(&mut vh1[..]), &h);
                    adam_update(&mut w2, &g, &mut m2, &mut v2, ams.then_some(&mut vh2[..]), &h);
                }
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                let case = format!("beta_1={beta_1} lr={lr} ams={ams} decay={decay:?}");
                assert_eq!(bits(&w1), bits(&w2), "var {case}");
                assert_eq!(bits(&m1), bits(&m2), "m {case}");
                assert_eq!(bits(&v1), bits(&v2), "v {case}");
                assert_eq!(bits(&vh1), bits(&vh2), "v_hat {case}");
            }
        }
    }

    #[test]
    fn the_stuck_limit_is_the_last_momentum_that_rounds_away() {
        // 1 - beta_1 = 0.1 (as float32, a little above): 4 units give 0.4, 5 give 0.5000001.
        assert_eq!(stuck_limit(&AdamStep::new(0.001, 0.9, 0.999, 1e-7, 100, None)), 4);
        // Exactly 1/8: 4 units give a tie, which rounds to the even zero.
        assert_eq!(stuck_limit(&AdamStep::new(1e-4, 0.875, 0.999, 1e-7, 100, None)), 4);
        // alpha bounds it: lr 0.2 at a late step gives alpha ~0.2, so 2 units (0.4).
        assert_eq!(stuck_limit(&AdamStep::new(0.2, 0.9, 0.999, 1e-7, 100_000, None)), 2);
        assert_eq!(stuck_limit(&AdamStep::new(f32::NAN, 0.9, 0.999, 1e-7, 1, None)), 0);
        assert_eq!(stuck_limit(&AdamStep::new(f32::INFINITY, 0.9, 0.999, 1e-7, 1, None)), 0);
    }

    #[test]
    fn the_step_constants_follow_keras() {
        let h = AdamStep::new(0.01, 0.9, 0.999, 1e-7, 0, Some(0.5));
        let want = 0.01f32 * (1.0f32 - 0.999f32).sqrt() / (1.0f32 - 0.9f32);
        assert_eq!(h.alpha, want);
        assert_eq!(h.decay, Some((0.5, 0.01)));
        assert_eq!(h.one_minus_beta_1, (1.0f64 - 0.9) as f32);
    }

    #[test]
    #[should_panic(expected = "shorter than the variable")]
    fn a_short_slot_is_a_caller_bug() {
        let h = AdamStep::new(0.001, 0.9, 0.999, 1e-7, 0, None);
        adam_update(&mut [0.0; 4], &[0.0; 4], &mut [0.0; 3], &mut [0.0; 4], None, &h);
    }
}
