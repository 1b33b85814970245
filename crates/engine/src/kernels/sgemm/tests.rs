//! The own GEMM against a naive f64 reference, on every operand layout and ragged shapes.

use super::*;

/// Deterministic values in (-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// `op(a) @ op(b)` in f64, `ta`/`tb`: the buffer holds the transpose.
pub(crate) fn naive(m: usize, n: usize, k: usize, a: &[f32], ta: bool, b: &[f32], tb: bool) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                s += av as f64 * bv as f64;
            }
            c[i * n + j] = s;
        }
    }
    c
}

/// Runs the own GEMM on row-major buffers (`ldc` >= n, the gap columns must stay untouched).
#[allow(clippy::too_many_arguments)]
fn run(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    c: &mut [f32],
    ldc: usize,
    acc: bool,
    threads: usize,
) {
    let av = if ta { View { ptr: a.as_ptr(), rs: 1, cs: m } } else { View { ptr: a.as_ptr(), rs: k, cs: 1 } };
    let bv = if tb { View { ptr: b.as_ptr(), rs: 1, cs: k } } else { View { ptr: b.as_ptr(), rs: n, cs: 1 } };
    assert!(c.len() >= m.saturating_sub(1) * ldc + n);
    // SAFETY: the views describe the buffers' layouts; enabled() is checked by the callers.
    unsafe { sgemm(m, n, k, av, bv, c.as_mut_ptr(), ldc, acc, threads) };
}

