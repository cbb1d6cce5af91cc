//! Image references as Docker reads them (`golang:1.24` is
//! `docker.io/library/golang:1.24`): a leaf type the compiler, the lock,
//! the exporters and the deploy outputs share; and a reference's registry
//! host, which the cache flags and the image readers check for loopback
//! (plain HTTP is allowed there only). No IO.

use std::fmt;

use serde::Serialize;

/// Why a text is not an image reference (or not a digest): what, and how
/// to write one. The compiler turns it into a diagnostic at the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RefError {
    pub message: String,
    pub help: String,
}

fn bad(message: impl Into<String>, help: impl Into<String>) -> RefError {
    RefError {
        message: message.into(),
        help: help.into(),
    }
}

/// A normalised image reference: `docker.io/library/golang:1.24@sha256:…`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ImageRef {
    /// Registry host and repository path, e.g. `docker.io/library/golang`.
    pub name: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>` when pinned.
    pub digest: Option<String>,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Parses and normalises an image reference the way Docker does:
/// `golang:1.24` is `docker.io/library/golang:1.24`, a reference with
/// neither tag nor digest gets `:latest`.
pub fn parse(s: &str) -> Result<ImageRef, RefError> {
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
pub fn digest(s: &str) -> Result<String, RefError> {
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

/// Whether a registry host is loopback (plain HTTP is fine there).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .rsplit_once(':')
        .filter(|(h, port)| !h.ends_with(':') && port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare == "::1"
        || bare
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The registry host of an image reference (`docker.io` when it has none,
/// as Docker reads `alpine` or `library/alpine`).
pub fn registry_host(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(registry_host("alpine"), "docker.io");
        assert_eq!(registry_host("library/alpine:3"), "docker.io");
        assert_eq!(registry_host("127.0.0.1:5000/a/b:c"), "127.0.0.1:5000");
        assert_eq!(registry_host("localhost/a"), "localhost");
        assert!(is_loopback_host("127.0.0.1:5000"));
        assert!(is_loopback_host("127.1.2.3"));
        assert!(is_loopback_host("localhost:5000"));
        assert!(is_loopback_host("[::1]:5000"));
        assert!(!is_loopback_host("10.0.0.1:5000"));
        assert!(!is_loopback_host("docker.io"));
    }
}
