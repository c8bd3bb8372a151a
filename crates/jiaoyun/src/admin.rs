//! `jiaoyun admin …`: the first administrator, password resets and API tokens.

use clap::Subcommand;
use kernel::audit::{AuditEvent, Who};
use kernel::{Actor, AppError, AppResult, AppState, Ctx, RequestMeta};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an administrator of a region or school (the first one, usually). Creates the root
    /// region when the database is empty and --node is a province, city or district code.
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// The administrator's name.
        #[arg(long)]
        name: String,
        /// The division code of a region, or the school code, this administrator manages.
        #[arg(long)]
        node: String,
        /// The password (at least 8 characters, 3 kinds); generated and printed if omitted.
        #[arg(long)]
        password: Option<String>,
    },
    /// Set a new password for an account and end its sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        /// Generated and printed if omitted; the person must change it at next login.
        #[arg(long)]
        password: Option<String>,
    },
    /// Create an API token for an account (printed once).
    CreateToken {
        #[arg(long)]
        username: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Days until it expires (never if omitted).
        #[arg(long)]
        days: Option<i64>,
    },
}

pub fn print_demo_accounts() {
    println!(
        "demo accounts (password {}):",
        directory::demo::DEMO_PASSWORD
    );
    for (u, what) in directory::demo::DEMO_ACCOUNTS {
        println!("  {u:<16} {what}");
    }
}

pub async fn run(state: AppState, cmd: AdminCommand) -> AppResult<()> {
    let system = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(&state, &system, &meta);
    match cmd {
        AdminCommand::CreateAdmin {
            username,
            name,
            node,
            password,
        } => {
            let node = match directory::nodes::find_by_code(&cx, &node).await? {
                Some(n) => n,
                None => create_root_region(&cx, &node).await?,
            };
            let created = directory::people::create(
                &cx,
                directory::people::NewPerson {
                    org_id: node.id,
                    fields: directory::people::PersonInput {
                        name,
                        ..Default::default()
                    },
                    username: Some(username),
                    role: Some(directory::roles::NewGrant {
                        role: "admin".into(),
                        node_id: Some(node.id),
                        subject: None,
                        student_id: None,
                        student_registry_no: None,
                        relation: None,
                    }),
                },
            )
            .await
            .map_err(explain)?;
            match password {
                Some(p) => {
                    set_password(&state, &created.username, &p, false).await?;
                    println!(
                        "administrator {} of {} created",
                        created.username, node.name
                    );
                }
                None => println!(
                    "administrator {} of {} created; initial password: {}",
                    created.username, node.name, created.initial_password
                ),
            }
        }
        AdminCommand::ResetPassword { username, password } => {
            let (p, must_change) = match password {
                Some(p) => (p, false),
                None => (kernel::secret::initial_password(), true),
            };
            set_password(&state, &username, &p, must_change).await?;
            println!(
                "password of {username} set{}",
                if must_change {
                    format!(": {p} (to be changed at next login)")
                } else {
                    String::new()
                }
            );
        }
        AdminCommand::CreateToken {
            username,
            name,
            days,
        } => {
            let account = identity::accounts::find_by_username(&state.db, &username)
                .await?
                .ok_or(AppError::NotFound("identity.account_not_found"))?;
            let expires = days.map(|d| cx.now + chrono::Duration::days(d));
            let mut tx = state.db.begin().await?;
            let (id, token) =
                identity::tokens::create(&mut tx, account.person_id, &name, expires, cx.now)
                    .await?;
            kernel::audit::record(
                &mut tx,
                cx.now,
                Who::from(&system),
                &meta,
                AuditEvent::new("token.create")
                    .object("api_token", id)
                    .detail(serde_json::json!({ "person_id": account.person_id, "name": name })),
            )
            .await?;
            tx.commit().await?;
            println!("{token}");
        }
    }
    Ok(())
}

/// Turns field errors into a readable line for the terminal.
fn explain(e: AppError) -> AppError {
    match e.fields() {
        Some(f) if !f.is_empty() => AppError::Internal(
            f.0.iter()
                .map(|(field, key)| {
                    format!("{field}: {}", kernel::i18n::t(kernel::Locale::En, key))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => e,
    }
}

async fn create_root_region(cx: &Ctx<'_>, code: &str) -> AppResult<directory::model::Node> {
    let code = directory::validate::normalize_code(code);
    let kind = directory::divisions::level_of(&code).ok_or_else(|| {
        AppError::Internal(format!(
            "{code} is neither a known division code nor an existing school code"
        ))
    })?;
    let name = directory::divisions::name_of(&code)
        .unwrap_or_default()
        .to_owned();
    directory::nodes::create(
        cx,
        directory::nodes::NewNode {
            kind: kind.as_str().into(),
            name,
            code: Some(code),
            ..Default::default()
        },
    )
    .await
    .map_err(explain)
}

async fn set_password(
    state: &AppState,
    username: &str,
    password: &str,
    must_change: bool,
) -> AppResult<()> {
    let account = identity::accounts::find_by_username(&state.db, username)
        .await?
        .ok_or(AppError::NotFound("identity.account_not_found"))?;
    let (name, id_number, phone) =
        identity::login::personal_data(&state.db, account.person_id).await?;
    let about = identity::strength::About {
        username: &account.username,
        name: Some(&name),
        id_number: id_number.as_deref(),
        phone: phone.as_deref(),
    };
    identity::policy::for_person(state, account.person_id)
        .await?
        .check_new_password(password, &about)
        .map_err(|k| AppError::Internal(kernel::i18n::t(kernel::Locale::En, k).to_owned()))?;
    let hash = identity::password::hash(state, password.to_owned()).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    identity::accounts::set_password(&mut tx, account.person_id, &hash, must_change, now).await?;
    identity::sessions::end_all(&mut tx, account.person_id, None, "password_reset", now).await?;
    kernel::audit::record(
        &mut tx,
        now,
        Who {
            id: None,
            name: Some("system"),
        },
        &RequestMeta::cli(),
        AuditEvent::new("person.reset_password").object("person", account.person_id),
    )
    .await?;
    tx.commit().await
}
