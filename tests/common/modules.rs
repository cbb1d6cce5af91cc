//! The Go modules a binary links, read two ways for the tests that compare
//! them: from `go version -m` (the toolchain's own reading of the build
//! info) and from an SPDX document scratchc made. Both lists are sorted
//! (path, version) pairs, so equal lists mean the SBOM lists exactly what
//! the binary links. Shared by the `gobin` and `daemon` test binaries.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use serde_json::Value;

/// (module path, version) of every dependency in the text `go version -m`
/// prints, replacements resolved to the code that was built: a module
/// replaced by another version is that one, a module replaced by a
/// directory keeps its path and has no version.
pub fn go_version_m_modules(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match cols[..] {
            ["dep", path, version, ..] => out.push((path.into(), version.into())),
            ["=>", path, version, ..] => {
                let last = out.last_mut().unwrap();
                if version.starts_with('v') {
                    *last = (path.into(), version.into());
                } else {
                    // A directory: the module keeps its path, loses its version.
                    last.1 = String::new();
                }
            }
            _ => {}
        }
    }
    out.sort();
    out
}

/// (name, version) of the linked modules an SPDX document lists: its
/// LIBRARY packages but the standard library (the main module is an
/// APPLICATION); no version is the empty string.
pub fn spdx_modules(doc: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["primaryPackagePurpose"] == "LIBRARY" && p["name"] != "stdlib")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["versionInfo"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}
