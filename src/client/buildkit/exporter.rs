//! Where a build's result goes: `-t` names (load into the Docker Engine or
//! keep in buildkitd's store), `--output type=...,dest=...` files and
//! directories, and `--push`. Turns the user's choice into BuildKit
//! exporters plus the session sinks that receive their bytes, after
//! checking the daemon can do it.
//!
//! Invariant: exporters that stream to the client (`oci`, `docker`, `tar`,
//! `local`) come first, so exporter number i is served by session sink i
//! (the daemon opens FileSend with `buildkit-attachable-exporter-id: i`);
//! exporters that write into the daemon's store (`moby`, `image`) follow
//! and have no sink.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::gateway::Caps;
use super::session::ExportSink;
use crate::client::errors::{BuildError, UsageError};

/// A file output kind of `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// An OCI image layout tarball.
    Oci,
    /// A `docker load` tarball.
    Docker,
    /// The image's filesystem as a tarball.
    Tar,
    /// The image's filesystem written into a directory.
    Local,
}

impl OutputKind {
    /// BuildKit's exporter name.
    pub fn exporter(self) -> &'static str {
        match self {
            OutputKind::Oci => "oci",
            OutputKind::Docker => "docker",
            OutputKind::Tar => "tar",
            OutputKind::Local => "local",
        }
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.exporter())
    }
}

/// One `--output` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub kind: OutputKind,
    pub dest: PathBuf,
    /// Other `key=value` pairs, passed to the exporter as attributes.
    pub attrs: BTreeMap<String, String>,
}

/// Parses `type=oci|docker|tar|local,dest=PATH[,key=value...]`. A value
/// without `=` is shorthand for `type=local,dest=VALUE` (as buildx).
pub fn parse_output(s: &str) -> Result<OutputSpec, UsageError> {
    if !s.contains('=') {
        if s.is_empty() {
            return Err(UsageError::new("empty --output value"));
        }
        return Ok(OutputSpec {
            kind: OutputKind::Local,
            dest: PathBuf::from(s),
            attrs: BTreeMap::new(),
        });
    }
    let mut kind = None;
    let mut dest = None;
    let mut attrs = BTreeMap::new();
    for part in s.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(UsageError::new(format!(
                "`{part}` in --output `{s}` is not key=value"
            )));
        };
        match k.trim() {
            "type" => {
                kind = Some(match v {
                    "oci" => OutputKind::Oci,
                    "docker" => OutputKind::Docker,
                    "tar" => OutputKind::Tar,
                    "local" => OutputKind::Local,
                    other => {
                        return Err(UsageError::new(format!(
                            "unknown output type `{other}`: use oci, docker, tar or local (and -t/--push for images)"
                        )));
                    }
                })
            }
            "dest" => dest = Some(PathBuf::from(v)),
            k => {
                attrs.insert(k.to_string(), v.to_string());
            }
        }
    }
    let kind = kind.ok_or_else(|| UsageError::new(format!("--output `{s}` has no type=...")))?;
    let dest = dest
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| UsageError::new(format!("--output `{s}` has no dest=PATH")))?;
    Ok(OutputSpec { kind, dest, attrs })
}

/// What the build should produce for one app.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Image names (`-t`); empty means no image in a store.
    pub names: Vec<String>,
    /// Push the named image to its registry.
    pub push: bool,
    pub files: Vec<OutputSpec>,
}

/// The kind of daemon, as far as exports are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonKind {
    /// A standalone buildkitd: all exporters; `-t` keeps the image in its
    /// own store.
    Buildkitd,
    /// The Docker Engine with the containerd image store.
    DockerContainerd,
    /// The Docker Engine with the graph-driver store.
    DockerGraphDriver,
}

impl DaemonKind {
    /// Classifies a daemon from its endpoint kind and its caps.
    pub fn detect(is_docker: bool, caps: &Caps) -> DaemonKind {
        match (is_docker, caps.is_graph_driver_store()) {
            (false, _) => DaemonKind::Buildkitd,
            (true, false) => DaemonKind::DockerContainerd,
            (true, true) => DaemonKind::DockerGraphDriver,
        }
    }
}

/// The help line for features the graph-driver store lacks.
pub const CONTAINERD_STORE_HELP: &str = "enable the containerd image store: add {\"features\": {\"containerd-snapshotter\": true}} to /etc/docker/daemon.json and restart dockerd, or build on a standalone buildkitd with --addr";

/// One exporter entry of `Control.SolveRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterEntry {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

/// Exporters in order, and the sinks serving the streaming ones (same
/// indices).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportPlan {
    pub exporters: Vec<ExporterEntry>,
    pub sinks: Vec<ExportSink>,
}

