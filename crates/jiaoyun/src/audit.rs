//! The tamper-evident audit log on a node: the chainer that links what this node wrote, the
//! daily anchor, retention with archiving to object storage, and `jiaoyun audit`.

use clap::Subcommand;
use kernel::audit::anchor::{self, AnchorKey};
use kernel::audit::{chain, retention, verify};
use kernel::{AppError, AppResult, AppState, Db};
use std::time::Duration;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Prove every chain, entry and anchor, or name the first broken entry (exit status 1).
    Verify,
    /// Link what is pending and sign an anchor over every chain's head now.
    Anchor,
    /// Archive the entries past `audit_retention_days` to object storage and remove them
    /// (what the maintenance job does hourly).
    Archive,
    /// Print the anchor key's public half (made if missing), for `audit.anchor_public_key`.
    PublicKey,
    /// PostgreSQL: the statements that keep the application's role from changing the audit log
    /// and let a separate retention role remove archived entries; `--apply` runs them.
    Grants {
        #[arg(long)]
        app_role: String,
        #[arg(long)]
        retention_role: String,
        #[arg(long)]
        apply: bool,
    },
}

/// Runs the command; `false` when the log does not verify.
pub async fn run(state: AppState, cmd: AuditCommand) -> AppResult<bool> {
    let now = state.clock.now();
    match cmd {
        AuditCommand::Verify => {
            chain::link_pending(&state.db, kernel::audit::writer(), now, true).await?;
            let public = anchor::public_key(&state.config)?;
            let r = verify::verify(&state.db, &public, now).await?;
            println!(
                "{} chains, {} links, {} entries checked, {} archived, {} anchors",
                r.chains, r.links, r.entries, r.archived, r.anchors
            );
            if let Some(b) = r.broken {
                println!("BROKEN: {b}");
                return Ok(false);
            }
            println!("the audit log is intact");
        }
        AuditCommand::Anchor => {
            let key = AnchorKey::load_or_create(&state.config.anchor_key_file())?;
            chain::link_pending(&state.db, kernel::audit::writer(), now, true).await?;
            let a = anchor::anchor(&state.db, &key, &chain::time(now), now).await?;
            println!("anchor {} signed by key {}: {}", a.day, a.key_id, a.heads);
        }
        AuditCommand::Archive => {
            let out = archive(&state).await?;
            match out.object_key {
                Some(k) => println!("{} entries archived to {k} and removed", out.archived),
                None => println!("nothing is past retention"),
            }
        }
        AuditCommand::PublicKey => {
            let key = AnchorKey::load_or_create(&state.config.anchor_key_file())?;
            println!("{}", key.public_base64());
        }
        AuditCommand::Grants {
            app_role,
            retention_role,
            apply,
        } => {
            let sql = grants(&app_role, &retention_role)?;
            if apply {
                let Db::Postgres(p) = &state.db else {
                    return Err(AppError::internal("grants are for PostgreSQL"));
                };
                for stmt in &sql {
                    sqlx::query(sqlx::AssertSqlSafe(stmt.clone()))
                        .execute(p)
                        .await?;
                }
                println!("applied {} statements", sql.len());
            } else {
                for stmt in sql {
                    println!("{stmt};");
                }
            }
        }
    }
    Ok(true)
}

const TABLES: &str = "audit_log, audit_chain, audit_chain_entries, audit_anchors, audit_archives";

/// The privileges of the two roles over the audit tables.
pub fn grants(app_role: &str, retention_role: &str) -> AppResult<Vec<String>> {
    let ident = |r: &str| {
        if !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(format!("\"{r}\""))
        } else {
            Err(AppError::internal(format!(
                "{r:?} is not a role name (letters, digits, _)"
            )))
        }
    };
    let (app, ret) = (ident(app_role)?, ident(retention_role)?);
    Ok(vec![
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON {TABLES} FROM {app}"),
        format!("GRANT SELECT, INSERT ON {TABLES} TO {app}"),
        format!("REVOKE INSERT, UPDATE, TRUNCATE ON {TABLES} FROM {ret}"),
        format!("GRANT SELECT ON {TABLES} TO {ret}"),
        format!("GRANT DELETE ON audit_log TO {ret}"),
        format!("GRANT INSERT ON audit_archives TO {ret}"),
    ])
}

/// Archives and removes what is past retention: the archive goes to the files' object store,
/// the removal runs as the retention role when one is configured.
pub async fn archive(state: &AppState) -> AppResult<retention::Outcome> {
    let now = state.clock.now();
    let key = AnchorKey::load_or_create(&state.config.anchor_key_file())?;
    let store = resources::files::store::store(state)?;
    let purger = match &state.config.audit.retention_database_url {
        Some(url) => Db::connect(url.expose(), 2).await?,
        None => state.db.clone(),
    };
    let cutoff = now - chrono::Duration::days(i64::from(state.config.audit_retention_days));
    let put = async |key: String, bytes: Vec<u8>| -> AppResult<()> {
        store
            .put(&object_store::path::Path::from(key), bytes.into())
            .await
            .map(|_| ())
            .map_err(AppError::internal)
    };
    let out = retention::archive_and_purge(&state.db, &purger, &key, cutoff, now, put).await;
    if state.config.audit.retention_database_url.is_some() {
        purger.close().await;
    }
    out
}

/// Retention from the maintenance job: only once a day's worth of entries is past retention,
/// so the whole-log verification before an archive runs about daily, not hourly.
pub async fn archive_due(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    let due = now - chrono::Duration::days(i64::from(state.config.audit_retention_days) + 1);
    let (oldest,): (Option<chrono::DateTime<chrono::Utc>>,) = kernel::on_db!(&state.db, p =>
        sqlx::query_as("SELECT MIN(at) FROM audit_log").fetch_one(p).await)?;
    if oldest.is_none_or(|o| o >= due) {
        return Ok(0);
    }
    Ok(archive(state).await?.archived)
}

/// The daily anchor (one per UTC day, whichever node signs it first).
pub async fn daily_anchor(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    let key = AnchorKey::load_or_create(&state.config.anchor_key_file())?;
    anchor::anchor(&state.db, &key, &now.format("%Y-%m-%d").to_string(), now).await?;
    Ok(1)
}

/// Every `audit.chain_seconds`: link what this node wrote; at start and then hourly, look hours
/// back for entries of long transactions.
pub async fn chainer(state: AppState) {
    let seconds = state.config.audit.chain_seconds.max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(seconds));
    let deep_every = (3600 / seconds).max(1);
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        let deep = n.is_multiple_of(deep_every);
        n += 1;
        let now = state.clock.now();
        match chain::link_pending(&state.db, kernel::audit::writer(), now, deep).await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("background_job_rows_total", "job" => "audit_chain").increment(n);
            }
            Err(e) => {
                metrics::counter!("background_job_failures_total", "job" => "audit_chain")
                    .increment(1);
                tracing::error!(error = %e, "audit chaining failed");
            }
        }
    }
}
