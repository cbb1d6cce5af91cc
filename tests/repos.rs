//! Real-shaped Go repositories (`tests/repos/`) through the binary, with no
//! daemon: what the go template decides from the context, `main` checked
//! before a build, secrets checked against the command line, monorepo
//! imports with `--context`. The builds themselves are in
//! `tests/daemon/repos.rs`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::Scratchc;

/// An address nothing listens on: a verb that got as far as connecting
/// fails with exit 3, so exit 1 or 2 proves it stopped before.
const NOWHERE: &str = "unix:///nonexistent/scratchc-test.sock";

/// A copy of `tests/repos/<name>` in a temp dir (outside any git checkout,
/// so no `GIT_*` value or label comes from this repository).
fn repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/repos")
        .join(name);
    let out = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// The op names of `scratchc llb --format json`.
fn op_names(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    // One definition per platform, keyed by platform.
    let (_, v) = v.as_object().unwrap().iter().next().unwrap();
    v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_vendored_module_has_no_download_step() {
    let dir = repo("vendored");
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    let names = op_names(&r.stdout);
    assert!(
        !names.iter().any(|n| n.contains("deps:")),
        "vendor/modules.txt is there: no download step: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("-o /out/hello ./cmd/hello")),
        "{names:?}"
    );
    // The Dockerfile decides the same way.
    let r = Scratchc::new()
        .arg("dockerfile")
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    assert!(!r.stdout.contains("mod download"), "{}", r.stdout);
    // Without vendor/, the module's go.mod and go.sum are downloaded.
    std::fs::remove_dir_all(dir.path().join("vendor")).unwrap();
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    let names = op_names(&r.stdout);
    assert!(
        names
            .iter()
            .any(|n| n == "[hello] deps: go -C . mod download"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "[hello] context: go.mod go.sum"),
        "{names:?}"
    );
}

#[test]
fn a_workspace_downloads_with_every_module_of_go_work() {
    let dir = repo("workspace");
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    let names = op_names(&r.stdout);
    for want in [
        "[ws] context: 'go.work*' '**/go.mod' '**/go.sum'",
        "[ws] deps: go -C app mod download",
        "[ws linux/amd64] build: go -C app build -trimpath '-ldflags=-s -buildid= ' -tags= -o /out/ws ./cmd/ws",
    ] {
        assert!(names.iter().any(|n| n == want), "no `{want}` in {names:?}");
    }
    // COPY cannot keep the layout of `**/go.mod`: the Dockerfile copies
    // the whole context for the download.
    let r = Scratchc::new()
        .arg("dockerfile")
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    assert!(
        r.stdout.contains("# COPY cannot keep the directories of **/go.mod **/go.sum: the whole context.\nCOPY . .\nRUN"),
        "{}",
        r.stdout
    );
}

#[test]
fn main_without_dot_slash_is_refused_at_its_line_with_the_fix() {
    let dir = repo("vendored");
    let app = file(dir.path(), "app.scratch");
    std::fs::write(&app, "app hello {\n  main cmd/hello\n}\n").unwrap();
    for verb in [&["check"][..], &["llb"], &["build", "--addr", NOWHERE]] {
        let r = Scratchc::new().args(verb).arg(&app).expect(1);
        assert!(
            r.stderr.contains("scratch::E0224"),
            "{verb:?}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("app.scratch:2:3"), "{}", r.stderr);
        assert!(
            r.stderr.contains("`./cmd/hello`")
                && r.stderr.contains("example.com/vendored/cmd/hello"),
            "the fix, both spellings: {}",
            r.stderr
        );
    }
    // The module's own import path is a package of it; so is `./`.
    for ok in ["example.com/vendored/cmd/hello", "./cmd/../cmd/hello", "."] {
        std::fs::write(&app, format!("app hello {{\n  main {ok}\n}}\n")).unwrap();
        Scratchc::new().arg("check").arg(&app).expect(0);
    }
    // Leaving the module is refused too.
    std::fs::write(&app, "app hello {\n  main ./../x\n}\n").unwrap();
    let r = Scratchc::new().arg("check").arg(&app).expect(1);
    assert!(r.stderr.contains("is outside the module"), "{}", r.stderr);
}

#[test]
fn a_required_secret_not_given_stops_before_the_daemon() {
    let dir = repo("private/app");
    let app = file(dir.path(), "app.scratch");
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE])
        .arg(&app)
        .expect(1);
    for id in ["netrc", "proxy-ca"] {
        assert!(
            r.stderr
                .contains(&format!("requires the secret `{id}`, which is not given")),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("--secret id={id},src=FILE")),
            "{}",
            r.stderr
        );
    }
    assert!(r.stderr.contains("scratch::E0302"), "{}", r.stderr);
    // Given, the build goes on to the daemon (here: none, exit 3); one
    // given and not used is a warning.
    let f = file(dir.path(), "netrc");
    std::fs::write(&f, "machine example.com login u password p\n").unwrap();
    let src = format!("src={}", f.display());
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE])
        .args(["--secret", &format!("id=netrc,{src}")])
        .args(["--secret", &format!("id=proxy-ca,{src}")])
        .args(["--secret", &format!("id=netrc2,{src}")])
        .arg(&app)
        .expect(3);
    assert!(
        r.stderr
            .contains("warning: --secret id=netrc2 is given, but no step of app uses it"),
        "{}",
        r.stderr
    );
    // An optional secret not given is a warning that says where.
    std::fs::write(
        &app,
        "app app {\n  main ./cmd/app\n  secret netrc target=/root/.netrc\n}\n",
    )
    .unwrap();
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE])
        .arg(&app)
        .expect(3);
    assert!(
        r.stderr.contains(
            "app.scratch:3) is not given: the steps of `app` run with no file /root/.netrc"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn secrets_are_ids_in_the_definition_never_values() {
    let dir = repo("private/app");
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let (_, v) = v.as_object().unwrap().iter().next().unwrap();
    let mut secrets = Vec::new();
    for op in v["ops"].as_array().unwrap() {
        for m in op["exec"]["mounts"].as_array().into_iter().flatten() {
            if let Some(s) = m.get("secret") {
                secrets.push((m["dest"].as_str().unwrap().to_string(), s["id"].clone()));
            }
        }
    }
    // Both steps (download and build) get both secrets, at /run/secrets/ID.
    assert_eq!(secrets.len(), 4, "{secrets:?}");
    for (dest, id) in &secrets {
        assert_eq!(dest, &format!("/run/secrets/{}", id.as_str().unwrap()));
    }
    let r = Scratchc::new()
        .arg("dockerfile")
        .arg(file(dir.path(), "app.scratch"))
        .expect(0);
    assert!(
        r.stdout
            .contains("--mount=type=secret,id=netrc,target=/run/secrets/netrc,required"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_ssh_agent_not_given_stops_before_the_daemon() {
    let dir = repo("agent");
    let app = file(dir.path(), "app.scratch");
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE])
        .arg(&app)
        .expect(1);
    assert!(r.stderr.contains("scratch::E0303"), "{}", r.stderr);
    assert!(r.stderr.contains("pass `--ssh default`"), "{}", r.stderr);
    // `--ssh default` is $SSH_AUTH_SOCK's agent: without one, a
    // command-line error.
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE, "--ssh", "default"])
        .arg(&app)
        .expect(2);
    assert!(
        r.stderr.contains("SSH_AUTH_SOCK is not set"),
        "{}",
        r.stderr
    );
    // Given: on to the daemon (none here); an agent no step uses warns.
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE, "--ssh", "default=/tmp/a.sock"])
        .args(["--ssh", "gh=/tmp/b.sock"])
        .arg(&app)
        .expect(3);
    assert!(
        r.stderr
            .contains("--ssh gh is given, but no step of hello uses it"),
        "{}",
        r.stderr
    );
    // The definition mounts the agent where BuildKit puts the first one.
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(&app)
        .expect(0);
    assert!(
        r.stdout
            .contains("\"SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0\""),
        "{}",
        r.stdout
    );
}

