//! What each JY/T 1001 registry change kind (jyt1001_registry_change_kind) does to a student's
//! record and class. The table is shared with higher education; a school records the kinds
//! below, and the others (转专业, 专升本, …) are refused.

use crate::codes::{self, Table};

/// The effect of a registry change on the student.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Into another class of the same school (转班级, and 留级 / 降级 / 跳级 into another grade).
    ClassChange,
    /// 休学 and the like: status `suspended`, the student leaves the class (its history row
    /// closes); 复学 puts them into a class the administrator chooses.
    Leave,
    /// 停学: status `suspended`, the student keeps the class (they come back to it).
    Suspend,
    /// 复学: a suspended student is enrolled again, in a class the administrator chooses (or the
    /// one they kept).
    Return,
    /// 恢复学籍: a student who left is enrolled again, in a class the administrator chooses.
    Restore,
    /// 退学, 开除学籍, 死亡, 取消学籍, 肄业: status `left`, the student leaves the class.
    Exit,
    /// 转学（转出）/（转入）: written only by an approved transfer.
    Transfer,
    /// 其他: recorded, nothing else changes.
    Note,
}

/// Class change kinds: 转班级, 留级, 降级, 跳级.
pub const CLASS_CHANGE_KINDS: &[&str] = &["29", "02", "03", "04"];

/// The kinds an administrator records on a student's page, in the order the form lists them.
pub const RECORDABLE_KINDS: &[&str] = &[
    "11", "19", "01", "13", "12", "08", "31", "42", "18", "63", "51", "17", "99",
];

/// Transfer out and in.
pub const TRANSFER_OUT: &str = "21";
pub const TRANSFER_IN: &str = "22";

/// What a kind does, or `None` for kinds a school does not record.
pub fn effect(kind: &str) -> Option<Effect> {
    Some(match kind {
        "29" | "02" | "03" | "04" => Effect::ClassChange,
        // 休学, 保留学籍, 公派留学
        "11" | "19" | "01" => Effect::Leave,
        // 停学
        "13" => Effect::Suspend,
        // 复学, 回国复学
        "12" | "08" => Effect::Return,
        "17" => Effect::Restore,
        // 退学, 开除学籍, 取消学籍, 肄业, 死亡
        "31" | "42" | "18" | "63" | "51" => Effect::Exit,
        "21" | "22" => Effect::Transfer,
        "99" => Effect::Note,
        _ => return None,
    })
}

impl Effect {
    /// Whether a reason code must be given.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Self::Leave | Self::Suspend | Self::Exit | Self::Transfer
        )
    }

    /// Whether the change may be recorded for a student whose record says `status`.
    pub fn allowed_from(self, status: &str) -> bool {
        match self {
            Self::ClassChange | Self::Leave | Self::Suspend | Self::Transfer => {
                status == "enrolled"
            }
            Self::Exit => matches!(status, "enrolled" | "suspended"),
            Self::Return => status == "suspended",
            Self::Restore => status == "left",
            Self::Note => true,
        }
    }

    /// The status the record has afterwards (`None`: unchanged).
    pub fn status_after(self) -> Option<&'static str> {
        match self {
            Self::Leave | Self::Suspend => Some("suspended"),
            Self::Exit => Some("left"),
            Self::Return | Self::Restore => Some("enrolled"),
            Self::ClassChange | Self::Transfer | Self::Note => None,
        }
    }
}

/// The name of a kind code.
pub fn kind_name(code: &str) -> String {
    codes::name(Table::RegistryChangeKind, code)
        .unwrap_or(code)
        .to_owned()
}

/// The name of a reason code.
pub fn reason_name(code: &str) -> String {
    codes::name(Table::RegistryChangeReason, code)
        .unwrap_or(code)
        .to_owned()
}

/// (code, name) of every reason, for the forms.
pub fn reasons() -> Vec<(String, String)> {
    codes::all(Table::RegistryChangeReason)
        .iter()
        .map(|c| (c.code.clone(), c.name.clone()))
        .collect()
}

/// (code, name) of the given kinds, for the forms.
pub fn kinds(list: &[&str]) -> Vec<(String, String)> {
    list.iter()
        .map(|k| ((*k).to_owned(), kind_name(k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_kind_exists_and_has_an_effect() {
        for k in RECORDABLE_KINDS
            .iter()
            .chain(CLASS_CHANGE_KINDS)
            .chain(&[TRANSFER_OUT, TRANSFER_IN])
        {
            assert!(
                codes::name(Table::RegistryChangeKind, k).is_some(),
                "{k} is in the table"
            );
            assert!(effect(k).is_some(), "{k} has an effect");
        }
        assert_eq!(effect("23"), None, "转专业 is not for schools");
        assert_eq!(
            effect("11").and_then(Effect::status_after),
            Some("suspended")
        );
        assert!(!Effect::Return.allowed_from("enrolled"));
        assert!(Effect::Exit.allowed_from("suspended"));
        assert!(!Effect::Transfer.allowed_from("left"));
    }
}
