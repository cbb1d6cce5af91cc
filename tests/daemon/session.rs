//! The connection and session layer against the real daemon: raw
//! `Control.Solve` of hand-built LLB (a local source exported with the
//! `local` and `tar` exporters), so sending and receiving trees are checked
//! end to end, byte for byte; `.dockerignore` filtering; the standalone
//! buildkitd transport (a unix-socket proxy that upgrades each connection
//! on the Docker socket); connection errors.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use prost::Message;
use scratchc::client::buildkit::session::{
    self, ExportSink, LocalDir, SecretSource, SessionConfig,
};
use scratchc::client::inputs::patterns;
use scratchc::client::{ClientError, Endpoint, connect, control_client};
use scratchc::proto::moby::buildkit::v1::{
    Exporter, ListWorkersRequest, SolveRequest, StatusRequest,
};
use scratchc::proto::pb;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The engine under test (`SCRATCHC_TEST_DOCKER`, tests/daemon/main.rs).
fn docker() -> Endpoint {
    Endpoint::DockerUnix(super::engine().socket.clone())
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A `local://ctx` source op with extra attrs: its bytes and digest.
fn local_op(session_id: &str, extra: &[(&str, String)]) -> (Vec<u8>, String) {
    let mut attrs = BTreeMap::new();
    attrs.insert("local.session".to_string(), session_id.to_string());
    attrs.insert("local.sharedkeyhint".to_string(), "ctx".to_string());
    attrs.insert("local.unique".to_string(), unique());
    for (k, v) in extra {
        attrs.insert(k.to_string(), v.clone());
    }
    let src = pb::Op {
        op: Some(pb::op::Op::Source(pb::SourceOp {
            identifier: "local://ctx".into(),
            attrs,
        })),
        ..pb::Op::default()
    }
    .encode_to_vec();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&src)));
    (src, digest)
}

/// `local://ctx` as the whole build, with extra source attrs.
fn local_definition(session_id: &str, extra: &[(&str, String)]) -> pb::Definition {
    let (src, digest) = local_op(session_id, extra);
    let term = pb::Op {
        inputs: vec![pb::Input { digest, index: 0 }],
        ..pb::Op::default()
    }
    .encode_to_vec();
    pb::Definition {
        def: vec![src, term],
        ..pb::Definition::default()
    }
}

/// Sends `src` as `local://ctx` and exports it with `exporter` into `sink`.
async fn solve_local(
    ep: &Endpoint,
    src: &Path,
    excludes: Vec<String>,
    extra: &[(&str, String)],
    exporter: &str,
    sink: ExportSink,
) -> Result<(), ClientError> {
    let def = |id: &str| local_definition(id, extra);
    solve_with(ep, src, excludes, &def, exporter, sink).await
}

/// Offers `src` as `local://ctx`, solves the definition `def(session id)`
/// and exports it with `exporter` into `sink`.
async fn solve_with(
    ep: &Endpoint,
    src: &Path,
    excludes: Vec<String>,
    def: &(dyn Fn(&str) -> pb::Definition + Sync),
    exporter: &str,
    sink: ExportSink,
) -> Result<(), ClientError> {
    let channel = connect(ep).await?;
    let mut dirs = BTreeMap::new();
    dirs.insert(
        "ctx".to_string(),
        LocalDir {
            path: src.to_path_buf(),
            excludes,
        },
    );
    let cfg = SessionConfig {
        name: "scratchc-test".into(),
        shared_key: unique(),
        dirs,
        exports: vec![sink],
        auth: true,
        ..SessionConfig::default()
    };
    solve_session(channel, cfg, def, exporter).await
}