#[test]
fn a_monorepo_imports_shared_templates_with_its_root_as_the_context() {
    let dir = repo("monorepo");
    let api = file(dir.path(), "services/api/app.scratch");
    let web = file(dir.path(), "services/web/app.scratch");
    // Without --context, the app file's directory is the context: the
    // import leaves it.
    let r = Scratchc::new().arg("check").arg(&api).expect(1);
    assert!(r.stderr.contains("scratch::E0402"), "{}", r.stderr);
    assert!(r.stderr.contains("--context DIR"), "{}", r.stderr);
    let r = Scratchc::new()
        .arg("check")
        .arg("--context")
        .arg(dir.path())
        .args([&api, &web])
        .expect(0);
    assert!(r.stdout.contains("ok (api)") && r.stdout.contains("ok (web)"));
    // The build runs in the service's module, against the whole context.
    let r = Scratchc::new()
        .args(["llb", "--format", "json", "--context"])
        .arg(dir.path())
        .arg(&api)
        .expect(0);
    let names = op_names(&r.stdout);
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("build: go -C services/api build -trimpath '-ldflags=-s -buildid= ' -tags= -o /out/api ./cmd/api")),
        "{names:?}"
    );
    // Imports still may not leave the context.
    std::fs::write(&api, "import \"../../../outside.scratch\"\napp api {\n}\n").unwrap();
    let r = Scratchc::new()
        .arg("check")
        .arg("--context")
        .arg(dir.path())
        .arg(&api)
        .expect(1);
    assert!(
        r.stderr.contains("leaves the build context"),
        "{}",
        r.stderr
    );
    // A context that is not a directory is a command-line error.
    Scratchc::new()
        .args(["llb", "--context"])
        .arg(dir.path().join("nope"))
        .arg(&web)
        .expect(2);
}

