//! `RemoteMonitor` (Keras `keras.callbacks.RemoteMonitor`), over a plain HTTP/1.1 POST.

use crate::setters::setters;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{python_float_repr, warn, Callback, CallbackModel};
use crate::trainers::Logs;
use crate::Result;

/// POSTs each epoch's logs to `root + path`: by default as a form field `data=<json>`
/// (`application/x-www-form-urlencoded`), or with `send_as_json` as a JSON body; the JSON is
/// `{"epoch": e, <log key>: value, ...}` as Keras sends it. A server that is down, slow or
/// unreachable only produces a warning ("Could not reach RemoteMonitor root server at ..."):
/// training never fails or stalls on it beyond `timeout`.
///
/// Only `http://` roots are supported (no TLS).
///
/// ```no_run
/// use keras::callbacks::RemoteMonitor;
/// let mut m = RemoteMonitor::new().root("http://localhost:9000").send_as_json(true);
/// # let _ = &mut m;
/// ```
pub struct RemoteMonitor {
    /// Server root (`http://localhost:9000`).
    pub root: String,
    /// Path under the root (`/publish/epoch/end/`).
    pub path: String,
    /// Form field holding the JSON (when not `send_as_json`).
    pub field: String,
    /// Extra HTTP headers.
    pub headers: Vec<(String, String)>,
    /// Send a JSON body instead of a form.
    pub send_as_json: bool,
    /// Connect / read / write timeout for each request.
    pub timeout: Duration,
}

impl Default for RemoteMonitor {
    fn default() -> Self {
        Self::new()
    }
}

fn json_number(v: f64) -> String {
    // Python's json.dumps writes floats with repr, and NaN / Infinity bare.
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        python_float_repr(v)
    }
}

/// Python's `urllib.parse.quote_plus` (what `requests` uses to encode form fields).
fn quote_plus(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl RemoteMonitor {
    /// Keras's defaults: `http://localhost:9000`, `/publish/epoch/end/`, field `data`.
    pub fn new() -> Self {
        RemoteMonitor {
            root: "http://localhost:9000".into(),
            path: "/publish/epoch/end/".into(),
            field: "data".into(),
            headers: Vec::new(),
            send_as_json: false,
            timeout: Duration::from_secs(5),
        }
    }
    /// Server root.
    pub fn root(mut self, root: &str) -> Self {
        self.root = root.into();
        self
    }
    /// Path under the root.
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.into();
        self
    }
    /// Form field name.
    pub fn field(mut self, field: &str) -> Self {
        self.field = field.into();
        self
    }
    /// Adds an HTTP header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    setters! {
        /// Send JSON instead of a form.
        send_as_json: bool,
        /// Per-request timeout.
        timeout: Duration,
    }

    /// The JSON Keras sends for an epoch.
    pub fn payload(epoch: usize, logs: &Logs) -> String {
        let mut s = format!("{{\"epoch\": {epoch}");
        for (k, v) in logs {
            s.push_str(&format!(", {}: {}", serde_json::Value::String(k.clone()), json_number(*v as f64)));
        }
        s.push('}');
        s
    }

    fn post(&self, body: &[u8], content_type: &str) -> std::io::Result<()> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, m.to_string());
        let url = format!("{}{}", self.root, self.path);
        let rest = url.strip_prefix("http://").ok_or_else(|| bad("only http:// URLs are supported"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:80") };
        let mut last = bad("no address");
        let mut stream = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let mut s = stream.ok_or(last)?;
        s.set_read_timeout(Some(self.timeout))?;
        s.set_write_timeout(Some(self.timeout))?;
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: keras-rs\r\nAccept: */*\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())?;
        s.write_all(body)?;
        s.flush()?;
        // Wait for the status line (requests waits for the response too); the body is ignored.
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf)?;
        if n == 0 || !buf[..n].starts_with(b"HTTP/") {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP response"));
        }
        Ok(())
    }
}

impl Callback for RemoteMonitor {
    fn on_epoch_end(&mut self, epoch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        let json = Self::payload(epoch, logs);
        let result = if self.send_as_json {
            self.post(json.as_bytes(), "application/json")
        } else {
            let body = format!("{}={}", quote_plus(&self.field), quote_plus(&json));
            self.post(body.as_bytes(), "application/x-www-form-urlencoded")
        };
        if result.is_err() {
            warn(format!("Could not reach RemoteMonitor root server at {}", self.root));
        }
        Ok(())
    }
}
