//! Inverted dropout with a one-byte keep mask: the host path of Keras's `Dropout` layer.
//!
//! Multiplying by a float32 mask tensor (what `ops::mul` would do) keeps a mask four times
//! larger for the backward pass, and that backward allocates a new gradient beside the
//! incoming one. At W2 b128 (the Dropout after MaxPooling2D) that moment was the training
//! step's memory peak; here the mask is one byte an element and the gradient is scaled in
//! place. The values are the same bits as `x * mask`.

use std::mem::MaybeUninit;

use crate::autodiff::{record_owned_reading, Reads};
use crate::kernels::simd::multiversion;
use crate::parallel::ELEMENTWISE_PARALLEL_MIN;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::{bail, Result};

/// Elements a parallel task scales at a time.
const BLOCK: usize = 1 << 14;

/// Flags of one parallel block of [`keep_flags`]: a fixed size, so that the mask depends
/// only on the generator and `n`, never on the number of threads.
pub const KEEP_FLAGS_BLOCK: usize = 1 << 14;

/// Streams of one block of [`keep_flags`], drawn side by side (one 512-bit vector of
/// 64-bit states).
pub const KEEP_FLAGS_LANES: usize = 8;

/// A dropout keep mask of `n` flags, each `true` with probability `keep_prob` (one uniform
/// float32 draw with 24 bits per flag, `true` below `keep_prob`, as
/// [`Rng::uniform_f32`]` < keep_prob`), advancing `rng` by one draw.
///
/// The flags are drawn by independent xoshiro256++ streams, side by side and in parallel:
/// the draw `key` taken from `rng` seeds, through SplitMix64 as [`Rng::new`] does (the
/// seeding xoshiro's authors recommend), stream `s = j * KEEP_FLAGS_LANES + l` with
/// `key + s`; flag `i` of block `j` (blocks of [`KEEP_FLAGS_BLOCK`] flags) is draw
/// `i / KEEP_FLAGS_LANES` of the block's lane `i % KEEP_FLAGS_LANES`. Consecutive seeds give
/// distinct SplitMix64 outputs for every state word, and streams of period 2^256 - 1 from
/// such states overlap with negligible probability. The mask is reproducible for a seeded
/// `rng` whatever the number of threads. (One serial stream over all flags took 5% of a W2
/// CNN training step on the calling thread while the pool waited; BENCHMARKS.md "W2 first
/// epoch (seventh session)". Keras's own masks come from its backend's generator, which no
/// host implementation reproduces, so no Keras numerics change.)
///
/// ```
/// use keras_engine::{ops, Rng};
/// let a = ops::keep_flags(&mut Rng::new(1), 100_000, 0.8);
/// let b = ops::keep_flags(&mut Rng::new(1), 100_000, 0.8);
/// assert_eq!(a, b);
/// let kept = a.iter().filter(|&&k| k).count() as f64 / a.len() as f64;
/// assert!((kept - 0.8).abs() < 0.01);
/// ```
pub fn keep_flags(rng: &mut Rng, n: usize, keep_prob: f32) -> Vec<bool> {
    let key = rng.next_u64();
    let block = |j: usize, part: &mut [MaybeUninit<bool>]| {
        let mut lanes = [[0u64; KEEP_FLAGS_LANES]; 4];
        for l in 0..KEEP_FLAGS_LANES {
            let st = Rng::new(key.wrapping_add((j * KEEP_FLAGS_LANES + l) as u64)).state();
            for (w, v) in lanes.iter_mut().zip(st) {
                w[l] = v;
            }
        }
        draw_lanes(&mut lanes, part, keep_prob);
    };
    // Written once by the drawing threads (no zero fill of the whole mask first).
    let mut flags: Vec<bool> = Vec::with_capacity(n);
    let spare = &mut flags.spare_capacity_mut()[..n];
    if n < 2 * KEEP_FLAGS_BLOCK {
        spare.chunks_mut(KEEP_FLAGS_BLOCK).enumerate().for_each(|(j, part)| block(j, part));
    } else {
        use rayon::prelude::*;
        spare.par_chunks_mut(KEEP_FLAGS_BLOCK).enumerate().for_each(|(j, part)| block(j, part));
    }
    // SAFETY: the chunks cover the first `n` elements and `draw_lanes` wrote each of them (a
    // panic in a task would have unwound past this point).
    unsafe { flags.set_len(n) };
    flags
}

