//! People pages: search a subtree, create (showing the initial password once), view (masked,
//! with an audited reveal), edit, deactivate, reset password, assign and remove roles.

use crate::model::{Node, PersonRow};
use crate::nodes;
use crate::people::{self, NewPerson, PersonDetail, PersonInput, SearchQuery};
use crate::roles::{self, NewGrant};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, FieldErrors, NodeId, PersonId, RoleId};
use serde::Deserialize;
use standards::subjects::{subject_name, subjects};
use web::parse_id;
use web::{CsrfForm, IdPath, Page, PageCtx, render};

#[derive(Template)]
#[template(path = "people_list.html")]
struct ListPage {
    ctx: PageCtx,
    scope: Node,
    q: String,
    role: String,
    include_inactive: bool,
    sort: String,
    result: Paged<PersonRow>,
    roles: Vec<&'static str>,
}

impl ListPage {
    fn link(&self, page: u32, sort: &str) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        format!(
            "/admin/people?node={}&q={}&role={}&sort={}&include_inactive={}&page={page}",
            self.scope.id,
            enc(&self.q),
            enc(&self.role),
            sort,
            self.include_inactive
        )
    }
    fn gender(&self, g: &str) -> String {
        self.ctx.t(&format!("gender.{g}")).to_owned()
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    node: Option<String>,
    q: Option<String>,
    role: Option<String>,
    sort: Option<String>,
    include_inactive: Option<bool>,
    page: Option<u32>,
}

pub async fn list(page: Page, Query(lq): Query<ListQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node = match lq.node.as_deref().filter(|s| !s.is_empty()) {
        Some(n) => Some(parse_id::<NodeId>(n)?),
        None => None,
    };
    let sq = SearchQuery {
        node,
        q: lq.q.clone(),
        role: lq.role.clone().filter(|r| !r.is_empty()),
        include_inactive: lq.include_inactive,
        sort: lq.sort.clone(),
    };
    let result = people::search(
        &cx,
        &sq,
        &PageQuery {
            page: lq.page,
            per_page: Some(30),
        },
    )
    .await?;
    let scope_id = match node {
        Some(n) => n,
        None => *session
            .actor
            .admin_nodes()
            .first()
            .ok_or(AppError::Forbidden)?,
    };
    let scope = nodes::get(&cx, scope_id).await?;
    let page = ListPage {
        ctx: page.ctx(),
        scope,
        q: lq.q.unwrap_or_default(),
        role: lq.role.unwrap_or_default(),
        include_inactive: lq.include_inactive.unwrap_or(false),
        sort: lq.sort.unwrap_or_else(|| "name".into()),
        result,
        roles: kernel::Role::ALL.iter().map(|r| r.as_str()).collect(),
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "person_form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    person_id: Option<PersonId>,
    org: Node,
    form: PersonForm,
    errors: FieldErrors,
    subjects: Vec<(String, String)>,
    classes: Vec<Node>,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    staff_no: String,
    #[serde(default)]
    registry_no: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    role_node: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    student_registry_no: String,
    #[serde(default)]
    relation: String,
}

impl PersonForm {
    fn fields(&self) -> PersonInput {
        let o = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        PersonInput {
            name: self.name.clone(),
            gender: o(&self.gender),
            id_number: o(&self.id_number),
            phone: o(&self.phone),
            email: o(&self.email),
            staff_no: o(&self.staff_no),
            registry_no: o(&self.registry_no),
        }
    }
}

/// Classes of a school, for the role picker.
async fn classes_of(db: &kernel::Db, org: &Node) -> AppResult<Vec<Node>> {
    if org.kind.as_str() != "school" {
        return Ok(Vec::new());
    }
    Ok(kernel::on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.kind, c.parent_id, g.name || ' ' || c.name AS name, c.code, c.school_type, c.stages, c.grade_code,
                c.entry_year, c.school_id, c.active, c.created_at, c.updated_at
         FROM org_nodes c JOIN org_nodes g ON g.id = c.parent_id
         WHERE c.school_id = $1 AND c.kind = 'class' AND c.active = TRUE ORDER BY g.stages, g.grade_code, c.name",
    ).bind(org.id).fetch_all(p).await)?)
}

