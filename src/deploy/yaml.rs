//! A small YAML writer for the documents `scratchc k8s` and `scratchc
//! compose` print: block style, keys in the order the generator gives them,
//! two-space indent, sequences indented under their key.
//!
//! Why our own and not a crate: `serde_yaml` is deprecated and its forks are
//! unmaintained or unsound; the emitters that remain quote for YAML 1.2,
//! while Kubernetes reads manifests with a YAML 1.1 parser (go-yaml v2
//! under sigs.k8s.io/yaml), where `yes`, `on`, `0123` (octal) and `8080:80`
//! (base 60) are not strings. Ours is ~150 lines and its rule is one
//! function: a string is written plain only when it has no meaning but
//! itself in YAML 1.1 and 1.2 alike; everything else is double-quoted with
//! JSON-style escapes, which both versions read back as the same string.
//! Output is a pure function of the tree, so identical inputs give
//! identical bytes.

use std::fmt::Write as _;

/// A YAML value. Maps keep their entries in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Str(String),
    Int(i64),
    Bool(bool),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    /// A sequence of strings.
    pub fn strs<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Node {
        Node::Seq(items.into_iter().map(|s| Node::str(s.as_ref())).collect())
    }

    /// An empty map, `{}` (e.g. `emptyDir: {}`).
    pub fn empty_map() -> Node {
        Node::Map(Vec::new())
    }
}

/// Builds a map entry by entry, in order.
#[derive(Clone, Debug, Default)]
pub struct Map(Vec<(String, Node)>);

impl Map {
    pub fn new() -> Map {
        Map(Vec::new())
    }

    pub fn set(mut self, key: impl Into<String>, value: impl Into<Node>) -> Map {
        self.0.push((key.into(), value.into()));
        self
    }