multiversion! {
    /// Fills `out` with keep flags from the xoshiro256++ states `s` (`s[w][l]`: word `w` of
    /// lane `l`), flag `i` from lane `i % 8`: eight `next_u64` steps per vector step.
    // Indexed loops over whole lane arrays are what the compiler vectorizes here (the same
    // steps written with iterators over destructured arrays stayed scalar).
    #[allow(clippy::needless_range_loop)]
    fn draw_lanes(s: &mut [[u64; KEEP_FLAGS_LANES]; 4], out: &mut [MaybeUninit<bool>], keep_prob: f32) {
        // Whole-lane-array steps on `s` in place, which the compiler turns into vector ops.
        for chunk in out.chunks_mut(KEEP_FLAGS_LANES) {
            let mut r = [0u64; KEEP_FLAGS_LANES];
            let mut t = [0u64; KEEP_FLAGS_LANES];
            for l in 0..KEEP_FLAGS_LANES {
                // `Rng::next_u64`, lane by lane.
                r[l] = s[0][l].wrapping_add(s[3][l]).rotate_left(23).wrapping_add(s[0][l]);
                t[l] = s[1][l] << 17;
            }
            for l in 0..KEEP_FLAGS_LANES {
                s[2][l] ^= s[0][l];
            }
            for l in 0..KEEP_FLAGS_LANES {
                s[3][l] ^= s[1][l];
            }
            for l in 0..KEEP_FLAGS_LANES {
                s[1][l] ^= s[2][l];
            }
            for l in 0..KEEP_FLAGS_LANES {
                s[0][l] ^= s[3][l];
            }
            for l in 0..KEEP_FLAGS_LANES {
                s[2][l] ^= t[l];
                s[3][l] = s[3][l].rotate_left(45);
            }
            for (f, &r) in chunk.iter_mut().zip(&r) {
                // `Rng::uniform_f32() < keep_prob`.
                f.write(((r >> 40) as f32 * (1.0 / (1u64 << 24) as f32)) < keep_prob);
            }
        }
    }
}

/// `x[i] * (keep[i] ? scale : 0)`, differentiable with respect to `x` (the gradient is the
/// incoming one times the same factors). `keep` has one flag per element of `x`, in
/// row-major order; `scale` is `1 / (1 - rate)` for inverted dropout.
///
/// A GPU tensor is multiplied by the equivalent float32 mask on its device.
///
/// ```
/// use keras_engine::{ops, Tensor};
/// let x = Tensor::new(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// let y = ops::dropout_with_mask(&x, vec![true, false, true, true], 2.0).unwrap();
/// assert_eq!(y.as_f32().unwrap(), &[2.0, 0.0, 6.0, 8.0]);
/// ```
pub fn dropout_with_mask(x: &Tensor, keep: Vec<bool>, scale: f32) -> Result<Tensor> {
    if keep.len() != x.numel() {
        bail!("dropout mask has {} elements for an input of shape {:?}", keep.len(), x.shape());
    }
    if x.device().is_cuda() {
        let mask: Vec<f32> = keep.iter().map(|&k| factor(k, scale)).collect();
        return crate::ops::mul(x, &Tensor::new(mask, x.shape().to_vec())?);
    }
    let xs = x.as_f32()?;
    // Written once, in parallel for large inputs, straight into the new vector's storage
    // (no zero fill on the calling thread first), by a vectorized loop per block: rayon's
    // element-by-element `collect_into_vec` ran at ~2 ns an element (5% of a W2 b32 step on
    // an Emerald Rapids Xeon; BENCHMARKS.md "Intel Xeon against Zen 4 (eleventh session)").
    let n = xs.len();
    let mut out: Vec<f32> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        spare
            .par_chunks_mut(BLOCK)
            .zip(xs.par_chunks(BLOCK).zip(keep.par_chunks(BLOCK)))
            .for_each(|(o, (x, k))| scaled_into(o, x, k, scale));
    } else {
        scaled_into(spare, xs, &keep, scale);
    }
    // SAFETY: the blocks cover the first `n` elements and `scaled_into` wrote each of them
    // (a panic in a task would have unwound past this point).
    unsafe { out.set_len(n) };
    let out = Tensor::from_f32_unchecked(out, x.shape().to_vec());
    // The backward reads neither the input's values nor the output's.
    record_owned_reading(
        out,
        &[x],
        Reads { output: false, input_values: false },
        Box::new(move |gy, y, _inputs| {
            drop(y);
            let mut g = gy;
            // In place when the tape hands over the only reference (copy-on-write otherwise).
            let v = g.f32_mut()?;
            if v.len() != keep.len() {
                bail!("internal error: dropout gradient of {} values for {} mask flags", v.len(), keep.len());
            }
            for_blocks(v, &keep, |v, k, _| scale_in_place(v, k, scale));
            Ok(vec![Some(g)])
        }),
    )
}

/// The multiplier of one element: exactly the float32 mask value `x * mask` would use.
#[inline(always)]
fn factor(keep: bool, scale: f32) -> f32 {
    if keep {
        scale
    } else {
        0.0
    }
}

multiversion! {
    /// `out[i] = x[i] * factor(keep[i], scale)` (the lengths of `out`).
    fn scaled_into(out: &mut [MaybeUninit<f32>], x: &[f32], keep: &[bool], scale: f32) {
        for ((o, &x), &k) in out.iter_mut().zip(x).zip(keep) {
            o.write(x * factor(k, scale));
        }
    }
}

multiversion! {
    /// `v[i] *= factor(keep[i], scale)`.
    fn scale_in_place(v: &mut [f32], keep: &[bool], scale: f32) {
        for (v, &k) in v.iter_mut().zip(keep) {
            *v *= factor(k, scale);
        }
    }
}

