//! The library's search over HTTP: the page (results, facets, empty state, in Chinese), the
//! JSON API and its validation, and who may use it.

use crate::helpers::TestApp;
use kernel::{CatalogId, ResourceId, on_db, on_tx};
use reqwest::StatusCode;
use resources::access::Audience;
use resources::model::Scope;

/// A resource shared at the teacher's school, on the 人教版 勾股定理 section, with a PDF's text.
async fn pythagoras(app: &TestApp) -> ResourceId {
    let db = &app.state.db;
    let person = app.person_id("teacher").await;
    let (org,): (kernel::NodeId,) =
        on_db!(db, p => sqlx::query_as("SELECT org_id FROM persons WHERE id = $1")
        .bind(person).fetch_one(p).await)
        .unwrap();
    let (section,): (CatalogId,) = on_db!(db, p => sqlx::query_as("SELECT id FROM catalog_nodes WHERE path = $1")
        .bind("初中 / 数学 / 人教版 / 八年级下册 / 第十七章 勾股定理 / 17.1 勾股定理").fetch_one(p).await).unwrap();
    let id = ResourceId::new();
    let now = app.state.clock.now();
    let hash = format!("{:064x}", id.0.as_u128());
    let audience = Audience::of(db, org, Scope::School).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO blobs (hash, size, mime, category, storage_key, text, preview_state, scan, created_at)
         VALUES ($1, 100, 'application/pdf', 'pdf', $1, $2, 'none', 'clean', $3)",
    ).bind(&hash).bind("本节课通过拼图证明勾股定理，并用它求直角三角形的斜边。").bind(now)
    .execute(&mut *c).await.map(|_| ())).unwrap();
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resources (id, org_id, author_id, title, description, kind, tags, blob_hash, file_name,
                                scope, version, quality, created_at, updated_at)
         VALUES ($1, $2, $3, '《勾股定理》教学设计', '八年级下册第十七章。', 'teaching_design', '勾股定理\n公开课', $4, 'a.pdf',
                 'school', 1, 80, $5, $5)",
    ).bind(id).bind(org).bind(person).bind(&hash).bind(now).execute(&mut *c).await.map(|_| ())).unwrap();
    on_tx!(&mut tx, c => sqlx::query("INSERT INTO resource_catalog (resource_id, catalog_id) VALUES ($1, $2)")
        .bind(id).bind(section).execute(&mut *c).await.map(|_| ())).unwrap();
    audience.write(&mut tx, id).await.unwrap();
    resources::changes::record(&mut tx, id, now).await.unwrap();
    tx.commit().await.unwrap();
    resources::search::sync(&app.state).await.unwrap();
    id
}