    /// Sets the entry only when there is a value.
    pub fn opt(self, key: impl Into<String>, value: Option<impl Into<Node>>) -> Map {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    /// Sets the entry only when the value is not an empty map or sequence.
    pub fn nonempty(self, key: impl Into<String>, value: impl Into<Node>) -> Map {
        match value.into() {
            Node::Map(m) if m.is_empty() => self,
            Node::Seq(s) if s.is_empty() => self,
            v => self.set(key, v),
        }
    }
}

impl From<Map> for Node {
    fn from(m: Map) -> Node {
        Node::Map(m.0)
    }
}

impl From<&str> for Node {
    fn from(s: &str) -> Node {
        Node::Str(s.to_string())
    }
}

impl From<String> for Node {
    fn from(s: String) -> Node {
        Node::Str(s)
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Node {
        Node::Bool(b)
    }
}

impl From<u32> for Node {
    fn from(n: u32) -> Node {
        Node::Int(i64::from(n))
    }
}

impl From<u16> for Node {
    fn from(n: u16) -> Node {
        Node::Int(i64::from(n))
    }
}

impl From<Vec<Node>> for Node {
    fn from(v: Vec<Node>) -> Node {
        Node::Seq(v)
    }
}

/// Several documents in one stream: each header comment line is written
/// as `# line` at the top, documents are separated by `---`.
pub fn stream(header: &[String], docs: &[Node]) -> String {
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        document(&mut out, d);
    }
    out
}

/// One document at the top level.
fn document(out: &mut String, node: &Node) {
    match node {
        Node::Map(m) if !m.is_empty() => map(out, m, 0),
        Node::Seq(s) if !s.is_empty() => seq(out, s, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn map(out: &mut String, entries: &[(String, Node)], indent: usize) {
    for (k, v) in entries {
        pad(out, indent);
        out.push_str(&scalar(k));
        out.push(':');
        value(out, v, indent);
    }
}

fn seq(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Node::Map(m) if !m.is_empty() => {
                // The first entry on the dash's line, the others under it.
                let mut body = String::new();
                map(&mut body, m, indent + 2);
                out.push(' ');
                out.push_str(&body[indent + 2..]);
            }
            Node::Seq(s) if !s.is_empty() => {
                out.push('\n');
                seq(out, s, indent + 2);
            }
            scalar => {
                out.push(' ');
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

/// What follows `key:`: a scalar or empty collection on the same line, a
/// collection on the lines below.
fn value(out: &mut String, v: &Node, indent: usize) {
    match v {
        Node::Map(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Node::Seq(s) if !s.is_empty() => {
            out.push('\n');
            seq(out, s, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A scalar or an empty collection, on one line.
fn inline(v: &Node) -> String {
    match v {
        Node::Str(s) => scalar(s),
        Node::Int(n) => n.to_string(),
        Node::Bool(b) => b.to_string(),
        Node::Seq(_) => "[]".to_string(),
        Node::Map(_) => "{}".to_string(),
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A string as a YAML scalar: plain when that reads back as the same
/// string in YAML 1.1 and 1.2, else double-quoted.
pub fn scalar(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// Plain only for `[A-Za-z_/][A-Za-z0-9_./-]*` that is not a YAML 1.1
/// boolean or null word. Starting with a letter, `_` or `/` rules out
/// every number, date and base-60 form; the character set rules out
/// indicators (`: `, ` #`, `- `, `&`, `*`, `!`, `|`, `>`, `%`, `@`, quotes,
/// brackets) and leading or trailing spaces.
fn plain_is_safe(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
        return false;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')) {
        return false;
    }
    !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A double-quoted scalar. The escapes are JSON's (`\"`, `\\`, `\n`, `\t`,
/// `\r`, `\uXXXX`), which YAML 1.1 and 1.2 both read; characters a YAML
/// parser would take as a line break or refuse (controls, NEL, the line
/// and paragraph separators, the byte order mark) are escaped too.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_mean_something_else_are_quoted() {
        for s in [
            "",
            "yes",
            "Yes",
            "NO",
            "on",
            "Off",
            "y",
            "n",
            "true",
            "False",
            "null",
            "Null",
            "~",
            "0123",
            "8080",
            "1.5",
            ".5",
            "1e3",
            "0x1f",
            "0o17",
            "190:20:30",
            "8080:8080",
            "2001-12-14",
            "-1",
            "+1",
            ".inf",
            ".NaN",
            "inf",
            "nan",
            ": ",
            "a: b",
            "a #b",
            "#x",
            "- a",
            "-",
            "?",
            "&a",
            "*a",
            "!a",
            "|",
            ">",
            "%a",
            "@a",
            "`a",
            "'a'",
            "\"a\"",
            "[a]",
            "{a}",
            "a,b",
            " a",
            "a ",
            "=",
            "<<",
            "a=b",
            "no-new-privileges:true",
        ] {
            assert!(scalar(s).starts_with('"'), "{s:?} written plain");
        }
        for s in [
            "apps/v1",
            "Deployment",
            "server",
            "/usr/bin/server",
            "app.kubernetes.io/name",
            "RuntimeDefault",
            "tcp-8080",
            "_x",
            "yesterday",
            "nonroot",
        ] {
            assert_eq!(scalar(s), s);
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(quoted("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(quoted("\u{7}\u{85}\u{2028}é"), "\"\\u0007\\u0085\\u2028é\"");
    }

    #[test]
    fn block_layout() {
        let doc: Node = Map::new()
            .set("apiVersion", "v1")
            .set(
                "list",
                vec![
                    Map::new().set("name", "a").set("port", 80u16).into(),
                    Node::str("plain"),
                    Node::Seq(vec![Node::Bool(true)]),
                    Node::empty_map(),
                ],
            )
            .set("empty", Node::empty_map())
            .set("none", Node::Seq(vec![]))
            .set("nested", Map::new().set("yes", "0123"))
            .into();
        let got = stream(&["made by a test".into()], &[doc.clone(), doc]);
        let one = "apiVersion: v1\nlist:\n  - name: a\n    port: 80\n  - plain\n  -\n    - true\n  - {}\nempty: {}\nnone: []\nnested:\n  \"yes\": \"0123\"\n";
        assert_eq!(got, format!("# made by a test\n{one}---\n{one}"));
    }
}
