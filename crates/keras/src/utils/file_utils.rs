//! `keras.utils.get_file` and its helpers (`keras/src/utils/file_utils.py`): download a file
//! into the Keras cache (`$KERAS_HOME` or `~/.keras`), check its hash, extract archives.
//!
//! What keras-rs does beyond Keras 3.15, on purpose:
//! * the download goes to a temporary file in the cache folder, is hash-checked there and only
//!   then renamed into place, so an interrupted or corrupted download never sits in the cache
//!   under the real name (Keras writes in place, deletes on an exception, and leaves a file
//!   whose hash did not match);
//! * a failed download says which file to put where to work offline;
//! * a `cache_dir` that does not exist yet is created (Keras falls back to `/tmp/.keras` when it
//!   cannot write to it, which it also does for a folder that is missing);
//! * an unknown `hash_algorithm` is an error (Keras silently uses md5).

use crate::setters::setters;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::http::{self, FetchError};
use super::progbar::Progbar;
use crate::{keras_bail, Error, Result};

/// Arguments of [`get_file`] besides the origin, with Keras's defaults (`cache_subdir =
/// "datasets"`, `hash_algorithm = "auto"`, `archive_format = "auto"`).
///
/// ```
/// let args = keras::utils::GetFileArgs::default()
///     .fname("vgg16_weights_tf_dim_ordering_tf_kernels.h5")
///     .cache_subdir("models")
///     .file_hash("64373286793e3c8b2b4e3219cbf3544b");
/// assert_eq!(args.cache_subdir, "models");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetFileArgs {
    /// Local file name; `None` takes the last part of the origin's path.
    pub fname: Option<String>,
    /// Expected sha256 (64 hex digits) or md5 (32) hash of the file.
    pub file_hash: Option<String>,
    /// `"auto"` (sha256 for a 64-character hash, else md5), `"sha256"` or `"md5"`.
    pub hash_algorithm: String,
    /// Folder under the cache dir (`"datasets"`, `"models"`); an absolute path is used as is.
    pub cache_subdir: String,
    /// The cache dir; `None` is [`keras_home`].
    pub cache_dir: Option<PathBuf>,
    /// Extract the archive after downloading, and return the extraction folder.
    pub extract: bool,
    /// `"auto"` (tar, then zip), `"tar"` or `"zip"`; `None` extracts nothing.
    pub archive_format: Option<String>,
    /// Download even when the file is cached.
    pub force_download: bool,
    /// 1 (Keras): print "Downloading data from ..." and a progress bar; 0: silent.
    pub verbose: u8,
}

impl Default for GetFileArgs {
    fn default() -> Self {
        GetFileArgs {
            fname: None,
            file_hash: None,
            hash_algorithm: "auto".into(),
            cache_subdir: "datasets".into(),
            cache_dir: None,
            extract: false,
            archive_format: Some("auto".into()),
            force_download: false,
            verbose: 1,
        }
    }
}

impl GetFileArgs {
    /// Local file name.
    pub fn fname(mut self, fname: &str) -> Self {
        self.fname = Some(fname.into());
        self
    }
    /// Expected sha256 or md5 hash.
    pub fn file_hash(mut self, hash: &str) -> Self {
        self.file_hash = Some(hash.into());
        self
    }
    /// `"auto"`, `"sha256"` or `"md5"`.
    pub fn hash_algorithm(mut self, algorithm: &str) -> Self {
        self.hash_algorithm = algorithm.into();
        self
    }
    /// Folder under the cache dir.
    pub fn cache_subdir(mut self, subdir: &str) -> Self {
        self.cache_subdir = subdir.into();
        self
    }
    /// The cache dir (instead of `$KERAS_HOME` / `~/.keras`).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    crate::setters::setters! {
        /// Extract the archive.
        extract: bool,
    }
    /// `"auto"`, `"tar"` or `"zip"`, or `None` for no extraction.
    pub fn archive_format(mut self, format: Option<&str>) -> Self {
        self.archive_format = format.map(Into::into);
        self
    }
    setters! {
        /// Download even when cached.
        force_download: bool,
        /// 0 for silence.
        verbose: u8,
    }
}

