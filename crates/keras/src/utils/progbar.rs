//! Keras 3 `Progbar` (`keras/src/utils/progbar.py`), as driven by
//! `ProgbarLogger` during `fit` / `evaluate` / `predict`.
//!
//! Behaviour reproduced from the Keras source:
//!
//! * `verbose == 1`: a line such as
//!   `\x1b[1m 3/10\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 100ms/step - loss: 0.9115`
//!   (the ANSI bold/green/white codes are always written, terminal or not).
//!   With dynamic display each redraw starts with `\b` times the previous
//!   visible width followed by `\r`; without it each redraw starts with `\n`.
//!   A redraw that is shorter than the previous one is padded with spaces.
//!   Redraws happen at most every 0.05 s, except the final one
//!   (`finalize`), which shows the elapsed time instead of the ETA and ends
//!   with `\n`.
//! * `verbose == 2`: nothing until `finalize`, then one line
//!   `10/10 - 1s - 52ms/step - loss: 0.1234\n`.
//! * Values are displayed as given, like Keras 3.15's `ProgbarLogger` does
//!   (it builds the bar with `stateless_metrics=set()`: the logs already hold
//!   running means). Names passed to [`Progbar::with_stateless_metrics`] are
//!   averaged by the bar instead, weighted by the number of steps since the
//!   previous update; on `finalize` the given value replaces that average.
//! * Values print as `{:.4f}` when `abs(v) > 1e-3` (verbose 1; verbose 2 tests
//!   `v > 1e-3` without `abs`), else as Python's `{:.4e}` (`1.0000e-04`).

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use web_time::Instant;

/// Keras 3 progress bar.
#[derive(Debug, Clone)]
pub struct Progbar {
    target: Option<usize>,
    width: usize,
    verbose: u8,
    interval: f64,
    unit_name: String,
    /// Metrics averaged by the bar (Keras `stateless_metrics`).
    stateless_metrics: HashSet<String>,
    seen_so_far: usize,
    /// `(name, sum, count)` in first-seen order (`_values` + `_values_order`).
    values: Vec<(String, f64, f64)>,
    start: Instant,
    last_update: Option<Instant>,
    time_after_first_step: Option<Instant>,
    prev_total_width: usize,
}

impl Progbar {
    /// Creates a bar as Keras' `ProgbarLogger` does (`width=20`,
    /// `interval=0.05`, `stateless_metrics=set()`: every value is shown as
    /// given); the clock starts now.
    pub fn new(target: Option<usize>, verbose: u8, unit_name: &str) -> Self {
        Self::new_at(target, verbose, unit_name, Instant::now())
    }

    /// Like [`Progbar::new`] with an explicit start time (for deterministic
    /// rendering together with [`Progbar::update_to`]).
    pub fn new_at(target: Option<usize>, verbose: u8, unit_name: &str, start: Instant) -> Self {
        Self {
            target,
            width: 20,
            verbose,
            interval: 0.05,
            unit_name: unit_name.to_string(),
            stateless_metrics: HashSet::new(),
            seen_so_far: 0,
            values: Vec::new(),
            start,
            last_update: None,
            time_after_first_step: None,
            prev_total_width: 0,
        }
    }

