//! What a person form or the API gives for a person: the whole object (`PUT`), a partial
//! change (`PATCH`), and their normalising and checking.

use super::{Person, get_visible, update};
use crate::validate;
use kernel::{AppError, AppResult, Ctx, FieldErrors, PersonId};
use serde::{Deserialize, Serialize};

/// The fields a person form carries. Empty strings mean "none".
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PersonInput {
    pub name: String,
    /// GB/T 2261.1: 0 unknown, 1 male, 2 female, 9 unspecified.
    pub gender: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// 工号 (school-scoped).
    pub staff_no: Option<String>,
    /// 全国学籍号.
    pub registry_no: Option<String>,
}

impl PersonInput {
    /// The fields a whole replacement (`PUT`) must carry, each (`null` for none).
    pub const FIELDS: [&str; 7] = [
        "name",
        "gender",
        "id_number",
        "phone",
        "email",
        "staff_no",
        "registry_no",
    ];

    /// A whole person from a JSON body: every field present (a left-out field is an error
    /// naming it, never an erased value), nothing else.
    pub fn whole(body: serde_json::Value) -> AppResult<Self> {
        let Some(obj) = body.as_object() else {
            return Err(AppError::field("body", "error.invalid_json"));
        };
        let mut errors = FieldErrors::new();
        for f in Self::FIELDS {
            if !obj.contains_key(f) {
                errors.add(f, "error.required");
            }
        }
        for k in obj.keys().filter(|k| !Self::FIELDS.contains(&k.as_str())) {
            errors.add(k, "error.unknown_field");
        }
        errors.into_result()?;
        serde_json::from_value(body).map_err(|_| AppError::field("body", "error.invalid_json"))
    }
}

/// A partial change (`PATCH`): a field left out keeps its value, `null` clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub id_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub staff_no: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub registry_no: Option<Option<String>>,
}

/// A field that is present: `Some(None)` for `null`, `Some(Some(v))` for a value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes the fields a patch names; the others keep their values.
pub async fn patch(cx: &Ctx<'_>, id: PersonId, p: PersonPatch) -> AppResult<Person> {
    let b = get_visible(cx, id).await?;
    let keep = |change: Option<Option<String>>, old: Option<String>| change.unwrap_or(old);
    let input = PersonInput {
        name: p.name.unwrap_or(b.name),
        gender: keep(p.gender, Some(b.gender)),
        id_number: keep(p.id_number, b.id_number),
        phone: keep(p.phone, b.phone),
        email: keep(p.email, b.email),
        staff_no: keep(p.staff_no, b.staff_no),
        registry_no: keep(p.registry_no, b.registry_no),
    };
    update(cx, id, input).await
}

/// Normalised and checked fields.
pub(super) struct Clean {
    pub(super) name: String,
    pub(super) gender: String,
    pub(super) id_number: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
    pub(super) staff_no: Option<String>,
    pub(super) registry_no: Option<String>,
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(validate::normalize_code)
        .filter(|s| !s.is_empty())
}

pub(super) fn clean(input: &PersonInput, errors: &mut FieldErrors) -> Clean {
    if let Err(k) = validate::name(&input.name, 36) {
        errors.add("name", k);
    }
    let gender = input
        .gender
        .clone()
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| "0".into());
    if !matches!(gender.as_str(), "0" | "1" | "2" | "9") {
        errors.add("gender", "error.invalid_choice");
    }
    let id_number = opt(&input.id_number).map(|s| s.to_uppercase());
    if let Some(Err(k)) = id_number.as_deref().map(validate::id_number) {
        errors.add("id_number", k);
    }
    let phone = opt(&input.phone);
    if let Some(Err(k)) = phone.as_deref().map(validate::mobile) {
        errors.add("phone", k);
    }
    let email = input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if let Some(Err(k)) = email.as_deref().map(validate::email) {
        errors.add("email", k);
    }
    let staff_no = opt(&input.staff_no);
    if let Some(Err(k)) = staff_no.as_deref().map(validate::staff_no) {
        errors.add("staff_no", k);
    }
    let registry_no = opt(&input.registry_no).map(|s| s.to_uppercase());
    if let Some(Err(k)) = registry_no.as_deref().map(validate::registry_no) {
        errors.add("registry_no", k);
    }
    Clean {
        name: input.name.trim().to_owned(),
        gender,
        id_number,
        phone,
        email,
        staff_no,
        registry_no,
    }
}
