//! `ignorecommand`: a program asked whether an address that earned a ban
//! should be left alone (exit 0: yes).
//!
//! # Why off the loop, and why "ban" when it does not answer
//!
//! The program is the admin's: it may query a CRM, a VPN server or a
//! database, and it may hang. The loop never waits for it: a ban that
//! needs an answer is parked, the program runs on a thread of its own (at
//! most [`MAX_RUNNING`] at once, the rest queued), and the answer comes
//! back as an event that releases or drops the parked ban. Every other
//! address is banned meanwhile as usual.
//!
//! A program that fails to start, is killed by its timeout or exits with
//! anything but 0 means "do not ignore": an attacker must not be shielded
//! by a broken or slow helper. Answers are remembered per jail and address
//! for the configured TTL, so a busy attacker costs one run per TTL, and
//! the memory is bounded ([`MAX_REMEMBERED`]).
//!
//! The command is run as an argv, never through a shell; `<ip>` in an
//! argument is replaced by the address (the only value that reaches it,
//! and one that cannot carry shell syntax anyway).

use std::collections::{HashMap, VecDeque};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bantam_config::IgnoreCommand;
use bantam_firewall::Target;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::daemon::{Daemon, Event};
use crate::log;
use crate::pipeline::Earned;

/// Programs running at once; more wait in a queue.
const MAX_RUNNING: usize = 8;
/// Answers remembered; past this, expired ones are dropped, then all.
const MAX_REMEMBERED: usize = 65_536;
/// How often a running program is checked for exit: only while one runs.
const POLL: Duration = Duration::from_millis(5);

/// What one run said.
#[derive(Debug)]
pub(crate) struct Answer {
    pub jail: String,
    pub target: Target,
    pub ignore: bool,
}

/// Parked bans, queued runs and remembered answers.
#[derive(Default)]
pub(crate) struct IgnoreCommands {
    answers: HashMap<(String, Target), (bool, Timestamp)>,
    parked: HashMap<(String, Target), Earned>,
    queue: VecDeque<(String, Target, IgnoreCommand)>,
    running: usize,
}

/// What to do with an earned ban now.
enum Screen {
    Ban(Earned),
    Drop,
    Parked,
}

impl Daemon {
    /// The bans of `earned` that may go ahead now in jail `jail`: those
    /// whose command answered "do not ignore"; the others are dropped
    /// (answered "ignore") or parked until the command answers.
    pub(crate) fn screen_ignore_command(
        &mut self,
        jail: usize,
        earned: Vec<Earned>,
        now: Timestamp,
    ) -> Vec<Earned> {
        let Some(command) = self.jails[jail].settings.trust_policy.ignorecommand.clone() else {
            return earned;
        };
        let name = self.jails[jail].name().to_owned();
        let mut out = Vec::with_capacity(earned.len());
        for e in earned {
            match self.ignore.screen(&name, e, &command, now) {
                Screen::Ban(e) => out.push(e),
                Screen::Drop | Screen::Parked => {}
            }
        }
        self.ignore.start_queued(&self.events);
        out
    }

    /// A command answered: its parked ban is applied, or dropped.
    pub(crate) fn on_ignore_answer(&mut self, answer: Answer) {
        let now = self.clock.now();
        let key = (answer.jail.clone(), answer.target);
        let jail = self.jails.iter().position(|j| j.name() == answer.jail);
        let ttl = jail.and_then(|j| self.jails[j].settings.trust_policy.ignorecommand.as_ref());
        let until = ttl.map_or(now, |c| later(now, c.ttl));
        self.ignore.remember(key.clone(), answer.ignore, until, now);
        self.ignore.running -= 1;
        self.ignore.start_queued(&self.events);
        let Some(earned) = self.ignore.parked.remove(&key) else {
            return;
        };
        match (jail, answer.ignore) {
            (Some(_), true) => log::info(&format!(
                "jail {}: {} not banned: ignorecommand says ignore",
                answer.jail, answer.target
            )),
            (Some(index), false) => {
                self.apply_bans(index, vec![earned], now);
            }
            // The jail went away in a reload.
            (None, _) => {}
        }
    }
}

impl IgnoreCommands {
    fn screen(&mut self, jail: &str, e: Earned, command: &IgnoreCommand, now: Timestamp) -> Screen {
        let key = (jail.to_owned(), e.target);
        match self.answers.get(&key) {
            Some(&(ignore, until)) if until > now => {
                return if ignore { Screen::Drop } else { Screen::Ban(e) };
            }
            _ => {}
        }
        if self.parked.contains_key(&key) {
            // A run for it is under way; its answer decides.
            return Screen::Parked;
        }
        self.queue
            .push_back((key.0.clone(), e.target, command.clone()));
        self.parked.insert(key, e);
        Screen::Parked
    }

    fn start_queued(&mut self, events: &mpsc::Sender<Event>) {
        while self.running < MAX_RUNNING {
            let Some((jail, target, command)) = self.queue.pop_front() else {
                return;
            };
            self.running += 1;
            let events = events.clone();
            let spawned = std::thread::Builder::new()
                .name("bantam-ignorecmd".into())
                .spawn(move || {
                    let ignore = run(&command, &jail, &target);
                    let answer = Answer {
                        jail,
                        target,
                        ignore,
                    };
                    let _ = events.blocking_send(Event::IgnoreAnswer(answer));
                });
            if let Err(e) = spawned {
                // No thread (resource limits): the ban goes ahead at the
                // next failure; this one is released as "do not ignore".
                log::error(&format!("ignorecommand: cannot start a thread: {e}"));
                self.running -= 1;
                return;
            }
        }
    }

    fn remember(&mut self, key: (String, Target), ignore: bool, until: Timestamp, now: Timestamp) {
        if self.answers.len() >= MAX_REMEMBERED {
            self.answers.retain(|_, (_, u)| *u > now);
            if self.answers.len() >= MAX_REMEMBERED {
                self.answers.clear();
            }
        }
        self.answers.insert(key, (ignore, until));
    }
}

/// Runs the command for `target`: `true` only for exit status 0 within the
/// timeout.
fn run(command: &IgnoreCommand, jail: &str, target: &Target) -> bool {
    let address = match target {
        Target::Addr(ip) => ip.to_string(),
        Target::Net { addr, .. } => addr.to_string(),
    };
    let argv: Vec<String> = command
        .argv
        .iter()
        .map(|a| a.replace("<ip>", &address))
        .collect();
    let mut child = match Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so a timeout kills what it started too.
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            log::error(&format!("jail {jail}: ignorecommand {}: {e}", argv[0]));
            return false;
        }
    };
    let deadline = Instant::now() + command.timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                kill_group(child.id());
                let _ = child.wait();
                log::error(&format!(
                    "jail {jail}: ignorecommand {} for {address} killed after {:?}; banning",
                    argv[0], command.timeout
                ));
                return false;
            }
            Err(e) => {
                log::error(&format!("jail {jail}: ignorecommand {}: {e}", argv[0]));
                return false;
            }
        }
    }
}

/// Kills the process group a command leads (it and its children).
fn kill_group(leader: u32) {
    if let Ok(pid) = libc::pid_t::try_from(leader) {
        // SAFETY: kill(2) has no memory effects; a negative pid names the
        // group this daemon created for the command.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn later(now: Timestamp, ttl: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(ttl)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
#[path = "ignore_command_tests.rs"]
mod tests;