/// The Keras home folder: `$KERAS_HOME` when set, else `~/.keras`, or `/tmp/.keras` when the
/// home folder is not writable (Keras's `keras_home()`).
pub fn keras_home() -> PathBuf {
    keras_home_from(std::env::var_os("KERAS_HOME").map(PathBuf::from), home_dir())
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).map(PathBuf::from)
}

fn tmp_base() -> PathBuf {
    let tmp = Path::new("/tmp");
    if tmp.is_dir() {
        tmp.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// `keras_home()` from its inputs (the environment variable and the user's home folder).
pub(crate) fn keras_home_from(env: Option<PathBuf>, home: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = env {
        return dir;
    }
    match home {
        Some(h) if is_writable_dir(&h) => h.join(".keras"),
        _ => tmp_base().join(".keras"),
    }
}

/// `os.access(path, os.W_OK)` for a folder: whether a file can be created in it.
fn is_writable_dir(dir: &Path) -> bool {
    if !dir.is_dir() {
        return false;
    }
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = dir.join(format!(".keras-rs-write-probe.{}.{n}", std::process::id()));
    match fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// `os.path.expanduser` for a leading `~`.
fn expand_user(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    if s == "~" || s.starts_with("~/") {
        if let Some(h) = home_dir() {
            return h.join(s.trim_start_matches('~').trim_start_matches('/'));
        }
    }
    p.to_path_buf()
}

/// A hash in progress, sha256 or md5 (Keras `resolve_hasher`).
enum Hasher {
    Sha256(Sha256),
    Md5(Md5),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
        }
    }
    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Keras `resolve_hasher`: sha256 when asked, or for `"auto"` with a 64-character hash; md5
/// otherwise.
fn resolve_hasher(algorithm: &str, file_hash: Option<&str>) -> Result<Hasher> {
    match algorithm {
        "sha256" => Ok(Hasher::Sha256(Sha256::new())),
        "auto" if file_hash.is_some_and(|h| h.len() == 64) => Ok(Hasher::Sha256(Sha256::new())),
        "auto" | "md5" => Ok(Hasher::Md5(Md5::new())),
        other => keras_bail!(
            InvalidArgument,
            "Invalid hash_algorithm: {other}. Expected one of \"auto\", \"sha256\" or \"md5\"."
        ),
    }
}

fn hash_reader(mut r: impl Read, mut hasher: Hasher) -> io::Result<String> {
    let mut buf = vec![0u8; 65535];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.hex());
        }
        hasher.update(&buf[..n]);
    }
}

/// Keras `hash_file`: the sha256 or md5 hex digest of a file (`"auto"` means sha256 here, as in
/// Keras, where no hash is given to choose by).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("keras_doc_hash_{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("empty.txt");
/// std::fs::write(&path, b"").unwrap();
/// assert_eq!(
///     keras::utils::hash_file(&path, "sha256").unwrap(),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// assert_eq!(keras::utils::hash_file(&path, "md5").unwrap(), "d41d8cd98f00b204e9800998ecf8427e");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn hash_file(path: impl AsRef<Path>, algorithm: &str) -> Result<String> {
    let path = path.as_ref();
    let hasher = match algorithm {
        "auto" | "sha256" => Hasher::Sha256(Sha256::new()),
        _ => resolve_hasher(algorithm, None)?,
    };
    let f = fs::File::open(path).map_err(|e| Error::Io(format!("Cannot open {}: {e}", path.display())))?;
    hash_reader(f, hasher).map_err(|e| Error::Io(format!("Cannot read {}: {e}", path.display())))
}

/// Keras `validate_file`: whether the file's hash equals `file_hash` (`"auto"` picks sha256
/// for a 64-character hash, else md5).
pub fn validate_file(path: impl AsRef<Path>, file_hash: &str, algorithm: &str) -> Result<bool> {
    let path = path.as_ref();
    let hasher = resolve_hasher(algorithm, Some(file_hash))?;
    let f = fs::File::open(path).map_err(|e| Error::Io(format!("Cannot open {}: {e}", path.display())))?;
    let got =
        hash_reader(f, hasher).map_err(|e| Error::Io(format!("Cannot read {}: {e}", path.display())))?;
    Ok(got == file_hash)
}

