//! `jiaoyun import`: base-data files from the command line. Today it checks a file (the first
//! step of an import) and writes the error copy; committing comes with the import proper.

use clap::Subcommand;
use directory::filecheck;
use kernel::Locale;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Check a student file (XLSX, XLS or CSV in UTF-8 or GBK) and list every problem by row and
    /// column, without changing anything.
    Check {
        file: PathBuf,
        /// Also write the file as XLSX with a column naming each row's problems.
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Language of the messages: zh-CN (default) or en.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
        /// List at most this many problems (the error copy has them all).
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
}

/// Runs the command; the exit status says whether the file is clean.
pub fn run(cmd: ImportCommand) -> Result<bool, Box<dyn std::error::Error>> {
    let ImportCommand::Check {
        file,
        errors,
        lang,
        limit,
    } = cmd;
    let locale = if lang == "en" {
        Locale::En
    } else {
        Locale::ZhCn
    };
    let t = |k: &str| kernel::i18n::t(locale, k).to_owned();
    let started = std::time::Instant::now();
    let check = match filecheck::check_file(&file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {} ({e})", file.display(), t(&e.key()));
            return Ok(false);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    for p in check.problems.iter().take(limit) {
        println!("{}", filecheck::describe(&check, p, locale));
    }
    if check.problems.len() > limit {
        println!("… {} more", check.problems.len() - limit);
    }
    println!(
        "{}: {:?}, header on row {}, {} rows, {} without problems, {} problems; {:.2} s ({:.0} rows/s)",
        file.display(),
        check.format,
        check.header_row,
        check.rows,
        check.good,
        check.problems.len(),
        secs,
        check.rows as f64 / secs.max(1e-9),
    );
    if let Some(out) = errors {
        let bytes = filecheck::error_copy(&file, &check, &t("import.errors_heading"), |p| {
            filecheck::describe(&check, p, locale)
        })?;
        std::fs::write(&out, bytes)?;
        println!("error copy written to {}", out.display());
    }
    Ok(check.problems.is_empty())
}
