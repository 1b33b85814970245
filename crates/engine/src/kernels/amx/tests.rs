//! The AMX GEMM against an `f64` reference and the own FMA GEMM: accuracy (the gate),
//! layouts, tails, accumulation, thread counts, scaling and the declines.

use super::*;
use crate::kernels::sgemm;

/// A deterministic generator (LCG) of uniform and normal values.
struct Gen(u64);

impl Gen {
    fn u(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f32 {
        let (u1, u2) = (self.u(), self.u());
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
    fn uniform(&mut self) -> f32 {
        self.u() as f32
    }
}

/// The value distributions of the accuracy gate.
#[derive(Clone, Copy, Debug)]
enum Dist {
    /// N(0, 1).
    Normal,
    /// U[0, 1): no cancellation.
    Uniform,
    /// N(0, 1) with rows of `op(a)` and columns of `op(b)` scaled by `2^-20 .. 2^20`.
    Mixed,
}

/// `op(a)` (`m x k`) and `op(b)` (`k x n`), row-major.
fn operands(m: usize, n: usize, k: usize, dist: Dist, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut g = Gen(seed);
    let mut draw = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| match dist {
                Dist::Uniform => g.uniform(),
                _ => g.normal(),
            })
            .collect()
    };
    let (mut a, mut b) = (draw(m * k), draw(k * n));
    if let Dist::Mixed = dist {
        let mut g = Gen(seed ^ 0x5555);
        for row in a.chunks_mut(k) {
            let s = 2f32.powi((g.u() * 41.0) as i32 - 20);
            row.iter_mut().for_each(|v| *v *= s);
        }
        for j in 0..n {
            let s = 2f32.powi((g.u() * 41.0) as i32 - 20);
            (0..k).for_each(|p| b[p * n + j] *= s);
        }
    }
    (a, b)
}

/// The exact-ish product in `f64` and each element's `sum |a||b|`.
fn reference(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let (mut c, mut mag) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        for p in 0..k {
            let av = a[i * k + p] as f64;
            for j in 0..n {
                let bv = b[p * n + j] as f64;
                c[i * n + j] += av * bv;
                mag[i * n + j] += (av * bv).abs();
            }
        }
    }
    (c, mag)
}

/// The largest `|c - c64| / sum |a||b|` over the elements.
fn error(c: &[f32], (c64, mag): &(Vec<f64>, Vec<f64>)) -> f64 {
    c.iter()
        .zip(c64)
        .zip(mag)
        .filter(|(_, &s)| s > 0.0)
        .map(|((&v, &r), &s)| (v as f64 - r).abs() / s)
        .fold(0.0, f64::max)
}

/// A naive `f32` FMA loop over `p` in order.
fn naive_fma(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                s = a[i * k + p].mul_add(b[p * n + j], s);
            }
            c[i * n + j] = s;
        }
    }
    c
}

/// Runs [`sgemm_amx`] on row-major `a`, `b` (the buffers hold `op(a)`, `op(b)`).
fn amx(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], threads: usize) -> Option<Vec<f32>> {
    let mut c = vec![f32::NAN; m * n];
    let (av, bv) = views(m, n, k, a, false, b, false);
    // SAFETY: the views describe the buffers; `c` holds `m x n` floats.
    let ok = unsafe { sgemm_amx_any_k(m, n, k, av, bv, c.as_mut_ptr(), n, false, threads) };
    ok.then_some(c)
}

/// Runs the own FMA GEMM likewise.
fn fma(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut c = vec![0.0; m * n];
    assert!(bench_gemm(BenchEngine::Fma, (m, n, k), a, false, b, false, &mut c, false, 1));
    c
}

/// Whether to run: AMX and the own GEMM on this machine (else the test prints and passes).
fn runs() -> bool {
    let on = available() && sgemm::mode() != sgemm::Mode::Off;
    if !on {
        eprintln!("amx: not available here, test skipped");
    }
    on
}