    /// Names of metrics the bar averages over time itself (Keras'
    /// `stateless_metrics` argument); all other values are shown as given.
    pub fn with_stateless_metrics<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.stateless_metrics = names.into_iter().map(Into::into).collect();
        self
    }

    /// The total number of steps, `None` if unknown.
    pub fn target(&self) -> Option<usize> {
        self.target
    }

    /// Sets the target (Keras' `ProgbarLogger` sets it to the number of steps
    /// seen when it was unknown, right before the finalizing update).
    pub fn set_target(&mut self, target: Option<usize>) {
        self.target = target;
    }

    /// Writes to stdout. `values` are `(name, value)` pairs as the caller
    /// has them (Keras 3 passes the running means from the logs); they are
    /// displayed as given unless listed in
    /// [`Progbar::with_stateless_metrics`].
    ///
    /// Dynamic display (redraw with `\r`) is on when stdout is a terminal, on
    /// every Unix (Keras tests `"posix" in sys.modules`, which is always true
    /// there) and when `PYCHARM_HOSTED` is set.
    pub fn update(&mut self, current: usize, values: &[(String, f64)], finalize: bool) {
        let stdout = std::io::stdout();
        let dynamic = stdout.is_terminal() || cfg!(unix) || std::env::var_os("PYCHARM_HOSTED").is_some();
        let mut lock = stdout.lock();
        // Write errors (e.g. a closed stdout) are ignored.
        let _ = self.update_to(&mut lock, Instant::now(), dynamic, current, values, finalize);
    }

    /// Same as [`Progbar::update`], but renders into `w` at time `now`, with
    /// `is_tty` standing for Keras' `_dynamic_display`. Flushes `w` after each
    /// write.
    pub fn update_to<W: Write>(
        &mut self,
        w: &mut W,
        now: Instant,
        is_tty: bool,
        current: usize,
        values: &[(String, f64)],
        finalize: bool,
    ) -> std::io::Result<()> {
        for (k, v) in values {
            let stateless = self.stateless_metrics.contains(k);
            let pos = self.values.iter().position(|(name, _, _)| name == k);
            if stateless && !finalize {
                // Weighted by the steps since the previous update (at least 1).
                let value_base = current.saturating_sub(self.seen_so_far).max(1) as f64;
                match pos {
                    Some(i) => {
                        self.values[i].1 += v * value_base;
                        self.values[i].2 += value_base;
                    }
                    None => self.values.push((k.clone(), v * value_base, value_base)),
                }
            } else {
                // Stateful metric, or the finalizing update: shown as given.
                match pos {
                    Some(i) => {
                        self.values[i].1 = *v;
                        self.values[i].2 = 1.0;
                    }
                    None => self.values.push((k.clone(), *v, 1.0)),
                }
            }
        }
        self.seen_so_far = current;

        let time_per_unit = self.estimate_step_duration(current, now);
        let elapsed = now.saturating_duration_since(self.start).as_secs_f64();
        let target = self.target.filter(|&t| t > 0);

        if self.verbose == 1 {
            if let Some(last) = self.last_update {
                if now.saturating_duration_since(last).as_secs_f64() < self.interval && !finalize {
                    return Ok(());
                }
            }
            let mut message = String::new();
            if is_tty {
                message.push_str(&"\u{8}".repeat(self.prev_total_width));
                message.push('\r');
            } else {
                message.push('\n');
            }

            // Visible widths (Keras: len(bar) + len(info) - special_char_len).
            let mut visible = 0usize;
            match target {
                Some(target) => {
                    let numdigits = (target as f64).log10() as usize + 1;
                    let count = format!("{current:>numdigits$}/{target}");
                    visible += count.chars().count() + 1;
                    message.push_str(&format!("\x1b[1m{count}\x1b[0m "));
                    let prog = current as f64 / target as f64;
                    let prog_width = (self.width as f64 * prog) as usize;
                    if prog_width > 0 {
                        message.push_str(&format!("\x1b[32m{}\x1b[0m", "━".repeat(prog_width)));
                    }
                    let rest = self.width.saturating_sub(prog_width);
                    message.push_str(&format!("\x1b[37m{}\x1b[0m", "━".repeat(rest)));
                    visible += prog_width + rest;
                }
                None => {
                    let bar = format!("{current:>7}/Unknown");
                    visible += bar.chars().count();
                    message.push_str(&bar);
                }
            }

            let when = match target {
                Some(target) if !finalize => {
                    let eta = time_per_unit * (target as f64 - current as f64);
                    format_eta(eta)
                }
                _ => format!("{elapsed:.0}s"),
            };
            let mut info = format!(" {}", format_time_per_unit(time_per_unit, &self.unit_name));
            for (k, sum, count) in &self.values {
                let avg = sum / count.max(1.0);
                info.push_str(&format!(" - {k}: {}", format_value(avg, avg.abs() > 1e-3)));
            }
            visible += 1 + when.chars().count() + info.chars().count();
            message.push_str(&format!(" \x1b[1m{when}\x1b[0m"));
            message.push_str(&info);

            if self.prev_total_width > visible {
                message.push_str(&" ".repeat(self.prev_total_width - visible));
            }
            if finalize {
                message.push('\n');
            }
            w.write_all(message.as_bytes())?;
            w.flush()?;
            self.prev_total_width = visible;
        } else if self.verbose == 2 {
            if let (true, Some(target)) = (finalize, target) {
                let numdigits = (target as f64).log10() as usize + 1;
                let mut info = format!(
                    "{current:>numdigits$}/{target} - {elapsed:.0}s - {}",
                    format_time_per_unit(time_per_unit, &self.unit_name)
                );
                for (k, sum, count) in &self.values {
                    let avg = sum / count.max(1.0);
                    info.push_str(&format!(" - {k}: {}", format_value(avg, avg > 1e-3)));
                }
                info.push('\n');
                w.write_all(info.as_bytes())?;
                w.flush()?;
            }
        }
        self.last_update = Some(now);
        Ok(())
    }

    /// Keras `_estimate_step_duration`: ignores the first step once more
    /// steps are available.
    fn estimate_step_duration(&mut self, current: usize, now: Instant) -> f64 {
        if current == 0 {
            return 0.0;
        }
        let time_per_unit = match self.time_after_first_step {
            Some(first) if current > 1 => {
                now.saturating_duration_since(first).as_secs_f64() / (current - 1) as f64
            }
            _ => now.saturating_duration_since(self.start).as_secs_f64() / current as f64,
        };
        if current == 1 {
            self.time_after_first_step = Some(now);
        }
        time_per_unit
    }
}

