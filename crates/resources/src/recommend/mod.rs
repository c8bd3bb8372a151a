//! Recommendations (精准推送): resources for the chapters a teacher's classes reach next, and
//! "teachers who used this also used" from co-downloads. Each one says why it is shown; what is
//! shown and what is clicked are recorded (`resource_events` kinds `rec_shown` and `rec_click`,
//! with the reason as detail) so the click-through rate can be measured per school and reason.

pub mod pages;

use crate::access::Viewer;
use crate::model::{Kind, Scope};
use chrono::{DateTime, Duration, Utc};
use kernel::actor::Role;
use kernel::{AppResult, Ctx, Db, NodeId, PersonId, ResourceId, on_db};
use serde::Serialize;

/// Why a resource is recommended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// It hangs on a chapter one of the teacher's classes reaches next in this subject.
    NextChapter {
        class_id: NodeId,
        class_name: String,
        /// JY/T 1001 course code.
        subject: String,
        chapter: String,
        /// The chapter was estimated from the term's calendar (the teacher did not set it).
        estimated: bool,
    },
    /// Teachers who downloaded `because` (which this teacher downloaded) also downloaded it.
    CoDownload {
        because_id: ResourceId,
        because: String,
        /// How many such teachers.
        teachers: i64,
    },
}

impl Reason {
    /// The short name recorded with the events: `next_chapter` or `co_download`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NextChapter { .. } => "next_chapter",
            Self::CoDownload { .. } => "co_download",
        }
    }
}

/// A recommended resource.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recommendation {
    pub id: ResourceId,
    pub title: String,
    pub kind: Kind,
    pub scope: Scope,
    pub quality: f64,
    pub school: String,
    pub why: Reason,
}

#[derive(sqlx::FromRow)]
struct Item {
    id: ResourceId,
    title: String,
    kind: String,
    scope: String,
    quality: f64,
    school: String,
}

impl Item {
    fn with(self, why: Reason) -> Recommendation {
        Recommendation {
            id: self.id,
            title: self.title,
            kind: Kind::parse(&self.kind).unwrap_or(Kind::Material),
            scope: Scope::parse(&self.scope).unwrap_or(Scope::Private),
            quality: self.quality,
            school: self.school,
            why,
        }
    }
}

/// Binds the viewer filter's parameters after the query's own.
macro_rules! bind_viewer {
    ($q:expr, $viewer:expr) => {{
        let (me, nodes) = $viewer.filter_params();
        let mut q = $q.bind(me);
        for n in nodes {
            q = q.bind(n);
        }
        q
    }};
}

