//! Courseware made from a plan (课件制作): the plan's slides, as the classroom shows them,
//! written as a PowerPoint file (PPTX, Office Open XML) that PowerPoint, WPS and LibreOffice
//! open, and kept in the library as a `courseware` resource of the plan's chapter. The file is
//! made again from the latest version each time; the resource keeps every version.

use super::{Content, Plan, PlanId};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, Locale, on_tx};
use resources::model::ResourceRow;
use std::io::Write;

/// One paragraph of a slide: a heading (bold) or a line of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Para {
    pub text: String,
    pub heading: bool,
}

/// One slide: its title and its paragraphs.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub title: String,
    pub body: Vec<Para>,
}

/// The plan's slides in the platform's language: the title slide (objectives, key points), a
/// slide per step (its minutes, activities and the resources placed in it), the closing slide
/// (board plan, homework).
/// The slides of a plan: `questions[i]` are the lines of the bank items on step `i` (their
/// stems and choices; formulas stay as typed LaTeX).
pub fn sheets(c: &Content, questions: &[Vec<String>]) -> Vec<Sheet> {
    let l = Locale::default();
    let t = |k: &str| kernel::i18n::t(l, k).to_owned();
    let block = |body: &mut Vec<Para>, key: &str, text: &str| {
        if text.is_empty() {
            return;
        }
        body.push(Para {
            text: t(key),
            heading: true,
        });
        body.extend(text.lines().map(|line| Para {
            text: line.to_owned(),
            heading: false,
        }));
    };
    let mut first = Vec::new();
    block(&mut first, "lesson_prep.section.objectives", &c.objectives);
    block(&mut first, "lesson_prep.section.key_points", &c.key_points);
    let mut out = vec![Sheet {
        title: c.title.clone(),
        body: first,
    }];
    for (i, s) in c.steps.iter().enumerate() {
        let mut body = vec![Para {
            text: kernel::i18n::tf(l, "lesson_prep.minutes", &[("n", &s.minutes.to_string())]),
            heading: true,
        }];
        body.extend(s.content.lines().map(|line| Para {
            text: line.to_owned(),
            heading: false,
        }));
        for link in s.links.iter().filter(|k| !k.title.is_empty()) {
            body.push(Para {
                text: format!("{}《{}》", t("lesson_prep.resource_prefix"), link.title),
                heading: false,
            });
        }
        body.extend(questions.get(i).into_iter().flatten().map(|line| Para {
            text: line.clone(),
            heading: false,
        }));
        out.push(Sheet {
            title: s.title.clone(),
            body,
        });
    }
    let mut last = Vec::new();
    block(&mut last, "lesson_prep.section.board", &c.board);
    block(&mut last, "lesson_prep.section.homework", &c.homework);
    out.push(Sheet {
        title: c.title.clone(),
        body: last,
    });
    out
}

/// Text for an XML element or attribute: escaped, without the control characters XML forbids.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

const NS: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
const EMPTY_TREE: &str = r#"<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/><a:chOff x="0" y="0"/><a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr>"#;

fn text_box(id: u32, name: &str, (x, y, cx, cy): (u32, u32, u32, u32), paras: &str) -> String {
    format!(
        r#"<p:sp><p:nvSpPr><p:cNvPr id="{id}" name="{name}"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm><a:off x="{x}" y="{y}"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/></p:spPr><p:txBody><a:bodyPr wrap="square" rtlCol="0"><a:normAutofit/></a:bodyPr><a:lstStyle/>{paras}</p:txBody></p:sp>"#
    )
}

fn run(text: &str, size: u32, bold: bool) -> String {
    format!(
        r#"<a:p><a:r><a:rPr lang="zh-CN" altLang="en-US" sz="{size}" b="{}" dirty="0"/><a:t>{}</a:t></a:r></a:p>"#,
        u8::from(bold),
        xml(text)
    )
}

fn slide(s: &Sheet) -> String {
    let title = text_box(
        2,
        "Title",
        (457_200, 304_800, 11_277_600, 1_066_800),
        &run(&s.title, 4000, true),
    );
    let body: String = if s.body.is_empty() {
        "<a:p><a:endParaRPr lang=\"zh-CN\"/></a:p>".into()
    } else {
        s.body
            .iter()
            .map(|p| run(&p.text, if p.heading { 2400 } else { 2000 }, p.heading))
            .collect()
    };
    let body = text_box(
        3,
        "Body",
        (457_200, 1_524_000, 11_277_600, 4_953_000),
        &body,
    );
    format!(
        r#"{HEAD}<p:sld {NS}><p:cSld><p:spTree>{EMPTY_TREE}{title}{body}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"#
    )
}

