//! SipHash-2-4 keyed with 128 bits, as TensorFlow's `to_hash_bucket_strong` computes it
//! (highwayhash's `SipHash(key, bytes)`): the hash of the salted `Hashing` layer.

use crate::layers::layer_args::{LayerArgs, LayerCfg};
use crate::utils::config_args::ConfigArg;

/// One SipRound over the state.
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// Absorbs one 8-byte little-endian word (two compression rounds).
fn absorb(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

/// SipHash-2-4 of `data` under the key `(k0, k1)`.
pub(crate) fn siphash24(key: [u64; 2], data: &[u8]) -> u64 {
    let mut v = [
        key[0] ^ 0x736f_6d65_7073_6575,
        key[1] ^ 0x646f_7261_6e64_6f6d,
        key[0] ^ 0x6c79_6765_6e65_7261,
        key[1] ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        absorb(&mut v, u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    }
    // The last word: the remaining bytes, and the length modulo 256 in the top byte.
    let mut last = (data.len() as u64 & 0xff) << 56;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        last |= (b as u64) << (8 * i);
    }
    absorb(&mut v, last);
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// TensorFlow's `to_hash_bucket_strong(s, num_buckets, key)`: the bucket of `s`, the two key
/// integers taken as unsigned 64-bit words.
pub(crate) fn hash_bucket_strong(s: &[u8], num_buckets: u64, key: [i64; 2]) -> u64 {
    siphash24([key[0] as u64, key[1] as u64], s) % num_buckets.max(1)
}

/// Keras's `salt` argument from a config: null, an int `s` (the key `[s, s]`) or two ints;
/// anything else is refused with `message` followed by the value, as Keras words it.
fn salt_from_config(v: Option<&serde_json::Value>, message: &str) -> crate::Result<Option<[i64; 2]>> {
    use serde_json::Value;
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if a.len() == 2 && a.iter().all(|k| k.as_i64().is_some()) => {
            Ok(Some([a[0].as_i64().unwrap_or(0), a[1].as_i64().unwrap_or(0)]))
        }
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().map(|k| [k, k])),
        Some(other) => Err(crate::Error::Value(format!("{message} Received: salt={other}."))),
    }
}

/// The SipHash key of Hashing and the lookup layers (Keras's `salt`, an int `s` being
/// `[s, s]`), read with Keras's message of the layer (`Hashing`'s, or `IndexLookup`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HashSalt(pub(crate) [i64; 2]);

impl ConfigArg<LayerArgs> for Option<HashSalt> {
    fn to_config(&self) -> serde_json::Value {
        self.map_or(serde_json::Value::Null, |s| serde_json::json!(s.0))
    }
    fn from_config(src: &mut LayerCfg<'_>, key: &str, _default: Option<Self>) -> crate::Result<Self> {
        let message = if src.class == "Hashing" {
            "The `salt` argument for `Hashing` can only be a tuple of size 2 integers, or a single integer."
        } else {
            "The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, or a single integer."
        };
        Ok(salt_from_config(src.cfg.get(key), message)?.map(HashSalt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vectors of the SipHash paper (Aumasson & Bernstein, appendix A): key
    /// 00..0f, messages 00, 00 01, ..., of lengths 0, 7, 8 and 15.
    #[test]
    fn paper_vectors() {
        let key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        let msg: Vec<u8> = (0..64).collect();
        assert_eq!(siphash24(key, &msg[..0]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash24(key, &msg[..1]), 0x74f8_39c5_93dc_67fd);
        assert_eq!(siphash24(key, &msg[..15]), 0xa129_ca61_49be_45e5);
    }

    /// TensorFlow's buckets of strings of every length under several keys (made by
    /// `tests/fixtures/keras315/make_cases.py siphash`).
    #[test]
    fn buckets_match_tensorflow() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/keras315/farmhash/siphash_buckets.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let n = v["num_buckets"].as_u64().unwrap();
        let strings = v["strings"].as_array().unwrap();
        let cases = v["keys"].as_array().unwrap();
        assert!(strings.len() > 20 && cases.len() >= 3);
        for case in cases {
            let key = [case["key"][0].as_i64().unwrap(), case["key"][1].as_i64().unwrap()];
            for (i, s) in strings.iter().enumerate() {
                let s = s.as_str().unwrap().as_bytes();
                assert_eq!(
                    hash_bucket_strong(s, n, key),
                    case["buckets"][i].as_u64().unwrap(),
                    "{key:?} {s:?}"
                );
                assert_eq!(
                    hash_bucket_strong(s, 7, key),
                    case["buckets_7"][i].as_u64().unwrap(),
                    "{key:?} {s:?}"
                );
            }
        }
    }
}