/// Starts a session with `cfg`, solves `def(session id)` with one
/// `exporter`, and closes (or, on failure, aborts) the session.
async fn solve_session(
    channel: tonic::transport::Channel,
    cfg: SessionConfig,
    def: &(dyn Fn(&str) -> pb::Definition + Sync),
    exporter: &str,
) -> Result<(), ClientError> {
    let sess = session::start(channel.clone(), cfg).await?;
    let build_ref = unique();
    let req = SolveRequest {
        r#ref: build_ref.clone(),
        definition: Some(def(&sess.id)),
        exporter_deprecated: exporter.into(),
        session: sess.id.clone(),
        exporters: vec![Exporter {
            r#type: exporter.into(),
            attrs: BTreeMap::new(),
        }],
        ..SolveRequest::default()
    };
    // Collect the build's log lines, to show them when it fails.
    let mut status_client = control_client(channel.clone());
    let logs = tokio::spawn(async move {
        let mut out = String::new();
        let req = StatusRequest { r#ref: build_ref };
        if let Ok(resp) = status_client.status(req).await {
            let mut stream = resp.into_inner();
            while let Ok(Some(msg)) = stream.message().await {
                for l in msg.logs {
                    out.push_str(&String::from_utf8_lossy(&l.msg));
                }
            }
        }
        out
    });
    match control_client(channel).solve(req).await {
        Ok(_) => sess.close().await,
        Err(status) => {
            sess.abort().await;
            let logs = logs.await.unwrap_or_default();
            eprintln!("build logs:\n{logs}");
            Err(ClientError::rpc("Control.Solve", status))
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, u64, String),
    Link(String),
}

fn sha256_file(p: &Path) -> String {
    let mut f = std::fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Every entry below `root`: kind, permission bits, size and sha256.
fn tree(root: &Path) -> BTreeMap<String, Node> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let mode = m.permissions().mode() & 0o7777;
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, Node::Link(t.to_string_lossy().into_owned()));
            } else if m.is_dir() {
                out.insert(rel, Node::Dir(mode));
                go(root, &p, out);
            } else {
                out.insert(rel, Node::File(mode, m.len(), sha256_file(&p)));
            }
        }
    }
    let mut out = BTreeMap::new();
    go(root, root, &mut out);
    out
}

