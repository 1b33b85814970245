//! The HTTP(S) GET behind [`get_file`](super::get_file), doing what Python's
//! `urllib.request.urlretrieve` does for Keras: follow redirects (301, 302, 303, 307, 308; at
//! most 10, a URL at most 4 times), treat any other non-2xx status as an error with its code
//! and reason, read `Content-Length`, chunked or until-close bodies, and report progress in
//! 8 KiB blocks (`reporthook(block_num, block_size, total_size)`). A body shorter than its
//! `Content-Length` is an error ("retrieval incomplete"), as urllib's `ContentTooShortError`.
//!
//! `http://` is plain std sockets (as `RemoteMonitor`); `https://` goes through rustls with
//! Mozilla's root certificates compiled in (feature `https`, on by default), so no system
//! OpenSSL or certificate store is needed. `file://` URLs are read from disk, as urllib does.
//! Proxies come from the environment as urllib takes them (`http_proxy`, `https_proxy`, upper
//! case too, `no_proxy`; `user:password@` sent as Basic proxy authorization): an absolute-URL
//! request for http, a `CONNECT` tunnel for https.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// urlretrieve's block size (`bs = 1024 * 8`).
pub(crate) const BLOCK_SIZE: usize = 8192;
/// urllib's `HTTPRedirectHandler.max_redirections`.
const MAX_REDIRECTIONS: usize = 10;
/// urllib's `HTTPRedirectHandler.max_repeats` (visits of the same URL).
const MAX_REPEATS: usize = 4;
/// Connecting gives up after this long (urllib waits for the OS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A stalled server is given up after this long without a byte.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest status or header line accepted.
const MAX_LINE: usize = 16 << 10;
/// Most header lines accepted in one response.
const MAX_HEADERS: usize = 256;

/// Why a fetch failed, in urllib's two kinds (Keras formats both as
/// `URL fetch failure on {origin}: {code or errno} -- {reason}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// `urllib.error.HTTPError`: the server answered with a non-2xx status.
    Http {
        /// Status code.
        code: u16,
        /// Reason phrase (or urllib's message for redirect errors).
        reason: String,
    },
    /// `urllib.error.URLError`: no answer (unreachable, refused, TLS failure, truncated body).
    /// `errno` is what Keras prints in place of the code (`None` in Python for all of these).
    Url {
        /// The reason as Python prints it (`[Errno 111] Connection refused`).
        reason: String,
    },
}

/// A parsed `scheme://host[:port]/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// `http`, `https` or `file`.
    pub scheme: String,
    /// Host name or address (brackets removed from IPv6 literals).
    pub host: String,
    /// Port (80 / 443 by default).
    pub port: u16,
    /// Path with query, starting with `/` (the local path for `file://`).
    pub path: String,
    /// `user:password` before the host, percent-decoded (used for proxies, as urllib does).
    pub userinfo: Option<String>,
}

impl Url {
    /// Parses an absolute URL.
    pub(crate) fn parse(s: &str) -> Result<Url, String> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| format!("unknown url type: '{s}'"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            // file:///abs/path or file://localhost/abs/path
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            return Ok(Url {
                scheme,
                host: String::new(),
                port: 0,
                path: percent_decode(path),
                userinfo: None,
            });
        }
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            other => return Err(format!("unknown url type: '{other}'")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let tail = tail.split('#').next().unwrap_or("");
        let path = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        let (userinfo, authority) = match authority.rsplit_once('@') {
            Some((u, a)) => (Some(percent_decode(u)), a),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| format!("Invalid IPv6 URL: '{s}'"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err("no host given".to_string());
        }
        let port = match port {
            Some(p) if !p.is_empty() => {
                p.parse::<u16>().map_err(|_| format!("Port could not be cast to integer value as '{p}'"))?
            }
            _ => default_port,
        };
        Ok(Url { scheme, host, port, path, userinfo })
    }

    /// The URL without user information (what an absolute-form request line carries).
    fn without_userinfo(&self) -> String {
        format!("{}://{}{}", self.scheme, self.host_header(), self.path)
    }

    /// `Host:` header value.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Resolves a `Location` header against this URL (absolute, `//host/..`, `/path` or
    /// relative to the current directory).
    fn join(&self, location: &str) -> String {
        if location.contains("://") {
            return location.to_string();
        }
        let origin = format!("{}://{}", self.scheme, self.host_header());
        if let Some(rest) = location.strip_prefix("//") {
            return format!("{}://{rest}", self.scheme);
        }
        if location.starts_with('/') {
            return format!("{origin}{}", remove_dot_segments(location));
        }
        let base = self.path.split('?').next().unwrap_or("/");
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        let joined = format!("{}{location}", if dir.is_empty() { "/" } else { dir });
        format!("{origin}{}", remove_dot_segments(&joined))
    }
}

/// RFC 3986's `remove_dot_segments` on an absolute path (what `urljoin` does), query kept.
fn remove_dot_segments(path: &str) -> String {
    let (p, query) = match path.find('?') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let mut out: Vec<&str> = Vec::new();
    let parts: Vec<&str> = p.split('/').skip(1).collect();
    for (i, seg) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}{query}", out.join("/"))
}

