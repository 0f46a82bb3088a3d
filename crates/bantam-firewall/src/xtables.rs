//! iptables and ip6tables, run the way a backend with thousands of rules
//! needs: changes go through `iptables-restore --noflush` as one script
//! (one process and, with iptables-nft, one kernel transaction, however
//! many rules), listings through `-S`/`-n` (never a DNS lookup per
//! entry), and the xtables lock waited for (`-w`) rather than failed on.
//!
//! Arguments are built from our own names and parsed addresses only;
//! nothing from a log line reaches these commands.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{ActionProblem, FirewallError};

/// IPv4 or IPv6: which of the two programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    pub const BOTH: [Family; 2] = [Family::V4, Family::V6];

    pub fn of(target: &crate::target::Target) -> Family {
        if target.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }

    fn program(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
}

fn failed(what: &str, problem: ActionProblem) -> FirewallError {
    FirewallError::Action {
        action: what.to_string(),
        verb: "run",
        problem,
    }
}

/// Applies `script` (lines for table `filter`, without `*filter`/`COMMIT`)
/// in one `iptables-restore --noflush`: all of it or none of it.
pub(crate) fn restore(family: Family, script: &str) -> Result<(), FirewallError> {
    if script.is_empty() {
        return Ok(());
    }
    let program = format!("{}-restore", family.program());
    let mut child = Command::new(&program)
        .args(["--noflush", "-w", "10"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(&program, ActionProblem::Spawn(e)))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = format!("*filter\n{script}COMMIT\n");
    // A write error (the program died early) shows in its exit status.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| failed(&program, ActionProblem::Spawn(e)))?;
    check_status(&program, &output)
}

/// Runs `iptables -w ARGS`; `Ok(false)` when it exits 1 (what `-C` says of
/// a rule that is not there).
pub(crate) fn run(family: Family, args: &[&str]) -> Result<bool, FirewallError> {
    let output = run_output(family, args)?;
    match output.status.code() {
        Some(0) => Ok(true),
        Some(1) if args.first() == Some(&"-C") => Ok(false),
        _ => check_status(family.program(), &output).map(|()| false),
    }
}

/// The standard output of `iptables -w ARGS`, which must succeed.
pub(crate) fn output(family: Family, args: &[&str]) -> Result<String, FirewallError> {
    let output = run_output(family, args)?;
    check_status(family.program(), &output)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn run_output(family: Family, args: &[&str]) -> Result<std::process::Output, FirewallError> {
    Command::new(family.program())
        .arg("-w")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(family.program(), ActionProblem::Spawn(e)))
}

fn check_status(program: &str, output: &std::process::Output) -> Result<(), FirewallError> {
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(failed(
        program,
        ActionProblem::Failed {
            code: output.status.code(),
            signal: None,
            stderr: stderr.chars().take(2000).collect(),
        },
    ))
}

/// Whether iptables is iptables-nft, whose changes are nf_tables events
/// (`iptables -V` says "(nf_tables)"); legacy iptables sends none.
pub(crate) fn is_nft() -> bool {
    Command::new("iptables")
        .arg("-V")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nf_tables"))
}

/// Ensures `rules` (arguments after the chain, in order, top first) are
/// at the top of `chain`. When one is missing, all are taken out and put
/// back in order, so a log rule never ends up below its drop rule. Answers
/// whether anything was missing.
pub(crate) fn ensure_rules(
    family: Family,
    chain: &str,
    rules: &[String],
) -> Result<bool, FirewallError> {
    let mut present = Vec::new();
    for rule in rules {
        let mut args = vec!["-C", chain];
        args.extend(rule.split(' '));
        present.push(run(family, &args)?);
    }
    if present.iter().all(|&p| p) {
        return Ok(false);
    }
    for rule in rules {
        remove_rule(family, chain, rule)?;
    }
    let script: String = rules
        .iter()
        .rev()
        .map(|rule| format!("-I {chain} 1 {rule}\n"))
        .collect();
    restore(family, &script)?;
    Ok(true)
}

/// Deletes every copy of `rule` from `chain` (absent: nothing to do).
pub(crate) fn remove_rule(family: Family, chain: &str, rule: &str) -> Result<(), FirewallError> {
    let mut args = vec!["-C", chain];
    args.extend(rule.split(' '));
    while run(family, &args)? {
        args[0] = "-D";
        run(family, &args)?;
        args[0] = "-C";
    }
    Ok(())
}

/// The iptables chain each hook uses.
pub(crate) fn builtin_chain(hook: crate::config::Hook) -> &'static str {
    match hook {
        crate::config::Hook::Input => "INPUT",
        crate::config::Hook::Forward => "FORWARD",
    }
}

/// `-m limit … -j NFLOG …` for `nflog`, after a match.
pub(crate) fn nflog_target(nflog: &crate::config::Nflog) -> String {
    let prefix = if nflog.prefix.is_empty() {
        String::new()
    } else {
        format!(" --nflog-prefix {}", nflog.prefix)
    };
    format!(
        "-m limit --limit {}/{} --limit-burst 5 -j NFLOG --nflog-group {}{prefix}",
        nflog.rate,
        nflog.unit(),
        nflog.group
    )
}

/// Creates user chain `chain` unless it exists. (Not a `:chain` line in a
/// `--noflush` restore: that empties an existing chain.)
pub(crate) fn create_chain(family: Family, chain: &str) -> Result<(), FirewallError> {
    let created = run_output(family, &["-N", chain])?;
    if created.status.success() || run_output(family, &["-S", chain])?.status.success() {
        return Ok(());
    }
    check_status(family.program(), &created)
}
