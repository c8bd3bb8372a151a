//! The columns whose content lives elsewhere and is shown as it is now: a class's notices and
//! homework notices, a teacher's resources in the library and the classes they teach, a
//! guardian's children's spaces. Each item links only where its viewer may follow.

use super::{Column, Kind, Space, of_person};
use chrono::{DateTime, Utc};
use kernel::{AppResult, Ctx, NodeId, NoticeId, PersonId, on_db};

#[derive(Debug, Clone)]
pub struct Item {
    pub title: String,
    pub link: Option<String>,
    pub when: Option<DateTime<Utc>>,
    pub note: String,
}

pub async fn items(
    cx: &Ctx<'_>,
    space: &Space,
    column: &Column,
    limit: i64,
) -> AppResult<Vec<Item>> {
    match column.content.as_str() {
        "notices" | "homework" => notices(cx, space.node_id, &column.content, limit).await,
        "library" => match space.person_id {
            Some(author) => library(cx, author, limit).await,
            None => Ok(Vec::new()),
        },
        "classes" => match space.person_id {
            Some(teacher) => classes(cx, teacher).await,
            None => Ok(Vec::new()),
        },
        "children" => match space.person_id {
            Some(guardian) => children(cx, guardian).await,
            None => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

async fn notices(cx: &Ctx<'_>, class: NodeId, kind: &str, limit: i64) -> AppResult<Vec<Item>> {
    let kind = if kind == "homework" {
        "homework"
    } else {
        "notice"
    };
    let rows: Vec<(NoticeId, String, DateTime<Utc>, PersonId, i64, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT n.id, n.title, n.created_at, n.sender_id,
                (SELECT COUNT(*) FROM notice_recipients r WHERE r.notice_id = n.id AND r.person_id = $3) AS mine,
                s.name
         FROM notices n JOIN persons s ON s.id = n.sender_id
         WHERE n.kind = $2 AND EXISTS (SELECT 1 FROM notice_targets t WHERE t.notice_id = n.id AND t.node_id = $1)
         ORDER BY n.created_at DESC LIMIT $4",
    ).bind(class).bind(kind).bind(cx.actor.person_id).bind(limit).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, title, when, sender, mine, name)| Item {
            link: (mine > 0 || sender == cx.actor.person_id).then(|| format!("/notices/{id}")),
            title,
            when: Some(when),
            note: name,
        })
        .collect())
}

async fn library(cx: &Ctx<'_>, author: PersonId, limit: i64) -> AppResult<Vec<Item>> {
    let page = kernel::paging::PageQuery {
        page: Some(1),
        per_page: Some(u32::try_from(limit).unwrap_or(10)),
    };
    let list = resources::library::listing::list(
        cx,
        &resources::library::listing::ListFilter {
            author: Some(author),
            ..Default::default()
        },
        &page,
    )
    .await?;
    Ok(list
        .items
        .into_iter()
        .map(|r| Item {
            link: Some(format!("/library/r/{}", r.resource.id)),
            title: r.resource.title,
            when: Some(r.resource.created_at),
            note: r.org_name,
        })
        .collect())
}

async fn classes(cx: &Ctx<'_>, teacher: PersonId) -> AppResult<Vec<Item>> {
    let rows: Vec<(NodeId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT DISTINCT r.node_id FROM role_assignments r JOIN org_nodes c ON c.id = r.node_id AND c.kind = 'class' AND c.active = TRUE
         WHERE r.person_id = $1 AND r.role IN ('teacher', 'head_teacher')",
    ).bind(teacher).fetch_all(p).await)?;
    let mut out = Vec::new();
    for (class,) in rows {
        let space = super::of_node(cx.db(), class).await?;
        out.push(Item {
            title: crate::scope::label(cx.db(), class)
                .await?
                .unwrap_or_default(),
            link: space.map(|s| format!("/spaces/{}", s.id)),
            when: None,
            note: String::new(),
        });
    }
    out.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(out)
}

async fn children(cx: &Ctx<'_>, guardian: PersonId) -> AppResult<Vec<Item>> {
    let rows: Vec<(PersonId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT s.id, s.name FROM role_assignments r JOIN persons s ON s.id = r.student_id AND s.active = TRUE
         WHERE r.person_id = $1 AND r.role = 'guardian' ORDER BY s.name",
    ).bind(guardian).fetch_all(p).await)?;
    let mut out = Vec::new();
    for (child, name) in rows {
        let space = of_person(cx.db(), child, Kind::Student).await?;
        out.push(Item {
            title: name,
            link: space.map(|s| format!("/spaces/{}", s.id)),
            when: None,
            note: String::new(),
        });
    }
    Ok(out)
}
