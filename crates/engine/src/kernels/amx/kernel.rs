//! The AMX tile kernels: `16 x 16` (one row block) or `32 x 16` (two) outputs of the
//! split-bf16 product over every packed `k` chunk, and the tile configuration.
//!
//! Tile registers (all 16 rows of 64 bytes): `tmm0` / `tmm2` the `hi . hi` accumulators of
//! row blocks 0 / 1, `tmm1` / `tmm3` the accumulators of the five smaller terms (with
//! [`ONE_ACC`] these go to `tmm0` / `tmm2` too), `tmm4` / `tmm5` pieces of `B`, `tmm6` /
//! `tmm7` pieces of `A`. Per 32-step chunk and row block the smaller accumulator takes, in
//! this order, `hi . mid`, `hi . lo`, `mid . hi`, `mid . mid`, `lo . hi` (`A` piece first),
//! in both kernels: an element's sum does not depend on which kernel computed it.

use std::arch::asm;

/// Whether the kernels keep every term in one accumulator per output tile (measured
/// against two; see the module's documentation).
pub(super) const ONE_ACC: bool = true;

/// The 64-byte tile configuration (palette 1, eight `16 x 64`-byte tiles).
#[repr(C, align(64))]
struct Config([u8; 64]);

/// Loads the tile configuration on the calling thread.
///
/// # Safety
/// AMX is available and permitted ([`super::available`]); [`release`] must follow before
/// the thread does anything else with tiles.
#[inline]
pub(super) unsafe fn configure() {
    let mut cfg = Config([0; 64]);
    cfg.0[0] = 1;
    for t in 0..8 {
        cfg.0[16 + 2 * t] = 64;
        cfg.0[48 + t] = 16;
    }
    asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly));
}

/// Releases the tiles of the calling thread (back to the init state).
///
/// # Safety
/// As [`configure`].
#[inline]
pub(super) unsafe fn release() {
    asm!("tilerelease", options(nostack, nomem));
}

/// The kernel for two row blocks: `a0`, `a1` their packed chunks, `b` the column block's,
/// `chunks` (>= 1) chunks each (3072 bytes apart: three 1 KiB piece tiles); stores the `hi . hi` sums of block
/// `r` at `out + r * 512` and the others' at `out + r * 512 + 256` (16 rows of 16 floats).
///
/// # Safety
/// Tiles configured ([`configure`]); the packed operands hold `chunks` chunks; `out` holds
/// 1024 writable floats.
#[inline]
pub(super) unsafe fn two_rows(a0: *const u8, a1: *const u8, b: *const u8, chunks: usize, out: *mut f32) {
    macro_rules! body {
        ($l0:literal, $l1:literal) => {
            asm!(
                "tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3",
                "2:",
                "tileloadd tmm4, [{b} + {s}*1]",
                "tileloadd tmm5, [{b} + {s}*1 + 1024]",
                "tileloadd tmm6, [{a0} + {s}*1]",
                "tdpbf16ps tmm0, tmm6, tmm4",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm5"),
                "tileloadd tmm7, [{a1} + {s}*1]",
                "tdpbf16ps tmm2, tmm7, tmm4",
                concat!("tdpbf16ps ", $l1, ", tmm7, tmm5"),
                "tileloadd tmm5, [{b} + {s}*1 + 2048]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm5"),
                concat!("tdpbf16ps ", $l1, ", tmm7, tmm5"),
                "tileloadd tmm6, [{a0} + {s}*1 + 1024]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm4"),
                "tileloadd tmm7, [{a1} + {s}*1 + 1024]",
                concat!("tdpbf16ps ", $l1, ", tmm7, tmm4"),
                "tileloadd tmm5, [{b} + {s}*1 + 1024]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm5"),
                concat!("tdpbf16ps ", $l1, ", tmm7, tmm5"),
                "tileloadd tmm6, [{a0} + {s}*1 + 2048]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm4"),
                "tileloadd tmm7, [{a1} + {s}*1 + 2048]",
                concat!("tdpbf16ps ", $l1, ", tmm7, tmm4"),
                "add {a0}, 3072",
                "add {a1}, 3072",
                "add {b}, 3072",
                "dec {n}",
                "jnz 2b",
                "tilestored [{o} + {s}*1], tmm0",
                "tilestored [{o} + {s}*1 + 1024], tmm1",
                "tilestored [{o} + {s}*1 + 2048], tmm2",
                "tilestored [{o} + {s}*1 + 3072], tmm3",
                a0 = inout(reg) a0 => _,
                a1 = inout(reg) a1 => _,
                b = inout(reg) b => _,
                n = inout(reg) chunks => _,
                o = in(reg) out,
                s = in(reg) 64usize,
                options(nostack),
            )
        };
    }
    if ONE_ACC {
        // tmm1 / tmm3 stay zero: the same stores, the caller's sum unchanged.
        body!("tmm0", "tmm2");
    } else {
        body!("tmm1", "tmm3");
    }
}

