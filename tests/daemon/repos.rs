//! Real-shaped Go repositories (`tests/repos/`) built on the Docker
//! Engine, by `scratchc build` and by buildx through the frontend: a
//! vendored module offline, a go.work workspace, a private module behind
//! a proxy that wants the netrc secret, a monorepo with shared templates,
//! a git checkout's version stamp and labels, a library where `main`
//! should be (issue 12).
//!
//! The frontend image is `$SCRATCHC_FRONTEND_IMAGE`, by default the one
//! `scripts/frontend-image.sh` loads; it must be built from this tree.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{docker, output, run};

/// A fixed epoch, so two builds can only differ by what they build.
const EPOCH: &str = "1700000000";

fn frontend_image() -> String {
    std::env::var("SCRATCHC_FRONTEND_IMAGE").unwrap_or_else(|_| "scratchc/frontend:0.1".into())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// scratchc on the engine under test, with the fixed epoch.
fn scratchc() -> Command {
    let mut c = super::scratchc();
    c.env("SOURCE_DATE_EPOCH", EPOCH);
    c
}

/// Fails (never skips) when the daemon or the frontend image is missing.
fn require_docker() {
    super::require_engine();
    let out = output(
        docker()
            .args(["image", "inspect", "--format", "{{.Id}}"])
            .arg(frontend_image()),
    );
    assert!(
        out.status.success(),
        "the Docker Engine is down or the frontend image {} is missing (scripts/setup.sh): {}",
        frontend_image(),
        text(&out.stderr)
    );
}

/// A copy of `tests/repos/<name>` in a temp dir, outside any checkout.
fn repo(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/repos")
        .join(name);
    run(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path()));
    dir
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"));
    text(&out.stdout).trim().to_string()
}

/// Makes `dir` a git checkout with everything committed.
fn commit_all(dir: &Path) -> String {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "fixture"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "failed ({:?}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The digest an OCI tarball names (an image index with its SBOM, or a
/// bare manifest with `--sbom=false`) and the config of its one image.
fn oci_image(tar: &Path) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir.path()));
    let json = |digest: &str| -> serde_json::Value {
        let p = dir
            .path()
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap());
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let top = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut manifest = json(&top);
    if let Some(list) = manifest["manifests"].as_array() {
        let image = list
            .iter()
            .find(|m| m["platform"]["os"] != "unknown")
            .expect("an image beside the attestations");
        manifest = json(image["digest"].as_str().unwrap());
    }
    let config = json(manifest["config"]["digest"].as_str().unwrap());
    (top, config)
}

/// Every byte of an OCI tarball's blobs, to look for what must not be
/// there.
fn all_blobs(tar: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir.path()));
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir.path().join("blobs/sha256")).unwrap() {
        let path = e.unwrap().path();
        // Layers are gzipped: look inside them too.
        let plain = output(Command::new("gzip").arg("-dc").arg(&path));
        if plain.status.success() {
            all.extend(plain.stdout);
        }
        all.extend(std::fs::read(&path).unwrap());
    }
    all
}

fn docker_run(image: &str) -> String {
    let out = run(docker().args(["run", "--rm", image]));
    text(&out.stdout).trim().to_string()
}

fn docker_rmi(name: &str) {
    let _ = docker().args(["image", "rm", "-f", name]).output();
}

fn unique(prefix: &str) -> String {
    format!("scratchc-test-{prefix}:{}", uuid::Uuid::new_v4().simple())
}

/// `docker buildx build` through the frontend image (its `# syntax=` line
/// prepended to the app file), with the fixed epoch.
fn buildx(file: &Path, context: &Path, extra: &[&str]) -> Command {
    with_syntax(file);
    let mut c = docker();
    c.env("SOURCE_DATE_EPOCH", EPOCH)
        .env("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")
        .args(["buildx", "build", "--progress", "plain", "-f"])
        .arg(file)
        .args(extra)
        .arg(context);
    c
}

/// Makes the app file name the frontend image in its first line.
fn with_syntax(file: &Path) {
    let body = std::fs::read_to_string(file).unwrap();
    if !body.starts_with("# syntax=") {
        std::fs::write(file, format!("# syntax={}\n{body}", frontend_image())).unwrap();
    }
}

