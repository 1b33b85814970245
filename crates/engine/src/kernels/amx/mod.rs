//! An `f32`-accurate GEMM on the AMX unit ("bf16x6"): each `f32` operand is split exactly
//! into three `bf16` pieces and their products are summed by `tdpbf16ps`.
//!
//! # Numerics
//! Every element `x` of `op(a)` and `op(b)` (times a power-of-two scale, see below) becomes
//! `hi + mid + lo` exactly, each piece a `bf16` value: `hi` is `x` rounded to 8 significant
//! bits, `mid` the same of `x - hi`, `lo = x - hi - mid` (Veltkamp's splitting twice; every
//! difference exact in `f32`). A product `a . b` keeps six of the nine piece products,
//! `hi.hi`, `hi.mid`, `hi.lo`, `mid.hi`, `mid.mid`, `lo.hi`, in that order per 32-step chunk;
//! the dropped `mid.lo + lo.mid + lo.lo` are below about `2^-24 |a b|`. Each piece product
//! is exact in `f32` (8 x 8 significant bits) and AMX adds it with one rounding, into one
//! accumulator tile per output tile (`kernel::ONE_ACC`; a second accumulator for the five
//! smaller terms, `hi.hi` apart, is more accurate, 0.2-0.6x the FMA GEMM's error from
//! `k = 31` on, but leaves no tiles for a `32 x 32` kernel: 8-13% slower on W1's products).
//! `k` is summed in blocks of at most 1024 steps, each block's sum added to `c` in order
//! (the first stored, or added with `accumulate`), as the own FMA GEMM's blocks. Every
//! element's sum runs in the same order whatever the thread count: the result does not
//! depend on it.
//!
//! Measured against an `f64` reference (`tests`, BENCHMARKS.md "amx20"), the largest
//! `|c - c64| / sum |a||b|` is at most 1.27x the own FMA GEMM's on the same inputs for every
//! `k` the driver takes (`k >= 16`; N(0, 1), U[0, 1) and magnitudes mixed over `2^+-20`),
//! and below it (0.44-0.87x) from `k = 128` on: AMX's sums round less often than a chain of
//! FMAs. Short products (`k < 16`) are declined (`MIN_K`): at `k <= 3` the dropped terms
//! and the single accumulator's roundings reach 2-3.5x the FMA's one rounding.
//!
//! # Specials
//! AMX reads `bf16` subnormals as zero and flushes subnormal results, and the split needs
//! `|x| * 65537` finite. While packing, the driver records each operand's largest and
//! smallest non-zero magnitude and declines (returns `false`, `c` untouched, so that the
//! caller runs the FMA path) where an element is NaN or infinite, or where no power-of-two
//! scales `2^s` (of `a`) and `2^t` (of `b`) make every piece a normal `bf16` (smallest `|x|`
//! at least `2^-103` after scaling, largest below `2^111`), every piece product a multiple
//! of `2^-126` (so neither a product nor a partial sum is ever subnormal: the smallest
//! magnitudes' exponents sum to at least `-80`), and every sum of magnitudes below `2^126`
//! (no overflow). Scales are `1` where those hold already (the common case, one packing
//! pass); otherwise the operands are packed again scaled and the sums are scaled back by
//! `2^-(s + t)` in `f64` (one rounding). Zeros (of either sign) take no part; a sum of
//! zeros is `+0`.
//!
//! # Use
//! [`available`] says whether this CPU and OS run it (x86-64 with AMX-TILE, AMX-BF16,
//! AVX512-BF16 and AVX-512F/BW/VL, tile data permitted by Linux; `KERAS_AMX=0` turns it off);
//! `sgemm_amx` is the driver with the own GEMM's contract
//! (`kernels::sgemm::sgemm`). Work is split over the pool's threads by pairs of column
//! blocks where `n >= m`, else by pairs of row blocks, in two parallel regions: each part
//! packs its share of the operand so split and a whole copy of its own of the other
//! (which it reads whole), then runs the kernels on its share. Packing the shared operand
//! once in shares instead made the threads read each other's freshly written blocks: W1's
//! six products on two threads 908-1022 us against 790-864 with private copies (Intel Xeon
//! model 207; BENCHMARKS.md "amx20").

#[cfg(target_arch = "x86_64")]
mod adam_probe;
#[cfg(target_arch = "x86_64")]
mod kernel;
mod pack;
pub mod prepacked;
#[cfg(test)]
mod tests;

pub(crate) use super::sgemm::View;
#[cfg(target_arch = "x86_64")]
pub use adam_probe::bench_adam_overlap;
use pack::Range;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::OnceLock;

/// Whether `sgemm_amx` (the crate's AMX GEMM) runs on this machine: x86-64 with AMX-TILE, AMX-BF16, AVX512-BF16,
/// AVX-512F/BW/VL, Linux granting this process the tile data state (asked once), and
/// `KERAS_AMX` not `0` (read once, here). False on every other CPU and target.
pub fn available() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("KERAS_AMX").as_deref() != Ok("0") && detect())
}

/// The CPUID bits and the OS permission ([`available`]).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    use std::arch::x86_64::__cpuid_count;
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 CPU; leaf 7 is read only when leaf 0 lists it.
    let (max_leaf, l7, l71) = unsafe {
        let max_leaf = __cpuid_count(0, 0).eax;
        if max_leaf < 7 {
            return false;
        }
        (max_leaf, __cpuid_count(7, 0), __cpuid_count(7, 1))
    };
    let _ = max_leaf;
    let amx_tile = l7.edx >> 24 & 1 == 1;
    let amx_bf16 = l7.edx >> 22 & 1 == 1;
    let avx512_bf16 = l71.eax >> 5 & 1 == 1;
    if !(amx_tile
        && amx_bf16
        && avx512_bf16
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl"))
    {
        return false;
    }
    // arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): the process may use tile data
    // from now on (Linux 5.16+); anything but 0 means no.
    let ret: i64;
    // SAFETY: a plain system call with integer arguments; it clobbers rcx and r11.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") 158i64 => ret,
            in("rdi") 0x1023i64,
            in("rsi") 18i64,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret == 0
}