/// The file a [`get_file`] call stores, and the folder it extracts to (Keras's naming rules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePaths {
    /// Where the downloaded file is kept.
    pub download_target: PathBuf,
    /// Where an archive is extracted (`extract=true` only).
    pub extraction_dir: Option<PathBuf>,
}

/// Resolves the cache folder and Keras's file names for `origin` and `args`, creating the
/// cache folder (as Keras does before downloading).
pub fn get_file_paths(origin: &str, args: &GetFileArgs) -> Result<CachePaths> {
    let cache_dir = match &args.cache_dir {
        Some(d) => expand_user(d),
        None => keras_home(),
    };
    let _ = fs::create_dir_all(&cache_dir);
    let base = if is_writable_dir(&cache_dir) { cache_dir } else { tmp_base().join(".keras") };
    let datadir = base.join(&args.cache_subdir);
    fs::create_dir_all(&datadir)
        .map_err(|e| Error::Io(format!("Cannot create the cache folder {}: {e}", datadir.display())))?;

    let provided = args.fname.as_deref().filter(|f| !f.is_empty());
    let fname = match provided {
        Some(f) => {
            if f.contains(std::path::MAIN_SEPARATOR) || f.contains('/') {
                keras_bail!(
                    InvalidArgument,
                    "Paths are no longer accepted as the `fname` argument. To specify the file's parent \
                     directory, use the `cache_dir` argument. Received: fname={f}"
                );
            }
            f.to_string()
        }
        None => {
            let name = http::url_basename(origin);
            if name.is_empty() {
                keras_bail!(
                    InvalidArgument,
                    "Can't parse the file name from the origin provided: '{origin}'.Please specify the \
                     `fname` argument."
                );
            }
            name
        }
    };
    if !args.extract {
        return Ok(CachePaths { download_target: datadir.join(&fname), extraction_dir: None });
    }
    let (download_target, extraction_dir) = match (provided, fname.find('.')) {
        (Some(_), Some(dot)) => (datadir.join(&fname), datadir.join(format!("{}_extracted", &fname[..dot]))),
        _ => (datadir.join(format!("{fname}_archive")), datadir.join(&fname)),
    };
    Ok(CachePaths { download_target, extraction_dir: Some(extraction_dir) })
}

/// Downloads a file from a URL unless it is already in the cache (Keras `keras.utils.get_file`).
///
/// The file goes to `cache_dir/cache_subdir/fname` (`~/.keras/datasets/<name>` by default).
/// With `file_hash`, a cached file is checked and downloaded again when it does not match,
/// and a download that does not match is refused (and not kept). With `extract`, the archive
/// (tar, tar.gz, tar.bz2 or zip) is extracted and the extraction folder is returned.
/// `http://`, `https://` (feature `https`, on by default) and `file://` origins are supported;
/// redirects are followed as urllib follows them.
///
/// Errors: `Io("URL fetch failure on <origin>: <code> -- <reason>...")` when the download
/// fails (the message also says where to put the file by hand to work offline), and
/// `Value("Incomplete or corrupted file detected...")` on a hash mismatch.
///
/// ```no_run
/// use keras::utils::{get_file, GetFileArgs};
/// let path = get_file(
///     "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
///     &GetFileArgs::default().cache_subdir("models").file_hash("6d6bbae143d832006294945121d1f1fc"),
/// )?;
/// println!("weights at {}", path.display());
/// # Ok::<(), keras::Error>(())
/// ```
pub fn get_file(origin: &str, args: &GetFileArgs) -> Result<PathBuf> {
    if origin.is_empty() {
        keras_bail!(InvalidArgument, "Please specify the \"origin\" argument (URL of the file to download).");
    }
    // Check the algorithm name before touching the network or the cache.
    if let Some(h) = &args.file_hash {
        resolve_hasher(&args.hash_algorithm, Some(h))?;
    }
    let paths = get_file_paths(origin, args)?;
    let target = &paths.download_target;

    let mut download = args.force_download || !target.exists();
    if !download {
        if let Some(h) = &args.file_hash {
            if !validate_file(target, h, &args.hash_algorithm)? {
                if args.verbose > 0 {
                    println!(
                        "A local file was found, but it seems to be incomplete or outdated because the {} file \
                         hash does not match the original value of {h} so we will re-download the data.",
                        args.hash_algorithm
                    );
                }
                download = true;
            }
        }
    }
    if download {
        download_to(origin, target, args)?;
    }
    match &paths.extraction_dir {
        Some(dir) => {
            if !extract_archive(target, dir, args.archive_format.as_deref())? {
                eprintln!("UserWarning: Could not extract archive.");
            }
            Ok(dir.clone())
        }
        None => Ok(target.clone()),
    }
}

