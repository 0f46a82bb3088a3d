//! An IPv6 address as text, exactly as the standard library writes it
//! (RFC 5952: lower-case hex, no leading zeros, the first longest run of
//! two or more zero groups as `::`, IPv4-mapped addresses as
//! `::ffff:a.b.c.d`), without the formatting machinery.
//!
//! Every ban's target is turned into text once (its key in the store and
//! the log); `Ipv6Addr`'s `Display` formats each group through
//! `Formatter::pad_integral`, 5% of the loop's time in a burst of a
//! million new attackers. The text is a key the store compares byte for
//! byte with what earlier versions wrote, so it must never differ from
//! `Display`: the tests compare the two over every shape of zero runs and
//! random addresses.

use std::net::Ipv6Addr;

/// The longest IPv6 text: eight groups of four hex digits and seven colons.
pub(crate) const MAX_LEN: usize = 39;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `addr` into `buf` and returns the text; `None` for the
/// IPv4-mapped form, which the caller leaves to `Display`.
pub(crate) fn v6_text<'b>(addr: &Ipv6Addr, buf: &'b mut [u8; MAX_LEN]) -> Option<&'b str> {
    if addr.to_ipv4_mapped().is_some() {
        return None;
    }
    let groups = addr.segments();
    let (zeros_at, zeros_len) = longest_zero_run(&groups);
    let mut len = 0;
    let mut i = 0;
    while i < 8 {
        if zeros_len > 1 && i == zeros_at {
            // "::" stands for the run and both separators around it.
            buf[len..len + 2].copy_from_slice(b"::");
            len += 2;
            i += zeros_len;
            continue;
        }
        if i > 0 && !(zeros_len > 1 && i == zeros_at + zeros_len) {
            buf[len] = b':';
            len += 1;
        }
        len += hex_group(groups[i], &mut buf[len..]);
        i += 1;
    }
    // Only ASCII was written.
    std::str::from_utf8(&buf[..len]).ok()
}

/// Start and length of the first longest run of zero groups.
fn longest_zero_run(groups: &[u16; 8]) -> (usize, usize) {
    let (mut best_at, mut best_len) = (0, 0);
    let mut i = 0;
    while i < 8 {
        let start = i;
        while i < 8 && groups[i] == 0 {
            i += 1;
        }
        if i - start > best_len {
            (best_at, best_len) = (start, i - start);
        }
        i += 1;
    }
    (best_at, best_len)
}

/// `group` in lower-case hex without leading zeros; returns its length.
fn hex_group(group: u16, out: &mut [u8]) -> usize {
    let digits = (16 - group.leading_zeros() as usize).div_ceil(4).max(1);
    for (k, slot) in out[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - k);
        *slot = HEX[usize::from((group >> shift) & 0xf)];
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_display(addr: Ipv6Addr) {
        let mut buf = [0; MAX_LEN];
        match v6_text(&addr, &mut buf) {
            Some(text) => assert_eq!(text, addr.to_string(), "{:?}", addr.segments()),
            None => assert!(addr.to_ipv4_mapped().is_some()),
        }
    }

    #[test]
    fn every_shape_of_zero_groups_is_written_as_display_writes_it() {
        // Each of the 256 patterns of zero and non-zero groups, with
        // group values of every digit count.
        for pattern in 0u32..256 {
            for value in [0x1u16, 0x2a, 0xdb8, 0xffff, 0x1000, 0x0f0f] {
                let mut groups = [0u16; 8];
                for (i, g) in groups.iter_mut().enumerate() {
                    if pattern & (1 << i) != 0 {
                        *g = value.wrapping_add(i as u16);
                    }
                }
                let [a, b, c, d, e, f, g, h] = groups;
                same_as_display(Ipv6Addr::new(a, b, c, d, e, f, g, h));
            }
        }
    }

    #[test]
    fn random_and_special_addresses_are_written_as_display_writes_them() {
        let mut x: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0001;
        for _ in 0..200_000 {
            // xorshift: reproducible, and no dependency for it.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            same_as_display(Ipv6Addr::from(x));
            // Half the groups cleared, so runs of zeros are common.
            same_as_display(Ipv6Addr::from(
                x & 0xffff_0000_ffff_0000_0000_ffff_0000_ffff,
            ));
        }
        for text in [
            "::",
            "::1",
            "1::",
            "::ffff:0:0",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "64:ff9b::192.0.2.1",
            "2001:db8::",
            "2001:db8:0:1:0:0:1:0",
            "fe80::1:0:0:1",
        ] {
            same_as_display(text.parse().unwrap());
        }
    }
}