#[tokio::test]
async fn the_search_page_shows_results_and_facets_in_chinese() {
    let app = TestApp::start().await;
    let id = pythagoras(&app).await;
    let c = app.login("teacher").await;
    let res = c
        .get(app.url("/library/search?q=勾股定理"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">"));
    assert!(page.contains("搜索资源") && page.contains("value=\"勾股定理\""));
    assert!(
        page.contains(&format!("href=\"/library/r/{id}\"")),
        "links to the resource page"
    );
    assert!(page.contains("《<mark>勾股定理</mark>》教学设计"));
    assert!(
        page.contains("拼图证明<mark>勾股定理</mark>"),
        "a passage of the file's text"
    );
    for facet in [
        "学段",
        "学科",
        "教材版本",
        "章节",
        "资源类型",
        "共享范围",
        "学校",
    ] {
        assert!(page.contains(&format!("<h3>{facet}</h3>")), "facet {facet}");
    }
    assert!(
        page.contains("第十七章 勾股定理")
            && page.contains("教学设计")
            && page.contains("上城区实验小学")
    );
    // A facet link narrows the search and shows the filter with a way to remove it.
    let chapter = page
        .split("href=\"")
        .find(|s| s.starts_with("/library/search?") && s.contains("chapter="))
        .map(|s| {
            s[..s.find('"').unwrap()]
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        })
        .expect("a chapter facet link");
    let page = c
        .get(app.url(&chapter))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已选条件") && page.contains("章节: 第十七章 勾股定理"),
        "{chapter}: {}",
        &page[page.find("<main").unwrap_or(0)..][..2000.min(page.len() / 2)]
    );
    assert!(page.contains(&format!("/library/r/{id}")));

    // Nothing found: the page says what to try next.
    let res = c
        .get(app.url("/library/search?q=zzqqxx不存在"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("没有找到符合条件的资源") && page.contains("浏览全部资源"));
    // A bad parameter is shown beside the form, with the input kept.
    let res = c
        .get(app.url("/library/search?q=勾股&sort=cheapest"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("排序方式只能是") && page.contains("value=\"勾股\""));
}

#[tokio::test]
async fn the_search_api_returns_json_and_rejects_bad_input() {
    let app = TestApp::start().await;
    let id = pythagoras(&app).await;
    let token = app.token("teacher").await;
    let http = reqwest::Client::new();
    let get = |q: &str| {
        http.get(app.url(&format!("/api/v1/resources/search?{q}")))
            .bearer_auth(&token)
            .send()
    };
    let res = get("q=%E5%8B%BE%E8%82%A1%E5%AE%9A%E7%90%86&sort=quality")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["sort"], "quality");
    assert!(v["total"].as_u64().unwrap() >= 1);
    let hit = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id.to_string())
        .expect("the resource");
    assert_eq!(hit["kind"], "teaching_design");
    assert_eq!(hit["level"], "school");
    assert_eq!(hit["school_name"], "上城区实验小学");
    assert!(
        hit["title_html"]
            .as_str()
            .unwrap()
            .contains("<mark>勾股定理</mark>")
    );
    let dims: Vec<&str> = v["facets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["dimension"].as_str().unwrap())
        .collect();
    assert_eq!(
        dims,
        [
            "stage", "subject", "edition", "volume", "chapter", "kind", "level", "school"
        ]
    );
    let kinds = v["facets"][5]["values"].as_array().unwrap();
    assert!(
        kinds
            .iter()
            .any(|k| k["value"] == "teaching_design" && k["count"].as_u64() >= Some(1))
    );

    for (query, field) in [
        ("q=x&sort=cheapest", "sort"),
        ("kind=poem", "kind"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("stage=not-an-id", "stage"),
    ] {
        let res = get(query).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let e: serde_json::Value = res.json().await.unwrap();
        assert_eq!(e["error"]["code"], "invalid_input", "{query}");
        assert!(
            e["error"]["fields"][field]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{query}: {e}"
        );
    }
    let res = get("sort=cheapest").await.unwrap();
    let e: serde_json::Value = res.json().await.unwrap();
    assert!(
        e["error"]["fields"]["sort"]
            .as_str()
            .unwrap()
            .contains("relevance")
    );

    // Without credentials: 401.
    let res = http
        .get(app.url("/api/v1/resources/search?q=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The API is documented.
    let doc = {
        use utoipa::OpenApi;
        resources::search::api::SearchApiDoc::openapi()
            .to_json()
            .unwrap()
    };
    assert!(doc.contains("/api/v1/resources/search") && doc.contains("SearchResults"));
}

#[tokio::test]
async fn students_find_only_what_is_shared_with_students_and_guardians_are_refused() {
    let app = TestApp::start().await;
    pythagoras(&app).await;
    // 勾股定理's resource is for teachers: a student searching finds nothing of it.
    let c = app.login("student").await;
    let res = c
        .get(app.url("/library/search?q=勾股定理"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(!html.contains("勾股定理》"), "{html}");
    let token = app.token("student").await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/resources/search?q=a"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let found: serde_json::Value = res.json().await.unwrap();
    for item in found["items"].as_array().unwrap() {
        let id: kernel::ResourceId = item["id"].as_str().unwrap().parse().unwrap();
        let (for_students,): (bool,) = kernel::on_db!(&app.state.db, p => sqlx::query_as(
            "SELECT for_students FROM resources WHERE id = $1").bind(id).fetch_one(p).await)
        .unwrap();
        assert!(for_students, "{item}");
    }
    let token = app.token("guardian").await;
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/resources/search?q=a"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let e: serde_json::Value = res.json().await.unwrap();
    assert_eq!(e["error"]["code"], "forbidden");
}