/// Keras `Progbar._format_time` without its leading space: `"3s/step"` when
/// `seconds >= 1` or exactly 0, `"52ms/step"` when `>= 1e-3`, else
/// `"250us/step"` (all rounded with Python's `.0f`, i.e. half to even).
pub fn format_time_per_unit(seconds: f64, unit: &str) -> String {
    if seconds >= 1.0 || seconds == 0.0 {
        format!("{seconds:.0}s/{unit}")
    } else if seconds >= 1e-3 {
        format!("{:.0}ms/{unit}", seconds * 1000.0)
    } else {
        format!("{:.0}us/{unit}", seconds * 1_000_000.0)
    }
}

/// The ETA as Keras prints it: `"%ds"` up to 60 s, `"%d:%02d"` up to an hour,
/// `"%d:%02d:%02d"` beyond (Python `%d` truncates floats toward zero).
fn format_eta(eta: f64) -> String {
    if eta > 3600.0 {
        format!(
            "{}:{:02}:{:02}",
            (eta / 3600.0).floor() as i64,
            ((eta % 3600.0) / 60.0).floor() as i64,
            (eta % 60.0) as i64
        )
    } else if eta > 60.0 {
        format!("{}:{:02}", (eta / 60.0).floor() as i64, (eta % 60.0) as i64)
    } else {
        format!("{}s", eta as i64)
    }
}

/// `f"{v:.4f}"` when `fixed`, else `f"{v:.4e}"`, with Python's spelling of
/// exponents (`e-04`, `e+00`) and of non-finite values (`nan`, `inf`).
fn format_value(v: f64, fixed: bool) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if fixed {
        return format!("{v:.4}");
    }
    python_exp(&format!("{v:.4e}"))
}