/// Checks every (ta, tb, accumulate) on one shape, with 1 and 2 threads.
fn check(m: usize, n: usize, k: usize) {
    let a = values(m * k, (m * 31 + k) as u32);
    let b = values(k * n, (n * 17 + k) as u32);
    let ldc = n + 3;
    let init = values(m * ldc, 7);
    // Sums of k products of values below 1: a rounding error of about k * 2^-24 each.
    let tol = 1e-6 * (k as f64 + 8.0);
    for ta in [false, true] {
        for tb in [false, true] {
            let want = naive(m, n, k, &a, ta, &b, tb);
            for acc in [false, true] {
                for threads in [1, 2] {
                    let mut c = init.clone();
                    run(m, n, k, &a, ta, &b, tb, &mut c, ldc, acc, threads);
                    for i in 0..m {
                        for j in 0..ldc {
                            let got = c[i * ldc + j];
                            if j >= n {
                                assert_eq!(got, init[i * ldc + j], "gap column written");
                                continue;
                            }
                            let w = want[i * n + j] + if acc { init[i * ldc + j] as f64 } else { 0.0 };
                            assert!(
                                (got as f64 - w).abs() <= tol,
                                "{m}x{n}x{k} ta={ta} tb={tb} acc={acc} threads={threads} at ({i},{j}): {got} vs {w}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Whether this CPU can run the kernel; says SKIP when not (the test then checks nothing).
fn can_run(test: &str) -> bool {
    if enabled() {
        return true;
    }
    eprintln!("SKIP {test}: no AVX-512F on this CPU (or KERAS_SGEMM=0), the own GEMM is not used");
    false
}

#[test]
fn ragged_shapes_match_naive() {
    if !can_run("ragged_shapes_match_naive") {
        return;
    }
    let sizes = [1, 2, 3, 5, 11, 12, 13, 16, 17, 24, 31, 32, 33, 47, 64, 70];
    for (x, &m) in sizes.iter().enumerate() {
        for (y, &n) in sizes.iter().enumerate() {
            // Every (m, n) pair with a k that cycles through the sizes.
            let k = sizes[(x * 7 + y * 3) % sizes.len()];
            check(m, n, k);
        }
    }
}

#[test]
fn k_blocks_and_row_blocks_match_naive() {
    if !can_run("k_blocks_and_row_blocks_match_naive") {
        return;
    }
    // k over KC_MAX (several k blocks), m over MC_MAX (several row blocks), n over 2 panels.
    for (m, n, k) in [(200, 70, 300), (13, 33, 513), (250, 17, 257), (3, 100, 1000)] {
        check(m, n, k);
    }
}

#[test]
fn workload_shapes_match_naive() {
    if !can_run("workload_shapes_match_naive") {
        return;
    }
    for (m, n, k) in [(128, 512, 784), (32, 512, 128), (32, 128, 1254), (78, 512, 128)] {
        check(m, n, k);
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    if !can_run("results_do_not_depend_on_the_thread_count") {
        return;
    }
    for (m, n, k) in [(100, 300, 600), (300, 40, 70)] {
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let mut c1 = vec![0.0; m * n];
        let mut c3 = vec![0.0; m * n];
        run(m, n, k, &a, false, &b, false, &mut c1, n, false, 1);
        run(m, n, k, &a, false, &b, false, &mut c3, n, false, 3);
        assert!(c1.iter().zip(&c3).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn k_zero_writes_zeros_or_keeps_c() {
    if !can_run("k_zero_writes_zeros_or_keeps_c") {
        return;
    }
    let mut c = vec![5.0; 6];
    run(2, 3, 0, &[], false, &[], false, &mut c, 3, true, 1);
    assert_eq!(c, vec![5.0; 6]);
    run(2, 3, 0, &[], false, &[], false, &mut c, 3, false, 1);
    assert_eq!(c, vec![0.0; 6]);
}

thread_local! {
    /// Tests set this to pack a transposed `op(a)` on this thread (the reference for reading
    /// it in place).
    pub(super) static PACK_AT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[test]
fn a_transposed_a_read_in_place_gives_the_packed_paths_bits() {
    if !can_run("a_transposed_a_read_in_place_gives_the_packed_paths_bits") {
        return;
    }
    // W1's kernel gradients, every edge tile (1 to 12 rows, ragged columns), several `k`
    // blocks and row blocks, and rows of `a` longer than `m` (a Winograd block's stride).
    for (m, n, k, lda) in [
        (784, 512, 128, 784),
        (512, 64, 128, 512),
        (13, 70, 300, 13),
        (5, 33, 7, 9),
        (250, 17, 513, 260),
        (32, 64, 70, 1152),
    ] {
        let a = values(k * lda, 3);
        let b = values(k * n, 4);
        let av = View { ptr: a.as_ptr(), rs: 1, cs: lda };
        let bv = View { ptr: b.as_ptr(), rs: n, cs: 1 };
        for acc in [false, true] {
            let init = values(m * n, 5);
            let (mut in_place, mut packed) = (init.clone(), init);
            // SAFETY: the views describe the buffers (`a` holds `k` rows of `lda >= m` floats).
            unsafe {
                sgemm(m, n, k, av, bv, in_place.as_mut_ptr(), n, acc, 1);
                PACK_AT.set(true);
                sgemm(m, n, k, av, bv, packed.as_mut_ptr(), n, acc, 1);
                PACK_AT.set(false);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&in_place), bits(&packed), "{m}x{n}x{k} lda={lda} acc={acc}");
        }
    }
}

#[test]
fn a_shared_right_operand_gives_each_products_bits() {
    if !can_run("a_shared_right_operand_gives_each_products_bits") {
        return;
    }
    // W3's weight gradients (`X^T dZ`, `H^T dZ`, k = 2560 in 256-step blocks), ragged tiles
    // and columns, a row-major pair, and strides wider than the shapes; 1, 2 and 3 threads.
    for (m1, m2, n, k, transposed) in
        [(128, 128, 512, 2560, true), (13, 7, 70, 300, true), (5, 30, 33, 700, false), (1, 12, 1, 1, true)]
    {
        let (lda1, lda2, ldb, ldc) = if transposed { (m1 + 2, m2, n + 5, n + 3) } else { (k + 1, k, n, n) };
        let rows = |m: usize, lda: usize| if transposed { k * lda } else { m * lda };
        let (a1, a2, b) = (values(rows(m1, lda1), 1), values(rows(m2, lda2), 2), values(k * ldb, 3));
        let view = |a: &[f32], lda: usize| {
            if transposed {
                View { ptr: a.as_ptr(), rs: 1, cs: lda }
            } else {
                View { ptr: a.as_ptr(), rs: lda, cs: 1 }
            }
        };
        let bv = View { ptr: b.as_ptr(), rs: ldb, cs: 1 };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for threads in [1, 2, 3] {
            let (mut c1, mut c2) = (values(m1 * ldc, 4), values(m2 * ldc, 5));
            let (mut r1, mut r2) = (c1.clone(), c2.clone());
            let lefts = [
                Left { m: m1, a: view(&a1, lda1), c: c1.as_mut_ptr(), ldc },
                Left { m: m2, a: view(&a2, lda2), c: c2.as_mut_ptr(), ldc },
            ];
            let mut sums = values(n, 6);
            let mut want = sums.clone();
            for p in 0..k {
                want.iter_mut().zip(&b[p * ldb..p * ldb + n]).for_each(|(s, &v)| *s += v);
            }
            // SAFETY: the views describe the buffers; outputs hold their rows, `sums` `n`.
            unsafe {
                assert!(sgemm_shared_b(&lefts, n, k, bv, threads, sums.as_mut_ptr()));
                sgemm(m1, n, k, view(&a1, lda1), bv, r1.as_mut_ptr(), ldc, false, 1);
                sgemm(m2, n, k, view(&a2, lda2), bv, r2.as_mut_ptr(), ldc, false, 1);
            }
            let what = format!("{m1}+{m2} x {n} x {k} transposed {transposed} threads {threads}");
            assert_eq!(bits(&c1), bits(&r1), "{what}");
            assert_eq!(bits(&c2), bits(&r2), "{what}");
            assert_eq!(bits(&sums), bits(&want), "column sums, {what}");
        }
    }
}

#[test]
fn packing_row_by_row_gives_the_panel_by_panel_bits() {
    if !can_run("packing_row_by_row_gives_the_panel_by_panel_bits") {
        return;
    }
    // W1's half-batch forward and kernel gradients (a row-major `op(b)` of 16 full panels),
    // ragged columns (a last panel packed panel by panel beside full ones), several `k`
    // blocks, a row stride wider than the shape, a packed `op(a)`, accumulating or not.
    for (m, n, k, ta, ldb) in [
        (64, 512, 784, false, 512),
        (64, 512, 512, false, 512),
        (64, 10, 512, false, 10),
        (784, 512, 64, true, 512),
        (13, 70, 600, false, 75),
        (7, 64, 5, false, 64),
        (12, 96, 300, true, 100),
    ] {
        let a = values(m * k, 11);
        let b = values(k * ldb, 12);
        let av =
            if ta { View { ptr: a.as_ptr(), rs: 1, cs: m } } else { View { ptr: a.as_ptr(), rs: k, cs: 1 } };
        let bv = View { ptr: b.as_ptr(), rs: ldb, cs: 1 };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for acc in [false, true] {
            let init = values(m * n, 13);
            let (mut rows, mut panels) = (init.clone(), init);
            // SAFETY: the views describe the buffers; `c` holds `m * n` floats.
            unsafe {
                set_pack_b_rows_outer(Some(true));
                sgemm(m, n, k, av, bv, rows.as_mut_ptr(), n, acc, 1);
                set_pack_b_rows_outer(Some(false));
                sgemm(m, n, k, av, bv, panels.as_mut_ptr(), n, acc, 1);
                set_pack_b_rows_outer(None);
            }
            assert_eq!(bits(&rows), bits(&panels), "{m}x{n}x{k} ta={ta} ldb={ldb} acc={acc}");
        }
        // A packed `op(a)` (the transposed `a` packed): the other path through `pack_b`.
        PACK_AT.set(true);
        let (mut rows, mut panels) = (vec![0.0; m * n], vec![0.0; m * n]);
        // SAFETY: as above.
        unsafe {
            set_pack_b_rows_outer(Some(true));
            sgemm(m, n, k, av, bv, rows.as_mut_ptr(), n, false, 1);
            set_pack_b_rows_outer(Some(false));
            sgemm(m, n, k, av, bv, panels.as_mut_ptr(), n, false, 1);
            set_pack_b_rows_outer(None);
        }
        PACK_AT.set(false);
        assert_eq!(bits(&rows), bits(&panels), "packed a, {m}x{n}x{k}");
    }
}

#[test]
fn the_streamed_path_matches_naive_and_sums_in_blocks() {
    if !can_run("the_streamed_path_matches_naive_and_sums_in_blocks") {
        return;
    }
    // W1's half-batch forward, the head, ragged rows and columns, several blocks (a last one
    // shorter), rows of `a` and `b` wider than the shape, `k` 0.
    for (m, n, k, lda, ldb, ldc) in [
        (64, 512, 784, 784, 512, 512),
        (64, 10, 512, 512, 10, 10),
        (13, 70, 600, 601, 75, 71),
        (1, 33, 5, 5, 33, 33),
        (128, 64, 257, 257, 64, 64),
        (3, 40, 0, 1, 40, 40),
    ] {
        let a = values(m * lda.max(1), 21);
        let b = values(k * ldb, 22);
        let mut c = values(m * ldc, 23);
        let init = c.clone();
        let av = View { ptr: a.as_ptr(), rs: lda, cs: 1 };
        let bv = View { ptr: b.as_ptr(), rs: ldb, cs: 1 };
        // SAFETY: the views describe the buffers; `c` holds `m` rows of `ldc >= n` floats.
        unsafe { sgemm_streamed_b(m, n, k, av, bv, c.as_mut_ptr(), ldc, NO_POST) };
        // The packed path with the same blocks gives the same bits (both sum each block from
        // zero in order, then add the blocks in order).
        let blocks = k.div_ceil(KC_STREAM).max(1);
        let kcb = k.div_ceil(blocks).max(1);
        let mut want = vec![0.0f32; m * n];
        for (bi, p0) in (0..k).step_by(kcb).enumerate() {
            let kc = kcb.min(k - p0);
            let sub_a = View { ptr: a[p0..].as_ptr(), rs: lda, cs: 1 };
            let sub_b = View { ptr: b[p0 * ldb..].as_ptr(), rs: ldb, cs: 1 };
            // SAFETY: the sub-views lie inside the buffers.
            unsafe { sgemm(m, n, kc, sub_a, sub_b, want.as_mut_ptr(), n, bi > 0, 1) };
        }
        for i in 0..m {
            for j in 0..ldc {
                let got = c[i * ldc + j];
                if j >= n {
                    assert_eq!(got.to_bits(), init[i * ldc + j].to_bits(), "gap column written");
                    continue;
                }
                assert_eq!(got.to_bits(), want[i * n + j].to_bits(), "{m}x{n}x{k} at ({i},{j})");
                let exact: f64 = (0..k).map(|p| a[i * lda + p] as f64 * b[p * ldb + j] as f64).sum();
                assert!((got as f64 - exact).abs() <= 1e-6 * (k as f64 + 8.0), "{m}x{n}x{k}: {got} {exact}");
            }
        }
    }
}

#[test]
fn the_streamed_paths_bias_and_relu_give_the_bits_of_a_pass_after_it() {
    if !can_run("the_streamed_paths_bias_and_relu_give_the_bits_of_a_pass_after_it") {
        return;
    }
    // One block and several, ragged columns, `k` 0; sums and biases that hit relu's edge
    // cases (NaN, both zeros, negative, infinite).
    for (m, n, k) in [(64, 512, 784), (13, 70, 200), (128, 33, 257), (3, 40, 0)] {
        let mut a = values(m * k, 31);
        let b = values(k * n, 32);
        if k > 0 {
            a[0] = f32::NAN;
            a[k] = f32::INFINITY;
        }
        let bias: Vec<f32> = (0..n)
            .map(|j| match j % 6 {
                0 => -0.0,
                1 => 0.0,
                2 => -1e30,
                3 => f32::NEG_INFINITY,
                _ => (j as f32 * 0.7).sin(),
            })
            .collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let av = View { ptr: a.as_ptr(), rs: k.max(1), cs: 1 };
        let bv = View { ptr: b.as_ptr(), rs: n, cs: 1 };
        let mut plain = vec![f32::NAN; m * n];
        // SAFETY: the views describe the buffers; `plain` holds `m x n` floats.
        unsafe { sgemm_streamed_b(m, n, k, av, bv, plain.as_mut_ptr(), n, NO_POST) };
        for relu in [false, true] {
            for with_bias in [false, true] {
                let mut want = plain.clone();
                for row in want.chunks_mut(n) {
                    for (v, &bb) in row.iter_mut().zip(&bias) {
                        let x = if with_bias { *v + bb } else { *v };
                        *v = if !relu || x > 0.0 { x } else { 0.0 };
                    }
                }
                let post = Post { bias: if with_bias { bias.as_ptr() } else { std::ptr::null() }, relu };
                let mut got = vec![f32::NAN; m * n];
                // SAFETY: as above; the bias holds `n` floats.
                unsafe { sgemm_streamed_b(m, n, k, av, bv, got.as_mut_ptr(), n, post) };
                assert_eq!(bits(&got), bits(&want), "{m}x{n}x{k} relu {relu} bias {with_bias}");
            }
        }
    }
}
