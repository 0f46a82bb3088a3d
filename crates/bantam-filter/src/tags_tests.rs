use super::*;

fn exp(p: &str) -> String {
    expand(p, TagOptions::default()).unwrap()
}

#[test]
fn host_expands_to_unique_groups() {
    let e = exp("from <HOST> to <HOST>");
    assert!(
        e.contains("bt0_ip4")
            && e.contains("bt1_ip6")
            && e.contains("bt2_ip4")
            && e.contains("bt3_ip6")
    );
    assert!(!e.contains("dns"), "names only when opted in: {e}");
    assert!(
        !e.contains("(?<=") && !e.contains("(?<!") && !e.contains("(?="),
        "no look-around: {e}"
    );
}

#[test]
fn host_with_names_when_opted_in() {
    let e = expand(
        "<HOST>",
        TagOptions {
            allow_hostnames: true,
        },
    )
    .unwrap();
    assert!(e.contains("_dns>"));
}

#[test]
fn every_address_tag() {
    for (tag, roles) in [
        ("<ADDR>", &["ip4", "ip6"][..]),
        ("<IP4>", &["ip4"]),
        ("<IP6>", &["ip6"]),
        ("<DNS>", &["dns"]),
        ("<CIDR>", &["cidr"]),
        ("<SUBNET>", &["ip4", "ip6", "cidr"]),
        ("<F-IP4/>", &["ip4"]),
        ("<F-IP6/>", &["ip6"]),
        ("<F-ADDR/>", &["ip4", "ip6"]),
        ("<F-ID/>", &["fid"]),
        ("<F-PORT/>", &["port"]),
    ] {
        let e = exp(tag);
        for role in roles {
            assert!(e.contains(&format!("_{role}>")), "{tag} -> {e}");
        }
    }
}

#[test]
fn field_tags() {
    assert_eq!(exp("<F-USER>\\S+</F-USER>"), "(?P<bt0_user>\\S+)");
    assert_eq!(exp("<F-ID>\\d+</F-ID>"), "(?P<bt0_fid>\\d+)");
    assert_eq!(exp("<F-COUNT>\\d+</F-COUNT>"), "(?P<bt0_count>\\d+)");
    assert_eq!(exp("<F-NOFAIL>ok</F-NOFAIL>"), "(?P<bt0_nofail>ok)");
    assert_eq!(exp("<F-CONTENT>.+</F-CONTENT>"), "(?P<bt0_content>.+)");
    assert_eq!(exp("<F-MY_FIELD2>x</F-MY_FIELD2>"), "(?P<bt0_my_field2>x)");
    assert_eq!(exp("<F-A><F-B>x</F-B></F-A>"), "(?P<bt0_a>(?P<bt1_b>x))");
}

#[test]
fn roles_from_names() {
    assert_eq!(Role::from_group_name("bt3_ip4"), Role::Ip4);
    assert_eq!(Role::from_group_name("bt12_user"), Role::User);
    assert_eq!(Role::from_group_name("bt0_fid"), Role::Id);
    assert_eq!(Role::from_group_name("bt0_count"), Role::Count);
    assert_eq!(Role::from_group_name("bt0_nofail"), Role::NoFail);
    assert_eq!(
        Role::from_group_name("host_name"),
        Role::Field("host_name".into())
    );
    assert_eq!(Role::from_group_name("user"), Role::User);
    assert_eq!(
        Role::from_group_name("btx_user"),
        Role::Field("btx_user".into())
    );
}

#[test]
fn unknown_tags_stay_literal() {
    assert_eq!(
        exp("a <foo> b < c <F-lower> <F-X"),
        "a <foo> b < c <F-lower> <F-X"
    );
}

#[test]
fn malformed_field_tags_are_errors_that_say_why() {
    let err = expand("<F-USER>x", TagOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("<F-USER> is never closed"), "{err}");
    let err = expand("x</F-USER>", TagOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no opening tag"), "{err}");
    let err = expand("<F-A>x</F-B>", TagOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("</F-B> closes <F-A>"), "{err}");
    let err = expand("<F-NOPE/>", TagOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a self-closing tag"), "{err}");
}
