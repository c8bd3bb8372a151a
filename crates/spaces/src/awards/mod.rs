//! The yearly selection of excellent learning spaces (优秀网络学习空间评选) at school, district and
//! city level. An administrator opens a selection for a school year with weighted criteria:
//! the judged quality of the content, and what the platform measures (columns filled, posts,
//! visits and comments in the school year). Administrators below and the spaces' owners
//! nominate spaces; the panel (people the organiser named) scores the content; the organiser
//! publishes the results: each nominee's total out of 100, the best `prizes` named excellent,
//! shown on their spaces, and the owners told.

pub mod pages;

use crate::scope;
use crate::space::{self, Space};
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, SpaceId, on_db, on_tx};
use serde::{Deserialize, Serialize};

kernel::id_type!(
    /// An excellent-space selection.
    AwardId => "spaces.award_not_found",
);

/// The criteria: the panel's score of the content, and four measures of use.
pub const CRITERIA: [&str; 5] = ["content", "columns", "posts", "visits", "comments"];
/// Their default weights (out of 100).
pub const DEFAULT_WEIGHTS: [i64; 5] = [40, 15, 15, 15, 15];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Award {
    pub id: AwardId,
    pub node_id: NodeId,
    pub school_year: i64,
    pub title: String,
    /// The weights of [`CRITERIA`], comma-separated in that order.
    pub weights: String,
    pub prizes: i64,
    /// `nominating`, `judging` or `published`.
    pub state: String,
    pub created_by: PersonId,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    #[sqlx(default)]
    pub organiser: String,
}

impl Award {
    pub fn weight_list(&self) -> Vec<i64> {
        self.weights
            .split(',')
            .map(|w| w.trim().parse().unwrap_or(0))
            .collect()
    }
}

/// A nominated space with what was measured of it, the panel's mean score and the total.
#[derive(Debug, Clone, Serialize)]
pub struct Nominee {
    pub space: Space,
    pub owner: String,
    pub reason: String,
    /// Share of columns with a post (%), posts, visits and comments in the school year.
    pub measured: [i64; 4],
    /// The panel's mean content score, if any judge scored.
    pub content: Option<f64>,
    /// The actor's own score, when they are a judge.
    pub my_score: Option<i64>,
    pub total: f64,
    /// 1, 2, … for those named excellent once published.
    pub place: Option<i64>,
}

/// The form of a new selection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewAward {
    pub node_id: String,
    pub title: String,
    pub school_year: String,
    pub weights: Vec<String>,
    pub prizes: String,
    /// The panel: usernames, separated by spaces, commas or new lines.
    pub judges: String,
}

/// The nodes where the actor may open a selection: the schools, districts and cities they
/// administer (of the units they organise activities for, those above a class).
pub async fn organisable(cx: &Ctx<'_>) -> AppResult<Vec<scope::Addressable>> {
    Ok(crate::activities::organisable(cx)
        .await?
        .into_iter()
        .filter(|o| matches!(o.kind.as_str(), "school" | "district" | "city" | "province"))
        .collect())
}

/// Opens a selection; every field is checked and named.
pub async fn create(cx: &Ctx<'_>, input: &NewAward) -> AppResult<AwardId> {
    let mut f = FieldErrors::new();
    let node = input.node_id.trim().parse::<NodeId>().ok();
    let node = match node {
        Some(n) if organisable(cx).await?.iter().any(|o| o.id == n) => Some(n),
        _ => {
            f.add("node_id", "awards.error.organiser");
            None
        }
    };
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        f.add("title", "awards.error.title");
    }
    let this_year = directory::import::classes::school_year(cx.today());
    let year = input.school_year.trim().parse::<i64>().ok();
    if !year.is_some_and(|y| (this_year - 1..=this_year).contains(&y)) {
        f.add("school_year", "awards.error.school_year");
    }
    let weights: Vec<Option<i64>> = (0..CRITERIA.len())
        .map(|i| {
            input
                .weights
                .get(i)
                .and_then(|w| w.trim().parse::<i64>().ok())
                .filter(|w| (0..=100).contains(w))
        })
        .collect();
    if weights.iter().any(Option::is_none) || weights.iter().flatten().sum::<i64>() != 100 {
        f.add("weights", "awards.error.weights");
    }
    let prizes = input
        .prizes
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|p| (1..=100).contains(p));
    if prizes.is_none() {
        f.add("prizes", "awards.error.prizes");
    }
    let mut judges: Vec<PersonId> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for name in input
        .judges
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == '、')
        .filter(|s| !s.is_empty())
    {
        let found = identity::accounts::find_by_username(cx.db(), name)
            .await?
            .filter(|a| a.person_active)
            .map(|a| a.person_id);
        match found {
            Some(p) if !judges.contains(&p) => judges.push(p),
            Some(_) => {}
            None => unknown.push(name.to_owned()),
        }
    }
    if judges.is_empty() && unknown.is_empty() {
        f.add("judges", "awards.error.judges");
    }
    if !unknown.is_empty() {
        f.add("judges", "awards.error.unknown_judges");
        f.add("judges.names", &unknown.join("、"));
    }
    f.into_result()?;
    let (Some(node), Some(year), Some(prizes)) = (node, year, prizes) else {
        return Err(AppError::field("node_id", "awards.error.organiser"));
    };
    let weights = weights
        .into_iter()
        .map(|w| w.unwrap_or(0).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let id = AwardId(uuid::Uuid::now_v7());
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO space_awards (id, node_id, school_year, title, weights, prizes, state, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'nominating', $7, $8)",
    ).bind(id).bind(node).bind(year).bind(title).bind(&weights).bind(prizes).bind(cx.actor.person_id).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    for j in &judges {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO space_award_judges (award_id, person_id) VALUES ($1, $2)",
        ).bind(id).bind(*j).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("award.create")
            .object("space_award", id.0)
            .node(node),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

