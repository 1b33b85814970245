//! `keras::utils::get_file` against a local HTTP server (never the internet): download, cache
//! hits, hash checks (md5 and sha256, auto-detected), re-download of a bad cached file, server
//! errors, redirects, chunked / until-close / truncated bodies, an unreachable server and the
//! offline workflow, `file://` origins, and archive extraction compared with what Keras 3.15's
//! own `get_file(extract=True)` leaves on disk for the same archives
//! (tests/fixtures/applications/extract.json, made by tools/applications/gen_fixtures.py).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use keras::applications::imagenet_utils::{
    ClassIndex, CLASS_INDEX_FNAME, CLASS_INDEX_HASH, CLASS_INDEX_PATH,
};
use keras::utils::{get_file, hash_file, GetFileArgs};
use keras::Error;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/applications")
}

/// A fresh, empty folder for one test.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keras_get_file_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small HTTP/1.1 server on 127.0.0.1 with fixed routes, counting requests per path. It
/// serves at most 500 connections and stops when dropped.
struct Server {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn respond(mut s: TcpStream, path: &str, files: &HashMap<String, Vec<u8>>) {
    let send = |s: &mut TcpStream, status: &str, headers: &[String], body: &[u8]| {
        let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(body);
    };
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(2, '/').collect();
    let (route, rest) = (parts[0], parts.get(1).copied().unwrap_or(""));
    let file = files.get(rest);
    match (route, file) {
        ("files", Some(body)) => send(&mut s, "200 OK", &[format!("Content-Length: {}", body.len())], body),
        ("noclen", Some(body)) => send(&mut s, "200 OK", &[], body),
        ("chunked", Some(body)) => {
            let mut chunked = Vec::new();
            for c in body.chunks(3000) {
                chunked.extend(format!("{:x}\r\n", c.len()).as_bytes());
                chunked.extend(c);
                chunked.extend(b"\r\n");
            }
            chunked.extend(b"0\r\n\r\n");
            send(&mut s, "200 OK", &["Transfer-Encoding: chunked".into()], &chunked);
        }
        ("short", Some(body)) => {
            send(&mut s, "200 OK", &[format!("Content-Length: {}", body.len() + 100)], body);
        }
        ("redirect", _) => send(&mut s, "302 Found", &[format!("Location: /{rest}")], b""),
        ("redirect-rel", _) => {
            send(&mut s, "301 Moved Permanently", &[format!("Location: ../../{rest}")], b"")
        }
        ("loop", _) => send(&mut s, "302 Found", &["Location: /loop/again".into()], b""),
        ("error", _) => send(&mut s, "500 Internal Server Error", &["Content-Length: 4".into()], b"oops"),
        _ => send(&mut s, "404 Not Found", &["Content-Length: 9".into()], b"not found"),
    }
}

impl Server {
    fn start(files: HashMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st) = (hits.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming().take(500) {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut s) = conn else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).map_or(true, |n| n == 0) || header.trim().is_empty() {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                *h.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                respond(s.try_clone().unwrap(), &path, &files);
                let _ = s.flush();
            }
        });
        Server { port, hits, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

fn sha256_of(data: &[u8], dir: &Path) -> String {
    let p = dir.join("hash-me");
    std::fs::write(&p, data).unwrap();
    let h = hash_file(&p, "sha256").unwrap();
    std::fs::remove_file(p).unwrap();
    h
}

fn md5_of(data: &[u8], dir: &Path) -> String {
    let p = dir.join("hash-me");
    std::fs::write(&p, data).unwrap();
    let h = hash_file(&p, "md5").unwrap();
    std::fs::remove_file(p).unwrap();
    h
}

/// Every entry of a folder, recursively, for checking that nothing but the expected files
/// (no temporary download) is left.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() && !p.is_symlink() {
                walk(root, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn quiet() -> GetFileArgs {
    GetFileArgs::default().verbose(0)
}

#[test]
fn downloads_then_hits_the_cache() {
    let data = payload(20_000);
    let server = Server::start(HashMap::from([("w.bin".to_string(), data.clone())]));
    let cache = tmp("cache_hit");
    let sha = sha256_of(&data, &cache);
    let args = quiet().cache_dir(&cache).cache_subdir("models").file_hash(&sha);
    let path = get_file(&server.url("/files/w.bin"), &args).unwrap();
    assert_eq!(path, cache.join("models/w.bin"));
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(server.hits("/files/w.bin"), 1);
    // Cached: no request at all, the hash is checked on disk (md5 works too).
    let md5 = md5_of(&data, &cache);
    let again = get_file(&server.url("/files/w.bin"), &args.clone().file_hash(&md5)).unwrap();
    assert_eq!(again, path);
    assert_eq!(server.hits("/files/w.bin"), 1);
    // force_download fetches again.
    get_file(&server.url("/files/w.bin"), &args.clone().force_download(true)).unwrap();
    assert_eq!(server.hits("/files/w.bin"), 2);
    // fname and the default subdir.
    let named =
        get_file(&server.url("/files/w.bin"), &quiet().cache_dir(&cache).fname("renamed.dat")).unwrap();
    assert_eq!(named, cache.join("datasets/renamed.dat"));
    assert_eq!(listing(&cache), ["datasets", "datasets/renamed.dat", "models", "models/w.bin"]);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn a_cached_file_with_a_bad_hash_is_downloaded_again() {
    let data = payload(5000);
    let server = Server::start(HashMap::from([("d.bin".to_string(), data.clone())]));
    let cache = tmp("rehash");
    let md5 = md5_of(&data, &cache);
    std::fs::create_dir_all(cache.join("datasets")).unwrap();
    std::fs::write(cache.join("datasets/d.bin"), b"stale or truncated").unwrap();
    // Without a hash the stale file is trusted, as in Keras.
    let p = get_file(&server.url("/files/d.bin"), &quiet().cache_dir(&cache)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"stale or truncated");
    assert_eq!(server.hits("/files/d.bin"), 0);
    // With one it is replaced.
    let p = get_file(&server.url("/files/d.bin"), &quiet().cache_dir(&cache).file_hash(&md5)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), data);
    assert_eq!(server.hits("/files/d.bin"), 1);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn a_download_with_the_wrong_hash_is_refused_and_not_kept() {
    let data = payload(3000);
    let server = Server::start(HashMap::from([("x.bin".to_string(), data)]));
    let cache = tmp("badhash");
    let wrong = "0".repeat(64);
    let e = get_file(&server.url("/files/x.bin"), &quiet().cache_dir(&cache).file_hash(&wrong)).unwrap_err();
    assert!(matches!(e, Error::Value(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("Incomplete or corrupted file detected. The auto file hash does not match the provided value of {wrong}.")
    );
    let e = get_file(
        &server.url("/files/x.bin"),
        &quiet().cache_dir(&cache).file_hash("0123").hash_algorithm("md5"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("The md5 file hash does not match the provided value of 0123."), "{e}");
    assert_eq!(listing(&cache), ["datasets"], "nothing is left in the cache");
    // An unknown algorithm is refused before any request.
    let e = get_file(
        &server.url("/files/x.bin"),
        &quiet().cache_dir(&cache).file_hash("00").hash_algorithm("sha1"),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_eq!(server.hits("/files/x.bin"), 2);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn server_errors_are_reported_as_keras_reports_them() {
    let server = Server::start(HashMap::new());
    let cache = tmp("errors");
    for (path, code) in [("/missing.h5", "404 -- Not Found"), ("/error/x.h5", "500 -- Internal Server Error")]
    {
        let url = server.url(path);
        let e = get_file(&url, &quiet().cache_dir(&cache).cache_subdir("models")).unwrap_err();
        assert!(matches!(e, Error::Io(_)), "{e:?}");
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("URL fetch failure on {url}: {code}\n")), "{msg}");
        let name = path.rsplit('/').next().unwrap();
        let target = cache.join("models").join(name);
        assert!(
            msg.contains(&format!("download {url} elsewhere and copy it to {}", target.display())),
            "{msg}"
        );
    }
    assert_eq!(listing(&cache), ["models"]);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn redirects_are_followed_and_loops_stopped() {
    let data = payload(10_000);
    let server = Server::start(HashMap::from([("r.bin".to_string(), data.clone())]));
    let cache = tmp("redirect");
    let p = get_file(&server.url("/redirect/files/r.bin"), &quiet().cache_dir(&cache)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), data);
    assert_eq!(p, cache.join("datasets/r.bin"), "the name comes from the origin, not the redirect");
    // A relative Location resolves against the redirecting URL.
    let p = get_file(&server.url("/redirect-rel/files/r.bin"), &quiet().cache_dir(&cache).fname("rel.bin"))
        .unwrap();
    assert_eq!(std::fs::read(p).unwrap(), data);
    assert_eq!(server.hits("/files/r.bin"), 2);
    let url = server.url("/loop/start.bin");
    let e = get_file(&url, &quiet().cache_dir(&cache)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "URL fetch failure on {url}: 302 -- The HTTP server returned a redirect error that would lead to an \
             infinite loop.\nThe last 30x error message was:\nFound"
        )),
        "{e}"
    );
    assert!(server.hits("/loop/again") <= 5, "urllib stops after 4 visits of one URL");
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn chunked_until_close_and_truncated_bodies() {
    let data = payload(70_000);
    let server = Server::start(HashMap::from([("c.bin".to_string(), data.clone())]));
    let cache = tmp("bodies");
    let sha = sha256_of(&data, &cache);
    for route in ["chunked", "noclen"] {
        let p = get_file(
            &server.url(&format!("/{route}/c.bin")),
            &quiet().cache_dir(&cache).cache_subdir(route).file_hash(&sha),
        )
        .unwrap();
        assert_eq!(std::fs::read(p).unwrap(), data, "{route}");
    }
    let url = server.url("/short/c.bin");
    let e = get_file(&url, &quiet().cache_dir(&cache).cache_subdir("short")).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "URL fetch failure on {url}: None -- retrieval incomplete: got only 70000 out of 70100 bytes"
        )),
        "{e}"
    );
    assert!(!cache.join("short/c.bin").exists());
    assert_eq!(listing(&cache.join("short")), Vec::<String>::new(), "no partial file is left");
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn unreachable_server_says_where_to_put_the_file_and_then_works_offline() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/weights/model_notop.h5");
    let cache = tmp("offline");
    let data = payload(1234);
    let md5 = md5_of(&data, &cache);
    let args = quiet().cache_dir(&cache).cache_subdir("models").file_hash(&md5);
    let e = get_file(&url, &args).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    let msg = e.to_string();
    let target = cache.join("models/model_notop.h5");
    assert!(msg.starts_with(&format!("URL fetch failure on {url}: None -- [Errno 111] ")), "{msg}");
    assert!(
        msg.ends_with(&format!(
            "To work without a network connection, download {url} elsewhere and copy it to {} (its md5 hash must \
             be {md5}).",
            target.display()
        )),
        "{msg}"
    );
    // Doing what the message says makes the same call succeed without a network.
    std::fs::write(&target, &data).unwrap();
    assert_eq!(get_file(&url, &args).unwrap(), target);
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn file_urls_and_argument_errors() {
    let cache = tmp("fileurl");
    let src = cache.join("source.txt");
    std::fs::write(&src, b"local data").unwrap();
    let p = get_file(&format!("file://{}", src.display()), &quiet().cache_dir(&cache)).unwrap();
    assert_eq!(p, cache.join("datasets/source.txt"));
    assert_eq!(std::fs::read(p).unwrap(), b"local data");
    let e = get_file("", &quiet().cache_dir(&cache)).unwrap_err().to_string();
    assert_eq!(e, "Please specify the \"origin\" argument (URL of the file to download).");
    let e = get_file("http://127.0.0.1:9/", &quiet().cache_dir(&cache)).unwrap_err().to_string();
    assert!(e.starts_with("Can't parse the file name from the origin provided"), "{e}");
    let e = get_file("gopher://h/x.bin", &quiet().cache_dir(&cache)).unwrap_err().to_string();
    assert!(
        e.starts_with("URL fetch failure on gopher://h/x.bin: None -- unknown url type: 'gopher'"),
        "{e}"
    );
    std::fs::remove_dir_all(cache).unwrap();
}

/// What is under `root`, in the form of extract.json's trees.
fn tree(root: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for rel in listing(root) {
        let p = root.join(&rel);
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let entry = if meta.file_type().is_symlink() {
            serde_json::json!({"path": rel, "kind": "symlink", "target": std::fs::read_link(&p).unwrap().to_string_lossy()})
        } else if meta.is_dir() {
            serde_json::json!({"path": rel, "kind": "dir"})
        } else {
            let data = std::fs::read(&p).unwrap();
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt;
                format!("0o{:o}", meta.permissions().mode() & 0o777)
            };
            #[cfg(not(unix))]
            let mode = String::new();
            let text: Option<String> = (data.len() < 200).then(|| data.iter().map(|&b| b as char).collect());
            serde_json::json!({"path": rel, "kind": "file", "size": data.len(), "text": text, "mode": mode})
        };
        out.push(entry);
    }
    out
}

#[test]
fn extraction_matches_keras() {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("extract.json")).unwrap()).unwrap();
    let dir = fixtures().join("archives");
    let mut files = HashMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        files.insert(p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap());
    }
    let server = Server::start(files);
    let cases = spec["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for (i, case) in cases.iter().enumerate() {
        let cache = tmp(&format!("extract{i}"));
        let archive = case["archive"].as_str().unwrap();
        let mut args = quiet().cache_dir(&cache).extract(true);
        if let Some(f) = case["kwargs"]["fname"].as_str() {
            args = args.fname(f);
        }
        if let Some(f) = case["kwargs"]["archive_format"].as_str() {
            args = args.archive_format(Some(f));
        }
        let got = get_file(&server.url(&format!("/files/{archive}")), &args).unwrap();
        let what = format!("{archive} {}", case["kwargs"]);
        assert_eq!(got, cache.join(case["returned"].as_str().unwrap()), "{what}");
        let mut want: Vec<Value> = case["tree"].as_array().unwrap().clone();
        let mut have = tree(&cache);
        // Modes: tar members carry theirs (compared); files written from zips and downloads
        // follow the umask, which the generator's machine need not share.
        let extracted = format!("{}/", case["returned"].as_str().unwrap());
        for list in [&mut want, &mut have] {
            for e in list.iter_mut() {
                let keep = !archive.ends_with(".zip")
                    && e["kind"] == "file"
                    && e["path"].as_str().unwrap().starts_with(&extracted);
                let o = e.as_object_mut().unwrap();
                if !keep {
                    o.remove("mode");
                }
                if o.get("text").is_some_and(Value::is_null) {
                    o.remove("text");
                }
            }
        }
        assert_eq!(have, want, "{what}");
        std::fs::remove_dir_all(cache).unwrap();
    }
}

