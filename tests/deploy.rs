//! `scratchc k8s` and `scratchc compose` through the real binary, their
//! output checked by real tools: `kubernetes-validate` (the Kubernetes
//! OpenAPI schemas), PyYAML (a YAML 1.1 parser, as Kubernetes' is), `docker
//! compose config` (Compose's own parser and interpolation; it needs no
//! daemon), and a checker of the Pod Security Standards "restricted"
//! profile written from the standard's table. The tools come from
//! `scripts/setup.sh`; a test fails, never skips, when one is missing.
//! Running what `compose` writes is a daemon test
//! (`tests/daemon/deploy.rs`).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

/// Where `scripts/setup.sh` installs kubernetes-validate and its Python.
const TOOLS: &str = "/opt/scratchc-tools";
/// Kubernetes versions to validate against: the oldest with every field we
/// write (gRPC probes went GA in 1.27), and the newest the validator knows.
const KUBERNETES_VERSIONS: &[&str] = &["1.27.0", "1.37.0"];
const EXAMPLES: &[&str] = &["hello", "server", "multi", "company", "cluster"];

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .join("app.scratch")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {shown}: {e} (scripts/setup.sh installs the checking tools)")
    })
}

fn scratchc(args: &[&str]) -> Output {
    run(common::command().args(args))
}