const COLUMNS: &str = "a.id, a.node_id, a.school_year, a.title, a.weights, a.prizes, a.state, a.created_by, a.created_at,
    a.published_at, n.name AS organiser";

/// The selections the actor sees: those of the nodes they belong to and above (everyone sees
/// the results that concern them), those they administer below, and those they judge.
pub async fn list(cx: &Ctx<'_>) -> AppResult<Vec<Award>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM space_awards a JOIN org_nodes n ON n.id = a.node_id
         ORDER BY a.school_year DESC, a.created_at DESC LIMIT 200"
    );
    let rows: Vec<Award> =
        on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(p).await)?;
    let mut out = Vec::new();
    for a in rows {
        if visible(cx, &a).await? {
            out.push(a);
        }
    }
    Ok(out)
}

async fn judges_of(db: &kernel::Db, id: AwardId) -> AppResult<Vec<(PersonId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.name FROM space_award_judges j JOIN persons p ON p.id = j.person_id WHERE j.award_id = $1 ORDER BY p.name",
    ).bind(id).fetch_all(p).await)?)
}

async fn visible(cx: &Ctx<'_>, a: &Award) -> AppResult<bool> {
    if crate::space::access::belongs(cx, a.node_id).await? {
        return Ok(true);
    }
    judges(cx, a).await
}

pub async fn get(cx: &Ctx<'_>, id: AwardId) -> AppResult<Award> {
    let sql = format!(
        "SELECT {COLUMNS} FROM space_awards a JOIN org_nodes n ON n.id = a.node_id WHERE a.id = $1"
    );
    let a: Option<Award> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id).fetch_optional(p).await)?;
    match a {
        Some(mut a) if visible(cx, &a).await? => {
            a.organiser = scope::label(cx.db(), a.node_id)
                .await?
                .unwrap_or(a.organiser);
            Ok(a)
        }
        _ => Err(AppError::NotFound("spaces.award_not_found")),
    }
}

/// Whether the actor runs the selection (administers its node).
pub async fn runs(cx: &Ctx<'_>, a: &Award) -> AppResult<bool> {
    scope::administers(cx.db(), cx.actor, a.node_id).await
}

/// Whether the actor is on the panel.
pub async fn judges(cx: &Ctx<'_>, a: &Award) -> AppResult<bool> {
    Ok(judges_of(cx.db(), a.id)
        .await?
        .iter()
        .any(|j| j.0 == cx.actor.person_id))
}

/// The panel: each judge and their name.
pub async fn panel(cx: &Ctx<'_>, a: &Award) -> AppResult<Vec<(PersonId, String)>> {
    judges_of(cx.db(), a.id).await
}

