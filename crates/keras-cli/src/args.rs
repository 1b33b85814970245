//! Command-line parsing: `keras COMMAND POSITIONAL... [--flag VALUE]...`, no dependency.

use std::collections::HashMap;

/// A parsed command line.
#[derive(Debug)]
pub struct Args {
    /// The command (`predict`).
    pub command: String,
    /// Positional arguments after the command.
    pub positional: Vec<String>,
    /// `--name value` options, each value in command-line order (several only for
    /// [`REPEATABLE`] options).
    values: HashMap<String, Vec<String>>,
    /// `--name` switches.
    switches: Vec<String>,
}

/// Options that are switches (take no value).
const SWITCHES: &[&str] = &["no-shuffle", "help"];

/// Options that may be given several times: one array per model input or output.
const REPEATABLE: &[&str] = &["input", "output", "x", "y"];

impl Args {
    /// Parses `argv` without the program name.
    pub fn parse(argv: &[String]) -> Result<Args, String> {
        let mut it = argv.iter();
        let command = it.next().ok_or("no command given")?.clone();
        let (mut positional, mut values, mut switches) = (Vec::new(), HashMap::new(), Vec::new());
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                if SWITCHES.contains(&name) {
                    switches.push(name.to_string());
                } else {
                    let v = it.next().ok_or_else(|| format!("option --{name} needs a value"))?;
                    let list: &mut Vec<String> = values.entry(name.to_string()).or_default();
                    if !list.is_empty() && !REPEATABLE.contains(&name) {
                        return Err(format!("option --{name} given twice"));
                    }
                    list.push(v.clone());
                }
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Args { command, positional, values, switches })
    }

    /// Checks the positional count and that only `allowed` options were given.
    pub fn expect(&self, positional: usize, allowed: &[&str]) -> Result<(), String> {
        if self.positional.len() != positional {
            return Err(format!(
                "`keras {}` takes {positional} file argument(s), got {}",
                self.command,
                self.positional.len()
            ));
        }
        for k in self.values.keys().chain(self.switches.iter()) {
            if !allowed.contains(&k.as_str()) {
                return Err(format!("unknown option --{k} for `keras {}`", self.command));
            }
        }
        Ok(())
    }

    /// A required `--name value`, given once.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        match self.values.get(name).map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some(many) if many.len() > 1 => {
                Err(format!("`keras {}` takes --{name} once, got it {} times", self.command, many.len()))
            }
            _ => Err(format!("`keras {}` needs --{name}", self.command)),
        }
    }

    /// Every value of a repeatable `--name value`, in order; at least one is required.
    pub fn required_all(&self, name: &str) -> Result<&[String], String> {
        match self.values.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("`keras {}` needs --{name}", self.command)),
        }
    }

    /// An optional `--name value` parsed as `T`.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.values.get(name).and_then(|v| v.last()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| format!("invalid value for --{name}: '{v}'")),
        }
    }

    /// Whether a switch was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        Args::parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn flags_values_and_errors() {
        let a = parse("fit m.keras --x a.npy --epochs 3 --no-shuffle").unwrap();
        assert_eq!(a.command, "fit");
        assert_eq!(a.positional, ["m.keras"]);
        assert_eq!(a.required("x").unwrap(), "a.npy");
        assert_eq!(a.parsed::<usize>("epochs").unwrap(), Some(3));
        assert!(a.switch("no-shuffle"));
        assert!(a.parsed::<usize>("x").is_err());
        assert!(a.expect(1, &["x", "epochs"]).unwrap_err().contains("--no-shuffle"));
        assert!(a.expect(2, &["x", "epochs", "no-shuffle"]).is_err());
        assert!(parse("predict m --input").unwrap_err().contains("needs a value"));
        assert!(parse("").is_err());
        assert!(parse("fit m --epochs 1 --epochs 2").unwrap_err().contains("given twice"));
    }

    #[test]
    fn arrays_may_be_given_once_per_input_and_output() {
        let a = parse("predict m.keras --input a.npy --output p.npy --input b.npy --output q.npy").unwrap();
        assert_eq!(a.required_all("input").unwrap(), ["a.npy", "b.npy"]);
        assert_eq!(a.required_all("output").unwrap(), ["p.npy", "q.npy"]);
        assert!(a.required("input").unwrap_err().contains("once, got it 2 times"));
        assert!(a.required_all("x").unwrap_err().contains("needs --x"));
    }
}