fn write(p: &Path, data: &[u8], mode: u32) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Many small files in nested dirs, odd names, modes, symlinks, an empty
/// dir, and (when `big`) a 128 MiB sparse file with data at both ends.
fn sample_tree(root: &Path, big: bool) {
    for d in 0..6 {
        for f in 0..40 {
            let p = root.join(format!("d{d}/sub{}/f{f}.txt", f % 3));
            write(
                &p,
                format!("file {d}/{f}\n").repeat(f + 1).as_bytes(),
                0o644,
            );
        }
    }
    write(&root.join("bin/tool"), b"#!/bin/sh\necho hi\n", 0o755);
    write(&root.join("private.key"), b"k", 0o600);
    write(&root.join("a.b/x"), b"dot dir", 0o644);
    write(&root.join("a/b"), b"slash sorts before dot", 0o644);
    write(&root.join("empty-file"), b"", 0o644);
    write(&root.join("spaced name ü.txt"), b"unicode", 0o644);
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    symlink("bin/tool", root.join("link-to-tool")).unwrap();
    std::fs::hard_link(root.join("bin/tool"), root.join("hardlink-to-tool")).unwrap();
    symlink("../nowhere", root.join("d0/dangling")).unwrap();
    if big {
        let p = root.join("big/sparse.bin");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(b"head").unwrap();
        f.set_len(128 << 20).unwrap();
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start((128 << 20) - 4)).unwrap();
        f.write_all(b"tail").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_export_round_trips_a_tree() {
    let src = tempfile::tempdir().unwrap();
    sample_tree(src.path(), true);
    let out_parent = tempfile::tempdir().unwrap();
    let out = out_parent.path().join("out");
    // An existing destination is merged into: what was there stays.
    write(&out.join("stale.txt"), b"old", 0o644);
    solve_local(
        &docker(),
        src.path(),
        vec![],
        &[],
        "local",
        ExportSink::Local(out.clone()),
    )
    .await
    .unwrap();
    let mut expected = tree(src.path());
    expected.insert(
        "stale.txt".into(),
        Node::File(0o644, 3, hex::encode(Sha256::digest(b"old"))),
    );
    assert_eq!(tree(&out), expected);
    // The sparse file stays sparse: its holes are not written.
    use std::os::unix::fs::MetadataExt;
    let big = std::fs::metadata(out.join("big/sparse.bin")).unwrap();
    assert_eq!(big.len(), 128 << 20);
    assert!(big.blocks() * 512 < 1 << 20, "{} blocks", big.blocks());
    // Hard links stay hard links, through the daemon and back.
    let ino = |p: &str| std::fs::metadata(out.join(p)).unwrap().ino();
    assert_eq!(ino("bin/tool"), ino("hardlink-to-tool"));
    // No staging leftovers beside the destination.
    let names: Vec<_> = std::fs::read_dir(out_parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out")]);
}

/// Thousands of small files: the daemon sends one small REQ per file,
/// faster than files are answered. Those REQs must be read as they arrive
/// (h2 ends a connection that leaves too many small DATA frames unread,
/// GOAWAY ENHANCE_YOUR_CALM, which once failed every context of more than
/// about 3,000 files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_files_round_trip() {
    let src = tempfile::tempdir().unwrap();
    for d in 0..40 {
        for f in 0..125 {
            let body = format!("file {d}/{f}\n").repeat(100);
            write(
                &src.path().join(format!("d{d}/sub/f{f}.txt")),
                body.as_bytes(),
                0o644,
            );
        }
    }
    let out_parent = tempfile::tempdir().unwrap();
    let out = out_parent.path().join("out");
    solve_local(
        &docker(),
        src.path(),
        vec![],
        &[],
        "local",
        ExportSink::Local(out.clone()),
    )
    .await
    .unwrap();
    assert_eq!(tree(&out), tree(src.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tar_export_round_trips_a_tree() {
    let src = tempfile::tempdir().unwrap();
    sample_tree(src.path(), false);
    let out = tempfile::tempdir().unwrap();
    let tar = out.path().join("nested/ctx.tar");
    solve_local(
        &docker(),
        src.path(),
        vec![],
        &[],
        "tar",
        ExportSink::Tar(tar.clone()),
    )
    .await
    .unwrap();
    let unpacked = out.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xpf")
        .arg(&tar)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(tree(&unpacked), tree(src.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dockerignore_and_request_patterns_filter_the_tree() {
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("main.go"), b"package main", 0o644);
    write(&src.path().join("debug.log"), b"x", 0o644);
    write(&src.path().join("keep.log"), b"kept by !", 0o644);
    write(&src.path().join("logs/old.log"), b"x", 0o644);
    write(&src.path().join("secret/key"), b"x", 0o600);
    write(&src.path().join("docs/a.md"), b"x", 0o644);
    write(&src.path().join("docs/keep/b.md"), b"x", 0o644);
    write(&src.path().join("tmp/x"), b"dropped by the request", 0o644);
    write(
        &src.path().join(".dockerignore"),
        b"# comment\n*.log\n**/*.log\n!keep.log\n/secret\ndocs\n!docs/keep\n",
        0o644,
    );
    let excludes = patterns::read_dockerignore(src.path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("out");
    let extra = [("local.excludepatterns", r#"["tmp"]"#.to_string())];
    solve_local(
        &docker(),
        src.path(),
        excludes,
        &extra,
        "local",
        ExportSink::Local(dest.clone()),
    )
    .await
    .unwrap();
    let got: Vec<String> = tree(&dest).into_keys().collect();
    assert_eq!(
        got,
        [
            ".dockerignore",
            "docs",
            "docs/keep",
            "docs/keep/b.md",
            "keep.log",
            "logs",
            "main.go"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_patterns_keep_parent_dirs() {
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("cmd/app/main.go"), b"package main", 0o644);
    write(&src.path().join("cmd/app/README"), b"x", 0o644);
    write(&src.path().join("go.mod"), b"module x", 0o644);
    write(&src.path().join("other/x.go"), b"x", 0o644);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("out");
    let extra = [(
        "local.includepattern",
        r#"["cmd/**/*.go","go.mod"]"#.to_string(),
    )];
    solve_local(
        &docker(),
        src.path(),
        vec![],
        &extra,
        "local",
        ExportSink::Local(dest.clone()),
    )
    .await
    .unwrap();
    let got: Vec<String> = tree(&dest).into_keys().collect();
    assert_eq!(got, ["cmd", "cmd/app", "cmd/app/main.go", "go.mod"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_build_leaves_no_output() {
    // A source attribute the daemon cannot parse fails the solve; the
    // destination and its directory stay free of partial output.
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("x"), b"x", 0o644);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("out.tar");
    let extra = [("local.followpaths", "not json".to_string())];
    let err = solve_local(
        &docker(),
        src.path(),
        vec![],
        &extra,
        "tar",
        ExportSink::Tar(dest.clone()),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Control.Solve"), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn missing_socket_names_the_address() {
    let ep = Endpoint::DockerUnix("/nonexistent/docker.sock".into());
    let err = connect(&ep).await.unwrap_err().to_string();
    assert!(err.contains("unix:///nonexistent/docker.sock"), "{err}");
    assert!(err.contains("No such file"), "{err}");
    let ep = Endpoint::BuildkitUnix("/nonexistent/buildkitd.sock".into());
    let err = connect(&ep).await.unwrap_err().to_string();
    assert!(
        err.contains("buildkitd at unix:///nonexistent/buildkitd.sock"),
        "{err}"
    );
}

#[tokio::test]
async fn docker_socket_that_is_not_docker_is_explained() {
    // A listener that answers HTTP but refuses the upgrade.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("fake.sock");
    let l = tokio::net::UnixListener::bind(&sock).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n")
                .await;
        }
    });
    let err = connect(&Endpoint::DockerUnix(sock))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("404 Not Found") && err.contains("not here"),
        "{err}"
    );
}

/// A stand-in for a standalone buildkitd: accepts prior-knowledge HTTP/2 on
/// a unix socket and forwards each connection to the Docker Engine's
/// BuildKit (after the `/grpc` upgrade), so the `unix://` path is tested
/// against the real daemon.
async fn buildkitd_proxy(sock: PathBuf) {
    let engine: &'static Path = &super::engine().socket;
    let l = tokio::net::UnixListener::bind(&sock).unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut up = tokio::net::UnixStream::connect(engine).await.unwrap();
                up.write_all(
                    b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
                )
                .await
                .unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    up.read_exact(&mut byte).await.unwrap();
                    head.push(byte[0]);
                }
                assert!(head.starts_with(b"HTTP/1.1 101"));
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_buildkitd_over_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("buildkitd.sock");
    buildkitd_proxy(sock.clone()).await;
    let src = tempfile::tempdir().unwrap();
    sample_tree(src.path(), false);
    let dest = dir.path().join("out");
    let ep = scratchc::client::resolve(
        Some(&format!("unix://{}", sock.display())),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(ep, Endpoint::BuildkitUnix(sock.clone()));
    solve_local(
        &ep,
        src.path(),
        vec![],
        &[],
        "local",
        ExportSink::Local(dest.clone()),
    )
    .await
    .unwrap();
    assert_eq!(tree(&dest), tree(src.path()));
}

/// Paths of a throwaway PKI: a CA, a server certificate for `localhost`
/// and a client certificate, all signed by the CA.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server: (Vec<u8>, Vec<u8>),
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn make_pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
    };
    let server = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let client = leaf(vec!["client".into()]);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    let client_cert = dir.path().join("cert.pem");
    let client_key = dir.path().join("key.pem");
    std::fs::write(&client_cert, &client.0).unwrap();
    std::fs::write(&client_key, &client.1).unwrap();
    Pki {
        _dir: dir,
        ca,
        server,
        client_cert,
        client_key,
    }
}

/// A stand-in for buildkitd on TCP with mutual TLS (ALPN h2), forwarding
/// to the Docker Engine's BuildKit like [`buildkitd_proxy`]. Returns the
/// port.
async fn buildkitd_tls_proxy(pki: &Pki) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(&pki.server.0).unwrap()],
            PrivateKeyDer::from_pem_slice(&pki.server.1).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let engine: &'static Path = &super::engine().socket;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut client) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut up = tokio::net::UnixStream::connect(engine).await.unwrap();
                up.write_all(
                    b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
                )
                .await
                .unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    up.read_exact(&mut byte).await.unwrap();
                    head.push(byte[0]);
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_buildkitd_over_tcp_with_mutual_tls() {
    let pki = make_pki();
    let port = buildkitd_tls_proxy(&pki).await;
    let tls = scratchc::client::TlsFiles {
        ca: Some(pki.ca.clone()),
        cert: Some(pki.client_cert.clone()),
        key: Some(pki.client_key.clone()),
    };
    let ep = scratchc::client::resolve(Some(&format!("tcp://localhost:{port}")), &tls).unwrap();
    let src = tempfile::tempdir().unwrap();
    sample_tree(src.path(), false);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("out");
    solve_local(
        &ep,
        src.path(),
        vec![],
        &[],
        "local",
        ExportSink::Local(dest.clone()),
    )
    .await
    .unwrap();
    assert_eq!(tree(&dest), tree(src.path()));

    // Verification is on: another CA's certificate is refused, by name.
    let other = make_pki();
    let wrong = scratchc::client::TlsFiles {
        ca: Some(other.ca.clone()),
        ..tls.clone()
    };
    let ep = scratchc::client::resolve(Some(&format!("tcp://localhost:{port}")), &wrong).unwrap();
    let err = connect(&ep).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("tcp://localhost:{port} (TLS)")),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // Without a client certificate the server refuses the handshake.
    let no_client = scratchc::client::TlsFiles {
        ca: Some(pki.ca.clone()),
        cert: None,
        key: None,
    };
    let ep =
        scratchc::client::resolve(Some(&format!("tcp://localhost:{port}")), &no_client).unwrap();
    // (With TLS 1.3 the refusal may come after the handshake: on first use.)
    let refused = match connect(&ep).await {
        Err(_) => true,
        Ok(ch) => control_client(ch)
            .list_workers(ListWorkersRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");
}

fn copy_all(input: i64, secondary: i64, output: i64, dest: &str) -> pb::FileAction {
    pb::FileAction {
        input,
        secondary_input: secondary,
        output,
        action: Some(pb::file_action::Action::Copy(pb::FileActionCopy {
            src: "/".into(),
            dest: dest.into(),
            mode: -1,
            timestamp: -1,
            dir_copy_contents: true,
            create_dest_path: true,
            ..pb::FileActionCopy::default()
        })),
    }
}

/// Two sources of the same local dir with different filters, copied into
/// `/a` and `/b` of one result: the daemon pulls both from the session
/// (concurrently when it can), each transfer with its own patterns.
fn two_filtered_sources(session_id: &str) -> pb::Definition {
    let (a, a_digest) = local_op(
        session_id,
        &[("local.includepattern", r#"["*.go"]"#.into())],
    );
    let (b, b_digest) = local_op(
        session_id,
        &[
            ("local.includepattern", r#"["docs"]"#.into()),
            ("local.excludepatterns", r#"["docs/draft*"]"#.into()),
        ],
    );
    let file = pb::Op {
        inputs: vec![
            pb::Input {
                digest: a_digest,
                index: 0,
            },
            pb::Input {
                digest: b_digest,
                index: 0,
            },
        ],
        op: Some(pb::op::Op::File(pb::FileOp {
            actions: vec![copy_all(-1, 0, -1, "/a"), copy_all(2, 1, 0, "/b")],
        })),
        ..pb::Op::default()
    }
    .encode_to_vec();
    let file_digest = format!("sha256:{}", hex::encode(Sha256::digest(&file)));
    let term = pb::Op {
        inputs: vec![pb::Input {
            digest: file_digest,
            index: 0,
        }],
        ..pb::Op::default()
    }
    .encode_to_vec();
    pb::Definition {
        def: vec![a, b, file, term],
        ..pb::Definition::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dir_sent_twice_with_different_filters() {
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("main.go"), b"package main", 0o644);
    write(&src.path().join("util.go"), b"package main", 0o644);
    write(&src.path().join("README"), b"x", 0o644);
    write(&src.path().join("docs/guide.md"), b"guide", 0o644);
    write(&src.path().join("docs/draft-1.md"), b"draft", 0o644);
    for i in 0..200 {
        write(&src.path().join(format!("docs/many/{i}.txt")), b"m", 0o644);
    }
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("out");
    solve_with(
        &docker(),
        src.path(),
        vec![],
        &two_filtered_sources,
        "local",
        ExportSink::Local(dest.clone()),
    )
    .await
    .unwrap();
    let got: Vec<String> = tree(&dest)
        .into_keys()
        .filter(|k| !k.starts_with("b/docs/many/"))
        .collect();
    assert_eq!(
        got,
        [
            "a",
            "a/main.go",
            "a/util.go",
            "b",
            "b/docs",
            "b/docs/guide.md",
            "b/docs/many"
        ]
    );
    assert_eq!(
        std::fs::read_dir(dest.join("b/docs/many")).unwrap().count(),
        200
    );
}

fn digest_of(op: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(op)))
}

/// The local Go image (no registry is reachable) running `script` with a
/// file secret mounted at /run/secrets/f (id `secret_id`) and the secret
/// `env` as $TOKEN; /out (output 1) is the result.
fn secret_definition(secret_id: &str, script: &str) -> pb::Definition {
    let platform = Some(pb::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        ..pb::Platform::default()
    });
    let mut attrs = BTreeMap::new();
    attrs.insert("image.resolvemode".to_string(), "local".to_string());
    let image = pb::Op {
        op: Some(pb::op::Op::Source(pb::SourceOp {
            identifier: "docker-image://docker.io/library/golang:1.24".into(),
            attrs,
        })),
        platform: platform.clone(),
        ..pb::Op::default()
    }
    .encode_to_vec();
    let mount = |input: i64, dest: &str, output: i64| pb::Mount {
        input,
        dest: dest.into(),
        output,
        ..pb::Mount::default()
    };
    let exec = pb::Op {
        inputs: vec![pb::Input {
            digest: digest_of(&image),
            index: 0,
        }],
        op: Some(pb::op::Op::Exec(pb::ExecOp {
            meta: Some(pb::Meta {
                args: vec!["/bin/sh".into(), "-c".into(), script.into()],
                env: vec!["PATH=/usr/bin:/bin".into()],
                cwd: "/".into(),
                ..pb::Meta::default()
            }),
            mounts: vec![
                // A root without an output is mounted read-only, and the
                // daemon then cannot bind /etc/hosts: keep it writable.
                mount(0, "/", 0),
                mount(-1, "/out", 1),
                pb::Mount {
                    mount_type: pb::MountType::Secret as i32,
                    secret_opt: Some(pb::SecretOpt {
                        id: secret_id.into(),
                        mode: 0o400,
                        ..pb::SecretOpt::default()
                    }),
                    ..mount(-1, "/run/secrets/f", -1)
                },
            ],
            secretenv: vec![pb::SecretEnv {
                id: "env".into(),
                name: "TOKEN".into(),
                optional: false,
            }],
            ..pb::ExecOp::default()
        })),
        platform,
        ..pb::Op::default()
    }
    .encode_to_vec();
    let term = pb::Op {
        inputs: vec![pb::Input {
            digest: digest_of(&exec),
            index: 1,
        }],
        ..pb::Op::default()
    }
    .encode_to_vec();
    pb::Definition {
        def: vec![image, exec, term],
        ..pb::Definition::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_the_build_from_files_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("token.txt");
    std::fs::write(&secret_file, "s3cr3t-from-file").unwrap();
    let mut secrets = BTreeMap::new();
    secrets.insert("f".to_string(), SecretSource::File(secret_file));
    // HOME is set in every test environment; its value is the "secret".
    secrets.insert("env".to_string(), SecretSource::Env("HOME".into()));
    let dest = dir.path().join("out");
    let cfg = |dest: &Path| SessionConfig {
        name: "scratchc-test".into(),
        shared_key: unique(),
        secrets: secrets.clone(),
        exports: vec![ExportSink::Local(dest.to_path_buf())],
        ..SessionConfig::default()
    };
    // A unique comment keeps the exec out of the cache.
    let script = format!(
        "cat /run/secrets/f > /out/f && printf %s \"$TOKEN\" > /out/e # {}",
        unique()
    );
    let def = |_: &str| secret_definition("f", &script);
    solve_session(connect(&docker()).await.unwrap(), cfg(&dest), &def, "local")
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dest.join("f")).unwrap(),
        "s3cr3t-from-file"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("e")).unwrap(),
        std::env::var("HOME").unwrap()
    );

    // A secret the session does not have fails the build (NotFound).
    let dest2 = dir.path().join("out2");
    let def = |_: &str| secret_definition("absent", &script);
    let err = solve_session(
        connect(&docker()).await.unwrap(),
        cfg(&dest2),
        &def,
        "local",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("absent"), "{err}");
    assert!(!dest2.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_destination_fails_the_build_and_names_it() {
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("x"), b"x", 0o644);
    let dest = PathBuf::from("/dev/null/out");
    let err = solve_local(
        &docker(),
        src.path(),
        vec![],
        &[],
        "local",
        ExportSink::Local(dest),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("/dev/null"), "{err}");
}
