//! What a search optimises (keras-tuner `engine.objective`): a metric name and a direction,
//! the direction inferred from known metric names; several objectives combine into one
//! `multi_objective` that is minimised: the sum of the metrics to minimise minus the sum
//! of the metrics to maximise.

use crate::from_impls::from_impls;
use std::fmt;

use super::metrics_tracking::infer_metric_direction;
use crate::error::{bail, Result};

/// Minimise or maximise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Direction {
    /// `"min"` or `"max"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Min => "min",
            Direction::Max => "max",
        }
    }

    /// Parses `"min"` / `"max"`.
    pub fn parse(s: &str) -> Result<Direction> {
        match s {
            "min" => Ok(Direction::Min),
            "max" => Ok(Direction::Max),
            _ => bail!(Value, "`direction` should be one of {{\"min\", \"max\"}}, but got: {s}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Single,
    /// No objective given: the hypermodel returns one value to minimise.
    Default,
    Multi(Vec<Objective>),
}

/// An objective (keras-tuner `Objective`, `DefaultObjective` or `MultiObjective`).
///
/// ```
/// use keras_tuner::{Direction, Objective};
///
/// assert_eq!(Objective::infer("val_accuracy").unwrap().direction, Direction::Max);
/// assert!(Objective::infer("my_score").is_err()); // unknown name: give a direction
/// let custom = Objective::new("my_score", Direction::Max);
/// let both = Objective::multi(vec![Objective::infer("val_loss").unwrap(), custom]);
/// assert_eq!(both.name, "multi_objective");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// The metric name (`multi_objective` / `default_objective` for those kinds).
    pub name: String,
    /// Whether the value is minimised or maximised.
    pub direction: Direction,
    kind: Kind,
}

impl Objective {
    /// An objective with an explicit direction.
    pub fn new(name: impl Into<String>, direction: Direction) -> Objective {
        Objective { name: name.into(), direction, kind: Kind::Single }
    }

    /// An objective whose direction keras-tuner infers from the name (`val_loss` -> min,
    /// `val_accuracy` -> max); keras-tuner's error for names it does not know.
    pub fn infer(name: &str) -> Result<Objective> {
        match infer_metric_direction(name) {
            Some(d) => Ok(Objective::new(name, d)),
            None => bail!(
                Value,
                "Could not infer optimization direction (\"min\" or \"max\") for unknown metric \"{name}\". Please specify the objective  asa `keras_tuner.Objective`, for example `keras_tuner.Objective(\"{name}\", direction=\"min\")`."
            ),
        }
    }

    /// The objective used when none is given: `default_objective`, minimised.
    pub fn default_objective() -> Objective {
        Objective { name: "default_objective".into(), direction: Direction::Min, kind: Kind::Default }
    }

    /// Several objectives combined (keras-tuner `MultiObjective`).
    pub fn multi(objectives: Vec<Objective>) -> Objective {
        Objective { name: "multi_objective".into(), direction: Direction::Min, kind: Kind::Multi(objectives) }
    }

    /// True for the default objective.
    pub fn is_default(&self) -> bool {
        self.kind == Kind::Default
    }

    /// The objectives of a multi-objective (empty otherwise).
    pub fn objectives(&self) -> &[Objective] {
        match &self.kind {
            Kind::Multi(v) => v,
            _ => &[],
        }
    }

    /// The metric names that must be reported.
    pub fn required_names(&self) -> Vec<&str> {
        match &self.kind {
            Kind::Multi(v) => v.iter().map(|o| o.name.as_str()).collect(),
            _ => vec![self.name.as_str()],
        }
    }

    /// The direction of the named metric if it is (part of) this objective.
    pub fn direction_of(&self, metric: &str) -> Option<Direction> {
        match &self.kind {
            Kind::Multi(v) => {
                if metric == self.name {
                    return Some(self.direction);
                }
                v.iter().find(|o| o.name == metric).map(|o| o.direction)
            }
            _ => (metric == self.name).then_some(self.direction),
        }
    }

    /// Whether the objective's value can be computed from `logs`.
    pub fn has_value(&self, logs: &[(String, f64)]) -> bool {
        self.required_names().iter().all(|n| logs.iter().any(|(k, _)| k == n))
    }

    /// The objective's value from `logs` (for a multi-objective: minimised ones added,
    /// maximised ones subtracted).
    pub fn get_value(&self, logs: &[(String, f64)]) -> Option<f64> {
        match &self.kind {
            Kind::Multi(v) => {
                let mut total = 0.0;
                for (k, x) in logs {
                    if let Some(o) = v.iter().find(|o| o.name == *k) {
                        match o.direction {
                            Direction::Min => total += x,
                            Direction::Max => total -= x,
                        }
                    }
                }
                Some(total)
            }
            _ => logs.iter().find(|(k, _)| *k == self.name).map(|(_, v)| *v),
        }
    }

    /// Whether `a` is better than `b`.
    pub fn better_than(&self, a: f64, b: f64) -> bool {
        match self.direction {
            Direction::Max => a > b,
            Direction::Min => a < b,
        }
    }
}

/// `Objective(name="val_loss", direction="min")`, `MultiObjective(...): [...]` as Python.
impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = format!("Objective(name=\"{}\", direction=\"{}\")", self.name, self.direction.as_str());
        match &self.kind {
            Kind::Multi(v) => {
                let inner: Vec<String> = v.iter().map(|o| o.to_string()).collect();
                write!(f, "Multi{base}: [{}]", inner.join(", "))
            }
            _ => f.write_str(&base),
        }
    }
}

/// What a tuner's `objective` argument accepts: a name (direction inferred), an
/// [`Objective`], or a list of either (a multi-objective).
#[derive(Clone, Debug)]
pub enum ObjectiveArg {
    /// A metric name.
    Name(String),
    /// An objective.
    Objective(Objective),
    /// Several (combined into `multi_objective`).
    List(Vec<ObjectiveArg>),
}

impl ObjectiveArg {
    /// keras-tuner `create_objective`.
    pub fn create(&self) -> Result<Objective> {
        match self {
            ObjectiveArg::Name(n) => Objective::infer(n),
            ObjectiveArg::Objective(o) => Ok(o.clone()),
            ObjectiveArg::List(v) => {
                Ok(Objective::multi(v.iter().map(ObjectiveArg::create).collect::<Result<_>>()?))
            }
        }
    }
}

from_impls!(ObjectiveArg {
    &str => |s| ObjectiveArg::Name(s.to_string()),
    String => |s| ObjectiveArg::Name(s),
    Objective => |o| ObjectiveArg::Objective(o),
});
impl<T: Into<ObjectiveArg>> From<Vec<T>> for ObjectiveArg {
    fn from(v: Vec<T>) -> Self {
        ObjectiveArg::List(v.into_iter().map(Into::into).collect())
    }
}