/// The gate: per `k` and distribution, the AMX error is within 1.5x the own FMA GEMM's for
/// every `k` that [`sgemm_amx`] takes (`k >= MIN_K`); shorter ones are printed only (the
/// driver declines them: the FMA path runs).
#[test]
fn accuracy_within_the_fma_gemm() {
    if !runs() {
        return;
    }
    let (m, n) = (40, 48);
    let mut worst: f64 = 0.0;
    eprintln!("dist      k     amx        own fma    naive fma  amx/own");
    for dist in [Dist::Normal, Dist::Uniform, Dist::Mixed] {
        for k in [1, 3, 10, 16, 17, 31, 128, 784, 4096] {
            let (a, b) = operands(m, n, k, dist, k as u64 * 7 + dist as u64);
            let r = reference(m, n, k, &a, &b);
            let e_amx = error(&amx(m, n, k, &a, &b, 1).expect("declined"), &r);
            let e_own = error(&fma(m, n, k, &a, &b), &r);
            let e_naive = error(&naive_fma(m, n, k, &a, &b), &r);
            let ratio = e_amx / e_own;
            let note = if k < MIN_K { "  (declined: k < MIN_K)" } else { "" };
            eprintln!(
                "{:<8} {:>5}  {e_amx:.3e}  {e_own:.3e}  {e_naive:.3e}  {ratio:.2}{note}",
                format!("{dist:?}"),
                k
            );
            if k >= MIN_K {
                worst = worst.max(ratio);
                assert!(e_amx <= 1.5 * e_own, "{dist:?} k {k}: amx {e_amx:e}, fma {e_own:e} / {e_naive:e}");
            }
        }
    }
    eprintln!("worst amx / own fma (k >= MIN_K): {worst:.2}");
}