/// No AMX off x86-64 Linux.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

thread_local! {
    /// The calling thread's packed operands, kept between calls (no page faults per GEMM);
    /// the pool's threads fill and read parts of it during a call.
    static BUF: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
}

/// Most 32-step chunks summed in one accumulator run (1024 steps): longer products are
/// summed block by block, each block's sum added to `c` in order (fewer large roundings for
/// long `k`). W1's products (`k <= 784`) run in one block: each output block's sums go
/// straight into `c`, with one kernel call. Measured (Intel Xeon model 207, `amx_gemm`, 201
/// reps, two pairs, W1's 128 x 784 x 512 on two threads): 16 chunks (784 steps as 416 +
/// 368) 298-299 us, 32 chunks 250-255 us; 8, 4, 3 and 2 chunks slower still than 16 on every
/// W1 product. Accuracy gate at `k = 4096` (four blocks): 0.71-0.80x the FMA GEMM's error
/// (16 chunks: 0.41-0.65x).
const KB_MAX: usize = 32;

/// A pointer the threads of one call share, each touching disjoint parts (or only reading).
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: the driver hands each thread disjoint blocks of the packed buffer and of `c`.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so that closures capture the `Sync` wrapper, not its field).
    fn get(self) -> *mut T {
        self.0
    }
}

/// A product's geometry: blocks of 16 rows / columns and 32-step chunks.
#[derive(Clone, Copy)]
struct Geometry {
    m: usize,
    n: usize,
    k: usize,
    row_blocks: usize,
    col_blocks: usize,
    chunks: usize,
}

impl Geometry {
    fn new(m: usize, n: usize, k: usize) -> Geometry {
        Geometry { m, n, k, row_blocks: m.div_ceil(16), col_blocks: n.div_ceil(16), chunks: k.div_ceil(32) }
    }
    /// `u16`s of packed `op(a)` (then `op(b)` follows).
    fn a_len(&self) -> usize {
        self.row_blocks * self.chunks * 1536
    }
    fn b_len(&self) -> usize {
        self.col_blocks * self.chunks * 1536
    }
}

/// `floor(log2 |x|)` of a non-zero finite magnitude's bits.
fn exponent(bits: u32) -> i32 {
    if bits >= 0x0080_0000 {
        (bits >> 23) as i32 - 127
    } else {
        31 - bits.leading_zeros() as i32 - 149
    }
}

/// The exponents that bound the scales of one product ([`scales`]).
struct Window {
    a_lo: i32,
    a_hi: i32,
    b_lo: i32,
    b_hi: i32,
    /// Least and greatest `s + t`: piece products on a grid of at least `2^-126`, sums of
    /// magnitudes below `2^126`.
    s_lo: i32,
    s_hi: i32,
}

impl Window {
    /// Whether `(s, t)` make the split product exact as the module says.
    fn fits(&self, s: i32, t: i32) -> bool {
        self.a_lo + s >= -103
            && self.b_lo + t >= -103
            && self.a_hi + s <= 110
            && self.b_hi + t <= 110
            && (self.s_lo..=self.s_hi).contains(&(s + t))
            && (-126..=127).contains(&s)
            && (-126..=127).contains(&t)
    }
}

/// The window of a product whose operands both have a non-zero element, all finite.
fn window(ra: Range, rb: Range, k: usize) -> Window {
    let (a_lo, a_hi) = (exponent(ra.min_nz), exponent(ra.max));
    let (b_lo, b_hi) = (exponent(rb.min_nz), exponent(rb.max));
    let lk = usize::BITS as i32 - (k.max(1) - 1).leading_zeros() as i32;
    Window { a_lo, a_hi, b_lo, b_hi, s_lo: -80 - a_lo - b_lo, s_hi: 124 - lk - a_hi - b_hi }
}

/// Whether `(s, t)` make the split product of operands of ranges `ra`, `rb` exact, as
/// [`scales`] would accept them: finite elements; `(0, 0)` where an operand has no non-zero.
#[cfg(target_arch = "x86_64")]
fn exact_under(ra: Range, rb: Range, k: usize, (s, t): (i32, i32)) -> bool {
    if ra.max >= 0x7f80_0000 || rb.max >= 0x7f80_0000 {
        return false;
    }
    if ra.min_nz == u32::MAX || rb.min_nz == u32::MAX {
        return (s, t) == (0, 0);
    }
    window(ra, rb, k).fits(s, t)
}

/// The scale of `op(b)` that the last [`sgemm_amx_shared_b`] settled on, its first packing's
/// guess for the next. A guess only: any exact scale gives the same bits.
#[cfg(target_arch = "x86_64")]
static SHARED_B_SCALE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The scales `(s, t)` (powers of two of `op(a)` and `op(b)`) under which the split product
/// is exact as the module says, `(0, 0)` where possible; `None` where none exist or an
/// element is not finite. An operand of zeros only takes no part (its product is zero).
fn scales(ra: Range, rb: Range, k: usize) -> Option<(i32, i32)> {
    if ra.max >= 0x7f80_0000 || rb.max >= 0x7f80_0000 {
        return None;
    }
    if ra.min_nz == u32::MAX || rb.min_nz == u32::MAX {
        return Some((0, 0));
    }
    let w = window(ra, rb, k);
    if w.fits(0, 0) {
        return Some((0, 0));
    }
    if w.s_lo > w.s_hi {
        return None;
    }
    let sum = (w.s_lo + w.s_hi) / 2;
    // `s` within both operands' own bounds (`t = sum - s`), then the nearest to half the sum.
    let lo = (-103 - w.a_lo).max(sum - 110 + w.b_hi);
    let hi = (110 - w.a_hi).min(sum + 103 + w.b_lo);
    if lo > hi {
        return None;
    }
    let s = (sum / 2).clamp(lo, hi);
    let t = sum - s;
    w.fits(s, t).then_some((s, t))
}

