//! The spaces' pages: my spaces (open mine; the class's and school's; an administrator's bulk
//! opening and rates), a space with its columns, a column with its posts and the form, a post
//! with its comments.

use super::live::{self, Item};
use super::model::Kind;
use super::posts::{self, Comment, NewPost, Post};
use super::{Column, Space, access, open};
use crate::scope;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use chrono::NaiveDate;
use kernel::{AppError, AppResult, ColumnId, Ctx, FieldErrors, NodeId, PostId, Role, SpaceId};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// A space in a list, with what it is to the viewer.
pub struct Entry {
    pub space: Option<Space>,
    /// The kind's name key and the owner's label.
    pub kind: Kind,
    pub label: String,
    /// The node whose space this is, when it can be opened from here.
    pub node: Option<NodeId>,
}

#[derive(Template)]
#[template(path = "space/mine.html")]
struct MinePage {
    ctx: PageCtx,
    own: Vec<Entry>,
    missing_own: bool,
    others: Vec<Entry>,
    admin: Vec<(NodeId, String)>,
    /// The regions the viewer administers (their word lists).
    regions: Vec<(NodeId, String)>,
    /// The schools the viewer administers (their teaching routine check).
    schools: Vec<(NodeId, String)>,
    /// A guardian decides how far their children may be shown.
    guardian: bool,
}

async fn node_entry(cx: &Ctx<'_>, node: NodeId, kind: Kind, may_open: bool) -> AppResult<Entry> {
    let space = super::of_node(cx.db(), node).await?;
    Ok(Entry {
        node: (space.is_none() && may_open).then_some(node),
        space,
        kind,
        label: scope::label(cx.db(), node).await?.unwrap_or_default(),
    })
}

pub async fn mine(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let cx = page.cx();
    let a = cx.actor;
    let mut own = Vec::new();
    let mut missing_own = false;
    for kind in open::own_kinds(a) {
        let space = super::of_person(cx.db(), a.person_id, kind).await?;
        missing_own |= space.is_none();
        own.push(Entry {
            space,
            kind,
            label: a.name.clone(),
            node: None,
        });
    }
    let mut others = Vec::new();
    let mut seen: Vec<NodeId> = Vec::new();
    let mut classes: Vec<(NodeId, bool)> = a
        .grants
        .iter()
        .filter(|g| {
            g.node_kind == "class"
                && matches!(g.role, Role::Teacher | Role::HeadTeacher | Role::Student)
        })
        .map(|g| (g.node_id, scope::heads(a, g.node_id)))
        .collect();
    for c in scope::children(&cx).await? {
        classes.push((c.class_id, false));
        if let Some(s) = super::of_person(cx.db(), c.student_id, Kind::Student).await? {
            others.push(Entry {
                space: Some(s),
                kind: Kind::Student,
                label: c.name,
                node: None,
            });
        }
    }
    for (class, heads) in classes {
        if seen.contains(&class) {
            continue;
        }
        seen.push(class);
        others.push(node_entry(&cx, class, Kind::Class, heads).await?);
        if let Some((_, school)) = class_school(&cx, class).await?
            && !seen.contains(&school)
        {
            seen.push(school);
            let e = node_entry(&cx, school, Kind::School, false).await?;
            if e.space.is_some() {
                others.push(e);
            }
        }
    }
    let mut admin = Vec::new();
    for node in a.admin_nodes() {
        admin.push((node, scope::label(cx.db(), node).await?.unwrap_or_default()));
        if !seen.contains(&node) {
            seen.push(node);
            let kind = if a
                .grants_of(Role::Admin)
                .any(|g| g.node_id == node && g.node_kind == "school")
            {
                Kind::School
            } else {
                Kind::Region
            };
            others.push(node_entry(&cx, node, kind, true).await?);
        }
    }
    let regions = a
        .grants_of(Role::Admin)
        .filter(|g| matches!(g.node_kind.as_str(), "province" | "city" | "district"))
        .filter_map(|g| admin.iter().find(|(n, _)| *n == g.node_id).cloned())
        .collect();
    let schools = a
        .grants_of(Role::Admin)
        .filter(|g| g.node_kind == "school")
        .filter_map(|g| admin.iter().find(|(n, _)| *n == g.node_id).cloned())
        .collect();
    Ok(render(&MinePage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        own,
        missing_own,
        others,
        admin,
        regions,
        schools,
        guardian: page.session.actor.has_role(Role::Guardian),
    }))
}

