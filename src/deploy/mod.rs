//! Where an app's image runs: Kubernetes manifests (`k8s`) and a Compose
//! file (`compose`) from the checked model, secure by construction.
//!
//! Like the compiler, this module does no IO: a checked [`model::App`] and
//! the image reference to run go in, YAML text and warnings come out. The
//! CLI (`scratchc k8s`, `scratchc compose`) picks the apps, decides the
//! image reference and prints.
//!
//! Both outputs run the app with the same settings, decided here once:
//! - the image's user, never root: `user 0` runs as [`User::NONROOT`]
//!   instead, with a warning (the restricted Pod Security Standard forbids
//!   root, and a scratch binary needs no privilege to run);
//! - a group: the image's, else one equal to the user id (an image `USER`
//!   without a group runs in group 0, root's), with a warning;
//! - a read-only root filesystem, every capability dropped, no privilege
//!   escalation, the runtime's default seccomp profile;
//! - a writable volume for each `volume` of the image and for `/tmp`;
//! - a port below 1024 with that (non-root) user: the namespaced sysctl
//!   `net.ipv4.ip_unprivileged_port_start` lowered to the app's lowest port
//!   (allowed by the restricted profile) instead of a capability, with a
//!   warning.
//!
//! Invariants: output is a pure function of the inputs (keys in a fixed
//! order, no maps with random order, no clock); every string the runtime
//! would expand (`$(VAR)` in Kubernetes commands and env, `${VAR}` in
//! Compose) is escaped, so a value means what app.scratch says; no setting
//! of the restricted profile is ever left out, whatever the app says.

pub mod compose;
pub mod k8s;
pub mod yaml;

use std::fmt;

use crate::compiler::model::{self, User};

use self::yaml::{Map, Node};

/// One app to deploy and the image reference to run it from.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub app: &'a model::App,
    /// As the user gave it or [`default_image`]: a tag or a digest ref.
    pub image: &'a str,
}

/// The generated YAML and what the generator decided on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub yaml: String,
    pub warnings: Vec<Warning>,
}

/// The image reference to use when nothing better is known: the name
/// `scratchc build` loads an app under without `-t`, `<app>:latest`.
pub fn default_image(app: &str) -> String {
    format!("{app}:latest")
}

/// A decision the generator took that the user should know about: what it
/// did and why. Printed on stderr by the CLI; never silent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub app: String,
    pub kind: WarningKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// `user 0`: run as [`User::NONROOT`] instead.
    Root,
    /// `user UID` without a group: run in group UID instead of 0.
    NoGroup { uid: u32 },
    /// A port below 1024 with a non-root user: the unprivileged port range
    /// starts at `port` (the app's lowest).
    PrivilegedPort { port: u16, uid: u32 },
    /// A file of the image lies under a volume: an emptyDir starts empty and
    /// hides it (Kubernetes only; a Compose named volume is filled from the
    /// image).
    VolumeHidesFile { volume: String, file: String },
    /// Compose: another app publishes this host port already; this one is
    /// published on a port the engine picks.
    PortTaken { port: model::Port, by: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let app = &self.app;
        match &self.kind {
            WarningKind::Root => write!(
                f,
                "app `{app}` sets `user 0` (root): it runs as {nonroot} instead, since the restricted \
                 Pod Security Standard forbids root and a static binary needs no privilege; set \
                 `user UID:GID` in app.scratch to choose the id",
                nonroot = User::NONROOT
            ),
            WarningKind::NoGroup { uid } => write!(
                f,
                "app `{app}` sets `user {uid}` without a group: it runs in group {uid} instead of \
                 group 0 (root's), so its files and volumes are not the root group's; write \
                 `user {uid}:GID` to choose"
            ),
            WarningKind::PrivilegedPort { port, uid } => write!(
                f,
                "app `{app}` listens on port {port}, below 1024, as user {uid}: the output sets the \
                 sysctl net.ipv4.ip_unprivileged_port_start={port} (allowed by the restricted \
                 profile) instead of adding a capability; or use a port of 1024 or above"
            ),
            WarningKind::VolumeHidesFile { volume, file } => write!(
                f,
                "app `{app}`: {file} lies under the volume {volume}; the emptyDir mounted there \
                 starts empty and hides it in Kubernetes; move the file out of the volume, or \
                 replace the emptyDir (e.g. with a ConfigMap)"
            ),
            WarningKind::PortTaken { port, by } => write!(
                f,
                "app `{app}` listens on {port}, which app `{by}` publishes on the host already: \
                 it is published on a port the engine picks (`docker compose port {app} {}`)",
                port.number
            ),
        }
    }
}

