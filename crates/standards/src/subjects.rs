//! The subjects of teaching (JY/T 1001 courses): names, the pickers' list, and the code a course
//! has in each stage.

use crate::kinds::Stage;

/// The name of a JY/T 1001 course code (学科).
pub fn subject_name(code: &str) -> String {
    const COURSES: &str = include_str!("../data/jyt1001_course.csv");
    COURSES
        .lines()
        .skip(1)
        .find_map(|l| {
            let mut c = l.split(',');
            (c.next() == Some(code)).then(|| c.next().unwrap_or(code).to_owned())
        })
        .unwrap_or_else(|| code.to_owned())
}

/// (code, name) of every course, for subject pickers. A name the table holds twice (信息技术
/// for primary and junior schools, and for senior high schools) says which stages it is for.
pub fn subjects() -> Vec<(String, String)> {
    const COURSES: &str = include_str!("../data/jyt1001_course.csv");
    let rows: Vec<(&str, &str, &str)> = COURSES
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut c = l.splitn(3, ',');
            Some((c.next()?, c.next()?, c.next().unwrap_or("")))
        })
        .collect();
    rows.iter()
        .map(|(code, name, note)| {
            let twice = rows.iter().filter(|(_, n, _)| n == name).count() > 1;
            let stages = note.trim().trim_start_matches("适用").trim();
            let shown = if twice && !stages.is_empty() {
                format!("{name}（{stages}）")
            } else {
                (*name).to_owned()
            };
            ((*code).to_owned(), shown)
        })
        .collect()
}

/// The course code as it applies to a class of `stage`: 信息技术 is 26 in senior school and 61
/// below it, 道德与法治 is 11 in primary school and 12 above it.
pub fn subject_for_stage(code: &str, stage: Stage) -> &str {
    match (code, stage) {
        ("26", Stage::Primary | Stage::Junior) => "61",
        ("61", Stage::Senior) => "26",
        ("12", Stage::Primary) => "11",
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_subject_name_in_a_picker_is_told_apart() {
        let all = super::subjects();
        let mut names: Vec<&str> = all.iter().map(|(_, n)| n.as_str()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "{names:?}");
        assert!(names.contains(&"信息技术（普通高中）"), "{names:?}");
    }
}
