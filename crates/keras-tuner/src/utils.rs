//! Small pieces keras-tuner takes from Python's standard library, reproduced exactly so our
//! projects and Python's are interchangeable: `random.Random(seed).random()` (keras-tuner
//! samples every hyperparameter value with it, so the same seed draws the same values in
//! both), SHA-256 (the value hashes in `oracle.json`), atomic JSON writes and timestamps.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::json::Json;

/// Python's `random.Random` (keras's [`keras::utils::python_random::PyRandom`]): MT19937
/// seeded by `init_by_array` on the 32-bit words of the seed, `random()` from two draws
/// (53 bits), as CPython's `_randommodule.c`. An integer seed `s` is `PyRandom::new(s.unsigned_abs())`
/// (Python uses `abs(seed)`).
pub use keras::utils::python_random::PyRandom;

/// SHA-256 of `data` (FIPS 180-4), for keras-tuner's value hashes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, b) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Lowercase hex of the SHA-256 of `s`.
pub fn sha256_hex(s: &str) -> String {
    sha256(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over the target, so a `kill -9` leaves either the old file or the new one.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    let io = |what: &str, e: std::io::Error| Error::Io(format!("Cannot {what} {}: {e}", path.display()));
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io("write", e))?;
        f.write_all(text).map_err(|e| io("write", e))?;
        f.sync_all().map_err(|e| io("write", e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| io("write", e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `utils.save_json`: `json.dumps(obj)` written atomically.
pub fn save_json(path: &Path, obj: &Json) -> Result<()> {
    write_atomic(path, obj.dumps().as_bytes())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// `datetime.isoformat()` of a UTC time given as seconds since the epoch
/// (`2024-05-01T12:30:05.123456`), as keras-tuner's display state stores it.
pub fn isoformat(secs: f64) -> String {
    let micros_total = (secs * 1e6).round() as i64;
    let days = micros_total.div_euclid(86_400_000_000);
    let rem = micros_total.rem_euclid(86_400_000_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, us) = (rem / 3_600_000_000, rem / 60_000_000 % 60, rem / 1_000_000 % 60, rem % 1_000_000);
    let base = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if us == 0 {
        base
    } else {
        format!("{base}.{us:06}")
    }
}

/// Seconds since the epoch from `isoformat` text written by [`isoformat`] or Python's
/// `datetime.isoformat()` (a naive time, read as UTC); `None` if it does not parse.
pub fn parse_isoformat(s: &str) -> Option<f64> {
    let (date, time) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let mut dp = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, d) = (dp.next()?.ok()?, dp.next()?.ok()?, dp.next()?.ok()?);
    let time = time.split(['+', 'Z']).next()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut tp = hms.split(':').map(|p| p.parse::<i64>());
    let (h, mi, sec) = (tp.next()?.ok()?, tp.next()?.ok()?, tp.next().unwrap_or(Ok(0)).ok()?);
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2.rem_euclid(400);
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_random_matches_cpython() {
        // random.Random(s).random() in CPython 3.11.
        assert_eq!(PyRandom::new(1).random(), 0.13436424411240122);
        assert_eq!(PyRandom::new(2).random(), 0.9560342718892494);
        assert_eq!(PyRandom::new(0).random(), 0.8444218515250481);
        assert_eq!(PyRandom::new(42).random(), 0.6394267984578837);
        let mut r = PyRandom::new(12345678901234);
        let v: Vec<f64> = (0..3).map(|_| r.random()).collect();
        assert_eq!(v, [0.02504137575317178, 0.14532691110186335, 0.42619782335934575]);
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = "a".repeat(1000);
        assert_eq!(sha256_hex(&long), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
        // A value hash keras-tuner 1.4.8 wrote into oracle.json.
        assert_eq!(&sha256_hex("lr=0.009037207870775934units=4")[..32], "22e279701d23c9d7c4b1379f3e1022ad");
    }

    #[test]
    fn isoformat_round_trips() {
        assert_eq!(isoformat(0.0), "1970-01-01T00:00:00");
        assert_eq!(isoformat(1_700_000_000.25), "2023-11-14T22:13:20.250000");
        assert_eq!(parse_isoformat("2023-11-14T22:13:20.250000"), Some(1_700_000_000.25));
        assert_eq!(parse_isoformat("garbage"), None);
    }
}