/// `scratchc VERB FILE EXTRA...`, which must succeed: (stdout, stderr).
fn generate(verb: &str, file: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![verb, file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = scratchc(&args);
    assert!(
        out.status.success(),
        "scratchc {args:?} failed ({}):\n{}",
        out.status,
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

/// Runs a command with `input` on stdin.
fn with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {shown}: {e} (scripts/setup.sh installs the checking tools)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Every document of a YAML stream, read by PyYAML (YAML 1.1).
fn yaml_docs(yaml: &str) -> Vec<Value> {
    let out = with_stdin(
        Command::new(format!("{TOOLS}/bin/python3")).args([
            "-c",
            "import sys, json, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)",
        ]),
        yaml,
    );
    assert!(
        out.status.success(),
        "PyYAML: {}\n{yaml}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Validates manifests against the Kubernetes OpenAPI schemas (strict:
/// unknown fields are errors) of each version in [`KUBERNETES_VERSIONS`].
fn kubernetes_validate(yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, yaml).unwrap();
    for v in KUBERNETES_VERSIONS {
        let out = run(Command::new("kubernetes-validate")
            .args(["--strict", "--kubernetes-version", v])
            .arg(&file));
        assert!(
            out.status.success(),
            "kubernetes-validate {v} refused:\n{}{}\n{yaml}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("passed"),
            "{}",
            text(&out.stdout)
        );
    }
}

/// `docker compose config` on a Compose file, as JSON. It reads and
/// interpolates the file without a daemon: DOCKER_HOST points nowhere to
/// prove it.
fn compose_config(yaml: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = run(Command::new("docker")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["compose", "-p", "scratchc-test", "-f"])
        .arg(&file)
        .args(["config", "--format", "json"]));
    assert!(
        out.status.success(),
        "docker compose config refused ({}):\n{}\n{yaml}",
        out.status,
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The volume types the restricted profile allows.
const RESTRICTED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
/// The sysctls the baseline profile allows (its "safe" set).
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// The violations of the Pod Security Standards "restricted" profile
/// (which includes "baseline") by a pod spec, one line each; empty when it
/// passes. Written from the standard's table of controls (v1.27+).
fn restricted(pod: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let is_true = |x: &Value| x.as_bool() == Some(true);
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(&pod[host]) {
            v.push(format!("{host} is set"));
        }
    }
    let psc = &pod["securityContext"];
    for s in psc["sysctls"].as_array().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or("");
        if !SAFE_SYSCTLS.contains(&name) {
            v.push(format!("sysctl {name} is not in the safe set"));
        }
    }
    for vol in pod["volumes"].as_array().into_iter().flatten() {
        let obj = vol.as_object().unwrap();
        let kinds: Vec<&String> = obj.keys().filter(|k| *k != "name").collect();
        if kinds.len() != 1 || !RESTRICTED_VOLUMES.contains(&kinds[0].as_str()) {
            v.push(format!("volume {vol} is not of an allowed type"));
        }
    }
    let pod_seccomp = psc["seccompProfile"]["type"].as_str();
    let seccomp_ok = |t: Option<&str>| matches!(t, Some("RuntimeDefault" | "Localhost"));
    if pod_seccomp.is_some() && !seccomp_ok(pod_seccomp) {
        v.push(format!("pod seccompProfile {pod_seccomp:?}"));
    }
    if psc["runAsUser"].as_i64() == Some(0) {
        v.push("pod runAsUser is 0".into());
    }
    let containers = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().cloned().unwrap_or_default());
    for c in containers {
        let name = c["name"].as_str().unwrap_or("?").to_string();
        let sc = &c["securityContext"];
        if is_true(&sc["privileged"]) {
            v.push(format!("{name}: privileged"));
        }
        for p in c["ports"].as_array().into_iter().flatten() {
            if p.get("hostPort").is_some_and(|h| h.as_i64() != Some(0)) {
                v.push(format!("{name}: hostPort"));
            }
        }
        if sc["procMount"].as_str().is_some_and(|m| m != "Default") {
            v.push(format!("{name}: procMount"));
        }
        if sc["allowPrivilegeEscalation"].as_bool() != Some(false) {
            v.push(format!("{name}: allowPrivilegeEscalation is not false"));
        }
        let non_root = sc["runAsNonRoot"]
            .as_bool()
            .or(psc["runAsNonRoot"].as_bool());
        if non_root != Some(true) {
            v.push(format!("{name}: runAsNonRoot is not true"));
        }
        if sc["runAsUser"].as_i64() == Some(0) {
            v.push(format!("{name}: runAsUser is 0"));
        }
        let t = sc["seccompProfile"]["type"].as_str().or(pod_seccomp);
        if !seccomp_ok(t) {
            v.push(format!("{name}: seccompProfile {t:?}"));
        }
        let drops: Vec<&str> = sc["capabilities"]["drop"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !drops.contains(&"ALL") {
            v.push(format!("{name}: capabilities do not drop ALL"));
        }
        for add in sc["capabilities"]["add"].as_array().into_iter().flatten() {
            if add.as_str() != Some("NET_BIND_SERVICE") {
                v.push(format!("{name}: adds capability {add}"));
            }
        }
    }
    v
}

fn kind<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

fn pod(docs: &[Value], app: &str) -> Value {
    kind(docs, "Deployment", app)
        .unwrap_or_else(|| panic!("no Deployment {app}"))["spec"]["template"]["spec"]
        .clone()
}

#[test]
fn k8s_examples_validate_and_pass_the_restricted_profile() {
    for name in EXAMPLES {
        let (yaml, _) = generate("k8s", &example(name), &[]);
        kubernetes_validate(&yaml);
        let docs = yaml_docs(&yaml);
        let deployments: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Deployment").collect();
        assert!(!deployments.is_empty(), "{name}: {yaml}");
        for d in deployments {
            let app = d["metadata"]["name"].as_str().unwrap();
            let pod = &d["spec"]["template"]["spec"];
            let bad = restricted(pod);
            assert!(bad.is_empty(), "{name}/{app} is not restricted: {bad:?}");
            // The seed essay's security context, on the container.
            let sc = &pod["containers"][0]["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true);
            assert_eq!(sc["allowPrivilegeEscalation"], false);
            assert_eq!(sc["readOnlyRootFilesystem"], true);
            assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
            assert_eq!(pod["securityContext"]["fsGroup"], sc["runAsGroup"]);
            // The selector picks the pods, the Service (if any) too.
            let labels = &d["spec"]["template"]["metadata"]["labels"];
            assert_eq!(d["spec"]["selector"]["matchLabels"], *labels);
            if let Some(s) = kind(&docs, "Service", app) {
                assert_eq!(s["spec"]["selector"], *labels);
            }
            // /tmp is writable.
            let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
            assert!(
                mounts.iter().any(|m| m["mountPath"] == "/tmp"),
                "{mounts:?}"
            );
            assert_eq!(
                d["spec"]["template"]["spec"]["containers"][0]["image"],
                format!("{app}:latest")
            );
        }
    }
}

#[test]
fn the_restricted_checker_catches_each_violation() {
    let (yaml, _) = generate("k8s", &example("server"), &[]);
    let good = pod(&yaml_docs(&yaml), "server");
    assert!(restricted(&good).is_empty());
    type Break = fn(&mut Value);
    let cases: &[(&str, Break)] = &[
        ("host network", |p| p["hostNetwork"] = json!(true)),
        ("root", |p| {
            p["containers"][0]["securityContext"]["runAsUser"] = json!(0)
        }),
        ("non-root unset", |p| {
            p["securityContext"]["runAsNonRoot"] = Value::Null;
            p["containers"][0]["securityContext"]["runAsNonRoot"] = Value::Null;
        }),
        ("escalation", |p| {
            p["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true)
        }),
        ("no drop", |p| {
            p["containers"][0]["securityContext"]["capabilities"]["drop"] = json!([])
        }),
        ("added capability", |p| {
            p["containers"][0]["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"])
        }),
        ("unconfined", |p| {
            p["containers"][0]["securityContext"]["seccompProfile"]["type"] = json!("Unconfined")
        }),
        ("host path", |p| {
            p["volumes"][0] = json!({"name": "x", "hostPath": {"path": "/"}})
        }),
        ("unsafe sysctl", |p| {
            p["securityContext"]["sysctls"] = json!([{"name": "kernel.msgmax", "value": "1"}])
        }),
        ("privileged", |p| {
            p["containers"][0]["securityContext"]["privileged"] = json!(true)
        }),
        ("host port", |p| {
            p["containers"][0]["ports"][0]["hostPort"] = json!(8080)
        }),
    ];
    for (what, break_it) in cases {
        let mut p = good.clone();
        break_it(&mut p);
        assert!(!restricted(&p).is_empty(), "{what} not caught");
    }
}

#[test]
fn k8s_server_runs_as_the_image_says() {
    let (yaml, stderr) = generate(
        "k8s",
        &example("server"),
        &[
            "--image",
            "reg.example/server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ],
    );
    assert_eq!(stderr, "", "no warning for the server example");
    let docs = yaml_docs(&yaml);
    let pod = pod(&docs, "server");
    let c = &pod["containers"][0];
    assert_eq!(
        c["image"],
        "reg.example/server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    assert_eq!(c["command"], json!(["/usr/bin/server"]));
    assert_eq!(c["args"], json!(["server", "-config-dir", "/etc/server"]));
    assert_eq!(c["workingDir"], "/var/lib/server");
    assert_eq!(c["env"], json!([{"name": "TZ", "value": "UTC"}]));
    assert_eq!(c["securityContext"]["runAsUser"], 1000);
    assert_eq!(c["securityContext"]["runAsGroup"], 1000);
    assert_eq!(pod["securityContext"]["runAsUser"], 1000);
    assert_eq!(pod["securityContext"]["fsGroup"], 1000);
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(mounts, ["/etc/server", "/var/lib/server", "/tmp"]);
    assert!(
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["emptyDir"] == json!({}))
    );
    let ports: Vec<(i64, &str)> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["containerPort"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ports, [(8080, "TCP"), (8079, "UDP"), (8081, "TCP")]);
    let svc = kind(&docs, "Service", "server").unwrap();
    assert_eq!(svc["spec"]["ports"].as_array().unwrap().len(), 3);
    let arches = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0]["matchExpressions"][1];
    assert_eq!(arches["key"], "kubernetes.io/arch");
    assert_eq!(arches["values"], json!(["amd64", "arm64", "arm"]));
    // `--platform` narrows the nodes as it narrows the build.
    let (yaml, _) = generate("k8s", &example("server"), &["--platform", "linux/arm64"]);
    let pod = self::pod(&yaml_docs(&yaml), "server");
    let arches = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0]["matchExpressions"][1];
    assert_eq!(arches["values"], json!(["arm64"]));
}

#[test]
fn k8s_cluster_example_carries_its_template_policy() {
    let (yaml, _) = generate("k8s", &example("cluster"), &[]);
    let docs = yaml_docs(&yaml);
    let api = kind(&docs, "Deployment", "api").unwrap();
    assert_eq!(api["spec"]["replicas"], 3);
    let c = &api["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}})
    );
    assert_eq!(
        c["readinessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5})
    );
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10, "failureThreshold": 3})
    );
    let admin = kind(&docs, "Deployment", "admin").unwrap();
    assert_eq!(admin["spec"]["replicas"], 2);
    let c = &admin["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["resources"]["limits"], json!({"memory": "128Mi"}));
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], 9090);
    assert_eq!(c["args"], json!(["-addr", ":9090", "-health", "/healthz"]));
    // One app alone.
    let (yaml, _) = generate(
        "k8s",
        &example("cluster"),
        &["--app", "admin", "--image", "admin:1.0"],
    );
    let docs = yaml_docs(&yaml);
    assert_eq!(docs.len(), 2, "{yaml}");
    assert_eq!(pod(&docs, "admin")["containers"][0]["image"], "admin:1.0");
}

