//! Summary statistics shared by `stats`, the SQL functions and the report,
//! so every output computes a percentile the same way.
//!
//! Percentiles use linear interpolation between closest ranks — numpy's
//! default (`method="linear"`): for sorted `x[0..n]` and `p` in 0..=100,
//! rank `h = (n - 1) * p / 100`, value `x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋])`.

/// The `p`-th percentile (0..=100) of already sorted, finite values.
/// `None` for an empty slice or `p` outside 0..=100.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Sorts `values` (NaNs dropped) and returns the `p`-th percentile.
pub fn percentile(values: &mut Vec<f64>, p: f64) -> Option<f64> {
    values.retain(|v| !v.is_nan());
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    percentile_sorted(values, p)
}

/// Count, extremes, mean, population standard deviation and percentiles.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Population standard deviation (divides by n, like numpy's default).
    pub std: f64,
    sorted: Vec<f64>,
}

impl Summary {
    /// `None` when there are no (non-NaN) values.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Summary> {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let var = sorted.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        Some(Summary {
            count: sorted.len(),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            mean,
            std: var.sqrt(),
            sorted,
        })
    }

    pub fn percentile(&self, p: f64) -> f64 {
        percentile_sorted(&self.sorted, p).expect("non-empty, p checked by caller")
    }

    pub fn median(&self) -> f64 {
        self.percentile(50.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) = [1, 1.75, 2.5, 3.7, 4]
        let v = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f64> = [0.0, 25.0, 50.0, 90.0, 100.0]
            .iter()
            .map(|&p| percentile_sorted(&v, p).unwrap())
            .collect();
        let want = [1.0, 1.75, 2.5, 3.7, 4.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        assert_eq!(percentile_sorted(&[], 50.0), None);
        assert_eq!(percentile_sorted(&[5.0], 99.0), Some(5.0));
        let s = Summary::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!((s.count, s.mean, s.std, s.median()), (8, 5.0, 2.0, 4.5));
    }
}
