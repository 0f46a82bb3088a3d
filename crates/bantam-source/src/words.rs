//! `cmd:` argument lists: split like a POSIX shell splits words (blanks
//! separate, `'…'` quotes literally, `"…"` quotes with `\"`, `\\`, `\$`
//! and `` \` `` escapes, `\` outside quotes escapes the next character),
//! and nothing else: no variables, globs, pipes or redirections. The
//! command never goes through a shell; whoever wants one writes
//! `cmd:sh -c '…'`.

/// The words of `text`; `Err` names what is wrong (an unclosed quote, a
/// trailing backslash, no word at all).
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("backslash at the end".into()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    if words.is_empty() {
        return Err("no command given".into());
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_as_a_shell_splits_them() {
        assert_eq!(
            split_words("docker logs -f --since 0s web").unwrap(),
            ["docker", "logs", "-f", "--since", "0s", "web"]
        );
        assert_eq!(
            split_words(r#"sh -c 'echo "a  b"; exit 1' "x\"y" a\ b '' $HOME"#).unwrap(),
            [
                "sh",
                "-c",
                "echo \"a  b\"; exit 1",
                "x\"y",
                "a b",
                "",
                "$HOME"
            ]
        );
        assert!(split_words("echo 'x").unwrap_err().contains("single"));
        assert!(split_words("echo \"x").unwrap_err().contains("double"));
        assert!(split_words("echo x\\").unwrap_err().contains("backslash"));
        assert!(split_words("   ").unwrap_err().contains("no command"));
    }
}
