//! Subrequests: `docker buildx build --print targets|outline` (`--call` in
//! newer buildx) asks the frontend a question instead of building.
//!
//! The option `requestid` names the question. The answer is a result with
//! no refs and three metadata keys: `result.json` (the structure buildx
//! decodes and prints), `result.txt` (the same, already printed, for
//! clients that do not know the structure) and `version`. The JSON shapes
//! are BuildKit's `frontend/subrequests/{targets,outline,lint}` version
//! 1.0.0. `frontend.lint` (`docker buildx build --check`, `--call check`)
//! answers with every diagnostic of the file in buildx's lint format and
//! `result.statuscode` 1 when there is one, so buildx exits non-zero and
//! never falls back to the Dockerfile frontend.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compiler::model::{App, Build, Program};
use crate::compiler::{Diag, Sources, Span};

pub const DESCRIBE: &str = "frontend.subrequests.describe";
pub const TARGETS: &str = "frontend.targets";
pub const OUTLINE: &str = "frontend.outline";
pub const LINT: &str = "frontend.lint";
const VERSION: &str = "1.0.0";

/// The metadata of a subrequest's answer.
pub type Answer = BTreeMap<String, Vec<u8>>;

/// `pb.Location` in Go's JSON form: zero values left out.
#[derive(Debug, Serialize)]
struct Location {
    #[serde(rename = "sourceIndex", skip_serializing_if = "is_zero")]
    source_index: i32,
    ranges: Vec<Range>,
}

#[derive(Debug, Serialize)]
struct Range {
    start: Position,
    end: Position,
}