/// The definition digest the frontend reported in buildx's metadata file,
/// and the context id to print the same with `scratchc llb`.
fn solved(meta: &Path) -> (String, String) {
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(meta).unwrap()).unwrap();
    let field = |k: &str| {
        meta[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k}: {meta}"))
            .to_string()
    };
    (
        field("frontend.scratchc.definition.digest"),
        field("frontend.scratchc.local.unique"),
    )
}

/// The digest of what `scratchc llb` prints for the app file of `dir`,
/// named as buildx names it (`app.scratch`, relative to its directory: the
/// name is in the source map).
fn llb_digest(dir: &Path, unique: &str, extra: &[&str]) -> String {
    let pb = run(scratchc()
        .current_dir(dir)
        .args(["llb", "--format", "pb", "--local-unique", unique])
        .args(extra)
        .arg("app.scratch"))
    .stdout;
    format!("sha256:{}", hex::encode(Sha256::digest(&pb)))
}

/// A vendored module whose main is under ./cmd builds from the plainest
/// app file with no network for modules: `GOPROXY=off` makes any
/// download fail, and none is tried (no dependency step; Go builds from
/// vendor/). The image runs.
#[test]
fn a_vendored_module_builds_offline_with_the_plainest_app_file() {
    require_docker();
    let dir = repo("vendored");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app.scratch")).unwrap(),
        "app hello {\n  main ./cmd/hello\n}\n"
    );
    let image = unique("vendored");
    let out = output(
        scratchc()
            .args([
                "build",
                "--progress",
                "plain",
                "--build-arg",
                "GOPROXY=off",
                "-t",
                &image,
            ])
            .arg(dir.path().join("app.scratch")),
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(!log.contains("mod download"), "{log}");
    assert_eq!(docker_run(&image), "hello, vendored dev");
    docker_rmi(&image);
}

/// What the go template decides from the context (vendor/ there, go.work
/// there) is decided the same way by the frontend: buildx solves exactly
/// the definition `scratchc llb` prints, for a vendored module and for a
/// workspace, and both build.
#[test]
fn buildx_and_scratchc_decide_the_go_template_alike() {
    require_docker();
    for name in ["vendored", "workspace"] {
        let dir = repo(name);
        let file = dir.path().join("app.scratch");
        // The lock pins the builder and its config, which `scratchc llb`
        // (offline) needs to print the definition a build solves.
        with_syntax(&file);
        run(scratchc().arg("lock").arg(&file));
        let meta = tempfile::NamedTempFile::new().unwrap();
        let out = output(&mut buildx(
            &file,
            dir.path(),
            &[
                "--build-arg",
                "GOPROXY=off",
                "--metadata-file",
                &meta.path().display().to_string(),
            ],
        ));
        assert_ok(&out);
        let (digest, unique) = solved(meta.path());
        assert_eq!(
            digest,
            llb_digest(dir.path(), &unique, &["--build-arg", "GOPROXY=off"]),
            "{name}: the frontend solved other LLB than `scratchc llb` prints"
        );
        let log = text(&out.stderr);
        match name {
            "vendored" => assert!(!log.contains("mod download"), "{log}"),
            _ => assert!(log.contains("deps: go -C app mod download"), "{log}"),
        }
    }
}

