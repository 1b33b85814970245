//! The LSTM gate passes of the fused recurrent op ([`crate::ops::rnn`]) for the usual
//! `tanh` / `sigmoid` pair, compiled per instruction set (AVX-512 / AVX2 / baseline) so they
//! run 16 lanes wide on AVX-512 machines. Same arithmetic, in the same order, as the generic
//! passes in `rnn.rs` (no fused multiply-adds are introduced), so results are bit-identical.

use std::mem::MaybeUninit;

use crate::kernels::simd::multiversion;

/// `exp(x)` as one branch-free polynomial (Cephes `expf`, about 1 ulp on the clamped range).
#[inline(always)]
pub(crate) fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x / ln 2 to the nearest integer with the 1.5 * 2^23 trick: `k`'s low mantissa
    // bits then hold that integer (`k` lies in [2^23, 2^24), where the ulp is 1).
    let k = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = k - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^n from the bits of `k` (integer arithmetic only: an `n as i32` conversion saturates
    // and checks for NaN, which does not vectorize).
    let bits = k.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23;
    e * f32::from_bits(bits)
}

/// `sigmoid(x)` through [`fast_exp`].
#[inline(always)]
pub(crate) fn fast_sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// `tanh(x)` through [`fast_exp`].
#[inline(always)]
pub(crate) fn fast_tanh(x: f32) -> f32 {
    1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
}

multiversion! {
    /// Forward gate pass of one step over `rows` batch rows: `z` holds the gate
    /// pre-activations `(rows, 4u)` (`i, f, c, o`) and is overwritten by the activated gates;
    /// writes the new cell state `c = f * c_prev + i * g`, its `tanh(c)` (kept for the
    /// backward pass, which then need not compute it again) and the output `h = o * tanh(c)`
    /// (`(rows, u)` each). The three outputs are only written, never read: they may start
    /// uninitialized.
    pub(crate) fn lstm_forward_gates(
        z: &mut [f32],
        cprev: &[f32],
        cnew: &mut [MaybeUninit<f32>],
        tanh_c: &mut [MaybeUninit<f32>],
        hnew: &mut [MaybeUninit<f32>],
        u: usize,
    ) {
        let gu = 4 * u;
        for ((((zr, cp), cn), tn), hn) in z
            .chunks_exact_mut(gu)
            .zip(cprev.chunks_exact(u))
            .zip(cnew.chunks_exact_mut(u))
            .zip(tanh_c.chunks_exact_mut(u))
            .zip(hnew.chunks_exact_mut(u))
        {
            // Separate contiguous passes per activation, so each vectorizes.
            zr[..2 * u].iter_mut().for_each(|v| *v = fast_sigmoid(*v));
            zr[2 * u..3 * u].iter_mut().for_each(|v| *v = fast_tanh(*v));
            zr[3 * u..].iter_mut().for_each(|v| *v = fast_sigmoid(*v));
            let (zi, rest) = zr.split_at(u);
            let (zf, rest) = rest.split_at(u);
            let (zg, zo) = rest.split_at(u);
            let (zi, zf, zg, zo, cp, cn, tn, hn) =
                (&zi[..u], &zf[..u], &zg[..u], &zo[..u], &cp[..u], &mut cn[..u], &mut tn[..u], &mut hn[..u]);
            for j in 0..u {
                let (i, f, g, o) = (zi[j], zf[j], zg[j], zo[j]);
                let cv = f * cp[j] + i * g;
                let tc = fast_tanh(cv);
                cn[j] = MaybeUninit::new(cv);
                tn[j] = MaybeUninit::new(tc);
                hn[j] = MaybeUninit::new(o * tc);
            }
        }
    }
}

multiversion! {
    /// Backward gate pass of one batch row of one step: from the activated gates `gates`
    /// (`4u`), the previous cell state `cprev` and the `tanh` of the new one `tanh_c` (`u`,
    /// as [`lstm_forward_gates`] kept it) and the gradient on the output `dh` (`u`), writes
    /// the gate pre-activation gradients `dz` (`4u`, only written: it may start
    /// uninitialized) and turns `dc` (gradient on the new cell state) into the gradient on
    /// `cprev`.
    pub(crate) fn lstm_backward_gates(
        gates: &[f32],
        cprev: &[f32],
        tanh_c: &[f32],
        dh: &[f32],
        dc: &mut [f32],
        dz: &mut [MaybeUninit<f32>],
        u: usize,
    ) {
        let (gi, rest) = gates.split_at(u);
        let (gf, rest) = rest.split_at(u);
        let (gg, go) = rest.split_at(u);
        let (di, rest) = dz.split_at_mut(u);
        let (df, rest) = rest.split_at_mut(u);
        let (dg, dout) = rest.split_at_mut(u);
        let (go, dout, cprev, tanh_c, dh, dc) =
            (&go[..u], &mut dout[..u], &cprev[..u], &tanh_c[..u], &dh[..u], &mut dc[..u]);
        for j in 0..u {
            let (i, f, g, o) = (gi[j], gf[j], gg[j], go[j]);
            let tcj = tanh_c[j];
            let dht = dh[j];
            let dct = dc[j] + dht * o * (1.0 - tcj * tcj);
            di[j] = MaybeUninit::new(dct * g * (i * (1.0 - i)));
            df[j] = MaybeUninit::new(dct * cprev[j] * (f * (1.0 - f)));
            dg[j] = MaybeUninit::new(dct * i * (1.0 - g * g));
            dout[j] = MaybeUninit::new(dht * tcj * (o * (1.0 - o)));
            dc[j] = dct * f;
        }
    }
}

multiversion! {
    /// `out = tanh(c)` through [`fast_tanh`], as [`lstm_forward_gates`] computes it (for a
    /// backward pass whose forward did not keep it).
    pub(crate) fn lstm_tanh(c: &[f32], out: &mut [f32]) {
        out.iter_mut().zip(c).for_each(|(o, &v)| *o = fast_tanh(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_scale_bits_match_an_integer_conversion() {
        // The bit trick for 2^n equals the plain conversion over the whole clamped range.
        let mut x = -90.0f32;
        while x < 90.0 {
            let c = x.clamp(-87.0, 88.0);
            let k = c * std::f32::consts::LOG2_E + 12_582_912.0;
            let n = k - 12_582_912.0;
            let want = ((n as i32 + 127) as u32) << 23;
            assert_eq!(k.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23, want, "x = {x}");
            let e = fast_exp(x);
            let r = (x as f64).clamp(-87.0, 88.0).exp();
            assert!(((e as f64) - r).abs() <= 2e-7 * r, "exp({x}) = {e}, want {r}");
            x += 0.013;
        }
    }
}
