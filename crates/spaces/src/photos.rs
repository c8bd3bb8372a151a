//! Photos in posts, and guardians' consent to show a child beyond the class (Personal
//! Information Protection Law: a child under 14's personal information needs a guardian's
//! consent). A post's author adds JPEG or PNG photos; each is stored without its EXIF, XMP and
//! IPTC metadata (a phone's GPS position among them) and without PNG text chunks. A photo in a
//! class's or a student's space shows children: the student's own, or those the author tags in
//! a class photo. Beyond the class it is shown only as far as every such child's guardian
//! allows (their class only by default; their school; the region): checked when a photo is
//! added to a post read beyond the class, and again whenever it is shown, so a consent
//! withdrawn takes effect at once. The same consent governs a child's works in themed
//! activities.

use crate::scope;
use crate::space::{Kind, Space, Visibility, access, posts};
use axum::body::Body;
use axum::response::Response;
use img_parts::Bytes;
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, PersonId, PostId, Role, on_db, on_tx};
use serde::Serialize;

kernel::id_type!(
    /// A post's photo.
    PhotoId => "spaces.photo_not_found",
);

/// How far a guardian lets their child be shown, narrowest first.
pub const SCOPES: [&str; 3] = ["class", "school", "region"];
/// The largest photo taken (after a phone's own compression, ample).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Photos per post.
pub const MAX_PER_POST: i64 = 9;

fn rank(scope: &str) -> usize {
    SCOPES.iter().position(|s| *s == scope).unwrap_or(0)
}

/// The photo without its metadata, and its type; or the error key of what is wrong with it.
pub fn strip(data: Bytes) -> Result<(Bytes, &'static str), &'static str> {
    use img_parts::jpeg::{Jpeg, markers};
    use img_parts::png::Png;
    if data.starts_with(&[0xFF, 0xD8]) {
        let mut jpeg = Jpeg::from_bytes(data).map_err(|_| "photos.error.broken")?;
        // APP1 holds EXIF (with GPS) and XMP; APP13 holds IPTC.
        jpeg.segments_mut()
            .retain(|s| !matches!(s.marker(), markers::APP1 | markers::APP13));
        return Ok((jpeg.encoder().bytes(), "image/jpeg"));
    }
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        let mut png = Png::from_bytes(data).map_err(|_| "photos.error.broken")?;
        png.chunks_mut()
            .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt"));
        return Ok((png.encoder().bytes(), "image/png"));
    }
    Err("photos.error.kind")
}

/// How far a child may be shown (the class only unless a guardian said more).
pub async fn consent(db: &kernel::Db, student: PersonId) -> AppResult<String> {
    let row: Option<(String,)> = on_db!(db, p => sqlx::query_as(
        "SELECT scope FROM photo_consents WHERE student_id = $1",
    ).bind(student).fetch_optional(p).await)?;
    Ok(row.map_or_else(|| "class".to_owned(), |r| r.0))
}

/// A guardian's choice for their child; audited.
pub async fn set_consent(cx: &Ctx<'_>, student: PersonId, scope: &str) -> AppResult<()> {
    if !cx
        .actor
        .grants_of(Role::Guardian)
        .any(|g| g.student_id == Some(student))
    {
        return Err(AppError::NotFound("directory.person_not_found"));
    }
    if !SCOPES.contains(&scope) {
        return Err(AppError::field("scope", "photos.error.scope"));
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO photo_consents (student_id, scope, guardian_id, decided_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (student_id) DO UPDATE SET scope = excluded.scope, guardian_id = excluded.guardian_id, decided_at = excluded.decided_at",
    ).bind(student).bind(scope).bind(cx.actor.person_id).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("consent.set")
            .object("person", student)
            .detail(serde_json::json!({ "scope": scope })),
    )
    .await?;
    tx.commit().await
}

/// The scope a viewer needs a child's consent for: none within the class, else their school
/// or the region.
fn needed(readable: &[Visibility]) -> &'static str {
    if readable.contains(&Visibility::Class) {
        "class"
    } else if readable.contains(&Visibility::School) {
        "school"
    } else {
        "region"
    }
}