#[test]
fn git_variables_are_defined_everywhere_and_empty_outside_a_checkout() {
    let dir = repo("vendored");
    let app = file(dir.path(), "app.scratch");
    std::fs::write(
        &app,
        "app hello {\n  main ./cmd/hello\n  ldflags \"-X main.version=${GIT_TAG}/${GIT_SHORT_COMMIT}/${GIT_DIRTY}\"\n}\n",
    )
    .unwrap();
    Scratchc::new().arg("check").arg(&app).expect(0);
    let r = Scratchc::new()
        .args(["llb", "--format", "json"])
        .arg(&app)
        .expect(0);
    assert!(r.stdout.contains("-X main.version=//"), "{}", r.stdout);
    // --build-arg GIT_* sets them without a declaration.
    let r = Scratchc::new()
        .args(["llb", "--format", "json", "--build-arg", "GIT_TAG=v9.9.9"])
        .arg(&app)
        .expect(0);
    assert!(
        r.stdout.contains("-X main.version=v9.9.9//"),
        "{}",
        r.stdout
    );
}

#[test]
fn several_apps_take_name_patterns_and_repeated_app_flags() {
    let dir = tempfile::tempdir().unwrap();
    let app = file(dir.path(), "app.scratch");
    std::fs::write(&app, "app api {\n}\napp worker {\n}\napp cron {\n}\n").unwrap();
    // A plain name for several apps is refused, with the pattern to use.
    let r = Scratchc::new()
        .args([
            "build",
            "--addr",
            NOWHERE,
            "-t",
            "registry.example.com/x:v1",
        ])
        .arg(&app)
        .expect(2);
    assert!(
        r.stderr
            .contains("names one image, but 3 apps are built (api, worker, cron)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("registry.example.com/{app}:v1"),
        "{}",
        r.stderr
    );
    // Two of them picked: still a pattern needed.
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE, "--app", "api", "--app", "cron"])
        .args(["-o", "type=oci,dest=out.tar"])
        .arg(&app)
        .expect(2);
    assert!(
        r.stderr.contains("2 apps are built (api, cron)"),
        "{}",
        r.stderr
    );
    // With patterns the command line is fine: the build goes on to the
    // daemon (none here: exit 3).
    Scratchc::new()
        .args(["build", "--addr", NOWHERE, "--app", "api", "--app", "cron"])
        .args(["-t", "registry.example.com/{app}:v1"])
        .arg("-o")
        .arg(format!(
            "type=oci,dest={}/{{app}}.tar",
            dir.path().join("out").display()
        ))
        .arg(&app)
        .expect(3);
    // One app: a plain name is fine; an unknown one is named.
    Scratchc::new()
        .args(["build", "--addr", NOWHERE, "--app", "api", "-t", "x:v1"])
        .arg(&app)
        .expect(3);
    let r = Scratchc::new()
        .args(["build", "--addr", NOWHERE, "--app", "api", "--app", "nope"])
        .arg(&app)
        .expect(2);
    assert!(r.stderr.contains("nope"), "{}", r.stderr);
}