/// The ids a deployed app runs as: never root, always with a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// The settings both outputs share, decided once per app (see the module
/// doc), with the warnings they call for.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub run_as: RunAs,
    /// The app's lowest port when it is below 1024: the start of the
    /// unprivileged port range to set.
    pub unprivileged_port_start: Option<u16>,
    /// Absolute, cleaned paths to mount writable volumes at: the image's
    /// volumes in order, then `/tmp` unless it is one of them.
    pub volumes: Vec<String>,
    pub warnings: Vec<Warning>,
}

pub(crate) fn plan(app: &model::App) -> Plan {
    let name = &app.name.node;
    let mut warnings = Vec::new();
    let mut warn = |kind| {
        warnings.push(Warning {
            app: name.clone(),
            kind,
        })
    };
    let user = app.image.user.node;
    let run_as = match user {
        User { uid: 0, .. } => {
            warn(WarningKind::Root);
            RunAs {
                uid: User::NONROOT.uid,
                gid: User::NONROOT.gid.unwrap_or(User::NONROOT.uid),
            }
        }
        User {
            uid,
            gid: Some(gid),
        } => RunAs { uid, gid },
        User { uid, gid: None } => {
            warn(WarningKind::NoGroup { uid });
            RunAs { uid, gid: uid }
        }
    };
    let lowest = app.image.ports.iter().map(|p| p.node.number).min();
    let unprivileged_port_start = lowest.filter(|p| *p < 1024);
    if let Some(port) = unprivileged_port_start {
        warn(WarningKind::PrivilegedPort {
            port,
            uid: run_as.uid,
        });
    }
    let mut volumes: Vec<String> = Vec::new();
    for v in &app.image.volumes {
        let v = clean(&v.node);
        if !volumes.contains(&v) {
            volumes.push(v);
        }
    }
    if !volumes.iter().any(|v| v == "/tmp") {
        volumes.push("/tmp".to_string());
    }
    Plan {
        run_as,
        unprivileged_port_start,
        volumes,
        warnings,
    }
}