/// The children a post's photos show: a student space's owner, or those tagged in a class's.
async fn children(cx: &Ctx<'_>, space: &Space, post: PostId) -> AppResult<Vec<PersonId>> {
    match (space.kind(), space.person_id) {
        (Kind::Student, Some(p)) => Ok(vec![p]),
        (Kind::Class, _) => {
            let rows: Vec<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT student_id FROM space_post_children WHERE post_id = $1",
            ).bind(post).fetch_all(p).await)?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// Those of `children` whose guardians have not allowed `scope`: (id, name).
async fn without_consent(
    cx: &Ctx<'_>,
    children: &[PersonId],
    scope: &str,
) -> AppResult<Vec<(PersonId, String)>> {
    let mut out = Vec::new();
    for c in children {
        if rank(&consent(cx.db(), *c).await?) < rank(scope) {
            let name: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT name FROM persons WHERE id = $1",
            ).bind(*c).fetch_optional(p).await)?;
            out.push((*c, name.map(|n| n.0).unwrap_or_default()));
        }
    }
    Ok(out)
}

/// Whether a student's work (or photo) may be shown to a viewer at `distance` (`class`,
/// `school` or `region`) from the student.
pub async fn shown_at(db: &kernel::Db, student: PersonId, distance: &str) -> AppResult<bool> {
    Ok(rank(&consent(db, student).await?) >= rank(distance))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Photo {
    pub id: PhotoId,
    pub post_id: PostId,
    pub blob_hash: String,
    pub content_type: String,
}

/// The photos of a post its viewer may see: all, within the class (and for the author and the
/// space's owners); beyond it, only if every child shown may be shown that far.
pub async fn visible(cx: &Ctx<'_>, space: &Space, post: &posts::Post) -> AppResult<Vec<Photo>> {
    let photos: Vec<Photo> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id, post_id, blob_hash, content_type FROM space_post_photos WHERE post_id = $1 ORDER BY position",
    ).bind(post.id).fetch_all(p).await)?;
    if photos.is_empty() || post.author_id == cx.actor.person_id || access::owns(cx, space).await? {
        return Ok(photos);
    }
    let scope = needed(&access::readable(cx, space).await?);
    if scope == "class" {
        return Ok(photos);
    }
    let kids = children(cx, space, post.id).await?;
    if without_consent(cx, &kids, scope).await?.is_empty() {
        Ok(photos)
    } else {
        Ok(Vec::new())
    }
}

