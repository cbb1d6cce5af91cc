//! Imports: resolving `import "PATH"` to a source name, telling the driver
//! what is left to load, and checking the loaded graph (missing files,
//! escapes, cycles, pins).
//!
//! Names are relative to the import root and `/`-separated; the driver
//! (CLI or frontend) reads them relative to that root. The import root is
//! the build context when the app file lies inside it (the root file then
//! sits at `Sources::root_dir` in it), else the root file's own directory.
//! An import may not leave the import root: a frontend sees nothing else.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

use crate::compiler::ast::{File, ItemKind};
use crate::compiler::sources::{self, Sources, Unreadable};
use crate::compiler::span::{FileId, Span};
use crate::compiler::{Code, Diag};
use crate::compiler::{stdlib, syntax};

/// The directory part of a source name (`""` for the root directory).
fn dir_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..i])
}

/// Resolves an import path written in file `importer` to a source name.
/// The root file is always at the root directory, whatever its own name.
pub fn resolve(importer_dir: &str, path: &str) -> Result<String, (Code, String, String)> {
    if path.is_empty() {
        return Err((
            Code::BadImportPath,
            "the import path is empty".into(),
            "write a relative path, e.g. \"./templates/acme.scratch\"".into(),
        ));
    }
    if path.starts_with('/') {
        return Err((
            Code::BadImportPath,
            format!("`{path}` is absolute"),
            "imports are relative to the importing file, e.g. \"./templates/acme.scratch\"".into(),
        ));
    }
    if path.contains(['<', '>', '\\']) {
        return Err((
            Code::BadImportPath,
            format!("`{path}` holds `<`, `>` or `\\`"),
            "write a `/`-separated relative path".into(),
        ));
    }
    let mut parts: Vec<&str> = importer_dir.split('/').filter(|p| !p.is_empty()).collect();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err((
                        Code::ImportEscape,
                        format!("`{path}` leaves the build context"),
                        "imported files must be inside the build context, which is the app file's directory unless `--context DIR` (buildx: the context argument) names a larger one"
                            .into(),
                    ));
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err((
            Code::BadImportPath,
            format!("`{path}` names a directory"),
            "name a .scratch file".into(),
        ));
    }
    Ok(parts.join("/"))
}

/// The diagnostic for an import the driver did not add (no span yet).
fn not_added(name: &str, why: Option<&Unreadable>) -> Diag {
    match why {
        None | Some(Unreadable::NotFound) => {
            Diag::new(Code::ImportMissing, format!("imported file `{name}` not found"))
                .help("import paths are relative to the importing file; check the spelling")
        }
        Some(Unreadable::OutsideRoot) => Diag::new(
            Code::ImportMissing,
            format!("imported file `{name}` resolves outside the build context"),
        )
        .help("a symlink may point only inside the build context (a frontend sees nothing else); copy the file in instead"),
        Some(Unreadable::NotAFile(what)) => sources::not_a_file(name, what),
        Some(Unreadable::TooLarge { bytes }) => sources::file_too_large(name, *bytes),
        Some(Unreadable::SourcesTooLarge) => sources::sources_too_large(name),
    }
}

/// The directory a file's imports are relative to: the root file's is
/// `Sources::root_dir`, whatever name the driver gave it.
fn importer_dir<'a>(sources: &'a Sources, id: FileId, name: &'a str) -> &'a str {
    if id == 0 {
        sources.root_dir()
    } else {
        dir_of(name)
    }
}

/// Imports not loaded yet and not known missing, as normalised names. The
/// driver loads them (or marks them missing) and asks again until empty.
/// Files that do not parse contribute nothing (their errors come later).
pub fn pending_imports(sources: &Sources) -> Vec<String> {
    pending_imports_since(sources, 0)
}

/// [`pending_imports`] of the files from id `first` on: a driver that
/// loads round by round passes the number of files it had scanned, so each
/// file is parsed once however long the chain of imports (imports already
/// loaded or marked are never pending, so older files add nothing new).
pub fn pending_imports_since(sources: &Sources, first: FileId) -> Vec<String> {
    let mut out = Vec::new();
    let mut named = std::collections::BTreeSet::new();
    for (id, f) in sources.iter().skip(first) {
        if id != 0 && stdlib::is_stdlib(&f.name) {
            continue;
        }
        let Ok(ast) = syntax::parse(id, &f.text) else {
            continue;
        };
        for item in &ast.items {
            if let ItemKind::Import(imp) = &item.kind
                && let Ok(name) = resolve(importer_dir(sources, id, &f.name), &imp.path.node)
                && sources.id(&name).is_none()
                && !sources.is_missing(&name)
                && named.insert(name.clone())
            {
                out.push(name);
            }
        }
    }
    out
}