/// Downloads `origin` to a temporary file next to `target`, checks the hash, renames.
fn download_to(origin: &str, target: &Path, args: &GetFileArgs) -> Result<()> {
    if args.verbose > 0 {
        println!("Downloading data from {origin}");
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.part", std::process::id()));
    let result = (|| {
        let file =
            fs::File::create(&tmp).map_err(|e| Error::Io(format!("Cannot write {}: {e}", tmp.display())))?;
        let mut sink = io::BufWriter::with_capacity(1 << 20, file);
        let mut bar = DownloadProgress { bar: None, finished: false, verbose: args.verbose };
        let fetched = http::fetch(origin, &mut sink, &mut |block, total| bar.report(block, total));
        if let Err(e) = fetched {
            keras_bail!(Io, "{}", fetch_failure(origin, &e, target, args));
        }
        {
            // Closed before the hash check and the rename.
            let file =
                sink.into_inner().map_err(|e| Error::Io(format!("Cannot write {}: {e}", tmp.display())))?;
            file.sync_all().map_err(|e| Error::Io(format!("Cannot write {}: {e}", tmp.display())))?;
        }
        if let Some(h) = &args.file_hash {
            if !validate_file(&tmp, h, &args.hash_algorithm)? {
                keras_bail!(
                    Value,
                    "Incomplete or corrupted file detected. The {} file hash does not match the provided value \
                     of {h}.",
                    args.hash_algorithm
                );
            }
        }
        fs::rename(&tmp, target).map_err(|e| Error::Io(format!("Cannot write {}: {e}", target.display())))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Keras's message for a failed fetch, and where to put the file by hand.
fn fetch_failure(origin: &str, e: &FetchError, target: &Path, args: &GetFileArgs) -> String {
    let head = match e {
        FetchError::Http { code, reason } => format!("URL fetch failure on {origin}: {code} -- {reason}"),
        FetchError::Url { reason } => format!("URL fetch failure on {origin}: None -- {reason}"),
    };
    let hash = match &args.file_hash {
        Some(h) => {
            let alg = match resolve_hasher(&args.hash_algorithm, Some(h)) {
                Ok(Hasher::Sha256(_)) => "sha256",
                _ => "md5",
            };
            format!(" (its {alg} hash must be {h})")
        }
        None => String::new(),
    };
    format!(
        "{head}\nTo work without a network connection, download {origin} elsewhere and copy it to {}{hash}.",
        target.display()
    )
}

/// Keras's `DLProgbar`: a `Progbar` over bytes, fed with urlretrieve's block reports.
struct DownloadProgress {
    bar: Option<Progbar>,
    finished: bool,
    verbose: u8,
}

impl DownloadProgress {
    /// The bar update Keras's `DLProgbar.__call__` makes for a block report: `(current,
    /// finalize)`, or `None` once the bar has finished.
    fn step(&mut self, block: u64, total: Option<u64>) -> Option<(usize, bool)> {
        let current = block as usize * http::BLOCK_SIZE;
        match total {
            None => Some((current, false)),
            Some(t) => {
                let t = t as usize;
                if current < t {
                    Some((current, false))
                } else if !self.finished {
                    self.finished = true;
                    Some((t, true))
                } else {
                    None
                }
            }
        }
    }

    fn report(&mut self, block: u64, total: Option<u64>) {
        if self.verbose == 0 {
            return;
        }
        if let Some((current, finalize)) = self.step(block, total) {
            let bar = self.bar.get_or_insert_with(|| Progbar::new(total.map(|t| t as usize), 1, "step"));
            bar.update(current, &[], finalize);
        }
    }
}

// ------------------------------------------------------------------------------ archives

/// Python's `os.path.realpath` (non-strict): `..` and symlinks resolved for the part of the
/// path that exists, the rest normalized lexically.
fn resolve_path(p: &Path) -> PathBuf {
    fn walk(p: &Path, depth: usize) -> PathBuf {
        let mut acc = PathBuf::new();
        for c in p.components() {
            match c {
                Component::Prefix(_) | Component::RootDir => acc.push(c.as_os_str()),
                Component::CurDir => {}
                Component::ParentDir => {
                    acc.pop();
                }
                Component::Normal(n) => {
                    acc.push(n);
                    if depth < 40 {
                        if let Ok(target) = fs::read_link(&acc) {
                            let parent = acc.parent().map(Path::to_path_buf).unwrap_or_default();
                            acc = walk(&parent.join(target), depth + 1);
                        }
                    }
                }
            }
        }
        acc
    }
    let abs =
        if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    walk(&abs, 0)
}

/// Keras `resolve_sub_path`: the resolved `base/relative` when it stays inside `base`.
fn resolve_sub_path(base: &Path, relative: &str) -> Option<PathBuf> {
    let p = resolve_path(&base.join(relative));
    p.starts_with(base).then_some(p)
}

fn skip_warning(name: &str) {
    eprintln!("UserWarning: Skipping invalid path during archive extraction: '{name}'.");
}

/// Compression of a tar file, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TarCompression {
    None,
    Gzip,
    Bzip2,
    Xz,
}

fn tar_compression(head: &[u8]) -> TarCompression {
    if head.starts_with(&[0x1f, 0x8b]) {
        TarCompression::Gzip
    } else if head.starts_with(b"BZh") {
        TarCompression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        TarCompression::Xz
    } else {
        TarCompression::None
    }
}

fn open_tar_stream(path: &Path) -> Result<(Box<dyn Read>, TarCompression)> {
    let io_err = |e: io::Error| Error::Io(format!("Cannot read {}: {e}", path.display()));
    let mut f = fs::File::open(path).map_err(io_err)?;
    let mut head = [0u8; 6];
    let n = read_full(&mut f, &mut head).map_err(io_err)?;
    let kind = tar_compression(&head[..n]);
    let f = fs::File::open(path).map_err(io_err)?;
    let f = io::BufReader::new(f);
    let r: Box<dyn Read> = match kind {
        TarCompression::None | TarCompression::Xz => Box::new(f),
        TarCompression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(f)),
        TarCompression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(f)),
    };
    Ok((r, kind))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Python's `tarfile.is_tarfile`: the (possibly gzip/bzip2-compressed) file starts with a tar
/// header whose checksum is right. xz-compressed tars are recognised so that they can be
/// refused with a clear error.
fn is_tarfile(path: &Path) -> Result<bool> {
    let (mut r, kind) = open_tar_stream(path)?;
    if kind == TarCompression::Xz {
        return Ok(true);
    }
    let mut block = [0u8; 512];
    let n = match read_full(&mut r, &mut block) {
        Ok(n) => n,
        Err(_) => return Ok(false), // not valid gzip/bzip2 data
    };
    if n < 512 {
        return Ok(false);
    }
    let field = &block[148..156];
    let text: String = field.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
    let Ok(stored) = i64::from_str_radix(text.trim(), 8) else {
        return Ok(false);
    };
    let unsigned: i64 =
        block.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as i64 }).sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as i8 as i64 })
        .sum();
    Ok(stored == unsigned || stored == signed)
}