/// The last part of a URL's path (`urlsplit(origin).path` basename), for any scheme.
pub(crate) fn url_basename(origin: &str) -> String {
    let rest = match origin.split_once("://") {
        Some((_, r)) => r.find('/').map_or("", |i| &r[i..]),
        None => origin,
    };
    let path = rest.split(['?', '#']).next().unwrap_or("");
    path.rsplit('/').next().unwrap_or("").to_string()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 3 <= b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Python's spelling of an OS error: `[Errno 111] Connection refused`.
pub(crate) fn python_os_error(e: &io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => {
            let msg = text.split(" (os error").next().unwrap_or(&text);
            format!("[Errno {code}] {msg}")
        }
        None => text,
    }
}

fn url_error(reason: impl Into<String>) -> FetchError {
    FetchError::Url { reason: reason.into() }
}

/// A byte stream to the server: plain TCP or TLS over TCP.
enum Conn {
    Plain(TcpStream),
    #[cfg(feature = "https")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.flush(),
        }
    }
}

#[cfg(feature = "https")]
fn tls_config() -> std::sync::Arc<rustls::ClientConfig> {
    use std::sync::{Arc, OnceLock};
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("the ring provider supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// The proxy urllib's `ProxyHandler` would use for `url`: `<scheme>_proxy` (lower case first,
/// then upper case) unless `no_proxy` / `NO_PROXY` lists the host (`*` for every host; an entry
/// matches the host or any sub-domain, with or without the port).
pub(crate) fn proxy_from(url: &Url, env: &dyn Fn(&str) -> Option<String>) -> Option<Url> {
    let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let key = format!("{}_proxy", url.scheme);
    let proxy = var(&key).or_else(|| var(&key.to_ascii_uppercase()))?;
    if let Some(list) = var("no_proxy").or_else(|| var("NO_PROXY")) {
        let host = url.host.to_ascii_lowercase();
        let host_port = format!("{host}:{}", url.port);
        for entry in list.split(',').map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase()) {
            if entry == "*" {
                return None;
            }
            let matches = |h: &str| !entry.is_empty() && (h == entry || h.ends_with(&format!(".{entry}")));
            if matches(&host) || matches(&host_port) {
                return None;
            }
        }
    }
    let proxy = if proxy.contains("://") { proxy } else { format!("http://{proxy}") };
    Url::parse(&proxy).ok().filter(|p| p.scheme == "http")
}

fn proxy_for(url: &Url) -> Option<Url> {
    proxy_from(url, &|k| std::env::var(k).ok())
}

/// Base64 (RFC 4648, with padding) for `Proxy-Authorization: Basic`.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn proxy_auth_header(proxy: &Url) -> String {
    match &proxy.userinfo {
        Some(u) => format!("Proxy-Authorization: Basic {}\r\n", base64(u.as_bytes())),
        None => String::new(),
    }
}

