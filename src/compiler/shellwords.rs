//! Exec arguments as one line a person reads as they run: each argument
//! a POSIX shell word, quoted only when it needs to be, so
//! `-ldflags=-s -buildid= ` shows as one word (`'-ldflags=-s -buildid= '`)
//! and an empty argument is still there (`''`). Step names are made with
//! it: they are what progress and errors show.

/// `args` as shell words, one space apart.
pub fn join(args: &[String]) -> String {
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// One argument as a shell word: as it is when every character is safe
/// unquoted, else in single quotes (a `'` inside written `'\''`).
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let args: Vec<String> = [
            "go",
            "build",
            "-ldflags=-s -buildid= ",
            "-tags=",
            "",
            "it's",
            "$HOME",
            "./cmd/api",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            join(&args),
            r"go build '-ldflags=-s -buildid= ' -tags= '' 'it'\''s' '$HOME' ./cmd/api"
        );
        assert!(!join(&args).contains("  "), "no double spaces");
    }
}