/// Checks the request against the daemon and builds the export plan.
/// `platforms` is the number of platforms of the image; `epoch` the
/// SOURCE_DATE_EPOCH seconds when set (passed to every exporter).
pub fn plan(
    outputs: &Outputs,
    daemon: DaemonKind,
    platforms: usize,
    epoch: Option<u64>,
) -> Result<ExportPlan, BuildError> {
    let graph = daemon == DaemonKind::DockerGraphDriver;
    if graph && platforms > 1 {
        return Err(BuildError::Unsupported {
            what: format!(
                "this Docker Engine's image store cannot hold a multi-platform image ({platforms} platforms asked)"
            ),
            help: format!("{CONTAINERD_STORE_HELP}; or build one platform with --platform"),
        });
    }
    if outputs.push && outputs.names.is_empty() {
        return Err(BuildError::Usage(
            UsageError::new("--push needs an image name").help("add -t REGISTRY/NAME:TAG"),
        ));
    }
    if graph && outputs.push {
        return Err(BuildError::Unsupported {
            what: "this Docker Engine's image store cannot push from a build".into(),
            help: format!("{CONTAINERD_STORE_HELP}; or build, then `docker push`"),
        });
    }
    let mut plan = ExportPlan::default();
    let common = |attrs: &mut BTreeMap<String, String>| {
        if let Some(e) = epoch {
            attrs.insert("source-date-epoch".into(), e.to_string());
        }
    };
    for o in &outputs.files {
        if graph && matches!(o.kind, OutputKind::Oci | OutputKind::Docker) {
            return Err(BuildError::Unsupported {
                what: format!(
                    "this Docker Engine's image store has no `{}` exporter",
                    o.kind
                ),
                help: format!("{CONTAINERD_STORE_HELP}; `tar` and `local` outputs work on it"),
            });
        }
        if o.kind == OutputKind::Docker && platforms > 1 {
            return Err(BuildError::Unsupported {
                what: "a docker tarball holds one platform only".into(),
                help: "use type=oci for a multi-platform tarball, or pick one with --platform"
                    .into(),
            });
        }
        let mut attrs = o.attrs.clone();
        if matches!(o.kind, OutputKind::Oci | OutputKind::Docker) && !outputs.names.is_empty() {
            attrs
                .entry("name".into())
                .or_insert_with(|| outputs.names.join(","));
        }
        if matches!(o.kind, OutputKind::Local | OutputKind::Tar) && platforms > 1 {
            attrs
                .entry("platform-split".into())
                .or_insert_with(|| "true".into());
        }
        common(&mut attrs);
        plan.exporters.push(ExporterEntry {
            kind: o.kind.exporter().into(),
            attrs,
        });
        plan.sinks.push(match o.kind {
            OutputKind::Local => ExportSink::Local(o.dest.clone()),
            _ => ExportSink::Tar(o.dest.clone()),
        });
    }
    if !outputs.names.is_empty() {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".into(), outputs.names.join(","));
        let kind = match daemon {
            DaemonKind::Buildkitd => "image",
            // On the containerd store the Engine's images are the
            // containerd images of its namespace, so BuildKit's `image`
            // exporter stores them as the Engine's own, given the full
            // names the Engine looks up (`hello:1` is stored as
            // `docker.io/library/hello:1`; `moby` normalises them itself).
            // The loaded image is the very one `--push` and `-o type=oci`
            // make (docs/reproducibility.md). Not unpacked: the export
            // stops at the image, and the Engine unpacks it when a
            // container is created from it.
            DaemonKind::DockerContainerd => {
                attrs.insert("name".into(), engine_names(&outputs.names)?);
                attrs.insert("unpack".into(), "false".into());
                "image"
            }
            DaemonKind::DockerGraphDriver => "moby",
        };
        if outputs.push {
            attrs.insert("push".into(), "true".into());
        }
        if !graph {
            common(&mut attrs);
        }
        plan.exporters.push(ExporterEntry {
            kind: kind.into(),
            attrs,
        });
    }
    Ok(plan)
}

/// The names a `docker load` tarball carries: the `-t` names, else
/// `<app>:latest`, the name the image is loaded under when no output is
/// given, so a tarball never loads as a dangling image.
pub fn docker_tarball_names(names: &[String], app: &str) -> Vec<String> {
    if names.is_empty() {
        vec![format!("{app}:latest")]
    } else {
        names.to_vec()
    }
}

/// Names the `docker` exporters of `plan` that have no name (no `-t`)
/// `<app>:latest` ([`docker_tarball_names`]).
pub fn name_docker_tarballs(plan: &mut ExportPlan, app: &str) {
    for e in plan.exporters.iter_mut().filter(|e| e.kind == "docker") {
        e.attrs
            .entry("name".into())
            .or_insert_with(|| docker_tarball_names(&[], app).join(","));
    }
}

