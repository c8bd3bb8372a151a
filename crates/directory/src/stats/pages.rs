//! A node's statistics page.

use crate::model::Node;
use crate::nodes;
use crate::stats::{self, Count, NodeStats};
use askama::Template;
use axum::response::Response;
use kernel::{AppResult, NodeId};
use web::{IdPath, Page, PageCtx, render};

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    ctx: PageCtx,
    node: Node,
    s: NodeStats,
}

impl StatsPage {
    fn pct(&self, part: &i64, whole: &i64) -> String {
        if *whole == 0 {
            "—".into()
        } else {
            format!("{:.1}%", *part as f64 * 100.0 / *whole as f64)
        }
    }
    fn breakdowns(&self) -> [(&'static str, &Vec<Count>); 3] {
        [
            ("stats.by_gender", &self.s.by_gender),
            ("stats.by_ethnicity", &self.s.by_ethnicity),
            ("stats.by_category", &self.s.by_category),
        ]
    }
}

pub async fn show(page: Page, IdPath(id): IdPath<NodeId>) -> AppResult<Response> {
    let cx = page.cx();
    let s = stats::of_node(&cx, id).await?;
    let node = nodes::get(&cx, id).await?;
    Ok(render(&StatsPage {
        ctx: page.ctx(),
        node,
        s,
    }))
}
