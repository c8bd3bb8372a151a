//! Spaces: opening (once, recorded, counted), the default columns, who reads which column
//! (a minor's space never beyond the school, private comments for the family), who posts where,
//! bulk opening and the opening rates against the targets, facts counted once.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::space::{self, Kind, Visibility, open, posts, rates};

fn post(title: &str) -> posts::NewPost {
    posts::NewPost {
        title: title.into(),
        body: "内容".into(),
        visibility: None,
        category: None,
        occurred_on: None,
    }
}

async fn column(h: &Home, actor: &kernel::Actor, s: &space::Space, key: &str) -> space::Column {
    space::columns(&h.cx(actor), s)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no column {key}"))
}

#[tokio::test]
async fn a_teacher_opens_their_space_once_with_the_default_columns() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let t = h.cx(&teacher);
    let opened = open::open_mine(&t).await.unwrap();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].kind(), Kind::Teacher);
    let again = open::open_mine(&t).await.unwrap();
    assert_eq!(
        again[0].id, opened[0].id,
        "opening twice keeps the one space"
    );
    assert_eq!(h.facts("space.opened").await, 1);
    let keys: Vec<String> = space::columns(&t, &opened[0])
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| c.key)
        .collect();
    assert_eq!(
        keys,
        [
            "profile",
            "resources",
            "reflections",
            "photos",
            "honours",
            "classes",
            "research",
            "archive"
        ]
    );
    // The archive takes typed entries; a first post fills a column once.
    let s = &opened[0];
    let archive = column(&h, &teacher, s, "archive").await;
    let e = posts::create(&t, s, &archive, post("研修"))
        .await
        .unwrap_err();
    assert_eq!(fields(e)[0].0, "category");
    let mut entry = post("研修");
    entry.category = Some("training".into());
    posts::create(&t, s, &archive, entry.clone()).await.unwrap();
    posts::create(&t, s, &archive, entry).await.unwrap();
    assert_eq!(h.facts("space.column_filled").await, 1);
    assert_eq!(h.facts("space.post").await, 2);
    // Nobody else writes in it.
    let guardian = h.actor("guardian").await;
    let reflections = column(&h, &teacher, s, "reflections").await;
    assert!(matches!(
        posts::create(&h.cx(&guardian), s, &reflections, post("x")).await,
        Err(AppError::Forbidden)
    ));
}

#[tokio::test]
async fn a_students_space_stays_in_the_school_and_its_comments_in_the_family() {
    let h = Home::start().await;
    let student = h.actor("student").await;
    let s = open::open_mine(&h.cx(&student)).await.unwrap().remove(0);
    assert_eq!(s.kind(), Kind::Student);
    let works = column(&h, &student, &s, "works").await;
    // A post asked to be public in the region stays in the school.
    let mut p = post("我的画");
    p.visibility = Some("region".into());
    let id = posts::create(&h.cx(&student), &s, &works, p).await.unwrap();
    let (_, _, stored) = posts::get(&h.cx(&student), id).await.unwrap();
    assert_eq!(stored.visibility, Visibility::School.as_str());
    // The head teacher writes a comment; the guardian reads it; another family does not.
    let teacher = h.actor("teacher").await;
    let comments = column(&h, &teacher, &s, "comments").await;
    posts::create(&h.cx(&teacher), &s, &comments, post("本周表现很好"))
        .await
        .unwrap();
    let guardian = h.actor("guardian").await;
    assert!(
        space::columns(&h.cx(&guardian), &s)
            .await
            .unwrap()
            .iter()
            .any(|c| c.key.as_deref() == Some("comments"))
    );
    let class = h.teacher_class().await;
    let other = spaces::scope::students(&h.state.db, class).await.unwrap()[2].0;
    let other_family = h
        .actor_of(spaces::scope::guardians(&h.state.db, other).await.unwrap()[0])
        .await;
    let seen = space::columns(&h.cx(&other_family), &s).await.unwrap();
    assert!(
        seen.iter().any(|c| c.key.as_deref() == Some("works")),
        "the class sees the works"
    );
    assert!(
        !seen.iter().any(|c| c.key.as_deref() == Some("comments")),
        "not another family's comments"
    );
    // Another school sees nothing of it, not even the post by its id.
    let outsider = h.actor("school2_admin").await;
    assert!(
        space::columns(&h.cx(&outsider), &s)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        posts::get(&h.cx(&outsider), id).await,
        Err(AppError::NotFound(_))
    ));
    // A teacher of another class cannot write comments.
    let e = posts::create(&h.cx(&outsider), &s, &comments, post("x"))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Forbidden));
}

