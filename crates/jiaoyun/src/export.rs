//! `jiaoyun export`: base data out of the platform from the command line, through the same
//! service functions (and the same audit records) as the pages.

use clap::Subcommand;
use kernel::{Actor, AppState, Ctx, RequestMeta};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// The OneRoster 1.2 CSV bundle (a ZIP) of a region or school.
    Oneroster {
        /// The region's division code or the school's 10-digit code.
        #[arg(long)]
        node: String,
        /// Where to write the ZIP.
        #[arg(long)]
        out: PathBuf,
        /// Include phones and e-mail addresses (audited as an export of personal data).
        #[arg(long)]
        unmasked: bool,
    },
}

/// Runs an export as the system actor; the result says whether a file was written.
pub async fn run(state: AppState, cmd: ExportCommand) -> Result<bool, Box<dyn std::error::Error>> {
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(&state, &actor, &meta);
    match cmd {
        ExportCommand::Oneroster {
            node,
            out,
            unmasked,
        } => {
            let Some(n) = directory::nodes::find_by_code(&cx, node.trim()).await? else {
                eprintln!("jiaoyun: no region or school with the code {node}");
                return Ok(false);
            };
            let f = directory::export::oneroster::export(&cx, n.id, unmasked).await?;
            std::fs::write(&out, &f.bytes)?;
            println!(
                "{}: OneRoster 1.2 bundle of {} ({} bytes)",
                out.display(),
                n.name,
                f.bytes.len()
            );
        }
    }
    Ok(true)
}