/// Python's `zipfile.is_zipfile`: an end-of-central-directory record near the end.
fn is_zipfile(path: &Path) -> Result<bool> {
    use std::io::{Seek, SeekFrom};
    let io_err = |e: io::Error| Error::Io(format!("Cannot read {}: {e}", path.display()));
    let mut f = fs::File::open(path).map_err(io_err)?;
    let len = f.metadata().map_err(io_err)?.len();
    if len < 22 {
        return Ok(false);
    }
    let tail = len.min(22 + 0xffff);
    f.seek(SeekFrom::Start(len - tail)).map_err(io_err)?;
    let mut buf = vec![0u8; tail as usize];
    f.read_exact(&mut buf).map_err(io_err)?;
    Ok(buf.windows(4).any(|w| w == [0x50, 0x4b, 0x05, 0x06]))
}

/// Keras `extract_archive`: extracts a tar (plain, gzip or bzip2) or zip archive into `path`,
/// trying the formats of `archive_format` in order (`"auto"`: tar, then zip; `None`: none).
/// Returns whether a format matched. Members whose path (or link target) would land outside
/// `path` are skipped with a warning, as Keras does; device files are refused (Python's
/// `filter="data"`). When extraction fails, `path` is removed and the error returned.
pub fn extract_archive(
    file_path: impl AsRef<Path>,
    path: impl AsRef<Path>,
    archive_format: Option<&str>,
) -> Result<bool> {
    let (file_path, path) = (file_path.as_ref(), path.as_ref());
    let formats: Vec<&str> = match archive_format {
        None => return Ok(false),
        Some("auto") => vec!["tar", "zip"],
        Some(f) => vec![f],
    };
    for format in formats {
        let matched = match format {
            "tar" => is_tarfile(file_path)?,
            "zip" => is_zipfile(file_path)?,
            other => keras_bail!(
                InvalidArgument,
                "Unsupported archive format: {other}. Expected \"auto\", \"tar\" or \"zip\"."
            ),
        };
        if !matched {
            continue;
        }
        let result =
            if format == "tar" { extract_tar(file_path, path) } else { extract_zip(file_path, path) };
        if let Err(e) = result {
            if path.is_file() {
                let _ = fs::remove_file(path);
            } else if path.exists() {
                let _ = fs::remove_dir_all(path);
            }
            return Err(e);
        }
        return Ok(true);
    }
    Ok(false)
}