/// Nominates a space below the selection's node while nominations are open: by an
/// administrator of the space's node (or above it, below the selection), or by its owner.
pub async fn nominate(cx: &Ctx<'_>, id: AwardId, space: &str, reason: &str) -> AppResult<()> {
    let a = get(cx, id).await?;
    if a.state != "nominating" {
        return Err(AppError::Conflict(
            "spaces.award_closed",
            FieldErrors::new(),
        ));
    }
    // A space by its id or its address (`/spaces/<id>`).
    let raw = space.trim().trim_end_matches('/');
    let sid = raw
        .rsplit('/')
        .next()
        .unwrap_or(raw)
        .parse::<SpaceId>()
        .ok();
    let s = match sid {
        Some(sid) => space::find(cx.db(), sid).await?,
        None => None,
    };
    let Some(s) = s else {
        return Err(AppError::field("space", "awards.error.space"));
    };
    let below =
        s.node_id == a.node_id || kernel::tree::is_within(cx.db(), s.node_id, a.node_id).await?;
    if !below {
        return Err(AppError::field("space", "awards.error.space_outside"));
    }
    if !(space::access::owns(cx, &s).await?
        || scope::administers(cx.db(), cx.actor, s.node_id).await?)
    {
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(AppError::field("reason", "awards.error.reason"));
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO space_award_nominees (award_id, space_id, nominated_by, reason, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (award_id, space_id) DO NOTHING",
    ).bind(id).bind(s.id).bind(cx.actor.person_id).bind(reason).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "spaces.award_nominated",
            FieldErrors::new(),
        ));
    }
    kernel::facts::record(
        &mut tx,
        cx.now,
        kernel::facts::Fact::once(
            "space.nominated",
            s.node_id,
            s.person_id,
            s.id.0,
            format!("space.nominated:{id}:{}", s.id),
        ),
    )
    .await?;
    tx.commit().await
}

/// Closes nominations and opens the panel's scoring.
pub async fn start_judging(cx: &Ctx<'_>, id: AwardId) -> AppResult<()> {
    let a = get(cx, id).await?;
    if !runs(cx, &a).await? {
        return Err(AppError::Forbidden);
    }
    if a.state != "nominating" {
        return Err(AppError::Conflict(
            "spaces.award_closed",
            FieldErrors::new(),
        ));
    }
    on_db!(cx.db(), p => sqlx::query(
        "UPDATE space_awards SET state = 'judging' WHERE id = $1 AND state = 'nominating'",
    ).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A judge's content score (0–100) for a nominee, while judging; scoring again replaces it.
pub async fn score(cx: &Ctx<'_>, id: AwardId, space: SpaceId, score: &str) -> AppResult<()> {
    let a = get(cx, id).await?;
    if !judges(cx, &a).await? {
        return Err(AppError::Forbidden);
    }
    if a.state != "judging" {
        return Err(AppError::Conflict(
            "spaces.award_not_judging",
            FieldErrors::new(),
        ));
    }
    let Some(score) = score
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| (0..=100).contains(s))
    else {
        return Err(AppError::field("score", "awards.error.score"));
    };
    let (nominated,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM space_award_nominees WHERE award_id = $1 AND space_id = $2",
    ).bind(id).bind(space).fetch_one(p).await)?;
    if nominated == 0 {
        return Err(AppError::NotFound("spaces.space_not_found"));
    }
    on_db!(cx.db(), p => sqlx::query(
        "INSERT INTO space_award_scores (award_id, space_id, judge_id, score, scored_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (award_id, space_id, judge_id) DO UPDATE SET score = excluded.score, scored_at = excluded.scored_at",
    ).bind(id).bind(space).bind(cx.actor.person_id).bind(score).bind(cx.now)
     .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The school year's bounds: 1 September to the next 1 September, in the region's zone.
fn year_bounds(cx: &Ctx<'_>, year: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = |y: i64| {
        chrono::NaiveDate::from_ymd_opt(i32::try_from(y).unwrap_or(2000), 9, 1).unwrap_or_default()
    };
    let zone = cx.state.config.time_zone;
    (zone.day_start(day(year)), zone.day_start(day(year + 1)))
}

/// The nominees with their measures, scores and totals, best first.
pub async fn nominees(cx: &Ctx<'_>, a: &Award) -> AppResult<Vec<Nominee>> {
    let rows: Vec<(SpaceId, String, Option<i64>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT space_id, reason, place FROM space_award_nominees WHERE award_id = $1 ORDER BY created_at",
    ).bind(a.id).fetch_all(p).await)?;
    let (from, to) = year_bounds(cx, a.school_year);
    let mut out = Vec::new();
    for (sid, reason, place) in rows {
        let Some(s) = space::find(cx.db(), sid).await? else {
            continue;
        };
        let (columns, filled): (i64, i64) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM space_posts t WHERE t.column_id = c.id AND t.state = 'published'))
             FROM space_columns c WHERE c.space_id = $1",
        ).bind(sid).fetch_one(p).await)?;
        let (posts,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM space_posts WHERE space_id = $1 AND state = 'published' AND created_at >= $2 AND created_at < $3",
        ).bind(sid).bind(from).bind(to).fetch_one(p).await)?;
        let (visits,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM facts WHERE node_id = $4 AND kind = 'space.visit' AND object_id = $1 AND occurred_at >= $2 AND occurred_at < $3",
        ).bind(sid.0).bind(from).bind(to).bind(s.node_id).fetch_one(p).await)?;
        let (comments,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM space_comments c JOIN space_posts t ON t.id = c.post_id
             WHERE t.space_id = $1 AND c.state = 'published' AND c.created_at >= $2 AND c.created_at < $3",
        ).bind(sid).bind(from).bind(to).fetch_one(p).await)?;
        let scores: Vec<(PersonId, i64)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT judge_id, score FROM space_award_scores WHERE award_id = $1 AND space_id = $2",
        ).bind(a.id).bind(sid).fetch_all(p).await)?;
        let content = (!scores.is_empty())
            .then(|| scores.iter().map(|s| s.1 as f64).sum::<f64>() / scores.len() as f64);
        let owner = match s.person_id {
            Some(p) => {
                let row: Option<(String,)> = on_db!(cx.db(), q => sqlx::query_as(
                    "SELECT name FROM persons WHERE id = $1",
                ).bind(p).fetch_optional(q).await)?;
                row.map(|r| r.0).unwrap_or_default()
            }
            None => scope::label(cx.db(), s.node_id).await?.unwrap_or_default(),
        };
        out.push(Nominee {
            my_score: scores
                .iter()
                .find(|x| x.0 == cx.actor.person_id)
                .map(|x| x.1),
            measured: [
                if columns > 0 {
                    filled * 100 / columns
                } else {
                    0
                },
                posts,
                visits,
                comments,
            ],
            space: s,
            owner,
            reason,
            content,
            total: 0.0,
            place,
        });
    }
    // Each measure counts relative to the best nominee; the share of columns as it is.
    let w = a.weight_list();
    let max = |i: usize| out.iter().map(|n| n.measured[i]).max().unwrap_or(0).max(1) as f64;
    // The share of columns is a percentage already: its "best" is 100.
    let maxes = [100.0, max(1), max(2), max(3)];
    let weight = |i: usize| w.get(i).copied().unwrap_or(0) as f64 / 100.0;
    for n in &mut out {
        let measured: f64 = n
            .measured
            .iter()
            .zip(maxes)
            .enumerate()
            .map(|(i, (v, best))| weight(i + 1) * 100.0 * *v as f64 / best)
            .sum();
        let total = weight(0) * n.content.unwrap_or(0.0) + measured;
        n.total = (total * 10.0).round() / 10.0;
    }
    out.sort_by(|x, y| y.total.total_cmp(&x.total));
    Ok(out)
}

