//! Writes the hostile-input corpus to stdout, one case a line, for
//! `bench/hostile.sh` (which times `bantam regex --timings` on it).

// The expectations in each case are the test's business, not ours.
#[allow(dead_code)]
#[path = "../tests/hostile/corpus.rs"]
mod corpus;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for case in corpus::cases() {
        // A case may itself contain no newline by construction; keep it so.
        let line: Vec<u8> = case
            .line
            .iter()
            .map(|&b| if b == b'\n' { b' ' } else { b })
            .collect();
        out.write_all(&line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
