//! The home page's panel: what waits for this person today (unread notices, leave to decide or
//! in progress, unread messages) and the actions their role starts from.

use crate::leave::Leave;
use crate::notices::read::Received;
use askama::Template;
use kernel::{AppError, AppResult, AppState, Ctx, Role};
use web::{PageCtx, Session};

#[derive(Template)]
#[template(path = "home_panel.html")]
struct Panel {
    ctx: PageCtx,
    notices: Vec<Received>,
    unread_notices: i64,
    leave: Vec<Leave>,
    unread_messages: i64,
    alerts: Vec<kernel::notify::Notification>,
    unread_alerts: i64,
    guardian: bool,
    staff: bool,
    /// The classes the viewer heads (their guardian-binding pages).
    headed: Vec<(kernel::NodeId, String)>,
    /// Open themed activities waiting for the viewer's (or their child's) work.
    activities: Vec<crate::activities::Activity>,
}

pub async fn panel(state: &AppState, session: &Session) -> AppResult<Option<String>> {
    let meta = kernel::RequestMeta::cli();
    let cx = Ctx::new(state, &session.actor, &meta);
    let a = cx.actor;
    let guardian = a.has_role(Role::Guardian);
    let staff =
        a.has_role(Role::Teacher) || a.has_role(Role::HeadTeacher) || a.has_role(Role::Admin);
    if !(guardian || staff || a.has_role(Role::Student)) {
        return Ok(None);
    }
    let inbox = crate::notices::inbox(&cx, 5).await?;
    let leave: Vec<Leave> = crate::leave::mine(&cx, 5)
        .await?
        .into_iter()
        .filter(|l| l.state == "pending" || (guardian && l.ends_on >= cx.today()))
        .collect();
    let activities = if guardian || a.has_role(Role::Student) {
        crate::activities::to_do(&cx, 3).await?
    } else {
        Vec::new()
    };
    let mut headed = Vec::new();
    for g in a.grants_of(Role::HeadTeacher) {
        headed.push((
            g.node_id,
            crate::scope::label(cx.db(), g.node_id)
                .await?
                .unwrap_or_default(),
        ));
    }
    let panel = Panel {
        ctx: PageCtx::for_session(session),
        notices: inbox.received,
        unread_notices: inbox.unread,
        leave,
        unread_messages: crate::messages::unread(cx.db(), a.person_id).await?,
        alerts: kernel::notify::latest(cx.db(), a.person_id, 3).await?,
        unread_alerts: kernel::notify::unread(cx.db(), a.person_id).await?,
        guardian,
        staff,
        headed,
        activities,
    };
    Ok(Some(panel.render().map_err(AppError::internal)?))
}

impl Panel {
    fn text(&self, n: &kernel::notify::Notification) -> String {
        crate::notifications::text(self.ctx.locale, n)
    }
}
