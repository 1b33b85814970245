//! A register-tiled f32 GEMM for small, single-threaded products whose right operand is read
//! in place: the per-step recurrent GEMMs of the fused RNN op (`h @ U` forward, `dz @ U^T`
//! backward, a chunk of 16 batch rows per thread in W3).
//!
//! The `gemm` crate runs these as `C^T = B^T A^T` with 6-column tiles, so 16 rows leave a
//! 4-column remainder kernel, and it copies the destination through a temporary on every
//! edge tile. Here each tile of `R` rows by `V` vectors of columns keeps its accumulators in
//! registers, broadcasts one element of `A` per row and loads `V` vectors of `B` per step of
//! `k`. Compiled for AVX-512 (8 rows x 2 x 16 columns) and AVX2 (6 rows x 2 x 8 columns),
//! picked at run time ([`crate::kernels::simd::isa`]).
//!
//! Every element is `c = fma(a[k-1], b[k-1], ... fma(a[0], b[0], 0))`, then `c_old + c` when
//! accumulating: the same float32 operations in the same order as `gemm`'s micro-kernels for
//! `k <= 512` (one depth block, one accumulator per element, then `dst * 1 + acc`), so the
//! results are bit-identical to [`gemm::gemm`] on these shapes (tested below).

/// `c[i*c_rs + j] (+)= sum_p a[i*a_rs + p] * b[p*b_rs + j]` for `i < m`, `j < n`, `p < k`,
/// when this CPU has a kernel for it: AVX-512 needs `n % 16 == 0`, AVX2 `n % 8 == 0`.
/// Returns `false` (and touches nothing) otherwise, and for `k > 512` (where `gemm` splits
/// the depth) or overlapping rows; the caller then runs `gemm`.
///
/// # Panics
/// If a buffer is shorter than its shape and strides say (a caller bug).
#[allow(clippy::too_many_arguments)]
pub(crate) fn small_gemm(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    a_rs: usize,
    b: &[f32],
    b_rs: usize,
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
) -> bool {
    if m == 0 || n == 0 || k == 0 || k > 512 || a_rs < k || b_rs < n || c_rs < n {
        return false;
    }
    assert!(
        (m - 1) * a_rs + k <= a.len() && (k - 1) * b_rs + n <= b.len() && (m - 1) * c_rs + n <= c.len(),
        "small_gemm: buffer too short"
    );
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::simd::{isa, Isa};
        let s = Strides { m, n, k, a_rs, b_rs, c_rs, accumulate };
        match isa() {
            Isa::Avx512 if n % 16 == 0 => {
                // SAFETY: `isa()` checked the features at run time; the assert above bounds
                // every index the kernel reads or writes.
                unsafe { x86::avx512(s, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
                return true;
            }
            Isa::Avx2 if n % 8 == 0 => {
                // SAFETY: as above.
                unsafe { x86::avx2(s, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
                return true;
            }
            _ => {}
        }
    }
    let _ = (a_rs, b_rs, c_rs, accumulate, a, b, c);
    false
}

/// Shape and strides of one [`small_gemm`] call.
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Strides {
    m: usize,
    n: usize,
    k: usize,
    a_rs: usize,
    b_rs: usize,
    c_rs: usize,
    accumulate: bool,
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Strides;
    use std::arch::x86_64::*;

    /// The vector operations a tile needs, for one register width.
    trait Lanes: Copy {
        const L: usize;
        unsafe fn zero() -> Self;
        unsafe fn splat(p: *const f32) -> Self;
        unsafe fn load(p: *const f32) -> Self;
        unsafe fn store(self, p: *mut f32);
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
        unsafe fn add(a: Self, b: Self) -> Self;
    }

    impl Lanes for __m512 {
        const L: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> Self {
            _mm512_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            _mm512_set1_ps(*p)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm512_storeu_ps(p, self)
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            _mm512_add_ps(a, b)
        }
    }

    impl Lanes for __m256 {
        const L: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            _mm256_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            _mm256_set1_ps(*p)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            _mm256_storeu_ps(p, self)
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            _mm256_add_ps(a, b)
        }
    }

    /// One `R x (V * L)` tile: rows `a`, columns from `b`, into `c`.
    #[inline(always)]
    unsafe fn tile<T: Lanes, const R: usize, const V: usize>(
        s: &Strides,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
    ) {
        let mut acc = [[T::zero(); V]; R];
        for p in 0..s.k {
            let bp = b.add(p * s.b_rs);
            let mut bv = [T::zero(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = T::load(bp.add(v * T::L));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = T::splat(a.add(r * s.a_rs + p));
                for (x, &bx) in row.iter_mut().zip(&bv) {
                    *x = T::fma(av, bx, *x);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let cr = c.add(r * s.c_rs);
            for (v, &x) in row.iter().enumerate() {
                let p = cr.add(v * T::L);
                let x = if s.accumulate { T::add(T::load(p), x) } else { x };
                x.store(p);
            }
        }
    }

    /// All row tiles of one panel of `V * L` columns.
    #[inline(always)]
    unsafe fn panel<T: Lanes, const R: usize, const V: usize>(
        s: &Strides,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
    ) {
        let mut i = 0;
        while i + R <= s.m {
            tile::<T, R, V>(s, a.add(i * s.a_rs), b, c.add(i * s.c_rs));
            i += R;
        }
        let (a, c) = (a.add(i * s.a_rs), c.add(i * s.c_rs));
        // The remaining rows, one tile of fewer rows.
        match s.m - i {
            0 => {}
            1 => tile::<T, 1, V>(s, a, b, c),
            2 => tile::<T, 2, V>(s, a, b, c),
            3 => tile::<T, 3, V>(s, a, b, c),
            4 => tile::<T, 4, V>(s, a, b, c),
            5 => tile::<T, 5, V>(s, a, b, c),
            6 => tile::<T, 6, V>(s, a, b, c),
            _ => tile::<T, 7, V>(s, a, b, c),
        }
    }

    /// Panels of `2 * L` columns, then one of `L` when `n / L` is odd.
    #[inline(always)]
    unsafe fn run<T: Lanes, const R: usize>(s: Strides, a: *const f32, b: *const f32, c: *mut f32) {
        let mut j = 0;
        while j + 2 * T::L <= s.n {
            panel::<T, R, 2>(&s, a, b.add(j), c.add(j));
            j += 2 * T::L;
        }
        if j < s.n {
            panel::<T, R, 1>(&s, a, b.add(j), c.add(j));
        }
    }

    /// AVX-512: tiles of 8 rows x 32 columns (16 accumulators).
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512(s: Strides, a: *const f32, b: *const f32, c: *mut f32) {
        run::<__m512, 8>(s, a, b, c)
    }

    /// AVX2: tiles of 6 rows x 16 columns (12 accumulators of the 16 registers).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(s: Strides, a: *const f32, b: *const f32, c: *mut f32) {
        run::<__m256, 6>(s, a, b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same product through the `gemm` crate (what the RNN op ran before).
    #[allow(clippy::too_many_arguments)]
    fn with_gemm(
        (m, n, k): (usize, usize, usize),
        a: &[f32],
        a_rs: usize,
        b: &[f32],
        b_rs: usize,
        c: &mut [f32],
        c_rs: usize,
        accumulate: bool,
    ) {
        // SAFETY: the shapes below fit the buffers (checked by small_gemm's assert first).
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                c_rs as isize,
                accumulate,
                a.as_ptr(),
                1,
                a_rs as isize,
                b.as_ptr(),
                1,
                b_rs as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }

    fn data(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 * 0.37 + seed) * 1.31).sin()).collect()
    }

    #[test]
    fn bit_identical_to_gemm_on_rnn_shapes_and_remainders() {
        let mut ran = 0;
        // (m, n, k): W3's forward and backward steps, odd row counts, one odd panel, deep k.
        for &(m, n, k) in &[
            (16, 512, 128),
            (16, 128, 512),
            (13, 48, 7),
            (1, 16, 1),
            (9, 80, 33),
            (32, 64, 200),
            (7, 8, 512),
        ] {
            for accumulate in [false, true] {
                let (a_rs, b_rs, c_rs) = (k + 3, n + 16, n + 5);
                let a = data(m * a_rs, 1.0);
                let b = data(k * b_rs, 2.0);
                let c0 = data(m * c_rs, 3.0);
                let (mut c1, mut c2) = (c0.clone(), c0.clone());
                if !small_gemm((m, n, k), &a, a_rs, &b, b_rs, &mut c1, c_rs, accumulate) {
                    continue;
                }
                ran += 1;
                with_gemm((m, n, k), &a, a_rs, &b, b_rs, &mut c2, c_rs, accumulate);
                for (i, (x, y)) in c1.iter().zip(&c2).enumerate() {
                    assert_eq!(
                        x.to_bits(),
                        y.to_bits(),
                        "({m}, {n}, {k}) acc={accumulate} at {i}: {x} vs {y}"
                    );
                }
            }
        }
        let vector = cfg!(target_arch = "x86_64")
            && crate::kernels::simd::isa() != crate::kernels::simd::Isa::Baseline;
        assert_eq!(ran > 0, vector, "the kernel ran exactly where this CPU has one");
    }

    #[test]
    fn unsupported_shapes_are_declined() {
        let mut c = vec![0.0f32; 4];
        assert!(!small_gemm((2, 2, 1), &[1.0; 2], 1, &[1.0; 2], 2, &mut c, 2, false));
        assert!(!small_gemm((0, 16, 1), &[], 1, &[], 16, &mut c, 16, false));
        assert_eq!(c, [0.0; 4]);
    }
}