#[derive(Debug, Serialize)]
struct Position {
    #[serde(skip_serializing_if = "is_zero")]
    line: i32,
    #[serde(skip_serializing_if = "is_zero")]
    character: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

#[derive(Debug, Serialize)]
struct TargetList {
    targets: Vec<Target>,
    /// The source files, base64 as Go encodes `[][]byte`.
    sources: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Target {
    name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    default: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    base: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    platform: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

#[derive(Debug, Serialize)]
struct Outline {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    args: Vec<Arg>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cache: Vec<Cache>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sources: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Arg {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
}

#[derive(Debug, Serialize)]
struct Cache {
    #[serde(rename = "ID")]
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

/// A subrequest this frontend does not answer.
#[derive(Debug, thiserror::Error)]
#[error("unsupported request {0}")]
pub struct Unsupported(pub String);

/// Answers the subrequest `id` about `program`. `default_app` is the app a
/// build without `target` would build, if any.
pub fn answer(
    id: &str,
    program: &Program,
    sources: &Sources,
    target: Option<&str>,
    default_app: Option<&str>,
) -> Result<Answer, Unsupported> {
    match id {
        DESCRIBE => Ok(describe()),
        TARGETS => Ok(targets(program, sources, default_app)),
        OUTLINE => {
            let name = target.or(default_app);
            let app = name.and_then(|n| program.app(n));
            Ok(outline(app, sources))
        }
        other => Err(Unsupported(other.to_string())),
    }
}

/// `pb.SourceInfo` in Go's JSON form.
#[derive(Debug, Serialize)]
struct SourceInfo {
    filename: String,
    /// Base64, as Go encodes `[]byte`.
    data: String,
    language: &'static str,
}

#[derive(Debug, Serialize)]
struct LintResults {
    warnings: Vec<LintWarning>,
    sources: Vec<SourceInfo>,
    #[serde(rename = "buildError", skip_serializing_if = "Option::is_none")]
    build_error: Option<LintError>,
}

#[derive(Debug, Serialize)]
struct LintWarning {
    #[serde(rename = "ruleName")]
    rule_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

#[derive(Debug, Serialize)]
struct LintError {
    message: String,
    location: Location,
}

/// The answer to `frontend.lint`: each diagnostic as a lint warning (its
/// code as the rule, its message and help as the detail, its span as the
/// location), the first error also as the build error, and the status
/// code buildx exits with.
pub fn lint(diags: &[Diag], sources: &Sources) -> Answer {
    let warnings: Vec<LintWarning> = diags
        .iter()
        .map(|d| LintWarning {
            rule_name: d.code.to_string(),
            description: d.label.clone(),
            detail: match &d.help {
                Some(h) => format!("{} (help: {h})", d.message),
                None => d.message.clone(),
            },
            location: d.span.and_then(|s| location(s, sources)),
        })
        .collect();
    let build_error = diags.first().map(|d| LintError {
        message: format!("{} [{}]", d.message, d.code),
        location: d
            .span
            .and_then(|s| location(s, sources))
            .unwrap_or(Location {
                source_index: -1,
                ranges: Vec::new(),
            }),
    });
    let results = LintResults {
        warnings,
        sources: sources
            .iter()
            .map(|(_, f)| SourceInfo {
                filename: f.name.clone(),
                data: {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.encode(f.text.as_bytes())
                },
                language: super::errors::LANGUAGE,
            })
            .collect(),
        build_error,
    };
    let txt = if diags.is_empty() {
        "Check complete, no warnings found.\n".to_string()
    } else {
        crate::compiler::render_plain(diags, sources)
    };
    let mut answer = finish(&results, txt);
    let status = if diags.is_empty() { "0" } else { "1" };
    answer.insert("result.statuscode".to_string(), status.as_bytes().to_vec());
    answer
}

fn describe() -> Answer {
    let named = |n: &str, d: &str| serde_json::json!({"name": n, "description": d});
    let list = serde_json::json!([
        {
            "name": LINT, "version": VERSION, "type": "rpc",
            "description": "Check an app.scratch for errors",
            "opts": [], "inputs": null,
            "metadata": [named("result.json", ""), named("result.txt", ""), named("result.statuscode", "")], "refs": null
        },
        {
            "name": OUTLINE, "version": VERSION, "type": "rpc",
            "description": "List all parameters current build target supports",
            "opts": [named("target", "Target build stage")], "inputs": null,
            "metadata": [named("result.json", ""), named("result.txt", "")], "refs": null
        },
        {
            "name": TARGETS, "version": VERSION, "type": "rpc",
            "description": "List all targets current build supports",
            "opts": [], "inputs": null,
            "metadata": [named("result.json", ""), named("result.txt", "")], "refs": null
        },
        {
            "name": DESCRIBE, "version": VERSION, "type": "rpc",
            "description": "List available subrequest types",
            "opts": null, "inputs": null,
            "metadata": [named("result.json", ""), named("result.txt", "")], "refs": null
        }
    ]);
    let mut txt = String::from("NAME                            VERSION DESCRIPTION\n");
    for (n, d) in [
        (LINT, "Check an app.scratch for errors"),
        (OUTLINE, "List all parameters current build target supports"),
        (TARGETS, "List all targets current build supports"),
        (DESCRIBE, "List available subrequest types"),
    ] {
        txt.push_str(&format!("{n:<31} {VERSION}   {d}\n"));
    }
    finish(&list, txt)
}

fn targets(program: &Program, sources: &Sources, default_app: Option<&str>) -> Answer {
    let list = TargetList {
        targets: program
            .apps
            .iter()
            .map(|a| Target {
                name: a.name.node.clone(),
                default: default_app == Some(a.name.node.as_str()),
                description: describe_app(a),
                base: "scratch".to_string(),
                platform: a
                    .platforms
                    .iter()
                    .map(|p| p.node.id())
                    .collect::<Vec<_>>()
                    .join(","),
                location: location(a.span, sources),
            })
            .collect(),
        sources: encoded_sources(sources),
    };
    let mut txt = String::new();
    let rows: Vec<(String, String)> = list
        .targets
        .iter()
        .map(|t| {
            let name = if t.default {
                format!("{} (default)", t.name)
            } else {
                t.name.clone()
            };
            (name, t.description.clone())
        })
        .collect();
    let w = rows
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(0)
        .max("TARGET".len());
    txt.push_str(&format!("{:<w$} DESCRIPTION\n", "TARGET"));
    for (n, d) in rows {
        txt.push_str(&format!("{n:<w$} {d}\n"));
    }
    finish(&list, txt)
}

fn outline(app: Option<&App>, sources: &Sources) -> Answer {
    let Some(app) = app else {
        let o = Outline {
            name: String::new(),
            description: String::new(),
            args: Vec::new(),
            cache: Vec::new(),
            sources: encoded_sources(sources),
        };
        return finish(&o, String::new());
    };
    let caches = match &app.build {
        Build::Compile(c) => c
            .caches
            .iter()
            .map(|m| Cache {
                id: m.node.id.clone(),
                location: location(m.span, sources),
            })
            .collect(),
        Build::Prebuilt { .. } => Vec::new(),
    };
    let o = Outline {
        name: app.name.node.clone(),
        description: describe_app(app),
        args: app
            .build_args
            .iter()
            .map(|(k, v)| Arg {
                name: k.clone(),
                value: v.clone(),
            })
            .collect(),
        cache: caches,
        sources: encoded_sources(sources),
    };
    let mut txt = format!(
        "TARGET:      {}\nDESCRIPTION: {}\n\n",
        o.name, o.description
    );
    if !o.args.is_empty() {
        let w = o
            .args
            .iter()
            .map(|a| a.name.len())
            .max()
            .unwrap_or(0)
            .max("BUILD ARG".len());
        txt.push_str(&format!("{:<w$}   VALUE\n", "BUILD ARG"));
        for a in &o.args {
            txt.push_str(&format!("{:<w$}   {}\n", a.name, a.value));
        }
        txt.push('\n');
    }
    if !o.cache.is_empty() {
        txt.push_str("CACHE\n");
        for c in &o.cache {
            txt.push_str(&format!("{}\n", c.id));
        }
        txt.push('\n');
    }
    finish(&o, txt)
}

/// One line about an app: how its binary is made and for which platforms.
fn describe_app(a: &App) -> String {
    let how = match &a.build {
        Build::Compile(c) => match a.templates.first() {
            Some(t) => format!("{t} app built in {}", c.builder.node),
            None => format!("built in {}", c.builder.node),
        },
        Build::Prebuilt { src } => format!("prebuilt binary {}", src.node),
    };
    let platforms: Vec<String> = a.platforms.iter().map(|p| p.node.id()).collect();
    format!("{how}, for {}", platforms.join(", "))
}

fn location(span: Span, sources: &Sources) -> Option<Location> {
    sources.get(span.file)?;
    let (sl, sc) = sources.line_col(span.file, span.start);
    let (el, ec) = sources.line_col(span.file, span.end.max(span.start));
    let pos = |l: usize, c: usize| Position {
        line: i32::try_from(l).unwrap_or(i32::MAX),
        character: i32::try_from(c.saturating_sub(1)).unwrap_or(i32::MAX),
    };
    Some(Location {
        source_index: i32::try_from(span.file).unwrap_or(i32::MAX),
        ranges: vec![Range {
            start: pos(sl, sc),
            end: pos(el, ec),
        }],
    })
}

fn encoded_sources(sources: &Sources) -> Vec<String> {
    use base64::Engine as _;
    sources
        .iter()
        .map(|(_, f)| base64::engine::general_purpose::STANDARD.encode(f.text.as_bytes()))
        .collect()
}

fn finish<T: Serialize>(value: &T, txt: String) -> Answer {
    let mut m = Answer::new();
    // Serializing these plain structs cannot fail; an empty object is the
    // harmless fallback should it ever.
    let json = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    m.insert("result.json".to_string(), json);
    m.insert("result.txt".to_string(), txt.into_bytes());
    m.insert("version".to_string(), VERSION.as_bytes().to_vec());
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::compiler::{self, Options};

    fn json(a: &Answer) -> serde_json::Value {
        serde_json::from_slice(&a["result.json"]).unwrap()
    }

    #[test]
    fn lint_reports_each_diagnostic_as_buildx_reads_it() {
        let text = "app hello {\n  port 99999\n}\n";
        let sources = Sources::new("app.scratch", text);
        let diags = compiler::check(&sources, &Options::default()).unwrap_err();
        let a = lint(&diags, &sources);
        assert_eq!(a["result.statuscode"], b"1");
        let v = json(&a);
        let w = &v["warnings"][0];
        assert_eq!(w["ruleName"], diags[0].code.as_str());
        assert!(w["detail"].as_str().unwrap().contains("99999"), "{w}");
        assert_eq!(w["location"]["ranges"][0]["start"]["line"], 2);
        // Source 0 is the app file: the index is left out, as Go leaves
        // out a zero.
        assert!(w["location"].get("sourceIndex").is_none(), "{w}");
        assert_eq!(v["sources"][0]["filename"], "app.scratch");
        assert_eq!(v["sources"][0]["language"], "scratch");
        assert!(
            v["buildError"]["message"]
                .as_str()
                .unwrap()
                .contains("[scratch::E0110]")
        );
        assert!(String::from_utf8_lossy(&a["result.txt"]).contains("99999"));

        let clean = lint(&[], &Sources::new("app.scratch", "app hello {\n}\n"));
        assert_eq!(clean["result.statuscode"], b"0");
        assert_eq!(json(&clean)["warnings"], serde_json::json!([]));
        assert!(json(&clean).get("buildError").is_none());
    }

    #[test]
    fn describe_lists_lint() {
        let v = json(&describe());
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&LINT), "{names:?}");
    }
}
