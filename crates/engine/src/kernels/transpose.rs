//! Cache-blocked transpose of a row-major f32 matrix.
//!
//! [`crate::kernels::matmul::matmul`] uses it to hand the `gemm` crate a contiguous copy of a
//! transposed right operand: `gemm` would otherwise gather that operand element by element
//! with a stride, on the calling thread, before the parallel part starts (the `dx = dy @ W^T`
//! GEMM of every Dense backward pass; 8.6% of a W1 MLP training step, BENCHMARKS.md "W1 MLP
//! profile").
//!
//! ```
//! use keras_engine::kernels::transpose::transpose;
//! let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
//! let mut t = [0.0; 6];
//! transpose(&a, 2, 3, &mut t);
//! assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // 3 x 2
//! ```

use crate::kernels::simd::multiversion;

/// Side of the square tiles the transpose walks (a tile of source rows and destination rows
/// stays in L1).
const TILE: usize = 16;

/// Writes the transpose of `src` (`rows x cols`, row-major) into `dst` (`cols x rows`,
/// row-major).
///
/// # Panics
/// If `src` or `dst` is shorter than `rows * cols` (a caller bug).
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols, "transpose: buffer too short");
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::simd::{isa, Isa};
        match isa() {
            // SAFETY: `isa()` checked at run time that this CPU has AVX-512F; the lengths
            // were checked above.
            Isa::Avx512 => return unsafe { x86::tiles_avx512(src, rows, cols, dst) },
            // SAFETY: as above, for AVX.
            Isa::Avx2 => return unsafe { x86::tiles_avx2(src, rows, cols, dst) },
            Isa::Baseline => {}
        }
    }
    tiles(src, rows, cols, dst);
}

/// Whole tiles by in-register shuffles (AVX-512: one 16x16 tile; AVX2: four 8x8 blocks), the
/// partial tiles at the right and bottom edges by the scalar walk. Pure data movement, so
/// the result is the scalar walk's, bit for bit.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::TILE;
    use std::arch::x86_64::*;

    /// [`super::tiles`] with 16x16 tiles transposed in AVX-512 registers.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, and `src` and `dst` must hold `rows * cols` values.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tiles_avx512(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        let (full_r, full_c) = (rows / TILE * TILE, cols / TILE * TILE);
        let mut r0 = 0;
        while r0 < full_r {
            let mut c0 = 0;
            while c0 < full_c {
                // SAFETY: rows r0..r0+16 and columns c0..c0+16 lie inside the matrix, so
                // every row read (16 floats from (r, c0)) and written (16 floats from
                // (c, r0)) is inside `src` / `dst`.
                unsafe { t16(s.add(r0 * cols + c0), cols, d.add(c0 * rows + r0), rows) };
                c0 += TILE;
            }
            r0 += TILE;
        }
        super::edges(src, rows, cols, dst, full_r, full_c);
    }

    /// Transposes the 16x16 block at `s` (row stride `ss`) into `d` (row stride `ds`).
    ///
    /// # Safety
    /// AVX-512F; 16 rows of 16 floats readable at `s` and writable at `d`.
    #[target_feature(enable = "avx512f")]
    unsafe fn t16(s: *const f32, ss: usize, d: *mut f32, ds: usize) {
        unsafe {
            let r: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(s.add(i * ss)));
            // Lane k of t[2i] / t[2i+1]: rows 2i, 2i+1 interleaved at columns 4k, 4k+1 /
            // 4k+2, 4k+3.
            let mut t = [_mm512_setzero_ps(); 16];
            for i in 0..8 {
                t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
            }
            // Lane k of u[4i+j]: column 4k+j of rows 4i..4i+4.
            let mut u = [_mm512_setzero_ps(); 16];
            for i in 0..4 {
                let pd = |v: __m512| _mm512_castps_pd(v);
                let (a, b, c, e) = (pd(t[4 * i]), pd(t[4 * i + 1]), pd(t[4 * i + 2]), pd(t[4 * i + 3]));
                u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
                u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
                u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, e));
                u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, e));
            }
            // Output row 4k+j gathers lane k of u[j], u[4+j], u[8+j], u[12+j].
            for j in 0..4 {
                let x = _mm512_shuffle_f32x4::<0x88>(u[j], u[4 + j]);
                let y = _mm512_shuffle_f32x4::<0xDD>(u[j], u[4 + j]);
                let x2 = _mm512_shuffle_f32x4::<0x88>(u[8 + j], u[12 + j]);
                let y2 = _mm512_shuffle_f32x4::<0xDD>(u[8 + j], u[12 + j]);
                _mm512_storeu_ps(d.add(j * ds), _mm512_shuffle_f32x4::<0x88>(x, x2));
                _mm512_storeu_ps(d.add((4 + j) * ds), _mm512_shuffle_f32x4::<0x88>(y, y2));
                _mm512_storeu_ps(d.add((8 + j) * ds), _mm512_shuffle_f32x4::<0xDD>(x, x2));
                _mm512_storeu_ps(d.add((12 + j) * ds), _mm512_shuffle_f32x4::<0xDD>(y, y2));
            }
        }
    }

    /// [`super::tiles`] with each 16x16 tile transposed as four 8x8 blocks in AVX registers.
    ///
    /// # Safety
    /// The CPU must support AVX, and `src` and `dst` must hold `rows * cols` values.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn tiles_avx2(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
        let (full_r, full_c) = (rows / TILE * TILE, cols / TILE * TILE);
        let mut r0 = 0;
        while r0 < full_r {
            let mut c0 = 0;
            while c0 < full_c {
                for (dr, dc) in [(0, 0), (0, 8), (8, 0), (8, 8)] {
                    let (r, c) = (r0 + dr, c0 + dc);
                    // SAFETY: the 8x8 block at (r, c) lies inside the matrix (see
                    // `tiles_avx512`).
                    unsafe { t8(s.add(r * cols + c), cols, d.add(c * rows + r), rows) };
                }
                c0 += TILE;
            }
            r0 += TILE;
        }
        super::edges(src, rows, cols, dst, full_r, full_c);
    }

    /// Transposes the 8x8 block at `s` (row stride `ss`) into `d` (row stride `ds`).
    ///
    /// # Safety
    /// AVX; 8 rows of 8 floats readable at `s` and writable at `d`.
    #[target_feature(enable = "avx")]
    unsafe fn t8(s: *const f32, ss: usize, d: *mut f32, ds: usize) {
        unsafe {
            let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(s.add(i * ss)));
            let mut t = [_mm256_setzero_ps(); 8];
            for i in 0..4 {
                t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
            }
            // Lane k of u[4i+j]: column 4k+j of rows 4i..4i+4.
            let mut u = [_mm256_setzero_ps(); 8];
            for i in 0..2 {
                let pd = |v: __m256| _mm256_castps_pd(v);
                let (a, b, c, e) = (pd(t[4 * i]), pd(t[4 * i + 1]), pd(t[4 * i + 2]), pd(t[4 * i + 3]));
                u[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
                u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
                u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, e));
                u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, e));
            }
            for j in 0..4 {
                _mm256_storeu_ps(d.add(j * ds), _mm256_permute2f128_ps::<0x20>(u[j], u[4 + j]));
                _mm256_storeu_ps(d.add((4 + j) * ds), _mm256_permute2f128_ps::<0x31>(u[j], u[4 + j]));
            }
        }
    }
}