#[test]
fn a_class_index_is_fetched_through_get_file() {
    let mut json = serde_json::Map::new();
    for i in 0..1000 {
        json.insert(i.to_string(), serde_json::json!([format!("n{i:08}"), format!("label_{i}")]));
    }
    let body = Value::Object(json).to_string().into_bytes();
    let server = Server::start(HashMap::from([(CLASS_INDEX_FNAME.to_string(), body.clone())]));
    let cache = tmp("class_index");
    let md5 = md5_of(&body, &cache);
    let args = ClassIndex::imagenet_get_file_args().cache_dir(&cache).file_hash(&md5).verbose(0);
    let idx = ClassIndex::fetch(&server.url(&format!("/files/{CLASS_INDEX_FNAME}")), &args).unwrap();
    assert_eq!(idx.len(), 1000);
    assert_eq!(idx.get(42), Some(("n00000042", "label_42")));
    assert!(cache.join("models").join(CLASS_INDEX_FNAME).is_file());
    // Keras's own arguments for the real file.
    let keras = ClassIndex::imagenet_get_file_args();
    assert_eq!(
        (keras.fname.as_deref(), keras.cache_subdir.as_str(), keras.file_hash.as_deref()),
        (Some("imagenet_class_index.json"), "models", Some(CLASS_INDEX_HASH))
    );
    assert!(CLASS_INDEX_PATH.starts_with("https://"));
    std::fs::remove_dir_all(cache).unwrap();
}

