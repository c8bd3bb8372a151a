//! The excellent-space selection: opened by an administrator with weights adding up to 100 and
//! a panel of real accounts; spaces nominated by their owners or administrators, once; the
//! panel scores only while judging; totals weigh the panel's mean and the measured use; the
//! best are named, told, and shown on their spaces.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::awards::{self, NewAward};
use spaces::space::{self, posts};

fn selection(node: kernel::NodeId, year: i64, judges: &str, weights: [&str; 5]) -> NewAward {
    NewAward {
        node_id: node.to_string(),
        title: "区级优秀网络学习空间评选".into(),
        school_year: year.to_string(),
        weights: weights.iter().map(|w| (*w).to_owned()).collect(),
        prizes: "1".into(),
        judges: judges.into(),
    }
}

#[tokio::test]
async fn a_district_selection_from_nomination_to_published_excellent_spaces() {
    let h = Home::start().await;
    let district_admin = h.actor("district_admin").await;
    let d = h.cx(&district_admin);
    let district = district_admin.grants[0].node_id;
    let year = directory::import::classes::school_year(d.today());
    // Bad input: each field named, the unknown account too; nothing stored.
    let mut bad = selection(
        district,
        year + 3,
        "school_admin nobody",
        ["40", "15", "15", "15", "5"],
    );
    bad.prizes = "0".into();
    let e = fields(awards::create(&d, &bad).await.unwrap_err());
    let names: Vec<&str> = e.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        ["school_year", "weights", "prizes", "judges", "judges.names"]
    );
    assert!(e.iter().any(|f| f.1 == "nobody"));
    assert_eq!(h.count("SELECT COUNT(*) FROM space_awards").await, 0);
    // A teacher cannot open one.
    let teacher = h.actor("teacher").await;
    let t = h.cx(&teacher);
    assert!(
        fields(
            awards::create(
                &t,
                &selection(district, year, "teacher", ["40", "15", "15", "15", "15"])
            )
            .await
            .unwrap_err()
        )
        .iter()
        .any(|f| f.0 == "node_id")
    );
    let id = awards::create(
        &d,
        &selection(
            district,
            year,
            "school_admin, city_admin",
            ["40", "15", "15", "15", "15"],
        ),
    )
    .await
    .unwrap();
    // The teacher opens their space, writes in it and nominates it; the school's
    // administrator nominates the class's space.
    let mine = space::open::open_mine(&t).await.unwrap();
    let ts = mine.iter().find(|s| s.kind == "teacher").unwrap().clone();
    let column = space::columns(&t, &ts)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.content == "posts")
        .unwrap();
    posts::create(
        &t,
        &ts,
        &column,
        posts::NewPost {
            title: "教学反思".into(),
            body: "本周的朗读课。".into(),
            visibility: None,
            category: None,
            occurred_on: None,
        },
    )
    .await
    .unwrap();
    awards::nominate(
        &t,
        id,
        &format!("https://jy.example.cn/spaces/{}", ts.id),
        "坚持写反思",
    )
    .await
    .unwrap();
    assert!(matches!(
        awards::nominate(&t, id, &ts.id.to_string(), "").await,
        Err(AppError::Conflict("spaces.award_nominated", _))
    ));
    let school_admin = h.actor("school_admin").await;
    let sa = h.cx(&school_admin);
    let class = h.teacher_class().await;
    let cs = space::open::open_node(&sa, class).await.unwrap();
    let guardian = h.actor("guardian").await;
    assert!(matches!(
        awards::nominate(&h.cx(&guardian), id, &cs.to_string(), "").await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        fields(
            awards::nominate(&sa, id, "not a space", "")
                .await
                .unwrap_err()
        ),
        [("space".to_owned(), "awards.error.space".to_owned())]
    );
    awards::nominate(&sa, id, &cs.to_string(), "")
        .await
        .unwrap();
    // Scoring waits for judging, which only the organiser starts.
    assert!(matches!(
        awards::score(&sa, id, ts.id, "90").await,
        Err(AppError::Conflict("spaces.award_not_judging", _))
    ));
    assert!(matches!(
        awards::start_judging(&t, id).await,
        Err(AppError::Forbidden)
    ));
    awards::start_judging(&d, id).await.unwrap();
    assert!(matches!(
        awards::nominate(&sa, id, &ts.id.to_string(), "").await,
        Err(AppError::Conflict("spaces.award_closed", _))
    ));
    assert!(matches!(
        awards::score(&t, id, ts.id, "100").await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        fields(awards::score(&sa, id, ts.id, "120").await.unwrap_err()),
        [("score".to_owned(), "awards.error.score".to_owned())]
    );
    let city_admin = h.actor("city_admin").await;
    awards::score(&sa, id, ts.id, "70").await.unwrap();
    awards::score(&sa, id, ts.id, "90").await.unwrap();
    awards::score(&h.cx(&city_admin), id, ts.id, "80")
        .await
        .unwrap();
    awards::score(&sa, id, cs, "60").await.unwrap();
    let a = awards::get(&d, id).await.unwrap();
    let ranked = awards::nominees(&d, &a).await.unwrap();
    assert_eq!(ranked[0].space.id, ts.id);
    assert_eq!(
        ranked[0].content,
        Some(85.0),
        "the panel's mean, a judge's second score replacing the first"
    );
    assert_eq!(ranked[0].measured[1], 1, "one post this school year");
    // 40 × 85% + 15 × columns + 15 × (1 post of the best 1) + 0 visits + 0 comments.
    let columns = ranked[0].measured[0] as f64;
    assert!(
        (ranked[0].total - (34.0 + 0.15 * columns + 15.0)).abs() < 0.11,
        "{}",
        ranked[0].total
    );
    assert_eq!(
        ranked[1].total, 24.0,
        "the class: 40 × 60% and nothing measured"
    );
    awards::publish(&d, id).await.unwrap();
    assert_eq!(
        h.notifications(teacher.person_id).await[0],
        "notice.space_award"
    );
    let won = awards::won(&h.state.db, ts.id).await.unwrap();
    assert_eq!(won.len(), 1);
    assert!(
        awards::won(&h.state.db, cs).await.unwrap().is_empty(),
        "one prize only"
    );
    // Everyone in the district sees the published results.
    assert!(
        awards::list(&h.cx(&guardian))
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == id)
    );
}
