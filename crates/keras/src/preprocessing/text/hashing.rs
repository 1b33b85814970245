//! `hashing_trick` and `one_hot` (tf-keras `keras.preprocessing.text`), with the hash
//! functions Keras uses: Python's built-in `hash` of a `str` (SipHash-1-3 keyed by the
//! interpreter's hash secret, which `PYTHONHASHSEED` fixes) and `"md5"`.

use super::tokenizer::text_to_word_sequence;
use crate::{keras_bail, Result};

/// The hash applied to each word by [`hashing_trick`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFunction {
    /// Python's `hash(word)` as an interpreter started with `PYTHONHASHSEED=hash_seed` computes
    /// it (0 disables randomization). Keras's default: without a fixed seed, Python's result
    /// changes from one run to the next.
    Python {
        /// The `PYTHONHASHSEED` value.
        hash_seed: u32,
    },
    /// `int(hashlib.md5(word.encode()).hexdigest(), 16)`: stable across runs.
    Md5,
}

/// Python's `lcg_urandom`: the hash secret derived from `PYTHONHASHSEED`.
fn python_hash_secret(seed: u32) -> (u64, u64) {
    if seed == 0 {
        return (0, 0);
    }
    let mut bytes = [0u8; 16];
    let mut x: u32 = seed;
    for b in bytes.iter_mut() {
        x = x.wrapping_mul(214013).wrapping_add(2531011);
        *b = ((x >> 16) & 0xff) as u8;
    }
    let k0 = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
    let k1 = u64::from_le_bytes(bytes[8..].try_into().unwrap_or([0; 8]));
    (k0, k1)
}

/// SipHash-1-3 (CPython's `siphash13`).
fn siphash13(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v0 = k0 ^ 0x736f6d6570736575;
    let mut v1 = k1 ^ 0x646f72616e646f6d;
    let mut v2 = k0 ^ 0x6c7967656e657261;
    let mut v3 = k1 ^ 0x7465646279746573;
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13);
        *v1 ^= *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16);
        *v3 ^= *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21);
        *v3 ^= *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17);
        *v1 ^= *v2;
        *v2 = v2.rotate_left(32);
    };
    let len = data.len();
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        let m = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let mut t = (len as u64) << 56;
    for (i, &b) in tail.iter().enumerate() {
        t |= (b as u64) << (8 * i);
    }
    v3 ^= t;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= t;
    v2 ^= 0xff;
    for _ in 0..3 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}

/// Python's `hash(s)` for a `str`, with the secret of `PYTHONHASHSEED=seed`: SipHash-1-3
/// over the string's storage (1, 2 or 4 bytes per character, by its widest character).
pub fn python_str_hash(s: &str, seed: u32) -> i64 {
    if s.is_empty() {
        return 0;
    }
    let max = s.chars().map(|c| c as u32).max().unwrap_or(0);
    let data: Vec<u8> = if max < 0x100 {
        s.chars().map(|c| c as u32 as u8).collect()
    } else if max < 0x10000 {
        s.chars().flat_map(|c| (c as u32 as u16).to_le_bytes()).collect()
    } else {
        s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect()
    };
    let (k0, k1) = python_hash_secret(seed);
    let h = siphash13(k0, k1, &data) as i64;
    if h == -1 {
        -2
    } else {
        h
    }
}

/// MD5 (RFC 1321) of `data`, as a big-endian 128-bit integer (`int(hexdigest, 16)`).
pub fn md5_u128(data: &[u8]) -> u128 {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15,
        21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32).collect();
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for block in msg.chunks_exact(64) {
        let m: Vec<u32> =
            block.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut digest = [0u8; 16];
    for (i, w) in [a0, b0, c0, d0].iter().enumerate() {
        digest[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    u128::from_be_bytes(digest)
}

/// tf-keras `hashing_trick(text, n, hash_function, filters, lower, split)`: each word of
/// `text_to_word_sequence(text, filters, lower, split)` becomes `hash(word) % (n - 1) + 1`, an
/// index in `[1, n)` (0 is left for padding; distinct words may collide).
///
/// ```
/// use keras::preprocessing::text::{hashing_trick, HashFunction, DEFAULT_FILTERS};
/// let ids = hashing_trick("The cat sat on the mat", 50, HashFunction::Md5, DEFAULT_FILTERS, true, " ").unwrap();
/// assert_eq!(ids.len(), 6);
/// assert_eq!(ids[0], ids[4]); // "the" twice
/// assert!(ids.iter().all(|&i| (1..50).contains(&i)));
/// ```
pub fn hashing_trick(
    text: &str,
    n: usize,
    hash_function: HashFunction,
    filters: &str,
    lower: bool,
    split: &str,
) -> Result<Vec<u64>> {
    if n < 2 {
        keras_bail!(
            InvalidArgument,
            "`n` must be at least 2 (indices are hash % (n - 1) + 1). Received: n={n}"
        );
    }
    let words = text_to_word_sequence(text, filters, lower, split)?;
    let m = (n - 1) as u128;
    Ok(words
        .iter()
        .map(|w| match hash_function {
            HashFunction::Md5 => (md5_u128(w.as_bytes()) % m) as u64 + 1,
            HashFunction::Python { hash_seed } => {
                python_str_hash(w, hash_seed).rem_euclid((n - 1) as i64) as u64 + 1
            }
        })
        .collect())
}

/// tf-keras `one_hot(input_text, n, filters, lower, split)`: [`hashing_trick`] with Python's
/// `hash` (under `PYTHONHASHSEED=hash_seed`).
pub fn one_hot(
    input_text: &str,
    n: usize,
    hash_seed: u32,
    filters: &str,
    lower: bool,
    split: &str,
) -> Result<Vec<u64>> {
    hashing_trick(input_text, n, HashFunction::Python { hash_seed }, filters, lower, split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_the_rfc_vectors() {
        assert_eq!(md5_u128(b""), 0xd41d8cd98f00b204e9800998ecf8427e);
        assert_eq!(md5_u128(b"abc"), 0x900150983cd24fb0d6963f7d28e17f72);
        assert_eq!(
            md5_u128(b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            0x57edf4a22be3c955ac49da2e2107b67a
        );
    }

    #[test]
    fn n_below_two_is_an_error() {
        assert!(hashing_trick("a b", 1, HashFunction::Md5, "", true, " ").is_err());
    }
}