#[test]
fn the_download_is_read_in_full_before_the_rename() {
    // A large body through the chunked path exercises many 8 KiB blocks and the progress
    // reports (printed: verbose 1).
    let data = payload(300_000);
    let server = Server::start(HashMap::from([("big.bin".to_string(), data.clone())]));
    let cache = tmp("big");
    let p = get_file(&server.url("/chunked/big.bin"), &GetFileArgs::default().cache_dir(&cache)).unwrap();
    let mut got = Vec::new();
    std::fs::File::open(p).unwrap().read_to_end(&mut got).unwrap();
    assert_eq!(got, data);
    std::fs::remove_dir_all(cache).unwrap();
}

#[cfg(feature = "https")]
#[test]
fn https_to_a_server_that_speaks_no_tls_fails_cleanly() {
    // rustls sends its ClientHello, gets plain HTTP back, and the fetch fails as a URLError.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Some(Ok(mut s)) = listener.incoming().next() {
            let mut buf = [0u8; 512];
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let cache = tmp("tls");
    let url = format!("https://127.0.0.1:{port}/weights.h5");
    let e = get_file(&url, &quiet().cache_dir(&cache)).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    assert!(e.to_string().starts_with(&format!("URL fetch failure on {url}: None -- ")), "{e}");
    assert_eq!(listing(&cache), ["datasets"]);
    std::fs::remove_dir_all(cache).unwrap();
}

#[cfg(not(feature = "https"))]
#[test]
fn https_needs_the_https_feature() {
    let cache = tmp("no_tls");
    let e = get_file("https://127.0.0.1:9/weights.h5", &quiet().cache_dir(&cache)).unwrap_err().to_string();
    assert!(e.contains("need keras-rs built with its `https` feature"), "{e}");
    std::fs::remove_dir_all(cache).unwrap();
}
