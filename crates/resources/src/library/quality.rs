//! The quality score (0-100) of a resource: usage, user ratings and expert review, as the plans
//! ask ("按使用率、用户评价和专家评审"). docs/resource-quality.md explains the formula with a
//! worked example; the resource page shows its parts.
//!
//! quality = 100 × (0.40·U + 0.35·R + 0.25·E)
//! - U (usage) = min(1, ln(1 + views + 3·downloads + 5·favourites) / ln(1 + 500))
//! - R (ratings) = (Bayesian mean of the stars − 1) / 4, the mean being (C·m + Σ stars) / (C + n)
//!   with C = 5 and m = 3: with no ratings R is the neutral 0.5, and a few ratings move it little
//! - E (expert) = (mean of the reviewers' scores − 1) / 4, the neutral 0.5 until one scored it
//!
//! Absent evidence counts as neutral rather than renormalising the weights, so a rating moves
//! the score up exactly when it is above the current mean (the first one: above three stars),
//! never in the wrong direction because a part appeared.

use crate::model::ResourceRow;
use chrono::{DateTime, Utc};
use kernel::{AppResult, ResourceId, Tx, on_tx};
use serde::Serialize;

pub const WEIGHT_USAGE: f64 = 0.40;
pub const WEIGHT_RATING: f64 = 0.35;
pub const WEIGHT_EXPERT: f64 = 0.25;
/// The usage (views + 3·downloads + 5·favourites) at which U reaches 1.
pub const USAGE_FULL: f64 = 500.0;
/// The Bayesian prior: as many ratings as this count…
pub const PRIOR_COUNT: f64 = 5.0;
/// …of this many stars.
pub const PRIOR_STARS: f64 = 3.0;

/// The counters the score is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Signals {
    pub views: i64,
    pub downloads: i64,
    pub favourites: i64,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub expert_score: Option<f64>,
}

impl Signals {
    pub fn of(r: &ResourceRow) -> Self {
        Self {
            views: r.views,
            downloads: r.downloads,
            favourites: r.favourites,
            rating_count: r.rating_count,
            rating_sum: r.rating_sum,
            expert_score: r.expert_score,
        }
    }
}

/// The score and its parts, as the resource page and the API show them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ResourceQuality)]
pub struct Quality {
    /// 0-100.
    pub score: f64,
    /// The weighted usage: views + 3·downloads + 5·favourites.
    pub usage_points: f64,
    /// U, 0-1.
    pub usage: f64,
    /// The Bayesian mean of the stars, 1-5.
    pub rating_mean: f64,
    /// R, 0-1.
    pub rating: f64,
    /// Whether anyone rated it (otherwise R is the prior).
    pub rated: bool,
    /// E, 0-1.
    pub expert: f64,
    /// Whether a reviewer scored it (otherwise E is neutral).
    pub reviewed: bool,
}

impl Quality {
    pub fn of(s: Signals) -> Self {
        let usage_points = s.views.max(0) as f64
            + 3.0 * s.downloads.max(0) as f64
            + 5.0 * s.favourites.max(0) as f64;
        let usage = ((1.0 + usage_points).ln() / (1.0 + USAGE_FULL).ln()).min(1.0);
        let n = s.rating_count.max(0) as f64;
        let rating_mean =
            (PRIOR_COUNT * PRIOR_STARS + s.rating_sum.max(0) as f64) / (PRIOR_COUNT + n);
        let rating = ((rating_mean - 1.0) / 4.0).clamp(0.0, 1.0);
        let expert = s
            .expert_score
            .map_or(0.5, |e| ((e - 1.0) / 4.0).clamp(0.0, 1.0));
        let score =
            100.0 * (WEIGHT_USAGE * usage + WEIGHT_RATING * rating + WEIGHT_EXPERT * expert);
        Self {
            score: round1(score),
            usage_points,
            usage: round3(usage),
            rating_mean: round3(rating_mean),
            rating: round3(rating),
            rated: s.rating_count > 0,
            expert: round3(expert),
            reviewed: s.expert_score.is_some(),
        }
    }

    /// The parts' contributions in points (they add up to the score, give or take rounding).
    pub fn points(&self) -> (f64, f64, f64) {
        (
            round1(100.0 * WEIGHT_USAGE * self.usage),
            round1(100.0 * WEIGHT_RATING * self.rating),
            round1(100.0 * WEIGHT_EXPERT * self.expert),
        )
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Recomputes the stored score of `resource` from its counters inside `tx`, and records the
/// change (search sorts by quality).
pub async fn recompute(tx: &mut Tx, resource: ResourceId, now: DateTime<Utc>) -> AppResult<f64> {
    let row: Option<(i64, i64, i64, i64, i64, Option<f64>)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT views, downloads, favourites, rating_count, rating_sum, expert_score
         FROM resources WHERE id = $1",
    ).bind(resource).fetch_optional(&mut *c).await)?;
    let Some((views, downloads, favourites, rating_count, rating_sum, expert_score)) = row else {
        return Err(kernel::AppError::NotFound("resources.resource_not_found"));
    };
    let q = Quality::of(Signals {
        views,
        downloads,
        favourites,
        rating_count,
        rating_sum,
        expert_score,
    });
    on_tx!(tx, c => sqlx::query("UPDATE resources SET quality = $2 WHERE id = $1")
        .bind(resource).bind(q.score).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(tx, resource, now).await?;
    Ok(q.score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_resource_is_neutral() {
        let q = Quality::of(Signals::default());
        assert_eq!(q.usage, 0.0);
        assert_eq!(q.rating, 0.5);
        assert_eq!(q.expert, 0.5);
        assert_eq!(q.score, 30.0);
    }

    #[test]
    fn usage_saturates_at_500_points() {
        let q = Quality::of(Signals {
            views: 400,
            downloads: 100,
            ..Default::default()
        });
        assert_eq!(q.usage, 1.0);
        assert_eq!(q.usage_points, 700.0);
    }

    #[test]
    fn good_signals_raise_and_poor_ones_lower() {
        let base = Signals {
            views: 40,
            downloads: 5,
            ..Default::default()
        };
        let b = Quality::of(base).score;
        let good = Quality::of(Signals {
            rating_count: 1,
            rating_sum: 5,
            ..base
        })
        .score;
        let poor = Quality::of(Signals {
            rating_count: 1,
            rating_sum: 1,
            ..base
        })
        .score;
        assert!(good > b && poor < b, "{poor} < {b} < {good}");
        let reviewed = Quality::of(Signals {
            expert_score: Some(4.5),
            ..base
        })
        .score;
        assert!(reviewed > b);
    }

    #[test]
    fn the_worked_example_of_the_docs() {
        // docs/resource-quality.md: 120 views, 30 downloads, 8 favourites, ratings 5, 4, 4,
        // expert scores 4 and 5.
        let q = Quality::of(Signals {
            views: 120,
            downloads: 30,
            favourites: 8,
            rating_count: 3,
            rating_sum: 13,
            expert_score: Some(4.5),
        });
        assert_eq!(q.usage_points, 250.0);
        assert_eq!(q.usage, 0.889);
        assert_eq!(q.rating_mean, 3.5);
        assert_eq!(q.rating, 0.625);
        assert_eq!(q.expert, 0.875);
        assert_eq!(q.score, 79.3);
    }
}