/// A temp app file with `text`; the directory is kept alive by the caller.
fn app_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.scratch");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

#[test]
fn root_and_privileged_ports_warn_and_stay_restricted() {
    let (_dir, file) = app_file(
        "app web uses prebuilt {\n  from bin/web\n  user 0\n  port 443 80 8080\n  volume /srv\n  file index.html /srv/index.html\n}\n",
    );
    let (yaml, stderr) = generate("k8s", &file, &[]);
    kubernetes_validate(&yaml);
    let docs = yaml_docs(&yaml);
    let pod = pod(&docs, "web");
    assert!(restricted(&pod).is_empty(), "{:?}", restricted(&pod));
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(pod["containers"][0]["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["sysctls"],
        json!([{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}])
    );
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 3, "{stderr}");
    assert!(
        warnings[0].starts_with("warning: app `web` sets `user 0` (root): it runs as 65532:65532"),
        "{stderr}"
    );
    assert!(
        warnings[1].contains("port 80, below 1024")
            && warnings[1].contains("ip_unprivileged_port_start=80"),
        "{stderr}"
    );
    assert!(
        warnings[2].contains("/srv/index.html lies under the volume /srv"),
        "{stderr}"
    );

    let (yaml, stderr) = generate("compose", &file, &[]);
    let cfg = compose_config(&yaml);
    let web = &cfg["services"]["web"];
    assert_eq!(web["user"], "65532:65532");
    assert_eq!(web["sysctls"]["net.ipv4.ip_unprivileged_port_start"], "80");
    // Compose fills a named volume from the image: nothing is hidden.
    assert_eq!(stderr.lines().count(), 2, "{stderr}");

    // A user without a group runs in its own group, said so.
    let (_dir, file) = app_file("app web uses prebuilt {\n  from bin/web\n  user 1000\n}\n");
    let (yaml, stderr) = generate("k8s", &file, &[]);
    let pod = self::pod(&yaml_docs(&yaml), "web");
    assert_eq!(pod["securityContext"]["runAsGroup"], 1000);
    assert_eq!(pod["securityContext"]["fsGroup"], 1000);
    assert!(
        stderr.contains("without a group: it runs in group 1000"),
        "{stderr}"
    );
}