/// [`scales`], but a scale of one operand alone where one exists (`op(b)`'s first): only
/// that operand is then packed again. Any exact scales give the same bits (the sums are
/// scaled by a power of two, exactly, and back in `f64`), so this changes the cost only.
#[cfg(target_arch = "x86_64")]
fn one_sided_scales(ra: Range, rb: Range, k: usize) -> Option<(i32, i32)> {
    let st = scales(ra, rb, k)?;
    if st == (0, 0) {
        return Some(st);
    }
    let w = window(ra, rb, k);
    let t = ((-103 - w.b_lo).max(w.s_lo) + (110 - w.b_hi).min(w.s_hi)) / 2;
    if w.fits(0, t) {
        return Some((0, t));
    }
    let s = ((-103 - w.a_lo).max(w.s_lo) + (110 - w.a_hi).min(w.s_hi)) / 2;
    if w.fits(s, 0) {
        return Some((s, 0));
    }
    Some(st)
}

/// `2^e` for `e` in `-126..=127`.
fn pow2(e: i32) -> f32 {
    f32::from_bits(((e + 127) as u32) << 23)
}

/// How one call splits over threads: `parts` parts, by pairs of column blocks (`by_cols`) or
/// of row blocks, each part packing and then computing its own; with `private`, the
/// operand every part reads whole (`op(a)` when split by columns, `op(b)` by rows) is packed
/// by each part into a copy of its own instead of in shares, so that no thread reads blocks
/// another one wrote (the other threads' shares come from their caches otherwise).
#[derive(Clone, Copy)]
struct Plan {
    parts: usize,
    by_cols: bool,
    private: bool,
    /// `op(b)` comes packed already ([`prepacked::Packed`]): the buffer holds `op(a)` only.
    pre_b: bool,
}

impl Plan {
    /// The split of `g` over `threads`: the larger dimension (each part reads all of the
    /// smaller operand's blocks), in pairs of blocks (the 32 x 32 kernel).
    fn new(g: &Geometry, threads: usize) -> Plan {
        let (pairs, col_pairs) = (g.row_blocks.div_ceil(2), g.col_blocks.div_ceil(2));
        let parts = threads.clamp(1, col_pairs.max(pairs));
        let by_cols = col_pairs >= parts && (g.n >= g.m || pairs < parts);
        Plan { parts, by_cols, private: parts > 1 && private_operand(), pre_b: false }
    }
    /// Copies of packed `op(a)` and of `op(b)` in the buffer.
    fn copies(&self) -> (usize, usize) {
        let (ca, cb) = match (self.private, self.by_cols) {
            (true, true) => (self.parts, 1),
            (true, false) => (1, self.parts),
            _ => (1, 1),
        };
        (ca, if self.pre_b { 0 } else { cb })
    }
    /// `u16`s of the buffer (before alignment).
    fn len(&self, g: &Geometry) -> usize {
        let (ca, cb) = self.copies();
        ca * g.a_len() + cb * g.b_len()
    }
    /// Part `p`'s row pairs and column blocks (the kernels' share).
    fn share(&self, g: &Geometry, p: usize) -> (usize, usize, usize, usize) {
        let (pairs, col_pairs, n) = (g.row_blocks.div_ceil(2), g.col_blocks.div_ceil(2), self.parts);
        if n == 1 {
            (0, pairs, 0, g.col_blocks)
        } else if self.by_cols {
            (0, pairs, 2 * (p * col_pairs / n), (2 * ((p + 1) * col_pairs / n)).min(g.col_blocks))
        } else {
            (p * pairs / n, (p + 1) * pairs / n, 0, g.col_blocks)
        }
    }
    /// Part `p`'s packed `op(a)` and `op(b)` in `buf` (`op(b)`'s is meaningless with
    /// `pre_b`).
    fn regions(&self, g: &Geometry, buf: *mut u16, p: usize) -> (*mut u16, *mut u16) {
        let (ca, cb) = self.copies();
        let b0 = ca * g.a_len();
        // SAFETY (of the offsets): within `len`.
        unsafe {
            (
                buf.add(if ca > 1 { p * g.a_len() } else { 0 }),
                buf.add(b0 + if cb > 1 { p * g.b_len() } else { 0 }),
            )
        }
    }
}

/// Whether [`Plan`] packs the operand every thread reads whole once per thread (see the
/// module's documentation for the figures); `KERAS_AMX_PRIVATE=0` packs it in shares
/// instead (to measure; read once, here).
fn private_operand() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var("KERAS_AMX_PRIVATE").as_deref() != Ok("0"))
}

