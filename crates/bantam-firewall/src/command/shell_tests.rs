//! The quoting `shell.rs` chooses for each place a tag can stand.

use super::*;

fn render(text: &str) -> Rendered {
    Template::compile(text).unwrap().render(|tag| match tag {
        "ip" => Some("192.0.2.7".to_string()),
        "matches" => Some("a $(b) `c`\n'd\"".to_string()),
        "F-USER" => Some("root".to_string()),
        _ => None,
    })
}

fn script(text: &str) -> String {
    render(text).script
}

#[test]
fn trusted_values_are_inline() {
    assert_eq!(script("ban <ip> now"), "ban 192.0.2.7 now");
    assert_eq!(script("'<ip>' \"<ip>\""), "'192.0.2.7' \"192.0.2.7\"");
}

#[test]
fn untrusted_values_are_quoted_references_for_their_place() {
    assert_eq!(script("echo <matches>"), r#"echo "${f2bV_matches}""#);
    assert_eq!(
        script(r#"echo "x <matches> y""#),
        r#"echo "x ${f2bV_matches} y""#
    );
    assert_eq!(
        script("echo 'x <matches> y'"),
        r#"echo 'x '"${f2bV_matches}"' y'"#
    );
    assert_eq!(
        script(r#"echo "$(printf %s <matches>)""#),
        r#"echo "$(printf %s "${f2bV_matches}")""#
    );
    assert_eq!(
        script(r#"echo "`echo "<F-USER>"` <F-USER>""#),
        r#"echo "`echo "${f2bV_F_user}"` ${f2bV_F_user}""#
    );
    assert_eq!(
        script("echo `echo <matches>`"),
        r#"echo `echo "${f2bV_matches}"`"#
    );
}

#[test]
fn values_travel_in_the_environment_once_per_tag() {
    let rendered = render("a <matches> <matches> <F-USER> <F-NONE>");
    assert_eq!(
        rendered.env,
        vec![
            ("f2bV_matches".to_string(), "a $(b) `c`\n'd\"".to_string()),
            ("f2bV_F_user".to_string(), "root".to_string()),
            ("f2bV_F_none".to_string(), String::new()),
        ]
    );
}

#[test]
fn quoting_is_followed_past_escapes_and_nesting() {
    // The `'` inside double quotes, the escaped `"`, and `$( )` nesting
    // must not confuse where the tag stands.
    assert_eq!(
        script(r#"echo "it's \" <matches>""#),
        r#"echo "it's \" ${f2bV_matches}""#
    );
    assert_eq!(
        script(r#"x=$(echo "(" ) <matches>"#),
        r#"x=$(echo "(" ) "${f2bV_matches}""#
    );
    assert_eq!(script("echo \\' <matches>"), r#"echo \' "${f2bV_matches}""#);
}

#[test]
fn a_backslash_before_a_tag_cannot_unquote_it() {
    assert_eq!(script(r"echo \<matches>"), r#"echo "${f2bV_matches}""#);
    assert_eq!(
        script(r#"echo "\<matches>""#),
        r#"echo "\\${f2bV_matches}""#
    );
}

#[test]
fn comments_and_heredocs() {
    assert_eq!(script("true # <matches>"), "true # ${f2bV_matches}");
    assert_eq!(
        script("cat <<EOF\nline '<matches>'\nEOF\necho <matches>"),
        "cat <<EOF\nline '${f2bV_matches}'\nEOF\necho \"${f2bV_matches}\""
    );
    // A here-string is no here-document: the next line is command text.
    assert_eq!(
        script("cat <<<word\necho <matches>"),
        "cat <<<word\necho \"${f2bV_matches}\""
    );
    let err = Template::compile("cat <<'EOF'\n<matches>\nEOF").unwrap_err();
    assert!(err.contains("here-document"), "{err}");
}

#[test]
fn places_that_evaluate_again_are_refused() {
    let err = Template::compile("echo ${x:-<matches>}").unwrap_err();
    assert!(err.contains("<matches>") && err.contains("${…}"), "{err}");
    assert!(Template::compile("echo $(( <F-COUNT> + 1 ))").is_err());
    // Trusted values are fine there.
    assert!(Template::compile("echo $(( <failures> + 1 )) ${x:-<ip>}").is_ok());
}

#[test]
fn nul_is_dropped_and_long_values_are_cut() {
    let template = Template::compile("echo <matches>").unwrap();
    let rendered = template.render(|_| Some("a\0b".to_string()));
    assert_eq!(rendered.env[0].1, "ab");
    let rendered = template.render(|_| Some("x".repeat(MAX_VALUE + 10)));
    assert_eq!(rendered.env[0].1.len(), MAX_VALUE);
}

#[test]
fn unknown_tags_stay_literal() {
    assert_eq!(script("echo <unknown> <ip>"), "echo <unknown> 192.0.2.7");
}
