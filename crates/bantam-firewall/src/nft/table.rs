//! Our table, `inet bantam`: the one thing bantam owns in nf_tables.
//!
//! Everything bantam creates lives in its own table, so that it never edits
//! rules it did not write, `nft list table inet bantam` shows all of it, and
//! deleting the table removes all of it. An `inet` table sees IPv4 and IPv6
//! alike, so one chain serves both.

use super::abi::*;
use crate::error::FirewallError;
use crate::netlink::attr::PutAttr;
use crate::netlink::batch::Batch;
use crate::netlink::message::NLM_F_CREATE;

/// How errors and logs name an object: "set inet bantam addr4", the way
/// `nft` spells it, so it can be pasted into `nft list`.
pub(crate) fn object_name(kind: &str, table: &str, name: &str) -> String {
    format!("{kind} inet {table} {name}")
}

/// Checks a table name before it reaches the kernel. The kernel would take
/// any string up to 255 bytes; we keep to names `nft` parses without quoting,
/// so an operator can type every command our errors mention.
pub(crate) fn validate_name(name: &str) -> Result<(), FirewallError> {
    let invalid = |reason| FirewallError::InvalidName {
        name: name.to_string(),
        reason,
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(invalid("empty")),
        Some(first) if !first.is_ascii_alphabetic() => {
            return Err(invalid("must start with a letter"))
        }
        Some(_) => {}
    }
    if name.len() > 64 {
        return Err(invalid("longer than 64 characters"));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(invalid(
            "only letters, digits, '_', '-' and '.' are allowed",
        ));
    }
    Ok(())
}

/// Creates the table unless it exists (no NLM_F_EXCL: an existing table
/// is kept as it is, with its sets and their elements).
pub(crate) fn add(batch: &mut Batch, table: &str) {
    let action = format!("creating table inet {table}");
    batch.begin(NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE, &action);
    batch.buf().put_str(NFTA_TABLE_NAME, table);
    batch.end();
}

/// Deletes the table and everything in it, in one step of the kernel.
pub(crate) fn delete(batch: &mut Batch, table: &str) {
    let action = format!("deleting table inet {table}");
    batch.begin(NFT_MSG_DELTABLE, NFPROTO_INET, 0, &action);
    batch.buf().put_str(NFTA_TABLE_NAME, table);
    batch.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["bantam", "bt-fw-123-4", "b.t_2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1bantam",
            "ban tam",
            "bantam\0",
            "ba\"m",
            &"x".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            object_name("set", "bantam", "addr4"),
            "set inet bantam addr4"
        );
    }
}