/// Runs `f(values, flags, offset)` over blocks of `v` and `keep`, in parallel for large ones.
fn for_blocks(v: &mut [f32], keep: &[bool], f: impl Fn(&mut [f32], &[bool], usize) + Sync) {
    if v.len() >= ELEMENTWISE_PARALLEL_MIN {
        use rayon::prelude::*;
        v.par_chunks_mut(BLOCK)
            .zip(keep.par_chunks(BLOCK))
            .enumerate()
            .for_each(|(i, (v, k))| f(v, k, i * BLOCK));
    } else {
        f(v, keep, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check_grad;
    use crate::GradientTape;

    fn fixed_flags(n: usize) -> Vec<bool> {
        (0..n).map(|i| (i * 7 + 3) % 5 != 0).collect()
    }

    #[test]
    fn values_and_gradient_are_the_bits_of_a_float_mask_product() {
        // Large enough for the parallel blocks, with a partial last block; and a serial one.
        for n in [ELEMENTWISE_PARALLEL_MIN + BLOCK / 2 + 3, 37] {
            product_bits_case(n);
        }
    }

    /// [`values_and_gradient_are_the_bits_of_a_float_mask_product`] for `n` elements, some
    /// of them infinite or NaN (dropped ones give NaN, as `x * 0.0` does).
    fn product_bits_case(n: usize) {
        let special = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0];
        let xs: Vec<f32> = (0..n)
            .map(|i| if i % 11 < 4 { special[i % 11] } else { (i as f32 * 0.37).sin() * 3.0 })
            .collect();
        let keep = fixed_flags(n);
        let scale = 1.0 / 0.8f32;
        let mask: Vec<f32> = keep.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        let mask = Tensor::new(mask, [n]).unwrap();
        let cot: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let cot = Tensor::new(cot, [n]).unwrap();
        let x = Tensor::new(xs, [n]).unwrap().requiring_grad();
        let tape = GradientTape::new();
        let y = dropout_with_mask(&x, keep, scale).unwrap();
        let want = crate::ops::mul(&x, &mask).unwrap();
        let bits = |t: &Tensor| t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&want));
        let g = tape.gradient_with(&y, &cot, &[&x]).unwrap()[0].clone().unwrap();
        let gw = tape.gradient_with(&want, &cot, &[&x]).unwrap()[0].clone().unwrap();
        assert_eq!(bits(&g), bits(&gw));
    }

    #[test]
    fn keep_flags_are_lanes_of_streams_seeded_from_one_draw() {
        let n = 2 * KEEP_FLAGS_BLOCK + 1003;
        let keep = 0.8f32;
        let mut rng = Rng::new(5);
        let flags = keep_flags(&mut rng, n, keep);
        // The generator advanced by exactly one draw, the key.
        let mut reference = Rng::new(5);
        let key = reference.next_u64();
        assert_eq!(rng.state(), reference.state());
        // Flag i of block j: draw i / 8 of the stream seeded with key + 8 j + i % 8.
        let mut want = Vec::with_capacity(n);
        for (j, len) in [KEEP_FLAGS_BLOCK, KEEP_FLAGS_BLOCK, 1003].into_iter().enumerate() {
            let mut lanes: Vec<Rng> =
                (0..KEEP_FLAGS_LANES).map(|l| Rng::new(key + (j * KEEP_FLAGS_LANES + l) as u64)).collect();
            want.extend((0..len).map(|i| lanes[i % KEEP_FLAGS_LANES].uniform_f32() < keep));
        }
        assert_eq!(flags, want);
        // The same flags on one thread, and a small mask (one block, drawn serially).
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(pool.install(|| keep_flags(&mut Rng::new(5), n, keep)), flags);
        assert_eq!(keep_flags(&mut Rng::new(5), 1003, keep), want[..1003]);
        // The next call draws a different mask; the kept fraction is keep_prob in every block.
        assert_ne!(keep_flags(&mut rng, n, keep), flags);
        for part in flags.chunks(KEEP_FLAGS_BLOCK) {
            let kept = part.iter().filter(|&&k| k).count() as f64 / part.len() as f64;
            assert!((kept - 0.8).abs() < 0.03, "{kept}");
        }
        assert!(keep_flags(&mut rng, 0, keep).is_empty());
        assert!(keep_flags(&mut rng, 1000, 0.0).iter().all(|&k| !k));
        assert!(keep_flags(&mut rng, 1000, 1.0).iter().all(|&k| k));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x = Tensor::new((0..12).map(|i| i as f32 * 0.3 - 1.7).collect(), [3, 4]).unwrap();
        check_grad(&[&x], |t| dropout_with_mask(t[0], fixed_flags(12), 1.25), 1e-2);
    }

    #[test]
    fn a_mask_of_the_wrong_size_is_an_error() {
        let x = Tensor::new(vec![1.0; 6], [2, 3]).unwrap();
        let e = dropout_with_mask(&x, vec![true; 5], 2.0).unwrap_err();
        assert!(e.to_string().contains("5 elements for an input of shape [2, 3]"), "{e}");
    }
}
