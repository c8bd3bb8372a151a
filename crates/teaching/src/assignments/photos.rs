//! Photos of paper work: a student photographs an answer (or the whole work) on their phone;
//! each photo is stored without its metadata (the phone's GPS position) as in the spaces. The
//! teacher marks it with a pen: the strokes are kept beside the photo, in coordinates from 0
//! to 1000 across and down, and drawn over it as SVG wherever it is shown; the photo itself is
//! never changed.

use super::{SubmissionId, WHOLE, find_submission, may_read_submission, work};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, PersonId, on_db, on_tx};
use serde::Serialize;

kernel::id_type!(
    /// A photo of a student's paper work.
    PhotoId => "teaching.photo_not_found",
);

pub const NOT_FOUND: &str = "teaching.photo_not_found";
/// Photos per answer.
pub const MAX_PER_ANSWER: i64 = 6;
pub const STROKES_MAX: usize = 300;
pub const POINTS_MAX: usize = 2_000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Photo {
    pub id: PhotoId,
    pub submission_id: SubmissionId,
    pub position: i64,
    pub content_type: String,
    pub bytes: i64,
    pub created_at: DateTime<Utc>,
    pub annotation: Option<String>,
    pub annotated_by: Option<PersonId>,
    pub annotated_at: Option<DateTime<Utc>>,
}

/// The pen's strokes: each a line through points (x, y), 0–1000 across and down.
pub type Strokes = Vec<Vec<(u16, u16)>>;

