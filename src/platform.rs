//! Target platforms in the OCI form `os/arch[/variant]`.

use std::fmt;

use serde::Serialize;

/// An OCI platform, e.g. `linux/arm/v7`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

/// Why a platform string was refused; the checker turns it into a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformError {
    /// Not `os/arch` or `os/arch/variant`.
    Shape,
    UnknownOs(String),
    UnknownArch(String),
    UnknownVariant {
        arch: String,
        variant: String,
    },
}

/// OS values scratchc can build for (static binaries in a scratch image).
pub const KNOWN_OS: &[&str] = &["linux"];
/// Architectures with their accepted variants (empty: no variant allowed).
pub const KNOWN_ARCH: &[(&str, &[&str])] = &[
    ("amd64", &["v1", "v2", "v3", "v4"]),
    ("arm64", &["v8"]),
    ("arm", &["v5", "v6", "v7"]),
    ("386", &[]),
    ("ppc64le", &[]),
    ("s390x", &[]),
    ("riscv64", &[]),
    ("mips64le", &[]),
    ("loong64", &[]),
];

/// Names other tools use for an architecture (`uname -m`, Debian, Rust),
/// and the OCI name scratchc expects instead.
const ARCH_ALIASES: &[(&str, &str)] = &[
    ("aarch64", "arm64"),
    ("arm64v8", "arm64"),
    ("x86_64", "amd64"),
    ("x86-64", "amd64"),
    ("x64", "amd64"),
    ("i386", "386"),
    ("i686", "386"),
    ("x86", "386"),
    ("armhf", "arm/v7"),
    ("armv7", "arm/v7"),
    ("armv7l", "arm/v7"),
    ("armel", "arm/v6"),
    ("armv6", "arm/v6"),
    ("ppc64el", "ppc64le"),
    ("riscv", "riscv64"),
];

impl PlatformError {
    /// What is wrong with `input`, in a sentence.
    pub fn message(&self, input: &str) -> String {
        match self {
            PlatformError::Shape => format!("`{input}` is not a platform"),
            PlatformError::UnknownOs(os) => format!("unknown OS `{os}` in `{input}`"),
            PlatformError::UnknownArch(arch) => {
                format!("unknown architecture `{arch}` in `{input}`")
            }
            PlatformError::UnknownVariant { arch, variant } => {
                format!("unknown variant `{variant}` for {arch} in `{input}`")
            }
        }
    }

    /// How to write it: the canonical name when the input used another
    /// tool's, else the accepted values.
    pub fn help(&self) -> String {
        match self {
            PlatformError::Shape => {
                "write OS/ARCH or OS/ARCH/VARIANT, e.g. `linux/arm64` or `linux/arm/v7`".to_string()
            }
            PlatformError::UnknownOs(os) if os == "darwin" || os == "windows" => format!(
                "scratch images hold Linux binaries: write `linux/...` (the OSes are: {})",
                KNOWN_OS.join(", ")
            ),
            PlatformError::UnknownOs(_) => format!("the OSes are: {}", KNOWN_OS.join(", ")),
            PlatformError::UnknownArch(arch) => {
                match ARCH_ALIASES.iter().find(|(alias, _)| alias == arch) {
                    Some((_, oci)) => {
                        format!("write `linux/{oci}`: OCI platforms call `{arch}` `{oci}`")
                    }
                    None => {
                        let all: Vec<&str> = KNOWN_ARCH.iter().map(|(a, _)| *a).collect();
                        format!("the architectures are: {}", all.join(", "))
                    }
                }
            }
            PlatformError::UnknownVariant { arch, .. } => {
                let vs = KNOWN_ARCH
                    .iter()
                    .find(|(x, _)| x == arch)
                    .map_or(String::new(), |(_, v)| v.join(", "));
                if vs.is_empty() {
                    format!("{arch} takes no variant")
                } else {
                    format!("the variants of {arch} are: {vs}")
                }
            }
        }
    }
}

impl Platform {
    pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Self {
        Platform {
            os: os.to_string(),
            arch: arch.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// `linux/amd64`.
    pub fn linux_amd64() -> Self {
        Platform::new("linux", "amd64", None)
    }

    /// Parses and normalises `os/arch[/variant]` (`arm64/v8` becomes
    /// `arm64`, `arm` alone becomes `arm/v7`, as containerd does).
    pub fn parse(s: &str) -> Result<Self, PlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(PlatformError::Shape);
        }
        let (os, arch) = (parts[0], parts[1]);
        if !KNOWN_OS.contains(&os) {
            return Err(PlatformError::UnknownOs(os.to_string()));
        }
        let Some((_, variants)) = KNOWN_ARCH.iter().find(|(a, _)| *a == arch) else {
            return Err(PlatformError::UnknownArch(arch.to_string()));
        };
        let variant = parts.get(2).copied();
        if let Some(v) = variant
            && !variants.contains(&v)
        {
            return Err(PlatformError::UnknownVariant {
                arch: arch.to_string(),
                variant: v.to_string(),
            });
        }
        let variant = match (arch, variant) {
            ("arm64", Some("v8")) => None,
            ("arm", None) => Some("v7"),
            (_, v) => v,
        };
        Ok(Platform::new(os, arch, variant))
    }

    /// The id BuildKit uses in `refs.platforms` and result keys.
    pub fn id(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("linux/amd64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(Platform::parse("linux"), Err(PlatformError::Shape));
        assert_eq!(
            Platform::parse("windows/amd64"),
            Err(PlatformError::UnknownOs("windows".into()))
        );
        assert!(matches!(
            Platform::parse("linux/arm/v9"),
            Err(PlatformError::UnknownVariant { .. })
        ));
    }
}
