//! fail2ban's `action.d` command actions as [`JailAction`]s: the bridge from
//! the loop's hooks to [`bantam_firewall::command::CommandAction`], which
//! runs the commands (and keeps log-derived values out of the shell text).

use bantam_firewall::command::{ActionSpec, BanInfo, CommandAction};

use crate::actions::{ActionBan, JailAction};

/// One `action = name[params]` of a fail2ban jail.
pub struct CommandJailAction {
    action: CommandAction,
    name: String,
}

impl CommandJailAction {
    /// Checks every command of `spec` now, so that a broken action stops the
    /// daemon at start rather than at the first ban.
    pub fn new(spec: ActionSpec) -> Result<CommandJailAction, String> {
        let name = spec.name.clone();
        let action = CommandAction::new(spec).map_err(|e| e.to_string())?;
        Ok(CommandJailAction { action, name })
    }
}

fn info(ban: &ActionBan<'_>) -> BanInfo {
    let mut info = BanInfo::new(ban.target);
    info.failures = ban.failures;
    info.time = ban.start.as_millisecond() as f64 / 1000.0;
    info.bantime = ban.bantime;
    info.bancount = ban.ban_count;
    info.matches = ban.matches.to_vec();
    // bantam tracks per jail: the address's matches in this jail are the
    // ones that earned the ban.
    info.ipmatches = ban.matches.to_vec();
    info.ipjailmatches = ban.matches.to_vec();
    info.ipfailures = ban.failures;
    info.ipjailfailures = ban.failures;
    let mut fields = ban.fields.clone();
    // fail2ban's <fid> is the failure id, or the address when the filter
    // captured none.
    info.fid = fields
        .remove("fid")
        .unwrap_or_else(|| ban.target.to_string());
    info.fields = fields;
    info.restored = ban.restored;
    info
}

impl JailAction for CommandJailAction {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self) -> Result<(), String> {
        self.action.start().map_err(|e| e.to_string())
    }

    fn ban(&mut self, ban: &ActionBan<'_>) -> Result<(), String> {
        self.action.ban(&info(ban)).map_err(|e| e.to_string())
    }

    fn unban(&mut self, ban: &ActionBan<'_>) -> Result<(), String> {
        self.action.unban(&info(ban)).map_err(|e| e.to_string())
    }

    fn stop(&mut self) -> Result<(), String> {
        // fail2ban flushes what the action banned, then stops it.
        if self.action.has_flush() {
            self.action.flush().map_err(|e| e.to_string())?;
        }
        self.action.stop().map_err(|e| e.to_string())
    }
}

/// The firewall crate's description of a fail2ban action, from what the
/// config reader resolved: the command options by name, every other option
/// (`[Init]`, parameters, switches such as `actionstart_on_demand`) as
/// substitution values, as fail2ban's own reader hands them over.
pub fn spec_of(def: &bantam_config::fail2ban::F2bActionDef) -> ActionSpec {
    let mut spec = ActionSpec::new(def.actname.clone());
    let options = def.init_raw.iter().chain(def.commands.iter());
    for (key, value) in options {
        let value = value.clone();
        match key.as_str() {
            "actionstart" => spec.actionstart = value,
            "actionstop" => spec.actionstop = value,
            "actioncheck" => spec.actioncheck = value,
            "actionban" => spec.actionban = value,
            "actionunban" => spec.actionunban = value,
            "actionflush" => spec.actionflush = value,
            "actionreban" => spec.actionreban = Some(value),
            "actionrepair" => spec.actionrepair = value,
            "timeout" => {
                if let Ok(seconds) = value.trim().parse::<f64>() {
                    if seconds.is_finite() && seconds > 0.0 {
                        spec.timeout = std::time::Duration::from_secs_f64(seconds);
                    }
                }
            }
            _ => {
                spec.init.insert(key.clone(), value);
            }
        }
    }
    spec
}
