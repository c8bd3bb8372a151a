//! Marking a student's work on a phone: the answers, the pen on photos, rubric levels,
//! comments, returning it and going on to the next student.

use super::*;

/// One answer on the marking page.
pub struct Marking {
    pub part: Part,
    pub number: usize,
    pub stem: String,
    /// The student's answer in words.
    pub answer: String,
    pub photos: Vec<Photo>,
    pub latest: Option<Mark>,
    pub rubric: Vec<crate::items::form::Criterion>,
    pub key: String,
}

impl Marking {
    fn seen(&self) -> i64 {
        self.latest.as_ref().map_or(0, |m| m.seq)
    }
    fn waits(&self) -> bool {
        self.latest.as_ref().is_none_or(|m| m.points.is_none())
    }
}

#[derive(Template)]
#[template(path = "assignments/mark.html")]
struct MarkPage {
    ctx: PageCtx,
    a: Assignment,
    s: Submission,
    class: String,
    answers: Vec<Marking>,
    whole: Option<Marking>,
    history: Vec<Mark>,
    place: usize,
    of: usize,
    previous: Option<SubmissionId>,
    next: Option<SubmissionId>,
    /// A test's results go out together: no returning one by one before its release.
    may_return: bool,
    /// The form as posted, when it comes back with errors.
    posted: Vec<(String, String)>,
    errors: FieldErrors,
}

impl MarkPage {
    fn mark_number(&self, m: &Mark) -> String {
        if m.position == WHOLE {
            String::new()
        } else {
            self.answers
                .iter()
                .find(|a| a.part.position == m.position)
                .map(|a| a.number.to_string())
                .unwrap_or_default()
        }
    }
    fn posted(&self, field: &str) -> Option<&str> {
        self.posted
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }
    /// A field's value: as posted when the form came back, else from the latest mark.
    fn points_value(&self, m: &Marking) -> String {
        self.posted(&format!("points.{}", m.part.position))
            .map(str::to_owned)
            .unwrap_or_else(|| m.latest.as_ref().map(Mark::points_text).unwrap_or_default())
    }
    fn comment(&self, m: &Marking) -> String {
        self.posted(&format!("comment.{}", m.part.position))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                m.latest
                    .as_ref()
                    .map(|x| x.comment.clone())
                    .unwrap_or_default()
            })
    }
    fn reason(&self, m: &Marking) -> String {
        self.posted(&format!("reason.{}", m.part.position))
            .unwrap_or_default()
            .to_owned()
    }
    fn feedback(&self) -> String {
        self.posted("feedback")
            .map_or_else(|| self.s.feedback.clone(), str::to_owned)
    }
    fn level_chosen(&self, m: &Marking, criterion: &str, level: &str) -> bool {
        let field = format!("level.{}.{criterion}", m.part.position);
        if !self.posted.is_empty() {
            return self.posted(&field) == Some(level);
        }
        m.latest
            .as_ref()
            .is_some_and(|x| x.levels().iter().any(|(c, l)| c == criterion && l == level))
    }
    /// A hidden field's value: as posted when the form came back, else `shown`.
    fn kept(&self, field: &str, shown: String) -> String {
        self.posted(field).map_or(shown, str::to_owned)
    }
    fn seen(&self, m: &Marking) -> String {
        self.kept(&format!("seen.{}", m.part.position), m.seen().to_string())
    }
    fn points_was(&self, m: &Marking) -> String {
        self.kept(
            &format!("points_was.{}", m.part.position),
            m.latest.as_ref().map(Mark::points_text).unwrap_or_default(),
        )
    }
    fn levels_was(&self, m: &Marking) -> String {
        self.kept(
            &format!("levels_was.{}", m.part.position),
            m.latest
                .as_ref()
                .map(|x| x.rubric.clone())
                .unwrap_or_else(|| "[]".to_owned()),
        )
    }
    fn strokes(&self, p: &Photo) -> String {
        self.posted(&format!("annotation.{}", p.id))
            .map_or_else(|| p.annotation_json(), str::to_owned)
    }
    fn strokes_was(&self, p: &Photo) -> String {
        self.posted(&format!("annotation_was.{}", p.id))
            .map_or_else(|| p.annotation_json(), str::to_owned)
    }
}

