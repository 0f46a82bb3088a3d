//! fail2ban's action files as commands, run safely: [`CommandAction`].
//!
//! # Why bantam runs commands at all
//!
//! The nftables backend bans without spawning anything. But fail2ban users
//! have actions that are not firewalls — mail reports, abuse reports, cloud
//! firewalls, nginx block maps — written as shell commands with `<tags>`.
//! To run their `/etc/fail2ban` unchanged, bantam runs those commands the
//! way fail2ban does: the same tags, the same start / check / repair / stop
//! life cycle, the same per-family start on demand.
//!
//! # What is different: log text never becomes shell code
//!
//! A ban carries text an attacker wrote (the matched log lines, the user
//! name they tried). fail2ban escapes such values or passes them as
//! unquoted `$f2bV_…` variables. bantam never writes them into the command:
//! each becomes a quoted reference to an environment variable that holds it
//! byte for byte (`shell.rs` explains the quoting), and the command text is
//! checked when the action is created, so an action that would put log text
//! somewhere unsafe is refused before the first ban, not during an attack.
//!
//! # Layout
//!
//! * [`ActionSpec`] (`spec.rs`): the configured commands; static tags.
//! * [`BanInfo`] (`ban_info.rs`): a ban's values and which are trusted.
//! * `shell.rs`: dynamic tags → shell text and environment.
//! * `run.rs`: `/bin/sh -c` with a clean environment and a time limit that
//!   kills the whole process group.
//! * This file: the life cycle.

mod ban_info;
mod run;
mod shell;
mod spec;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub use ban_info::{set_server_name, BanInfo};
pub use spec::ActionSpec;

use crate::error::{ActionProblem, FirewallError};
use ban_info::host_value;
use shell::Template;
use spec::resolve_static;

/// The operations of an action, named as fail2ban's settings are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Start,
    Stop,
    Check,
    Repair,
    Ban,
    Reban,
    Unban,
    Flush,
}

impl Verb {
    const ALL: [Verb; 8] = [
        Verb::Start,
        Verb::Stop,
        Verb::Check,
        Verb::Repair,
        Verb::Ban,
        Verb::Reban,
        Verb::Unban,
        Verb::Flush,
    ];

    fn key(self) -> &'static str {
        match self {
            Verb::Start => "actionstart",
            Verb::Stop => "actionstop",
            Verb::Check => "actioncheck",
            Verb::Repair => "actionrepair",
            Verb::Ban => "actionban",
            Verb::Reban => "actionreban",
            Verb::Unban => "actionunban",
            Verb::Flush => "actionflush",
        }
    }
}

/// What we know of one family's (or, for actions that do not depend on
/// the family, the one shared) instance of the action.
#[derive(Clone, Debug, Default)]
struct Instance {
    started: bool,
    /// Something was banned since the start: unban and flush have work.
    banned: bool,
}

/// One fail2ban-style action, run as commands.
///
/// Methods take `&mut self` and block until the command ends (or its
/// timeout): the daemon calls them from a blocking context, one at a time,
/// as fail2ban runs its commands under one lock.
#[derive(Debug)]
pub struct CommandAction {
    spec: ActionSpec,
    props: BTreeMap<String, String>,
    /// Settings differ per family: each family is its own instance.
    per_family: bool,
    /// Instances start on their first ban, not at [`CommandAction::start`].
    on_demand: bool,
    repair_on_unban: bool,
    /// By family ("" when not per family).
    instances: BTreeMap<&'static str, Instance>,
}