async fn class_school(cx: &Ctx<'_>, class: NodeId) -> AppResult<Option<(NodeId, NodeId)>> {
    Ok(directory::nodes::find(cx.db(), class)
        .await?
        .and_then(|n| n.school_id.map(|s| (class, s))))
}

pub async fn open_mine(page: Page, CsrfForm(_): CsrfForm<CsrfToken>) -> AppResult<Response> {
    open::open_mine(&page.cx()).await?;
    Ok(redirect("/spaces?done=space_opened"))
}

#[derive(Deserialize)]
pub struct OpenForm {
    /// `self` (the node's own space) or `all` (everything below, people included).
    #[serde(default)]
    scope: String,
}

pub async fn open_node(
    page: Page,
    IdPath(node): IdPath<NodeId>,
    CsrfForm(f): CsrfForm<OpenForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    if f.scope == "all" {
        open::open_all(&cx, node, &[Kind::Teacher, Kind::Student, Kind::Guardian]).await?;
        Ok(redirect(&format!("/spaces/rates/{node}")))
    } else {
        let id = open::open_node(&cx, node).await?;
        Ok(redirect(&format!("/spaces/{id}?done=space_opened")))
    }
}

/// A column on the space's page: its latest posts or live items.
pub struct Shown {
    pub column: Column,
    pub posts: Vec<Post>,
    pub items: Vec<Item>,
}

#[derive(Template)]
#[template(path = "space/show.html")]
struct ShowPage {
    ctx: PageCtx,
    space: Space,
    columns: Vec<Shown>,
    owner: bool,
    /// Excellent-space titles won: (selection, its title, organiser, school year).
    awards: Vec<(crate::awards::AwardId, String, String, i64)>,
}

impl ShowPage {
    fn column_title(&self, c: &Column) -> String {
        column_title(&self.ctx, c)
    }
}

pub fn column_title(ctx: &PageCtx, c: &Column) -> String {
    match &c.key {
        Some(k) => ctx.t(&format!("space.column.{k}")).to_owned(),
        None => c.title.clone(),
    }
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<SpaceId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    let cx = page.cx();
    let space = super::get(&cx, id).await?;
    posts::visit(&cx, &space).await?;
    let readable = access::readable(&cx, &space).await?;
    let mut columns = Vec::new();
    for column in super::columns_readable(&cx, &space, &readable).await? {
        let (posts, items) = if column.content == "posts" {
            (posts::list(&cx, &column, &readable, 3).await?, Vec::new())
        } else {
            (Vec::new(), live::items(&cx, &space, &column, 5).await?)
        };
        columns.push(Shown {
            column,
            posts,
            items,
        });
    }
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        owner: access::owns(&cx, &space).await?,
        awards: crate::awards::won(cx.db(), space.id).await?,
        space,
        columns,
    }))
}

#[derive(Template)]
#[template(path = "space/column.html")]
struct ColumnPage {
    ctx: PageCtx,
    space: Space,
    column: Column,
    title: String,
    posts: Vec<Post>,
    items: Vec<Item>,
    may_post: bool,
    categories: &'static [&'static str],
    visibilities: Vec<&'static str>,
    errors: FieldErrors,
    draft: Draft,
}

#[derive(Default)]
struct Draft {
    title: String,
    body: String,
    visibility: String,
    category: String,
    occurred_on: String,
}

#[derive(Deserialize)]
pub struct ColumnPath {
    id: String,
    column: String,
}

async fn column_page(
    page: &Page,
    id: SpaceId,
    column: ColumnId,
    errors: FieldErrors,
    draft: Option<Draft>,
) -> AppResult<Response> {
    let cx = page.cx();
    let space = super::get(&cx, id).await?;
    let readable = access::readable(&cx, &space).await?;
    let column = super::columns_readable(&cx, &space, &readable)
        .await?
        .into_iter()
        .find(|c| c.id == column)
        .ok_or(AppError::NotFound("spaces.column_not_found"))?;
    let (posts, items) = if column.content == "posts" {
        (posts::list(&cx, &column, &readable, 100).await?, Vec::new())
    } else {
        (Vec::new(), live::items(&cx, &space, &column, 50).await?)
    };
    let may_post =
        column.content == "posts" && access::may_post(&cx, &space, column.key.as_deref()).await?;
    let kind = space.kind();
    let mut visibilities: Vec<&'static str> = super::Visibility::ALL
        .iter()
        .filter(|v| v.for_kind(kind) == **v)
        .map(|v| v.as_str())
        .collect();
    visibilities.dedup();
    let ctx = page.ctx();
    Ok(render(&ColumnPage {
        title: column_title(&ctx, &column),
        ctx,
        categories: posts::categories(&space, &column),
        draft: draft.unwrap_or(Draft {
            visibility: column.visibility.clone(),
            ..Draft::default()
        }),
        space,
        column,
        posts,
        items,
        may_post,
        visibilities,
        errors,
    }))
}