/// An answer in words, for the teacher: letters, texts, pairs; `tf` are the words for true and
/// false in the viewer's language.
pub fn answer_words(p: &Part, a: Option<&Answer>, tf: (&str, &str)) -> String {
    let letter = |i: &usize| char::from(b'A' + u8::try_from(*i).unwrap_or(0)).to_string();
    let o = p.options();
    match a {
        None => String::new(),
        Some(Answer::Choice { chosen }) => chosen.iter().map(letter).collect::<Vec<_>>().join(""),
        Some(Answer::TrueFalse { value }) => (if *value { tf.0 } else { tf.1 }).to_owned(),
        Some(Answer::Texts { texts }) => texts.join("；"),
        Some(Answer::Pairs { pairs }) => o
            .left
            .iter()
            .zip(pairs)
            .map(|(l, r)| {
                format!(
                    "{l} — {}",
                    r.and_then(|r| o.right.get(r).cloned()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("；"),
        Some(Answer::Order { order }) => order
            .iter()
            .filter_map(|i| o.choices.get(*i).cloned())
            .collect::<Vec<_>>()
            .join(" → "),
        Some(Answer::Written { text, .. }) => text.clone(),
    }
}

pub(super) async fn mark_page_of(
    page: &Page,
    id: SubmissionId,
    posted: Vec<(String, String)>,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let ctx = page.ctx();
    let (a, s) = crate::assignments::graded_submission(&cx, id).await?;
    let parts = crate::assignments::parts(cx.db(), a.id).await?;
    let answers = grade::answers(cx.db(), id).await?;
    let history = grade::history(cx.db(), id).await?;
    let latest = grade::latest(&history);
    let photos = photos::of(cx.db(), id).await?;
    let layout = s.layout();
    let mut shown: Vec<Marking> = Vec::new();
    let order: Vec<i64> = if layout.order.len() == parts.len() {
        layout.order.clone()
    } else {
        parts.iter().map(|p| p.position).collect()
    };
    for (n, pos) in order.iter().enumerate() {
        let Some(p) = parts.iter().find(|p| p.position == *pos) else {
            continue;
        };
        let answer = answers.iter().find(|x| x.0 == *pos).map(|x| &x.1);
        shown.push(Marking {
            number: n + 1,
            stem: crate::items::math::render(&p.stem),
            answer: answer_words(p, answer, (ctx.t("items.true"), ctx.t("items.false"))),
            photos: photos
                .iter()
                .filter(|f| f.position == *pos)
                .cloned()
                .collect(),
            latest: latest
                .iter()
                .find(|m| m.position == *pos)
                .map(|m| (*m).clone()),
            rubric: p.options().rubric,
            key: crate::items::math::render(&p.explanation),
            part: p.clone(),
        });
    }
    let whole = parts.is_empty().then(|| Marking {
        number: 0,
        stem: String::new(),
        answer: String::new(),
        photos: photos
            .iter()
            .filter(|f| f.position == WHOLE)
            .cloned()
            .collect(),
        latest: latest
            .iter()
            .find(|m| m.position == WHOLE)
            .map(|m| (*m).clone()),
        rubric: Vec::new(),
        key: String::new(),
        part: Part {
            position: WHOLE,
            item_id: ItemId(uuid::Uuid::nil()),
            item_version: 0,
            kind: "essay".into(),
            stem: String::new(),
            options: "{}".into(),
            answer_key: "{\"type\":\"manual\"}".into(),
            explanation: String::new(),
            points: a.total_points,
            audio_id: None,
        },
    });
    let all = crate::assignments::visible_submissions(&cx, &a, Access::Grade).await?;
    let handed: Vec<&Submission> = all.iter().filter(|x| x.submitted_at.is_some()).collect();
    let place = handed.iter().position(|x| x.id == id).map_or(0, |i| i + 1);
    let previous = place
        .checked_sub(2)
        .and_then(|i| handed.get(i))
        .map(|x| x.id);
    Ok(render(&MarkPage {
        ctx: ctx.with_notice(done),
        class: crate::label(cx.db(), s.class_id).await?,
        next: grade::next_to_mark(&all, Some(id)),
        of: handed.len(),
        may_return: !a.is_test() || a.released_at.is_some(),
        place,
        previous,
        answers: shown,
        whole,
        history,
        posted,
        a,
        s,
        errors,
    }))
}

pub(super) async fn mark_page(
    page: Page,
    IdPath(id): IdPath<SubmissionId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    mark_page_of(&page, id, Vec::new(), FieldErrors::new(), q.done.as_deref()).await
}

/// The marks a marking form posts: per item `points.{pos}`, `comment.{pos}`, `reason.{pos}`,
/// `level.{pos}.{criterion}`, and `seen.{pos}` (the seq of the mark shown) with the levels
/// shown (`levels_was.{pos}`). Rubric levels changed and points not: the levels' sum.
pub(super) fn given_marks(parts: &[Part], pairs: &[(String, String)]) -> Vec<Given> {
    let one = |k: &str| crate::assignments::field(pairs, k);
    let mut positions: Vec<i64> = parts.iter().map(|p| p.position).collect();
    if parts.is_empty() {
        positions.push(WHOLE);
    }
    let mut given = Vec::new();
    for pos in positions {
        if !pairs.iter().any(|(k, _)| *k == format!("points.{pos}")) {
            continue;
        }
        let prefix = format!("level.{pos}.");
        let rubric: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)
                    .filter(|_| !v.is_empty())
                    .map(|c| (c.to_owned(), v.clone()))
            })
            .collect();
        let criteria = parts
            .iter()
            .find(|p| p.position == pos)
            .map(|p| p.options().rubric)
            .unwrap_or_default();
        let levels_sum = || -> String {
            let sum: i64 = rubric
                .iter()
                .filter_map(|(c, l)| {
                    criteria
                        .iter()
                        .find(|x| x.name == *c)
                        .and_then(|x| x.levels.iter().find(|v| v.0 == *l))
                        .map(|v| v.1)
                })
                .sum();
            crate::assignments::points_text(sum)
        };
        let mut points = one(&format!("points.{pos}"));
        let levels_now = serde_json::to_string(&rubric).unwrap_or_default();
        let levels_changed = !rubric.is_empty() && levels_now != one(&format!("levels_was.{pos}"));
        let points_kept = points.trim() == one(&format!("points_was.{pos}")).trim();
        if !rubric.is_empty() && (points.trim().is_empty() || (levels_changed && points_kept)) {
            points = levels_sum();
        }
        given.push(Given {
            position: pos,
            points,
            rubric,
            comment: one(&format!("comment.{pos}")),
            reason: one(&format!("reason.{pos}")),
            seen: one(&format!("seen.{pos}")).parse().ok(),
        });
    }
    given
}

/// `POST /teaching/submissions/{id}`: the marks (see [`given_marks`]), the pen's strokes
/// (`annotation.{photo}`, with `annotation_was.{photo}` as shown), the feedback; `action` =
/// `save`, `return` (give it back) or `next` (give it back and go on). Everything is checked
/// before anything is written; a form with errors comes back as posted.
pub(super) async fn mark(
    page: Page,
    IdPath(id): IdPath<SubmissionId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (a, s) = crate::assignments::graded_submission(&cx, id).await?;
    let one = |k: &str| crate::assignments::field(&pairs, k);
    let parts = crate::assignments::parts(cx.db(), a.id).await?;
    let given = given_marks(&parts, &pairs);
    let mut errors = FieldErrors::new();
    // The pen: checked first, written after the marks, only where it was used.
    let mut pens = Vec::new();
    for (k, v) in &pairs {
        let Some(photo) = k.strip_prefix("annotation.") else {
            continue;
        };
        let Ok(photo) = photo.parse::<PhotoId>() else {
            continue;
        };
        let was = one(&format!("annotation_was.{photo}"));
        if *v == was {
            continue;
        }
        match photos::parse_strokes(v) {
            Ok(strokes) => pens.push((photo, strokes, was)),
            Err(key) => errors.add(k, key),
        }
    }
    if !errors.is_empty() {
        return mark_page_of(&page, id, pairs, errors, None).await;
    }
    if let Err(e) = grade::mark(&cx, id, &given).await {
        match e {
            AppError::Invalid(f) => return mark_page_of(&page, id, pairs, f, None).await,
            other => return Err(other),
        }
    }
    for (photo, strokes, was) in &pens {
        match photos::annotate(&cx, *photo, strokes, was).await {
            Ok(_) => {}
            Err(AppError::Invalid(f)) => errors.0.extend(f.0),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        // The marks are saved; the pen that met a newer one comes back. The form shows the
        // marks as they are now, so saving it again does not meet its own marks.
        let kept: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| {
                !k.starts_with("seen.")
                    && !k.starts_with("points_was.")
                    && !k.starts_with("levels_was.")
            })
            .collect();
        return mark_page_of(&page, id, kept, errors, None).await;
    }
    let action = one("action");
    let feedback = one("feedback");
    if action == "return" || action == "next" {
        match grade::give_back(&cx, id, &feedback).await {
            Ok(()) => {}
            Err(AppError::Conflict(
                code @ ("teaching.not_graded" | "teaching.not_released"),
                _,
            )) => {
                let mut f = FieldErrors::new();
                f.add("feedback", &format!("error.{code}"));
                return mark_page_of(&page, id, pairs, f, None).await;
            }
            Err(e) => return Err(e),
        }
    } else if s.returned_at.is_some() && feedback.trim() != s.feedback {
        grade::give_back(&cx, id, &feedback).await?;
    }
    if action == "next" {
        let all = crate::assignments::visible_submissions(&cx, &a, Access::Grade).await?;
        return Ok(match grade::next_to_mark(&all, Some(id)) {
            Some(n) => redirect(&format!("/teaching/submissions/{n}?done=returned")),
            None => redirect(&format!("/teaching/assignments/{}?done=all_marked", a.id)),
        });
    }
    let done = if action == "return" {
        "returned"
    } else {
        "marked"
    };
    Ok(redirect(&format!("/teaching/submissions/{id}?done={done}")))
}