fn extract_err(archive: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io(format!("Cannot extract {}: {e}", archive.display()))
}

/// Creates the parent folders of `dest` and checks that they resolve inside `base` (a
/// symlink extracted earlier must not lead a later member outside).
fn prepare_parent(base: &Path, dest: &Path, archive: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(|e| extract_err(archive, e))?;
        if !resolve_path(parent).starts_with(base) {
            return Err(extract_err(
                archive,
                format!("'{}' would be written outside the destination", dest.display()),
            ));
        }
    }
    Ok(())
}

fn extract_tar(file_path: &Path, path: &Path) -> Result<()> {
    let (r, kind) = open_tar_stream(file_path)?;
    if kind == TarCompression::Xz {
        keras_bail!(
            Io,
            "Cannot extract {}: xz-compressed tar archives are not supported by keras-rs (tar, tar.gz, tar.bz2 \
             and zip are)",
            file_path.display()
        );
    }
    fs::create_dir_all(path).map_err(|e| extract_err(file_path, e))?;
    let base = resolve_path(path);
    let mut archive = tar::Archive::new(r);
    let entries = archive.entries().map_err(|e| extract_err(file_path, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| extract_err(file_path, e))?;
        let name_bytes = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        if matches!(kind, T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink) {
            continue;
        }
        let is_link = matches!(kind, T::Symlink | T::Link);
        let link = if is_link {
            entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
        } else {
            String::new()
        };
        // Keras's filter_safe_tarinfos.
        let Some(dest) = resolve_sub_path(&base, &name) else {
            skip_warning(&name);
            continue;
        };
        if is_link {
            let target = if kind == T::Symlink {
                resolve_path(&dest.parent().unwrap_or(&base).join(&link))
            } else {
                resolve_path(&base.join(&link))
            };
            if !target.starts_with(&base) || Path::new(&link).is_absolute() {
                skip_warning(&name);
                continue;
            }
        }
        // The destination, lexically (a symlink member itself must not be followed).
        let dest = lexical_join(&base, &name);
        match kind {
            T::Directory => {
                fs::create_dir_all(&dest).map_err(|e| extract_err(file_path, e))?;
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                prepare_parent(&base, &dest, file_path)?;
                if fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink())
                    && !resolve_path(&dest).starts_with(&base)
                {
                    return Err(extract_err(
                        file_path,
                        format!("'{name}' would be written outside the destination"),
                    ));
                }
                let mut out = fs::File::create(&dest).map_err(|e| extract_err(file_path, e))?;
                io::copy(&mut entry, &mut out).map_err(|e| extract_err(file_path, e))?;
                set_data_mode(&dest, entry.header().mode().unwrap_or(0o644));
            }
            T::Symlink => {
                prepare_parent(&base, &dest, file_path)?;
                if fs::symlink_metadata(&dest).is_ok() {
                    let _ = fs::remove_file(&dest);
                }
                make_symlink(&link, &dest).map_err(|e| extract_err(file_path, e))?;
            }
            T::Link => {
                prepare_parent(&base, &dest, file_path)?;
                let source = lexical_join(&base, &link);
                if fs::symlink_metadata(&dest).is_ok() {
                    let _ = fs::remove_file(&dest);
                }
                if fs::hard_link(&source, &dest).is_err() {
                    fs::copy(&source, &dest).map_err(|e| extract_err(file_path, e))?;
                }
            }
            other => {
                // Python's data filter: "SpecialFileError".
                return Err(extract_err(
                    file_path,
                    format!("'{name}' is a special file ({other:?}), which is not extracted"),
                ));
            }
        }
    }
    Ok(())
}