/// An absolute path without repeated, trailing or `.` components.
pub(crate) fn clean(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// Whether `path` is `dir` or lies under it (both cleaned).
pub(crate) fn under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A name for the volume at `path`, unique among `taken`: the path's
/// components joined by `-`, lowercase, only `[a-z0-9-]`, at most `max`
/// long (`/etc/server` is `etc-server`, `/` is `root`). The result is a
/// DNS-1123 label, as Kubernetes wants volume names, and a valid Compose
/// volume key.
pub(crate) fn volume_name(path: &str, taken: &[String], max: usize) -> String {
    let mut base = String::new();
    for c in path.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            base.push(c);
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    let mut base = base.trim_end_matches('-').to_string();
    if base.is_empty() {
        base = "root".to_string();
    }
    let fit = |s: &str, room: usize| -> String {
        let cut: String = s.chars().take(room).collect();
        cut.trim_end_matches('-').to_string()
    };
    let mut name = fit(&base, max);
    let mut n = 2;
    while taken.contains(&name) {
        let suffix = format!("-{n}");
        name = format!("{}{suffix}", fit(&base, max.saturating_sub(suffix.len())));
        n += 1;
    }
    name
}

/// The keys one output writes a container's process under: the
/// entrypoint, the cmd and the working directory (Compose `entrypoint`,
/// `command`, `working_dir`; Kubernetes `command`, `args`, `workingDir`).
pub(crate) struct ProcessKeys {
    pub entrypoint: &'static str,
    pub cmd: &'static str,
    pub workdir: &'static str,
}

/// `map` with what the image runs, in this order: the entrypoint, the cmd
/// when the image has one, the working directory when it sets one. The
/// arguments are escaped ([`escape_dollars`]) here, so both outputs keep
/// the module's invariant the same way.
pub(crate) fn set_process(map: Map, img: &model::Image, keys: ProcessKeys) -> Map {
    let escaped = |args: &[String]| Node::strs(args.iter().map(|a| escape_dollars(a)));
    map.set(keys.entrypoint, escaped(&img.entrypoint.node))
        .opt(keys.cmd, img.cmd.as_ref().map(|c| escaped(&c.node)))
        .opt(keys.workdir, img.workdir.as_ref().map(|w| w.node.as_str()))
}

/// The image's environment in the order written, each value escaped
/// ([`escape_dollars`]); each output lays the pairs out its own way.
pub(crate) fn env(img: &model::Image) -> impl Iterator<Item = (&str, String)> {
    img.env
        .iter()
        .map(|e| (e.node.0.as_str(), escape_dollars(&e.node.1)))
}

/// `$` doubled: Kubernetes (`$(VAR)` in command, args and env values) and
/// Compose (`$VAR`, `${VAR}` anywhere) both read `$$` as one literal `$`.
pub(crate) fn escape_dollars(s: &str) -> String {
    s.replace('$', "$$")
}

/// What the unit tests of this module and of both outputs start from.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    use super::{Target, model};
    use crate::compiler::{Options, Sources, check};

    /// The checked apps of `text`, read as `app.scratch`.
    pub fn apps(text: &str) -> Vec<model::App> {
        check(&Sources::new("app.scratch", text), &Options::default())
            .unwrap()
            .apps
    }

    /// `output` of every app of `text`, each run from the image `img:1`,
    /// with `app.scratch` as the source named in the header.
    pub fn render<T>(text: &str, output: impl FnOnce(&[Target<'_>], &str) -> T) -> T {
        let apps = apps(text);
        let targets: Vec<Target<'_>> = apps
            .iter()
            .map(|a| Target {
                app: a,
                image: "img:1",
            })
            .collect();
        output(&targets, "app.scratch")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn app(body: &str) -> model::App {
        testing::apps(&format!("app a uses prebuilt {{\n  from bin/a\n{body}}}\n")).remove(0)
    }

    fn kinds(p: &Plan) -> Vec<WarningKind> {
        p.warnings.iter().map(|w| w.kind.clone()).collect()
    }

    #[test]
    fn never_root_always_a_group() {
        let p = plan(&app(""));
        assert_eq!(
            p.run_as,
            RunAs {
                uid: 65532,
                gid: 65532
            }
        );
        assert!(p.warnings.is_empty());
        let p = plan(&app("  user 0\n"));
        assert_eq!(
            p.run_as,
            RunAs {
                uid: 65532,
                gid: 65532
            }
        );
        assert_eq!(kinds(&p), vec![WarningKind::Root]);
        let p = plan(&app("  user 0:0\n"));
        assert_eq!(kinds(&p), vec![WarningKind::Root]);
        let p = plan(&app("  user 1000\n"));
        assert_eq!(
            p.run_as,
            RunAs {
                uid: 1000,
                gid: 1000
            }
        );
        assert_eq!(kinds(&p), vec![WarningKind::NoGroup { uid: 1000 }]);
        let p = plan(&app("  user 1000:0\n"));
        assert_eq!(p.run_as, RunAs { uid: 1000, gid: 0 });
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn privileged_ports_lower_the_unprivileged_range() {
        let p = plan(&app("  port 8080 443 80/udp\n"));
        assert_eq!(p.unprivileged_port_start, Some(80));
        assert_eq!(
            kinds(&p),
            vec![WarningKind::PrivilegedPort {
                port: 80,
                uid: 65532
            }]
        );
        assert_eq!(plan(&app("  port 1024\n")).unprivileged_port_start, None);
    }

    #[test]
    fn volumes_and_tmp() {
        let p = plan(&app("  volume /data/ /etc//x /data\n"));
        assert_eq!(p.volumes, vec!["/data", "/etc/x", "/tmp"]);
        let p = plan(&app("  volume /tmp/ /var\n"));
        assert_eq!(p.volumes, vec!["/tmp", "/var"]);
    }

    #[test]
    fn volume_names_are_labels() {
        let none: Vec<String> = vec![];
        assert_eq!(volume_name("/etc/server", &none, 63), "etc-server");
        assert_eq!(volume_name("/", &none, 63), "root");
        assert_eq!(
            volume_name("/Var/Lib_X/.cache", &none, 63),
            "var-lib-x-cache"
        );
        let taken = vec!["etc-server".to_string(), "etc-server-2".to_string()];
        assert_eq!(volume_name("/etc_server", &taken, 63), "etc-server-3");
        let long = format!("/{}", "a".repeat(100));
        assert_eq!(volume_name(&long, &none, 63).len(), 63);
        let taken = vec!["a".repeat(63)];
        assert_eq!(
            volume_name(&long, &taken, 63),
            format!("{}-2", "a".repeat(61))
        );
        assert!(under("/etc/server/x.json", "/etc/server"));
        assert!(!under("/etc/serverx", "/etc/server"));
        assert_eq!(escape_dollars("$(HOME) $$ ${X}"), "$$(HOME) $$$$ $${X}");
    }
}