/// Packs `op(a)` and `op(b)` (times `2^s`, `2^t`) into `buf` as `plan` lays them out, split
/// over its parts, and returns both operands' ranges.
///
/// # Safety
/// The views describe readable matrices of `g`'s shapes; `buf` holds `plan.len(g)` writable
/// `u16`s, 64-byte aligned.
unsafe fn pack_all(
    g: Geometry,
    a: View,
    b: View,
    (s, t): (i32, i32),
    buf: *mut u16,
    plan: Plan,
) -> (Range, Range) {
    let (sa, sb) = (pow2(s), pow2(t));
    let out = Shared(buf);
    let part = |p: usize| {
        let n = plan.parts;
        let (rp0, rp1, cb0, cb1) = plan.share(&g, p);
        // Blocks this part packs: its share of the operand it splits, and of the other all
        // (a private copy) or a share in pairs of blocks.
        let ((r0, r1), (c0, c1)) = if n == 1 {
            ((0, g.row_blocks), (0, g.col_blocks))
        } else {
            let (rp, cp) = (g.row_blocks.div_ceil(2), g.col_blocks.div_ceil(2));
            let row_share =
                ((2 * (p * rp / n)).min(g.row_blocks), (2 * ((p + 1) * rp / n)).min(g.row_blocks));
            let col_share =
                ((2 * (p * cp / n)).min(g.col_blocks), (2 * ((p + 1) * cp / n)).min(g.col_blocks));
            match (plan.private, plan.by_cols) {
                (true, true) => ((0, g.row_blocks), (cb0, cb1)),
                (true, false) => {
                    (((2 * rp0).min(g.row_blocks), (2 * rp1).min(g.row_blocks)), (0, g.col_blocks))
                }
                _ => (row_share, col_share),
            }
        };
        let (pa, pb) = plan.regions(&g, out.get(), p);
        // SAFETY: parts pack disjoint blocks, or their own copies.
        unsafe {
            let ra = pack::pack_a(a, g.m, g.k, r0, r1, g.chunks, sa, pa);
            if plan.pre_b {
                return (ra, Range::EMPTY);
            }
            let rb = pack::pack_b(b, g.n, g.k, c0, c1, (g.chunks, 0, g.chunks), sb, pb);
            (ra, rb)
        }
    };
    if plan.parts == 1 {
        part(0)
    } else {
        (0..plan.parts)
            .into_par_iter()
            .map(part)
            .reduce(|| (Range::EMPTY, Range::EMPTY), |x, y| (x.0.merge(y.0), x.1.merge(y.1)))
    }
}

/// Runs the kernels over the packed operands in `buf` into `c`, split as `plan` says
/// (`op(b)` at `pre_b` where the plan says it comes packed). `unscale` multiplies the sums
/// (in `f64`) where the operands were scaled.
///
/// # Safety
/// AMX [`available`]; `buf` as [`pack_all`] left it with `plan`, `pre_b` the packed `op(b)`
/// of `g`'s shape with `plan.pre_b`; `c` holds `m` rows of `n` writable floats, `ldc` apart.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn compute_all(
    g: Geometry,
    buf: *mut u16,
    pre_b: *const u16,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    unscale: Option<f64>,
    plan: Plan,
) {
    let (out, packed, pre) = (Shared(c), Shared(buf), Shared(pre_b.cast_mut()));
    let part = |p: usize| {
        let (rp0, rp1, cb0, cb1) = plan.share(&g, p);
        let (pa, pb) = plan.regions(&g, packed.get(), p);
        let pb = if plan.pre_b { pre.get() } else { pb };
        // SAFETY: as this function's contract; parts write disjoint blocks of `c`.
        unsafe { compute_block(g, pa, pb, out.get(), ldc, accumulate, unscale, rp0, rp1, cb0, cb1) };
    };
    if plan.parts == 1 {
        part(0);
    } else {
        (0..plan.parts).into_par_iter().for_each(part);
    }
}

/// Pairs of row blocks `rp0..rp1` times column blocks `cb0..cb1`, on the calling thread.
///
/// # Safety
/// As [`compute_all`], for the block.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn compute_block(
    g: Geometry,
    pa: *const u16,
    pb: *const u16,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    unscale: Option<f64>,
    rp0: usize,
    rp1: usize,
    cb0: usize,
    cb1: usize,
) {
    #[repr(C, align(64))]
    struct Tiles([f32; 1024]);
    let mut tiles = Tiles([0.0; 1024]);
    let t = tiles.0.as_mut_ptr();
    let block = g.chunks * 1536;
    let kb = g.chunks.div_ceil(g.chunks.div_ceil(KB_MAX));
    kernel::configure();
    for c0 in (0..g.chunks).step_by(kb) {
        let cn = kb.min(g.chunks - c0);
        let add = accumulate || c0 > 0;
        // Column groups (pairs of blocks, a last single one) outer where this thread reads at
        // least twice as many column blocks as row blocks, row pairs outer otherwise: the
        // inner operand is read again for each outer block, and is the smaller, which stays in
        // L2. Measured (Intel Xeon model 207, `amx_gemm`, two pairs): W1's 128 x 784 x 512 on
        // one thread (32 column blocks, 8 row blocks) 483-515 -> 401-402 us with columns
        // outer, two threads (16, 8) 227-229 -> 230-233 us; 784 x 128 x 512 on two threads
        // (32, 24) 181-182 us rows outer, 193-205 columns outer.
        let groups = (cb1 - cb0).div_ceil(2);
        let cols_outer = cb1 - cb0 >= 4 * (rp1 - rp0);
        let (outer, inner) = if cols_outer { (groups, rp1 - rp0) } else { (rp1 - rp0, groups) };
        for o in 0..outer {
            for i in 0..inner {
                let (g_idx, rp) = if cols_outer { (o, rp0 + i) } else { (i, rp0 + o) };
                let cb = cb0 + 2 * g_idx;
                let width = if kernel::ONE_ACC && cb + 1 < cb1 { 2 } else { 1 };
                let bp = pb.add(cb * block + c0 * 1536) as *const u8;
                let j0 = cb * 16;
                let rb = 2 * rp;
                let ap = pa.add(rb * block + c0 * 1536) as *const u8;
                let two = rb + 1 < g.row_blocks;
                let i0 = rb * 16;
                if two && width == 2 {
                    let (rows, cols) = (32.min(g.m - i0), 32.min(g.n - j0));
                    let ct = c.add(i0 * ldc + j0);
                    let (a1, b1) = (ap.add(block * 2), bp.add(block * 2));
                    if !add && unscale.is_none() && rows == 32 && cols == 32 {
                        // The sums are final: straight into `c`. The next row pair's lines of
                        // `c` are asked for (for writing) meanwhile.
                        // (The next block: the next row pair's or the next column group's.)
                        let next = if cols_outer {
                            (rp + 1 < rp1).then(|| ct.wrapping_add(32 * ldc))
                        } else {
                            (g_idx + 1 < inner).then(|| ct.wrapping_add(32))
                        };
                        if let (true, Some(next)) = (prefetch_c(), next) {
                            for r in 0..32 {
                                let line = next.wrapping_add(r * ldc) as *const i8;
                                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(line);
                                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(
                                    line.wrapping_add(64),
                                );
                            }
                        }
                        kernel::two_by_two(ap, a1, bp, b1, cn, ct, ldc);
                    } else {
                        kernel::two_by_two(ap, a1, bp, b1, cn, t, 32);
                        store(t, 32, rows, cols, ct, ldc, add, unscale);
                    }
                    continue;
                }
                for q in 0..width {
                    let (jq, bq) = (j0 + 16 * q, bp.add(q * block * 2));
                    let cols = 16.min(g.n - jq);
                    if two {
                        kernel::two_rows(ap, ap.add(block * 2), bq, cn, t);
                    } else {
                        kernel::one_row(ap, bq, cn, t);
                    }
                    for r in 0..2.min(g.row_blocks - rb) {
                        let i0 = (rb + r) * 16;
                        let rows = 16.min(g.m - i0);
                        store(t.add(r * 512), 16, rows, cols, c.add(i0 * ldc + jq), ldc, add, unscale);
                    }
                }
            }
        }
    }
    kernel::release();
}

