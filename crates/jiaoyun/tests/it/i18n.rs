//! Every key the code and templates use exists in both catalogues, including the keys built at
//! run time from enums and error codes.

use kernel::i18n::has_key;
use std::path::Path;

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push(path);
        }
    }
}

/// String literals in the source that look like catalogue keys of a known section (audit
/// action names, which share some section names, are not keys).
fn literal_keys(text: &str, sections: &[String]) -> Vec<String> {
    let mut literals = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let before = &rest[..start];
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        if !before.ends_with("AuditEvent::new(") {
            literals.push(&after[..end]);
        }
        rest = &after[end + 1..];
    }
    literals
        .into_iter()
        .filter(|s| {
            let mut parts = s.split('.');
            let first = parts.next().unwrap_or("");
            s.contains('.')
                && sections.iter().any(|sec| sec == first)
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
                && !s.ends_with('.')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_key_in_use_is_translated() {
    kernel::i18n::register(&spaces::CATALOGUES);
    kernel::i18n::register(&teaching::CATALOGUES);
    let mut sections: Vec<String> = Vec::new();
    for c in kernel::i18n::registered() {
        let catalogue: toml::Table = toml::from_str(c.zh_cn).unwrap();
        sections.extend(catalogue.keys().cloned());
    }
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    files(&crates, &mut paths);
    assert!(paths.len() > 30, "found the sources");
    let mut missing = Vec::new();
    let mut checked = 0;
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        for key in literal_keys(&text, &sections) {
            // File names and module paths that happen to look like keys, and the kinds of
            // facts in the fact record.
            if [".html", ".rs", ".csv", ".xlsx"]
                .iter()
                .any(|ext| key.ends_with(ext))
                || spaces::FACT_KINDS.contains(&key.as_str())
                || teaching::FACT_KINDS.contains(&key.as_str())
            {
                continue;
            }
            checked += 1;
            if !has_key(&key) {
                missing.push(format!("{}: {key}", path.display()));
            }
        }
        // Notices named in redirects: `?done=saved` shows `flash.saved`.
        for part in text.split("done=").skip(1) {
            let word: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !word.is_empty() && !has_key(&format!("flash.{word}")) {
                missing.push(format!("{}: flash.{word}", path.display()));
            }
        }
    }
    assert!(
        checked > 200,
        "only {checked} keys found: the scan is broken"
    );
    let mut dynamic: Vec<String> = Vec::new();
    dynamic.extend(
        kernel::Role::ALL
            .iter()
            .map(|r| format!("role.{}", r.as_str())),
    );
    dynamic.extend(
        directory::model::NodeKind::ALL
            .iter()
            .map(|k| format!("kind.{}", k.as_str())),
    );
    dynamic.extend(
        directory::model::SchoolType::ALL
            .iter()
            .map(|t| format!("school_type.{}", t.as_str())),
    );
    dynamic.extend(
        directory::model::Stage::ALL
            .iter()
            .map(|s| format!("stage.{}", s.as_str())),
    );
    dynamic.extend(
        sso::claims::SUPPORTED_SCOPES
            .iter()
            .filter(|s| **s != "openid")
            .map(|s| format!("scope.{s}")),
    );
    dynamic.extend(["0", "1", "2", "9"].iter().map(|g| format!("gender.{g}")));
    dynamic.extend(
        ["success", "failure", "denied"]
            .iter()
            .map(|o| format!("outcome.{o}")),
    );
    let errors = [
        kernel::AppError::Forbidden,
        kernel::AppError::Unauthenticated,
        kernel::AppError::Csrf,
        kernel::AppError::TooManyRequests,
        kernel::AppError::Internal(String::new()),
        kernel::AppError::Invalid(kernel::FieldErrors::new()),
        kernel::AppError::NotFound("not_found"),
    ];
    dynamic.extend(errors.iter().map(|e| format!("error.{}", e.code())));
    for state in ["pending", "approved", "declined", "cancelled"] {
        dynamic.push(format!("leave.state_{state}"));
    }
    dynamic.extend(["illness", "personal"].map(|r| format!("leave.reason_{r}")));
    dynamic.extend(["am", "pm"].map(|h| format!("leave.{h}")));
    dynamic.extend(spaces::leave::SYMPTOMS.map(|s| format!("leave.symptom_{s}")));
    dynamic.extend(spaces::attendance::STATUSES.map(|s| format!("attendance.status_{s}")));
    dynamic
        .extend(spaces::notices::Audience::ALL.map(|a| format!("notices.audience_{}", a.as_str())));
    dynamic.extend(
        [
            "teacher",
            "head_teacher",
            "guardian",
            "student",
            "colleague",
        ]
        .map(|r| format!("messages.relation_{r}")),
    );
    dynamic.extend(spaces::activities::THEMES.map(|t| format!("activities.theme.{t}")));
    dynamic
        .extend(spaces::activities::PARTICIPANTS.map(|p| format!("activities.participants.{p}")));
    dynamic.extend(spaces::activities::AWARDS.map(|a| format!("activities.award.{a}")));
    dynamic.extend(
        spaces::notifications::KINDS
            .iter()
            .map(|k| format!("notifications.kind.{k}")),
    );
    dynamic.extend(
        kernel::outbox::Channel::ALL.map(|c| format!("notifications.channel.{}", c.as_str())),
    );
    dynamic.extend(
        teaching::lesson_prep::SECTIONS
            .iter()
            .chain(&["process"])
            .map(|s| format!("lesson_prep.section.{s}")),
    );
    dynamic.extend(["school", "district", "city"].map(|l| format!("lesson_prep.pending.{l}")));
    for k in teaching::items::form::KINDS {
        dynamic.push(format!("items.kind.{k}"));
        dynamic.push(format!("items.hint.{k}"));
        if !matches!(k, "matching" | "ordering") {
            dynamic.push(format!("items.answer.{k}"));
        }
    }
    dynamic.extend(
        ["single", "multiple", "matching", "ordering"].map(|k| format!("items.choices.{k}")),
    );
    dynamic.extend(
        [
            "all_or_nothing",
            "half_if_subset",
            "proportional",
            "per_option",
        ]
        .map(|p| format!("items.partial.{p}")),
    );
    dynamic.extend(["blanks", "ordering"].map(|k| format!("items.any_order.{k}")));
    dynamic.extend((1..=5).map(|d| format!("items.difficulty.{d}")));
    dynamic.extend(
        teaching::assignments::KINDS
            .iter()
            .map(|k| format!("assignments.kind.{k}")),
    );
    dynamic.extend(
        teaching::assignments::CATEGORIES
            .iter()
            .map(|k| format!("assignments.category.{k}")),
    );
    dynamic.extend(
        teaching::assignments::LATE_POLICIES
            .iter()
            .map(|k| format!("assignments.late.{k}")),
    );
    // The reasons a piece of work takes no answers, shown as their error's text.
    dynamic.extend(
        [
            "already_submitted",
            "not_open",
            "time_over",
            "not_started",
            "past_due",
        ]
        .map(|c| format!("error.teaching.{c}")),
    );
    for key in dynamic {
        if !has_key(&key) {
            missing.push(format!("(built at run time): {key}"));
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from a catalogue:\n{}",
        missing.join("\n")
    );
}
