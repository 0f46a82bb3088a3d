//! The fingerprinter: tells whether the file at hand is the file we were
//! reading.
//!
//! A device and inode number identify a file only while it exists: once a
//! rotated file is deleted its inode is free, and the next file created in
//! the directory very often gets the same number (ext4 and tmpfs both reuse
//! eagerly). A checkpoint saying "inode 1234, offset 5000" would then make
//! us skip the first 5000 bytes of an unrelated new file. So each checkpoint
//! also carries a hash of the file's first line: log lines start with a
//! timestamp, so two generations of a log practically never share their
//! first line, and a file's first line never changes while it is appended
//! to. The same check detects a copytruncate that happened behind our back
//! and was already followed by enough writes to make the file longer than
//! our offset again: the first line changed.
//!
//! The first line is hashed up to and including its `'\n'`, and at most
//! [`FINGERPRINT_BYTES`] of it. Until the first line is complete (and shorter
//! than that), the file has no fingerprint yet ([`UNKNOWN`]); we have read
//! nothing from it then, so nothing depends on it.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// How much of the first line the fingerprint covers.
pub const FINGERPRINT_BYTES: usize = 1024;

/// "No complete first line yet." Never the hash of anything.
pub const UNKNOWN: u64 = 0;

/// The fingerprint of the file's current content (`UNKNOWN` if its first
/// line is not complete yet).
pub(crate) fn of_file(file: &File) -> io::Result<u64> {
    let mut buf = [0u8; FINGERPRINT_BYTES];
    let mut len = 0;
    // pread, not read: the descriptor's position is not ours to move, and a
    // short read just means "read on".
    while len < buf.len() {
        match file.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if memchr::memchr(b'\n', &buf[..len]).is_some() {
            break;
        }
    }
    Ok(of_prefix(&buf[..len]))
}

/// The fingerprint of a file whose first bytes are `prefix` (at least
/// `FINGERPRINT_BYTES` of them, or all of the file).
pub(crate) fn of_prefix(prefix: &[u8]) -> u64 {
    let first_line = match memchr::memchr(b'\n', prefix) {
        Some(i) if i < FINGERPRINT_BYTES => &prefix[..=i],
        _ if prefix.len() >= FINGERPRINT_BYTES => &prefix[..FINGERPRINT_BYTES],
        _ => return UNKNOWN,
    };
    fnv1a(first_line)
}

/// 64-bit FNV-1a. Chosen because its output is fixed by its definition: the
/// fingerprint is stored in the daemon's database and compared after an
/// upgrade, so `std`'s hasher (whose algorithm may change) will not do.
/// Collisions only need to be unlikely between generations of one log, not
/// resistant to an attacker (who would have to control a log's first line
/// and could then just write the lines they want).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // 0 means "unknown"; remap the one input in 2^64 that hashes to it.
    if hash == UNKNOWN {
        1
    } else {
        hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn known_value_is_stable() {
        // FNV-1a 64 of "a" is fixed by the algorithm's definition; if this
        // changes, every stored checkpoint becomes useless.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn first_line_only() {
        assert_eq!(of_prefix(b"first\nsecond\n"), of_prefix(b"first\nother"));
        assert_ne!(of_prefix(b"first\n"), of_prefix(b"First\n"));
        assert_eq!(of_prefix(b"no newline yet"), UNKNOWN);
        assert_eq!(of_prefix(b""), UNKNOWN);
    }

    #[test]
    fn long_first_line_is_cut() {
        let mut a = vec![b'x'; FINGERPRINT_BYTES];
        let b = a.clone();
        a.extend_from_slice(b"tail\n");
        assert_ne!(of_prefix(&a), UNKNOWN);
        assert_eq!(of_prefix(&a), of_prefix(&b));
    }

    #[test]
    fn file_fingerprint_follows_the_first_line() -> io::Result<()> {
        let mut f = tempfile::tempfile()?;
        assert_eq!(of_file(&f)?, UNKNOWN);
        f.write_all(b"Jan  1 00:00:01 host sshd[1]: hello")?;
        assert_eq!(of_file(&f)?, UNKNOWN);
        f.write_all(b"\n")?;
        let fp = of_file(&f)?;
        assert_ne!(fp, UNKNOWN);
        f.write_all(b"more lines\n")?;
        assert_eq!(of_file(&f)?, fp);
        f.set_len(0)?;
        assert_eq!(of_file(&f)?, UNKNOWN);
        Ok(())
    }
}