#[derive(Deserialize)]
pub struct NewQuery {
    node: Option<String>,
}

pub async fn new_form(page: Page, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let org_id = match q.node.as_deref() {
        Some(n) => parse_id::<NodeId>(n)?,
        None => *session
            .actor
            .admin_nodes()
            .first()
            .ok_or(AppError::Forbidden)?,
    };
    let org = nodes::get(&cx, org_id).await?;
    kernel::authz::require(cx.db(), cx.actor, kernel::Permission::ManagePeople, org_id).await?;
    let classes = classes_of(cx.db(), &org).await?;
    let form = PersonForm {
        org_id: org_id.to_string(),
        gender: "1".into(),
        ..Default::default()
    };
    Ok(render(&FormPage {
        ctx: page.ctx(),
        person_id: None,
        org,
        form,
        errors: FieldErrors::new(),
        subjects: subjects(),
        classes,
    }))
}

#[derive(Template)]
#[template(path = "person_created.html")]
struct CreatedPage {
    ctx: PageCtx,
    person_id: PersonId,
    name: String,
    username: String,
    password: String,
}

pub async fn create(page: Page, CsrfForm(form): CsrfForm<PersonForm>) -> AppResult<Response> {
    let cx = page.cx();
    let org_id: NodeId = parse_id(&form.org_id)?;
    let role = (!form.role.is_empty()).then(|| NewGrant {
        role: form.role.clone(),
        node_id: form.role_node.parse().ok(),
        subject: Some(form.subject.clone()),
        student_id: None,
        student_registry_no: Some(form.student_registry_no.clone()),
        relation: Some(form.relation.clone()),
    });
    let input = NewPerson {
        org_id,
        fields: form.fields(),
        username: Some(form.username.clone()),
        role,
    };
    match people::create(&cx, input).await {
        Ok(created) => {
            let page = CreatedPage {
                ctx: page.ctx(),
                person_id: created.person.id,
                name: created.person.name,
                username: created.username,
                password: created.initial_password,
            };
            Ok((StatusCode::CREATED, render(&page)).into_response())
        }
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) if !errors.is_empty() => {
            let org = nodes::get(&cx, org_id).await?;
            let classes = classes_of(cx.db(), &org).await?;
            let page = FormPage {
                ctx: page.ctx(),
                person_id: None,
                org,
                form,
                errors,
                subjects: subjects(),
                classes,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    ctx: PageCtx,
    d: PersonDetail,
    errors: FieldErrors,
    subjects: Vec<(String, String)>,
    classes: Vec<Node>,
    new_password: Option<String>,
}

impl PersonPage {
    fn subject(&self, code: &Option<String>) -> String {
        code.as_deref().map(subject_name).unwrap_or_default()
    }
    fn relation(&self, code: &str) -> String {
        crate::codes::name(crate::codes::Table::FamilyRelation, code)
            .unwrap_or(code)
            .to_owned()
    }
    /// The roles a new grant may have, the likeliest for this person first: a student's is
    /// 学生, a guardian's 监护人, staff's 任课教师.
    fn role_choices(&self) -> Vec<&'static str> {
        let has = |r: &str| self.d.roles.iter().any(|g| g.role == r);
        let first = if self.d.person.registry_no.is_some() || has("student") {
            "student"
        } else if has("guardian") {
            "guardian"
        } else {
            "teacher"
        };
        let mut all = vec!["teacher", "head_teacher", "student", "guardian", "admin"];
        all.retain(|r| *r != first);
        all.insert(0, first);
        all
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    reveal: Option<bool>,
    done: Option<String>,
}

async fn person_page(
    page: &Page,
    id: PersonId,
    reveal: bool,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<PersonPage> {
    let cx = page.cx();
    let d = people::detail(&cx, id, reveal).await?;
    let classes = if d.may_manage {
        match nodes::find(cx.db(), d.person.org_id).await? {
            Some(org) => classes_of(cx.db(), &org).await?,
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    Ok(PersonPage {
        ctx: page.ctx().with_notice(done),
        d,
        errors,
        subjects: subjects(),
        classes,
        new_password: None,
    })
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let page = person_page(
        &page,
        id,
        q.reveal.unwrap_or(false),
        FieldErrors::new(),
        q.done.as_deref(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn edit_form(page: Page, IdPath(id): IdPath<PersonId>) -> AppResult<Response> {
    let cx = page.cx();
    // Editing shows the full data, so it counts (and is audited) as a reveal.
    let d = people::detail(&cx, id, true).await?;
    if !d.may_manage {
        return Err(AppError::Forbidden);
    }
    let p = &d.person;
    let form = PersonForm {
        name: p.name.clone(),
        gender: p.gender.clone(),
        id_number: p.id_number.clone().unwrap_or_default(),
        phone: p.phone.clone().unwrap_or_default(),
        email: p.email.clone().unwrap_or_default(),
        staff_no: p.staff_no.clone().unwrap_or_default(),
        registry_no: p.registry_no.clone().unwrap_or_default(),
        ..Default::default()
    };
    let org = nodes::get(&cx, p.org_id).await?;
    Ok(render(&FormPage {
        ctx: page.ctx(),
        person_id: Some(id),
        org,
        form,
        errors: FieldErrors::new(),
        subjects: Vec::new(),
        classes: Vec::new(),
    }))
}

pub async fn update(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(form): CsrfForm<PersonForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    match people::update(&cx, id, form.fields()).await {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}?done=saved")).into_response()),
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) if !errors.is_empty() => {
            let person = people::get_visible(&cx, id).await?;
            let org = nodes::get(&cx, person.org_id).await?;
            let page = FormPage {
                ctx: page.ctx(),
                person_id: Some(id),
                org,
                form,
                errors,
                subjects: Vec::new(),
                classes: Vec::new(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn deactivate(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    people::set_active(&page.cx(), id, false).await?;
    Ok(Redirect::to(&format!("/people/{id}?done=deactivated")).into_response())
}

pub async fn reactivate(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    people::set_active(&page.cx(), id, true).await?;
    Ok(Redirect::to(&format!("/people/{id}?done=reactivated")).into_response())
}

pub async fn reset_password(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let password = people::reset_password(&page.cx(), id).await?;
    let mut page =
        person_page(&page, id, false, FieldErrors::new(), Some("password_reset")).await?;
    page.new_password = Some(password);
    Ok(render(&page))
}

pub async fn end_sessions(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    people::end_sessions(&page.cx(), id).await?;
    Ok(Redirect::to(&format!("/people/{id}?done=person_sessions_ended")).into_response())
}

pub async fn reset_mfa(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    people::reset_mfa(&page.cx(), id).await?;
    Ok(Redirect::to(&format!("/people/{id}?done=person_mfa_reset")).into_response())
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    student_registry_no: String,
    #[serde(default)]
    relation: String,
}

pub async fn add_role(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(f): CsrfForm<RoleForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    // Admin roles name their node by code (a region's division code or a school code).
    let node_id = match f.node_id.trim() {
        "" => None,
        s => match s.parse::<NodeId>() {
            Ok(n) => Some(n),
            Err(_) => nodes::find_by_code(&cx, s).await?.map(|n| n.id),
        },
    };
    let grant = NewGrant {
        role: f.role,
        node_id,
        subject: Some(f.subject),
        student_id: None,
        student_registry_no: Some(f.student_registry_no),
        relation: Some(f.relation),
    };
    match roles::assign(&cx, id, grant).await {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}?done=role_added")).into_response()),
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) if !errors.is_empty() => {
            let page = person_page(&page, id, false, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn remove_role(
    page: Page,
    Path((id, role)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let id: PersonId = parse_id(&id)?;
    let role: RoleId = parse_id(&role)?;
    roles::remove(&page.cx(), id, role).await?;
    Ok(Redirect::to(&format!("/people/{id}?done=role_removed")).into_response())
}