/// Every layout of both operands (row-major, transposed, strided both ways) gives the same
/// bits, with ragged shapes, and never writes outside `c`'s `m x n`.
#[test]
fn layouts_and_tails_agree() {
    if !runs() {
        return;
    }
    for &(m, n, k) in &[
        (1, 1, 1),
        (3, 5, 7),
        (16, 16, 32),
        (17, 33, 45),
        (33, 17, 70),
        (50, 20, 100),
        (31, 47, 33),
        (64, 10, 512),
    ] {
        let (a, b) = operands(m, n, k, Dist::Normal, (m * 1000 + n * 10 + k) as u64);
        let r = reference(m, n, k, &a, &b);
        let base = amx(m, n, k, &a, &b, 1).unwrap();
        assert!(error(&base, &r) < 4e-7, "{m}x{n}x{k}: {}", error(&base, &r));
        // Copies in every layout: transposed, and strided (every other float of a wider
        // matrix) in both orders.
        let at: Vec<f32> = (0..k * m).map(|x| a[(x % m) * k + x / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|x| b[(x % k) * n + x / k]).collect();
        let a2: Vec<f32> = (0..m * k * 2).map(|x| if x % 2 == 0 { a[x / 2] } else { f32::NAN }).collect();
        let b2: Vec<f32> = (0..k * n * 3).map(|x| if x % 3 == 0 { b[x / 3] } else { f32::NAN }).collect();
        let a_views = [
            View { ptr: a.as_ptr(), rs: k, cs: 1 },
            View { ptr: at.as_ptr(), rs: 1, cs: m },
            View { ptr: a2.as_ptr(), rs: 2 * k, cs: 2 },
        ];
        let b_views = [
            View { ptr: b.as_ptr(), rs: n, cs: 1 },
            View { ptr: bt.as_ptr(), rs: 1, cs: k },
            View { ptr: b2.as_ptr(), rs: 3 * n, cs: 3 },
        ];
        let ldc = n + 3;
        for av in a_views {
            for bv in b_views {
                for threads in [1, 2, 3] {
                    let mut c = vec![-7.0f32; m * ldc];
                    // SAFETY: the views describe the buffers; `c` holds `m` rows `ldc` apart.
                    assert!(unsafe { sgemm_amx_any_k(m, n, k, av, bv, c.as_mut_ptr(), ldc, false, threads) });
                    for i in 0..m {
                        assert_eq!(&c[i * ldc..i * ldc + n], &base[i * n..i * n + n], "{m}x{n}x{k} row {i}");
                        assert!(
                            c[i * ldc + n..(i + 1) * ldc].iter().all(|&v| v == -7.0),
                            "wrote past the row"
                        );
                    }
                }
            }
        }
    }
}

/// `accumulate` adds the product to `c` (`c + (hi + lo)`: the bits of the sum of the
/// initial `c` and the plain product), and `k = 0` gives zeros (or leaves `c`).
#[test]
fn accumulates_and_empty_k() {
    if !runs() {
        return;
    }
    let (m, n, k) = (37, 29, 61);
    let mut c = vec![1.0f32; 4];
    let short = vec![1.0f32; 2 * (MIN_K - 1)];
    assert!(!bench_gemm(BenchEngine::Amx, (2, 2, MIN_K - 1), &short, false, &short, false, &mut c, false, 1));
    assert_eq!(c, [1.0; 4], "a declined short product touched c");
    let (a, b) = operands(m, n, k, Dist::Normal, 3);
    let plain = amx(m, n, k, &a, &b, 2).unwrap();
    let init: Vec<f32> = operands(m * n, 1, 1, Dist::Normal, 9).0;
    let mut c = init.clone();
    assert!(bench_gemm(BenchEngine::Amx, (m, n, k), &a, false, &b, false, &mut c, true, 2));
    for ((&v, &i), &p) in c.iter().zip(&init).zip(&plain) {
        assert_eq!(v, i + p);
    }
    let mut c = init.clone();
    assert!(bench_gemm(BenchEngine::Amx, (m, n, 0), &[], false, &[], false, &mut c, true, 2));
    assert_eq!(c, init);
    assert!(bench_gemm(BenchEngine::Amx, (m, n, 0), &[], false, &[], false, &mut c, false, 2));
    assert!(c.iter().all(|&v| v == 0.0));
}

/// One, two and three threads give the same bits on W1-like shapes (split by columns and by
/// rows).
#[test]
fn thread_count_does_not_change_bits() {
    if !runs() {
        return;
    }
    for &(m, n, k) in &[(128, 512, 96), (96, 10, 200), (200, 16, 64), (48, 48, 48)] {
        let (a, b) = operands(m, n, k, Dist::Normal, 11);
        let one = amx(m, n, k, &a, &b, 1).unwrap();
        for t in [2, 3, 4] {
            assert_eq!(one, amx(m, n, k, &a, &b, t).unwrap(), "{m}x{n}x{k}, {t} threads");
        }
    }
}

/// Operands with magnitudes AMX cannot take as they are (tiny values whose pieces or piece
/// products would be subnormal, values near `f32::MAX`, `f32` subnormals) are scaled by
/// powers of two and stay as accurate as the FMA GEMM.
#[test]
fn scaled_operands_stay_accurate() {
    if !runs() {
        return;
    }
    let (m, n, k) = (20, 24, 50);
    let cases: [(f32, f32, &str); 5] = [
        (2f32.powi(-70), 2f32.powi(-50), "tiny products"),
        (2f32.powi(-110), 2f32.powi(40), "pieces below 2^-126"),
        (1.0e-40, 2f32.powi(100), "f32 subnormal a"),
        (f32::MAX / 2.0, 2f32.powi(-120), "near f32::MAX"),
        (2f32.powi(115), 2f32.powi(-20), "large (scaled down)"),
    ];
    for (sa, sb, what) in cases {
        let (mut a, mut b) = operands(m, n, k, Dist::Uniform, 5);
        a.iter_mut().for_each(|v| *v *= sa);
        b.iter_mut().for_each(|v| *v *= sb);
        let (ra, rb) = range_of(&a, &b, m, n, k);
        assert_ne!(scales(ra, rb, k), Some((0, 0)), "{what}: not a scaled case");
        let r = reference(m, n, k, &a, &b);
        let e_amx = error(&amx(m, n, k, &a, &b, 2).expect(what), &r);
        let e_own = error(&fma(m, n, k, &a, &b), &r).max(error(&naive_fma(m, n, k, &a, &b), &r));
        eprintln!("{what}: amx {e_amx:.3e}, fma {e_own:.3e}");
        assert!(e_amx <= 1.5 * e_own, "{what}: amx {e_amx:e}, fma {e_own:e}");
    }
}

/// The ranges the packing records.
fn range_of(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> (Range, Range) {
    let g = Geometry::new(m, n, k);
    let mut buf = vec![0u16; g.a_len() + g.b_len() + 32];
    let off = buf.as_ptr().align_offset(64).min(32);
    let (av, bv) = views(m, n, k, a, false, b, false);
    // SAFETY: the views describe the buffers; `buf` holds both packed operands.
    unsafe { pack_all(g, av, bv, (0, 0), buf[off..].as_mut_ptr(), Plan::new(&g, 1)) }
}

/// NaN, infinities and ranges too wide for any scaling are declined with `c` untouched;
/// zeros alone are not.
#[test]
fn declines_what_it_cannot_split() {
    if !runs() {
        return;
    }
    let (m, n, k) = (18, 20, 40);
    let (a, b) = operands(m, n, k, Dist::Normal, 8);
    let check = |a: &[f32], b: &[f32], what: &str| {
        let mut c = vec![3.0f32; m * n];
        assert!(!bench_gemm(BenchEngine::Amx, (m, n, k), a, false, b, false, &mut c, false, 2), "{what}");
        assert!(c.iter().all(|&v| v == 3.0), "{what}: c touched");
    };
    for (pos, bad) in [(0, f32::NAN), (m * k - 1, f32::INFINITY), (k + 5, f32::NEG_INFINITY)] {
        let mut a2 = a.clone();
        a2[pos] = bad;
        check(&a2, &b, "non-finite a");
        let mut b2 = b.clone();
        b2[pos.min(k * n - 1)] = bad;
        check(&a, &b2, "non-finite b");
    }
    // 2^-120 next to 2^100 in both operands: no scale keeps both ends.
    let (mut a2, mut b2) = (a.clone(), b.clone());
    a2[3] = 2f32.powi(-120);
    a2[4] = 2f32.powi(100);
    b2[3] = 2f32.powi(-120);
    b2[4] = 2f32.powi(100);
    check(&a2, &b2, "too wide a range");
    // A nested call (the thread's buffer in use).
    BUF.with(|buf| {
        let _held = buf.borrow_mut();
        check(&a, &b, "nested call");
    });
    // Too large to pack whole (2048 x 2048 x 2048: 2 x 12.6M packed u16s).
    let big = vec![0.5f32; 2048 * 2048];
    let mut c = vec![3.0f32; 2048 * 2048];
    assert!(!bench_gemm(BenchEngine::Amx, (2048, 2048, 2048), &big, false, &big, false, &mut c, false, 2));
    assert!(c.iter().all(|&v| v == 3.0), "too large: c touched");
    // Zeros (and negative zeros) are no obstacle.
    let zeros = vec![-0.0f32; m * k];
    let c = amx(m, n, k, &zeros, &b, 2).unwrap();
    assert!(c.iter().all(|&v| v == 0.0));
}

/// The scale choice: none where the ranges fit, a sum of exponents inside the window
/// otherwise, `None` for non-finite values.
#[test]
fn scale_choice() {
    let r = |lo: f32, hi: f32| Range { max: hi.to_bits(), min_nz: lo.to_bits() };
    assert_eq!(scales(r(1e-6, 10.0), r(1e-6, 10.0), 1000), Some((0, 0)));
    assert_eq!(scales(r(1e-6, f32::INFINITY), r(1e-6, 10.0), 1000), None);
    assert_eq!(scales(Range::EMPTY, r(1e-6, 10.0), 10), Some((0, 0)));
    let (s, t) = scales(r(2f32.powi(-70), 1.0), r(2f32.powi(-50), 1.0), 64).unwrap();
    assert!(s + t >= 40 && s + t <= 124 - 6 && s >= 0, "{s} {t}");
    assert_eq!(scales(r(2f32.powi(-120), 2f32.powi(100)), r(2f32.powi(-120), 2f32.powi(100)), 8), None);
    assert_eq!(exponent(1.0f32.to_bits()), 0);
    assert_eq!(exponent(1e-45f32.to_bits()), -149);
    assert_eq!(exponent(f32::MIN_POSITIVE.to_bits()), -126);
}

/// The split is exact: `hi + mid + lo == x`, each piece a `bf16` value, over magnitudes
/// `2^-100 .. 2^110`.
#[test]
fn split_pieces() {
    let mut g = Gen(1);
    for _ in 0..200_000 {
        let x = g.normal() * 2f32.powi((g.u() * 210.0) as i32 - 100);
        if x.abs() < 2f32.powi(-100) {
            continue;
        }
        let (h, m, l) = pack::split3(x);
        assert!(h & 0xffff == 0 && m & 0xffff == 0 && l & 0xffff == 0, "{x}");
        let s = f32::from_bits(h) as f64 + f32::from_bits(m) as f64 + f32::from_bits(l) as f64;
        assert_eq!(s, x as f64, "{x}");
        assert!(f32::from_bits(m).abs() <= f32::from_bits(h).abs() / 128.0, "{x}");
    }
}

/// Runs [`sgemm_amx_prepacked`] for columns `j0..` of `packed` into `c` (row stride `ldc`).
fn amx_packed_cols(
    m: usize,
    k: usize,
    x: &[f32],
    packed: &prepacked::Packed,
    j0: usize,
    ldc: usize,
    threads: usize,
) -> Option<Vec<f32>> {
    let n = packed.op_shape().1 - j0;
    let mut c = vec![f32::NAN; m * ldc];
    let av = View { ptr: x.as_ptr(), rs: k, cs: 1 };
    // SAFETY: `x` holds `m x k`; `c` holds `m` rows of `ldc >= j0 + n` floats.
    let ok = unsafe {
        sgemm_amx_prepacked(m, n, k, av, (packed, j0), c.as_mut_ptr().add(j0), ldc, false, threads)
    };
    ok.then_some(c)
}

/// A kernel packed once, in either layout, gives the bits of the driver packing it in the
/// call, for ragged shapes, column offsets and one or two threads.
#[test]
fn prepacked_kernels_give_the_per_call_bits() {
    if !runs() {
        return;
    }
    for &(m, rows, cols) in &[(128, 784, 512), (37, 100, 70), (16, 33, 48), (64, 64, 17), (5, 40, 200)] {
        let (x, w) = operands(m, cols, rows, Dist::Normal, 5);
        let (dy, _) = operands(m, 1, cols, Dist::Normal, 6);
        let kernel = prepacked::Packed::new(prepacked::Layout::Kernel, &w, rows, cols, true).unwrap();
        let transposed =
            prepacked::Packed::new(prepacked::Layout::Transposed, &w, rows, cols, false).unwrap();
        for threads in [1, 2] {
            // x @ W.
            let want = amx(m, cols, rows, &x, &w, threads).unwrap();
            for j0 in (0..cols).step_by(16).take(3) {
                let got = amx_packed_cols(m, rows, &x, &kernel, j0, cols, threads).unwrap();
                for i in 0..m {
                    let (g, e) = (&got[i * cols + j0..(i + 1) * cols], &want[i * cols + j0..(i + 1) * cols]);
                    assert_eq!(
                        bits(g),
                        bits(e),
                        "x @ W {m}x{rows}x{cols} from column {j0}, {threads} threads"
                    );
                }
            }
            // dy @ W^T.
            let mut want = vec![f32::NAN; m * rows];
            let (av, bv) = views(m, rows, cols, &dy, false, &w, true);
            // SAFETY: the views describe the buffers; `want` holds `m x rows` floats.
            assert!(unsafe {
                sgemm_amx_any_k(m, rows, cols, av, bv, want.as_mut_ptr(), rows, false, threads)
            });
            let got = amx_packed_cols(m, cols, &dy, &transposed, 0, rows, threads).unwrap();
            assert_eq!(bits(&got), bits(&want), "dy @ W^T {m}x{cols}x{rows}, {threads} threads");
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Refreshing a kernel's copies part by part (from two threads) after new values leaves the
/// pieces and ranges of packing the new values afresh; parts off the units' grid, a part
/// refreshed twice or one left out make the refresher incomplete (its copies are dropped).
#[test]
fn refreshed_copies_match_a_fresh_packing() {
    if !runs() {
        return;
    }
    let (rows, cols) = (100, 40);
    let (old, new) = operands(rows, rows, cols, Dist::Normal, 8);
    let (old, new) = (&old[..rows * cols], &new[..rows * cols]);
    let layouts = [prepacked::Layout::Kernel, prepacked::Layout::Transposed];
    let packs = |w: &[f32]| -> Vec<prepacked::Packed> {
        layouts.iter().map(|&l| prepacked::Packed::new(l, w, rows, cols, false).unwrap()).collect()
    };
    let refresh = prepacked::PackedRefresh::new(packs(old), 1, rows * cols);
    let unit = refresh.unit_len();
    assert_eq!(unit, 32 * cols);
    let cut = 2 * unit;
    rayon::join(|| refresh.refresh(0, &new[..cut]), || refresh.refresh(cut, &new[cut..]));
    assert!(refresh.complete());
    for (got, want) in refresh.packs.iter().zip(packs(new)) {
        assert_eq!(got.pieces(), want.pieces(), "{:?}", got.layout());
        assert_eq!(got.unit_ranges(), want.unit_ranges());
    }
    let r = prepacked::PackedRefresh::new(packs(old), 1, rows * cols);
    r.refresh(0, &new[..unit + 8]);
    r.refresh(unit + 8, &new[unit + 8..]);
    assert!(!r.complete(), "off the grid");
    let r = prepacked::PackedRefresh::new(packs(old), 1, rows * cols);
    r.refresh(0, new);
    r.refresh(0, &new[..unit]);
    assert!(!r.complete(), "twice");
    let r = prepacked::PackedRefresh::new(packs(old), 1, rows * cols);
    r.refresh(0, &new[..unit]);
    assert!(!r.complete(), "left out");
    let r = prepacked::PackedRefresh::new(packs(old), 1, rows * cols);
    r.refresh(usize::MAX - 3, &new[..unit]);
    r.refresh(0, new);
    assert!(!r.complete(), "an offset past the end");
}

/// A packed kernel whose product needs scaled operands (tiny values) is declined, and the
/// per-call driver (which scales) runs it; NaN likewise.
#[test]
fn prepacked_declines_what_needs_scaling() {
    if !runs() {
        return;
    }
    let (m, rows, cols) = (32, 64, 48);
    let (x, mut w) = operands(m, cols, rows, Dist::Normal, 9);
    w.iter_mut().for_each(|v| *v *= 1e-36);
    let p = prepacked::Packed::new(prepacked::Layout::Kernel, &w, rows, cols, false).unwrap();
    assert!(amx_packed_cols(m, rows, &x, &p, 0, cols, 1).is_none());
    assert!(amx(m, cols, rows, &x, &w, 1).is_some());
    let mut x2 = x.clone();
    x2[3] = f32::NAN;
    let (_, w) = operands(m, cols, rows, Dist::Normal, 9);
    let p = prepacked::Packed::new(prepacked::Layout::Kernel, &w, rows, cols, false).unwrap();
    assert!(amx_packed_cols(m, rows, &x2, &p, 0, cols, 1).is_none());
    assert!(amx_packed_cols(m, rows, &x, &p, 0, cols, 1).is_some());
}

/// The overlap probe refuses shapes it does not run (empty, not multiples of 32, `k` out
/// of range) instead of panicking, and where it runs its fused variants give the serial bits.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_overlap_probe_refuses_other_shapes() {
    for shape in [(0, 512, 128), (512, 0, 128), (33, 64, 128), (64, 64, 8), (64, 64, 2048)] {
        assert!(super::bench_adam_overlap(shape, 1).is_none(), "{shape:?}");
    }
    if runs() {
        let (_, same) = super::bench_adam_overlap((64, 64, 32), 1).unwrap();
        assert!(same);
    }
}

/// Runs [`sgemm_amx_shared_b`] on row-major `op(b)` (`k x n`) and the left operands `as_`
/// (each `op(a_g)` `m_g x k`, stored transposed where `trans`) into outputs `ldc = n + 2`
/// wide (filled with `-7` first), with `sums` (their start values) or none; the outputs, or
/// `None` where it declined (then it checks that nothing was written).
fn shared(
    ms: &[usize],
    as_: &[Vec<f32>],
    trans: bool,
    (n, k): (usize, usize),
    b: &[f32],
    threads: usize,
    sums: Option<&[f32]>,
) -> Option<(Vec<Vec<f32>>, Vec<f32>)> {
    let ldc = n + 2;
    let mut cs: Vec<Vec<f32>> = ms.iter().map(|&m| vec![-7.0f32; m * ldc]).collect();
    let mut sum_out = sums.map(|s| s.to_vec()).unwrap_or_default();
    let lefts: Vec<sgemm::Left> = ms
        .iter()
        .zip(as_)
        .zip(&mut cs)
        .map(|((&m, a), c)| sgemm::Left {
            m,
            a: if trans {
                View { ptr: a.as_ptr(), rs: 1, cs: m }
            } else {
                View { ptr: a.as_ptr(), rs: k, cs: 1 }
            },
            c: c.as_mut_ptr(),
            ldc,
        })
        .collect();
    let sp = if sums.is_some() { sum_out.as_mut_ptr() } else { std::ptr::null_mut() };
    let bv = View { ptr: b.as_ptr(), rs: n, cs: 1 };
    // SAFETY: the views describe the buffers; every output holds `m_g` rows `ldc` apart;
    // `sums` holds `n` floats.
    let ok = unsafe { sgemm_amx_shared_b(&lefts, n, k, bv, threads, sp) };
    if !ok {
        assert!(cs.iter().all(|c| c.iter().all(|&v| v == -7.0)), "declined but wrote an output");
        assert_eq!(bits(&sum_out), bits(sums.unwrap_or_default()), "declined but wrote the sums");
        return None;
    }
    for (c, &m) in cs.iter().zip(ms) {
        for i in 0..m {
            assert!(c[i * ldc + n..(i + 1) * ldc].iter().all(|&v| v == -7.0), "wrote past a row");
        }
    }
    Some((
        cs.into_iter().zip(ms).map(|(c, _)| c.chunks(ldc).flat_map(|r| &r[..n]).copied().collect()).collect(),
        sum_out,
    ))
}

/// The shared-`op(b)` call gives each product the bits [`sgemm_amx`] gives it alone, with
/// either layout of the left operands, ragged shapes and 1-3 threads, and adds the column
/// sums with the bits of a serial loop over the rows from the sums' start values (a column
/// of negative zeros from `-0.0` stays `-0.0`: the steps past `k` are not added).
#[test]
fn shared_b_gives_each_products_bits() {
    if !runs() {
        return;
    }
    for &(ref ms, n, k) in &[
        (vec![128usize, 128], 512usize, 160usize),
        (vec![37, 16, 5], 45, 700),
        (vec![20], 33, 16),
        (vec![64, 33], 100, 1100),
    ] {
        let mut g = Gen((n * 31 + k) as u64);
        let b: Vec<f32> = (0..k * n).map(|i| if i % n == 3 { -0.0 } else { g.normal() }).collect();
        let as_: Vec<Vec<f32>> = ms.iter().map(|&m| (0..m * k).map(|_| g.normal()).collect()).collect();
        let start: Vec<f32> = (0..n).map(|j| if j == 3 { -0.0 } else { g.normal() }).collect();
        let mut serial = start.clone();
        for row in b.chunks(n) {
            serial.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
        assert_eq!(serial[3].to_bits(), (-0.0f32).to_bits());
        let alone: Vec<Vec<f32>> =
            ms.iter().zip(&as_).map(|(&m, a)| amx(m, n, k, a, &b, 1).unwrap()).collect();
        for trans in [false, true] {
            let stored: Vec<Vec<f32>> = if trans {
                ms.iter()
                    .zip(&as_)
                    .map(|(&m, a)| (0..k * m).map(|x| a[(x % m) * k + x / m]).collect())
                    .collect()
            } else {
                as_.clone()
            };
            for threads in [1, 2, 3] {
                let (cs, sums) = shared(ms, &stored, trans, (n, k), &b, threads, Some(&start)).unwrap();
                for (g, (c, a)) in cs.iter().zip(&alone).enumerate() {
                    assert_eq!(bits(c), bits(a), "{ms:?} x {n} x {k}, product {g}, {threads} threads");
                }
                assert_eq!(bits(&sums), bits(&serial), "{ms:?} x {n} x {k} sums, {threads} threads");
                let (plain, _) = shared(ms, &stored, trans, (n, k), &b, threads, None).unwrap();
                assert_eq!(plain, cs, "without sums");
            }
        }
    }
}

/// Operands that need scaling (a gradient with elements near `2^-104`, an `op(a)` near
/// `2^-90`) give the bits of [`sgemm_amx`] alone whatever scale the previous call left as
/// the first guess; NaN or infinity anywhere, no scale at all, `op(b)` not row-major,
/// short or empty shapes and a nested call decline with nothing written.
#[cfg(target_arch = "x86_64")]
#[test]
fn shared_b_scales_and_declines() {
    if !runs() {
        return;
    }
    let (ms, n, k) = ([48usize, 32], 64usize, 96usize);
    let mut g = Gen(77);
    let mut b: Vec<f32> = (0..k * n).map(|_| g.normal()).collect();
    b[5] = 2f32.powi(-104);
    b[7 * n + 9] = -3.0 * 2f32.powi(-110);
    let mut as_: Vec<Vec<f32>> =
        ms.iter().map(|&m| (0..m * k).map(|_| g.normal() * 1e-3).collect()).collect();
    let start = vec![0.0f32; n];
    let check = |as_: &[Vec<f32>], b: &[f32]| {
        let alone: Vec<Vec<f32>> = ms.iter().zip(as_).map(|(&m, a)| amx(m, n, k, a, b, 2).unwrap()).collect();
        for guess in [0, 1, 40, 82, 120, -60] {
            SHARED_B_SCALE.store(guess, std::sync::atomic::Ordering::Relaxed);
            let (cs, _) = shared(&ms, as_, false, (n, k), b, 2, Some(&start)).unwrap();
            for (c, a) in cs.iter().zip(&alone) {
                assert_eq!(bits(c), bits(a), "first guess {guess}");
            }
        }
    };
    check(&as_, &b);
    // `op(a)` too small for the pieces unscaled: a scale of `op(a)` (and of `op(b)`).
    as_[1][3] = 2f32.powi(-90);
    check(&as_, &b);
    as_[1][3] = 0.5;
    // Declines.
    let none = |as_: &[Vec<f32>], b: &[f32], what: &str| {
        assert!(shared(&ms, as_, false, (n, k), b, 2, Some(&start)).is_none(), "{what}");
    };
    for (pos, bad) in [(0, f32::NAN), (k * n - 1, f32::INFINITY)] {
        let mut b2 = b.clone();
        b2[pos] = bad;
        none(&as_, &b2, "non-finite b");
        let mut a2 = as_.clone();
        a2[1][pos % (32 * k)] = bad;
        none(&a2, &b, "non-finite a");
    }
    let (mut a2, mut b2) = (as_.clone(), b.clone());
    a2[0][1] = 2f32.powi(-120);
    a2[0][2] = 2f32.powi(100);
    b2[1] = 2f32.powi(-120);
    b2[2] = 2f32.powi(100);
    none(&a2, &b2, "too wide a range");
    BUF.with(|buf| {
        let _held = buf.borrow_mut();
        none(&as_, &b, "nested call");
    });
    assert!(shared(&[48], &as_[..1], false, (n, MIN_K - 1), &b, 2, None).is_none(), "short k");
    assert!(shared(&[], &[], false, (n, k), &b, 2, None).is_none(), "no product");
    assert!(
        shared(&[0, 32], &[vec![], as_[1].clone()], false, (n, k), &b, 2, None).is_none(),
        "empty product"
    );
    let mut c = vec![-7.0f32; 48 * n];
    let left =
        sgemm::Left { m: 48, a: View { ptr: as_[0].as_ptr(), rs: k, cs: 1 }, c: c.as_mut_ptr(), ldc: n };
    // SAFETY: as `shared`, with `op(b)` read as its transpose (`n x k` stored, `k x n` read).
    let ok = unsafe {
        sgemm_amx_shared_b(&[left], n, k, View { ptr: b.as_ptr(), rs: 1, cs: k }, 2, std::ptr::null_mut())
    };
    assert!(!ok && c.iter().all(|&v| v == -7.0), "transposed op(b)");
    // Too large to pack whole (a 2048 x 2048 x 2048 product).
    let big = vec![0.5f32; 2048 * 2048];
    assert!(
        shared(&[2048], std::slice::from_ref(&big), false, (2048, 2048), &big, 2, None).is_none(),
        "too large"
    );
}
