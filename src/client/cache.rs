//! `--cache-to` / `--cache-from`: BuildKit's cache exports and imports
//! (`SolveRequest.Cache`), so CI runners with empty daemons reuse each
//! other's steps.
//!
//! Accepted forms (the buildx ones):
//!
//! - `type=registry,ref=HOST/REPO:TAG[,mode=min|max][,KEY=VALUE...]`, or a
//!   bare `HOST/REPO:TAG`: cache manifests in a registry. Exports default
//!   to `mode=max` (every step, not only the final image's layers): the
//!   step worth reusing is the compile, which is not in the final image.
//! - `type=inline` (export only): cache metadata inside the pushed image's
//!   config; import it with `type=registry,ref=THE_IMAGE`.
//! - `type=local,dest=DIR` / `type=local,src=DIR`: refused with a clear
//!   message for now (BuildKit writes local caches through a content store
//!   served on the client's session, which scratchc does not serve yet).
//!
//! Plain HTTP: loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`)
//! are plain HTTP by the daemon's own rules; any other host gets
//! `registry.insecure=true` only when `--insecure-registry` asks for it.
//!
//! What is never exported: cache mounts (`cache /root/.cache/go-build`).
//! BuildKit keeps them in the daemon only; see docs/reproducibility.md for
//! how scratchc lays out the Go caches so the expensive parts still travel.

use std::collections::BTreeMap;

use crate::proto::moby::buildkit::v1 as control;

/// Export or import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    To,
    From,
}

impl Direction {
    fn flag(self) -> &'static str {
        match self {
            Direction::To => "--cache-to",
            Direction::From => "--cache-from",
        }
    }
}

/// One parsed cache option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSpec {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
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

/// Parses one `--cache-to` / `--cache-from` value.
pub fn parse(value: &str, dir: Direction, insecure: bool) -> Result<CacheSpec, String> {
    let flag = dir.flag();
    if value.is_empty() {
        return Err(format!("empty {flag} value"));
    }
    let mut attrs = BTreeMap::new();
    let mut kind = None;
    if !value.contains('=') {
        kind = Some("registry".to_string());
        attrs.insert("ref".to_string(), value.to_string());
    } else {
        for part in value.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                return Err(format!(
                    "`{part}` in {flag} `{value}` is not key=value; write e.g. type=registry,ref=HOST/REPO:cache"
                ));
            };
            if k == "type" {
                kind = Some(v.to_string());
            } else {
                attrs.insert(k.to_string(), v.to_string());
            }
        }
    }
    let kind = kind.ok_or_else(|| format!("{flag} `{value}` has no type=registry|inline"))?;
    match (kind.as_str(), dir) {
        ("registry", _) => {
            let Some(r) = attrs.get("ref").filter(|r| !r.is_empty()) else {
                return Err(format!(
                    "{flag} `{value}`: type=registry needs ref=HOST/REPO:TAG"
                ));
            };
            let host = registry_host(r).to_string();
            if dir == Direction::To {
                attrs.entry("mode".into()).or_insert_with(|| "max".into());
                match attrs.get("mode").map(String::as_str) {
                    Some("min" | "max") => {}
                    other => {
                        return Err(format!(
                            "{flag} `{value}`: mode must be min or max, not {}",
                            other.unwrap_or("")
                        ));
                    }
                }
            }
            if insecure && !is_loopback_host(&host) {
                attrs
                    .entry("registry.insecure".into())
                    .or_insert_with(|| "true".into());
            }
        }
        ("inline", Direction::To) => {}
        ("inline", Direction::From) => {
            return Err(format!(
                "{flag} type=inline is not a source: import an inline cache with type=registry,ref=IMAGE"
            ));
        }
        ("local", _) => {
            return Err(format!(
                "{flag} type=local is not supported yet (BuildKit needs a content store on the client's session for it); use type=registry,ref=HOST/REPO:cache, e.g. a registry on 127.0.0.1 (scripts/registry.sh)"
            ));
        }
        (other, _) => {
            return Err(format!(
                "{flag} `{value}`: unknown cache type `{other}`; scratchc supports registry and inline"
            ));
        }
    }
    Ok(CacheSpec { kind, attrs })
}

/// `SolveRequest.Cache` from the flags; `None` when there is nothing to do.
pub fn options(
    to: &[String],
    from: &[String],
    insecure: bool,
) -> Result<Option<control::CacheOptions>, String> {
    let entry = |s: CacheSpec| control::CacheOptionsEntry {
        r#type: s.kind,
        attrs: s.attrs,
    };
    let exports = to
        .iter()
        .map(|v| parse(v, Direction::To, insecure).map(entry))
        .collect::<Result<Vec<_>, _>>()?;
    let imports = from
        .iter()
        .map(|v| parse(v, Direction::From, insecure).map(entry))
        .collect::<Result<Vec<_>, _>>()?;
    if exports.is_empty() && imports.is_empty() {
        return Ok(None);
    }
    Ok(Some(control::CacheOptions {
        exports,
        imports,
        ..Default::default()
    }))
}

/// Whether an inline cache export was asked for: the image exporter must
/// then carry the cache metadata (BuildKit reads the export entry itself;
/// this is for messages and tests).
pub fn wants_inline(c: &control::CacheOptions) -> bool {
    c.exports.iter().any(|e| e.r#type == "inline")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_defaults_to_mode_max_on_export() {
        let s = parse(
            "type=registry,ref=127.0.0.1:5000/hello:cache",
            Direction::To,
            false,
        )
        .unwrap();
        assert_eq!(s.kind, "registry");
        assert_eq!(s.attrs["mode"], "max");
        assert!(!s.attrs.contains_key("registry.insecure"));
        let s = parse("127.0.0.1:5000/hello:cache", Direction::From, false).unwrap();
        assert_eq!(s.attrs["ref"], "127.0.0.1:5000/hello:cache");
        assert!(!s.attrs.contains_key("mode"));
        let s = parse(
            "type=registry,ref=r.example/x:c,mode=min",
            Direction::To,
            false,
        )
        .unwrap();
        assert_eq!(s.attrs["mode"], "min");
        assert!(
            parse(
                "type=registry,ref=r.example/x:c,mode=all",
                Direction::To,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn insecure_only_when_asked_and_not_for_loopback() {
        let s = parse(
            "type=registry,ref=ci.internal:5000/c:1",
            Direction::To,
            true,
        )
        .unwrap();
        assert_eq!(s.attrs["registry.insecure"], "true");
        let s = parse(
            "type=registry,ref=ci.internal:5000/c:1",
            Direction::To,
            false,
        )
        .unwrap();
        assert!(!s.attrs.contains_key("registry.insecure"));
        let s = parse("type=registry,ref=localhost:5000/c:1", Direction::To, true).unwrap();
        assert!(!s.attrs.contains_key("registry.insecure"));
    }

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

    #[test]
    fn inline_and_local() {
        let c = options(&["type=inline".into()], &[], false)
            .unwrap()
            .unwrap();
        assert!(wants_inline(&c));
        assert!(parse("type=inline", Direction::From, false).is_err());
        let e = parse("type=local,dest=/tmp/c", Direction::To, false).unwrap_err();
        assert!(e.contains("type=local is not supported yet"), "{e}");
        assert!(parse("type=s3,bucket=x", Direction::To, false).is_err());
        assert!(parse("ref=x", Direction::To, false).is_err());
        assert_eq!(options(&[], &[], false).unwrap(), None);
    }
}
