//! A test on paper: printed for a class without devices, and its marks typed back a row per
//! student.

use super::*;

/// One item on the printed paper.
pub struct PaperItem {
    pub part: Part,
    pub stem: String,
    pub choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "assignments/paper.html")]
struct PaperPage {
    ctx: PageCtx,
    a: Assignment,
    school: String,
    items: Vec<PaperItem>,
}

impl PaperPage {
    fn letter(&self, i: &usize) -> char {
        char::from(b'A' + u8::try_from(*i).unwrap_or(0))
    }
}

pub(super) async fn paper(page: Page, IdPath(id): IdPath<AssignmentId>) -> AppResult<Response> {
    let cx = page.cx();
    let (a, _) = crate::assignments::get(&cx, id).await?;
    let items = crate::assignments::parts(cx.db(), id)
        .await?
        .into_iter()
        .map(|p| PaperItem {
            stem: crate::items::math::render(&p.stem),
            choices: p
                .options()
                .choices
                .iter()
                .map(|c| crate::items::math::render(c))
                .collect(),
            part: p,
        })
        .collect();
    Ok(render(&PaperPage {
        ctx: page.ctx(),
        school: crate::label(cx.db(), a.school_id).await?,
        a,
        items,
    }))
}

#[derive(Deserialize)]
pub struct EntryQuery {
    class: Option<String>,
    done: Option<String>,
}

/// A student's row in the entry grid.
pub struct EntryRow {
    pub s: Submission,
    /// Per column: the cell's current points, and the seq of that mark (0: none).
    pub cells: Vec<(String, i64)>,
}

#[derive(Template)]
#[template(path = "assignments/entry.html")]
struct EntryPage {
    ctx: PageCtx,
    a: Assignment,
    /// The classes to choose from: (id, name), and the one shown.
    classes: Vec<(NodeId, String)>,
    class: NodeId,
    /// The columns: (position, number shown, full marks).
    columns: Vec<(i64, String, String)>,
    rows: Vec<EntryRow>,
    posted: Vec<(String, String)>,
    errors: FieldErrors,
}

impl EntryPage {
    fn value(&self, r: &EntryRow, i: &usize) -> String {
        let (pos, _, _) = &self.columns[*i];
        self.posted
            .iter()
            .find(|(k, _)| *k == format!("m.{}.{pos}", r.s.id))
            .map_or_else(|| r.cells[*i].0.clone(), |(_, v)| v.clone())
    }
    fn field(&self, r: &EntryRow, i: &usize) -> String {
        format!("m.{}.{}", r.s.id, self.columns[*i].0)
    }
    /// The seq the grid showed for a cell (kept as posted when the grid comes back).
    fn seen(&self, r: &EntryRow, i: &usize) -> String {
        let (pos, _, _) = &self.columns[*i];
        self.posted
            .iter()
            .find(|(k, _)| *k == format!("s.{}.{pos}", r.s.id))
            .map_or_else(|| r.cells[*i].1.to_string(), |(_, v)| v.clone())
    }
    fn seen_field(&self, r: &EntryRow, i: &usize) -> String {
        format!("s.{}.{}", r.s.id, self.columns[*i].0)
    }
    fn label(&self, i: &usize) -> &str {
        &self.columns[*i].1
    }
}

pub(super) async fn entry_page(
    page: &Page,
    id: AssignmentId,
    class: Option<NodeId>,
    posted: Vec<(String, String)>,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let a = crate::assignments::get_graded(&cx, id).await?;
    let graded = crate::assignments::graded_classes(&cx, &a).await?;
    let class = class
        .filter(|c| graded.contains(c))
        .or(graded.first().copied())
        .ok_or(AppError::NotFound(crate::assignments::NOT_FOUND))?;
    let mut classes = Vec::new();
    for c in &graded {
        classes.push((*c, crate::label(cx.db(), *c).await?));
    }
    let parts = crate::assignments::parts(cx.db(), id).await?;
    let columns: Vec<(i64, String, String)> = if parts.is_empty() {
        vec![(
            WHOLE,
            page.ctx().t("assignments.whole").to_owned(),
            a.total_text(),
        )]
    } else {
        parts
            .iter()
            .enumerate()
            .map(|(n, p)| (p.position, (n + 1).to_string(), p.points_text()))
            .collect()
    };
    let mut rows = Vec::new();
    for s in crate::assignments::visible_submissions(&cx, &a, Access::Grade)
        .await?
        .into_iter()
        .filter(|s| s.class_id == class)
    {
        let latest = grade::history(cx.db(), s.id).await?;
        let latest = grade::latest(&latest);
        let cells = columns
            .iter()
            .map(|(pos, _, _)| {
                latest
                    .iter()
                    .find(|m| m.position == *pos)
                    .map(|m| (m.points_text(), m.seq))
                    .unwrap_or_default()
            })
            .collect();
        rows.push(EntryRow { s, cells });
    }
    Ok(render(&EntryPage {
        ctx: page.ctx().with_notice(done),
        a,
        classes,
        class,
        columns,
        rows,
        posted,
        errors,
    }))
}

pub(super) async fn entry(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    Query(q): Query<EntryQuery>,
) -> AppResult<Response> {
    let class = q.class.as_deref().and_then(|c| c.parse().ok());
    entry_page(
        &page,
        id,
        class,
        Vec::new(),
        FieldErrors::new(),
        q.done.as_deref(),
    )
    .await
}

/// `POST /teaching/assignments/{id}/entry`: the grid's cells `m.{submission}.{position}`.
pub(super) async fn save_entry(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let class: Option<NodeId> = pairs
        .iter()
        .find(|(k, _)| k == "class")
        .and_then(|(_, v)| v.parse().ok());
    let mut rows: Vec<grade::EntryRow> = Vec::new();
    for (k, v) in &pairs {
        let Some(rest) = k.strip_prefix("m.") else {
            continue;
        };
        let Some((sub, pos)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(sub), Ok(pos)) = (sub.parse::<SubmissionId>(), pos.parse::<i64>()) else {
            continue;
        };
        let seen = crate::assignments::field(&pairs, &format!("s.{sub}.{pos}"))
            .parse()
            .ok();
        match rows.iter_mut().find(|r| r.0 == sub) {
            Some(r) => r.1.push((pos, v.clone(), seen)),
            None => rows.push((sub, vec![(pos, v.clone(), seen)])),
        }
    }
    match grade::enter(&cx, id, &rows).await {
        Ok(_) => Ok(redirect(&format!(
            "/teaching/assignments/{id}/entry?class={}&done=entered",
            class.map(|c| c.to_string()).unwrap_or_default()
        ))),
        Err(AppError::Invalid(e)) => entry_page(&page, id, class, pairs, e, None).await,
        Err(e) => Err(e),
    }
}