/// Values that mean something else to a YAML parser, to Kubernetes'
/// `$(VAR)` expansion or to Compose's `${VAR}` interpolation come out of
/// both as app.scratch says.
#[test]
fn tricky_strings_survive_real_parsers() {
    let values = [
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "null",
        "~",
        "0123",
        "0x1F",
        "1e3",
        "1.5",
        ".5",
        "-1",
        "8080:80",
        "2024-06-25",
        ": ",
        "a: b",
        "a #b",
        "#x",
        "- a",
        "[a]",
        "{a}",
        "&a",
        "*a",
        "!a",
        "|",
        ">",
        "%a",
        "@a",
        "`a`",
        "'s'",
        "\"q\"",
        "back\\slash",
        "tab\there",
        "new\nline",
        "é ü 中",
        "",
        " lead",
        "trail ",
        "$(HOME)",
        "${HOME}",
        "$HOME",
        "$$",
        "$",
    ];
    // One env entry and one cmd arg per value, written with the
    // language's own escapes.
    let scratch = |v: &str| {
        let mut s = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                '$' => s.push_str("$$"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    };
    let env: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| scratch(&format!("V{i}={v}")))
        .collect();
    let args: Vec<String> = values.iter().map(|v| scratch(v)).collect();
    let (_dir, file) = app_file(&format!(
        "app tricky uses prebuilt {{\n  from bin/tricky\n  env {}\n  cmd {}\n}}\n",
        env.join(" "),
        args.join(" ")
    ));

    // Kubernetes: the YAML 1.1 reading is the string with `$` doubled,
    // which the kubelet's expansion turns back into a single `$`.
    let (yaml, _) = generate("k8s", &file, &[]);
    kubernetes_validate(&yaml);
    let c = pod(&yaml_docs(&yaml), "tricky")["containers"][0].clone();
    for (i, v) in values.iter().enumerate() {
        let want = v.replace('$', "$$");
        assert_eq!(c["env"][i]["name"], format!("V{i}"));
        assert_eq!(c["env"][i]["value"], want.as_str(), "env value {v:?}");
        assert_eq!(c["args"][i], want.as_str(), "arg {v:?}");
    }

    // Compose: its own parser and interpolation read the value back.
    // `config` prints it escaped again (`$` as `$$`) so its output loads
    // as the same file; without our escaping `${HOME}` would come out as
    // this machine's home. (The daemon test checks a container's env.)
    let (yaml, _) = generate("compose", &file, &[]);
    let cfg = compose_config(&yaml);
    let svc = &cfg["services"]["tricky"];
    for (i, v) in values.iter().enumerate() {
        let want = v.replace('$', "$$");
        assert_eq!(
            svc["environment"][format!("V{i}")],
            want.as_str(),
            "env value {v:?}"
        );
        assert_eq!(svc["command"][i], want.as_str(), "arg {v:?}");
    }
}

