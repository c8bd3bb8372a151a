//! The names of grades as the platform writes them (三年级, 七年级, 高一, 小班).

use crate::kinds::Stage;

const GRADE_NAMES: [&str; 12] = [
    "一年级",
    "二年级",
    "三年级",
    "四年级",
    "五年级",
    "六年级",
    "七年级",
    "八年级",
    "九年级",
    "高一",
    "高二",
    "高三",
];

/// The name of year `year` of `stage`.
pub fn grade_name(stage: Stage, year: u8) -> String {
    let i = usize::from(year.clamp(1, 12) - 1);
    match stage {
        Stage::Primary | Stage::Vocational | Stage::Special => GRADE_NAMES[i].into(),
        Stage::Junior => GRADE_NAMES[(6 + i).min(11)].into(),
        Stage::Senior => GRADE_NAMES[(9 + i).min(11)].into(),
        Stage::Preschool => ["小班", "中班", "大班"][i.min(2)].into(),
    }
}