/// At most `per_chapter` resources for each chapter the teacher's classes reach next, then
/// co-download recommendations, `limit` in all, never the teacher's own, each at most once.
pub async fn for_teacher(cx: &Ctx<'_>, limit: usize) -> AppResult<Vec<Recommendation>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_staff()?;
    let mut out = next_chapter(cx, &viewer, 3).await?;
    if out.len() < limit {
        for r in co_downloads(cx, &viewer, limit).await? {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    out.truncate(limit);
    Ok(out)
}

/// The classes and subjects the actor teaches.
fn teaching(cx: &Ctx<'_>) -> Vec<(NodeId, String)> {
    let mut out: Vec<(NodeId, String)> = Vec::new();
    for g in &cx.actor.grants {
        if matches!(g.role, Role::Teacher | Role::HeadTeacher)
            && let Some(s) = &g.subject
            && !out.iter().any(|(c, x)| *c == g.node_id && x == s)
        {
            out.push((g.node_id, s.clone()));
        }
    }
    out
}

/// Resources on the chapters each class of the teacher's reaches next, best first.
pub async fn next_chapter(
    cx: &Ctx<'_>,
    viewer: &Viewer,
    per_chapter: i64,
) -> AppResult<Vec<Recommendation>> {
    let db = cx.db();
    let today = cx.today();
    let mut out: Vec<Recommendation> = Vec::new();
    for (class, subject) in teaching(cx) {
        let Some(progress) = crate::catalog::progress::of_class(db, class, &subject, today).await?
        else {
            continue;
        };
        let class_name = class_name(db, class).await?;
        for chapter in progress.next.iter().take(2) {
            let (chapter_name,): (String,) = on_db!(db, p => sqlx::query_as(
                "SELECT name FROM catalog_nodes WHERE id = $1",
            ).bind(chapter).fetch_one(p).await)?;
            let sql = format!(
                "SELECT r.id, r.title, r.kind, r.scope, r.quality, n.name AS school
                 FROM resources r JOIN org_nodes n ON n.id = r.org_id
                 WHERE r.deleted_at IS NULL AND r.author_id <> $1
                   AND EXISTS (SELECT 1 FROM resource_catalog rc JOIN catalog_nodes c ON c.id = rc.catalog_id
                               WHERE rc.resource_id = r.id AND (c.id = $2 OR c.parent_id = $2))
                   AND {}
                 ORDER BY r.quality DESC, r.created_at DESC LIMIT $3",
                viewer.filter_sql(4)
            );
            let items: Vec<Item> = on_db!(db, p => bind_viewer!(
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(viewer.person).bind(chapter).bind(per_chapter),
                viewer
            ).fetch_all(p).await)?;
            for item in items {
                if out.iter().any(|o| o.id == item.id) {
                    continue;
                }
                out.push(item.with(Reason::NextChapter {
                    class_id: class,
                    class_name: class_name.clone(),
                    subject: subject.clone(),
                    chapter: chapter_name.clone(),
                    estimated: progress.estimated,
                }));
            }
        }
    }
    Ok(out)
}

async fn class_name(db: &Db, class: NodeId) -> AppResult<String> {
    let row: Option<(String, Option<String>)> = on_db!(db, p => sqlx::query_as(
        "SELECT c.name, g.name FROM org_nodes c LEFT JOIN org_nodes g ON g.id = c.parent_id WHERE c.id = $1",
    ).bind(class).fetch_optional(p).await)?;
    Ok(match row {
        Some((c, Some(g))) => format!("{g}{c}"),
        Some((c, None)) => c,
        None => String::new(),
    })
}

/// What teachers who downloaded what this viewer downloaded (in the last year) also
/// downloaded, by how many of them, that this viewer has not downloaded and may see.
pub async fn co_downloads(
    cx: &Ctx<'_>,
    viewer: &Viewer,
    limit: usize,
) -> AppResult<Vec<Recommendation>> {
    let since = cx.now - Duration::days(365);
    co_downloaded(cx.db(), viewer, None, since, limit).await
}

/// "Teachers who used this also used": what the downloaders of `resource` also downloaded.
pub async fn also_used(
    db: &Db,
    viewer: &Viewer,
    resource: ResourceId,
    limit: usize,
) -> AppResult<Vec<Recommendation>> {
    co_downloaded(db, viewer, Some(resource), DateTime::<Utc>::MIN_UTC, limit).await
}

#[derive(sqlx::FromRow)]
struct CoRow {
    id: ResourceId,
    title: String,
    kind: String,
    scope: String,
    quality: f64,
    school: String,
    because_id: ResourceId,
    because: String,
    teachers: i64,
}

async fn co_downloaded(
    db: &Db,
    viewer: &Viewer,
    seed: Option<ResourceId>,
    since: DateTime<Utc>,
    limit: usize,
) -> AppResult<Vec<Recommendation>> {
    // The seeds: the given resource ($2), or the viewer's own downloads since $2.
    let seeds = if seed.is_some() {
        "SELECT id AS resource_id FROM resources WHERE id = $2"
    } else {
        "SELECT DISTINCT resource_id FROM resource_events WHERE person_id = $1 AND kind = 'download' AND at > $2"
    };
    let sql = format!(
        "SELECT r.id, r.title, r.kind, r.scope, r.quality, n.name AS school,
                b.id AS because_id, b.title AS because, COUNT(DISTINCT other.person_id) AS teachers
         FROM ({seeds}) s
         JOIN resource_events peer ON peer.resource_id = s.resource_id AND peer.kind = 'download' AND peer.person_id <> $1
         JOIN resource_events other ON other.person_id = peer.person_id AND other.kind = 'download'
                                   AND other.resource_id <> s.resource_id
         JOIN resources r ON r.id = other.resource_id
         JOIN resources b ON b.id = s.resource_id
         JOIN org_nodes n ON n.id = r.org_id
         WHERE r.deleted_at IS NULL AND r.author_id <> $1
           AND NOT EXISTS (SELECT 1 FROM resource_events mine WHERE mine.person_id = $1
                           AND mine.kind = 'download' AND mine.resource_id = r.id)
           AND {}
         GROUP BY r.id, r.title, r.kind, r.scope, r.quality, n.name, b.id, b.title
         ORDER BY teachers DESC, r.quality DESC LIMIT $3",
        viewer.filter_sql(4)
    );
    let fetch = limit as i64 * 3;
    let rows: Vec<CoRow> = match seed {
        Some(id) => on_db!(db, p => bind_viewer!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(viewer.person).bind(id).bind(fetch), viewer
        ).fetch_all(p).await)?,
        None => on_db!(db, p => bind_viewer!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(viewer.person).bind(since).bind(fetch), viewer
        ).fetch_all(p).await)?,
    };
    let mut out: Vec<Recommendation> = Vec::new();
    for r in rows {
        if out.iter().any(|o| o.id == r.id) {
            continue;
        }
        out.push(Recommendation {
            id: r.id,
            title: r.title,
            kind: Kind::parse(&r.kind).unwrap_or(Kind::Material),
            scope: Scope::parse(&r.scope).unwrap_or(Scope::Private),
            quality: r.quality,
            school: r.school,
            why: Reason::CoDownload {
                because_id: r.because_id,
                because: r.because,
                teachers: r.teachers,
            },
        });
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// Records that `recs` were shown to the actor: once per person, resource and reason a day,
/// so reloading the home page does not inflate the count.
pub async fn record_shown(cx: &Ctx<'_>, recs: &[Recommendation]) -> AppResult<()> {
    let day = cx.now - Duration::hours(24);
    for r in recs {
        let seen: Option<(i64,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT id FROM resource_events WHERE person_id = $1 AND resource_id = $2
               AND kind = 'rec_shown' AND detail = $3 AND at > $4 LIMIT 1",
        ).bind(cx.actor.person_id).bind(r.id).bind(r.why.code()).bind(day).fetch_optional(p).await)?;
        if seen.is_none() {
            event(
                cx.db(),
                cx.actor.person_id,
                cx.actor.org_id,
                r.id,
                "rec_shown",
                r.why.code(),
                cx.now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Records a click on a recommendation (the link goes through `/library/rec/{id}`).
pub async fn record_click(cx: &Ctx<'_>, resource: ResourceId, reason: &str) -> AppResult<()> {
    let reason = if reason == "co_download" {
        "co_download"
    } else {
        "next_chapter"
    };
    event(
        cx.db(),
        cx.actor.person_id,
        cx.actor.org_id,
        resource,
        "rec_click",
        reason,
        cx.now,
    )
    .await
}

async fn event(
    db: &Db,
    person: PersonId,
    org: NodeId,
    resource: ResourceId,
    kind: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    on_db!(db, p => sqlx::query(
        "INSERT INTO resource_events (resource_id, person_id, org_id, kind, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(resource).bind(person).bind(org).bind(kind).bind(detail).bind(at)
     .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Shown, clicked and the click-through rate per reason, for the people of `node`'s subtree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClickThrough {
    pub reason: String,
    pub shown: i64,
    pub clicked: i64,
    /// clicked / shown, or `None` when nothing was shown.
    pub rate: Option<f64>,
}

pub async fn click_through(
    db: &Db,
    node: NodeId,
    since: DateTime<Utc>,
) -> AppResult<Vec<ClickThrough>> {
    let rows: Vec<(String, i64, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT e.detail,
                SUM(CASE WHEN e.kind = 'rec_shown' THEN 1 ELSE 0 END),
                SUM(CASE WHEN e.kind = 'rec_click' THEN 1 ELSE 0 END)
         FROM resource_events e JOIN org_closure c ON c.descendant_id = e.org_id AND c.ancestor_id = $1
         WHERE e.kind IN ('rec_shown', 'rec_click') AND e.at > $2
         GROUP BY e.detail ORDER BY e.detail",
    ).bind(node).bind(since).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(reason, shown, clicked)| ClickThrough {
            rate: (shown > 0).then(|| clicked as f64 / shown as f64),
            reason,
            shown,
            clicked,
        })
        .collect())
}
