//! Every action file of the installed fail2ban, read and resolved by
//! fail2ban itself (`scripts/fail2ban-oracle/dump_actions.py`): our static
//! substitution must give fail2ban's text for every command and family, and
//! every action must be accepted (no log value in an unsafe place, no false
//! alarm in the quoting scanner).
//!
//! Needs fail2ban and the system python; skipped with a note without them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::shell::Template;
use super::spec::resolve_static;
use super::{ActionSpec, BanInfo, CommandAction};

const PYTHON: &str = "/usr/bin/python3";
const CONFIG: &str = "/etc/fail2ban";

fn dump() -> Option<Vec<Value>> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fail2ban-oracle/dump_actions.py");
    if !Path::new(PYTHON).exists() || !Path::new(CONFIG).join("action.d").is_dir() {
        eprintln!("skipping: fail2ban or {PYTHON} is not installed");
        return None;
    }
    let output = Command::new(PYTHON)
        .arg(&script)
        .arg(CONFIG)
        .output()
        .expect("run python");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named 'fail2ban'") {
            eprintln!("skipping: the fail2ban python package is not installed");
            return None;
        }
        panic!("{}: {stderr}", script.display());
    }
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    Some(
        text.lines()
            .map(|line| serde_json::from_str(line).expect("JSON line"))
            .collect(),
    )
}

/// The settings a config reader hands over, as our [`ActionSpec`].
fn spec_of(name: &str, settings: &[Value]) -> ActionSpec {
    let mut spec = ActionSpec::new(name);
    for pair in settings {
        let key = pair[0].as_str().unwrap().to_string();
        let value = pair[1].as_str().unwrap().to_string();
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
                if let Ok(seconds) = value.parse::<f64>() {
                    spec.timeout = Duration::from_secs_f64(seconds);
                }
            }
            _ => {
                spec.init.insert(key, value);
            }
        }
    }
    spec
}

#[test]
fn every_installed_action_resolves_as_fail2ban_resolves_it() {
    let Some(actions) = dump() else { return };
    assert!(actions.len() > 30, "only {} action files", actions.len());
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for action in &actions {
        let name = action["action"].as_str().unwrap();
        assert!(action["error"].is_null(), "{name}: {}", action["error"]);
        let spec = spec_of(name, action["settings"].as_array().unwrap());
        if let Err(err) = CommandAction::new(spec.clone()) {
            mismatches.push(format!("{name}: refused: {err}"));
            continue;
        }
        let props = spec.properties();
        for (verb, by_family) in action["resolved"].as_object().unwrap() {
            for (family, expected) in by_family.as_object().unwrap() {
                let expected = expected.as_str().unwrap();
                let mut ours = resolve_static(&format!("<{verb}>"), &props, family).unwrap();
                if ours == format!("<{verb}>") {
                    ours.clear(); // an unset command
                }
                if !family.is_empty() {
                    // fail2ban fills in the family already at this step.
                    ours = ours.replace("<family>", family);
                }
                compared += 1;
                if ours != expected {
                    mismatches.push(format!(
                        "{name} {verb} {family:?}:\n  ours:     {ours:?}\n  fail2ban: {expected:?}"
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "{compared} commands of {} actions as fail2ban",
        actions.len()
    );
}

/// Whether `/bin/sh` can parse `script` (`sh -n`: parse only, run nothing).
fn parses(script: &str) -> bool {
    Command::new("/bin/sh")
        .args(["-n", "-c", script])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn every_installed_action_still_parses_with_hostile_values() {
    let Some(actions) = dump() else { return };
    let hostile = "x' \"y\" $(z) `w` ; # \\\n<ip>";
    let mut ban = BanInfo::new("2001:db8::66".parse().unwrap());
    ban.fid = hostile.into();
    ban.matches = vec![hostile.into(), hostile.into()];
    ban.ipmatches = ban.matches.clone();
    ban.ipjailmatches = ban.matches.clone();
    ban.fields.insert("user".into(), hostile.into());
    let mut checked = 0;
    let mut broken = Vec::new();
    for action in &actions {
        let name = action["action"].as_str().unwrap();
        let props = spec_of(name, action["settings"].as_array().unwrap()).properties();
        for verb in [
            "actionstart",
            "actionstop",
            "actioncheck",
            "actionban",
            "actionunban",
            "actionflush",
            "actionrepair",
        ] {
            let text = resolve_static(&format!("<{verb}>"), &props, "inet6").unwrap();
            // fail2ban's own text with plain values: if sh cannot parse
            // that, the action file is at fault, not our quoting.
            let plain = Template::compile(&text)
                .unwrap()
                .render(|_| Some("v".to_string()));
            if text.trim().is_empty() || !parses(&plain.script) {
                continue;
            }
            let rendered = Template::compile(&text)
                .unwrap()
                .render(|tag| ban.value(tag));
            checked += 1;
            if !parses(&rendered.script) {
                broken.push(format!("{name} {verb}:\n{}", rendered.script));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {checked} no longer parse:\n{}",
        broken.len(),
        broken.join("\n")
    );
    eprintln!("{checked} commands parse with hostile values");
}