/// Publishes the results: the best `prizes` nominees (by total) are named excellent, their
/// owners told, and the result shown on their spaces.
pub async fn publish(cx: &Ctx<'_>, id: AwardId) -> AppResult<()> {
    let a = get(cx, id).await?;
    if !runs(cx, &a).await? {
        return Err(AppError::Forbidden);
    }
    if a.state != "judging" {
        return Err(AppError::Conflict(
            "spaces.award_not_judging",
            FieldErrors::new(),
        ));
    }
    let ranked = nominees(cx, &a).await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE space_awards SET state = 'published', published_at = $2 WHERE id = $1 AND state = 'judging'",
    ).bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let link = format!("/spaces/awards/{id}");
    for (i, n) in ranked.iter().enumerate() {
        let place = (i64::try_from(i).unwrap_or(i64::MAX) < a.prizes).then_some(i as i64 + 1);
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE space_award_nominees SET total = $3, place = $4 WHERE award_id = $1 AND space_id = $2",
        ).bind(id).bind(n.space.id).bind((n.total * 10.0).round() as i64).bind(place)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        if place.is_some()
            && let Some(owner) = n.space.person_id
        {
            crate::tell(
                cx.state,
                &mut tx,
                owner,
                "activity",
                "notice.space_award",
                id.0,
                &link,
                serde_json::json!({ "award": a.title }),
                &format!("space_award:{id}"),
                cx.now,
            )
            .await?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("award.publish")
            .object("space_award", id.0)
            .node(a.node_id),
    )
    .await?;
    tx.commit().await
}

/// The excellent-space titles a space has won: (the selection's title, its organiser's name,
/// the school year), newest first.
pub async fn won(
    db: &kernel::Db,
    space: SpaceId,
) -> AppResult<Vec<(AwardId, String, String, i64)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT a.id, a.title, n.name, a.school_year FROM space_award_nominees m
         JOIN space_awards a ON a.id = m.award_id AND a.state = 'published'
         JOIN org_nodes n ON n.id = a.node_id
         WHERE m.space_id = $1 AND m.place IS NOT NULL ORDER BY a.school_year DESC, a.published_at DESC",
    ).bind(space).fetch_all(p).await)?)
}
