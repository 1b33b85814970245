//! A right operand packed once for many products: `c (+)= a @ b` with the same `b` each time.
//!
//! An RNN multiplies every step's `(rows, k)` state by the same recurrent kernel (and, per
//! step, the inputs by the same input kernel). Through the `gemm` crate or [`super::sgemm`],
//! each of those small products re-packs the whole `k x n` kernel (256 KiB for W3's LSTM) to
//! multiply it by 16 rows. [`PackedB`] packs it once into the microkernel's `k x 32` column
//! panels; [`PackedB::gemm`] then reads `a` in place and runs the microkernel over
//! (column panel, row tile) pairs on the calling thread.
//!
//! Numerics: every element's sum runs over `p = 0..k` in order in one accumulator and is then
//! added to the old value of `c` (or stored), for any `k` up to [`KC_MAX_DIRECT`]: the order
//! of the `gemm` crate for `k <= 512` (it does not split the depth there), so both give the
//! same bits (tested).

use super::avx512::{MR, NR};
use super::{mode, pack, Mode, View, KC_MAX_DIRECT};

/// `b` (`k x n`, row-major) packed into `ceil(n / 32)` panels of `k x 32` floats, zero-padded.
pub(crate) struct PackedB {
    buf: Vec<f32>,
    /// Offset of the first panel in `buf` (64-byte aligned).
    off: usize,
    k: usize,
    n: usize,
}

impl PackedB {
    /// Packs the row-major `k x n` matrix `b` (row `p` at `b[p * ldb..]`); `None` where the own
    /// GEMM does not run (no AVX-512F, `KERAS_SGEMM=0`) or `k` is 0 or above
    /// [`KC_MAX_DIRECT`], so the caller keeps its other path.
    pub(crate) fn new(b: &[f32], ldb: usize, k: usize, n: usize) -> Option<PackedB> {
        if mode() == Mode::Off || k == 0 || k > KC_MAX_DIRECT || n == 0 {
            return None;
        }
        assert!(ldb >= n && (k - 1) * ldb + n <= b.len(), "PackedB: b shorter than k x n");
        let len = n.div_ceil(NR) * k * NR;
        let mut buf = vec![0.0f32; len + 16];
        let off = buf.as_ptr().align_offset(64).min(16);
        // SAFETY: the assert bounds the block read; `buf` holds `len` floats from `off`.
        unsafe {
            pack::pack_b(View { ptr: b.as_ptr(), rs: ldb, cs: 1 }, 0, k, 0, n, buf.as_mut_ptr().add(off));
        }
        Some(PackedB { buf, off, k, n })
    }

    /// `c = a @ b` (or `c += a @ b` with `accumulate`) for the row-major `m x k` matrix `a`
    /// (row `i` at `a[i * lda..]`) and `c` (row `i` at `c[i * ldc..]`, `n` columns written),
    /// on the calling thread.
    ///
    /// # Panics
    /// If `a` or `c` is too short for those shapes (a caller bug).
    pub(crate) fn gemm(&self, m: usize, a: &[f32], lda: usize, c: &mut [f32], ldc: usize, accumulate: bool) {
        if m == 0 {
            return;
        }
        assert!(
            ldc >= self.n && (m - 1) * ldc + self.n <= c.len(),
            "PackedB::gemm: a or c shorter than its shape"
        );
        let cp = c.as_mut_ptr();
        // SAFETY: the assert bounds `c`, whose rows are also the old values added.
        unsafe { self.run(m, a, lda, cp, ldc, accumulate.then_some((cp as *const f32, ldc))) }
    }

    /// `c = bias + a @ b`, every row of `c` from the same `bias` row (`n` floats), writing
    /// every element of `c` (which may start uninitialized): the same additions as filling
    /// `c` with the bias rows and then [`PackedB::gemm`] with `accumulate` (the same bits),
    /// without the pass that writes the bias rows first.
    ///
    /// # Panics
    /// If `a`, `bias` or `c` is too short for those shapes (a caller bug).
    pub(crate) fn gemm_from_bias(
        &self,
        m: usize,
        a: &[f32],
        lda: usize,
        bias: &[f32],
        c: &mut [std::mem::MaybeUninit<f32>],
        ldc: usize,
    ) {
        if m == 0 {
            return;
        }
        assert!(
            bias.len() >= self.n && ldc >= self.n && (m - 1) * ldc + self.n <= c.len(),
            "PackedB::gemm_from_bias: bias or c shorter than its shape"
        );
        // SAFETY: the assert bounds `c` (only written) and the bias row (read for every row,
        // 0 floats apart).
        unsafe { self.run(m, a, lda, c.as_mut_ptr().cast::<f32>(), ldc, Some((bias.as_ptr(), 0))) }
    }

