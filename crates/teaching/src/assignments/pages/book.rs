//! The gradebook with its weights and XLSX export, and a region's homework-load limits.

use super::*;

#[derive(Deserialize)]
pub struct BookQuery {
    class: Option<String>,
    subject: Option<String>,
    term: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "assignments/gradebook.html")]
struct BookPage {
    ctx: PageCtx,
    b: gradebook::Book,
    terms: Vec<(String, String)>,
    categories: [&'static str; 3],
    errors: FieldErrors,
}

impl BookPage {
    fn cell(&self, s: &Option<Submission>) -> String {
        match s {
            None => "—".to_owned(),
            Some(s) if s.graded() => s.score_text(),
            Some(s) if s.submitted_at.is_some() => self.ctx.t("assignments.cell_waits").to_owned(),
            Some(_) => self.ctx.t("assignments.cell_missing").to_owned(),
        }
    }
    fn query(&self) -> String {
        format!(
            "class={}&subject={}&term={}",
            self.b.class_id, self.b.subject, self.b.term
        )
    }
}

pub(super) async fn book_args(cx: &Ctx<'_>, q: &BookQuery) -> AppResult<(NodeId, String, String)> {
    let class: NodeId = q
        .class
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or(AppError::NotFound("teaching.class_not_found"))?;
    let subject = q.subject.clone().unwrap_or_default();
    let term = match &q.term {
        Some(t) => t.clone(),
        None => match directory::nodes::find(cx.db(), class)
            .await?
            .and_then(|n| n.school_id)
        {
            Some(school) => set::term_of(cx.db(), school, cx.today())
                .await?
                .map(|t| t.to_string())
                .unwrap_or_default(),
            None => String::new(),
        },
    };
    Ok((class, subject, term))
}

pub(super) async fn book_page(
    page: &Page,
    q: &BookQuery,
    errors: FieldErrors,
) -> AppResult<Response> {
    let cx = page.cx();
    let (class, subject, term) = book_args(&cx, q).await?;
    let b = gradebook::book(&cx, class, &subject, &term).await?;
    let terms = gradebook::terms(cx.db(), class)
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    Ok(render(&BookPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        b,
        terms,
        categories: CATEGORIES,
        errors,
    }))
}

pub(super) async fn book(page: Page, Query(q): Query<BookQuery>) -> AppResult<Response> {
    book_page(&page, &q, FieldErrors::new()).await
}

#[derive(Deserialize)]
pub struct WeightsForm {
    class: String,
    subject: String,
    term: String,
    weight_homework: String,
    weight_quiz: String,
    weight_exam: String,
}

pub(super) async fn weights(page: Page, CsrfForm(f): CsrfForm<WeightsForm>) -> AppResult<Response> {
    let cx = page.cx();
    let class: NodeId = f
        .class
        .parse()
        .map_err(|_| AppError::NotFound("teaching.class_not_found"))?;
    let typed = [
        f.weight_homework.clone(),
        f.weight_quiz.clone(),
        f.weight_exam.clone(),
    ];
    let q = BookQuery {
        class: Some(f.class.clone()),
        subject: Some(f.subject.clone()),
        term: Some(f.term.clone()),
        done: None,
    };
    match gradebook::set_weights(&cx, class, &f.subject, &f.term, &typed).await {
        Ok(()) => Ok(redirect(&format!(
            "/teaching/gradebook?class={}&subject={}&term={}&done=weights_saved",
            f.class, f.subject, f.term
        ))),
        Err(AppError::Invalid(e)) => book_page(&page, &q, e).await,
        Err(e) => Err(e),
    }
}

pub(super) async fn export(page: Page, Query(q): Query<BookQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let (class, subject, term) = book_args(&cx, &q).await?;
    let b = gradebook::book(&cx, class, &subject, &term).await?;
    let ctx = page.ctx();
    let names = CATEGORIES.map(|c| ctx.t(&format!("assignments.category.{c}")).to_owned());
    let bytes = gradebook::xlsx(&b, &names, ctx.t("assignments.weighted"))?;
    let name = format!(
        "{} {} 成绩登记表.xlsx",
        b.class,
        resources::catalog::model::subject_name(&b.subject)
    );
    Ok(web::attachment(
        &name,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    ))
}

// ---------------------------------------------------------------------------------------------
// A region's homework-load limits.

#[derive(Deserialize)]
pub struct LimitsQuery {
    region: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "assignments/limits.html")]
struct LimitsPage {
    ctx: PageCtx,
    region: NodeId,
    label: String,
    grades: Vec<load::GradeLimit>,
    typed: Vec<(String, String)>,
    errors: FieldErrors,
}

impl LimitsPage {
    fn value(&self, g: &load::GradeLimit) -> String {
        let f = g.field();
        self.typed
            .iter()
            .find(|(k, _)| *k == f)
            .map_or_else(|| g.set_text(), |(_, v)| v.clone())
    }
}

pub(super) fn region_of(cx: &Ctx<'_>, q: Option<&str>) -> AppResult<NodeId> {
    match q.and_then(|r| r.parse().ok()) {
        Some(r) => Ok(r),
        None => cx
            .actor
            .grants_of(Role::Admin)
            .find(|g| matches!(g.node_kind.as_str(), "province" | "city" | "district"))
            .map(|g| g.node_id)
            .ok_or(AppError::Forbidden),
    }
}

pub(super) async fn limits_page(
    page: &Page,
    region: NodeId,
    typed: Vec<(String, String)>,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let grades = load::of_region(&cx, region).await?;
    Ok(render(&LimitsPage {
        ctx: page.ctx().with_notice(done),
        label: crate::label(cx.db(), region).await?,
        region,
        grades,
        typed,
        errors,
    }))
}

pub(super) async fn limits(page: Page, Query(q): Query<LimitsQuery>) -> AppResult<Response> {
    let region = region_of(&page.cx(), q.region.as_deref())?;
    limits_page(
        &page,
        region,
        Vec::new(),
        FieldErrors::new(),
        q.done.as_deref(),
    )
    .await
}

pub(super) async fn save_limits(
    page: Page,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let region_field = pairs
        .iter()
        .find(|(k, _)| k == "region")
        .map(|(_, v)| v.as_str());
    let region = region_of(&cx, region_field)?;
    match load::set_region(&cx, region, &pairs).await {
        Ok(()) => Ok(redirect(&format!(
            "/teaching/homework-limits?region={region}&done=limits_saved"
        ))),
        Err(AppError::Invalid(e)) => limits_page(&page, region, pairs, e, None).await,
        Err(e) => Err(e),
    }
}
