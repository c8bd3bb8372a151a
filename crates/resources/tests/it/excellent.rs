//! Excellent-resource lists (优秀资源评选): created by a region or school, filled with what its
//! members may see, published to the node's members.

use crate::helpers::Lib;
use crate::library::{field, make, shared_at_school};
use kernel::AppError;
use resources::library::detail;
use resources::library::excellent::{self, EntryUpdate, NewEntry, NewList};

#[tokio::test]
async fn excellent_lists_are_seen_by_the_nodes_members_once_published() {
    let lib = Lib::start().await;
    let a = shared_at_school(&lib, "teacher", "《江南》教学设计").await;
    let b = shared_at_school(&lib, "teacher", "《画》朗读课件").await;
    let private = make(&lib, "teacher", "《私人笔记》", "13").await;
    let admin = lib.actor("school_admin").await;
    let cx = lib.cx(&admin);
    let school = a.org_id;
    let l = excellent::create(
        &cx,
        NewList {
            node_id: school,
            title: "2025学年第一学期优秀教案".into(),
            school_year: Some(2025),
            term: Some(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(l.status, "draft");
    excellent::add(
        &cx,
        l.id,
        NewEntry {
            resource_id: a.id,
            note: "结构清晰".into(),
        },
    )
    .await
    .unwrap();
    excellent::add(
        &cx,
        l.id,
        NewEntry {
            resource_id: b.id,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    let dup = excellent::add(
        &cx,
        l.id,
        NewEntry {
            resource_id: b.id,
            note: String::new(),
        },
    )
    .await;
    assert!(matches!(
        dup,
        Err(AppError::Conflict("resources.already_listed", _))
    ));
    let refused = excellent::add(
        &cx,
        l.id,
        NewEntry {
            resource_id: private.id,
            note: String::new(),
        },
    )
    .await;
    assert!(field(refused.unwrap_err()).contains(&(
        "resource_id".into(),
        "error.resources.not_shared_here".into()
    )));
    let d = excellent::update_entry(
        &cx,
        l.id,
        b.id,
        EntryUpdate {
            position: Some(1),
            note: Some("配图精美".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        d.entries.iter().map(|e| e.resource.id).collect::<Vec<_>>(),
        vec![b.id, a.id]
    );
    assert_eq!(d.entries[0].note, "配图精美");
    // A draft is the administrator's alone.
    let colleague = lib.actor("s0t003").await;
    assert!(matches!(
        excellent::get(&lib.cx(&colleague), l.id).await,
        Err(AppError::NotFound(_))
    ));
    excellent::publish(&cx, l.id, true).await.unwrap();
    let seen = excellent::get(&lib.cx(&colleague), l.id).await.unwrap();
    assert_eq!(seen.entries.len(), 2);
    assert!(!seen.editable);
    let lists = excellent::lists(&lib.cx(&colleague), &crate::library::P)
        .await
        .unwrap();
    assert!(lists.items.iter().any(|x| x.id == l.id && x.entries == 2));
    assert!(matches!(
        excellent::remove(&lib.cx(&colleague), l.id, a.id).await,
        Err(AppError::Forbidden)
    ));
    // Another school's teacher sees nothing of it.
    let other = lib.actor("s1t002").await;
    assert!(matches!(
        excellent::get(&lib.cx(&other), l.id).await,
        Err(AppError::NotFound(_))
    ));
    let lists = excellent::lists(&lib.cx(&other), &crate::library::P)
        .await
        .unwrap();
    assert!(lists.items.iter().all(|x| x.id != l.id));
    // The resource page shows the selection.
    let d = detail::detail(&lib.cx(&colleague), a.id).await.unwrap();
    assert_eq!(
        d.selections.iter().map(|s| s.list_id).collect::<Vec<_>>(),
        vec![l.id]
    );
    // A teacher may not make a list.
    let t = lib.actor("teacher").await;
    let e = excellent::create(
        &lib.cx(&t),
        NewList {
            node_id: school,
            title: "x".into(),
            school_year: None,
            term: None,
        },
    )
    .await;
    assert!(matches!(e, Err(AppError::Forbidden)));
}