#[test]
fn compose_examples_are_accepted_by_docker_compose() {
    for name in EXAMPLES {
        let (yaml, _) = generate("compose", &example(name), &[]);
        let cfg = compose_config(&yaml);
        let services = cfg["services"].as_object().unwrap();
        assert!(!services.is_empty(), "{name}");
        for (app, s) in services {
            assert_eq!(s["image"], format!("{app}:latest"), "{name}/{app}");
            assert_eq!(s["pull_policy"], "never");
            assert_eq!(s["read_only"], true);
            assert_eq!(s["cap_drop"], json!(["ALL"]));
            assert_eq!(s["security_opt"], json!(["no-new-privileges:true"]));
            assert_eq!(s["tmpfs"], json!(["/tmp"]));
            assert_ne!(s["user"].as_str().unwrap().split(':').next(), Some("0"));
        }
    }
    let (yaml, _) = generate("compose", &example("server"), &[]);
    let s = &compose_config(&yaml)["services"]["server"];
    assert_eq!(s["user"], "1000:1000");
    assert_eq!(s["working_dir"], "/var/lib/server");
    assert_eq!(s["entrypoint"], json!(["/usr/bin/server"]));
    assert_eq!(
        s["command"],
        json!(["server", "-config-dir", "/etc/server"])
    );
    assert_eq!(s["environment"], json!({"TZ": "UTC"}));
    let targets: Vec<(&str, i64)> = s["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["type"].as_str().unwrap(),
                v["source"].as_str().map_or(0, |_| 1),
            )
        })
        .collect();
    assert_eq!(targets, [("volume", 1), ("volume", 1)]);
    let ports: Vec<(String, String)> = s["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["published"].as_str().unwrap().to_string(),
                p["protocol"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("8080".into(), "tcp".into()),
            ("8079".into(), "udp".into()),
            ("8081".into(), "tcp".into())
        ]
    );
    // Two apps on one port: the second is published on a port the engine
    // picks, and the output says so.
    let (yaml, stderr) = generate("compose", &example("company"), &[]);
    let cfg = compose_config(&yaml);
    assert_eq!(cfg["services"]["billing"]["ports"][0]["published"], "8080");
    assert!(
        cfg["services"]["ledger"]["ports"][0]
            .get("published")
            .is_none_or(|p| p == "")
    );
    assert!(
        stderr.contains("app `ledger` listens on 8080/tcp, which app `billing` publishes"),
        "{stderr}"
    );
}

#[test]
fn bad_command_lines_and_files_have_their_exit_codes() {
    let multi = example("multi");
    let multi = multi.to_str().unwrap();
    for verb in ["k8s", "compose"] {
        let out = scratchc(&[verb, multi, "--image", "x:1"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("several apps (api, worker)"), "{err}");
        assert!(err.contains("pick one with --app NAME"), "{err}");
        let out = scratchc(&[verb, multi, "--app", "api", "--image", "Not A Ref"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("--image `Not A Ref`"),
            "{}",
            text(&out.stderr)
        );
        // The exit codes of every verb (docs/client.md): an unknown app is
        // a command line error, a missing file an input failure.
        let out = scratchc(&[verb, multi, "--app", "nope"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("no app named `nope`"),
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        let out = scratchc(&[verb, "/nonexistent/app.scratch"]);
        assert_eq!(out.status.code(), Some(1));
        let (_dir, file) =
            app_file("app a {\n  kubernetes {\n    probe readiness tcp 8080\n  }\n}\n");
        let out = scratchc(&[verb, file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("E0140"), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
}

/// A name Kubernetes refuses (over 63 characters) is an error at the app's
/// name for `k8s`, which writes nothing; `compose` has no such limit.
#[test]
fn k8s_refuses_an_app_name_too_long_for_kubernetes() {
    let name = format!("a{}", "b".repeat(63));
    let (_dir, file) = app_file(&format!("app {name} {{\n}}\n"));
    let out = scratchc(&["k8s", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("scratch::E0142"), "{err}");
    assert!(err.contains("too long for a Kubernetes name"), "{err}");
    assert!(err.contains("rename the app"), "{err}");
    assert!(out.stdout.is_empty());
    generate("compose", &file, &[]);
}
