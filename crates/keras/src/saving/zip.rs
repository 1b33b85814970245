//! The small part of the ZIP format a `.keras` file uses: stored (and, when reading,
//! deflated) entries, no encryption, no ZIP64. Written here rather than pulled in as a
//! dependency so every length is checked against the buffer and every entry's size is
//! bounded before anything is allocated (no zip bombs).

use std::io::Read;

use flate2::read::DeflateDecoder;
use flate2::Crc;

use crate::{keras_bail, Error, Result};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
/// The end record is 22 bytes plus a comment of at most 65535.
const MAX_END_SEARCH: usize = 22 + 0xffff;
/// More entries than any `.keras` file has (metadata, config, weights, assets).
const MAX_ENTRIES: usize = 4096;

/// One member of an archive.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The member name (`config.json`).
    pub name: String,
    method: u16,
    crc: u32,
    compressed: usize,
    /// Uncompressed size, as the central directory declares it.
    pub size: usize,
    data_start: usize,
}

/// A ZIP archive held in memory.
pub(crate) struct Archive<'a> {
    data: &'a [u8],
    entries: Vec<Entry>,
}

fn u16_at(d: &[u8], at: usize) -> Result<u16> {
    d.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| Error::Io("The zip archive is truncated".into()))
}

fn u32_at(d: &[u8], at: usize) -> Result<u32> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| Error::Io("The zip archive is truncated".into()))
}

impl<'a> Archive<'a> {
    /// Parses the central directory of `data` (at most 4096 entries, more than any `.keras`
    /// file has).
    pub(crate) fn new(data: &'a [u8]) -> Result<Archive<'a>> {
        Self::with_max_entries(data, MAX_ENTRIES)
    }

    /// Parses the central directory of `data`, accepting up to `max_entries` members (archives
    /// of datasets, extracted by `get_file`, have many).
    pub(crate) fn with_max_entries(data: &'a [u8], max_entries: usize) -> Result<Archive<'a>> {
        if data.len() < 22 {
            keras_bail!(Io, "File is not a zip file (too short)");
        }
        let lo = data.len().saturating_sub(MAX_END_SEARCH);
        let end = (lo..=data.len() - 22)
            .rev()
            .find(|&i| u32_at(data, i).ok() == Some(END_SIG))
            .ok_or_else(|| Error::Io("File is not a zip file (no end of central directory)".into()))?;
        let count = u16_at(data, end + 10)? as usize;
        let cd_size = u32_at(data, end + 12)? as usize;
        let cd_offset = u32_at(data, end + 16)? as usize;
        if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
            keras_bail!(Io, "ZIP64 archives are not supported");
        }
        if count > max_entries {
            keras_bail!(Io, "The zip archive has {count} entries (at most {max_entries} are read)");
        }
        if cd_offset.checked_add(cd_size).is_none_or(|e| e > end) {
            keras_bail!(Io, "The zip archive is corrupt (central directory out of bounds)");
        }
        let mut entries = Vec::with_capacity(count);
        let mut at = cd_offset;
        for _ in 0..count {
            if u32_at(data, at)? != CENTRAL_SIG {
                keras_bail!(Io, "The zip archive is corrupt (bad central directory entry)");
            }
            let flags = u16_at(data, at + 8)?;
            let method = u16_at(data, at + 10)?;
            let crc = u32_at(data, at + 16)?;
            let compressed = u32_at(data, at + 20)? as usize;
            let size = u32_at(data, at + 24)? as usize;
            let name_len = u16_at(data, at + 28)? as usize;
            let extra_len = u16_at(data, at + 30)? as usize;
            let comment_len = u16_at(data, at + 32)? as usize;
            let local = u32_at(data, at + 42)? as usize;
            let name = data
                .get(at + 46..at + 46 + name_len)
                .ok_or_else(|| Error::Io("The zip archive is truncated".into()))?;
            let name = String::from_utf8_lossy(name).into_owned();
            if flags & 1 != 0 {
                keras_bail!(Io, "Zip entry '{name}' is encrypted");
            }
            if u32_at(data, local)? != LOCAL_SIG {
                keras_bail!(Io, "The zip archive is corrupt (bad local header for '{name}')");
            }
            let l_name = u16_at(data, local + 26)? as usize;
            let l_extra = u16_at(data, local + 28)? as usize;
            let data_start = local + 30 + l_name + l_extra;
            if data_start.checked_add(compressed).is_none_or(|e| e > data.len()) {
                keras_bail!(Io, "The zip archive is truncated (entry '{name}')");
            }
            entries.push(Entry { name, method, crc, compressed, size, data_start });
            at += 46 + name_len + extra_len + comment_len;
        }
        Ok(Archive { data, entries })
    }

    /// The members, in directory order.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The member names, in directory order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// Whether a member exists.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.name == name)
    }

