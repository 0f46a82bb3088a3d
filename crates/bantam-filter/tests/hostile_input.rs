//! Hostile input: no panic, no injected address reported, whatever the line.
//! (Speed on these lines is measured by `bench/hostile.sh`, not here: the
//! engine is linear-time by construction.)

#[path = "hostile/corpus.rs"]
mod corpus;

use bantam_filter::{shipped, Filter, FilterSpec, Host};
use jiff::tz::TimeZone;
use jiff::Timestamp;

fn injected(host: &Host) -> bool {
    let text = host.to_string();
    text.starts_with("203.0.113.") || text.starts_with("2001:db8:bad:")
}

#[test]
fn shipped_filters_never_report_an_injected_address() {
    let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
    let cases = corpus::cases();
    assert!(cases.len() > 150);
    for name in shipped::names() {
        // The corpus is sshd's lines: only sshd must find its genuine
        // failures and their real sources; every other filter must merely
        // never report an injected address (the service filters have their
        // own injection tests over their own line shapes).
        let sshd = name == "sshd";
        let def = shipped::definition(name).unwrap();
        for mode in def.mode_names() {
            let spec = def.spec(name, Some(mode)).unwrap();
            let mut filter = Filter::new(&spec, TimeZone::UTC).unwrap();
            for (i, case) in cases.iter().enumerate() {
                let outcome = filter.scan(&case.line, now);
                let shown = String::from_utf8_lossy(&case.line[..case.line.len().min(200)]);
                let Some(failure) = outcome.failure() else {
                    assert!(
                        !(sshd && case.must_fail),
                        "{name}/{mode} case {i}: a genuine failure was missed ({outcome:?})\n  {shown}"
                    );
                    continue;
                };
                assert!(
                    !injected(&failure.host),
                    "{name}/{mode} case {i}: injected {} reported\n  {shown}",
                    failure.host
                );
                if !sshd {
                    continue;
                }
                assert_eq!(
                    Some(failure.host.to_string().as_str()),
                    case.real_host,
                    "{name}/{mode} case {i}: unexpected failure\n  {shown}"
                );
            }
        }
    }
}

#[test]
fn generic_tag_rules_survive_the_corpus() {
    let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
    let spec = FilterSpec::inline(
        "generic",
        &[
            r"from <HOST> port <F-PORT/>",
            r"^.*user <F-USER>.*</F-USER> from <SUBNET>.*$",
            r"<F-ID/> <ADDR>/<CIDR>",
            r"(?:<IP4>|<IP6>) <F-COUNT>\d+</F-COUNT>",
        ],
        &[r"^.*\[.*\].*$"],
    );
    let mut filter = Filter::new(&spec, TimeZone::UTC).unwrap();
    for case in corpus::cases() {
        let _ = filter.scan(&case.line, now);
    }
}
