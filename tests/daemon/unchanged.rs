//! A build with nothing changed (issue 17): the second `scratchc build` of
//! the same sources to the same place says so and sends nothing to the
//! daemon; every way the record can be stale makes a real build. Each test
//! keeps its records in a directory of its own (`SCRATCHC_CACHE_DIR`).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::Output;

use super::{docker, output, run, scratchc};

const UNCHANGED: &str = "unchanged since the last build";

struct Case {
    dir: tempfile::TempDir,
    records: tempfile::TempDir,
    image: String,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Case {
    /// examples/hello in a directory of its own, built as `image`.
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
        for f in ["app.scratch", "go.mod", "main.go"] {
            std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
        }
        Case {
            dir,
            records: tempfile::tempdir().unwrap(),
            image: format!("scratchc-test-unchanged:{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn build(&self, extra: &[&str]) -> Output {
        let out = output(
            scratchc()
                .env("SCRATCHC_CACHE_DIR", self.records.path())
                .arg("build")
                .arg(self.path("app.scratch"))
                .args(["--progress", "plain", "-t", &self.image])
                .args(extra),
        );
        assert!(
            out.status.success(),
            "scratchc build failed:\n{}",
            text(&out.stderr)
        );
        out
    }

    /// Builds and says whether the build was skipped as unchanged.
    fn skipped(&self, extra: &[&str]) -> bool {
        let out = self.build(extra);
        let err = text(&out.stderr);
        let skipped = err.contains(UNCHANGED);
        // Skipped means nothing was sent: no progress at all.
        assert_eq!(skipped, !err.contains("#1 "), "{err}");
        skipped
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = output(docker().args(["image", "rm", "-f", &self.image]));
    }
}

#[test]
fn a_second_build_with_nothing_changed_does_not_run() {
    let c = Case::new();
    assert!(!c.skipped(&[]), "the first build runs");
    let out = c.build(&[]);
    let err = text(&out.stderr);
    assert!(err.contains(UNCHANGED), "{err}");
    // It names the image the engine holds.
    let id =
        text(&run(docker().args(["image", "inspect", "--format", "{{.Id}}", &c.image])).stdout);
    assert!(err.contains(id.trim()), "{err}");
}

#[test]
fn every_stale_record_makes_a_real_build() {
    let c = Case::new();
    assert!(!c.skipped(&[]));
    assert!(c.skipped(&[]));

    // A source file touched (its mtime), then left alone.
    let f = std::fs::File::options()
        .write(true)
        .open(c.path("main.go"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    assert!(!c.skipped(&[]), "a touched source");
    assert!(c.skipped(&[]));

    // The app file changed (a label): another definition.
    let app = std::fs::read_to_string(c.path("app.scratch")).unwrap();
    std::fs::write(
        c.path("app.scratch"),
        app.replace("port 8080", "port 8080\n  label stale=1"),
    )
    .unwrap();
    assert!(!c.skipped(&[]), "a changed app file");
    assert!(c.skipped(&[]));

    // Another epoch: another definition.
    let out = output(
        scratchc()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("SCRATCHC_CACHE_DIR", c.records.path())
            .arg("build")
            .arg(c.path("app.scratch"))
            .args(["--progress", "plain", "-t", &c.image]),
    );
    assert!(!text(&out.stderr).contains(UNCHANGED), "another epoch");
    assert!(!c.skipped(&[]), "back to epoch 0");

    // The image name now points elsewhere.
    run(docker().args(["tag", "scratchc/frontend:0.1", &c.image]));
    assert!(!c.skipped(&[]), "a re-pointed image name");
    assert!(c.skipped(&[]));
    // The image removed.
    run(docker().args(["image", "rm", &c.image]));
    assert!(!c.skipped(&[]), "a removed image");

    // --no-cache always builds, and a corrupt record is no record.
    assert!(!c.skipped(&["--no-cache"]));
    for e in std::fs::read_dir(c.records.path()).unwrap() {
        std::fs::write(e.unwrap().path(), "{ not a record").unwrap();
    }
    assert!(!c.skipped(&[]), "a corrupt record");
    assert!(c.skipped(&[]));

    // Another output is another record.
    let outs = tempfile::tempdir().unwrap();
    let dest = outs.path().join("rootfs");
    let local = format!("type=local,dest={}", dest.display());
    assert!(!c.skipped(&["-o", &local]));
    assert!(c.skipped(&["-o", &local]));
    // ... whose directory changed since.
    std::fs::write(dest.join("extra"), "x").unwrap();
    assert!(!c.skipped(&["-o", &local]), "a changed output directory");
}

/// A builder tag re-pointed on the engine: the definitions the record
/// holds were lowered with the old image's config, so the build runs.
#[test]
fn a_moved_builder_tag_makes_a_real_build() {
    let c = Case::new();
    let builder = format!("scratchc-test-builder:{}", uuid::Uuid::new_v4().simple());
    run(docker().args(["tag", "golang:1.24", &builder]));
    std::fs::write(
        c.path("app.scratch"),
        format!("app hello {{\n  builder {builder}\n  port 8080\n}}\n"),
    )
    .unwrap();
    assert!(!c.skipped(&[]));
    assert!(c.skipped(&[]));
    // The same tag on another image (the frontend image: any other id).
    run(docker().args(["tag", "scratchc/frontend:0.1", &builder]));
    let out = output(
        scratchc()
            .env("SCRATCHC_CACHE_DIR", c.records.path())
            .arg("build")
            .arg(c.path("app.scratch"))
            .args(["--progress", "plain", "-t", &c.image]),
    );
    let err = text(&out.stderr);
    let _ = output(docker().args(["image", "rm", &builder]));
    assert!(!err.contains(UNCHANGED), "{err}");
    assert!(err.contains("#1 "), "a real build ran: {err}");
}