/// `-t` names as the Docker Engine stores them (`hello` is
/// `docker.io/library/hello:latest`), comma-joined for the exporter. A name
/// that is not an image reference is a usage error naming it.
fn engine_names(names: &[String]) -> Result<String, BuildError> {
    let full: Result<Vec<String>, BuildError> = names
        .iter()
        .map(|n| {
            crate::image_ref::parse(n)
                .map(|r| r.to_string())
                .map_err(|_| {
                    BuildError::Usage(
                        UsageError::new(format!("-t `{n}` is not an image name"))
                            .help("write [HOST[:PORT]/]NAME[:TAG], e.g. -t hello:1.0"),
                    )
                })
        })
        .collect();
    Ok(full?.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_outputs() {
        let o = parse_output("type=oci,dest=out/img.tar").unwrap();
        assert_eq!(o.kind, OutputKind::Oci);
        assert_eq!(o.dest, PathBuf::from("out/img.tar"));
        let o = parse_output("dist").unwrap();
        assert_eq!(o.kind, OutputKind::Local);
        let o = parse_output("type=tar,dest=a.tar,compression=gzip").unwrap();
        assert_eq!(o.attrs.get("compression").map(String::as_str), Some("gzip"));
        assert!(
            parse_output("type=registry,dest=x")
                .unwrap_err()
                .to_string()
                .contains("unknown output type")
        );
        assert!(
            parse_output("type=oci")
                .unwrap_err()
                .to_string()
                .contains("no dest")
        );
        assert!(
            parse_output("dest=x")
                .unwrap_err()
                .to_string()
                .contains("no type")
        );
    }

    #[test]
    fn file_exporters_come_first_and_match_sinks() {
        let outputs = Outputs {
            names: vec!["hello:latest".into(), "hello:1".into()],
            push: false,
            files: vec![
                parse_output("type=oci,dest=a.tar").unwrap(),
                parse_output("type=local,dest=dir").unwrap(),
            ],
        };
        let p = plan(&outputs, DaemonKind::DockerContainerd, 1, Some(0)).unwrap();
        let kinds: Vec<&str> = p.exporters.iter().map(|e| e.kind.as_str()).collect();
        // The containerd store takes the `image` exporter, not unpacked
        // (so the timestamps can be rewritten), with the Engine's names.
        assert_eq!(kinds, ["oci", "local", "image"]);
        assert_eq!(p.exporters[2].attrs["unpack"], "false");
        assert_eq!(
            p.sinks,
            [
                ExportSink::Tar("a.tar".into()),
                ExportSink::Local("dir".into())
            ]
        );
        assert_eq!(
            p.exporters[2].attrs["name"],
            "docker.io/library/hello:latest,docker.io/library/hello:1"
        );
        assert_eq!(p.exporters[0].attrs["name"], "hello:latest,hello:1");
        let bad = Outputs {
            names: vec!["Hello".into()],
            ..Outputs::default()
        };
        assert!(matches!(
            plan(&bad, DaemonKind::DockerContainerd, 1, None),
            Err(BuildError::Usage(m)) if m.message.contains("-t `Hello`")
        ));
        assert_eq!(p.exporters[0].attrs["source-date-epoch"], "0");
    }

    #[test]
    fn a_docker_tarball_without_a_name_is_the_apps_latest() {
        let outputs = Outputs {
            files: vec![
                parse_output("type=docker,dest=a.tar").unwrap(),
                parse_output("type=oci,dest=b.tar").unwrap(),
            ],
            ..Outputs::default()
        };
        let mut p = plan(&outputs, DaemonKind::DockerContainerd, 1, None).unwrap();
        name_docker_tarballs(&mut p, "hello");
        assert_eq!(p.exporters[0].attrs["name"], "hello:latest");
        assert!(
            !p.exporters[1].attrs.contains_key("name"),
            "OCI: no name asked"
        );
        let named = Outputs {
            names: vec!["x:1".into()],
            ..outputs
        };
        let mut p = plan(&named, DaemonKind::DockerContainerd, 1, None).unwrap();
        name_docker_tarballs(&mut p, "hello");
        assert_eq!(p.exporters[0].attrs["name"], "x:1");
    }

    #[test]
    fn graph_driver_limits_are_explained() {
        let outputs = Outputs {
            names: vec!["x".into()],
            ..Outputs::default()
        };
        let e = plan(&outputs, DaemonKind::DockerGraphDriver, 2, None).unwrap_err();
        assert!(
            matches!(&e, BuildError::Unsupported { help, .. } if help.contains("containerd-snapshotter"))
        );
        let oci = Outputs {
            files: vec![parse_output("type=oci,dest=a").unwrap()],
            ..Outputs::default()
        };
        assert!(plan(&oci, DaemonKind::DockerGraphDriver, 1, None).is_err());
        assert!(plan(&oci, DaemonKind::DockerContainerd, 1, None).is_ok());
        let p = plan(&outputs, DaemonKind::DockerGraphDriver, 1, None).unwrap();
        assert_eq!(p.exporters[0].kind, "moby");
    }

    #[test]
    fn push_uses_the_image_exporter() {
        let outputs = Outputs {
            names: vec!["registry.example/hello:1".into()],
            push: true,
            files: vec![],
        };
        let p = plan(&outputs, DaemonKind::DockerContainerd, 2, None).unwrap();
        assert_eq!(p.exporters[0].kind, "image");
        assert_eq!(p.exporters[0].attrs["push"], "true");
        let no_name = Outputs {
            push: true,
            ..Outputs::default()
        };
        assert!(matches!(
            plan(&no_name, DaemonKind::Buildkitd, 1, None),
            Err(BuildError::Usage(_))
        ));
    }
}