/// The proxy of `tests/repos/private/goproxy.py`, killed on drop.
struct Proxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(dir: &Path, user: &str, password: &str) -> Proxy {
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    // The proxy's certificate, for the address a build step reaches the
    // host at (the docker0 bridge) and loopback.
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=goproxy",
            "-addext",
            "subjectAltName=IP:172.17.0.1,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(pki.join("key.pem"))
        .arg("-out")
        .arg(pki.join("cert.pem"))
        .stderr(Stdio::null()));
    let port_file = dir.join("port");
    let log = dir.join("proxy.log");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/repos/private");
    let child = Command::new("python3")
        .arg(root.join("goproxy.py"))
        .arg(root.join("modules"))
        .arg(&port_file)
        .args([user, password])
        .arg(pki.join("cert.pem"))
        .arg(pki.join("key.pem"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !port_file.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the proxy did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let port = std::fs::read_to_string(&port_file)
        .unwrap()
        .parse()
        .unwrap();
    Proxy { child, port, log }
}

/// A module with a private dependency, served by a proxy that wants basic
/// auth over TLS (as a company's module proxy): `GOPROXY` and `GONOSUMDB`
/// as build args, the netrc file and the proxy's CA as `secret`s given
/// with --secret. The download step gets them and succeeds; no layer of
/// the image, no byte of the definition and no line of the log holds the
/// password. Without the netrc, the proxy refuses and the step fails.
#[test]
fn a_private_module_is_fetched_with_secrets_that_reach_no_layer() {
    require_docker();
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let work = tempfile::tempdir().unwrap();
    let proxy = start_proxy(work.path(), "ci", &password);
    let dir = repo("private/app");
    let file = dir.path().join("app.scratch");
    let netrc = work.path().join("netrc");
    std::fs::write(
        &netrc,
        format!(
            "machine 172.17.0.1:{}\nlogin ci\npassword {password}\n",
            proxy.port
        ),
    )
    .unwrap();
    let ca = work.path().join("pki/cert.pem");
    let goproxy = format!("GOPROXY=https://172.17.0.1:{}", proxy.port);
    let tar = work.path().join("image.tar");
    let build = |netrc: &Path, out: &Path| {
        output(
            scratchc()
                .args(["build", "--progress", "plain", "--no-cache"])
                .args([
                    "--build-arg",
                    &goproxy,
                    "--build-arg",
                    "GONOSUMDB=example.com/priv",
                ])
                .arg("--secret")
                .arg(format!("id=netrc,src={}", netrc.display()))
                .arg("--secret")
                .arg(format!("id=proxy-ca,src={}", ca.display()))
                .arg("-o")
                .arg(format!("type=oci,dest={}", out.display()))
                .arg(&file),
        )
    };
    let out = build(&netrc, &tar);
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(log.contains("deps: go -C . mod download"), "{log}");
    let served = std::fs::read_to_string(&proxy.log).unwrap();
    assert!(
        served.contains("GET /example.com/priv/@v/v1.0.0.zip authorized"),
        "the module came from the proxy, with credentials: {served}"
    );
    assert!(!log.contains(&password), "the password is in the log");
    let blobs = all_blobs(&tar);
    assert!(
        !blobs
            .windows(password.len())
            .any(|w| w == password.as_bytes()),
        "the password is in the image"
    );
    let pb = run(scratchc()
        .args(["llb", "--format", "pb", "--build-arg", &goproxy])
        .arg(&file))
    .stdout;
    assert!(!pb.windows(password.len()).any(|w| w == password.as_bytes()));

    // Wrong credentials: the proxy refuses, the download step fails and
    // says where.
    let wrong = work.path().join("wrong-netrc");
    std::fs::write(
        &wrong,
        format!("machine 172.17.0.1:{}\nlogin ci\npassword no\n", proxy.port),
    )
    .unwrap();
    let out = build(&wrong, &work.path().join("wrong.tar"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("401 Unauthorized"), "{err}");
    assert!(!work.path().join("wrong.tar").exists());
}

/// A monorepo: two services under services/, each with its own module and
/// app file importing the repository's shared template. Built with the
/// repository as the context by `scratchc build --context` and, in a git
/// checkout, by `buildx -f services/web/app.scratch ROOT`: the same image.
#[test]
fn a_monorepo_builds_its_services_with_shared_templates() {
    require_docker();
    let dir = repo("monorepo");
    let root = dir.path();
    // buildx needs the syntax line (written by `buildx` below); committed
    // with the rest, so both builds see a clean tree of the same commit.
    let file = root.join("services/web/app.scratch");
    let out_dir = tempfile::tempdir().unwrap();
    let via = out_dir.path().join("buildx.tar");
    let mut through_buildx = buildx(
        &file,
        root,
        &["--output", &format!("type=oci,dest={}", via.display())],
    );
    commit_all(root);
    for svc in ["api", "web"] {
        let image = unique(svc);
        let out = output(
            scratchc()
                .args(["build", "--progress", "plain", "-t", &image, "--context"])
                .arg(root)
                .arg(root.join(format!("services/{svc}/app.scratch"))),
        );
        assert_ok(&out);
        assert_eq!(docker_run(&image), format!("{svc} of the monorepo"));
        let team = run(docker().args([
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"com.acme.team\"}}",
            &image,
        ]));
        let want = if svc == "api" {
            "payments"
        } else {
            "storefront"
        };
        assert_eq!(text(&team.stdout).trim(), want);
        docker_rmi(&image);
    }
    // The same service through buildx: its app file named inside the
    // context, the shared template read from the context.
    let rebuilt = out_dir.path().join("cli.tar");
    assert_ok(&output(
        scratchc()
            .args(["build", "--progress", "plain", "-o"])
            .arg(format!("type=oci,dest={}", rebuilt.display()))
            .arg("--context")
            .arg(root)
            .arg(&file),
    ));
    assert_ok(&output(&mut through_buildx));
    let (cli_digest, cli_config) = oci_image(&rebuilt);
    let (buildx_digest, buildx_config) = oci_image(&via);
    assert_eq!(
        cli_config["config"]["Labels"], buildx_config["config"]["Labels"],
        "the labels differ"
    );
    assert_eq!(
        cli_digest, buildx_digest,
        "scratchc build and buildx differ"
    );
}

/// In a git checkout, GIT_TAG and GIT_SHORT_COMMIT stamp the binary
/// through `ldflags`, and the image carries the OCI revision, source (its
/// credentials stripped) and version labels. A clean tree builds the same
/// image twice; a dirty one says so.
#[test]
fn a_checkout_stamps_its_version_and_labels_the_image() {
    require_docker();
    let dir = repo("vendored");
    let root = dir.path();
    std::fs::write(
        root.join("app.scratch"),
        "app hello {\n  main ./cmd/hello\n  ldflags \"-X main.version=${GIT_TAG}+${GIT_SHORT_COMMIT}${GIT_DIRTY}\"\n}\n",
    )
    .unwrap();
    let commit = commit_all(root);
    git(root, &["tag", "v1.2.3"]);
    git(
        root,
        &[
            "remote",
            "add",
            "origin",
            "https://ci:token123@git.example.com/acme/hello.git",
        ],
    );
    let outs = tempfile::tempdir().unwrap();
    let build = |name: &str| {
        let tar = outs.path().join(name);
        assert_ok(&output(
            scratchc()
                .env_remove("SOURCE_DATE_EPOCH")
                .args(["build", "--progress", "plain", "-o"])
                .arg(format!("type=oci,dest={}", tar.display()))
                .arg(root.join("app.scratch")),
        ));
        oci_image(&tar)
    };
    let (first, config) = build("a.tar");
    let (second, _) = build("b.tar");
    assert_eq!(
        first, second,
        "a clean checkout builds the same image twice"
    );
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.revision"], commit.as_str());
    assert_eq!(labels["org.opencontainers.image.version"], "v1.2.3");
    assert_eq!(
        labels["org.opencontainers.image.source"],
        "https://git.example.com/acme/hello.git"
    );
    let image = unique("stamped");
    assert_ok(&output(
        scratchc()
            .args(["build", "--progress", "plain", "-t", &image])
            .arg(root.join("app.scratch")),
    ));
    assert_eq!(
        docker_run(&image),
        format!("hello, vendored v1.2.3+{}false", &commit[..7])
    );
    // A change not committed: GIT_DIRTY says so, and the tag is still the
    // commit's.
    std::fs::write(root.join("NOTES"), "wip\n").unwrap();
    assert_ok(&output(
        scratchc()
            .args(["build", "--progress", "plain", "-t", &image])
            .arg(root.join("app.scratch")),
    ));
    assert_eq!(
        docker_run(&image),
        format!("hello, vendored v1.2.3+{}true", &commit[..7])
    );
    docker_rmi(&image);
}

/// `main` naming a library package: Go writes an archive, and the build
/// says so at the `main` line instead of "not an ELF executable".
#[test]
fn a_library_package_is_reported_at_the_main_line() {
    require_docker();
    let dir = repo("vendored");
    let file = dir.path().join("app.scratch");
    std::fs::write(&file, "app hello {\n  main ./internal/lib\n}\n").unwrap();
    let out = output(
        scratchc()
            .args(["build", "--progress", "plain", "-o"])
            .arg(format!(
                "type=oci,dest={}",
                dir.path().join("x.tar").display()
            ))
            .arg(&file),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("scratch::E0502"), "{err}");
    assert!(err.contains("not a main package"), "{err}");
    assert!(err.contains("app.scratch:2:3"), "at the main line: {err}");
    assert!(!dir.path().join("x.tar").exists());
}

/// Several apps of one file in one run: `--app` twice, `-t` and `-o`
/// patterns with `{app}`; each image holds its own binary.
#[test]
fn several_apps_build_to_their_own_names() {
    require_docker();
    let tmp = tempfile::tempdir().unwrap();
    run(Command::new("cp")
        .arg("-r")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/multi/."))
        .arg(tmp.path()));
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let outs = tempfile::tempdir().unwrap();
    let out = output(
        scratchc()
            .args([
                "build",
                "--progress",
                "plain",
                "--app",
                "worker",
                "--app",
                "api",
            ])
            .args(["-t", &format!("scratchc-test-{{app}}:{tag}")])
            .arg("-o")
            .arg(format!(
                "type=oci,dest={}/{{app}}.tar",
                outs.path().display()
            ))
            .arg(tmp.path().join("app.scratch")),
    );
    assert_ok(&out);
    for app in ["api", "worker"] {
        let image = format!("scratchc-test-{app}:{tag}");
        let ep = run(docker().args([
            "image",
            "inspect",
            "--format",
            "{{json .Config.Entrypoint}}",
            &image,
        ]));
        assert_eq!(text(&ep.stdout).trim(), format!("[\"/usr/bin/{app}\"]"));
        let (_, config) = oci_image(&outs.path().join(format!("{app}.tar")));
        assert_eq!(config["config"]["Entrypoint"][0], format!("/usr/bin/{app}"));
        docker_rmi(&image);
    }
}

/// A real `ssh-agent` holding one key, killed on drop.
struct Agent {
    child: Child,
    sock: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent() -> Agent {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&key));
    let sock = dir.path().join("agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !sock.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "ssh-agent did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run(Command::new("ssh-add")
        .arg("-q")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &sock));
    Agent {
        child,
        sock,
        _dir: dir,
    }
}

/// `ssh` forwards the client's agent: with `scratchc build --ssh
/// default` (served on our session), `scratchc verify --ssh
/// default=SOCKET` and through buildx alike, the build
/// step asks a real ssh-agent for its keys at `$SSH_AUTH_SOCK` and finds
/// the one added. Without `--ssh`, buildx's step gets no agent and fails.
#[test]
fn ssh_forwards_the_agent_from_scratchc_and_buildx() {
    require_docker();
    let agent = start_agent();
    let dir = repo("agent");
    let file = dir.path().join("app.scratch");
    let out = output(
        scratchc()
            .args([
                "build",
                "--progress",
                "plain",
                "--no-cache",
                "--ssh",
                "default",
                "-o",
            ])
            .arg(format!(
                "type=oci,dest={}",
                dir.path().join("cli.tar").display()
            ))
            .arg(&file)
            .env("SSH_AUTH_SOCK", &agent.sock),
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(log.contains("the agent holds 1 key(s)"), "{log}");
    // The agent named by its socket, through `verify` (two --no-cache
    // builds that must agree).
    let out = output(
        scratchc()
            .arg("verify")
            .arg("--ssh")
            .arg(format!("default={}", agent.sock.display()))
            .arg(&file)
            .env_remove("SSH_AUTH_SOCK"),
    );
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("reproducible"),
        "{}",
        text(&out.stdout)
    );
    let out = output(
        buildx(&file, dir.path(), &["--ssh", "default", "--no-cache"])
            .env("SSH_AUTH_SOCK", &agent.sock),
    );
    assert_ok(&out);
    let log = text(&out.stderr);
    assert!(log.contains("the agent holds 1 key(s)"), "{log}");
    let out = output(&mut buildx(&file, dir.path(), &["--no-cache"]));
    assert!(!out.status.success(), "{}", text(&out.stderr));
}

/// A new tag on the same commit changes only the image config (the
/// version label): with `.git` left out of the context, the record of the
/// last build must still see it, and the image is built again.
#[test]
fn a_new_tag_alone_builds_a_relabelled_image() {
    require_docker();
    let dir = repo("vendored");
    let root = dir.path();
    std::fs::write(root.join(".dockerignore"), ".git\n").unwrap();
    commit_all(root);
    git(root, &["tag", "v1.0.0"]);
    let image = unique("retag");
    let build = || {
        let out = output(
            scratchc()
                .args(["build", "--progress", "plain", "-t", &image])
                .arg(root.join("app.scratch")),
        );
        assert_ok(&out);
        text(&out.stderr)
    };
    let version = || {
        let out = run(docker().args([
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"org.opencontainers.image.version\"}}",
            &image,
        ]));
        text(&out.stdout).trim().to_string()
    };
    build();
    assert_eq!(version(), "v1.0.0");
    let again = build();
    assert!(again.contains("unchanged since the last build"), "{again}");
    git(root, &["tag", "-d", "v1.0.0"]);
    git(root, &["tag", "v1.0.1"]);
    let log = build();
    assert!(!log.contains("unchanged since the last build"), "{log}");
    assert_eq!(version(), "v1.0.1");
    docker_rmi(&image);
}
