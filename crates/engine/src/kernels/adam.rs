//! The Adam update of one variable (or one piece of it), in place, in one multiversioned pass.
//!
//! Keras's Adam (`keras/src/optimizers/adam.py`), per element, in this order:
//! `x = w - w * wd * lr` (decoupled weight decay, AdamW), `m += (g - m) * (1 - beta_1)`,
//! `v += (g * g - v) * (1 - beta_2)`, with AMSGrad `v_hat = max(v_hat, v)`, then
//! `w = x - (m * alpha) / (sqrt(v or v_hat) + epsilon)` where
//! `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`. Every version [`multiversion!`]
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
//! units of `2^-149`: the same bits without a subnormal operand (see [`block_lane`]).
//!
//! The square root without the divider: the loop was bound by `vsqrtps` and `vdivps`, which
//! share the core's one divide/square-root unit (about 20 cycles per 16 elements on an Intel
//! Xeon, BENCHMARKS.md "mlp17"), while its other operations issue on two ports. On AVX-512
//! CPUs plain Adam and AdamW (`fast::sweep`) take `sqrt(v)` on the FMA units instead
//! (`kernels::sqrt_fma`: `vrsqrt14ps`, one Newton step, a residual correction),
//! which gives `vsqrtps`'s bits for every float of its domain `[2^-100, f32::MAX]`: sqrt is
//! unary, and a test compares the two for every float of that domain. The division stays on
//! the divider, which then runs one instruction per 16 elements instead of two (a division
//! on the FMA units too, Markstein's correctly rounded quotient, would cost about 12 more
//! FMA-port instructions per 16 elements and leave the FMA ports the bottleneck: see
//! BENCHMARKS.md "adam19"). Vectors with a lane outside the domain, or a dead momentum, run
//! the multiversioned loop. AMSGrad, other CPUs and `KERAS_ADAM_HW_SQRT=1` run it throughout
//! ([`adam_update_divider`]); the results are the same bits either way.
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
use std::sync::OnceLock;

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
    #[cfg(target_arch = "x86_64")]
    if v_hat.is_none() && fma_sqrt() {
        let (g, m, v) = (&grad[..n], &mut m[..n], &mut v[..n]);
        // SAFETY: `fma_sqrt` checked at run time that this CPU has AVX-512 F/DQ.
        unsafe {
            match h.decay {
                None => fast::sweep::<false>(var, g, m, v, 0.0, 0.0, &c),
                Some((wd, lr)) => fast::sweep::<true>(var, g, m, v, wd, lr, &c),
            }
        }
        return;
    }
    divider(var, &grad[..n], &mut m[..n], &mut v[..n], v_hat, &c, h.decay);
}

/// [`adam_update`] with every square root on the divider (`vsqrtps`), the multiversioned loop:
/// the kernel on CPUs without AVX-512, for AMSGrad and under `KERAS_ADAM_HW_SQRT=1`, and the
/// reference the FMA square root is measured and tested against. Same bits as
/// [`adam_update`].
///
/// # Panics
/// If a slice is shorter than `var` (a caller bug).
pub fn adam_update_divider(
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
    divider(var, &grad[..n], &mut m[..n], &mut v[..n], v_hat, &Consts::new(h), h.decay);
}

/// Whether [`adam_update`] takes its square roots on the FMA units ([`fast::sweep`]): this CPU
/// has AVX-512 (and `KERAS_ISA` does not cap it below), and `KERAS_ADAM_HW_SQRT=1` (read once,
/// here; for measuring) does not ask for `vsqrtps`.
fn fma_sqrt() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        crate::kernels::simd::isa() == crate::kernels::simd::Isa::Avx512
            && std::env::var("KERAS_ADAM_HW_SQRT").as_deref() != Ok("1")
    })
}