/// Opens a `CONNECT` tunnel to `url`'s host through an HTTP proxy (http.client's `_tunnel`).
#[cfg(feature = "https")]
fn tunnel(tcp: &mut TcpStream, url: &Url, proxy: &Url) -> Result<(), FetchError> {
    let target = format!(
        "{}:{}",
        if url.host.contains(':') { format!("[{}]", url.host) } else { url.host.clone() },
        url.port
    );
    let req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{}\r\n", proxy_auth_header(proxy));
    tcp.write_all(req.as_bytes()).map_err(|e| url_error(io_reason(&e)))?;
    // Byte by byte up to the blank line: nothing after it may be consumed (TLS starts there).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() > MAX_LINE * 4 {
            return Err(url_error("Tunnel connection failed: the proxy's answer is too long"));
        }
        match tcp.read(&mut byte) {
            Ok(0) => return Err(url_error("Tunnel connection failed: the proxy closed the connection")),
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(url_error(io_reason(&e))),
        }
    }
    let head = read_head(&mut &head[..])?;
    if head.code != 200 {
        return Err(url_error(format!("Tunnel connection failed: {} {}", head.code, head.reason)));
    }
    Ok(())
}

fn tcp_connect(host: &str, port: u16) -> Result<TcpStream, FetchError> {
    let addrs: Vec<_> = (host, port).to_socket_addrs().map_err(|e| url_error(python_os_error(&e)))?.collect();
    let mut last = None;
    let mut stream: Option<TcpStream> = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tcp = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(url_error(python_os_error(&e))),
        (None, None) => return Err(url_error("[Errno -2] Name or service not known")),
    };
    let _ = tcp.set_read_timeout(Some(READ_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(READ_TIMEOUT));
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Connects to `url`'s server, directly or through `proxy` (a tunnel for https).
fn connect(url: &Url, proxy: Option<&Url>) -> Result<Conn, FetchError> {
    #[cfg(not(feature = "https"))]
    if url.scheme == "https" {
        return Err(url_error("https:// URLs need keras-rs built with its `https` feature (on by default)"));
    }
    let via = proxy.unwrap_or(url);
    #[cfg_attr(not(feature = "https"), allow(unused_mut))]
    let mut tcp = tcp_connect(&via.host, via.port)?;
    match url.scheme.as_str() {
        "http" => Ok(Conn::Plain(tcp)),
        #[cfg(feature = "https")]
        "https" => {
            if let Some(p) = proxy {
                tunnel(&mut tcp, url, p)?;
            }
            let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| url_error(format!("invalid host name '{}': {e}", url.host)))?;
            let conn = rustls::ClientConnection::new(tls_config(), name)
                .map_err(|e| url_error(format!("TLS setup failed: {e}")))?;
            Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
        }
        other => Err(url_error(format!("unknown url type: '{other}'"))),
    }
}

fn read_line(r: &mut impl BufRead) -> Result<String, FetchError> {
    let mut line = Vec::new();
    let n = r
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| url_error(python_os_error(&e)))?;
    if n > MAX_LINE {
        return Err(url_error("got more than 16384 bytes when reading a header line"));
    }
    while line.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Status, reason and headers (names lower-cased) of a response.
struct Head {
    code: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn read_head(r: &mut impl BufRead) -> Result<Head, FetchError> {
    loop {
        let status = read_line(r)?;
        if status.is_empty() {
            // http.client: "Remote end closed connection without response".
            return Err(url_error("Remote end closed connection without response"));
        }
        let mut parts = status.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let code = parts.next().and_then(|c| c.parse::<u16>().ok());
        let (true, Some(code)) = (version.starts_with("HTTP/"), code) else {
            return Err(url_error(format!("BadStatusLine: {status:?}")));
        };
        let reason = parts.next().unwrap_or("").trim().to_string();
        let mut headers = Vec::new();
        loop {
            let line = read_line(r)?;
            if line.is_empty() {
                break;
            }
            if headers.len() >= MAX_HEADERS {
                return Err(url_error("got more than 256 headers"));
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        // An interim `100 Continue` is followed by the real response.
        if code == 100 {
            continue;
        }
        return Ok(Head { code, reason, headers });
    }
}

/// Reads a `Transfer-Encoding: chunked` body.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            (&mut self.inner).take(MAX_LINE as u64).read_line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or("").trim();
            self.left = u64::from_str_radix(size, 16).map_err(|_| bad("invalid chunk size"))?;
            if self.left == 0 {
                // Trailers up to the empty line.
                loop {
                    let mut t = String::new();
                    let n = (&mut self.inner).take(MAX_LINE as u64).read_line(&mut t)?;
                    if n == 0 || t.trim().is_empty() {
                        break;
                    }
                }
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "IncompleteRead"));
        }
        self.left -= n as u64;
        if self.left == 0 {
            let mut crlf = [0u8; 2];
            self.inner.read_exact(&mut crlf)?;
        }
        Ok(n)
    }
}

