//! Guardian binding: the head teacher's class code; a guardian's request matched by the
//! child's name and the last four characters, refused with the field named when wrong, limited
//! per day; approval makes the binding (the guardian then sees the child); unbinding by the
//! guardian, audited; nobody but the class's head teacher sees the code or decides.

use crate::helpers::{Home, fields};
use kernel::{AppError, on_db};
use spaces::binding;

#[tokio::test]
async fn a_guardian_links_a_second_child_with_the_class_code_and_the_head_teacher_confirms() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let (code, _) = binding::code(&h.cx(&teacher), class, false).await.unwrap();
    assert_eq!(code.len(), 8);
    assert_eq!(
        binding::code(&h.cx(&teacher), class, false)
            .await
            .unwrap()
            .0,
        code,
        "kept until renewed"
    );
    // Only the head teacher (or an administrator) sees the code.
    let guardian = h.actor("guardian").await;
    assert!(matches!(
        binding::code(&h.cx(&guardian), class, false).await,
        Err(AppError::NotFound(_))
    ));
    // Another pupil of the class, whose registry number the guardian knows.
    let (student, name, registry): (kernel::PersonId, String, Option<String>) = on_db!(&h.state.db, p => sqlx::query_as(
        "SELECT p.id, p.name, p.registry_no FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'student' AND p.registry_no IS NOT NULL
           AND p.id NOT IN (SELECT student_id FROM role_assignments WHERE person_id = $2 AND role = 'guardian')
         ORDER BY p.name LIMIT 1",
    ).bind(class).bind(guardian.person_id).fetch_one(p).await)
    .unwrap();
    let registry = registry.unwrap();
    let last4: String = registry
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let g = || h.cx(&guardian);
    // Wrong fields are named.
    assert_eq!(
        fields(
            binding::request(&g(), "WRONG123", &name, &last4, "52")
                .await
                .unwrap_err()
        )[0]
        .0,
        "code"
    );
    assert_eq!(
        fields(
            binding::request(&g(), &code, &name, "0000", "52")
                .await
                .unwrap_err()
        )[0]
        .0,
        "child_name"
    );
    assert_eq!(
        fields(
            binding::request(&g(), &code, &name, "12", "99x")
                .await
                .unwrap_err()
        )
        .iter()
        .map(|f| f.0.as_str())
        .collect::<Vec<_>>(),
        ["last4", "relation"]
    );
    let id = binding::request(&g(), &code, &name, &last4.to_lowercase(), "52")
        .await
        .unwrap();
    assert_eq!(
        binding::request(&g(), &code, &name, &last4, "52")
            .await
            .unwrap(),
        id,
        "one pending request"
    );
    assert_eq!(
        h.notifications(teacher.person_id).await,
        ["notice.binding_requested"]
    );
    // Only the head teacher decides.
    let other = h.actor("school2_admin").await;
    assert!(binding::decide(&h.cx(&other), id, true).await.is_err());
    binding::decide(&h.cx(&teacher), id, true).await.unwrap();
    assert!(matches!(
        binding::decide(&h.cx(&teacher), id, true).await,
        Err(AppError::Conflict(..))
    ));
    let guardian = h.actor("guardian").await;
    let children = spaces::scope::children(&h.cx(&guardian)).await.unwrap();
    assert!(
        children.iter().any(|c| c.student_id == student),
        "the guardian now sees both children"
    );
    assert_eq!(children.len(), 2);
    assert_eq!(
        h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'guardian.bind'")
            .await,
        1
    );
    // The guardian unlinks; audited.
    directory::roles::unbind_guardian(&h.cx(&guardian), guardian.person_id, student)
        .await
        .unwrap();
    let guardian = h.actor("guardian").await;
    assert_eq!(
        spaces::scope::children(&h.cx(&guardian))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        h.count("SELECT COUNT(*) FROM audit_log WHERE action = 'guardian.unbind'")
            .await,
        1
    );
}

#[tokio::test]
async fn guessing_is_limited_to_five_failures_a_day() {
    let h = Home::start().await;
    let teacher = h.actor("teacher").await;
    let class = h.teacher_class().await;
    let (code, _) = binding::code(&h.cx(&teacher), class, false).await.unwrap();
    let guardian = h.actor("guardian").await;
    for i in 0..5 {
        let e = binding::request(
            &h.cx(&guardian),
            &code,
            "王子涵",
            &format!("{:04}", i),
            "51",
        )
        .await
        .unwrap_err();
        assert_eq!(fields(e)[0].1, "binding.error.no_match");
    }
    let e = binding::request(&h.cx(&guardian), &code, "王子涵", "1234", "51")
        .await
        .unwrap_err();
    assert_eq!(fields(e)[0].1, "binding.error.too_many");
    // A renewed code makes the old one useless.
    let (renewed, _) = binding::code(&h.cx(&teacher), class, true).await.unwrap();
    assert_ne!(renewed, code);
    let e = binding::request(&h.cx(&teacher), &code, "王子涵", "1234", "51")
        .await
        .unwrap_err();
    assert_eq!(
        fields(e)[0].1,
        "binding.error.code",
        "the old code no longer works"
    );
}