/// `c (+)= hi + lo` (times `unscale`) for the `rows x cols` corner of sums at `t` (rows
/// `ldt` floats apart; `lo` 256 floats after `hi` with two accumulators, none with
/// [`kernel::ONE_ACC`]).
///
/// # Safety
/// `t` holds the sums; `c` `rows` rows of `cols` writable floats, `ldc` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn store(
    t: *const f32,
    ldt: usize,
    rows: usize,
    cols: usize,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    unscale: Option<f64>,
) {
    for i in 0..rows {
        let hi = std::slice::from_raw_parts(t.add(i * ldt), cols);
        let lo =
            std::slice::from_raw_parts(t.add(if kernel::ONE_ACC { i * ldt } else { 256 + i * ldt }), cols);
        let row = std::slice::from_raw_parts_mut(c.add(i * ldc), cols);
        let sum = |h: f32, l: f32| if kernel::ONE_ACC { h } else { h + l };
        match (unscale, accumulate) {
            (None, false) => row.iter_mut().zip(hi.iter().zip(lo)).for_each(|(c, (&h, &l))| *c = sum(h, l)),
            (None, true) => row.iter_mut().zip(hi.iter().zip(lo)).for_each(|(c, (&h, &l))| *c += sum(h, l)),
            (Some(u), acc) => row.iter_mut().zip(hi.iter().zip(lo)).for_each(|(c, (&h, &l))| {
                let v = (sum(h, l) as f64 * u) as f32;
                *c = if acc { *c + v } else { v };
            }),
        }
    }
}

/// `c = op(a) @ op(b)` (`c += ...` with `accumulate`) on AMX, for `op(a)` `m x k` and `op(b)`
/// `k x n` ([`View`] strides as [`crate::kernels::sgemm::sgemm`]); row `i` of `c` starts at
/// `c + i * ldc`. Split over `threads` threads of the engine's pool (1: the calling thread).
/// Returns `false`, with `c` untouched, where it declines: AMX not [`available`], fewer than
/// [`MIN_K`] steps (`k = 0` excepted: zeros, or `c` left), operands too large to pack whole
/// ([`MAX_PACKED`]), the calling thread's packing buffer already in use (a nested call), or
/// operands it cannot split exactly (NaN, infinities, magnitudes no scaling brings into range: see the module); the
/// caller then runs the FMA path. Every `View` layout gives the same bits; the fast ones are
/// a row-major or transposed `op(a)` and `op(b)`.
///
/// # Safety
/// `a` and `b` describe readable matrices of those shapes; `c` holds `m` rows of `n`
/// writable floats, `ldc` apart, not overlapping `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm_amx(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    threads: usize,
) -> bool {
    if !available() || (k > 0 && k < MIN_K && m > 0 && n > 0) {
        return false;
    }
    sgemm_amx_any_k(m, n, k, a, b, c, ldc, accumulate, threads)
}

/// Runs `f` on the calling thread's packing buffer (kept between calls), grown to at least
/// `len` `u16`s and 64-byte aligned; `false` without running it where the buffer is in use
/// (a nested call).
fn with_buffer(len: usize, f: impl FnOnce(*mut u16) -> bool) -> bool {
    BUF.with(|buf| {
        let Ok(mut buf) = buf.try_borrow_mut() else {
            return false;
        };
        let need = len + 32;
        if buf.len() < need {
            buf.resize(need, 0);
        }
        let off = buf.as_ptr().align_offset(64).min(32);
        f(buf[off..].as_mut_ptr())
    })
}

