//! A compiled filter and the per-line pipeline:
//!
//! 1. locate the date (cheap: no time-zone work) and cut it out of the text
//!    the rules see, as fail2ban does, so rules need not describe dates;
//! 2. `prefregex`, if any, narrows the text to its `<F-CONTENT>`;
//! 3. one pass of the failure set finds the first matching rule, or misses;
//! 4. only then: ignore rules, captures, address validation, date resolution.
//!
//! Steps 1 and 3 are all that a non-matching line costs.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use regex_automata::util::captures::Captures;

use crate::address::{parse_addr, parse_hostname, Host, Subnet};
use crate::date::{DateDetector, DateFormat, DateSpan};
use crate::error::FilterError;
use crate::failure::{Failure, Outcome, MAX_COUNT};
use crate::fields::{FieldRules, FieldSpec, Fields};
use crate::json_fields::JsonFields;
use crate::rules::{Rule, RuleSet, Slots};
use crate::spec::{FilterSpec, RulePolicy};
use crate::tags::{Role, TagOptions};

/// A compiled filter with its per-log state (the remembered date format).
/// Cloning is cheap and gives an independent state, one per log.
#[derive(Clone)]
pub struct Filter {
    name: String,
    rule_ids: Vec<String>,
    policies: Vec<RulePolicy>,
    ignore_ids: Vec<String>,
    prefregex: Option<RuleSet>,
    fail: RuleSet,
    ignore: RuleSet,
    allow_hostnames: bool,
    dates: DateDetector,
    fail_caps: Vec<Slots>,
    pref_caps: Vec<Slots>,
    scratch: Vec<u8>,
    /// `format = "json"`: lines are judged by field tests, not rules.
    json: Option<FieldRules>,
    /// JSON lines that did not parse as an object (skipped, never fatal).
    malformed: u64,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("name", &self.name)
            .field("rules", &self.rule_ids)
            .finish()
    }
}

fn is_host_role(role: &Role) -> bool {
    matches!(role, Role::Ip4 | Role::Ip6 | Role::Dns)
}

impl Filter {
    /// Compiles `spec`. `zone` applies to dates written without an offset
    /// (the system zone, or a per-filter `logtimezone`).
    pub fn new(spec: &FilterSpec, zone: TimeZone) -> Result<Filter, FilterError> {
        let options = TagOptions {
            allow_hostnames: spec.allow_hostnames,
        };
        if let Some(fields) = &spec.json {
            return Filter::json(spec, fields, zone);
        }
        if spec.failregex.is_empty() {
            return Err(FilterError::Definition {
                name: spec.name.clone(),
                reason: "no failregex: the filter could never find a failure".into(),
            });
        }
        let patterns: Vec<String> = spec.failregex.iter().map(|r| r.regex.clone()).collect();
        let fail = RuleSet::compile("failregex", &patterns, options)?;
        let prefregex = match &spec.prefregex {
            Some(p) => Some(RuleSet::compile(
                "prefregex",
                std::slice::from_ref(p),
                options,
            )?),
            None => None,
        };
        let pref_has_host = prefregex
            .as_ref()
            .is_some_and(|set| set.rules[0].has_role(is_host_role));
        for (i, rule) in fail.rules.iter().enumerate() {
            let names_source = pref_has_host
                || rule.has_role(|r| is_host_role(r) || matches!(r, Role::Id | Role::NoFail));
            if !names_source {
                return Err(FilterError::NoHost {
                    what: format!("filter {} failregex {}", spec.name, spec.failregex[i].id),
                    pattern: rule.source.clone(),
                });
            }
        }
        let ignore_patterns: Vec<String> =
            spec.ignoreregex.iter().map(|r| r.regex.clone()).collect();
        let ignore = RuleSet::compile("ignoreregex", &ignore_patterns, options)?;
        Ok(Filter {
            name: spec.name.clone(),
            rule_ids: spec.failregex.iter().map(|r| r.id.clone()).collect(),
            policies: spec.failregex.iter().map(|r| r.policy.clone()).collect(),
            ignore_ids: spec.ignoreregex.iter().map(|r| r.id.clone()).collect(),
            fail_caps: fail.capture_slots(),
            pref_caps: prefregex
                .as_ref()
                .map(RuleSet::capture_slots)
                .unwrap_or_default(),
            prefregex,
            fail,
            ignore,
            allow_hostnames: spec.allow_hostnames,
            dates: DateDetector::new(spec.date, zone),
            scratch: Vec::new(),
            json: None,
            malformed: 0,
        })
    }

