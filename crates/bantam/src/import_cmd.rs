//! `bantam import-fail2ban DIR`: a fail2ban configuration as bantam's native
//! TOML on standard output, with a `# not translated: …` comment for
//! anything that has no native equivalent yet. The output is checked by
//! resolving it as `bantam run` would before it is printed, so what the
//! user saves is a configuration that starts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use bantam_config::fail2ban::{render_native_toml, Fail2banTree};
use clap::Args;

#[derive(Args)]
pub struct ImportArgs {
    /// The fail2ban configuration directory (e.g. /etc/fail2ban).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let tree = Fail2banTree::load(&args.dir)
        .with_context(|| format!("reading fail2ban configuration {}", args.dir.display()))?;
    let toml = render_native_toml(&tree);
    // Relative paths in the output resolve against the current directory,
    // where the user is most likely to save it.
    bantam_config::parse(Path::new("(import-fail2ban output)"), &toml)
        .context("the translated configuration does not resolve; please report this")?;
    print!("{toml}");
    Ok(ExitCode::SUCCESS)
}