    /// The tiles of [`PackedB::gemm`]: `old` as [`super::run_tile`]'s.
    ///
    /// # Safety
    /// `c` holds `m` rows of `n` writable floats, `ldc` apart; `old` as many readable ones.
    unsafe fn run(
        &self,
        m: usize,
        a: &[f32],
        lda: usize,
        c: *mut f32,
        ldc: usize,
        old: Option<(*const f32, usize)>,
    ) {
        let (k, n) = (self.k, self.n);
        assert!(lda >= k && (m - 1) * lda + k <= a.len(), "PackedB::gemm: a shorter than its shape");
        // Row tiles as even as possible (16 rows: 8 + 8, each with 16 accumulators).
        let tiles = m.div_ceil(MR);
        let bp = self.buf[self.off..].as_ptr();
        for q in 0..n.div_ceil(NR) {
            let nr = NR.min(n - q * NR);
            let bq = bp.add(q * k * NR);
            for t in 0..tiles {
                let (r0, r1) = (t * m / tiles, (t + 1) * m / tiles);
                let ct = c.add(r0 * ldc + q * NR);
                let o = old.map(|(o, ldo)| (o.add(r0 * ldo + q * NR), ldo));
                super::run_tile(
                    r1 - r0,
                    k,
                    a.as_ptr().add(r0 * lda),
                    super::ALayout::Rows(lda),
                    bq,
                    ct,
                    ldc,
                    nr,
                    o,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::matmul::{matmul_gemm_crate, Trans};

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 * 0.731 + seed).sin() * 1.7).fract()).collect()
    }

    #[test]
    fn packed_products_give_the_crates_bits() {
        let Some(_) = PackedB::new(&[1.0], 1, 1, 1) else {
            return; // no AVX-512F here: the callers keep the crate
        };
        for (m, n, k) in [(16, 512, 128), (16, 128, 512), (1, 1, 1), (5, 33, 7), (13, 70, 300), (25, 64, 512)]
        {
            for acc in [false, true] {
                let a = values(m * k, 0.3);
                let b = values(k * n, 0.9);
                let c0 = values(m * n, 0.5);
                let (mut c1, mut c2) = (c0.clone(), c0.clone());
                let pb = PackedB::new(&b, n, k, n).unwrap();
                pb.gemm(m, &a, k, &mut c1, n, acc);
                matmul_gemm_crate(m, n, k, &a, Trans::No, &b, Trans::No, &mut c2, acc);
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&c1), bits(&c2), "m={m} n={n} k={k} acc={acc}");
            }
        }
    }

    #[test]
    fn products_from_a_bias_row_give_the_bits_of_bias_rows_then_accumulate() {
        let Some(_) = PackedB::new(&[1.0], 1, 1, 1) else {
            return;
        };
        for (m, n, k, ldc) in [(16, 512, 128, 512), (5, 33, 7, 40), (13, 70, 300, 70)] {
            let (a, b, bias) = (values(m * k, 0.3), values(k * n, 0.9), values(n, 0.2));
            let pb = PackedB::new(&b, n, k, n).unwrap();
            let mut want = vec![f32::NAN; m * ldc];
            for row in want.chunks_mut(ldc) {
                row[..n].copy_from_slice(&bias);
            }
            pb.gemm(m, &a, k, &mut want, ldc, true);
            let mut got = vec![std::mem::MaybeUninit::new(f32::NAN); m * ldc];
            pb.gemm_from_bias(m, &a, k, &bias, &mut got, ldc);
            for i in 0..m {
                for j in 0..n {
                    // SAFETY: written by gemm_from_bias (the row's first `n` columns).
                    let g = unsafe { got[i * ldc + j].assume_init() };
                    assert_eq!(g.to_bits(), want[i * ldc + j].to_bits(), "({m}, {n}, {k}) at ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn depths_beyond_one_block_and_empty_matrices_are_refused() {
        assert!(PackedB::new(&vec![0.0; 513 * 4], 4, 513, 4).is_none());
        assert!(PackedB::new(&[], 4, 0, 4).is_none());
    }
}
