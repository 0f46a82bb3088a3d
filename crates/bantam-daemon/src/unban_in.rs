//! `bantam unban --jail J`: lifting bans in one jail only.
//!
//! A backend's set is shared by the jails that ban in it, so a target
//! lifted in one jail leaves its backend only when no other ban keeps it
//! there (see [`crate::routing`]); its store rows, trackers and actions
//! are the jail's own.

use bantam_firewall::Target;

use crate::bans::ActiveBan;
use crate::control::Response;
use crate::daemon::Daemon;
use crate::error::chain;
use crate::log;

impl Daemon {
    /// Lifts `targets` (or, with `all`, every ban) in `jail`.
    pub(crate) fn unban_in(&mut self, jail: &str, targets: &[String], all: bool) -> Response {
        let Some(index) = self.jails.iter().position(|j| j.name() == jail) else {
            return Response::error(format!("no jail named {jail:?}"));
        };
        let parsed = match self.targets_to_lift(jail, targets, all) {
            Ok(p) => p,
            Err(refusal) => return Response::error(refusal),
        };
        let mut removed: Vec<ActiveBan> = Vec::new();
        for target in &parsed {
            removed.extend(self.bans.remove(jail, target));
            self.jails[index].tracker.forget(target);
        }
        let names: Vec<String> = parsed.iter().map(Target::to_string).collect();
        self.recorder.forget_each(Some(jail), &names);
        self.unban_actions(&removed);
        self.wait_for_actions();
        // The firewall first, as for `unban --all`: the store's part is
        // the longer one.
        let kernel = self.lift(&removed);
        let stored = match all {
            true => self.recorder.store().remove_all(Some(jail)).map(drop),
            false => self
                .recorder
                .store()
                .remove_bans(Some(jail), &names)
                .map(drop),
        };
        log::info(&format!(
            "{jail}: {} ban(s) lifted by request",
            removed.len()
        ));
        let lifted = removed.len();
        match (stored, kernel) {
            (_, Err(e)) => Response::error(format!("firewall: {}", chain(&e))),
            (Err(e), Ok(())) => Response::error(format!(
                "lifted {lifted} ban(s) in {jail} in the firewall, but the store failed: {}",
                chain(&e)
            )),
            (Ok(_), Ok(())) => Response::ok(format!("lifted {lifted} ban(s) in {jail}")),
        }
    }

    /// The targets named, or every target the jail bans (`all`).
    fn targets_to_lift(
        &self,
        jail: &str,
        targets: &[String],
        all: bool,
    ) -> Result<Vec<Target>, String> {
        if all {
            return Ok(self
                .bans
                .iter()
                .filter(|b| b.record.jail == jail)
                .map(|b| b.target)
                .collect());
        }
        let mut parsed = Vec::new();
        for text in targets {
            match text.parse::<Target>().and_then(Target::canonical) {
                Ok(t) => parsed.push(t),
                Err(e) => return Err(format!("{text:?}: {e}")),
            }
        }
        if parsed.is_empty() {
            return Err("no address given (or use --all)".into());
        }
        Ok(parsed)
    }
}