/// The multiversioned loops (slices of one length).
fn divider(
    var: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_hat: Option<&mut [f32]>,
    c: &Consts,
    decay: Option<(f32, f32)>,
) {
    let n = var.len();
    let c = *c;
    match (v_hat, decay) {
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
#[derive(Clone, Copy)]
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
    /// Whether `RN(sqrt(v) + epsilon)` is `epsilon` for every `v` in `[+0, 2^-100)`, below the
    /// FMA square root's domain ([`sqrt_fma::LO_BITS`](crate::kernels::sqrt_fma::LO_BITS)):
    /// `epsilon` is finite and nonzero and the largest such `v` gives it (the sum is monotone
    /// in `v`). Then [`fast::sweep`] takes those lanes' denominator as `epsilon` (the zero
    /// velocities of weights whose gradient is always zero, such as MNIST's border pixels).
    small_is_eps: bool,
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
            small_is_eps: {
                let below = f32::from_bits(crate::kernels::sqrt_fma::LO_BITS - 1);
                let eps = h.epsilon;
                eps.is_finite() && eps != 0.0 && (below.sqrt() + eps).to_bits() == eps.to_bits()
            },
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

/// Adam with the square root on the FMA units (AVX-512F, [`crate::kernels::sqrt_fma`]) and the
/// division still on the divider: the divider then runs one instruction per 16 elements
/// instead of two (the loop was bound by it), and the other operations are Keras's, in its
/// order, so every result has the multiversioned loop's bits. Vectors of 16 that need more
/// care run that loop ([`divider`]) instead, on their 16 elements: a dead momentum ([`dead`]:
/// subnormal `m`, zero gradient), or a new `v` outside the FMA square root's domain (negative,
/// infinite, NaN, or below `2^-100` unless [`Consts::small_is_eps`]). So does the tail.
#[cfg(target_arch = "x86_64")]
mod fast {
    use super::{divider, Consts};
    use crate::kernels::sqrt_fma::{sqrt16, HI_BITS, LO_BITS};
    use std::arch::x86_64::*;

    /// The plain (`DECAY` false) or decayed update of slices of one length.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sweep<const DECAY: bool>(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        wd: f32,
        lr: f32,
        c: &Consts,
    ) {
        let n = w.len();
        assert!(g.len() == n && m.len() == n && v.len() == n);
        let (b1, b2) = (_mm512_set1_ps(c.b1), _mm512_set1_ps(c.b2));
        let (alpha, eps) = (_mm512_set1_ps(c.alpha), _mm512_set1_ps(c.eps));
        let (wd_v, lr_v) = (_mm512_set1_ps(wd), _mm512_set1_ps(lr));
        let (lo, hi) = (_mm512_set1_epi32(LO_BITS as i32), _mm512_set1_epi32(HI_BITS as i32));
        let slow = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
            divider(w, g, m, v, None, c, DECAY.then_some((wd, lr)))
        };
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: `i + 16 <= n` elements in each slice.
            let (gi, mi) =
                unsafe { (_mm512_loadu_ps(g.as_ptr().add(i)), _mm512_loadu_ps(m.as_ptr().add(i))) };
            // A dead momentum (zero gradient, subnormal `m`): before any float operation on it.
            let dead = _mm512_mask_fpclass_ps_mask::<0x20>(_mm512_fpclass_ps_mask::<0x06>(gi), mi);
            if dead != 0 {
                let r = i..i + 16;
                slow(&mut w[r.clone()], &g[r.clone()], &mut m[r.clone()], &mut v[r]);
                i += 16;
                continue;
            }
            // SAFETY: as above.
            let (wi, vi) =
                unsafe { (_mm512_loadu_ps(w.as_ptr().add(i)), _mm512_loadu_ps(v.as_ptr().add(i))) };
            let mi = _mm512_add_ps(mi, _mm512_mul_ps(_mm512_sub_ps(gi, mi), b1));
            let vi = _mm512_add_ps(vi, _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(gi, gi), vi), b2));
            let bits = _mm512_castps_si512(vi);
            let small = _mm512_cmplt_epu32_mask(bits, lo);
            let outside = _mm512_cmpgt_epu32_mask(bits, hi) | if c.small_is_eps { 0 } else { small };
            if outside != 0 {
                let r = i..i + 16;
                slow(&mut w[r.clone()], &g[r.clone()], &mut m[r.clone()], &mut v[r]);
                i += 16;
                continue;
            }
            // `sqrt(v) + epsilon`, and `epsilon` itself where `v < 2^-100` (`small_is_eps`).
            let den = _mm512_mask_add_ps(eps, !small, sqrt16(vi), eps);
            let step = _mm512_div_ps(_mm512_mul_ps(mi, alpha), den);
            let x = if DECAY { _mm512_sub_ps(wi, _mm512_mul_ps(_mm512_mul_ps(wi, wd_v), lr_v)) } else { wi };
            // SAFETY: as above.
            unsafe {
                _mm512_storeu_ps(w.as_mut_ptr().add(i), _mm512_sub_ps(x, step));
                _mm512_storeu_ps(m.as_mut_ptr().add(i), mi);
                _mm512_storeu_ps(v.as_mut_ptr().add(i), vi);
            }
            i += 16;
        }
        if i < n {
            slow(&mut w[i..], &g[i..], &mut m[i..], &mut v[i..]);
        }
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

    /// xorshift64*: the tests' random bits.
    struct Bits(u64);
    impl Bits {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
        }
        /// A float of random sign and mantissa with a binary exponent in `[lo, hi]`.
        fn float(&mut self, lo: i32, hi: i32) -> f32 {
            let e = lo + (self.next() % (hi - lo + 1) as u32) as i32;
            let bits = (self.next() & 0x807f_ffff) | (((e + 127) as u32) << 23);
            f32::from_bits(bits)
        }
    }

    /// `adam_update` (the FMA square root where this CPU has AVX-512) against
    /// `adam_update_divider` (`vsqrtps`) and the scalar formula, bit for bit, on random states
    /// over the exponent ranges Adam sees and on lanes built to leave the FMA square root's
    /// domain: velocities about `2^-100`, zero, subnormal, negative, infinite and NaN; NaN and
    /// infinite gradients; dead momenta; `epsilon` of 0, tiny, Keras's and large; odd lengths.
    #[test]
    fn the_fma_square_root_kernel_gives_the_divider_loops_bits_on_random_and_adversarial_states() {
        let mut r = Bits(0x9e37_79b9_7f4a_7c15);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let specials = [
            0.0f32,
            -0.0,
            f32::from_bits(1),
            f32::from_bits(0x0040_0000),
            f32::MIN_POSITIVE,
            2f32.powi(-100),
            f32::from_bits((27 << 23) - 1),
            f32::from_bits((27 << 23) + 1),
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
        ];
        let mut lanes = 0usize;
        for case in 0..96 {
            let n = [1usize, 15, 16, 17, 64, 1000, 4099][case % 7];
            let eps = [1e-7f32, 0.0, 1e-30, 1.0, 1e-7, -1e-7, 1e-7, 3e-4][case % 8];
            let decay = [None, Some(0.004f32), None, Some(-2.5)][case % 4];
            let lr = [0.001f32, 0.1, 1e-6, 3.0][(case / 4) % 4];
            let h = AdamStep::new(lr, 0.9, 0.999, f64::from(eps), (case as u64 * 37) % 5000, decay);
            // Exponent ranges: ordinary training values, then wide ones.
            let (glo, ghi, vlo, vhi) = match case % 3 {
                0 => (-20, 0, -40, -1),
                1 => (-70, 20, -126, 127),
                _ => (-60, -40, -110, -90),
            };
            let mut g: Vec<f32> = (0..n).map(|_| r.float(glo, ghi)).collect();
            let mut m: Vec<f32> = (0..n).map(|_| r.float(glo, ghi)).collect();
            let mut v: Vec<f32> = (0..n).map(|_| r.float(vlo, vhi).abs()).collect();
            let w: Vec<f32> = (0..n).map(|_| r.float(-30, 5)).collect();
            // Special lanes, a few per case (some vectors keep the FMA path throughout).
            if case % 2 == 1 {
                for _ in 0..(n / 50).max(1) {
                    let i = r.next() as usize % n;
                    let x = specials[r.next() as usize % specials.len()];
                    match r.next() % 4 {
                        0 => v[i] = x,
                        1 => g[i] = x,
                        2 => {
                            (g[i], m[i]) = (0.0, f32::from_bits((r.next() % 5000) | (r.next() & 0x8000_0000)));
                        }
                        _ => m[i] = x,
                    }
                }
            }
            let (mut w1, mut m1, mut v1) = (w.clone(), m.clone(), v.clone());
            let (mut w2, mut m2, mut v2) = (w.clone(), m.clone(), v.clone());
            let (mut w3, mut m3, mut v3) = (w, m, v);
            for _ in 0..2 {
                adam_update(&mut w1, &g, &mut m1, &mut v1, None, &h);
                adam_update_divider(&mut w2, &g, &mut m2, &mut v2, None, &h);
                reference(&mut w3, &g, &mut m3, &mut v3, None, &h);
            }
            let what = format!("case {case}: n={n} eps={eps} decay={decay:?} lr={lr}");
            assert_eq!(bits(&w1), bits(&w2), "var, {what}");
            assert_eq!(bits(&m1), bits(&m2), "m, {what}");
            assert_eq!(bits(&v1), bits(&v2), "v, {what}");
            assert_eq!(bits(&w1), bits(&w3), "var against the formula, {what}");
            lanes += n;
        }
        assert!(lanes > 20_000);
    }

    /// Velocities that run to the edges of the FMA square root's domain in one update, with
    /// `epsilon` of both kinds (`small_is_eps` true and false), every lane of a vector in turn.
    #[test]
    fn velocities_about_two_to_the_minus_100_and_zero_give_the_divider_loops_bits() {
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let lo = 27u32 << 23;
        for eps in [1e-7f32, 0.0, 1e-35, 2f32.powi(-25)] {
            let h = AdamStep::new(0.001, 0.9, 0.999, f64::from(eps), 10, None);
            let c = Consts::new(&h);
            assert_eq!(c.small_is_eps, eps == 1e-7 || eps == 2f32.powi(-25), "eps {eps}");
            for base in [lo - 40, lo - 1, lo, lo + 3, 0, 0x8000_0000] {
                let n = 48;
                let v: Vec<f32> = (0..n).map(|i| f32::from_bits(base.wrapping_add(i as u32))).collect();
                let g = vec![0.0f32; n];
                let m: Vec<f32> =
                    (0..n).map(|i| if i % 3 == 0 { 0.0 } else { 1e-3 * (i as f32 - 20.0) }).collect();
                let w: Vec<f32> =
                    (0..n).map(|i| if i % 5 == 0 { -0.0 } else { 0.5 - i as f32 * 0.01 }).collect();
                let (mut w1, mut m1, mut v1) = (w.clone(), m.clone(), v.clone());
                let (mut w2, mut m2, mut v2) = (w, m, v);
                adam_update(&mut w1, &g, &mut m1, &mut v1, None, &h);
                adam_update_divider(&mut w2, &g, &mut m2, &mut v2, None, &h);
                assert_eq!(bits(&w1), bits(&w2), "eps {eps} base {base:#x}");
                assert_eq!(bits(&m1), bits(&m2));
                assert_eq!(bits(&v1), bits(&v2));
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
