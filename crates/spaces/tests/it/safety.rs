//! Content safety: a blocked word refuses a post and names the word, storing nothing; a held
//! word keeps a post from everyone but its author and the moderators until approved; a report
//! reaches the moderation queue and removing hides the post; only a region's administrators
//! keep its word list.

use crate::helpers::{Home, fields};
use kernel::AppError;
use spaces::safety;
use spaces::space::{self, open, posts};

fn post(title: &str, body: &str) -> posts::NewPost {
    posts::NewPost {
        title: title.into(),
        body: body.into(),
        visibility: None,
        category: None,
        occurred_on: None,
    }
}

#[tokio::test]
async fn blocked_words_are_named_held_posts_wait_and_reports_are_moderated() {
    let h = Home::start().await;
    let city_admin = h.actor("city_admin").await;
    let city = city_admin.admin_nodes()[0];
    let ca = h.cx(&city_admin);
    safety::add_words(&ca, city, "赌博", "block").await.unwrap();
    safety::add_words(&ca, city, "约架，网贷", "hold")
        .await
        .unwrap();
    assert_eq!(safety::words(&ca, city).await.unwrap().len(), 3);
    // Only a region's administrators keep its list.
    let school_admin = h.actor("school_admin").await;
    let school = school_admin.admin_nodes()[0];
    assert!(matches!(
        safety::words(&h.cx(&school_admin), school).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        safety::add_words(&h.cx(&school_admin), city, "x", "block").await,
        Err(AppError::NotFound(_))
    ));

    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let s = space::find(
        &h.state.db,
        open::open_node(&h.cx(&teacher), class).await.unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let guardian = h.actor("guardian").await;
    let g = h.cx(&guardian);
    let community = space::columns(&g, &s)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.key.as_deref() == Some("community"))
        .unwrap();
    // Blocked: refused, the word named, nothing stored.
    let e = posts::create(&g, &s, &community, post("周末活动", "一起去赌博吧"))
        .await
        .unwrap_err();
    let f = fields(e);
    assert!(f.contains(&("body".to_owned(), "safety.error.blocked".to_owned())));
    assert!(f.contains(&("body.words".to_owned(), "赌博".to_owned())));
    assert_eq!(h.count("SELECT COUNT(*) FROM space_posts").await, 0);
    // Held: its author sees it, another family does not, the school's administrator does.
    let held = posts::create(&g, &s, &community, post("放学后", "有人说要约架"))
        .await
        .unwrap();
    let (_, _, mine) = posts::get(&g, held).await.unwrap();
    assert_eq!(mine.state, "held");
    let other = spaces::scope::students(&h.state.db, class).await.unwrap()[2].0;
    let family = h
        .actor_of(spaces::scope::guardians(&h.state.db, other).await.unwrap()[0])
        .await;
    assert!(matches!(
        posts::get(&h.cx(&family), held).await,
        Err(AppError::NotFound(_))
    ));
    assert!(
        posts::list(
            &h.cx(&family),
            &community,
            &[
                space::Visibility::Region,
                space::Visibility::School,
                space::Visibility::Class
            ],
            10
        )
        .await
        .unwrap()
        .is_empty()
    );
    let a = h.cx(&school_admin);
    let queue = safety::queue(&a).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].what.as_str(), queue[0].why.as_str()),
        ("post", "约架")
    );
    // The teacher is no moderator.
    assert!(matches!(
        safety::decide(&h.cx(&teacher), "post", held.0, true).await,
        Err(AppError::NotFound(_))
    ));
    safety::decide(&a, "post", held.0, true).await.unwrap();
    assert_eq!(
        posts::get(&h.cx(&family), held).await.unwrap().2.state,
        "published"
    );
    // A report: the family reports it, the administrator removes it.
    safety::report(&h.cx(&family), held, None, "不适合孩子看")
        .await
        .unwrap();
    let queue = safety::queue(&a).await.unwrap();
    assert_eq!((queue.len(), queue[0].what.as_str()), (1, "report"));
    safety::decide(&a, "report", queue[0].id, false)
        .await
        .unwrap();
    assert!(matches!(
        posts::get(&h.cx(&family), held).await,
        Err(AppError::NotFound(_))
    ));
    assert!(safety::queue(&a).await.unwrap().is_empty());
    assert_eq!(
        h.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('safety.keep', 'safety.remove')")
            .await,
        2
    );
    // A comment with a held word waits too.
    let ok = posts::create(&h.cx(&teacher), &s, &community, post("秋游", "照片分享"))
        .await
        .unwrap();
    posts::comment(&g, ok, "借网贷买的相机").await.unwrap();
    assert_eq!(posts::comments(&h.cx(&family), ok).await.unwrap().len(), 0);
    assert_eq!(posts::comments(&g, ok).await.unwrap()[0].state, "held");
    assert_eq!(safety::queue(&a).await.unwrap()[0].what, "comment");
}