/// `c (+)= op(a) @ op(b)` on AMX as [`sgemm_amx`], for `op(b)` columns `j0..j0 + n` of a
/// kernel packed already (`b`, [`prepacked::Packed`]: its `k` steps, `j0` a multiple of 16):
/// only `op(a)` is packed. The same bits as [`sgemm_amx`] on the operand `b` was packed
/// from. Returns `false`, with `c` untouched, where that one declines, where `b` does not
/// fit the call, or where the product would need scaled operands (the caller then calls
/// [`sgemm_amx`], which scales).
///
/// # Safety
/// As [`sgemm_amx`], for `a` and `c`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm_amx_prepacked(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    (b, j0): (&prepacked::Packed, usize),
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    threads: usize,
) -> bool {
    let (bk, bn) = b.op_shape();
    if !available()
        || k < MIN_K
        || bk != k
        || !j0.is_multiple_of(16)
        || j0 + n > bn
        || b.chunks() != k.div_ceil(32)
    {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    let g = Geometry::new(m, n, k);
    let plan = Plan { pre_b: true, ..Plan::new(&g, threads) };
    if plan.len(&g) > MAX_PACKED {
        return false;
    }
    with_buffer(plan.len(&g), |p| {
        let (ra, _) = pack_all(g, a, a, (0, 0), p, plan);
        if scales(ra, b.range(), k) != Some((0, 0)) {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        compute_all(g, p, b.ptr().add(j0 / 16 * g.chunks * 1536), c, ldc, accumulate, None, plan);
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (c, ldc, accumulate);
            unreachable!("available() is false off x86-64");
        }
        true
    })
}

/// `c_g = op(a_g) @ op(b)` on AMX for every left operand `g` of `lefts` (`m_g x k`, read in
/// place by any [`View`]), all with the same row-major right operand `op(b)` (`k x n`,
/// `b.cs == 1`), which is split and packed once for all of them instead of once per
/// product: an LSTM's two weight gradients `X^T dZ` and `H^T dZ` (W3: 128 x 2560 x 512
/// each) share `dZ`. Split over `threads` threads by pairs of column blocks: each part packs
/// its columns of `op(b)` and a copy of its own of every `op(a_g)` (as [`sgemm_amx`]'s
/// private copies), then runs the kernels on its columns of every product. Each `c_g` gets
/// the bits [`sgemm_amx`] gives that product alone, whatever the threads (tested).
///
/// With a non-null `sums` (`n` floats), also adds each column of `op(b)` to `sums[j]` step
/// by step in order while packing it (an LSTM's bias gradient, the column sums of `dZ`): the
/// bits of a serial loop over the rows (tested).
///
/// Returns `false`, with every `c_g` and `sums` untouched, where it declines: AMX not
/// [`available`], `k < MIN_K`, no operand or an empty one, `op(b)` not row-major, packed
/// operands over [`MAX_PACKED`], the calling thread's buffer in use, or operands it cannot
/// split exactly (NaN, infinities, ranges no scale fits; see the module). Operands that need
/// a scale get one for all the products, of one operand alone where possible, and `op(b)` is
/// packed at once times the scale the previous call settled on (a gradient's range changes
/// little between steps), packed again only where that one does not fit: the bits are those
/// of any exact scale. The caller runs the FMA path where it declines.
///
/// # Safety
/// Every `a_g` and `b` describe readable matrices of their shapes; every `c_g` holds `m_g`
/// rows of `n` writable floats, `ldc_g` apart, not overlapping any operand, other output or
/// `sums`; `sums` is null or holds `n` writable floats.
pub(crate) unsafe fn sgemm_amx_shared_b(
    lefts: &[super::sgemm::Left],
    n: usize,
    k: usize,
    b: View,
    threads: usize,
    sums: *mut f32,
) -> bool {
    if !available() || k < MIN_K || n == 0 || b.cs != 1 || lefts.is_empty() || lefts.iter().any(|l| l.m == 0)
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let gs: Vec<Geometry> = lefts.iter().map(|l| Geometry::new(l.m, n, k)).collect();
        let (col_blocks, chunks) = (gs[0].col_blocks, gs[0].chunks);
        let col_pairs = col_blocks.div_ceil(2);
        let parts = threads.clamp(1, col_pairs);
        // Per part: its copies of every `op(a_g)`; then `op(b)` whole, in column shares.
        let a_len: usize = gs.iter().map(Geometry::a_len).sum();
        let len = parts * a_len + gs[0].b_len();
        if len > MAX_PACKED {
            return false;
        }
        // The sums go to a copy, written back only where the products are computed.
        let mut acc = if sums.is_null() { Vec::new() } else { std::slice::from_raw_parts(sums, n).to_vec() };
        let acc_ptr = Shared(if sums.is_null() { std::ptr::null_mut() } else { acc.as_mut_ptr() });
        let columns = |p: usize| {
            let c0 = (2 * (p * col_pairs / parts)).min(col_blocks);
            (c0, (2 * ((p + 1) * col_pairs / parts)).min(col_blocks))
        };
        // `op(b)` is packed times the scale the last call settled on (a gradient's range
        // changes little between steps), not once unscaled and again scaled.
        let t0 = SHARED_B_SCALE.load(std::sync::atomic::Ordering::Relaxed);
        let done = with_buffer(len, |buf| {
            let buf = Shared(buf);
            let b_at = |p: usize| buf.get().add(p * a_len);
            let pb = Shared(b_at(parts));
            // SAFETY (of both closures): parts write their own `op(a_g)` copies, their own
            // column blocks of `op(b)`, `sums` and every `c_g`.
            let pack = |p: usize| -> (Vec<Range>, Range) {
                let (cb0, cb1) = columns(p);
                let mut at = b_at(p);
                let mut ras = Vec::with_capacity(gs.len());
                for (l, g) in lefts.iter().zip(&gs) {
                    ras.push(unsafe { pack::pack_a(l.a, g.m, k, 0, g.row_blocks, chunks, 1.0, at) });
                    at = at.wrapping_add(g.a_len());
                }
                let rb = unsafe {
                    if acc_ptr.get().is_null() {
                        pack::pack_b(b, n, k, cb0, cb1, (chunks, 0, chunks), pow2(t0), pb.get())
                    } else {
                        pack::pack_b_summed(b, n, k, cb0, cb1, chunks, pow2(t0), pb.get(), acc_ptr.get())
                    }
                };
                (ras, rb)
            };
            let packed: Vec<(Vec<Range>, Range)> =
                if parts == 1 { vec![pack(0)] } else { (0..parts).into_par_iter().map(pack).collect() };
            let rb = packed.iter().fold(Range::EMPTY, |r, p| r.merge(p.1));
            // Every part packed every `op(a_g)` whole: part 0's ranges are theirs. One pair of
            // scales for all the products (exact for the widest range is exact for each):
            // the last call's where they are exact here, else where possible of one operand
            // alone; only the operands whose scale changed are packed again.
            let ra = packed[0].0.iter().fold(Range::EMPTY, |r, &x| r.merge(x));
            let (s, t) = if exact_under(ra, rb, k, (0, t0)) {
                (0, t0)
            } else {
                match one_sided_scales(ra, rb, k) {
                    Some(st) => st,
                    None => return false,
                }
            };
            if s != 0 || t != t0 {
                let (sa, sb) = (pow2(s), pow2(t));
                let repack = |p: usize| {
                    let (cb0, cb1) = columns(p);
                    let mut at = b_at(p);
                    for (l, g) in lefts.iter().zip(&gs) {
                        if s != 0 {
                            unsafe { pack::pack_a(l.a, g.m, k, 0, g.row_blocks, chunks, sa, at) };
                        }
                        at = at.wrapping_add(g.a_len());
                    }
                    if t != t0 {
                        unsafe { pack::pack_b(b, n, k, cb0, cb1, (chunks, 0, chunks), sb, pb.get()) };
                    }
                };
                if parts == 1 {
                    repack(0);
                } else {
                    (0..parts).into_par_iter().for_each(repack);
                }
                SHARED_B_SCALE.store(t, std::sync::atomic::Ordering::Relaxed);
            }
            let unscale = ((s, t) != (0, 0)).then(|| 2f64.powi(-(s + t)));
            let compute = |p: usize| {
                let (cb0, cb1) = columns(p);
                let mut at = b_at(p);
                for (l, g) in lefts.iter().zip(&gs) {
                    let pairs = g.row_blocks.div_ceil(2);
                    unsafe {
                        compute_block(*g, at, pb.get(), l.c, l.ldc, false, unscale, 0, pairs, cb0, cb1)
                    };
                    at = at.wrapping_add(g.a_len());
                }
            };
            if parts == 1 {
                compute(0);
            } else {
                (0..parts).into_par_iter().for_each(compute);
            }
            true
        });
        if done && !sums.is_null() {
            std::ptr::copy_nonoverlapping(acc.as_ptr(), sums, n);
        }
        done
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (lefts, threads, sums);
        unreachable!("available() is false off x86-64");
    }
}

