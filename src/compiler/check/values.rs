//! Parsers for the typed values of statements: image references, ports,
//! users, paths, modes, `KEY=VALUE` pairs. Each returns a plain error
//! message; the caller attaches the code and the span.

use crate::compiler::model::{ImageRef, Port, Proto, Sharing, User};

/// Why a value was refused: the label for the span and the help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bad {
    pub message: String,
    pub help: String,
}

fn bad(message: impl Into<String>, help: impl Into<String>) -> Bad {
    Bad {
        message: message.into(),
        help: help.into(),
    }
}

/// Parses and normalises an image reference the way Docker does:
/// `golang:1.24` is `docker.io/library/golang:1.24`, a reference with
/// neither tag nor digest gets `:latest`.
pub fn image_ref(s: &str) -> Result<ImageRef, Bad> {
    const HELP: &str = "write `[HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST]`, e.g. `golang:1.24`";
    if s.is_empty() {
        return Err(bad("an empty image reference", HELP));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(digest(d)?)),
        None => (s, None),
    };
    // A tag is after the last `:` that follows the last `/` (a `:` before
    // it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return Err(bad(
                format!("`{t}` is not a valid tag"),
                "a tag is letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`",
            ));
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components.first().copied().unwrap_or("");
    let has_domain = components.len() > 1
        && (first.contains('.') || first.contains(':') || first == "localhost");
    let domain = if has_domain {
        let d = components.remove(0);
        if !valid_domain(d) {
            return Err(bad(format!("`{d}` is not a valid registry host"), HELP));
        }
        d.to_string()
    } else {
        "docker.io".to_string()
    };
    if components.is_empty() {
        return Err(bad("the image reference has no repository path", HELP));
    }
    for c in &components {
        if !valid_path_component(c) {
            return Err(bad(
                format!("`{c}` is not a valid repository path component"),
                "repository paths are lowercase letters and digits, separated by `.`, `_`, `__` or `-`",
            ));
        }
    }
    if domain == "docker.io" && components.len() == 1 {
        components.insert(0, "library");
    }
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, None) => Some("latest".to_string()),
        (None, Some(_)) => None,
    };
    Ok(ImageRef {
        name: format!("{domain}/{}", components.join("/")),
        tag,
        digest,
    })
}

/// `sha256:` and 64 lowercase hex digits.
pub fn digest(s: &str) -> Result<String, Bad> {
    let help = "a digest is `sha256:` followed by 64 lowercase hex digits";
    let Some(hex) = s.strip_prefix("sha256:") else {
        return Err(bad(format!("`{s}` is not a sha256 digest"), help));
    };
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(bad(
            format!(
                "the digest has {} characters, not 64 lowercase hex digits",
                hex.len()
            ),
            help,
        ));
    }
    Ok(s.to_string())
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    host_ok && port_ok
}

/// `[a-z0-9]+` runs separated by `.`, `_`, `__` or any number of `-`.
fn valid_path_component(c: &str) -> bool {
    if c.is_empty() {
        return false;
    }
    let bytes = c.as_bytes();
    if !bytes[0].is_ascii_lowercase() && !bytes[0].is_ascii_digit() {
        return false;
    }
    let last = bytes[bytes.len() - 1];
    if !last.is_ascii_lowercase() && !last.is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A separator run.
        let start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|x| x == '-');
        if !ok {
            return false;
        }
    }
    true
}

/// `N` or `N/tcp|udp|sctp`, N in 1..=65535.
pub fn port(s: &str) -> Result<Port, Bad> {
    let (num, proto) = match s.split_once('/') {
        Some((n, p)) => (n, Some(p)),
        None => (s, None),
    };
    let proto = match proto {
        None | Some("tcp") => Proto::Tcp,
        Some("udp") => Proto::Udp,
        Some("sctp") => Proto::Sctp,
        Some(p) => {
            return Err(bad(
                format!("unknown protocol `{p}`"),
                "the protocols are tcp (the default), udp and sctp, e.g. `8079/udp`",
            ));
        }
    };
    let number: u32 =
        if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) && num.len() <= 6 {
            num.parse().unwrap_or(0)
        } else {
            return Err(bad(
                format!("`{num}` is not a port number"),
                "a port is a number from 1 to 65535",
            ));
        };
    match u16::try_from(number) {
        Ok(n) if n > 0 => Ok(Port { number: n, proto }),
        _ => Err(bad(
            format!("port {number} is out of range"),
            "a port is a number from 1 to 65535",
        )),
    }
}

