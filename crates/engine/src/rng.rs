//! Seeded random numbers: one process-wide generator, reseeded by [`set_random_seed`].
//!
//! xoshiro256++ seeded through SplitMix64: fast, well tested, and reproducible across
//! platforms, so the same seed gives the same initial weights and dropout masks everywhere.

use std::sync::Mutex;

/// A xoshiro256++ generator.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        let s = [splitmix64(&mut st), splitmix64(&mut st), splitmix64(&mut st), splitmix64(&mut st)];
        Self { s }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = (self.s[0].wrapping_add(self.s[3])).rotate_left(23).wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 24 bits of precision.
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn uniform_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    pub fn normal_f64(&mut self) -> f64 {
        loop {
            let u1 = self.uniform_f64();
            if u1 > 0.0 {
                let u2 = self.uniform_f64();
                return (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            }
        }
    }

    /// Fills `out` with standard normal draws (Marsaglia and Tsang's ziggurat, 128 layers).
    ///
    /// About ten times faster than [`normal_f64`](Rng::normal_f64) per value: most draws cost
    /// one 64-bit word, a table lookup and a multiply, where Box-Muller needs a logarithm, a
    /// square root and a cosine. The stream differs from `normal_f64`'s; both are exact
    /// standard normals up to float32 rounding. Used for large synthetic inputs, as numpy's
    /// `standard_normal` (also a ziggurat) makes them.
    ///
    /// ```
    /// let mut rng = keras_engine::Rng::new(0);
    /// let mut x = vec![0.0f32; 4];
    /// rng.fill_standard_normal_f32(&mut x);
    /// assert!(x.iter().all(|v| v.is_finite()));
    /// ```
    pub fn fill_standard_normal_f32(&mut self, out: &mut [f32]) {
        let t = ziggurat_tables();
        for v in out {
            *v = self.ziggurat_normal(t) as f32;
        }
    }

    fn ziggurat_normal(&mut self, t: &ZigguratTables) -> f64 {
        // Layer index from the low 7 bits, the signed magnitude from the high 32 bits (one
        // 64-bit word gives both without the correlation of the original 32-bit SHR3 form).
        let u = self.next_u64();
        let (mut iz, mut hz) = ((u & 127) as usize, (u >> 32) as u32 as i32);
        if hz.unsigned_abs() < t.k[iz] {
            return hz as f64 * t.w[iz];
        }
        loop {
            let x = hz as f64 * t.w[iz];
            if iz == 0 {
                // The tail beyond R, by Marsaglia's exponential rejection.
                loop {
                    let x = -self.open_uniform().ln() / ZIGGURAT_R;
                    let y = -self.open_uniform().ln();
                    if y + y >= x * x {
                        return if hz > 0 { ZIGGURAT_R + x } else { -ZIGGURAT_R - x };
                    }
                }
            }
            if t.f[iz] + self.open_uniform() * (t.f[iz - 1] - t.f[iz]) < (-0.5 * x * x).exp() {
                return x;
            }
            let u = self.next_u64();
            iz = (u & 127) as usize;
            hz = (u >> 32) as u32 as i32;
            if hz.unsigned_abs() < t.k[iz] {
                return hz as f64 * t.w[iz];
            }
        }
    }

    /// Uniform in `(0, 1)`: never 0, so its logarithm is finite.
    fn open_uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-shift; the tiny bias is irrelevant for shuffling datasets.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }

    /// The full generator state (to checkpoint a training run and resume it exactly).
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// A generator continuing from a [`state`](Rng::state); an all-zero state (which
    /// xoshiro cannot leave) is replaced by the stream of seed 0.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Rng::new(0);
        }
        Self { s }
    }

    /// A new generator seeded from this one (for handing a stream to a layer or a worker).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// Where the ziggurat's base layer meets the tail (Marsaglia and Tsang 2000, 128 layers).
const ZIGGURAT_R: f64 = 3.442619855899;

/// The ziggurat's layer tables: `k[i]` the fast-path bound on `|hz|`, `w[i]` the scale from
/// `hz` to `x`, `f[i]` the density at the layer's edge.
struct ZigguratTables {
    k: [u32; 128],
    w: [f64; 128],
    f: [f64; 128],
}

fn ziggurat_tables() -> &'static ZigguratTables {
    static TABLES: std::sync::OnceLock<ZigguratTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        // Marsaglia and Tsang's `zigset` for the normal density exp(-x^2/2).
        const M1: f64 = 2147483648.0;
        const V: f64 = 9.91256303526217e-3;
        let (mut dn, mut tn) = (ZIGGURAT_R, ZIGGURAT_R);
        let q = V / (-0.5 * dn * dn).exp();
        let mut t = ZigguratTables { k: [0; 128], w: [0.0; 128], f: [0.0; 128] };
        t.k[0] = ((dn / q) * M1) as u32;
        t.w[0] = q / M1;
        t.w[127] = dn / M1;
        t.f[0] = 1.0;
        t.f[127] = (-0.5 * dn * dn).exp();
        for i in (1..=126).rev() {
            dn = (-2.0 * (V / dn + (-0.5 * dn * dn).exp()).ln()).sqrt();
            t.k[i + 1] = ((dn / tn) * M1) as u32;
            tn = dn;
            t.f[i] = (-0.5 * dn * dn).exp();
            t.w[i] = dn / M1;
        }
        t
    })
}