/// Most `u16`s of packed operands [`sgemm_amx`] takes (32 MiB; W1's largest product needs
/// 3 MiB): both operands are packed whole into the calling thread's buffer, which is kept,
/// so larger products decline (the FMA GEMM blocks them).
pub(crate) const MAX_PACKED: usize = 16 << 20;

/// Fewest steps [`sgemm_amx`] takes: shorter products decline. Packing costs about what the
/// FMA GEMM spends on such products, and with one accumulator the dropped piece products
/// (`mid.lo + lo.mid`, up to `2^-24 |a b|`) and the roundings of the six terms a step make
/// the error 2-3.5x the FMA GEMM's at `k <= 3` and up to 1.5x at `k = 10` (the accuracy
/// test's table), while from `k = 16` on it is at most 1.27x and from `k = 31` below 1.
pub(crate) const MIN_K: usize = 16;

/// [`sgemm_amx`] for any `k` (the tests' entry: the accuracy table runs from `k = 1`).
///
/// # Safety
/// As [`sgemm_amx`].
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_amx_any_k(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
    threads: usize,
) -> bool {
    if !available() {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::slice::from_raw_parts_mut(c.add(i * ldc), n).fill(0.0);
            }
        }
        return true;
    }
    let g = Geometry::new(m, n, k);
    let plan = Plan::new(&g, threads);
    if plan.len(&g) > MAX_PACKED {
        return false;
    }
    with_buffer(plan.len(&g), |p| {
        let (ra, rb) = pack_all(g, a, b, (0, 0), p, plan);
        let Some((s, t)) = scales(ra, rb, k) else {
            return false;
        };
        if (s, t) != (0, 0) {
            pack_all(g, a, b, (s, t), p, plan);
        }
        let unscale = ((s, t) != (0, 0)).then(|| 2f64.powi(-(s + t)));
        #[cfg(target_arch = "x86_64")]
        compute_all(g, p, std::ptr::null(), c, ldc, accumulate, unscale, plan);
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (c, ldc, accumulate, unscale);
            unreachable!("available() is false off x86-64");
        }
        true
    })
}

/// Which GEMM [`bench_gemm`] runs.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchEngine {
    /// [`sgemm_amx`].
    Amx,
    /// The own FMA GEMM ([`crate::kernels::sgemm::sgemm`]).
    Fma,
}

/// `c (+)= op(a) @ op(b)` on either engine for row-major buffers (`ta` / `tb`: the buffer
/// holds the transpose), `c` `m x n` row-major: for the `amx_gemm` example. `false` where
/// the engine declined or is not available (the own GEMM needs AVX-512F).
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn bench_gemm(
    engine: BenchEngine,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) -> bool {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "buffer too short");
    let (av, bv) = views(m, n, k, a, ta, b, tb);
    match engine {
        // SAFETY: the assert above; the views describe the buffers.
        BenchEngine::Amx => unsafe { sgemm_amx(m, n, k, av, bv, c.as_mut_ptr(), n, accumulate, threads) },
        BenchEngine::Fma => {
            if super::sgemm::mode() == super::sgemm::Mode::Off {
                return false;
            }
            // SAFETY: as above; mode() checked the CPU.
            unsafe { super::sgemm::sgemm(m, n, k, av, bv, c.as_mut_ptr(), n, accumulate, threads) };
            true
        }
    }
}

