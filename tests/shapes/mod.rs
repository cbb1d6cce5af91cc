//! Adversarial source texts of a given size, shared by the hostile tests
//! (`tests/hostile.rs`), the benchmark (`benches/compile.rs`, which
//! includes this file by path) and the fuzz seeds (`fuzz/seeds/`, written
//! by `tests/hostile.rs` from these at a small size). Each shape is a way
//! a file can make a naive checker or renderer slow, huge or panic.

#![allow(dead_code)]

/// One named shape: `make(bytes)` gives a text of about that many bytes.
pub struct Shape {
    pub name: &'static str,
    pub make: fn(usize) -> String,
}

/// Every shape.
pub const SHAPES: &[Shape] = &[
    Shape {
        name: "template-chain",
        make: template_chain,
    },
    Shape {
        name: "volume-list",
        make: volume_list,
    },
    Shape {
        name: "bad-volume-list",
        make: bad_volume_list,
    },
    Shape {
        name: "long-line",
        make: long_line,
    },
    Shape {
        name: "deep-interp",
        make: deep_interp,
    },
    Shape {
        name: "unknown-keys",
        make: unknown_keys,
    },
    Shape {
        name: "list-param-product",
        make: list_param_product,
    },
    Shape {
        name: "many-apps-one-template",
        make: many_apps_one_template,
    },
    Shape {
        name: "control-chars",
        make: control_chars,
    },
    Shape {
        name: "long-string",
        make: long_string,
    },
    Shape {
        name: "open-interps-in-string",
        make: open_interps_in_string,
    },
    Shape {
        name: "late-syntax-error",
        make: late_syntax_error,
    },
    Shape {
        name: "stray-dollars",
        make: stray_dollars,
    },
];

/// `template t0 extends go`, `t1 extends t0`, ..., and an app using the
/// last: one chain as long as the size allows.
pub fn template_chain(bytes: usize) -> String {
    let mut s = String::from("template t0 extends go {\n}\n");
    let mut i = 1;
    while s.len() + 64 < bytes {
        s.push_str(&format!("template t{i} extends t{} {{\n}}\n", i - 1));
        i += 1;
    }
    s.push_str(&format!("app a uses t{} {{\n}}\n", i - 1));
    s
}

/// One `volume` statement with as many (distinct, valid) paths as fit.
pub fn volume_list(bytes: usize) -> String {
    let mut s = String::from("app a {\n  volume");
    let mut i = 0;
    while s.len() + 16 < bytes {
        s.push_str(&format!(" /v{i}"));
        i += 1;
    }
    s.push_str("\n}\n");
    s
}

/// One `volume` statement of relative paths: an error per value.
pub fn bad_volume_list(bytes: usize) -> String {
    volume_list(bytes).replace(" /v", " v")
}

/// A label whose value is one long line, then a stray `$`: the error's
/// column is past 65,535 (miette panicked there).
pub fn long_line(bytes: usize) -> String {
    format!(
        "app a {{\n  label a={}$bad\n}}\n",
        "x".repeat(bytes.saturating_sub(32))
    )
}

/// Half `${`, half `}` on one line.
pub fn deep_interp(bytes: usize) -> String {
    let n = bytes.saturating_sub(32) / 3;
    format!(
        "app a {{\n  label a={}{}\n}}\n",
        "${".repeat(n),
        "}".repeat(n)
    )
}

/// An app of misspelt keys: an error with a suggestion each.
pub fn unknown_keys(bytes: usize) -> String {
    let mut s = String::from("app a {\n");
    let mut i = 0;
    while s.len() + 24 < bytes {
        s.push_str(&format!("  prot{} 80\n", i % 7));
        i += 1;
    }
    s.push_str("}\n");
    s
}

/// A list parameter with many items, used by many values of one
/// statement: the text multiplies.
pub fn list_param_product(bytes: usize) -> String {
    let half = bytes / 2;
    let mut s = String::from("template t extends go {\n  param l list");
    let mut i = 0;
    while s.len() + 8 < half {
        s.push_str(&format!(" i{i}"));
        i += 1;
    }
    s.push_str("\n  label");
    let mut j = 0;
    while s.len() + 32 < bytes {
        s.push_str(&format!(" k{j}=${{l}}"));
        j += 1;
    }
    s.push_str("\n}\napp a uses t {\n}\n");
    s
}

/// A template with many statements, and as many apps using it as fit.
pub fn many_apps_one_template(bytes: usize) -> String {
    let mut s = String::from("template t extends go {\n");
    for i in 0..(bytes / 4 / 20) {
        s.push_str(&format!("  env K{i}=v\n"));
    }
    s.push_str("}\n");
    let mut i = 0;
    while s.len() + 32 < bytes {
        s.push_str(&format!("app a{i} uses t {{\n}}\n"));
        i += 1;
    }
    s
}

/// Terminal escapes, bells, carriage returns and bidi overrides in
/// values, keys and comments, with errors pointing at them.
pub fn control_chars(bytes: usize) -> String {
    let line = "  label a=\u{1b}[31mred\u{7}\r \u{202e}x $bad\n  \u{1b}]0;title\u{7} 1\n";
    let mut s = String::from("# \u{1b}[2J cleared\napp a {\n");
    while s.len() + line.len() + 4 < bytes.max(line.len() + 32) {
        s.push_str(line);
    }
    s.push_str("}\n");
    s
}

/// One quoted string as long as the size allows (pest read a string a
/// character at a time: 1 MB took 100 ms).
pub fn long_string(bytes: usize) -> String {
    format!(
        "app a {{\n  label \"a={}\"\n}}\n",
        "x".repeat(bytes.saturating_sub(32))
    )
}

/// A string of `${` left open to the end of its line: at each `$` the
/// search for a `}` runs to the end of the line (quadratic in pest: 20,000
/// took 74 ms), and the string is never closed, so the file has a syntax
/// error after all of it.
pub fn open_interps_in_string(bytes: usize) -> String {
    format!(
        "app a {{\n  label \"a={}\n}}\n",
        "${".repeat(bytes.saturating_sub(32) / 2)
    )
}

/// The volume list with a stray `}` at the end of its line: a syntax
/// error after a megabyte of values.
pub fn late_syntax_error(bytes: usize) -> String {
    let mut s = volume_list(bytes.saturating_sub(8));
    s.truncate(s.len().saturating_sub(3));
    s.push_str(" }\n}\n");
    s
}

/// A `$` that starts neither `${` nor `$$`, as many as fit on one line:
/// an error each (E0003), half a million of them.
pub fn stray_dollars(bytes: usize) -> String {
    format!(
        "app a {{\n  label a={}\n}}\n",
        "$x".repeat(bytes.saturating_sub(32) / 2)
    )
}