    /// A member's bytes; refuses members larger than `max` bytes uncompressed (checked
    /// against the declared size before reading, and again while inflating).
    pub(crate) fn read(&self, name: &str, max: usize) -> Result<Vec<u8>> {
        let Some(e) = self.entries.iter().find(|e| e.name == name) else {
            keras_bail!(Io, "There is no item named '{name}' in the archive");
        };
        if e.size > max {
            keras_bail!(
                Io,
                "Not allowed: zip member '{name}' declares {} bytes, more than the {max} allowed",
                e.size
            );
        }
        let raw = &self.data[e.data_start..e.data_start + e.compressed];
        let out = match e.method {
            0 => {
                if e.compressed != e.size {
                    keras_bail!(Io, "Zip member '{name}' is corrupt (stored sizes differ)");
                }
                raw.to_vec()
            }
            8 => {
                let mut out = Vec::with_capacity(e.size);
                DeflateDecoder::new(raw)
                    .take(e.size as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|err| Error::Io(format!("Zip member '{name}' is corrupt: {err}")))?;
                if out.len() != e.size {
                    keras_bail!(Io, "Zip member '{name}' is corrupt (size differs from its header)");
                }
                out
            }
            m => keras_bail!(Io, "Zip member '{name}' uses compression method {m}, which is not supported"),
        };
        let mut crc = Crc::new();
        crc.update(&out);
        if crc.sum() != e.crc {
            keras_bail!(Io, "Bad CRC-32 for file '{name}' (the archive is corrupt)");
        }
        Ok(out)
    }
}

/// Writes stored (uncompressed) entries, as Keras does, with a fixed 1980-01-01 timestamp so
/// the same model always gives the same bytes.
pub(crate) fn write_stored(entries: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let dos_time: u16 = 0;
    let dos_date: u16 = 1 << 5 | 1; // 1980-01-01
    for (name, data) in entries {
        if data.len() as u64 >= 0xffff_ffff || out.len() as u64 >= 0xffff_ffff {
            keras_bail!(Io, "The model is too large for a zip archive without ZIP64 (4 GiB)");
        }
        let mut crc = Crc::new();
        crc.update(data);
        let offset = out.len() as u32;
        let (size, name_b) = (data.len() as u32, name.as_bytes());
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&0u16.to_le_bytes()); // stored
            v.extend_from_slice(&dos_time.to_le_bytes());
            v.extend_from_slice(&dos_date.to_le_bytes());
            v.extend_from_slice(&crc.sum().to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(name_b.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name_b);
        out.extend_from_slice(data);

        central.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        central.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes()); // made by: unix, 2.0
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name_b);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END_SIG.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_entries_round_trip() {
        let bytes = write_stored(&[("a.json", b"{}"), ("b.bin", &[1, 2, 3])]).unwrap();
        let z = Archive::new(&bytes).unwrap();
        let names: Vec<&str> = z.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.json", "b.bin"]);
        assert_eq!(z.read("b.bin", 10).unwrap(), vec![1, 2, 3]);
        assert!(z.contains("a.json") && !z.contains("c"));
        assert!(z.read("c", 10).unwrap_err().to_string().contains("no item named 'c'"));
        let e = z.read("b.bin", 2).unwrap_err();
        assert!(e.to_string().contains("declares 3 bytes"), "{e}");
    }

    #[test]
    fn corruption_is_detected() {
        let mut bytes = write_stored(&[("a", b"hello")]).unwrap();
        let pos = bytes.windows(5).position(|w| w == b"hello").unwrap();
        bytes[pos] = b'j';
        let z = Archive::new(&bytes).unwrap();
        assert!(z.read("a", 100).unwrap_err().to_string().contains("CRC"));
        let good = write_stored(&[("a", b"hello")]).unwrap();
        for cut in [0, 10, 30, good.len() - 1] {
            assert!(Archive::new(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(Archive::new(b"not a zip file at all, just some text here").is_err());
    }

    #[test]
    fn deflated_entries_are_bounded() {
        use flate2::write::DeflateEncoder;
        use std::io::Write;
        // A 1 MiB run of zeros deflates to a few bytes: a tiny bomb.
        let plain = vec![0u8; 1 << 20];
        let mut enc = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&plain).unwrap();
        let packed = enc.finish().unwrap();
        let mut bytes = write_stored(&[("z", &packed)]).unwrap();
        // Patch method (8), crc and the uncompressed size in both headers.
        let mut crc = Crc::new();
        crc.update(&plain);
        let cd = bytes.windows(4).rposition(|w| w == CENTRAL_SIG.to_le_bytes()).unwrap();
        for (h, off) in [(0usize, 8usize), (cd, 10)] {
            bytes[h + off..h + off + 2].copy_from_slice(&8u16.to_le_bytes());
            bytes[h + off + 6..h + off + 10].copy_from_slice(&crc.sum().to_le_bytes());
            bytes[h + off + 14..h + off + 18].copy_from_slice(&(plain.len() as u32).to_le_bytes());
        }
        let z = Archive::new(&bytes).unwrap();
        assert_eq!(z.read("z", 1 << 20).unwrap().len(), 1 << 20);
        assert!(z.read("z", 1000).unwrap_err().to_string().contains("Not allowed"));
    }
}