impl CommandAction {
    /// Checks every command of `spec` for every family: a self-referencing
    /// tag or log text in an unsafe place is an error now, not at a ban.
    pub fn new(spec: ActionSpec) -> Result<Self, FirewallError> {
        let per_family = spec.has_conditional();
        let action = CommandAction {
            props: spec.properties(),
            per_family,
            on_demand: spec.flag("actionstart_on_demand").unwrap_or(per_family),
            repair_on_unban: spec.flag("actionrepair_on_unban").unwrap_or(false),
            instances: BTreeMap::new(),
            spec,
        };
        for verb in Verb::ALL {
            for family in ["", "inet4", "inet6"] {
                action.command(verb, family)?;
            }
        }
        Ok(action)
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether `actionflush` is set; without it a caller unbans one by one
    /// at shutdown, as fail2ban does.
    pub fn has_flush(&self) -> bool {
        !self.spec.actionflush.trim().is_empty()
    }

    /// `actionstart`, unless the action starts per family on demand.
    pub fn start(&mut self) -> Result<(), FirewallError> {
        if self.on_demand {
            return Ok(());
        }
        let families: &[&'static str] = if self.per_family {
            &["inet4", "inet6"]
        } else {
            &[""]
        };
        for family in families {
            if !self.instance(family).started {
                self.start_family(family, false)?;
            }
        }
        Ok(())
    }

    /// `actionstop` for every started instance (each distinct command once);
    /// all are tried, the first error is returned.
    pub fn stop(&mut self) -> Result<(), FirewallError> {
        let started: Vec<&'static str> = self
            .instances
            .iter()
            .filter(|(_, i)| i.started)
            .map(|(f, _)| *f)
            .collect();
        self.instances.clear();
        self.run_once_each(Verb::Stop, &started)
    }

    /// `actioncheck` for every started instance; a failing check is repaired
    /// (`actionrepair`, or stop and start when there is none).
    pub fn check(&mut self) -> Result<(), FirewallError> {
        let started: Vec<&'static str> = self
            .instances
            .iter()
            .filter(|(_, i)| i.started)
            .map(|(f, _)| *f)
            .collect();
        let mut first = None;
        for family in started {
            if let Err(err) = self.invariant(family, Verb::Check) {
                self.instances.entry(family).or_default().started = false;
                first.get_or_insert(err);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// `actionban`, starting the family's instance first when on demand.
    pub fn ban(&mut self, ban: &BanInfo) -> Result<(), FirewallError> {
        self.ban_with(Verb::Ban, ban)
    }

    /// `actionreban` (for bans restored or re-applied), else `actionban`.
    pub fn reban(&mut self, ban: &BanInfo) -> Result<(), FirewallError> {
        let has_reban = self
            .spec
            .actionreban
            .as_ref()
            .is_some_and(|r| !r.trim().is_empty());
        self.ban_with(if has_reban { Verb::Reban } else { Verb::Ban }, ban)
    }

    /// `actionunban`. Nothing to do when this action banned nothing since
    /// it started (fail2ban's rule: a fresh start left nothing to remove).
    pub fn unban(&mut self, ban: &BanInfo) -> Result<(), FirewallError> {
        let family = ban.family();
        if !self.instance(self.slot(family)).banned {
            return Ok(());
        }
        self.process(Verb::Unban, ban)
    }

    /// `actionflush` for every instance that holds bans.
    pub fn flush(&mut self) -> Result<(), FirewallError> {
        let holding: Vec<&'static str> = self
            .instances
            .iter()
            .filter(|(_, i)| i.started && i.banned)
            .map(|(f, _)| *f)
            .collect();
        self.run_once_each(Verb::Flush, &holding)?;
        for family in holding {
            self.instances.entry(family).or_default().banned = false;
        }
        Ok(())
    }

    fn ban_with(&mut self, verb: Verb, ban: &BanInfo) -> Result<(), FirewallError> {
        let slot = self.slot(ban.family());
        if self.on_demand && !self.instance(slot).started {
            self.start_family(slot, false)?;
        }
        self.process(verb, ban)?;
        let instance = self.instances.entry(slot).or_default();
        instance.started = true;
        instance.banned = true;
        Ok(())
    }

    /// Runs a ban-time command; on failure, as fail2ban: check (and repair)
    /// when there is a check, then one more try.
    fn process(&mut self, verb: Verb, ban: &BanInfo) -> Result<(), FirewallError> {
        let family = ban.family();
        if self.exec(verb, family, Some(ban)).is_ok() {
            return Ok(());
        }
        if !self.spec.actioncheck.trim().is_empty() {
            self.invariant(self.slot(family), verb)?;
        }
        self.exec(verb, family, Some(ban))
    }

    /// fail2ban's invariant check: `actioncheck`; if it fails, repair
    /// (`actionrepair`, or stop + start) and check again.
    fn invariant(&mut self, slot: &'static str, during: Verb) -> Result<(), FirewallError> {
        let check = self.exec(Verb::Check, slot, None);
        let Err(check_error) = check else {
            return Ok(());
        };
        // Repairing to unban would re-create an empty table: nothing to
        // unban in it. fail2ban only does it when told to.
        if during == Verb::Unban && !self.repair_on_unban {
            return Err(check_error);
        }
        if self.spec.actionrepair.trim().is_empty() {
            let _ = self.exec(Verb::Stop, slot, None);
            self.instances.insert(slot, Instance::default());
            // The stop undid a start other families may share: run it.
            self.start_family(slot, true)?;
        } else {
            if let Err(err) = self.exec(Verb::Repair, slot, None) {
                self.instances.entry(slot).or_default().started = false;
                return Err(err);
            }
            self.instances.entry(slot).or_default().started = true;
        }
        self.exec(Verb::Check, slot, None)
    }

    /// Starts one instance. Two families whose start command is the same
    /// text share it (run once), unless `force`.
    fn start_family(&mut self, slot: &'static str, force: bool) -> Result<(), FirewallError> {
        let text = self.resolved(Verb::Start, slot)?;
        let already = !force
            && self.instances.iter().any(|(f, i)| {
                *f != slot && i.started && self.resolved(Verb::Start, f).ok() == Some(text.clone())
            });
        if !already {
            self.exec(Verb::Start, slot, None)?;
        }
        self.instances.entry(slot).or_default().started = true;
        Ok(())
    }

    /// Runs `verb` for each family, once per distinct command text.
    fn run_once_each(&self, verb: Verb, families: &[&'static str]) -> Result<(), FirewallError> {
        let mut done = Vec::new();
        let mut first = None;
        for family in families {
            let text = self.resolved(verb, family)?;
            if done.contains(&text) {
                continue;
            }
            if let Err(err) = self.exec(verb, family, None) {
                first.get_or_insert(err);
            }
            done.push(text);
        }
        first.map_or(Ok(()), Err)
    }

    /// The instance a family's bans go to.
    fn slot(&self, family: &'static str) -> &'static str {
        if self.per_family || self.on_demand {
            family
        } else {
            ""
        }
    }

    fn instance(&self, slot: &str) -> Instance {
        self.instances.get(slot).cloned().unwrap_or_default()
    }

    fn resolved(&self, verb: Verb, family: &str) -> Result<String, FirewallError> {
        resolve_static(&format!("<{}>", verb.key()), &self.props, family)
            .map_err(|reason| self.error(verb, ActionProblem::Template(reason)))
    }

    /// The command for `verb`, `None` when it is empty.
    fn command(&self, verb: Verb, family: &str) -> Result<Option<Template>, FirewallError> {
        let text = self.resolved(verb, family)?;
        // An unset reban stays `<actionreban>`; an unset command is empty.
        if text.trim().is_empty() || text == format!("<{}>", verb.key()) {
            return Ok(None);
        }
        Template::compile(&text)
            .map(Some)
            .map_err(|reason| self.error(verb, ActionProblem::Template(reason)))
    }

    /// Runs one command; `ban` is `None` for start, stop, check, repair and
    /// flush, whose only dynamic values are the family and the time.
    fn exec(&self, verb: Verb, family: &str, ban: Option<&BanInfo>) -> Result<(), FirewallError> {
        let Some(template) = self.command(verb, family)? else {
            return Ok(());
        };
        let rendered = template.render(|tag| match ban {
            Some(ban) => ban.value(tag),
            None => match tag {
                "family" => Some(family.to_string()),
                "time" => Some(now().to_string()),
                _ => host_value(tag),
            },
        });
        run::run(&rendered.script, &rendered.env, self.spec.timeout)
            .map_err(|problem| self.error(verb, problem))
    }

    fn error(&self, verb: Verb, problem: ActionProblem) -> FirewallError {
        FirewallError::Action {
            action: self.spec.name.clone(),
            verb: verb.key(),
            problem,
        }
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod oracle_tests;