/// `UID[:GID]`, numeric only.
pub fn user(s: &str) -> Result<User, Bad> {
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let id = |x: &str| -> Result<u32, Bad> {
        if !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()) {
            x.parse::<u32>().map_err(|_| {
                bad(
                    format!("id {x} is out of range"),
                    "ids go from 0 to 4294967295",
                )
            })
        } else {
            Err(bad(
                format!("`{x}` is not a numeric id"),
                "a scratch image has no /etc/passwd to look names up in: write numeric ids, e.g. `1000:1000`",
            ))
        }
    };
    let uid = id(u)?;
    let gid = match g {
        Some(g) => Some(id(g)?),
        None => None,
    };
    Ok(User { uid, gid })
}

/// An absolute path in an image.
pub fn abs_path(s: &str) -> Result<String, Bad> {
    if s.starts_with('/') {
        Ok(s.to_string())
    } else {
        Err(bad(
            format!("`{s}` is not an absolute path"),
            format!(
                "paths in the image start with `/`, e.g. `/{}`",
                s.trim_start_matches("./")
            ),
        ))
    }
}

/// A path in the build context: relative, no `..`; normalised to
/// `/`-separated components without `.` (`./cmd/x/` is `cmd/x`).
pub fn context_path(s: &str) -> Result<String, Bad> {
    let help =
        "paths in the build context are relative to it, e.g. `config/app.json`, and stay inside it";
    if s.starts_with('/') {
        return Err(bad(format!("`{s}` is absolute"), help));
    }
    let mut parts = Vec::new();
    for c in s.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(bad(format!("`{s}` leaves the build context"), help)),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(bad(
            format!("`{s}` names the whole context, not a file"),
            help,
        ));
    }
    Ok(parts.join("/"))
}

/// An octal permission mode, e.g. `0644` or `755`.
pub fn mode(s: &str) -> Result<u32, Bad> {
    let help = "a mode is octal, at most 07777, e.g. `0644` or `0755`";
    if s.is_empty() || s.len() > 5 || !s.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(bad(format!("`{s}` is not an octal mode"), help));
    }
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(bad(format!("`{s}` is out of range"), help)),
    }
}

/// `KEY=VALUE`, a non-empty key without `=`.
pub fn key_value(s: &str) -> Result<(String, String), Bad> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(bad(
            format!("`{s}` is not KEY=VALUE"),
            "write `KEY=VALUE`; quote the whole pair if the value holds spaces",
        )),
    }
}

/// `true` or `false`.
pub fn boolean(s: &str) -> Result<bool, Bad> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(
            format!("`{s}` is not true or false"),
            "write `true`, `false`, or the key alone for true",
        )),
    }
}

/// A build argument name, `[A-Za-z_][A-Za-z0-9_]*`.
pub fn arg_name(s: &str) -> Result<String, Bad> {
    let mut chars = s.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad(
            format!("`{s}` is not a valid build argument name"),
            "names are letters, digits and `_`, not starting with a digit, e.g. `VERSION`",
        ))
    }
}

/// `shared`, `private` or `locked`.
pub fn sharing(s: &str) -> Result<Sharing, Bad> {
    match s {
        "shared" => Ok(Sharing::Shared),
        "private" => Ok(Sharing::Private),
        "locked" => Ok(Sharing::Locked),
        _ => Err(bad(
            format!("unknown sharing mode `{s}`"),
            "the modes are shared, private and locked",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn image_refs_normalise() {
        let r = image_ref("golang:1.24").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/golang:1.24");
        let r = image_ref("localhost:5000/a/b").unwrap();
        assert_eq!(r.to_string(), "localhost:5000/a/b:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = image_ref(&format!("ghcr.io/x/y@{d}")).unwrap();
        assert_eq!(r.to_string(), format!("ghcr.io/x/y@{d}"));
        assert!(image_ref("Golang").is_err());
        assert!(image_ref("golang@sha256:abc").is_err());
        assert!(image_ref("golang:").is_err());
    }

    #[test]
    fn ports_users_paths() {
        assert_eq!(port("8079/udp").unwrap().to_string(), "8079/udp");
        assert!(port("0").is_err());
        assert!(port("65536").is_err());
        assert!(port("80/http").is_err());
        assert_eq!(
            user("1000:1000").unwrap(),
            User {
                uid: 1000,
                gid: Some(1000)
            }
        );
        assert!(user("nobody").is_err());
        assert!(user("4294967296").is_err());
        assert_eq!(context_path("./cmd/x/").unwrap(), "cmd/x");
        assert!(context_path("../x").is_err());
        assert_eq!(mode("0644").unwrap(), 0o644);
        assert!(mode("0999").is_err());
    }
}