/// `base` joined with an archive member name, `.` and empty parts dropped, `..` applied
/// lexically (callers have already checked that the result stays inside `base`).
fn lexical_join(base: &Path, name: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out != base {
                    out.pop();
                }
            }
            p => out.push(p),
        }
    }
    out
}

/// Python's data filter on file modes: no group/other write, owner read/write, executable
/// bits only when the owner's is set.
#[cfg(unix)]
fn set_data_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let mut mode = mode & 0o755;
    if mode & 0o100 == 0 {
        mode &= !0o111;
    }
    mode |= 0o600;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_data_mode(_path: &Path, _mode: u32) {}

#[cfg(unix)]
fn make_symlink(link: &str, dest: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, dest)
}

#[cfg(not(unix))]
fn make_symlink(link: &str, dest: &Path) -> io::Result<()> {
    // Without symlinks, copy the target as Python's tarfile does when linking fails.
    let target = dest.parent().unwrap_or(Path::new(".")).join(link);
    fs::copy(target, dest).map(|_| ())
}

fn extract_zip(file_path: &Path, path: &Path) -> Result<()> {
    let bytes = crate::saving::read_file_limited(file_path)?;
    // Datasets hold many files: up to a million members.
    let archive = crate::saving::ZipArchive::with_max_entries(&bytes, 1 << 20)
        .map_err(|e| extract_err(file_path, e))?;
    fs::create_dir_all(path).map_err(|e| extract_err(file_path, e))?;
    let base = resolve_path(path);
    for name in archive.names() {
        // Keras's filter_safe_zipinfos, then zipfile's own cleaning of the name.
        if resolve_sub_path(&base, &name).is_none() {
            skip_warning(&name);
            continue;
        }
        let clean: Vec<&str> = name.split(['/', '\\']).filter(|p| !matches!(*p, "" | "." | "..")).collect();
        if clean.is_empty() {
            continue;
        }
        let dest = base.join(clean.join("/"));
        prepare_parent(&base, &dest, file_path)?;
        if name.ends_with('/') {
            fs::create_dir_all(&dest).map_err(|e| extract_err(file_path, e))?;
            continue;
        }
        let data = archive.read(&name, usize::MAX).map_err(|e| extract_err(file_path, e))?;
        if fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink())
            && !resolve_path(&dest).starts_with(&base)
        {
            return Err(extract_err(file_path, format!("'{name}' would be written outside the destination")));
        }
        fs::write(&dest, data).map_err(|e| extract_err(file_path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("keras_file_utils_{name}_{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn keras_home_follows_the_environment_then_the_home_folder() {
        assert_eq!(keras_home_from(Some("/x/kh".into()), None), PathBuf::from("/x/kh"));
        let home = tmp("home");
        assert_eq!(keras_home_from(None, Some(home.clone())), home.join(".keras"));
        // A home folder that is missing (or not writable) falls back to /tmp/.keras.
        assert_eq!(keras_home_from(None, Some(home.join("missing"))), tmp_base().join(".keras"));
        assert_eq!(keras_home_from(None, None), tmp_base().join(".keras"));
        fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn hashers_are_chosen_as_keras_chooses_them() {
        let sha = "a".repeat(64);
        assert!(matches!(resolve_hasher("auto", Some(&sha)).unwrap(), Hasher::Sha256(_)));
        assert!(matches!(resolve_hasher("auto", Some("abc")).unwrap(), Hasher::Md5(_)));
        assert!(matches!(resolve_hasher("auto", None).unwrap(), Hasher::Md5(_)));
        assert!(matches!(resolve_hasher("sha256", Some("abc")).unwrap(), Hasher::Sha256(_)));
        assert!(matches!(resolve_hasher("md5", Some(&sha)).unwrap(), Hasher::Md5(_)));
        assert!(resolve_hasher("sha1", None).is_err_and(|e| e.to_string().contains("sha1")));
    }

    #[test]
    fn file_names_follow_keras() {
        let d = tmp("names");
        let a = GetFileArgs::default().cache_dir(&d);
        let p = get_file_paths("http://h/dir/data.tar.gz?x=1", &a).unwrap();
        assert_eq!(p.download_target, d.join("datasets/data.tar.gz"));
        let p = get_file_paths("http://h/dir/data.tar.gz", &a.clone().extract(true)).unwrap();
        assert_eq!(p.download_target, d.join("datasets/data.tar.gz_archive"));
        assert_eq!(p.extraction_dir, Some(d.join("datasets/data.tar.gz")));
        let p = get_file_paths("http://h/x", &a.clone().extract(true).fname("my.data.tgz")).unwrap();
        assert_eq!(p.download_target, d.join("datasets/my.data.tgz"));
        assert_eq!(p.extraction_dir, Some(d.join("datasets/my_extracted")));
        let p = get_file_paths("http://h/x", &a.clone().extract(true).fname("plain")).unwrap();
        assert_eq!(p.download_target, d.join("datasets/plain_archive"));
        assert_eq!(p.extraction_dir, Some(d.join("datasets/plain")));
        let abs = d.join("abs");
        let p = get_file_paths("http://h/f.bin", &a.clone().cache_subdir(abs.to_str().unwrap())).unwrap();
        assert_eq!(p.download_target, abs.join("f.bin"));
        let e = get_file_paths("http://h/", &a).unwrap_err().to_string();
        assert!(e.starts_with("Can't parse the file name from the origin provided: 'http://h/'."), "{e}");
        let e = get_file_paths("http://h/x", &a.clone().fname("a/b")).unwrap_err().to_string();
        assert!(e.contains("Paths are no longer accepted as the `fname` argument"), "{e}");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn progress_follows_keras_dlprogbar() {
        // 20,000 bytes in 8 KiB blocks: reports for blocks 0..=3; the last overshoots the size
        // and finalizes at the target, once.
        let mut p = DownloadProgress { bar: None, finished: false, verbose: 0 };
        let got: Vec<_> = (0..5).map(|b| p.step(b, Some(20_000))).collect();
        assert_eq!(
            got,
            vec![Some((0, false)), Some((8192, false)), Some((16384, false)), Some((20_000, true)), None]
        );
        // Unknown size: the bar counts bytes and never finalizes.
        let mut p = DownloadProgress { bar: None, finished: false, verbose: 0 };
        assert_eq!(p.step(2, None), Some((16384, false)));
    }

    #[test]
    fn realpath_resolves_dots_and_symlinks() {
        let d = tmp("realpath");
        let base = resolve_path(&d);
        assert_eq!(resolve_path(&d.join("a/../b/./c")), base.join("b/c"));
        assert!(resolve_sub_path(&base, "../x").is_none());
        assert!(resolve_sub_path(&base, "/etc/passwd").is_none());
        assert_eq!(resolve_sub_path(&base, "a/../b"), Some(base.join("b")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/", d.join("up")).unwrap();
            assert!(resolve_sub_path(&base, "up/etc").is_none());
        }
        fs::remove_dir_all(d).unwrap();
    }
}