/// Checks every import of every parsed file; returns the import graph
/// edges (importer, imported, span of the import) of resolvable imports.
pub fn check(sources: &Sources, parsed: &BTreeMap<FileId, &File>, diags: &mut Vec<Diag>) {
    let mut edges: BTreeMap<FileId, Vec<(FileId, Span)>> = BTreeMap::new();
    // Each imported file hashed once, however many pins name it.
    let mut digests: BTreeMap<FileId, String> = BTreeMap::new();
    for (&id, ast) in parsed {
        let Some(f) = sources.get(id) else { continue };
        for item in &ast.items {
            let ItemKind::Import(imp) = &item.kind else {
                continue;
            };
            if stdlib::is_stdlib(&f.name) {
                continue;
            }
            let name = match resolve(importer_dir(sources, id, &f.name), &imp.path.node) {
                Ok(n) => n,
                Err((code, msg, help)) => {
                    diags.push(
                        Diag::new(code, msg)
                            .at(imp.path.span, "bad import")
                            .help(help),
                    );
                    continue;
                }
            };
            let Some(target) = sources.id(&name) else {
                let why = sources.unreadable(&name);
                let label = match why {
                    None | Some(Unreadable::NotFound) => "no such file",
                    Some(_) => "imported here",
                };
                diags.push(not_added(&name, why).at(imp.path.span, label));
                continue;
            };
            if let Some(pin) = &imp.pin {
                match super::values::digest(&pin.node) {
                    Err(b) => diags.push(
                        Diag::new(Code::BadPin, format!("malformed import pin: {}", b.message))
                            .at(pin.span, "not a sha256 digest")
                            .help(b.help),
                    ),
                    Ok(want) => {
                        let got = digests.entry(target).or_insert_with(|| {
                            let text = sources.get(target).map_or("", |t| t.text.as_str());
                            format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
                        });
                        let got = got.clone();
                        if got != want {
                            diags.push(
                                Diag::new(Code::PinMismatch, format!("`{name}` does not match its pin"))
                                    .at(pin.span, "pinned here")
                                    .help(format!(
                                        "the file's digest is {got}; if the change is expected, update the pin"
                                    )),
                            );
                        }
                    }
                }
            }
            edges.entry(id).or_default().push((target, imp.path.span));
        }
    }
    // Cycles: a depth-first walk from each file; an edge back to a file on
    // the current path closes a cycle, reported at that import.
    let mut state: BTreeMap<FileId, u8> = BTreeMap::new(); // 1 on path, 2 done
    let ids: Vec<FileId> = edges.keys().copied().collect();
    for start in ids {
        if state.contains_key(&start) {
            continue;
        }
        let mut path: Vec<(FileId, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some(top) = path.last_mut() {
            let (node, next) = *top;
            let out = edges.get(&node).map_or(&[][..], Vec::as_slice);
            if let Some(&(to, span)) = out.get(next) {
                top.1 += 1;
                match state.get(&to) {
                    Some(1) => {
                        let names: Vec<String> = path
                            .iter()
                            .skip_while(|(n, _)| *n != to)
                            .map(|(n, _)| sources.get(*n).map_or(String::new(), |f| f.name.clone()))
                            .collect();
                        let back = sources.get(to).map_or(String::new(), |f| f.name.clone());
                        diags.push(
                            Diag::new(Code::ImportCycle, "imports form a cycle")
                                .at(span, "this import closes the cycle")
                                .help(format!(
                                    "{} -> {back}; move the shared templates into a file that both import",
                                    names.join(" -> ")
                                )),
                        );
                    }
                    Some(_) => {}
                    None => {
                        state.insert(to, 1);
                        path.push((to, 0));
                    }
                }
            } else {
                state.insert(node, 2);
                path.pop();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_names() {
        assert_eq!(resolve("", "./a.scratch").unwrap(), "a.scratch");
        assert_eq!(resolve("t", "../b.scratch").unwrap(), "b.scratch");
        assert_eq!(resolve("t", "x/./c.scratch").unwrap(), "t/x/c.scratch");
        assert_eq!(
            resolve("", "../b.scratch").unwrap_err().0,
            Code::ImportEscape
        );
        assert_eq!(
            resolve("", "/b.scratch").unwrap_err().0,
            Code::BadImportPath
        );
        // From an app file two levels below the context root.
        assert_eq!(
            resolve("services/api", "../../templates/acme.scratch").unwrap(),
            "templates/acme.scratch"
        );
        assert_eq!(
            resolve("services/api", "../../../x.scratch").unwrap_err().0,
            Code::ImportEscape
        );
    }
}
