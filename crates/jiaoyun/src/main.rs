//! `jiaoyun`: the one binary of the platform.

use clap::{Parser, Subcommand};
use jiaoyun::{admin, audit, bench, export, import, index, server};
use kernel::{AppState, Clock, Config, Db};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "jiaoyun",
    version,
    about = "Jiaoyun (教云): a regional education cloud platform"
)]
struct Cli {
    /// A TOML config file (also JIAOYUN_CONFIG). JIAOYUN_* variables override it.
    #[arg(long, global = true, env = "JIAOYUN_CONFIG")]
    config: Option<PathBuf>,
    /// sqlite://path or postgres://user@host/db (overrides the config).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform over HTTP (migrates the database first).
    Serve {
        /// Load the demo region into an empty database and show the demo accounts.
        #[arg(long)]
        demo: bool,
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Load the demo region into an empty database and exit.
    Demo,
    /// Administration from the command line.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Base-data files: check a student file (and write its error copy), import one into a school.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Base data out: the OneRoster 1.2 bundle of a region or school.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Benchmarks that generate their own data and print numbers.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// This node's search index: rebuild it from the database, catch it up, show its state.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// The tamper-evident audit log: verify it, anchor it, archive what is past retention, and
    /// the PostgreSQL grants that protect it.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Print a new VAPID key pair for Web Push (`notify.web_push`): give every node the same.
    WebPushKeys,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Checking a file needs neither the configuration's database nor a runtime.
    if let Command::Import(cmd @ import::ImportCommand::Check { .. }) = cli.command {
        return match import::check(cmd) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("jiaoyun: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::WebPushKeys = cli.command {
        return match channels::web_push::generate_keys() {
            Ok((public, private)) => {
                println!(
                    "[notify.web_push]\npublic_key = \"{public}\"\nprivate_key = \"{private}\"\nsubject = \"mailto:ops@example.cn\""
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("jiaoyun: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jiaoyun: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jiaoyun: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("jiaoyun: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(config: &Config) -> Result<Db, Box<dyn std::error::Error>> {
    let db = Db::connect_sized(
        &config.database_url,
        config.database_max_connections,
        config.database_cache_mib,
    )
    .await?;
    db.migrate(jiaoyun::SCHEMAS).await?;
    Ok(db)
}

/// Runs the command; `false` means it ran but the outcome is a failure (exit status 1).
async fn run(command: Command, mut config: Config) -> Result<bool, Box<dyn std::error::Error>> {
    match command {
        Command::Serve { demo, listen } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            config.demo |= demo;
            server::init_tracing(&config);
            let db = connect(&config).await?;
            let state = jiaoyun::server::with_replica(AppState::new(db, config, Clock::System))?;
            if state.config.demo && jiaoyun::load_demo(&state).await? {
                tracing::info!("demo region loaded");
            }
            server::serve(state).await?;
        }
        Command::Migrate => {
            connect(&config).await?;
            println!(
                "migrations applied to {}",
                kernel::db::redact_url(&config.database_url)
            );
        }
        Command::Demo => {
            let db = connect(&config).await?;
            let state = AppState::new(db, config, Clock::System);
            if jiaoyun::load_demo(&state).await? {
                println!("demo region loaded");
                admin::print_demo_accounts();
            } else {
                println!("the database is not empty; demo region not loaded");
            }
        }
        Command::Admin(cmd) => {
            let db = connect(&config).await?;
            admin::run(AppState::new(db, config, Clock::System), cmd).await?;
        }
        Command::Bench(cmd) => bench::run(config, cmd).await?,
        Command::Index(cmd) => {
            let db = connect(&config).await?;
            index::run(AppState::new(db, config, Clock::System), cmd).await?;
        }
        Command::Audit(cmd) => {
            let db = connect(&config).await?;
            return Ok(audit::run(AppState::new(db, config, Clock::System), cmd).await?);
        }
        Command::Export(cmd) => {
            return export::run(
                AppState::new(connect(&config).await?, config, Clock::System),
                cmd,
            )
            .await;
        }
        Command::Import(cmd) => {
            let db = connect(&config).await?;
            return import::students(AppState::new(db, config, Clock::System), cmd).await;
        }
        // Answered in `main` without the configuration.
        Command::WebPushKeys => {}
    }
    Ok(true)
}