    /// A `format = "json"` filter: one rule, the field tests, named
    /// `fields` in statistics.
    fn json(spec: &FilterSpec, fields: &FieldSpec, zone: TimeZone) -> Result<Filter, FilterError> {
        if !spec.failregex.is_empty() || !spec.ignoreregex.is_empty() || spec.prefregex.is_some() {
            return Err(FilterError::Definition {
                name: spec.name.clone(),
                reason: "a json filter is judged by its field tests; failregex, ignoreregex and prefregex do not apply".into(),
            });
        }
        let options = TagOptions::default();
        let none = RuleSet::compile("failregex", &[], options)?;
        Ok(Filter {
            name: spec.name.clone(),
            rule_ids: vec!["fields".to_owned()],
            policies: vec![RulePolicy::default()],
            ignore_ids: Vec::new(),
            prefregex: None,
            fail_caps: Vec::new(),
            pref_caps: Vec::new(),
            fail: none.clone(),
            ignore: none,
            allow_hostnames: false,
            dates: DateDetector::new(spec.date, zone),
            scratch: Vec::new(),
            json: Some(FieldRules::new(&spec.name, fields)?),
            malformed: 0,
        })
    }

    /// Whether this is a `format = "json"` filter (judged by field tests).
    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }

    /// JSON lines this filter (this clone) skipped because they were not a
    /// JSON object. Always 0 for a line filter.
    pub fn malformed_lines(&self) -> u64 {
        self.malformed
    }

    /// Judges a structured record (a journal entry, say) with this
    /// filter's field tests; a filter without them misses every record.
    pub fn scan_fields(&self, record: &dyn Fields, now: Timestamp) -> Outcome {
        match &self.json {
            Some(rules) => rules.judge(record, now),
            None => Outcome::Missed,
        }
    }

    /// The filter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The failure rules' names, in order.
    pub fn rule_ids(&self) -> &[String] {
        &self.rule_ids
    }

    /// The failure rules' patterns as written, in order.
    pub fn rule_patterns(&self) -> impl Iterator<Item = &str> {
        self.fail.rules.iter().map(|r| r.source.as_str())
    }

    /// The ignore rules' names, in order.
    pub fn ignore_ids(&self) -> &[String] {
        &self.ignore_ids
    }

    /// How many lines each date format won, in [`DateFormat::ALL`] order.
    pub fn date_hits(&self) -> [(DateFormat, u64); 6] {
        let hits = self.dates.hits();
        std::array::from_fn(|i| (DateFormat::ALL[i], hits[i]))
    }

    /// Judges one line (without its line terminator). `now` is the arrival
    /// time: the time of undated lines, and the reference for dates without
    /// a year.
    pub fn scan(&mut self, line: &[u8], now: Timestamp) -> Outcome {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rules) = &self.json {
            return match JsonFields::parse(line) {
                Some(record) => rules.judge(&record, now),
                None => {
                    self.malformed += 1;
                    Outcome::Missed
                }
            };
        }
        let date = self.dates.locate(line);
        let text: &[u8] = match date {
            None => line,
            Some(DateSpan { start: 0, end, .. }) => &line[end..],
            Some(DateSpan { start, end, .. }) if end == line.len() => &line[..start],
            Some(DateSpan { start, end, .. }) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(&line[..start]);
                self.scratch.extend_from_slice(&line[end..]);
                &self.scratch
            }
        };
        let content: &[u8] = match &self.prefregex {
            Some(pref) => {
                let caps = &mut self.pref_caps[0];
                let matched = pref
                    .search(text)
                    .is_some_and(|(_, span)| pref.captures_of(0, text, span, caps));
                if !matched {
                    return Outcome::Missed;
                }
                let content = pref.rules[0]
                    .roles
                    .iter()
                    .find(|(_, role)| *role == Role::Content)
                    .and_then(|(g, _)| caps.caps.get_group(*g))
                    .or_else(|| caps.caps.get_match().map(|m| m.span()))
                    .map_or(0..text.len(), |span| span.range());
                &text[content]
            }
            None => text,
        };
        let Some((rule_index, matched)) = self.fail.search(content) else {
            return Outcome::Missed;
        };
        if self.ignore.is_match(text) {
            let rule = self.ignore.first_matching(text).unwrap_or(0);
            return Outcome::Ignored { rule };
        }
        let caps = &mut self.fail_caps[rule_index];
        if !self.fail.captures_of(rule_index, content, matched, caps) {
            // Same rule, same span: cannot happen, but a miss is the safe answer.
            return Outcome::Missed;
        }
        let mut found = Captured::default();
        if let Some(pref) = &self.prefregex {
            found.collect(
                &pref.rules[0],
                &self.pref_caps[0].caps,
                text,
                self.allow_hostnames,
            );
        }
        found.collect(
            &self.fail.rules[rule_index],
            &caps.caps,
            content,
            self.allow_hostnames,
        );
        if found.nofail {
            return Outcome::NoFail {
                rule: rule_index,
                host: found.host,
            };
        }
        let Some(host) = found.host else {
            return Outcome::Invalid { rule: rule_index };
        };
        let (time, dated) = match date.and_then(|s| self.dates.resolve(line, s, now)) {
            Some(t) => (t, true),
            None => (now, false),
        };
        let policy = &self.policies[rule_index];
        let success = policy.success || found.success;
        let failure = Failure {
            rule: rule_index,
            host,
            time,
            dated,
            count: found.count,
            weight: policy.weight,
            success,
            user: found.user,
            id: found.id,
            fields: found.fields,
        };
        match success {
            true => Outcome::Success(failure),
            false => Outcome::Failure(failure),
        }
    }
}

