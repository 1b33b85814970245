//! What keras-tuner prints while it searches (keras-tuner `oracle.Display`): the trial
//! number and hyperparameter table at the start of a trial, its time, score and the best
//! score at its end. Its state (start times, trial numbers) is part of `oracle.json`.

use std::collections::BTreeMap;

use super::trial::Trial;
use crate::json::Json;
use crate::utils::{isoformat, now_secs, parse_isoformat};

/// Progress printing and its saved state.
#[derive(Clone, Debug, Default)]
pub struct Display {
    /// 0: silent; 1 or more: print.
    pub verbose: u8,
    search_start: Option<f64>,
    trial_start: Vec<(String, f64)>,
    trial_number: Vec<(String, i64)>,
}

const COL_WIDTH: usize = 18;

fn format_value(v: &str, numeric: Option<f64>) -> String {
    if let Some(x) = numeric {
        return format_g5(x);
    }
    if v.chars().count() > COL_WIDTH {
        let cut: String = v.chars().take(COL_WIDTH - 3).collect();
        return format!("{cut}...");
    }
    v.to_string()
}

/// Python's `f"{x:.5g}"`.
pub(crate) fn format_g5(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return crate::json::python_float_repr(x);
    }
    let exp = x.abs().log10().floor() as i32;
    // Round to 5 significant digits first; rounding may bump the exponent.
    let sci = format!("{:.4e}", x);
    let (m, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    if !(-4..5).contains(&e) {
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (4 - e).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn format_duration(secs: f64) -> String {
    let mut s = secs.round().max(0.0) as i64;
    let d = s / 86400;
    s %= 86400;
    let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m {s:02}s")
    } else {
        format!("{h:02}h {m:02}m {s:02}s")
    }
}

impl Display {
    /// keras-tuner's `get_state()`.
    pub fn get_state(&self) -> Json {
        Json::obj([
            ("search_start", self.search_start.map_or(Json::Null, |t| Json::Str(isoformat(t)))),
            (
                "trial_start",
                Json::Object(
                    self.trial_start.iter().map(|(k, t)| (k.clone(), Json::Str(isoformat(*t)))).collect(),
                ),
            ),
            (
                "trial_number",
                Json::Object(self.trial_number.iter().map(|(k, n)| (k.clone(), Json::Int(*n))).collect()),
            ),
        ])
    }

    /// Reads [`Display::get_state`] (unreadable entries are dropped: display only).
    pub fn set_state(&mut self, state: &Json) {
        self.search_start = state.get("search_start").and_then(Json::as_str).and_then(parse_isoformat);
        self.trial_start = state
            .get("trial_start")
            .and_then(Json::as_object)
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), parse_isoformat(v.as_str()?)?)))
            .collect();
        self.trial_number = state
            .get("trial_number")
            .and_then(Json::as_object)
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
            .collect();
    }

    fn set<T>(list: &mut Vec<(String, T)>, k: &str, v: T) {
        match list.iter_mut().find(|(kk, _)| kk == k) {
            Some(e) => e.1 = v,
            None => list.push((k.to_string(), v)),
        }
    }

    /// Start of a trial: `Search: Running Trial #N` and the value table.
    pub fn on_trial_begin(&mut self, trial: &Trial, number: usize, best: Option<&Trial>) {
        if self.verbose < 1 {
            return;
        }
        let now = now_secs();
        Self::set(&mut self.trial_start, &trial.trial_id, now);
        self.search_start.get_or_insert(now);
        Self::set(&mut self.trial_number, &trial.trial_id, number as i64);
        let mut out = format!("\nSearch: Running Trial #{number}\n\n");
        let values = trial.hyperparameters.values();
        if values.is_empty() {
            out.push_str("default configuration\n");
        } else {
            out.push_str(&format!(
                "{:<w$}|{:<w$}|Hyperparameter\n",
                "Value",
                "Best Value So Far",
                w = COL_WIDTH
            ));
            for (name, v) in values.iter() {
                let best_v = match best {
                    Some(b) => {
                        b.hyperparameters.values().get(name).map(|b| format_value(&b.to_string(), numeric(b)))
                    }
                    None => Some("?".to_string()),
                };
                let best_v = best_v.unwrap_or_else(|| "None".into());
                out.push_str(&format!(
                    "{:<w$}|{:<w$}|{name}\n",
                    format_value(&v.to_string(), numeric(v)),
                    best_v,
                    w = COL_WIDTH
                ));
            }
        }
        println!("{out}");
    }

    /// End of a trial: its time and score, the best score, the total time.
    pub fn on_trial_end(&mut self, trial: &Trial, objective_name: &str, best_score: Option<f64>) {
        if self.verbose < 1 {
            return;
        }
        let now = now_secs();
        let start = self.trial_start.iter().find(|(k, _)| *k == trial.trial_id).map_or(now, |(_, t)| *t);
        let number = self.trial_number.iter().find(|(k, _)| *k == trial.trial_id).map_or(0, |(_, n)| *n);
        let mut out = format!("\nTrial {number} Complete [{}]\n", format_duration(now - start));
        if let Some(s) = trial.score {
            out.push_str(&format!("{objective_name}: {}\n", crate::json::python_float_repr(s)));
        }
        let best = best_score.map_or("None".to_string(), crate::json::python_float_repr);
        out.push_str(&format!("\nBest {objective_name} So Far: {best}\n"));
        out.push_str(&format!(
            "Total elapsed time: {}",
            format_duration(now - self.search_start.unwrap_or(now))
        ));
        println!("{out}");
    }

    /// Trial numbers by id (for tests and summaries).
    pub fn trial_numbers(&self) -> BTreeMap<String, i64> {
        self.trial_number.iter().cloned().collect()
    }
}

fn numeric(v: &super::hyperparameters::HpValue) -> Option<f64> {
    use super::hyperparameters::HpValue;
    match v {
        HpValue::Int(i) => Some(*i as f64),
        HpValue::Float(f) => Some(*f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g5_matches_python() {
        // f"{x:.5g}" in Python.
        assert_eq!(format_g5(0.0017220592492767754), "0.0017221");
        assert_eq!(format_g5(32.0), "32");
        assert_eq!(format_g5(123456.0), "1.2346e+05");
        assert_eq!(format_g5(1e-05), "1e-05");
        assert_eq!(format_g5(0.5), "0.5");
        assert_eq!(format_g5(99999.9), "1e+05");
    }
}