/// Converts Rust's `1.2346e5` / `1.0000e-4` to Python's `1.2346e+05` /
/// `1.0000e-04`.
fn python_exp(rust: &str) -> String {
    match rust.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => rust.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn vals(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn at(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn time_per_unit_formatting() {
        assert_eq!(format_time_per_unit(0.0, "step"), "0s/step");
        assert_eq!(format_time_per_unit(2.5, "step"), "2s/step"); // .0f: half to even
        assert_eq!(format_time_per_unit(1.0, "step"), "1s/step");
        assert_eq!(format_time_per_unit(0.052, "step"), "52ms/step");
        assert_eq!(format_time_per_unit(0.001, "sample"), "1ms/sample");
        assert_eq!(format_time_per_unit(0.000_25, "step"), "250us/step");
        assert_eq!(format_time_per_unit(0.999_9, "step"), "1000ms/step");
    }

    #[test]
    fn eta_formatting() {
        assert_eq!(format_eta(0.9), "0s");
        assert_eq!(format_eta(59.99), "59s");
        assert_eq!(format_eta(60.0), "60s");
        assert_eq!(format_eta(61.5), "1:01");
        assert_eq!(format_eta(3600.0), "60:00");
        assert_eq!(format_eta(3725.0), "1:02:05");
    }

    #[test]
    fn value_formatting() {
        assert_eq!(format_value(1.23456, true), "1.2346");
        assert_eq!(format_value(0.0001, false), "1.0000e-04");
        assert_eq!(format_value(0.0, false), "0.0000e+00");
        assert_eq!(format_value(-0.0005, false), "-5.0000e-04");
        assert_eq!(format_value(123456.0, false), "1.2346e+05");
        assert_eq!(format_value(f64::NAN, false), "nan");
        assert_eq!(format_value(f64::INFINITY, true), "inf");
        assert_eq!(python_exp("1.0000e-100"), "1.0000e-100");
    }
    // ---- Full render sequences -------------------------------------------
    //
    // Expected strings follow `keras/src/utils/progbar.py` of Keras 3.15.1
    // step by step (they were also confirmed by running that exact file under
    // CPython with `time.time` stubbed to 1024.0 + the offsets below and
    // `stateless_metrics=set()` as `ProgbarLogger` passes). Offsets are
    // binary fractions so Python's float clock and `Instant` agree exactly.
    //
    // target=10, updates at t = 0.125 (step 1), 0.140625 (step 2),
    // 0.375 (step 3), 0.5 (step 10, finalize):
    // * step 1: first draw (no previous update). time/step = (0.125 - 0)/1
    //   = 125ms; ETA = 0.125 * 9 = 1.125 -> "%ds" -> "1s"; prog_width =
    //   int(20 * 0.1) = 2. Visible width: " 1/10 " (6) + 20 bar chars +
    //   " 1s" (3) + " 125ms/step" (11) + " - accuracy: 0.5000" (19) +
    //   " - loss: 1.2500" (15) = 74.
    // * step 2: 0.015625 s after the last draw < interval 0.05 and not
    //   finalize -> nothing written (values still recorded).
    // * step 3: "\b" * 74 + "\r"; time/step = (0.375 - 0.125)/(3 - 1) =
    //   125ms (first step excluded); ETA = 0.125 * 7 = 0.875 -> "0s";
    //   prog_width = int(20 * 0.3) = 6; loss 1e-4 is not > 1e-3 -> "%.4e"
    //   -> "1.0000e-04". Visible width 78.
    // * step 10 (finalize): "\b" * 78 + "\r"; elapsed 0.5 -> "%.0f" -> "0s";
    //   time/step = (0.5 - 0.125)/9 = 41.67ms -> "42ms"; full green bar and
    //   an empty white segment "\x1b[37m\x1b[0m"; visible width 73, so 5
    //   spaces pad over the previous line; then "\n".

    const SEQUENCE: [(f64, usize, f64, f64, bool); 4] = [
        (0.125, 1, 0.5, 1.25, false),
        (0.140625, 2, 0.75, 1.0, false),
        (0.375, 3, 0.625, 0.0001, false),
        (0.5, 10, 0.9, 0.5, true),
    ];

    fn render(bar: &mut Progbar, is_tty: bool, t0: Instant, seq: &[(f64, usize, f64, f64, bool)]) -> String {
        let mut out = Vec::new();
        for &(t, step, acc, loss, fin) in seq {
            bar.update_to(
                &mut out,
                at(t0, t),
                is_tty,
                step,
                &vals(&[("accuracy", acc), ("loss", loss)]),
                fin,
            )
            .unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    fn bs(n: usize) -> String {
        "\u{8}".repeat(n)
    }

    const LINE1: &str = "\x1b[1m 1/10\x1b[0m \x1b[32m━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m1s\x1b[0m 125ms/step - accuracy: 0.5000 - loss: 1.2500";
    const LINE3: &str = "\x1b[1m 3/10\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━\x1b[0m \x1b[1m0s\x1b[0m 125ms/step - accuracy: 0.6250 - loss: 1.0000e-04";
    const LINE10: &str = "\x1b[1m10/10\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m0s\x1b[0m 42ms/step - accuracy: 0.9000 - loss: 0.5000     \n";

    #[test]
    fn verbose1_dynamic_sequence() {
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(Some(10), 1, "step", t0);
        let got = render(&mut bar, true, t0, &SEQUENCE);
        let expected = format!("\r{LINE1}{}\r{LINE3}{}\r{LINE10}", bs(74), bs(78));
        assert_eq!(got, expected);
    }

    #[test]
    fn verbose1_non_dynamic_sequence() {
        // Without dynamic display every draw starts with "\n" instead of
        // backspaces + "\r"; the padding to the previous width remains.
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(Some(10), 1, "step", t0);
        let got = render(&mut bar, false, t0, &SEQUENCE);
        assert_eq!(got, format!("\n{LINE1}\n{LINE3}\n{LINE10}"));
    }

    #[test]
    fn verbose2_prints_once_at_the_end() {
        // "%{numdigits}d/%d" + " - %.0fs" + " -" + _format_time + metrics.
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(Some(10), 2, "step", t0);
        let got = render(&mut bar, true, t0, &SEQUENCE);
        assert_eq!(got, "10/10 - 0s - 42ms/step - accuracy: 0.9000 - loss: 0.5000\n");

        // verbose 2 tests `avg > 1e-3` without abs: negatives use "%.4e".
        let mut bar = Progbar::new_at(Some(3), 2, "step", t0);
        let mut out = Vec::new();
        bar.update_to(&mut out, at(t0, 3.0), true, 3, &vals(&[("loss", -0.25)]), true).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "3/3 - 3s - 1s/step - loss: -2.5000e-01\n");
    }

    #[test]
    fn verbose0_is_silent() {
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(Some(10), 0, "step", t0);
        assert_eq!(render(&mut bar, true, t0, &SEQUENCE), "");
    }

    #[test]
    fn stateless_metrics_are_averaged_by_the_bar() {
        // accuracy: [0.5, 1] -> [1.25, 2] (step 2, drawn or not) -> [1.95, 3]
        // -> 0.65 at step 3; finalize replaces it with [0.9, 1].
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(Some(10), 1, "step", t0).with_stateless_metrics(["accuracy"]);
        let mut seq = SEQUENCE;
        seq[2].2 = 0.7;
        let got = render(&mut bar, true, t0, &seq);
        let line3 = LINE3.replace("accuracy: 0.6250", "accuracy: 0.6500");
        assert_eq!(got, format!("\r{LINE1}{}\r{line3}{}\r{LINE10}", bs(74), bs(78)));
    }

    #[test]
    fn unknown_target() {
        // "%7d/Unknown", no ETA: elapsed seconds instead; the finalizing update
        // with an unknown target still prints elapsed (4000 s) and
        // time/step = (4000 - 0.25)/1 -> "4000s/step".
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(None, 1, "step", t0);
        let mut out = Vec::new();
        for (t, step, loss, fin) in [(0.25, 1, 2.0, false), (0.5, 2, 1.5, false), (4000.0, 2, -0.5, true)] {
            bar.update_to(&mut out, at(t0, t), true, step, &vals(&[("loss", loss)]), fin).unwrap();
        }
        let expected = format!(
            "\r      1/Unknown \x1b[1m0s\x1b[0m 250ms/step - loss: 2.0000{b}\r      2/Unknown \x1b[1m0s\x1b[0m 250ms/step - loss: 1.5000{b}\r      2/Unknown \x1b[1m4000s\x1b[0m 4000s/step - loss: -0.5000\n",
            b = bs(44)
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn long_eta_and_empty_progress() {
        // target 1000 => 4-digit counter; int(20 * 0.001) = 0 => no green
        // segment. ETA 0.25 * 999 = 249.75 -> "4:09"; then time/step =
        // (100.25 - 0.25)/1 = 100 s -> ETA 99800 s -> "27:43:20".
        let t0 = Instant::now();
        let mut bar = Progbar::new_at(Some(1000), 1, "step", t0);
        let mut out = Vec::new();
        bar.update_to(&mut out, at(t0, 0.25), true, 1, &[], false).unwrap();
        bar.update_to(&mut out, at(t0, 100.25), true, 2, &[], false).unwrap();
        let expected = format!(
            "\r\x1b[1m   1/1000\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m4:09\x1b[0m 250ms/step{}\r\x1b[1m   2/1000\x1b[0m \x1b[37m━━━━━━━━━━━━━━━━━━━━\x1b[0m \x1b[1m27:43:20\x1b[0m 100s/step",
            bs(46)
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
