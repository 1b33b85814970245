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
