//! Photos: a phone's GPS position and other metadata removed, the image itself untouched; a
//! class photo read beyond the class needs every tagged child's guardian's consent, named when
//! missing; a consent withdrawn hides the photo beyond the class at once; the same consent
//! governs a child's work in a district activity.

use crate::helpers::{Home, fields};
use img_parts::Bytes;
use kernel::AppError;
use spaces::photos;
use spaces::space::{self, posts};

const JPEG: &[u8] = include_bytes!("../fixtures/gps.jpg");
const PNG: &[u8] = include_bytes!("../fixtures/gps.png");

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn gps_and_other_metadata_are_removed_and_the_image_kept() {
    assert!(contains(JPEG, b"Exif\0\0") && contains(JPEG, b"GPSLatitude"));
    let (clean, kind) = photos::strip(Bytes::from_static(JPEG)).unwrap();
    assert_eq!(kind, "image/jpeg");
    assert!(
        !contains(&clean, b"Exif")
            && !contains(&clean, b"GPSLatitude")
            && !contains(&clean, b"xap/1.0")
    );
    assert!(clean.starts_with(&[0xFF, 0xD8]) && clean.ends_with(&[0xFF, 0xD9]));
    // The compressed image is byte for byte the same: only the metadata segments went.
    let scan = |b: &[u8]| b[b.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap()..].to_vec();
    assert_eq!(scan(&clean), scan(JPEG));
    assert!(
        JPEG.len() - clean.len() > 100,
        "the two metadata segments are gone"
    );
    let (clean, kind) = photos::strip(Bytes::from_static(PNG)).unwrap();
    assert_eq!(kind, "image/png");
    assert!(contains(PNG, b"eXIf") && contains(PNG, b"tEXt"));
    assert!(!contains(&clean, b"eXIf") && !contains(&clean, b"tEXt") && contains(&clean, b"IDAT"));
    assert_eq!(
        photos::strip(Bytes::from_static(b"GIF89a...")).unwrap_err(),
        "photos.error.kind"
    );
}

#[tokio::test]
async fn a_class_photo_beyond_the_class_needs_each_childs_consent_and_a_withdrawal_hides_it() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let t = h.cx(&teacher);
    let class = h.teacher_class().await;
    let admin = h.actor("school_admin").await;
    let cs = space::open::open_node(&h.cx(&admin), class).await.unwrap();
    let cs = space::find(&h.state.db, cs).await.unwrap().unwrap();
    let column = space::columns(&t, &cs)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.key.as_deref() == Some("class_honours"))
        .unwrap();
    let post = posts::create(
        &t,
        &cs,
        &column,
        posts::NewPost {
            title: "运动会".into(),
            body: "孩子们的精彩瞬间。".into(),
            visibility: Some("school".into()),
            category: None,
            occurred_on: None,
        },
    )
    .await
    .unwrap();
    let guardian = h.actor("guardian").await;
    let child = spaces::scope::children(&h.cx(&guardian)).await.unwrap()[0].clone();
    let photo = || vec![Bytes::from_static(JPEG)];
    // Read by the school: the children shown must be tagged, and their guardians agree.
    assert_eq!(
        fields(
            photos::add(&t, post, photo(), &[], false)
                .await
                .unwrap_err()
        ),
        [(
            "children".to_owned(),
            "photos.error.tag_children".to_owned()
        )]
    );
    let e = fields(
        photos::add(&t, post, photo(), &[child.student_id], false)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        e[0],
        ("children".to_owned(), "photos.error.no_consent".to_owned())
    );
    assert_eq!(e[1], ("children.names".to_owned(), child.name.clone()));
    assert_eq!(
        h.count("SELECT COUNT(*) FROM space_post_photos").await,
        0,
        "nothing stored"
    );
    // Only the author adds photos.
    assert!(matches!(
        photos::add(&h.cx(&admin), post, photo(), &[child.student_id], false).await,
        Err(AppError::Forbidden)
    ));
    let g = h.cx(&guardian);
    assert!(
        photos::set_consent(&g, child.student_id, "everywhere")
            .await
            .is_err()
    );
    let other = h.actor("teacher").await;
    assert!(
        matches!(
            photos::set_consent(&h.cx(&other), child.student_id, "school").await,
            Err(AppError::NotFound(_))
        ),
        "only the child's guardian decides"
    );
    photos::set_consent(&g, child.student_id, "school")
        .await
        .unwrap();
    assert_eq!(
        photos::add(&t, post, photo(), &[child.student_id], false)
            .await
            .unwrap(),
        1
    );
    // A teacher of another class of the school reads the post beyond the class.
    let (colleague,): (kernel::PersonId,) = kernel::on_db!(&h.state.db, p => sqlx::query_as(
        "SELECT r.person_id FROM role_assignments r JOIN org_nodes n ON n.id = r.node_id AND n.kind = 'class'
         WHERE r.role = 'teacher' AND n.school_id = (SELECT school_id FROM org_nodes WHERE id = $1)
           AND r.person_id NOT IN (SELECT person_id FROM role_assignments WHERE node_id = $1) LIMIT 1",
    ).bind(class).fetch_one(p).await)
    .unwrap();
    let colleague = h.actor_of(colleague).await;
    let c = h.cx(&colleague);
    let (s, _, p) = posts::get(&c, post).await.unwrap();
    let seen = photos::visible(&c, &s, &p).await.unwrap();
    assert_eq!(seen.len(), 1);
    let served = photos::serve(&c, seen[0].id).await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    let body = axum::body::to_bytes(served.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(!contains(&body, b"GPSLatitude") && body.starts_with(&[0xFF, 0xD8]));
    // The guardian withdraws: beyond the class the photo is gone at once; the class keeps it.
    photos::set_consent(&g, child.student_id, "class")
        .await
        .unwrap();
    assert!(photos::visible(&c, &s, &p).await.unwrap().is_empty());
    assert!(matches!(
        photos::serve(&c, seen[0].id).await,
        Err(AppError::NotFound(_))
    ));
    let (s2, _, p2) = posts::get(&g, post).await.unwrap();
    assert_eq!(
        photos::visible(&g, &s2, &p2).await.unwrap().len(),
        1,
        "the class still sees it"
    );
    assert_eq!(
        h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'consent.set'")
            .await,
        2
    );
}