/// The seed given to [`set_random_seed`], for threads that start drawing after it.
static BASE_SEED: Mutex<Option<u64>> = Mutex::new(None);
/// Counts threads that created their generator from the base seed.
static THREAD_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    static LOCAL: std::cell::RefCell<Option<Rng>> = const { std::cell::RefCell::new(None) };
}

/// Seeds the generator of the calling thread (Keras `keras.utils.set_random_seed`): every
/// later weight initialisation, dropout mask and shuffle made on this thread is then
/// reproducible. Threads that have not drawn yet derive their own streams from this seed.
///
/// The generator is per thread so that models trained on different threads (or tests run in
/// parallel) never change each other's random streams.
pub fn set_random_seed(seed: u64) {
    *BASE_SEED.lock().unwrap_or_else(|e| e.into_inner()) = Some(seed);
    LOCAL.with(|l| *l.borrow_mut() = Some(Rng::new(seed)));
}

/// Runs `f` with the calling thread's generator (seeded from [`set_random_seed`]'s seed, or
/// from the clock if no seed was ever set).
pub fn with_global_rng<R>(f: impl FnOnce(&mut Rng) -> R) -> R {
    LOCAL.with(|l| {
        let mut guard = l.borrow_mut();
        let rng = guard.get_or_insert_with(|| {
            let base = *BASE_SEED.lock().unwrap_or_else(|e| e.into_inner());
            let k = THREAD_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match base {
                Some(seed) => Rng::new(seed ^ (k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                None => {
                    let t = web_time::SystemTime::now()
                        .duration_since(web_time::UNIX_EPOCH)
                        .map(|d| d.as_nanos() as u64)
                        .unwrap_or(0x1234_5678);
                    Rng::new(t ^ k)
                }
            }
        });
        f(rng)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_continues_the_stream() {
        let mut a = Rng::new(9);
        a.next_u64();
        let mut b = Rng::from_state(a.state());
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_eq!(Rng::from_state([0; 4]).state(), Rng::new(0).state());
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = Rng::new(7);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let u = r.uniform_f32() as f64;
            assert!((0.0..1.0).contains(&u));
            su += u;
            let z = r.normal_f64();
            sn += z;
            sn2 += z * z;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 0.01);
        assert!((sn / n).abs() < 0.01);
        assert!((sn2 / n - 1.0).abs() < 0.02);
    }

    /// The standard normal CDF (Abramowitz and Stegun 7.1.26 for erf, |error| < 1.5e-7).
    fn phi(x: f64) -> f64 {
        let z = x.abs() / std::f64::consts::SQRT_2;
        let t = 1.0 / (1.0 + 0.3275911 * z);
        let poly =
            t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        let erf = 1.0 - poly * (-z * z).exp();
        if x >= 0.0 {
            0.5 * (1.0 + erf)
        } else {
            0.5 * (1.0 - erf)
        }
    }

    #[test]
    fn ziggurat_draws_follow_the_standard_normal() {
        let n = 2_000_000;
        let mut x = vec![0.0f32; n];
        Rng::new(11).fill_standard_normal_f32(&mut x);
        let nf = n as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / nf;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / nf;
        let kurt = x.iter().map(|&v| (v as f64 - mean).powi(4)).sum::<f64>() / nf / (var * var);
        // Standard errors: mean 7e-4, variance 1e-3, kurtosis 3.5e-3; bounds at ~5 of them.
        assert!(mean.abs() < 0.0035, "mean {mean}");
        assert!((var - 1.0).abs() < 0.005, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.02, "kurtosis {kurt}");
        // Chi-square over 40 equiprobable-ish bins from -4 to 4 plus both tails, so the
        // layers, their edges and the tail beyond R all have the right mass.
        let edges: Vec<f64> = (0..=40).map(|i| -4.0 + 0.2 * i as f64).collect();
        let mut counts = vec![0usize; edges.len() + 1];
        for &v in &x {
            counts[edges.partition_point(|&e| e <= v as f64)] += 1;
        }
        let mut chi2 = 0.0;
        for (b, &c) in counts.iter().enumerate() {
            let lo = if b == 0 { 0.0 } else { phi(edges[b - 1]) };
            let hi = if b == edges.len() { 1.0 } else { phi(edges[b]) };
            let expected = (hi - lo) * nf;
            chi2 += (c as f64 - expected).powi(2) / expected;
        }
        // 41 degrees of freedom: the 0.9999 quantile is about 84.
        assert!(chi2 < 84.0, "chi-square {chi2} over {} bins", counts.len());
        // The tail beyond R is drawn by its own rejection loop: its mass is 2(1 - Phi(R)).
        let tail = x.iter().filter(|v| v.abs() as f64 > ZIGGURAT_R).count() as f64 / nf;
        let want = 2.0 * (1.0 - phi(ZIGGURAT_R));
        assert!((tail - want).abs() < 5.0 * (want / nf).sqrt(), "tail {tail}, want {want}");
        assert!(x.iter().any(|v| v.abs() > 4.5), "no draw far in the tail");
    }

    #[test]
    fn ziggurat_is_reproducible_and_differs_between_seeds() {
        let (mut a, mut b, mut c) = (vec![0.0f32; 1000], vec![0.0f32; 1000], vec![0.0f32; 1000]);
        Rng::new(5).fill_standard_normal_f32(&mut a);
        Rng::new(5).fill_standard_normal_f32(&mut b);
        Rng::new(6).fill_standard_normal_f32(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut r = Rng::new(3);
        let mut v: Vec<usize> = (0..50).collect();
        r.shuffle(&mut v);
        let mut s = v.clone();
        s.sort();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
        assert_ne!(v, s);
    }
}
