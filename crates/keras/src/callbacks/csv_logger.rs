//! `CSVLogger` (Keras `keras.callbacks.CSVLogger`).

use crate::setters::setters;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use super::{python_float_repr, Callback, CallbackModel};
use crate::trainers::Logs;
use crate::{Error, Result};

/// Streams epoch results to a CSV file, byte for byte as Keras's (Python `csv` "excel"
/// dialect: `\r\n` line ends, minimal quoting; floats as Python's `repr`).
///
/// Columns are `epoch` and the sorted log keys of the first epoch; when that epoch had no
/// `val_*` key, `val_<key>` columns are added and read `NA` until validation runs.
///
/// ```no_run
/// use keras::callbacks::CSVLogger;
/// let mut csv = CSVLogger::new("training.csv").separator(';').append(true);
/// # let _ = &mut csv;
/// ```
pub struct CSVLogger {
    /// The file written.
    pub filename: PathBuf,
    /// Field separator.
    pub separator: char,
    /// Append to an existing file (no second header) instead of overwriting it.
    pub append: bool,
    keys: Option<Vec<String>>,
    append_header: bool,
    file: Option<File>,
    header_written: bool,
}

impl CSVLogger {
    /// Logs to `filename` with `,` and overwriting.
    pub fn new(filename: impl Into<PathBuf>) -> Self {
        CSVLogger {
            filename: filename.into(),
            separator: ',',
            append: false,
            keys: None,
            append_header: true,
            file: None,
            header_written: false,
        }
    }
    setters! {
        /// Field separator (Keras `separator`).
        separator: char,
        /// Append to an existing file.
        append: bool,
    }

    fn field(&self, s: &str) -> String {
        // Python csv QUOTE_MINIMAL: quote fields holding the separator, a quote or a line end.
        if s.contains(self.separator) || s.contains('"') || s.contains('\n') || s.contains('\r') {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }

    fn io_err(&self, e: std::io::Error) -> Error {
        Error::Io(format!("CSVLogger cannot write {}: {e}", self.filename.display()))
    }
}

impl Callback for CSVLogger {
    fn on_train_begin(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.append_header = true;
        if self.append && self.filename.exists() {
            let f = File::open(&self.filename).map_err(|e| self.io_err(e))?;
            let mut first = String::new();
            BufReader::new(f).read_line(&mut first).map_err(|e| self.io_err(e))?;
            self.append_header = first.is_empty();
        }
        let file = if self.append {
            OpenOptions::new().create(true).append(true).open(&self.filename)
        } else {
            File::create(&self.filename)
        };
        self.file = Some(file.map_err(|e| self.io_err(e))?);
        self.keys = None;
        self.header_written = false;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, _m: &mut CallbackModel, logs: &mut Logs) -> Result<()> {
        if self.keys.is_none() {
            let mut keys: Vec<String> = logs.keys().cloned().collect();
            keys.sort();
            if !keys.is_empty() && !keys.iter().any(|k| k.starts_with("val_")) {
                let val: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
                keys.extend(val);
            }
            self.keys = Some(keys);
        }
        let keys = self.keys.clone().unwrap_or_default();
        let sep = self.separator.to_string();
        let mut out = String::new();
        if !self.header_written {
            if self.append_header {
                let mut header = vec![self.field("epoch")];
                header.extend(keys.iter().map(|k| self.field(k)));
                out.push_str(&header.join(&sep));
                out.push_str("\r\n");
            }
            self.header_written = true;
        }
        let mut row = vec![epoch.to_string()];
        row.extend(keys.iter().map(|k| match logs.get(k) {
            Some(v) => self.field(&python_float_repr(*v as f64)),
            None => "NA".to_string(),
        }));
        out.push_str(&row.join(&sep));
        out.push_str("\r\n");
        let Some(file) = self.file.as_mut() else {
            return Err(Error::State("CSVLogger: on_epoch_end before on_train_begin".into()));
        };
        file.write_all(out.as_bytes()).and_then(|_| file.flush()).map_err(|e| self.io_err(e))
    }

    fn on_train_end(&mut self, _m: &mut CallbackModel, _logs: &mut Logs) -> Result<()> {
        self.file = None;
        Ok(())
    }
}
