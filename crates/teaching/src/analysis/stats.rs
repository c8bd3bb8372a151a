//! The formulas of a test's analysis, on plain numbers: the scores' summary and distribution,
//! and per item its difficulty (p-value) and discrimination (point-biserial).

use serde::Serialize;

/// 及格: at least this share of the full marks.
pub const PASS: f64 = 0.6;
/// 优秀: at least this share of the full marks.
pub const EXCELLENT: f64 = 0.85;
/// The distribution's bands: tenths of the full marks (the last includes full marks).
pub const BANDS: usize = 10;

/// The scores of a class or of everyone who took a test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    /// The population standard deviation.
    pub sd: f64,
    pub min: f64,
    pub max: f64,
    /// Shares, 0 to 1.
    pub pass_rate: f64,
    pub excellent_rate: f64,
    /// How many scores fall in each tenth of the full marks.
    pub bands: [usize; BANDS],
}

/// The summary of `scores` out of `full` marks; `None` without scores or full marks.
pub fn summary(scores: &[f64], full: f64) -> Option<Summary> {
    if scores.is_empty() || full <= 0.0 {
        return None;
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    let mut bands = [0; BANDS];
    for s in scores {
        bands[band(*s, full)] += 1;
    }
    // A tolerance for scores kept in hundredths: 59.999… of 100 is not a pass, 60 is.
    let at_least =
        |share: f64| scores.iter().filter(|s| **s + 1e-9 >= share * full).count() as f64 / n;
    Some(Summary {
        count: scores.len(),
        mean,
        median,
        sd,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        pass_rate: at_least(PASS),
        excellent_rate: at_least(EXCELLENT),
        bands,
    })
}

/// The tenth of the full marks a score falls in (full marks in the last).
pub fn band(score: f64, full: f64) -> usize {
    ((score / full * BANDS as f64 + 1e-9).floor().max(0.0) as usize).min(BANDS - 1)
}

/// An item's difficulty as classical test theory has it (the p-value): the mean share of its
/// points earned, 0 (nobody) to 1 (everybody).
pub fn p_value(earned: &[f64], points: f64) -> Option<f64> {
    if earned.is_empty() || points <= 0.0 {
        return None;
    }
    Some(earned.iter().sum::<f64>() / earned.len() as f64 / points)
}

/// An item's discrimination: the correlation of the points earned on it with the points
/// earned on the rest of the test (the corrected point-biserial, as Moodle's "discrimination
/// index"; for an item marked right or wrong it is the point-biserial of the item against the
/// rest score). `None` when either side does not vary, or with fewer than three students.
pub fn point_biserial(item: &[f64], totals: &[f64]) -> Option<f64> {
    if item.len() != totals.len() || item.len() < 3 {
        return None;
    }
    let rest: Vec<f64> = totals.iter().zip(item).map(|(t, i)| t - i).collect();
    pearson(item, &rest)
}

/// Pearson's correlation; `None` when either side does not vary.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx < 1e-12 || syy < 1e-12 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    /// Ten scores out of 100, computed by hand: sum 720, mean 72; the deviations 23, 16, 13,
    /// 8, 3, −2, −10, −12, −17, −22 square to 529 + 256 + 169 + 64 + 9 + 4 + 100 + 144 + 289 +
    /// 484 = 2,048, so the standard deviation is √204.8 = 14.3108; the median is (70 + 75) / 2.
    #[test]
    fn the_summary_of_ten_scores_is_as_computed_by_hand() {
        let scores = [95.0, 88.0, 85.0, 80.0, 75.0, 70.0, 62.0, 60.0, 55.0, 50.0];
        let s = summary(&scores, 100.0).unwrap();
        assert_eq!(s.count, 10);
        assert!(close(s.mean, 72.0), "{}", s.mean);
        assert!(close(s.median, 72.5));
        assert!(close(s.sd, 204.8f64.sqrt()), "{}", s.sd);
        assert_eq!((s.min, s.max), (50.0, 95.0));
        // 60 and above: 8 of 10; 85 and above: 3 of 10.
        assert!(close(s.pass_rate, 0.8));
        assert!(close(s.excellent_rate, 0.3));
        // 50 and 55 in the sixth tenth, 60 and 62, 70 and 75, then 80, 85 and 88, then 95.
        assert_eq!(s.bands, [0, 0, 0, 0, 0, 2, 2, 2, 3, 1]);
        assert_eq!(band(100.0, 100.0), 9);
        assert_eq!(band(0.0, 100.0), 0);
        assert!(summary(&[], 100.0).is_none());
    }

    /// Five students, a 1-point item: right, right, wrong, right, wrong (p = 3/5). Totals 10,
    /// 8, 4, 7, 3 give rest scores 9, 7, 4, 6, 3 (mean 5.8). Item deviations 0.4, 0.4, -0.6,
    /// 0.4, -0.6; rest deviations 3.2, 1.2, -1.8, 0.2, -2.8. Σxy = 1.28+0.48+1.08+0.08+1.68 =
    /// 4.6; Σx² = 1.2; Σy² = 10.24+1.44+3.24+0.04+7.84 = 22.8; r = 4.6 / √(1.2·22.8) = 0.8794.
    #[test]
    fn the_p_value_and_point_biserial_are_as_computed_by_hand() {
        let item = [1.0, 1.0, 0.0, 1.0, 0.0];
        let totals = [10.0, 8.0, 4.0, 7.0, 3.0];
        assert!(close(p_value(&item, 1.0).unwrap(), 0.6));
        let r = point_biserial(&item, &totals).unwrap();
        assert!(close(r, 4.6 / (1.2f64 * 22.8).sqrt()), "{r}");
        assert!(close(r, 0.87943), "{r}");
        // A 2-point item earned 2, 1, 0 by three students: p = 3 / (3·2) = 0.5.
        assert!(close(p_value(&[2.0, 1.0, 0.0], 2.0).unwrap(), 0.5));
        // Everyone right: no discrimination to speak of.
        assert!(point_biserial(&[1.0, 1.0, 1.0], &[5.0, 6.0, 7.0]).is_none());
        // An item the weaker students get right discriminates negatively.
        assert!(point_biserial(&[0.0, 0.0, 1.0, 1.0], &[9.0, 8.0, 3.0, 2.0]).unwrap() < 0.0);
    }
}