/// What one match's capture groups said.
struct Captured {
    host: Option<Host>,
    /// Set when a host group matched text that is not a usable address, so
    /// that a later group cannot paper over it.
    cidr: Option<u8>,
    user: Option<Box<str>>,
    id: Option<Box<str>>,
    count: u32,
    nofail: bool,
    success: bool,
    fields: Vec<(Box<str>, Box<str>)>,
}

impl Default for Captured {
    fn default() -> Captured {
        Captured {
            host: None,
            cidr: None,
            user: None,
            id: None,
            count: 1,
            nofail: false,
            success: false,
            fields: Vec::new(),
        }
    }
}

fn text_of(bytes: &[u8]) -> Box<str> {
    String::from_utf8_lossy(bytes).into()
}

impl Captured {
    fn collect(&mut self, rule: &Rule, caps: &Captures, text: &[u8], allow_hostnames: bool) {
        for (group, role) in &rule.roles {
            let Some(span) = caps.get_group(*group) else {
                continue;
            };
            let value = &text[span.range()];
            match role {
                Role::Ip4 | Role::Ip6 => {
                    if self.host.is_none() {
                        self.host = parse_addr(value).map(Host::Ip);
                    }
                }
                Role::Dns => {
                    if self.host.is_none() && allow_hostnames {
                        self.host = parse_hostname(value).map(Host::Name);
                    }
                }
                Role::Cidr => {
                    self.cidr = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                }
                Role::User => self.user = Some(text_of(value)),
                Role::Id => self.id = Some(text_of(value)),
                Role::Count => {
                    let n = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok());
                    // Digits too many for u64 are still "very many".
                    self.count = n.map_or(MAX_COUNT, |n| n.clamp(1, u64::from(MAX_COUNT)) as u32);
                }
                Role::NoFail => self.nofail = true,
                Role::Success => self.success = true,
                Role::Content => {}
                Role::Field(name) => self.fields.push((name.clone(), text_of(value))),
            }
        }
        if let (Some(Host::Ip(ip)), Some(prefix)) = (&self.host, self.cidr) {
            self.host = match Subnet::new(*ip, prefix) {
                Some(net) if net.prefix() == Subnet::full_length(*ip) => Some(Host::Ip(*ip)),
                Some(net) => Some(Host::Net(net)),
                None => None,
            };
            self.cidr = None;
        }
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