/// Adds photos to the actor's own post: each checked (type, size) and stripped of its
/// metadata; in a class's space the children shown are tagged (or the author says none is);
/// a post read beyond the class needs every shown child's guardian's consent that far, and
/// names those without it.
pub async fn add(
    cx: &Ctx<'_>,
    id: PostId,
    files: Vec<Bytes>,
    tagged: &[PersonId],
    no_children: bool,
) -> AppResult<usize> {
    let (space, _, post) = posts::get(cx, id).await?;
    if post.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    let mut f = FieldErrors::new();
    let (existing,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM space_post_photos WHERE post_id = $1",
    ).bind(id).fetch_one(p).await)?;
    if files.is_empty() {
        f.add("photo", "photos.error.none");
    } else if existing + files.len() as i64 > MAX_PER_POST {
        f.add("photo", "photos.error.too_many");
    }
    let mut clean = Vec::new();
    for data in files {
        if data.len() > MAX_BYTES {
            f.add("photo", "photos.error.too_large");
            continue;
        }
        match strip(data) {
            Ok(c) => clean.push(c),
            Err(key) => f.add("photo", key),
        }
    }
    // The children shown: the class's students the author tagged.
    let mut shown: Vec<PersonId> = Vec::new();
    match space.kind() {
        Kind::Class => {
            let students: Vec<PersonId> = scope::students(cx.db(), space.node_id)
                .await?
                .into_iter()
                .map(|s| s.0)
                .collect();
            for t in tagged {
                if students.contains(t) && !shown.contains(t) {
                    shown.push(*t);
                }
            }
        }
        Kind::Student => shown.extend(space.person_id),
        _ => {}
    }
    let visibility = Visibility::parse(&post.visibility).unwrap_or(Visibility::Private);
    let scope = match visibility {
        Visibility::Region => "region",
        Visibility::School => "school",
        _ => "class",
    };
    let about_children = matches!(space.kind(), Kind::Class | Kind::Student);
    if about_children && scope != "class" {
        if space.kind() == Kind::Class && shown.is_empty() && !no_children {
            f.add("children", "photos.error.tag_children");
        }
        let missing = without_consent(cx, &shown, scope).await?;
        if !missing.is_empty() {
            f.add("children", "photos.error.no_consent");
            f.add(
                "children.names",
                &missing
                    .iter()
                    .map(|m| m.1.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
            );
        }
    }
    f.into_result()?;
    let mut stored = Vec::new();
    for (data, kind) in clean {
        let bytes = data.len() as i64;
        let hash = resources::files::store::put_small(cx.state, data).await?;
        stored.push((hash, kind, bytes));
    }
    let mut tx = cx.begin().await?;
    for (i, (hash, kind, bytes)) in stored.iter().enumerate() {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO space_post_photos (id, post_id, blob_hash, content_type, bytes, position, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        ).bind(PhotoId(uuid::Uuid::now_v7())).bind(id).bind(hash).bind(*kind).bind(*bytes)
         .bind(existing + i as i64).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    if space.kind() == Kind::Class {
        for s in &shown {
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO space_post_children (post_id, student_id) VALUES ($1, $2) ON CONFLICT (post_id, student_id) DO NOTHING",
            ).bind(id).bind(*s).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    tx.commit().await?;
    Ok(stored.len())
}

/// A photo's bytes, for a viewer who may see it.
pub async fn serve(cx: &Ctx<'_>, id: PhotoId) -> AppResult<Response> {
    let row: Option<(PostId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT post_id FROM space_post_photos WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    let Some((post,)) = row else {
        return Err(AppError::NotFound("spaces.photo_not_found"));
    };
    let (space, _, post) = posts::get(cx, post)
        .await
        .map_err(|_| AppError::NotFound("spaces.photo_not_found"))?;
    let Some(photo) = visible(cx, &space, &post)
        .await?
        .into_iter()
        .find(|p| p.id == id)
    else {
        return Err(AppError::NotFound("spaces.photo_not_found"));
    };
    let data = resources::files::store::get_small(cx.state, &photo.blob_hash).await?;
    Response::builder()
        .header("content-type", photo.content_type)
        .header("cache-control", "private, max-age=3600")
        .body(Body::from(data))
        .map_err(AppError::internal)
}

/// The children a guardian decides for, with their current choice.
pub async fn choices(cx: &Ctx<'_>) -> AppResult<Vec<(scope::Child, String)>> {
    let mut out = Vec::new();
    for c in scope::children(cx).await? {
        let s = consent(cx.db(), c.student_id).await?;
        out.push((c, s));
    }
    Ok(out)
}

/// `POST /spaces/posts/{id}/photos` (multipart): the CSRF token, the photos (`photo`, several),
/// the children tagged (`child`, several) or `no_children`.
pub async fn upload(
    page: web::Page,
    web::IdPath(id): web::IdPath<PostId>,
    mut form: axum::extract::Multipart,
) -> AppResult<Response> {
    let limit = u64::try_from(MAX_BYTES).unwrap_or(u64::MAX) * MAX_PER_POST as u64;
    let bad = |e| web::upload::multipart_error(e, limit, "photo", "photos.error.broken");
    let (mut csrf, mut files, mut tagged, mut no_children) =
        (String::new(), Vec::new(), Vec::new(), false);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(bad)?,
            Some("child") => {
                if let Ok(p) = field.text().await.map_err(bad)?.parse::<PersonId>() {
                    tagged.push(p);
                }
            }
            Some("no_children") => no_children = true,
            Some("photo") => {
                let data = field.bytes().await.map_err(bad)?;
                if !data.is_empty() {
                    files.push(data);
                }
            }
            _ => {}
        }
    }
    page.session.verify_csrf(&csrf)?;
    match add(&page.cx(), id, files, &tagged, no_children).await {
        Ok(_) => Ok(web::redirect(&format!(
            "/spaces/posts/{id}?done=photos_added#photos"
        ))),
        Err(AppError::Invalid(errors)) => {
            crate::space::pages::post_page(&page, id, errors, None).await
        }
        Err(e) => Err(e),
    }
}

pub async fn photo(page: web::Page, web::IdPath(id): web::IdPath<PhotoId>) -> AppResult<Response> {
    serve(&page.cx(), id).await
}

#[derive(askama::Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    ctx: web::PageCtx,
    children: Vec<(scope::Child, String)>,
    scopes: [&'static str; 3],
}

#[derive(serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn consent_page(
    page: web::Page,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(web::render(&ConsentPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        children: choices(&cx).await?,
        scopes: SCOPES,
    }))
}

#[derive(serde::Deserialize)]
pub struct ConsentForm {
    student: String,
    scope: String,
}

pub async fn save_consent(
    page: web::Page,
    web::CsrfForm(f): web::CsrfForm<ConsentForm>,
) -> AppResult<Response> {
    let student = web::parse_id::<PersonId>(&f.student)?;
    set_consent(&page.cx(), student, &f.scope).await?;
    Ok(web::redirect("/spaces/consent?done=consent_saved"))
}

/// The pages (the upload is among [`crate::upload_routes`]).
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/spaces/photos/{id}", get(photo))
        .route("/spaces/consent", get(consent_page).post(save_consent))
}