/// Fills `buf` as far as the stream allows (like Python's buffered `read(n)`), treating a TLS
/// peer that closes without `close_notify` as the end when `lenient_eof` is set.
fn read_block(r: &mut (impl Read + ?Sized), buf: &mut [u8], lenient_eof: bool) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if lenient_eof && e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Downloads `url` into `sink`, calling `hook(block_num, total_size)` as urlretrieve calls its
/// `reporthook`: once with block 0 before the body, then after each 8 KiB block.
pub(crate) fn fetch(
    url: &str,
    sink: &mut dyn Write,
    hook: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, FetchError> {
    let mut current = url.to_string();
    let mut visited: Vec<(String, usize)> = Vec::new();
    loop {
        let parsed = Url::parse(&current).map_err(url_error)?;
        if parsed.scheme == "file" {
            return fetch_file(&parsed.path, sink, hook);
        }
        let proxy = proxy_for(&parsed);
        let mut conn = connect(&parsed, proxy.as_ref())?;
        // Through a proxy, plain http asks for the absolute URL (https goes through the tunnel).
        let (target, auth) = match &proxy {
            Some(p) if parsed.scheme == "http" => (parsed.without_userinfo(), proxy_auth_header(p)),
            _ => (parsed.path.clone(), String::new()),
        };
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: keras-rs/{}\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n{auth}\r\n",
            parsed.host_header(),
            env!("CARGO_PKG_VERSION")
        );
        conn.write_all(request.as_bytes())
            .and_then(|_| conn.flush())
            .map_err(|e| url_error(io_reason(&e)))?;
        let mut reader = BufReader::with_capacity(64 << 10, conn);
        let head = read_head(&mut reader)?;
        if matches!(head.code, 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = head.get("location") {
                let next = parsed.join(loc.trim());
                let scheme = next.split("://").next().unwrap_or("").to_ascii_lowercase();
                if !matches!(scheme.as_str(), "http" | "https" | "ftp" | "") {
                    return Err(FetchError::Http {
                        code: head.code,
                        reason: format!("{} - Redirection to url '{next}' is not allowed", head.reason),
                    });
                }
                let seen = visited.iter().find(|(u, _)| *u == next).map_or(0, |(_, n)| *n);
                if seen >= MAX_REPEATS || visited.len() >= MAX_REDIRECTIONS {
                    return Err(FetchError::Http {
                        code: head.code,
                        reason: format!(
                            "The HTTP server returned a redirect error that would lead to an infinite loop.\nThe last 30x error message was:\n{}",
                            head.reason
                        ),
                    });
                }
                match visited.iter_mut().find(|(u, _)| *u == next) {
                    Some(v) => v.1 += 1,
                    None => visited.push((next.clone(), 1)),
                }
                current = next;
                continue;
            }
        }
        if !(200..300).contains(&head.code) {
            return Err(FetchError::Http { code: head.code, reason: head.reason });
        }
        let chunked =
            head.get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = if chunked {
            None
        } else {
            head.get("content-length").and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut body: Box<dyn Read> = if chunked {
            Box::new(Chunked { inner: reader, left: 0, done: false })
        } else if let Some(n) = length {
            Box::new(reader.take(n))
        } else {
            Box::new(reader)
        };
        return copy_blocks(&mut body, sink, length, length.is_none() && !chunked, hook);
    }
}

fn io_reason(e: &io::Error) -> String {
    python_os_error(e)
}

fn copy_blocks(
    body: &mut dyn Read,
    sink: &mut dyn Write,
    total: Option<u64>,
    lenient_eof: bool,
    hook: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, FetchError> {
    let mut buf = vec![0u8; BLOCK_SIZE];
    let mut read = 0u64;
    let mut block = 0u64;
    hook(block, total);
    loop {
        let n = read_block(body, &mut buf, lenient_eof).map_err(|e| url_error(io_reason(&e)))?;
        if n == 0 {
            break;
        }
        sink.write_all(&buf[..n]).map_err(|e| url_error(io_reason(&e)))?;
        read += n as u64;
        block += 1;
        hook(block, total);
    }
    if let Some(total) = total {
        if read < total {
            return Err(url_error(format!("retrieval incomplete: got only {read} out of {total} bytes")));
        }
    }
    Ok(read)
}

fn fetch_file(
    path: &str,
    sink: &mut dyn Write,
    hook: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, FetchError> {
    let mut f = std::fs::File::open(path).map_err(|e| url_error(python_os_error(&e)))?;
    let total = f.metadata().ok().map(|m| m.len());
    copy_blocks(&mut f, sink, total, false, hook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_as_urllib_splits_them() {
        let u = Url::parse("https://storage.googleapis.com/a/b.h5?x=1#frag").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.port, u.path.as_str()),
            ("https", "storage.googleapis.com", 443, "/a/b.h5?x=1")
        );
        let u = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/"));
        let u = Url::parse("http://[::1]:81/x").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.host_header()), ("::1", 81, "[::1]:81".to_string()));
        let u = Url::parse("file:///tmp/a%20b.txt").unwrap();
        assert_eq!(u.path, "/tmp/a b.txt");
        assert_eq!(Url::parse("ftp://x/y").unwrap_err(), "unknown url type: 'ftp'");
        assert_eq!(Url::parse("nourl").unwrap_err(), "unknown url type: 'nourl'");
        assert!(Url::parse("http://h:99999/").is_err());
    }

    #[test]
    fn redirects_resolve_like_urljoin() {
        let u = Url::parse("http://h:8000/dir/file?q").unwrap();
        assert_eq!(u.join("/abs"), "http://h:8000/abs");
        assert_eq!(u.join("rel.bin"), "http://h:8000/dir/rel.bin");
        assert_eq!(u.join("../up/./x?y=1"), "http://h:8000/up/x?y=1");
        assert_eq!(u.join("/a/b/../../../c"), "http://h:8000/c");
        assert_eq!(url_basename("gopher://h/x.bin?q#f"), "x.bin");
        assert_eq!(url_basename("http://h"), "");
        assert_eq!(url_basename("http://h/dir/"), "");
        assert_eq!(u.join("//other/x"), "http://other/x");
        assert_eq!(u.join("https://e/x"), "https://e/x");
    }

    #[test]
    fn proxies_follow_urllib_environment_rules() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let u = Url::parse("https://storage.googleapis.com/a.h5").unwrap();
        let p = proxy_from(&u, &env(&[("https_proxy", "proxy.corp:3128")])).unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        let p = proxy_from(&u, &env(&[("HTTPS_PROXY", "http://u%40x:pw@p:8080")])).unwrap();
        assert_eq!(p.userinfo.as_deref(), Some("u@x:pw"));
        assert!(proxy_from(&u, &env(&[("http_proxy", "p:1")])).is_none(), "only the scheme's own proxy");
        for no in ["*", "googleapis.com", ".googleapis.com", "other, storage.googleapis.com:443"] {
            let vars: &'static [(&'static str, &'static str)] =
                Box::leak(vec![("https_proxy", "p:1"), ("no_proxy", no)].into_boxed_slice());
            assert!(proxy_from(&u, &env(vars)).is_none(), "{no}");
        }
        assert!(proxy_from(&u, &env(&[("https_proxy", "p:1"), ("no_proxy", "oogleapis.com")])).is_some());
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn chunked_bodies_decode() {
        let raw = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
        let mut c = Chunked { inner: &raw[..], left: 0, done: false };
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"Wikipedia");
        let mut bad = Chunked { inner: &b"zz\r\n"[..], left: 0, done: false };
        assert!(bad.read_to_end(&mut Vec::new()).is_err());
        let mut short = Chunked { inner: &b"a\r\nabc"[..], left: 0, done: false };
        assert!(short.read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn os_errors_print_as_python() {
        let e = io::Error::from_raw_os_error(111);
        assert!(python_os_error(&e).starts_with("[Errno 111] "), "{}", python_os_error(&e));
        assert!(!python_os_error(&e).contains("os error"));
    }
}