impl Photo {
    pub fn strokes(&self) -> Strokes {
        self.annotation
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
            .unwrap_or_default()
    }
    /// The strokes as SVG `points` attributes (digits, commas and spaces only).
    pub fn polylines(&self) -> Vec<String> {
        self.strokes()
            .iter()
            .map(|s| {
                s.iter()
                    .map(|(x, y)| format!("{x},{y}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
    pub fn annotation_json(&self) -> String {
        self.annotation.clone().unwrap_or_else(|| "[]".to_owned())
    }
}

/// A submission's photos, in the order taken.
pub async fn of(db: &kernel::Db, id: SubmissionId) -> AppResult<Vec<Photo>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, submission_id, position, content_type, bytes, created_at, annotation, annotated_by, annotated_at
         FROM answer_photos WHERE submission_id = $1 ORDER BY position, created_at, id",
    ).bind(id).fetch_all(p).await)?)
}

/// The positions that have photos.
pub async fn positions(db: &kernel::Db, id: SubmissionId) -> AppResult<Vec<i64>> {
    let rows: Vec<(i64,)> = on_db!(db, p => sqlx::query_as(
        "SELECT DISTINCT position FROM answer_photos WHERE submission_id = $1",
    ).bind(id).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Adds photos to the actor's own work at `position` (an item a teacher marks, or the work as
/// a whole when it has no items), while it takes answers.
pub async fn add(
    cx: &Ctx<'_>,
    assignment: super::AssignmentId,
    position: i64,
    files: Vec<Bytes>,
) -> AppResult<usize> {
    let (a, s) = work::open(cx, assignment).await?;
    if let Some(code) = work::closed(&a, &s, cx.now) {
        return Err(AppError::Conflict(code, FieldErrors::new()));
    }
    let parts = super::parts(cx.db(), a.id).await?;
    let fits = if position == WHOLE {
        parts.is_empty()
    } else {
        parts.iter().any(|p| p.position == position && p.manual())
    };
    let field = format!("photo.{position}");
    if !fits {
        return Err(AppError::field(&field, "error.teaching.photo_position"));
    }
    let mut f = FieldErrors::new();
    let (existing,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM answer_photos WHERE submission_id = $1 AND position = $2",
    ).bind(s.id).bind(position).fetch_one(p).await)?;
    if files.is_empty() {
        f.add(&field, "photos.error.none");
    } else if existing + files.len() as i64 > MAX_PER_ANSWER {
        f.add(&field, "error.teaching.photos_many");
    }
    let mut clean = Vec::new();
    for data in files {
        if data.len() > spaces::photos::MAX_BYTES {
            f.add(&field, "photos.error.too_large");
            continue;
        }
        match spaces::photos::strip(data) {
            Ok(c) => clean.push(c),
            Err(key) => f.add(&field, key),
        }
    }
    f.into_result()?;
    let mut stored = Vec::new();
    for (data, kind) in clean {
        let bytes = data.len() as i64;
        stored.push((
            resources::files::store::put_small(cx.state, data).await?,
            kind,
            bytes,
        ));
    }
    let mut tx = cx.begin().await?;
    // Taken only while the work takes answers: checked again inside the write, so a photo
    // never lands after the hand-in marked its item.
    let open_now = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE submissions SET started_at = COALESCE(started_at, $2) WHERE id = $1
           AND submitted_at IS NULL AND (ends_at IS NULL OR ends_at >= $2)",
    ).bind(s.id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if open_now == 0 {
        return Err(AppError::Conflict("teaching.time_over", FieldErrors::new()));
    }
    for (hash, kind, bytes) in &stored {
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO answer_photos (id, submission_id, position, blob_hash, content_type, bytes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        ).bind(PhotoId::new()).bind(s.id).bind(position).bind(hash).bind(*kind).bind(*bytes).bind(cx.now)
         .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(stored.len())
}

async fn find(db: &kernel::Db, id: PhotoId) -> AppResult<Option<(Photo, String)>> {
    let row: Option<(SubmissionId, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT submission_id, blob_hash FROM answer_photos WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    let Some((sub, hash)) = row else {
        return Ok(None);
    };
    Ok(of(db, sub)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| (p, hash)))
}

/// The assignment a photo belongs to.
pub async fn assignment_of(db: &kernel::Db, id: PhotoId) -> AppResult<Option<super::AssignmentId>> {
    let row: Option<(super::AssignmentId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT s.assignment_id FROM answer_photos f JOIN submissions s ON s.id = f.submission_id WHERE f.id = $1",
    ).bind(id).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

/// Removes a photo from the actor's own work while it takes answers.
pub async fn remove(cx: &Ctx<'_>, id: PhotoId) -> AppResult<super::AssignmentId> {
    let (photo, _) = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let s = find_submission(cx.db(), photo.submission_id)
        .await?
        .filter(|s| s.student_id == cx.actor.person_id)
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let (a, s) = work::open(cx, s.assignment_id).await?;
    if let Some(code) = work::closed(&a, &s, cx.now) {
        return Err(AppError::Conflict(code, FieldErrors::new()));
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query("DELETE FROM answer_photos WHERE id = $1 AND submission_id = $2")
        .bind(id).bind(s.id).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(a.id)
}

/// A photo's bytes, for those who read its submission.
pub async fn serve(cx: &Ctx<'_>, id: PhotoId) -> AppResult<Response> {
    let (photo, hash) = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let s = find_submission(cx.db(), photo.submission_id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let a = super::find(cx.db(), s.assignment_id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    if !may_read_submission(cx, &a, &s).await? {
        return Err(AppError::NotFound(NOT_FOUND));
    }
    let data = resources::files::store::get_small(cx.state, &hash).await?;
    Response::builder()
        .header("content-type", photo.content_type)
        .header("cache-control", "private, max-age=3600")
        .body(Body::from(data))
        .map_err(AppError::internal)
}

/// Reads the pen's strokes as the page sends them (JSON), within bounds.
pub fn parse_strokes(json: &str) -> Result<Strokes, &'static str> {
    let raw: Vec<Vec<(i64, i64)>> =
        serde_json::from_str(json).map_err(|_| "error.teaching.annotation")?;
    if raw.len() > STROKES_MAX || raw.iter().any(|s| s.len() > POINTS_MAX) {
        return Err("error.teaching.annotation_large");
    }
    raw.into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.into_iter()
                .map(|(x, y)| match (u16::try_from(x), u16::try_from(y)) {
                    (Ok(x), Ok(y)) if x <= 1000 && y <= 1000 => Ok((x, y)),
                    _ => Err("error.teaching.annotation"),
                })
                .collect()
        })
        .collect()
}

/// The teacher's pen on a photo: the strokes replace those before, unless someone else's pen
/// changed them since the teacher's page showed `was` (a field error then); audited.
pub async fn annotate(
    cx: &Ctx<'_>,
    id: PhotoId,
    strokes: &Strokes,
    was: &str,
) -> AppResult<SubmissionId> {
    let (photo, _) = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let (_, s) = super::graded_submission(cx, photo.submission_id)
        .await
        .map_err(|_| AppError::NotFound(NOT_FOUND))?;
    let json = serde_json::to_string(strokes).map_err(AppError::internal)?;
    if photo.annotation.as_deref() == Some(json.as_str())
        || (photo.annotation.is_none() && strokes.is_empty())
    {
        return Ok(s.id);
    }
    let mut tx = cx.begin().await?;
    // Compared with what was shown inside the write: of two pens on one photo, the later
    // page does not erase the earlier strokes.
    let was = if was.is_empty() { "[]" } else { was };
    let stored = (!strokes.is_empty()).then_some(json.as_str());
    let changed = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE answer_photos SET annotation = $2, annotated_by = $3, annotated_at = $4
         WHERE id = $1 AND COALESCE(annotation, '[]') = $5",
    ).bind(id).bind(stored).bind(cx.actor.person_id).bind(cx.now).bind(was)
     .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(AppError::field(
            &format!("annotation.{id}"),
            "error.teaching.annotation_changed",
        ));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("submission.annotate")
            .object("submission", s.id)
            .node(s.class_id)
            .detail(serde_json::json!({ "photo": id, "strokes": strokes.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_within_bounds() {
        assert_eq!(
            parse_strokes("[[[0,0],[1000,1000]],[]]"),
            Ok(vec![vec![(0, 0), (1000, 1000)]])
        );
        assert!(parse_strokes("[[[0,1001]]]").is_err());
        assert!(parse_strokes("[[[-1,5]]]").is_err());
        assert!(parse_strokes("<svg>").is_err());
        let many = format!("[{}]", vec!["[[1,1]]"; STROKES_MAX + 1].join(","));
        assert_eq!(parse_strokes(&many), Err("error.teaching.annotation_large"));
    }
}