/// `c_g = a_g^T @ b` for every `(a_g, m_g)` of `lefts` (`a_g` row-major `k x m_g`, the
/// LSTM's `X` and `H`) with the row-major `k x n` `b` (its `dZ`), into `outs[g]` (`m_g x n`),
/// and `b`'s column sums added to `sums` (`n` floats), in one call of either engine's
/// shared-operand product ([`sgemm_amx_shared_b`], [`crate::kernels::sgemm::sgemm_shared_b`]):
/// for the `amx_gemm` example. `false` where the engine declined or is not available (both
/// need AVX-512F).
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
pub fn bench_shared_b(
    engine: BenchEngine,
    lefts: &[(&[f32], usize)],
    (n, k): (usize, usize),
    b: &[f32],
    outs: &mut [Vec<f32>],
    sums: &mut [f32],
    threads: usize,
) -> bool {
    assert!(b.len() >= k * n && sums.len() >= n && outs.len() == lefts.len(), "buffer too short");
    if super::sgemm::mode() == super::sgemm::Mode::Off {
        return false;
    }
    let ls: Vec<super::sgemm::Left> = lefts
        .iter()
        .zip(outs.iter_mut())
        .map(|(&(a, m), c)| {
            assert!(a.len() >= k * m && c.len() >= m * n, "buffer too short");
            super::sgemm::Left { m, a: View { ptr: a.as_ptr(), rs: 1, cs: m }, c: c.as_mut_ptr(), ldc: n }
        })
        .collect();
    let bv = View { ptr: b.as_ptr(), rs: n, cs: 1 };
    // SAFETY: the asserts bound every operand, output and the sums; mode() checked the CPU.
    unsafe {
        match engine {
            BenchEngine::Amx => sgemm_amx_shared_b(&ls, n, k, bv, threads, sums.as_mut_ptr()),
            BenchEngine::Fma => super::sgemm::sgemm_shared_b(&ls, n, k, bv, threads, sums.as_mut_ptr()),
        }
    }
}

/// The views of row-major buffers holding `op(a)` / `op(b)` or (`ta`, `tb`) their transposes.
fn views(m: usize, n: usize, k: usize, a: &[f32], ta: bool, b: &[f32], tb: bool) -> (View, View) {
    let av = if ta { View { ptr: a.as_ptr(), rs: 1, cs: m } } else { View { ptr: a.as_ptr(), rs: k, cs: 1 } };
    let bv = if tb { View { ptr: b.as_ptr(), rs: 1, cs: k } } else { View { ptr: b.as_ptr(), rs: n, cs: 1 } };
    (av, bv)
}

/// Times [`sgemm_amx`]'s two phases apart on the calling thread's buffer: the median
/// microseconds over `reps` rounds of packing both operands (split and scan) and of the
/// kernels on the packed data (into `c`), with `threads` threads. `None` where AMX is not
/// available or the operands would be declined. For the `amx_gemm` example.
///
/// # Panics
/// If a buffer is shorter than its shape says.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn bench_phases(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    c: &mut [f32],
    threads: usize,
    reps: usize,
) -> Option<(f64, f64)> {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "buffer too short");
    if !available() || m == 0 || n == 0 || k == 0 {
        return None;
    }
    let (av, bv) = views(m, n, k, a, ta, b, tb);
    let g = Geometry::new(m, n, k);
    let plan = Plan::new(&g, threads);
    let mut buf = vec![0u16; plan.len(&g) + 32];
    let off = buf.as_ptr().align_offset(64).min(32);
    let p = buf[off..].as_mut_ptr();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut pack_us = Vec::new();
    let mut ranges = (Range::EMPTY, Range::EMPTY);
    for _ in 0..reps.max(1) {
        let t0 = std::time::Instant::now();
        // SAFETY: the views describe the buffers; `buf` holds both packed operands.
        ranges = unsafe { pack_all(g, av, bv, (0, 0), p, plan) };
        pack_us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    if scales(ranges.0, ranges.1, k) != Some((0, 0)) {
        return None;
    }
    let mut kernel_us = Vec::new();
    for _ in 0..reps.max(1) {
        let t0 = std::time::Instant::now();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AMX available; `buf` packed above; `c` holds `m x n` floats.
        unsafe {
            compute_all(g, p, std::ptr::null(), c.as_mut_ptr(), n, false, None, plan)
        };
        kernel_us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    Some((median(pack_us), median(kernel_us)))
}

/// Nanoseconds per `tdpbf16ps` of the `32 x 32` kernel ([`kernel::two_by_two`]) on packed
/// operands of `chunks` chunks that stay in L1 (`fill`: the packed bits, e.g. `0x3f3f` as the
/// probe's or varied), over `reps` calls: the kernel's ceiling. `None` without AMX.
#[doc(hidden)]
pub fn bench_kernel(chunks: usize, reps: usize, varied: bool) -> Option<f64> {
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let len = 4 * chunks * 1536 + 32;
        let mut buf: Vec<u16> = (0..len)
            .map(|i| {
                if varied {
                    (0x3c00 + (i.wrapping_mul(2654435761) >> 7) % 0x700) as u16 ^ ((i as u16 & 1) << 15)
                } else {
                    0x3f3f
                }
            })
            .collect();
        let off = buf.as_ptr().align_offset(64).min(32);
        let p = buf[off..].as_mut_ptr() as *const u8;
        let block = chunks * 3072;
        let mut out = vec![0.0f32; 1024 + 16];
        let o = out.as_mut_ptr();
        let o = o.wrapping_add(o.align_offset(64));
        // SAFETY: AMX available; the buffer holds four blocks of `chunks` chunks; `o` 1024 floats.
        unsafe {
            kernel::configure();
            let t0 = std::time::Instant::now();
            for _ in 0..reps {
                kernel::two_by_two(p, p.add(block), p.add(2 * block), p.add(3 * block), chunks, o, 32);
            }
            let dt = t0.elapsed().as_secs_f64();
            kernel::release();
            Some(dt / (reps * chunks * 24) as f64 * 1e9)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Whether [`compute_block`] asks for the next `32 x 32` block's lines of `c` (prefetch for
/// writing) before each block that stores straight into `c`: the kernel gradients' outputs
/// (1.6 MB for W1's first) are written cold. Measured (W1's six products, two threads, Intel
/// Xeon model 207, 101 reps, two pairs): whole calls 961-973 -> 921-935 us, `dW1` 232-241 ->
/// 216-225 us. `KERAS_AMX_PREFETCH_C=0` turns it off (to measure; read once, here).
fn prefetch_c() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var("KERAS_AMX_PREFETCH_C").as_deref() != Ok("0"))
}