fn theme() -> String {
    let colour = |name: &str, rgb: &str| format!("<a:{name}><a:srgbClr val=\"{rgb}\"/></a:{name}>");
    let colours: String = [
        ("dk1", "000000"),
        ("lt1", "FFFFFF"),
        ("dk2", "1F2328"),
        ("lt2", "F6F8FA"),
        ("accent1", "0B5CAD"),
        ("accent2", "1A7F37"),
        ("accent3", "BF8700"),
        ("accent4", "CF222E"),
        ("accent5", "8250DF"),
        ("accent6", "57606A"),
        ("hlink", "0969DA"),
        ("folHlink", "8250DF"),
    ]
    .iter()
    .map(|(n, c)| colour(n, c))
    .collect();
    let font = |tag: &str| {
        format!(
            r#"<a:{tag}><a:latin typeface="Arial"/><a:ea typeface="Microsoft YaHei"/><a:cs typeface=""/></a:{tag}>"#
        )
    };
    let fill = r#"<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>"#;
    let line = r#"<a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>"#;
    let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>";
    format!(
        r#"{HEAD}<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Jiaoyun"><a:themeElements><a:clrScheme name="Jiaoyun">{colours}</a:clrScheme><a:fontScheme name="Jiaoyun">{}{}</a:fontScheme><a:fmtScheme name="Jiaoyun"><a:fillStyleLst>{fill}{fill}{fill}</a:fillStyleLst><a:lnStyleLst>{line}{line}{line}</a:lnStyleLst><a:effectStyleLst>{effect}{effect}{effect}</a:effectStyleLst><a:bgFillStyleLst>{fill}{fill}{fill}</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>"#,
        font("majorFont"),
        font("minorFont")
    )
}

