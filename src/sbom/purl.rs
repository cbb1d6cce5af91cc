//! Package URLs (purl) for what the SBOM lists: Go modules, the Go
//! standard library, OCI images.
//!
//! Conventions followed, and why:
//! - Go modules are `pkg:golang/<module path>@<version>`, each path segment
//!   and the version percent-encoded (so `+incompatible` is `%2B…`). The
//!   case of the path is kept: Go module paths are case-sensitive
//!   (`github.com/BurntSushi/toml`), and scanners match them that way.
//! - The standard library is `pkg:golang/stdlib@<version without go>`,
//!   the name Go's vulnerability database and OSV use for it.
//! - An image is `pkg:oci/<repository name>@<digest>` with its registry
//!   path and tag as qualifiers; without a digest there is no purl (the
//!   type requires one).

use crate::compiler::model::ImageRef;

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `pkg:golang/example.org/mod@v1.2.3`; no version part when `version` is
/// empty or `(devel)` (a main module built from a checkout).
pub fn golang(path: &str, version: &str) -> String {
    let segments: Vec<String> = path.split('/').map(encode).collect();
    let mut out = format!("pkg:golang/{}", segments.join("/"));
    if !version.is_empty() && version != "(devel)" {
        out.push('@');
        out.push_str(&encode(version));
    }
    out
}

/// The standard library's purl for a Go version string: `go1.24.4` →
/// `pkg:golang/stdlib@1.24.4`. A suffix after a space (` X:boringcrypto`)
/// is dropped.
pub fn stdlib(go_version: &str) -> String {
    let v = go_version.split(' ').next().unwrap_or_default();
    let v = v.strip_prefix("go").unwrap_or(v);
    golang("stdlib", v)
}

/// `pkg:oci/golang@sha256%3A…?repository_url=docker.io/library/golang&tag=1.24`,
/// or `None` when the reference has no digest.
pub fn oci(image: &ImageRef) -> Option<String> {
    let digest = image.digest.as_deref()?;
    let name = image.name.rsplit('/').next().unwrap_or(&image.name);
    let mut out = format!(
        "pkg:oci/{}@{}?repository_url={}",
        encode(&name.to_lowercase()),
        encode(digest),
        qualifier(&image.name)
    );
    if let Some(tag) = &image.tag {
        out.push_str("&tag=");
        out.push_str(&qualifier(tag));
    }
    Some(out)
}

/// A qualifier value: `/` and `:` may stay as they are.
fn qualifier(s: &str) -> String {
    s.split('/')
        .map(|seg| seg.split(':').map(encode).collect::<Vec<_>>().join(":"))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golang_purls() {
        assert_eq!(
            golang("github.com/BurntSushi/toml", "v1.3.2"),
            "pkg:golang/github.com/BurntSushi/toml@v1.3.2"
        );
        assert_eq!(
            golang("example.org/m", "v2.0.0+incompatible"),
            "pkg:golang/example.org/m@v2.0.0%2Bincompatible"
        );
        assert_eq!(
            golang("example.com/app", "(devel)"),
            "pkg:golang/example.com/app"
        );
        assert_eq!(stdlib("go1.24.4"), "pkg:golang/stdlib@1.24.4");
        assert_eq!(
            stdlib("go1.22.1 X:boringcrypto"),
            "pkg:golang/stdlib@1.22.1"
        );
    }

    #[test]
    fn oci_purls() {
        let mut r = ImageRef {
            name: "docker.io/library/golang".into(),
            tag: Some("1.24".into()),
            digest: None,
        };
        assert_eq!(oci(&r), None);
        r.digest = Some(format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(
            oci(&r).as_deref(),
            Some(
                "pkg:oci/golang@sha256%3Aabababababababababababababababababababababababababababababababab\
                 ?repository_url=docker.io/library/golang&tag=1.24"
            )
        );
    }
}