#[tokio::test]
async fn a_class_community_takes_the_familys_posts_and_comments() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let id = open::open_node(&h.cx(&teacher), class).await.unwrap();
    let s = space::find(&h.state.db, id).await.unwrap().unwrap();
    let guardian = h.actor("guardian").await;
    let community = column(&h, &guardian, &s, "community").await;
    let post_id = posts::create(&h.cx(&guardian), &s, &community, post("亲子阅读"))
        .await
        .unwrap();
    posts::comment(&h.cx(&teacher), post_id, "很棒！")
        .await
        .unwrap();
    assert_eq!(
        h.notifications(guardian.person_id).await,
        ["notice.space_comment"]
    );
    let album = column(&h, &guardian, &s, "album").await;
    assert!(matches!(
        posts::create(&h.cx(&guardian), &s, &album, post("x")).await,
        Err(AppError::Forbidden)
    ));
    // A guardian of another class sees the space but not the class's columns.
    let outsider = h.actor("school2_admin").await;
    assert!(
        space::columns(&h.cx(&outsider), &s)
            .await
            .unwrap()
            .iter()
            .all(|c| c.visibility != "class")
    );
    // Visits by others are counted once a day; the owner's are not.
    posts::visit(&h.cx(&guardian), &s).await.unwrap();
    posts::visit(&h.cx(&guardian), &s).await.unwrap();
    posts::visit(&h.cx(&teacher), &s).await.unwrap();
    assert_eq!(
        space::find(&h.state.db, id).await.unwrap().unwrap().visits,
        1
    );
    // Only the head teacher or an administrator opens a class's space.
    let other_class = spaces::scope::addressable(&h.cx(&h.actor("school_admin").await))
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == "class" && a.id != class)
        .unwrap()
        .id;
    assert!(open::open_node(&h.cx(&teacher), other_class).await.is_err());
}

#[tokio::test]
async fn bulk_opening_and_the_rates_against_the_targets() {
    let h = Home::start().await;
    let admin = h.actor("school_admin").await;
    let a = h.cx(&admin);
    let school = admin.admin_nodes()[0];
    let before = rates::of_node(&a, school, None).await.unwrap();
    let teachers = before
        .total
        .rates
        .iter()
        .find(|r| r.kind == Kind::Teacher)
        .unwrap();
    assert_eq!((teachers.opened, teachers.eligible), (0, 8));
    assert!(!teachers.met());
    let bulk = open::open_all(&a, school, &[Kind::Teacher, Kind::Student])
        .await
        .unwrap();
    assert_eq!(
        (bulk.schools, bulk.classes, bulk.teachers, bulk.students),
        (1, 4, 8, 32)
    );
    assert_eq!(bulk.guardians, 0);
    let again = open::open_all(&a, school, &[Kind::Teacher, Kind::Student])
        .await
        .unwrap();
    assert_eq!(
        again.teachers + again.students + again.classes,
        0,
        "nothing twice"
    );
    let after = rates::of_node(&a, school, None).await.unwrap();
    let by = |k: Kind| {
        after
            .total
            .rates
            .iter()
            .find(|r| r.kind == k)
            .unwrap()
            .clone()
    };
    assert!(by(Kind::Teacher).met() && by(Kind::Class).met() && by(Kind::Student).met());
    assert_eq!(by(Kind::Guardian).percent(), 0);
    assert!(!by(Kind::Guardian).met(), "guardians' target is half");
    assert_eq!(h.facts("space.opened").await, 45);
    // The district sees its schools; a teacher sees no rates.
    let district = h.actor("district_admin").await;
    let d = rates::of_node(&h.cx(&district), district.admin_nodes()[0], None)
        .await
        .unwrap();
    assert_eq!(d.below.len(), 2, "the district's two schools");
    let teacher = h.actor("teacher").await;
    assert!(matches!(
        rates::of_node(&h.cx(&teacher), school, None).await,
        Err(AppError::NotFound(_))
    ));
    // Counted for the term in progress: the due day is 20 September of its school year, and
    // spaces opened today were on time only if today is not past it.
    let due = chrono::NaiveDate::from_ymd_opt(after.term.school_year as i32, 9, 20).unwrap();
    assert_eq!(after.due, due);
    let teachers = by(Kind::Teacher);
    assert_eq!(
        teachers.by_due,
        if a.today() <= due { teachers.opened } else { 0 }
    );
    // A term the region never set is refused and named.
    let e = rates::of_node(&a, school, Some((after.term.school_year - 5, 1)))
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)), "{e:?}");
}
