//! Whether Adam's pass hides behind the AMX kernels of a kernel gradient on the same core:
//! one thread's `dW = x^T dY` (W1's first and second kernels, batch 128) and plain Adam over
//! `W`, serially and fused two ways ([`keras_engine::kernels::amx::bench_adam_overlap`]),
//! medians in microseconds. BENCHMARKS.md "s22".
//!
//! `chrt -f 1 target/release/examples/adam_overlap [REPS]` (default 101).

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(101);
    #[cfg(target_arch = "x86_64")]
    for (m, n, k) in [(768, 512, 128), (512, 512, 128)] {
        match keras_engine::kernels::amx::bench_adam_overlap((m, n, k), reps) {
            Some((t, same)) => println!(
                "{m} x {n}, k {k}: kernels {:.1}, Adam {:.1}, serial {:.1}, band-fused {:.1} ({:+.1}%), \
                 block-fused {:.1} ({:+.1}%) us; fused bits equal the serial ones: {same}",
                t[0],
                t[1],
                t[2],
                t[3],
                (t[3] / t[2] - 1.0) * 100.0,
                t[4],
                (t[4] / t[2] - 1.0) * 100.0
            ),
            None => println!("AMX not available here (or KERAS_AMX=0)"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    println!("AMX is x86-64 only ({reps} reps not run)");
}
