//! Track assignment for the horizontal runs of right-angle edges in the channel between two
//! ranks (the "constrained left-edge" algorithm of channel routing).
//!
//! Runs that share an end (a fan-out from one port, edges into one port) are one group and
//! share a track. A group whose vertical comes down from above inside another group's span
//! must run above it, and one whose vertical goes on down inside another's span must run
//! below it; otherwise the lines would cross. Groups are packed top to bottom, each track
//! holding groups that do not overlap.

/// A group of horizontal runs on one track.
#[derive(Debug, Clone, Default)]
pub(crate) struct Run {
    pub lo: f64,
    pub hi: f64,
    /// x of the verticals that come down into the run from the rank above.
    pub tops: Vec<f64>,
    /// x of the verticals that leave the run for the rank below.
    pub bottoms: Vec<f64>,
}

const TOL: f64 = 0.5;

fn inside(x: f64, r: &Run) -> bool {
    x > r.lo + TOL && x < r.hi - TOL
}

/// The track of each run (0 = top) and the number of tracks.
pub(crate) fn assign(runs: &[Run]) -> (Vec<usize>, usize) {
    let n = runs.len();
    // must_above[b] lists the runs that must be above b.
    let mut must_above: Vec<Vec<usize>> = vec![Vec::new(); n];
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            if runs[a].tops.iter().any(|&x| inside(x, &runs[b])) {
                must_above[b].push(a);
            }
            if runs[a].bottoms.iter().any(|&x| inside(x, &runs[b])) {
                must_above[a].push(b);
            }
        }
    }
    let mut track = vec![usize::MAX; n];
    let mut left = n;
    let mut t = 0;
    while left > 0 {
        let unassigned_preds =
            |b: usize, track: &[usize]| must_above[b].iter().filter(|&&a| track[a] == usize::MAX).count();
        let mut candidates: Vec<usize> =
            (0..n).filter(|&b| track[b] == usize::MAX && unassigned_preds(b, &track) == 0).collect();
        if candidates.is_empty() {
            // A cycle of constraints: some crossing is unavoidable; place the least constrained.
            let b = (0..n)
                .filter(|&b| track[b] == usize::MAX)
                .min_by_key(|&b| (unassigned_preds(b, &track), b))
                .expect("runs are left");
            candidates.push(b);
        }
        candidates.sort_by(|&a, &b| runs[a].lo.total_cmp(&runs[b].lo));
        let mut end = f64::NEG_INFINITY;
        for b in candidates {
            if runs[b].lo > end + 2.0 * TOL {
                track[b] = t;
                end = runs[b].hi;
                left -= 1;
            }
        }
        t += 1;
    }
    (track, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converging_runs_nest_outer_below_inner() {
        // Four branches into one box: ports at -27, -9, 9, 27; sources at -300, -100, 100, 300.
        let run = |src: f64, port: f64| Run {
            lo: src.min(port),
            hi: src.max(port),
            tops: vec![src],
            bottoms: vec![port],
        };
        let runs = [run(-300.0, -27.0), run(-100.0, -9.0), run(100.0, 9.0), run(300.0, 27.0)];
        let (track, count) = assign(&runs);
        assert_eq!(count, 2);
        assert!(track[1] < track[0], "{track:?}");
        assert!(track[2] < track[3], "{track:?}");
    }

    #[test]
    fn disjoint_runs_share_a_track() {
        let runs = [
            Run { lo: 0.0, hi: 10.0, tops: vec![0.0], bottoms: vec![10.0] },
            Run { lo: 20.0, hi: 30.0, tops: vec![20.0], bottoms: vec![30.0] },
        ];
        assert_eq!(assign(&runs), (vec![0, 0], 1));
    }
}
