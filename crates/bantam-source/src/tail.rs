//! The last lines of a log, read once: what `bantam check` runs a jail's
//! filter over before a reload. Files are read backwards from their end in
//! blocks, so a multi-gigabyte log costs only the tail asked for.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::error::SourceError;
use crate::pattern::Pattern;

/// Blocks read backwards; a line longer than this costs more blocks.
const BLOCK: u64 = 64 << 10;

/// The tail of one file.
#[derive(Debug)]
pub struct FileTail {
    pub path: PathBuf,
    /// Up to the number asked for, oldest first, without line ends.
    pub lines: Vec<Vec<u8>>,
}

/// The files a file `logpath` (a path or a file-name glob) names now, in
/// name order, as the daemon would follow them (no rotated or compressed
/// copies). An absent directory or file is an error naming it.
pub fn files_of(logpath: &str) -> Result<Vec<PathBuf>, SourceError> {
    let pattern = Pattern::parse(logpath)?;
    if let Some(path) = pattern.literal_path() {
        std::fs::metadata(&path).map_err(|e| SourceError::io(&path, "open", e))?;
        return Ok(vec![path]);
    }
    let entries =
        std::fs::read_dir(pattern.dir()).map_err(|e| SourceError::io(pattern.dir(), "list", e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| pattern.matches(&e.file_name()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The last `max_lines` lines of `path` (a final line without a newline
/// counts). Opening is the permission check: an unreadable log is an error.
pub fn tail_file(path: &std::path::Path, max_lines: usize) -> Result<FileTail, SourceError> {
    let mut file = File::open(path).map_err(|e| SourceError::io(path, "open", e))?;
    let len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| SourceError::io(path, "seek", e))?;
    let mut kept: Vec<u8> = Vec::new();
    let mut end = len;
    // One newline more than lines wanted marks where the first kept line begins.
    while end > 0 && memchr::memchr_iter(b'\n', &kept).count() <= max_lines {
        let start = end.saturating_sub(BLOCK);
        let mut block = vec![0; (end - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut block))
            .map_err(|e| SourceError::io(path, "read", e))?;
        block.extend_from_slice(&kept);
        kept = block;
        end = start;
    }
    let text = kept.strip_suffix(b"\n").unwrap_or(&kept);
    let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if text.is_empty() {
        lines.clear();
    }
    let skip = lines.len().saturating_sub(max_lines);
    lines.drain(..skip);
    Ok(FileTail {
        path: path.to_owned(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let tail = tail_file(&path, 3).unwrap();
        assert_eq!(
            tail.lines,
            [
                b"line 19997".to_vec(),
                b"line 19998".to_vec(),
                b"line 19999".to_vec()
            ]
        );
        let all = tail_file(&path, 50_000).unwrap();
        assert_eq!(all.lines.len(), 20_000);
        assert_eq!(all.lines[0], b"line 0");
        std::fs::write(&path, "x\ny").unwrap();
        assert_eq!(
            tail_file(&path, 10).unwrap().lines,
            [b"x".to_vec(), b"y".to_vec()]
        );
        std::fs::write(&path, "").unwrap();
        assert!(tail_file(&path, 10).unwrap().lines.is_empty());
    }

    #[test]
    fn files_of_a_glob_and_absent_paths() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.log", "a.log", "a.log.1", "c.txt"] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        let glob = format!("{}/*.log", dir.path().display());
        let names: Vec<_> = files_of(&glob)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.log", "b.log"]);
        let missing = format!("{}/none.log", dir.path().display());
        let e = files_of(&missing).unwrap_err().to_string();
        assert!(
            e.contains("cannot open") && e.contains("none.log") && e.contains("No such file"),
            "{e}"
        );
    }
}