/// The parts of the matrix outside the whole tiles `0..full_r x 0..full_c`: the bottom rows
/// and the right columns, by the scalar walk.
#[cfg(target_arch = "x86_64")]
fn edges(src: &[f32], rows: usize, cols: usize, dst: &mut [f32], full_r: usize, full_c: usize) {
    // Right columns of the whole-tile rows.
    for c in full_c..cols {
        for r in 0..full_r {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
    // Bottom rows, every column.
    for c in 0..cols {
        for r in full_r..rows {
            dst[c * rows + r] = src[r * cols + c];
        }
    }
}

multiversion! {
    /// The tiled walk of [`transpose`].
    fn tiles(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + TILE).min(rows);
            let mut c0 = 0;
            while c0 < cols {
                let c1 = (c0 + TILE).min(cols);
                for c in c0..c1 {
                    let out = &mut dst[c * rows + r0..c * rows + r1];
                    for (o, r) in out.iter_mut().zip(r0..r1) {
                        *o = src[r * cols + c];
                    }
                }
                c0 = c1;
            }
            r0 = r1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_lands_at_its_transposed_place_for_odd_sizes() {
        for (rows, cols) in [(0, 5), (1, 1), (1, 7), (7, 1), (17, 33), (33, 16), (64, 48)] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let mut dst = vec![-1.0; rows * cols];
            transpose(&src, rows, cols, &mut dst);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(dst[c * rows + r], src[r * cols + c], "({r}, {c}) of {rows}x{cols}");
                }
            }
        }
    }

    /// The shuffle kernels against the scalar walk, bit for bit (NaN payloads and signed
    /// zeros included), at sizes with and without partial tiles, at every level this CPU
    /// has.
    #[test]
    fn the_vector_tiles_give_the_scalar_bits() {
        for (rows, cols) in [(16, 16), (32, 48), (17, 33), (33, 16), (15, 40), (64, 31), (129, 100), (3, 200)]
        {
            let src: Vec<f32> = (0..rows * cols)
                .map(|i| match i % 7 {
                    0 => f32::from_bits(0x7fc0_0000 | i as u32),
                    1 => -0.0,
                    _ => (i as f32 * 0.37).sin() * 1e3,
                })
                .collect();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut want = vec![1.0; rows * cols];
            tiles(&src, rows, cols, &mut want);
            let mut got = vec![-1.0; rows * cols];
            transpose(&src, rows, cols, &mut got);
            assert_eq!(bits(&got), bits(&want), "{rows}x{cols} dispatched");
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx512f") {
                    let mut got = vec![-1.0; rows * cols];
                    // SAFETY: checked just above; the buffers hold rows * cols values.
                    unsafe { x86::tiles_avx512(&src, rows, cols, &mut got) };
                    assert_eq!(bits(&got), bits(&want), "{rows}x{cols} avx512");
                }
                if std::is_x86_feature_detected!("avx") {
                    let mut got = vec![-1.0; rows * cols];
                    // SAFETY: as above.
                    unsafe { x86::tiles_avx2(&src, rows, cols, &mut got) };
                    assert_eq!(bits(&got), bits(&want), "{rows}x{cols} avx2");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "buffer too short")]
    fn a_short_destination_is_a_caller_bug() {
        transpose(&[0.0; 6], 2, 3, &mut [0.0; 5]);
    }
}