/// The kernel for one row block (`a`), as [`two_rows`] for its block 0 (the same terms in
/// the same order): stores at `out` (`hi . hi`) and `out + 256`.
///
/// # Safety
/// As [`two_rows`]; `out` holds 512 writable floats.
#[inline]
pub(super) unsafe fn one_row(a: *const u8, b: *const u8, chunks: usize, out: *mut f32) {
    macro_rules! body {
        ($l0:literal) => {
            asm!(
                "tilezero tmm0", "tilezero tmm1",
                "2:",
                "tileloadd tmm4, [{b} + {s}*1]",
                "tileloadd tmm5, [{b} + {s}*1 + 1024]",
                "tileloadd tmm6, [{a} + {s}*1]",
                "tdpbf16ps tmm0, tmm6, tmm4",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm5"),
                "tileloadd tmm5, [{b} + {s}*1 + 2048]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm5"),
                "tileloadd tmm6, [{a} + {s}*1 + 1024]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm4"),
                "tileloadd tmm5, [{b} + {s}*1 + 1024]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm5"),
                "tileloadd tmm6, [{a} + {s}*1 + 2048]",
                concat!("tdpbf16ps ", $l0, ", tmm6, tmm4"),
                "add {a}, 3072",
                "add {b}, 3072",
                "dec {n}",
                "jnz 2b",
                "tilestored [{o} + {s}*1], tmm0",
                "tilestored [{o} + {s}*1 + 1024], tmm1",
                a = inout(reg) a => _,
                b = inout(reg) b => _,
                n = inout(reg) chunks => _,
                o = in(reg) out,
                s = in(reg) 64usize,
                options(nostack),
            )
        };
    }
    if ONE_ACC {
        body!("tmm0");
    } else {
        body!("tmm1");
    }
}

