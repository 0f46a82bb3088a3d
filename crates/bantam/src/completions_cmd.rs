//! `bantam completions SHELL` and the hidden `bantam manpage`: both made
//! from the CLI's own definition, so they can never disagree with it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: CompletionShell,
}

/// The shells the package installs completions for.
#[derive(Clone, Copy, ValueEnum)]
enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

pub fn completions<C: CommandFactory>(args: CompletionsArgs) -> Result<ExitCode> {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = C::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "bantam", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The man page, section 8 (a system daemon and its administration tool),
/// with a section per subcommand.
pub fn manpage<C: CommandFactory>() -> Result<ExitCode> {
    let cmd = C::command().name("bantam");
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone()).section("8");
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    render_subcommands(&cmd, &mut out)?;
    man.render_version_section(&mut out)?;
    out.extend_from_slice(FILES.as_bytes());
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Every visible subcommand with its about text and its arguments.
fn render_subcommands(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(out, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        writeln!(out, ".TP\n\\fBbantam {}\\fR", sub.get_name())?;
        let about = sub.get_long_about().or(sub.get_about());
        writeln!(
            out,
            "{}",
            escape(&about.map(|a| a.to_string()).unwrap_or_default())
        )?;
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let name = match (arg.get_long(), arg.get_value_names()) {
                (Some(long), _) => format!("--{long}"),
                (None, Some(names)) => names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                (None, None) => arg.get_id().to_string(),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            writeln!(
                out,
                ".RS\n.TP\n\\fB{}\\fR\n{}\n.RE",
                escape(&name),
                escape(&help)
            )?;
        }
    }
    Ok(())
}

/// roff treats a leading `.` or `'` as a request and `\` as an escape.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .lines()
        .map(|l| match l.starts_with(['.', '\'']) {
            true => format!("\\&{l}"),
            false => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const FILES: &str = ".SH FILES
.TP
/etc/bantam/bantam.toml
The configuration (see the example shipped there).
.TP
/var/lib/bantam/bantam.db
Bans, their history and log positions (SQLite).
.TP
/run/bantam/bantam.sock
The control socket the commands above talk to.
.SH EXIT STATUS
0 done, 1 failure, 2 usage, 3 no daemon running, 78 configuration error.
";
