//! Checks of a resource's fields: title, description, kind, tags and catalogue nodes.

use crate::model::Kind;
use kernel::{Actor, AppResult, CatalogId, Db, FieldErrors};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5000;
pub const TAGS_MAX: usize = 10;
pub const TAG_MAX: usize = 20;
pub const NODES_MAX: usize = 10;

/// Tags typed into one box: separated by commas (also 中文 ，、；), semicolons or spaces.
pub fn parse_tags(s: &str) -> Vec<String> {
    s.split(|c: char| matches!(c, ',' | '，' | '、' | ';' | '；') || c.is_whitespace())
        .map(str::to_owned)
        .collect()
}

/// The tags trimmed, without empties and duplicates (first spelling kept).
pub fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// The title, description, kind and tags, checked; each problem is a field error.
pub fn check_text(
    errors: &mut FieldErrors,
    title: &str,
    description: &str,
    kind: &str,
    tags: &[String],
) -> Option<Kind> {
    let title = title.trim();
    if title.is_empty() {
        errors.add("title", "error.resources.title_required");
    } else if title.chars().count() > TITLE_MAX {
        errors.add("title", "error.resources.title_too_long");
    }
    if description.chars().count() > DESCRIPTION_MAX {
        errors.add("description", "error.resources.description_too_long");
    }
    let kind = Kind::parse(kind.trim());
    if kind.is_none() {
        errors.add("kind", "error.resources.kind_invalid");
    }
    if tags.len() > TAGS_MAX
        || tags
            .iter()
            .any(|t| t.chars().count() > TAG_MAX || t.contains('\n'))
    {
        errors.add("tags", "error.resources.tags_invalid");
    }
    kind
}

/// The catalogue nodes without duplicates; each must exist, be active and belong to a catalogue
/// the actor uses. Problems are errors on the field `catalog_ids`.
pub async fn check_nodes(
    db: &Db,
    actor: &Actor,
    errors: &mut FieldErrors,
    ids: &[CatalogId],
) -> AppResult<Vec<CatalogId>> {
    let mut out: Vec<CatalogId> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    if out.is_empty() {
        errors.add("catalog_ids", "error.resources.nodes_required");
        return Ok(out);
    }
    if out.len() > NODES_MAX {
        errors.add("catalog_ids", "error.resources.nodes_too_many");
        return Ok(out);
    }
    for id in &out {
        if !node_visible(db, actor, *id).await? {
            errors.add("catalog_ids", "error.resources.node_not_found");
            break;
        }
    }
    Ok(out)
}

/// Whether a catalogue node exists, is active and is in a catalogue the actor uses
/// ([`crate::catalog::regions_for`]).
pub async fn node_visible(db: &Db, actor: &Actor, id: CatalogId) -> AppResult<bool> {
    Ok(match crate::catalog::find(db, id).await? {
        Some(node) => node.active && crate::catalog::tree::is_visible_to(db, actor, &node).await?,
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_chinese_and_latin_separators() {
        let t = clean_tags(&parse_tags("分数, 通分，约分、 分数  ;练习"));
        assert_eq!(t, vec!["分数", "通分", "约分", "练习"]);
    }

    #[test]
    fn text_checks_name_each_field() {
        let mut e = FieldErrors::new();
        let long = "字".repeat(TITLE_MAX + 1);
        let kind = check_text(&mut e, &long, "", "poster", &["x".repeat(TAG_MAX + 1)]);
        assert!(kind.is_none());
        assert_eq!(e.get("title"), Some("error.resources.title_too_long"));
        assert_eq!(e.get("kind"), Some("error.resources.kind_invalid"));
        assert_eq!(e.get("tags"), Some("error.resources.tags_invalid"));
        let mut ok = FieldErrors::new();
        assert_eq!(
            check_text(&mut ok, "《秋天》教案", "", "lesson_plan", &[]),
            Some(Kind::LessonPlan)
        );
        assert!(ok.is_empty());
    }
}
