//! `get_file` through an HTTP proxy taken from the environment, as urllib takes it. One test
//! in its own binary: it sets process-wide environment variables.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use keras::utils::{get_file, GetFileArgs};

/// A one-purpose proxy on 127.0.0.1: answers `GET <absolute URL>` with a body naming the URL,
/// refuses `CONNECT` with 403, and records each request's first line and proxy credentials.
/// Serves at most `n` connections.
fn proxy(n: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for conn in listener.incoming().take(n) {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let mut auth = String::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).map_or(true, |n| n == 0) || h.trim().is_empty() {
                    break;
                }
                if h.to_ascii_lowercase().starts_with("proxy-authorization:") {
                    auth = h.trim().to_string();
                }
            }
            let line = line.trim().to_string();
            log.lock().unwrap().push(format!("{line} | {auth}"));
            if line.starts_with("CONNECT ") {
                let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            } else {
                let url = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let body = format!("proxied {url}");
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        }
    });
    (port, seen)
}

#[test]
fn downloads_go_through_the_environment_proxy() {
    let cache: PathBuf = std::env::temp_dir().join(format!("keras_get_file_proxy_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let args = GetFileArgs::default().verbose(0).cache_dir(&cache);
    let (port, seen) = proxy(3);
    for k in ["no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY"] {
        std::env::remove_var(k);
    }
    std::env::set_var("http_proxy", format!("http://user:p%40ss@127.0.0.1:{port}"));
    std::env::set_var("https_proxy", format!("127.0.0.1:{port}"));

    // http: the absolute URL goes to the proxy (the host itself is never resolved).
    let p = get_file("http://weights.keras-rs.invalid/dir/w.h5?x=1", &args).unwrap();
    assert_eq!(std::fs::read_to_string(p).unwrap(), "proxied http://weights.keras-rs.invalid/dir/w.h5?x=1");
    // https: a CONNECT tunnel; this proxy refuses it.
    #[cfg(feature = "https")]
    {
        let url = "https://weights.keras-rs.invalid/w2.h5";
        let e = get_file(url, &args).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "URL fetch failure on {url}: None -- Tunnel connection failed: 403 Forbidden"
            )),
            "{e}"
        );
    }
    // no_proxy: straight to the server (here the proxy's own port, which answers GET /path
    // with the path alone, showing that no absolute URL was sent).
    std::env::set_var("no_proxy", "localhost, 127.0.0.1");
    let p = get_file(&format!("http://127.0.0.1:{port}/direct.bin"), &args).unwrap();
    assert_eq!(std::fs::read_to_string(p).unwrap(), "proxied /direct.bin");

    let seen = seen.lock().unwrap().clone();
    // user:p@ss, Basic-encoded.
    assert_eq!(
        seen[0],
        "GET http://weights.keras-rs.invalid/dir/w.h5?x=1 HTTP/1.1 | Proxy-Authorization: Basic dXNlcjpwQHNz"
    );
    #[cfg(feature = "https")]
    assert_eq!(seen[1], "CONNECT weights.keras-rs.invalid:443 HTTP/1.1 | ");
    assert_eq!(seen.last().unwrap(), "GET /direct.bin HTTP/1.1 | ");
    for k in ["http_proxy", "https_proxy", "no_proxy"] {
        std::env::remove_var(k);
    }
    std::fs::remove_dir_all(cache).unwrap();
}