/// The slides as a PPTX file.
pub fn pptx(sheets: &[Sheet]) -> AppResult<Vec<u8>> {
    let n = sheets.len();
    let mut parts: Vec<(String, String)> = Vec::new();
    let overrides: String = (1..=n)
        .map(|i| format!(r#"<Override PartName="/ppt/slides/slide{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>"#))
        .collect();
    parts.push((
        "[Content_Types].xml".into(),
        format!(
            r#"{HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/><Override PartName="/ppt/slideMasters/slideMaster1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml"/><Override PartName="/ppt/slideLayouts/slideLayout1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml"/><Override PartName="/ppt/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/>{overrides}</Types>"#
        ),
    ));
    parts.push((
        "_rels/.rels".into(),
        format!(
            r#"{HEAD}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="ppt/presentation.xml"/></Relationships>"#
        ),
    ));
    let slide_ids: String = (1..=n)
        .map(|i| format!(r#"<p:sldId id="{}" r:id="rId{}"/>"#, 255 + i, i + 2))
        .collect();
    parts.push((
        "ppt/presentation.xml".into(),
        format!(
            r#"{HEAD}<p:presentation {NS}><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst><p:sldIdLst>{slide_ids}</p:sldIdLst><p:sldSz cx="12192000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>"#
        ),
    ));
    let slide_rels: String = (1..=n)
        .map(|i| {
            format!(
                r#"<Relationship Id="rId{}" Type="{REL}/slide" Target="slides/slide{i}.xml"/>"#,
                i + 2
            )
        })
        .collect();
    parts.push((
        "ppt/_rels/presentation.xml.rels".into(),
        format!(
            r#"{HEAD}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/slideMaster" Target="slideMasters/slideMaster1.xml"/><Relationship Id="rId2" Type="{REL}/theme" Target="theme/theme1.xml"/>{slide_rels}</Relationships>"#
        ),
    ));
    parts.push((
        "ppt/slideMasters/slideMaster1.xml".into(),
        format!(
            r#"{HEAD}<p:sldMaster {NS}><p:cSld><p:bg><p:bgRef idx="1001"><a:schemeClr val="bg1"/></p:bgRef></p:bg><p:spTree>{EMPTY_TREE}</p:spTree></p:cSld><p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/><p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>"#
        ),
    ));
    parts.push((
        "ppt/slideMasters/_rels/slideMaster1.xml.rels".into(),
        format!(
            r#"{HEAD}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/slideLayout" Target="../slideLayouts/slideLayout1.xml"/><Relationship Id="rId2" Type="{REL}/theme" Target="../theme/theme1.xml"/></Relationships>"#
        ),
    ));
    parts.push((
        "ppt/slideLayouts/slideLayout1.xml".into(),
        format!(
            r#"{HEAD}<p:sldLayout {NS} type="blank" preserve="1"><p:cSld name="Blank"><p:spTree>{EMPTY_TREE}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"#
        ),
    ));
    parts.push((
        "ppt/slideLayouts/_rels/slideLayout1.xml.rels".into(),
        format!(
            r#"{HEAD}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/slideMaster" Target="../slideMasters/slideMaster1.xml"/></Relationships>"#
        ),
    ));
    parts.push(("ppt/theme/theme1.xml".into(), theme()));
    for (i, s) in sheets.iter().enumerate() {
        let i = i + 1;
        parts.push((format!("ppt/slides/slide{i}.xml"), slide(s)));
        parts.push((
            format!("ppt/slides/_rels/slide{i}.xml.rels"),
            format!(
                r#"{HEAD}<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/slideLayout" Target="../slideLayouts/slideLayout1.xml"/></Relationships>"#
            ),
        ));
    }
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in &parts {
        w.start_file(name.as_str(), opts)
            .map_err(AppError::internal)?;
        w.write_all(text.as_bytes()).map_err(AppError::internal)?;
    }
    Ok(w.finish().map_err(AppError::internal)?.into_inner())
}

/// Makes the author's plan (its latest version) into courseware in the library: a new private
/// `courseware` resource of the plan's chapter the first time, a new version of it after. The
/// author shares it through the library's review like any resource.
pub async fn save(cx: &Ctx<'_>, id: PlanId) -> AppResult<ResourceRow> {
    let plan: Plan = super::get_own(cx, id).await?;
    let content = super::content(cx, &plan, None).await?;
    let mut questions = Vec::new();
    for s in &content.steps {
        let mut lines = Vec::new();
        for id in &s.items {
            // An item gone, or one the author no longer sees, is left out.
            let Ok(item) = crate::items::bank::get(cx, *id).await else {
                continue;
            };
            lines.push(kernel::i18n::tf(
                Locale::default(),
                "lesson_prep.question_line",
                &[("stem", item.stem.as_str())],
            ));
            if matches!(item.kind.as_str(), "single" | "multiple") {
                for (n, c) in item.options().choices.iter().enumerate() {
                    lines.push(format!("{}. {c}", char::from(b'A' + (n as u8).min(25))));
                }
            }
        }
        questions.push(lines);
    }
    let bytes = pptx(&sheets(&content, &questions))?;
    let title = kernel::i18n::tf(
        Locale::default(),
        "lesson_prep.courseware_title",
        &[("title", &content.title)],
    );
    let r = super::share::to_library(
        cx,
        plan.catalog_id,
        plan.courseware_id,
        super::share::LibraryFile {
            name: format!("{}.pptx", super::share::file_stem(&content.title)),
            bytes,
            kind: "courseware",
            title,
            description: content.objectives.chars().take(200).collect(),
        },
    )
    .await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "UPDATE lesson_plans SET courseware_id = $2 WHERE id = $1",
    ).bind(id).bind(r.id).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("lesson_plan.courseware")
            .object("lesson_plan", id)
            .node(plan.class_id)
            .detail(serde_json::json!({ "version": plan.version, "resource": r.id })),
    )
    .await?;
    tx.commit().await?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steps_questions_follow_its_text_on_its_slide() {
        let c = crate::lesson_prep::Content {
            title: "识字".into(),
            steps: vec![
                crate::lesson_prep::Step {
                    title: "导入".into(),
                    ..Default::default()
                },
                crate::lesson_prep::Step {
                    title: "练习".into(),
                    content: "读一读".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let s = sheets(
            &c,
            &[
                Vec::new(),
                vec!["【提问】“天”是第几声？".into(), "A. 第一声".into()],
            ],
        );
        assert_eq!(s.len(), 4, "title, two steps, closing");
        let texts: Vec<&str> = s[2].body.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            &texts[texts.len() - 3..],
            ["读一读", "【提问】“天”是第几声？", "A. 第一声"]
        );
        assert!(s[1].body.iter().all(|p| !p.text.contains("提问")));
    }

    #[test]
    fn the_file_has_every_part_and_a_slide_per_sheet() {
        let sheets = vec![
            Sheet {
                title: "《天地人》 & <识字>".into(),
                body: vec![Para {
                    text: "认识\u{1}生字".into(),
                    heading: false,
                }],
            },
            Sheet {
                title: "小结".into(),
                body: Vec::new(),
            },
        ];
        let bytes = pptx(&sheets).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = (0..z.len())
            .map(|i| z.by_index(i).unwrap().name().unwrap().into_owned())
            .collect();
        names.sort();
        for part in [
            "[Content_Types].xml",
            "_rels/.rels",
            "ppt/presentation.xml",
            "ppt/slideMasters/slideMaster1.xml",
            "ppt/slideLayouts/slideLayout1.xml",
            "ppt/theme/theme1.xml",
            "ppt/slides/slide1.xml",
            "ppt/slides/slide2.xml",
        ] {
            assert!(names.iter().any(|n| n == part), "{part} in {names:?}");
        }
        assert!(!names.iter().any(|n| n == "ppt/slides/slide3.xml"));
        let mut first = String::new();
        std::io::Read::read_to_string(&mut z.by_name("ppt/slides/slide1.xml").unwrap(), &mut first)
            .unwrap();
        assert!(first.contains("《天地人》 &amp; &lt;识字&gt;"), "escaped");
        assert!(first.contains("认识生字"), "control characters dropped");
    }
}