fn ids(p: &ColumnPath) -> AppResult<(SpaceId, ColumnId)> {
    let s = web::parse_id::<SpaceId>(&p.id)?;
    let c = web::parse_id::<ColumnId>(&p.column)
        .map_err(|_| AppError::NotFound("spaces.column_not_found"))?;
    Ok((s, c))
}

pub async fn column(
    page: Page,
    axum::extract::Path(p): axum::extract::Path<ColumnPath>,
) -> AppResult<Response> {
    let (id, column) = ids(&p)?;
    column_page(&page, id, column, FieldErrors::new(), None).await
}

#[derive(Deserialize)]
pub struct PostForm {
    title: String,
    body: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    occurred_on: String,
}

pub async fn create_post(
    page: Page,
    axum::extract::Path(p): axum::extract::Path<ColumnPath>,
    CsrfForm(f): CsrfForm<PostForm>,
) -> AppResult<Response> {
    let (id, column_id) = ids(&p)?;
    let cx = page.cx();
    let space = super::get(&cx, id).await?;
    let column = super::column(&cx, &space, column_id).await?;
    let occurred_on = match f.occurred_on.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::field("occurred_on", "space.error.date")),
    };
    let result = match occurred_on {
        Ok(occurred_on) => {
            posts::create(
                &cx,
                &space,
                &column,
                NewPost {
                    title: f.title.clone(),
                    body: f.body.clone(),
                    visibility: Some(f.visibility.clone()),
                    category: Some(f.category.clone()),
                    occurred_on,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(post) => Ok(redirect(&format!("/spaces/posts/{post}?done=space_posted"))),
        Err(AppError::Invalid(errors)) => {
            let draft = Draft {
                title: f.title,
                body: f.body,
                visibility: f.visibility,
                category: f.category,
                occurred_on: f.occurred_on,
            };
            column_page(&page, id, column_id, errors, Some(draft)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "space/post.html")]
struct PostPage {
    ctx: PageCtx,
    space: Space,
    column_title: String,
    post: Post,
    comments: Vec<Comment>,
    may_comment: bool,
    /// The photos the viewer may see.
    photos: Vec<crate::photos::Photo>,
    /// The author adds photos; in a class's space they tag the class's students shown.
    author: bool,
    students: Vec<(kernel::PersonId, String)>,
    /// The post is read beyond the class (children's consent applies).
    beyond_class: bool,
    errors: FieldErrors,
}

pub async fn post_page(
    page: &Page,
    id: PostId,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (space, column, post) = posts::get(&cx, id).await?;
    let ctx = page.ctx().with_notice(done);
    let author = post.author_id == cx.actor.person_id;
    let students = if author && space.kind() == Kind::Class {
        crate::scope::students(cx.db(), space.node_id).await?
    } else {
        Vec::new()
    };
    Ok(render(&PostPage {
        column_title: column_title(&ctx, &column),
        ctx,
        comments: posts::comments(&cx, id).await?,
        may_comment: access::may_comment(&cx, &space).await?,
        photos: crate::photos::visible(&cx, &space, &post).await?,
        beyond_class: matches!(post.visibility.as_str(), "school" | "region"),
        author,
        students,
        space,
        post,
        errors,
    }))
}

pub async fn post(
    page: Page,
    IdPath(id): IdPath<PostId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    post_page(&page, id, FieldErrors::new(), q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
}

pub async fn comment(
    page: Page,
    IdPath(id): IdPath<PostId>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> AppResult<Response> {
    match posts::comment(&page.cx(), id, &f.body).await {
        Ok(_) => Ok(redirect(&format!(
            "/spaces/posts/{id}?done=space_commented#comments"
        ))),
        Err(AppError::Invalid(errors)) => post_page(&page, id, errors, None).await,
        Err(e) => Err(e),
    }
}
