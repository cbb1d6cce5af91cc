//! [`report`] on checked apps and findings made from function names (the
//! reading itself is tested on real binaries in tests/gobin and, through a
//! daemon, in tests/daemon).

#![allow(clippy::unwrap_used)]

use super::*;
use crate::compiler::{Options, Sources, check};
use crate::gobin::{self, FuncNames};

/// The only app of `text`, checked.
fn app(text: &str) -> App {
    let sources = Sources::new("app.scratch", text);
    check(&sources, &Options::default()).unwrap().apps.remove(0)
}

/// An inspection of a binary holding these functions.
fn binary(platform: &str, names: &[&str]) -> Inspection {
    Inspection {
        platform: Platform::parse(platform).unwrap(),
        findings: Ok(gobin::needs::analyze(
            None,
            &FuncNames::from_names(names.iter().copied()),
        )),
        stats: ReadStats::default(),
        elapsed: Duration::ZERO,
    }
}

fn codes(diags: &[Diag]) -> Vec<(Code, Severity)> {
    diags.iter().map(|d| (d.code, d.severity)).collect()
}

const EVERYTHING: &[&str] = &[
    "main.main",
    "crypto/x509.initSystemRoots",
    "time.LoadLocation",
    "os/user.Current",
    "os.TempDir",
    "mime.initMime",
];

#[test]
fn each_need_the_image_lacks_is_reported_at_the_app_line() {
    let a = app("app hello {\n  tmp false\n}\n");
    let mut bare = a.clone();
    // As a template without the basics would leave it.
    bare.image.tmp = None;
    bare.image.passwd = None;
    bare.switches.clear();
    let diags = report(&bare, &[binary("linux/amd64", EVERYTHING)]);
    assert_eq!(
        codes(&diags),
        vec![
            (Code::NeedsCerts, Severity::Warning),
            (Code::NeedsTzdata, Severity::Warning),
            (Code::NeedsPasswd, Severity::Warning),
            (Code::NeedsTmp, Severity::Warning),
            (Code::NeedsMimeTypes, Severity::Note),
        ]
    );
    assert!(diags.iter().all(|d| d.span == Some(a.span)));
    assert!(
        diags[0]
            .message
            .starts_with("`/usr/bin/hello` loads the system CA")
    );
    let help = diags[0].help.as_deref().unwrap();
    assert!(help.starts_with("add `certs`"), "{help}");
    assert!(
        help.contains("found: crypto/x509.initSystemRoots"),
        "{help}"
    );
    // Without the go template's `tzdata` parameter, the word is `zoneinfo`.
    assert!(
        diags[1]
            .help
            .as_deref()
            .unwrap()
            .starts_with("add `zoneinfo`"),
        "{:?}",
        diags[1].help
    );
}

#[test]
fn what_the_image_or_the_binary_meets_is_not_reported() {
    // The go template's basics, and the words turned on.
    let a = app("app hello {\n  certs\n  tzdata\n  mime-types\n}\n");
    let embedded = [
        "main.main",
        "crypto/x509.initSystemRoots",
        "os/user.Current",
        "os.TempDir",
        "mime.initMime",
        "time.LoadLocation",
        "time/tzdata.loadFromEmbeddedTZData",
    ];
    assert_eq!(report(&a, &[binary("linux/amd64", &embedded)]), vec![]);

    // A linked fallback bundle meets certs; a file, a volume or the
    // environment meet the others.
    let b = app(
        "app hello {\n  tmp false\n  passwd false\n  volume /tmp\n  env ZONEINFO=/zi.zip\n  \
         file passwd /etc/passwd\n  file types /etc/mime.types\n}\n",
    );
    let mut fallback = EVERYTHING.to_vec();
    fallback.push("crypto/x509.SetFallbackRoots");
    // `tmp false` and `passwd false` in the app would silence them anyway:
    // take the switches away to see the files, the volume and the env work.
    let mut b2 = b.clone();
    b2.switches.clear();
    assert_eq!(report(&b2, &[binary("linux/amd64", &fallback)]), vec![]);
}

#[test]
fn the_apps_own_false_silences_a_templates_does_not() {
    let own = app("app hello {\n  certs false\n}\n");
    assert_eq!(
        codes(&report(&own, &[binary("linux/amd64", EVERYTHING)])),
        vec![
            (Code::NeedsTzdata, Severity::Warning),
            (Code::NeedsMimeTypes, Severity::Note)
        ]
    );
    let text = "template quiet extends go {\n  certs false\n  tmp false\n}\n\n\
                app hello uses quiet {\n}\n";
    assert_eq!(
        codes(&report(&app(text), &[binary("linux/amd64", EVERYTHING)])),
        vec![
            (Code::NeedsCerts, Severity::Warning),
            (Code::NeedsTzdata, Severity::Warning),
            (Code::NeedsTmp, Severity::Warning),
            (Code::NeedsMimeTypes, Severity::Note),
        ]
    );
}

#[test]
fn platforms_are_merged_and_unreadable_binaries_are_notes() {
    let a = app("app hello {\n  platforms linux/amd64 linux/arm64\n}\n");
    let arm = binary("linux/arm64", &["main.main", "crypto/x509.initSystemRoots"]);
    let diags = report(&a, &[binary("linux/amd64", &["main.main"]), arm.clone()]);
    assert_eq!(codes(&diags), vec![(Code::NeedsCerts, Severity::Warning)]);
    assert!(
        diags[0].message.ends_with("(on linux/arm64)"),
        "{}",
        diags[0].message
    );
    let both = report(&a, &[arm.clone(), arm]);
    assert!(!both[0].message.contains("(on "), "{}", both[0].message);

    let unread = Inspection {
        findings: Err("it has no Go build info (not a Go binary)".into()),
        ..binary("linux/amd64", &[])
    };
    let diags = report(&a, &[unread]);
    assert_eq!(codes(&diags), vec![(Code::NeedsUnread, Severity::Note)]);
    assert!(
        diags[0].message.contains("not a Go binary"),
        "{}",
        diags[0].message
    );
    // Strict turns warnings into errors, never notes.
    assert_eq!(as_errors(&diags), vec![]);
    let w = report(&a, &[binary("linux/amd64", EVERYTHING)]);
    let e = as_errors(&w);
    assert_eq!(
        codes(&e),
        vec![
            (Code::NeedsCerts, Severity::Error),
            (Code::NeedsTzdata, Severity::Error)
        ]
    );
}