/// The kernel for two row blocks (`a0`, `a1`) times two column blocks (`b0`, `b1`), one
/// accumulator per output tile (only with [`ONE_ACC`]): per chunk and output tile the terms
/// `hi.hi`, `hi.mid`, `hi.lo`, `mid.hi`, `mid.mid`, `lo.hi`, the order of the other kernels.
/// Stores the `32 x 32` sums at `out`, rows `ldo` floats apart.
///
/// # Safety
/// As [`two_rows`]; `out` holds 32 rows of 32 writable floats, `ldo` apart.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn two_by_two(
    a0: *const u8,
    a1: *const u8,
    b0: *const u8,
    b1: *const u8,
    chunks: usize,
    out: *mut f32,
    ldo: usize,
) {
    let out2 = out.add(16 * ldo);
    asm!(
        "tilezero tmm0", "tilezero tmm1", "tilezero tmm2", "tilezero tmm3",
        "2:",
        "tileloadd tmm4, [{a0} + {s}*1]",
        "tileloadd tmm6, [{b0} + {s}*1]",
        "tdpbf16ps tmm0, tmm4, tmm6",
        "prefetcht0 [{a0} + {pf} + 0]",
        "prefetcht0 [{a0} + {pf} + 64]",
        "prefetcht0 [{a0} + {pf} + 128]",
        "prefetcht0 [{a0} + {pf} + 192]",
        "prefetcht0 [{a0} + {pf} + 256]",
        "prefetcht0 [{a0} + {pf} + 320]",
        "prefetcht0 [{a0} + {pf} + 384]",
        "prefetcht0 [{a0} + {pf} + 448]",
        "tileloadd tmm7, [{b1} + {s}*1]",
        "tdpbf16ps tmm1, tmm4, tmm7",
        "prefetcht0 [{a0} + {pf} + 512]",
        "prefetcht0 [{a0} + {pf} + 576]",
        "prefetcht0 [{a0} + {pf} + 640]",
        "prefetcht0 [{a0} + {pf} + 704]",
        "prefetcht0 [{a0} + {pf} + 768]",
        "prefetcht0 [{a0} + {pf} + 832]",
        "prefetcht0 [{a0} + {pf} + 896]",
        "prefetcht0 [{a0} + {pf} + 960]",
        "tileloadd tmm5, [{a1} + {s}*1]",
        "tdpbf16ps tmm2, tmm5, tmm6",
        "prefetcht0 [{a0} + {pf} + 1024]",
        "prefetcht0 [{a0} + {pf} + 1088]",
        "prefetcht0 [{a0} + {pf} + 1152]",
        "prefetcht0 [{a0} + {pf} + 1216]",
        "prefetcht0 [{a0} + {pf} + 1280]",
        "prefetcht0 [{a0} + {pf} + 1344]",
        "prefetcht0 [{a0} + {pf} + 1408]",
        "prefetcht0 [{a0} + {pf} + 1472]",
        "tdpbf16ps tmm3, tmm5, tmm7",
        "prefetcht0 [{a0} + {pf} + 1536]",
        "prefetcht0 [{a0} + {pf} + 1600]",
        "prefetcht0 [{a0} + {pf} + 1664]",
        "prefetcht0 [{a0} + {pf} + 1728]",
        "prefetcht0 [{a0} + {pf} + 1792]",
        "prefetcht0 [{a0} + {pf} + 1856]",
        "prefetcht0 [{a0} + {pf} + 1920]",
        "prefetcht0 [{a0} + {pf} + 1984]",
        "tileloadd tmm6, [{b0} + {s}*1 + 1024]",
        "tdpbf16ps tmm0, tmm4, tmm6",
        "prefetcht0 [{a0} + {pf} + 2048]",
        "prefetcht0 [{a0} + {pf} + 2112]",
        "prefetcht0 [{a0} + {pf} + 2176]",
        "prefetcht0 [{a0} + {pf} + 2240]",
        "prefetcht0 [{a0} + {pf} + 2304]",
        "prefetcht0 [{a0} + {pf} + 2368]",
        "prefetcht0 [{a0} + {pf} + 2432]",
        "prefetcht0 [{a0} + {pf} + 2496]",
        "tdpbf16ps tmm2, tmm5, tmm6",
        "prefetcht0 [{a0} + {pf} + 2560]",
        "prefetcht0 [{a0} + {pf} + 2624]",
        "prefetcht0 [{a0} + {pf} + 2688]",
        "prefetcht0 [{a0} + {pf} + 2752]",
        "prefetcht0 [{a0} + {pf} + 2816]",
        "prefetcht0 [{a0} + {pf} + 2880]",
        "prefetcht0 [{a0} + {pf} + 2944]",
        "prefetcht0 [{a0} + {pf} + 3008]",
        "tileloadd tmm7, [{b1} + {s}*1 + 1024]",
        "tdpbf16ps tmm1, tmm4, tmm7",
        "prefetcht0 [{a1} + {pf} + 0]",
        "prefetcht0 [{a1} + {pf} + 64]",
        "prefetcht0 [{a1} + {pf} + 128]",
        "prefetcht0 [{a1} + {pf} + 192]",
        "prefetcht0 [{a1} + {pf} + 256]",
        "prefetcht0 [{a1} + {pf} + 320]",
        "prefetcht0 [{a1} + {pf} + 384]",
        "prefetcht0 [{a1} + {pf} + 448]",
        "tdpbf16ps tmm3, tmm5, tmm7",
        "prefetcht0 [{a1} + {pf} + 512]",
        "prefetcht0 [{a1} + {pf} + 576]",
        "prefetcht0 [{a1} + {pf} + 640]",
        "prefetcht0 [{a1} + {pf} + 704]",
        "prefetcht0 [{a1} + {pf} + 768]",
        "prefetcht0 [{a1} + {pf} + 832]",
        "prefetcht0 [{a1} + {pf} + 896]",
        "prefetcht0 [{a1} + {pf} + 960]",
        "tileloadd tmm6, [{b0} + {s}*1 + 2048]",
        "tdpbf16ps tmm0, tmm4, tmm6",
        "prefetcht0 [{a1} + {pf} + 1024]",
        "prefetcht0 [{a1} + {pf} + 1088]",
        "prefetcht0 [{a1} + {pf} + 1152]",
        "prefetcht0 [{a1} + {pf} + 1216]",
        "prefetcht0 [{a1} + {pf} + 1280]",
        "prefetcht0 [{a1} + {pf} + 1344]",
        "prefetcht0 [{a1} + {pf} + 1408]",
        "prefetcht0 [{a1} + {pf} + 1472]",
        "tdpbf16ps tmm2, tmm5, tmm6",
        "prefetcht0 [{a1} + {pf} + 1536]",
        "prefetcht0 [{a1} + {pf} + 1600]",
        "prefetcht0 [{a1} + {pf} + 1664]",
        "prefetcht0 [{a1} + {pf} + 1728]",
        "prefetcht0 [{a1} + {pf} + 1792]",
        "prefetcht0 [{a1} + {pf} + 1856]",
        "prefetcht0 [{a1} + {pf} + 1920]",
        "prefetcht0 [{a1} + {pf} + 1984]",
        "tileloadd tmm7, [{b1} + {s}*1 + 2048]",
        "tdpbf16ps tmm1, tmm4, tmm7",
        "prefetcht0 [{a1} + {pf} + 2048]",
        "prefetcht0 [{a1} + {pf} + 2112]",
        "prefetcht0 [{a1} + {pf} + 2176]",
        "prefetcht0 [{a1} + {pf} + 2240]",
        "prefetcht0 [{a1} + {pf} + 2304]",
        "prefetcht0 [{a1} + {pf} + 2368]",
        "prefetcht0 [{a1} + {pf} + 2432]",
        "prefetcht0 [{a1} + {pf} + 2496]",
        "tdpbf16ps tmm3, tmm5, tmm7",
        "prefetcht0 [{a1} + {pf} + 2560]",
        "prefetcht0 [{a1} + {pf} + 2624]",
        "prefetcht0 [{a1} + {pf} + 2688]",
        "prefetcht0 [{a1} + {pf} + 2752]",
        "prefetcht0 [{a1} + {pf} + 2816]",
        "prefetcht0 [{a1} + {pf} + 2880]",
        "prefetcht0 [{a1} + {pf} + 2944]",
        "prefetcht0 [{a1} + {pf} + 3008]",
        "tileloadd tmm4, [{a0} + {s}*1 + 1024]",
        "tileloadd tmm6, [{b0} + {s}*1]",
        "tdpbf16ps tmm0, tmm4, tmm6",
        "prefetcht0 [{b0} + {pf} + 0]",
        "prefetcht0 [{b0} + {pf} + 64]",
        "prefetcht0 [{b0} + {pf} + 128]",
        "prefetcht0 [{b0} + {pf} + 192]",
        "prefetcht0 [{b0} + {pf} + 256]",
        "prefetcht0 [{b0} + {pf} + 320]",
        "prefetcht0 [{b0} + {pf} + 384]",
        "prefetcht0 [{b0} + {pf} + 448]",
        "tileloadd tmm7, [{b1} + {s}*1]",
        "tdpbf16ps tmm1, tmm4, tmm7",
        "prefetcht0 [{b0} + {pf} + 512]",
        "prefetcht0 [{b0} + {pf} + 576]",
        "prefetcht0 [{b0} + {pf} + 640]",
        "prefetcht0 [{b0} + {pf} + 704]",
        "prefetcht0 [{b0} + {pf} + 768]",
        "prefetcht0 [{b0} + {pf} + 832]",
        "prefetcht0 [{b0} + {pf} + 896]",
        "prefetcht0 [{b0} + {pf} + 960]",
        "tileloadd tmm5, [{a1} + {s}*1 + 1024]",
        "tdpbf16ps tmm2, tmm5, tmm6",
        "prefetcht0 [{b0} + {pf} + 1024]",
        "prefetcht0 [{b0} + {pf} + 1088]",
        "prefetcht0 [{b0} + {pf} + 1152]",
        "prefetcht0 [{b0} + {pf} + 1216]",
        "prefetcht0 [{b0} + {pf} + 1280]",
        "prefetcht0 [{b0} + {pf} + 1344]",
        "prefetcht0 [{b0} + {pf} + 1408]",
        "prefetcht0 [{b0} + {pf} + 1472]",
        "tdpbf16ps tmm3, tmm5, tmm7",
        "prefetcht0 [{b0} + {pf} + 1536]",
        "prefetcht0 [{b0} + {pf} + 1600]",
        "prefetcht0 [{b0} + {pf} + 1664]",
        "prefetcht0 [{b0} + {pf} + 1728]",
        "prefetcht0 [{b0} + {pf} + 1792]",
        "prefetcht0 [{b0} + {pf} + 1856]",
        "prefetcht0 [{b0} + {pf} + 1920]",
        "prefetcht0 [{b0} + {pf} + 1984]",
        "tileloadd tmm6, [{b0} + {s}*1 + 1024]",
        "tdpbf16ps tmm0, tmm4, tmm6",
        "prefetcht0 [{b0} + {pf} + 2048]",
        "prefetcht0 [{b0} + {pf} + 2112]",
        "prefetcht0 [{b0} + {pf} + 2176]",
        "prefetcht0 [{b0} + {pf} + 2240]",
        "prefetcht0 [{b0} + {pf} + 2304]",
        "prefetcht0 [{b0} + {pf} + 2368]",
        "prefetcht0 [{b0} + {pf} + 2432]",
        "prefetcht0 [{b0} + {pf} + 2496]",
        "tdpbf16ps tmm2, tmm5, tmm6",
        "prefetcht0 [{b0} + {pf} + 2560]",
        "prefetcht0 [{b0} + {pf} + 2624]",
        "prefetcht0 [{b0} + {pf} + 2688]",
        "prefetcht0 [{b0} + {pf} + 2752]",
        "prefetcht0 [{b0} + {pf} + 2816]",
        "prefetcht0 [{b0} + {pf} + 2880]",
        "prefetcht0 [{b0} + {pf} + 2944]",
        "prefetcht0 [{b0} + {pf} + 3008]",
        "tileloadd tmm7, [{b1} + {s}*1 + 1024]",
        "tdpbf16ps tmm1, tmm4, tmm7",
        "prefetcht0 [{b1} + {pf} + 0]",
        "prefetcht0 [{b1} + {pf} + 64]",
        "prefetcht0 [{b1} + {pf} + 128]",
        "prefetcht0 [{b1} + {pf} + 192]",
        "prefetcht0 [{b1} + {pf} + 256]",
        "prefetcht0 [{b1} + {pf} + 320]",
        "prefetcht0 [{b1} + {pf} + 384]",
        "prefetcht0 [{b1} + {pf} + 448]",
        "tdpbf16ps tmm3, tmm5, tmm7",
        "prefetcht0 [{b1} + {pf} + 512]",
        "prefetcht0 [{b1} + {pf} + 576]",
        "prefetcht0 [{b1} + {pf} + 640]",
        "prefetcht0 [{b1} + {pf} + 704]",
        "prefetcht0 [{b1} + {pf} + 768]",
        "prefetcht0 [{b1} + {pf} + 832]",
        "prefetcht0 [{b1} + {pf} + 896]",
        "prefetcht0 [{b1} + {pf} + 960]",
        "tileloadd tmm4, [{a0} + {s}*1 + 2048]",
        "tileloadd tmm6, [{b0} + {s}*1]",
        "tdpbf16ps tmm0, tmm4, tmm6",
        "prefetcht0 [{b1} + {pf} + 1024]",
        "prefetcht0 [{b1} + {pf} + 1088]",
        "prefetcht0 [{b1} + {pf} + 1152]",
        "prefetcht0 [{b1} + {pf} + 1216]",
        "prefetcht0 [{b1} + {pf} + 1280]",
        "prefetcht0 [{b1} + {pf} + 1344]",
        "prefetcht0 [{b1} + {pf} + 1408]",
        "prefetcht0 [{b1} + {pf} + 1472]",
        "tileloadd tmm7, [{b1} + {s}*1]",
        "tdpbf16ps tmm1, tmm4, tmm7",
        "prefetcht0 [{b1} + {pf} + 1536]",
        "prefetcht0 [{b1} + {pf} + 1600]",
        "prefetcht0 [{b1} + {pf} + 1664]",
        "prefetcht0 [{b1} + {pf} + 1728]",
        "prefetcht0 [{b1} + {pf} + 1792]",
        "prefetcht0 [{b1} + {pf} + 1856]",
        "prefetcht0 [{b1} + {pf} + 1920]",
        "prefetcht0 [{b1} + {pf} + 1984]",
        "tileloadd tmm5, [{a1} + {s}*1 + 2048]",
        "tdpbf16ps tmm2, tmm5, tmm6",
        "prefetcht0 [{b1} + {pf} + 2048]",
        "prefetcht0 [{b1} + {pf} + 2112]",
        "prefetcht0 [{b1} + {pf} + 2176]",
        "prefetcht0 [{b1} + {pf} + 2240]",
        "prefetcht0 [{b1} + {pf} + 2304]",
        "prefetcht0 [{b1} + {pf} + 2368]",
        "prefetcht0 [{b1} + {pf} + 2432]",
        "prefetcht0 [{b1} + {pf} + 2496]",
        "tdpbf16ps tmm3, tmm5, tmm7",
        "prefetcht0 [{b1} + {pf} + 2560]",
        "prefetcht0 [{b1} + {pf} + 2624]",
        "prefetcht0 [{b1} + {pf} + 2688]",
        "prefetcht0 [{b1} + {pf} + 2752]",
        "prefetcht0 [{b1} + {pf} + 2816]",
        "prefetcht0 [{b1} + {pf} + 2880]",
        "prefetcht0 [{b1} + {pf} + 2944]",
        "prefetcht0 [{b1} + {pf} + 3008]",
        "add {a0}, 3072",
        "add {a1}, 3072",
        "add {b0}, 3072",
        "add {b1}, 3072",
        "dec {n}",
        "jnz 2b",
        "tilestored [{o} + {ls}*1], tmm0",
        "tilestored [{o} + {ls}*1 + 64], tmm1",
        "tilestored [{o2} + {ls}*1], tmm2",
        "tilestored [{o2} + {ls}*1 + 64], tmm3",
        a0 = inout(reg) a0 => _,
        a1 = inout(reg) a1 => _,
        b0 = inout(reg) b0 => _,
        b1 = inout(reg) b1 => _,
        n = inout(reg) chunks => _,
        o = in(reg) out,
        o2 = in(reg) out2,
        ls = in(reg) ldo * 4,
        s = in(reg) 64usize,
        pf = in(reg) prefetch_distance(),
        options(nostack),
    )
}

/// Bytes ahead that [`two_by_two`] prefetches its four streams into L1: the next chunk.
/// Measured (W1's six products, two threads, Intel Xeon model 207, kernel phase): 0 chunks
/// 627-631 us, 1 chunk 597-606 us, 2 chunks 616-626 us (BENCHMARKS.md "amx20").
const fn prefetch_distance() -> usize {
    3072
}
