//! Atomic file writes: a crash mid-save never leaves a half-written model under the target
//! name. The bytes go to a temporary file in the same directory (same filesystem, so the
//! rename is atomic), are flushed to disk, then renamed over the target.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically, creating missing parent directories as Keras does.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |what: &str, e: std::io::Error| Error::Io(format!("Cannot {what} {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    fs::create_dir_all(&dir).map_err(|e| io_err("create the directory for", e))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("Invalid file path: {}", path.display())))?
        .to_string_lossy()
        .into_owned();
    // A name unique to this process and call, hidden like an editor's temp file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        {
            // Closed before the rename (Windows refuses to rename an open file).
            let mut f = fs::File::create(&tmp).map_err(|e| io_err("write", e))?;
            f.write_all(bytes).map_err(|e| io_err("write", e))?;
            f.sync_all().map_err(|e| io_err("write", e))?;
        }
        fs::rename(&tmp, path).map_err(|e| io_err("write", e))?;
        // Make the rename itself durable (best effort: not every platform syncs directories).
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_target_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("keras_atomic_{}", std::process::id()));
        let path = dir.join("sub").join("m.bin");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> =
            fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A target that is a directory cannot be replaced: the error names it, the temp file is gone.
        let e = write_atomic(&dir.join("sub"), b"x").unwrap_err();
        assert!(e.to_string().contains("sub"), "{e}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
