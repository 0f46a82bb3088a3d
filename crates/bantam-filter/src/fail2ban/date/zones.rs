//! Zone names and offsets in dates: `Z`, `UTC`, `+0100`, `CET`, `CET+01`.
//!
//! # Why fixed offsets
//!
//! fail2ban reads a zone abbreviation as one fixed offset (`CET` is always
//! +01:00, `CEST` +02:00) and ignores what a name would mean on another
//! date; it knows about two hundred abbreviations and rejects the rest. We
//! do the same so that the same log line gives the same instant. The table
//! is the usual offset of each abbreviation; where an abbreviation is
//! ambiguous in the world (`CST`, `IST` …) the entry is the one fail2ban
//! documents.

/// Abbreviation → offset east of UTC, in minutes, sorted by offset.
const ABBREVIATIONS: &[(i32, &[&str])] = &[
    (-12 * 60, &["Y"]),
    (-11 * 60, &["X", "NUT", "SST"]),
    (-10 * 60, &["W", "CKT", "HAST", "HST", "TAHT", "TKT"]),
    (-9 * 60 - 30, &["MART", "MIT"]),
    (-9 * 60, &["V", "AKST", "GAMT", "GIT", "HADT", "HNY"]),
    (-8 * 60, &["U", "AKDT", "CIST", "HAY", "HNP", "PST", "PT"]),
    (-7 * 60, &["T", "HAP", "HNR", "MST", "PDT"]),
    (-6 * 60, &["S", "CST", "EAST", "GALT", "HAR", "HNC", "MDT"]),
    (
        -5 * 60,
        &[
            "R", "CDT", "COT", "EASST", "ECT", "EST", "ET", "HAC", "HNE", "PET",
        ],
    ),
    (-4 * 60 - 30, &["HLV", "VET"]),
    (
        -4 * 60,
        &[
            "Q", "AST", "BOT", "CLT", "COST", "EDT", "FKT", "GYT", "HAE", "HNA", "PYT",
        ],
    ),
    (-3 * 60 - 30, &["HNT", "NST", "NT"]),
    (
        -3 * 60,
        &[
            "P", "ADT", "ART", "BRT", "CLST", "FKST", "GFT", "HAA", "PMST", "PYST", "SRT", "UYT",
            "WGT",
        ],
    ),
    (-2 * 60 - 30, &["HAT", "NDT"]),
    (-2 * 60, &["O", "BRST", "FNT", "PMDT", "UYST", "WGST"]),
    (-60, &["N", "AZOT", "CVT", "EGT"]),
    (0, &["Z", "EGST", "GMT", "UTC", "WET", "WT"]),
    (60, &["A", "CET", "DFT", "WAT", "WEDT", "WEST"]),
    (120, &["B", "CAT", "CEDT", "CEST", "EET", "SAST", "WAST"]),
    (180, &["C", "EAT", "EEDT", "EEST", "IDT", "MSK"]),
    (3 * 60 + 30, &["IRST"]),
    (
        240,
        &[
            "D", "AMT", "AZT", "GET", "GST", "KUYT", "MSD", "MUT", "RET", "SAMT", "SCT",
        ],
    ),
    (4 * 60 + 30, &["AFT", "IRDT"]),
    (
        300,
        &[
            "E", "AMST", "AQTT", "AZST", "HMT", "MAWT", "MVT", "PKT", "TFT", "TJT", "TMT", "UZT",
            "YEKT",
        ],
    ),
    (5 * 60 + 30, &["SLT"]),
    (5 * 60 + 45, &["NPT"]),
    (
        360,
        &[
            "F", "ALMT", "BIOT", "BTT", "IOT", "KGT", "NOVT", "OMST", "YEKST",
        ],
    ),
    (6 * 60 + 30, &["CCT", "MMT"]),
    (
        420,
        &[
            "G", "CXT", "DAVT", "HOVT", "ICT", "KRAT", "NOVST", "OMSST", "THA", "WIB",
        ],
    ),
    (
        480,
        &[
            "H", "ACT", "AWST", "BDT", "BNT", "CAST", "HKT", "IRKT", "KRAST", "MYT", "PHT", "SGT",
            "ULAT", "WITA", "WST",
        ],
    ),
    (
        540,
        &[
            "I", "AWDT", "IRKST", "JST", "KST", "PWT", "TLT", "WDT", "WIT", "YAKT",
        ],
    ),
    (9 * 60 + 30, &["ACST"]),
    (600, &["K", "AEST", "PGT", "VLAT", "YAKST", "YAPT"]),
    (10 * 60 + 30, &["ACDT", "LHST"]),
    (
        660,
        &[
            "L", "AEDT", "LHDT", "MAGT", "NCT", "PONT", "SBT", "VLAST", "VUT",
        ],
    ),
    (11 * 60 + 30, &["NFT"]),
    (
        720,
        &[
            "M", "ANAST", "ANAT", "FJT", "GILT", "MAGST", "MHT", "NZST", "PETST", "PETT", "TVT",
            "WFT",
        ],
    ),
    (780, &["FJST", "NZDT"]),
];

fn abbreviation(name: &str) -> Option<i32> {
    ABBREVIATIONS
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|(off, _)| *off)
}

/// The offset, in minutes east of UTC, that a zone text in a date stands
/// for, or `None` when fail2ban would reject the date: an abbreviation of
/// one or three to five capitals, then optionally a numeric offset
/// (`+01`, `+0100`, `+01:00`) that is added to it; or the offset alone.
pub(crate) fn offset_minutes(text: &str) -> Option<i32> {
    if matches!(text, "Z" | "UTC" | "GMT") {
        return Some(0);
    }
    let split = text.find(['+', '-']).unwrap_or(text.len());
    let (abbr, numeric) = text.split_at(split);
    let base = match abbr.len() {
        0 => 0,
        1 | 3..=5 if abbr.bytes().all(|b| b.is_ascii_uppercase()) => abbreviation(abbr)?,
        _ => return None,
    };
    if numeric.is_empty() {
        return Some(base);
    }
    Some(base + numeric_offset(numeric)?)
}

/// `+hh`, `+hhmm` or `+hh:mm` (hours 00–19, as fail2ban accepts).
fn numeric_offset(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |r: &[u8]| -> Option<i32> {
        r.iter().try_fold(0i32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
        })
    };
    if b.len() < 3 || !matches!(b[1], b'0' | b'1') {
        return None;
    }
    let hours = digits(&b[1..3])?;
    let minutes = match &b[3..] {
        [] => 0,
        [m1, m2] => digits(&[*m1, *m2])?,
        [b':', m1, m2] => digits(&[*m1, *m2])?,
        _ => return None,
    };
    Some(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::offset_minutes;

    #[test]
    fn forms() {
        assert_eq!(offset_minutes("Z"), Some(0));
        assert_eq!(offset_minutes("GMT"), Some(0));
        assert_eq!(offset_minutes("+0200"), Some(120));
        assert_eq!(offset_minutes("-05:30"), Some(-330));
        assert_eq!(offset_minutes("+01"), Some(60));
        assert_eq!(offset_minutes("CET"), Some(60));
        assert_eq!(offset_minutes("CEST"), Some(120));
        assert_eq!(offset_minutes("CET+01"), Some(120));
        assert_eq!(offset_minutes("NPT"), Some(345));
        assert_eq!(offset_minutes("cet"), None);
        assert_eq!(offset_minutes("ABCD"), None);
        assert_eq!(offset_minutes("+2500"), None);
    }
}
