//! Context transfer alone: a raw `Control.Solve` of a `local://ctx` source
//! with a fresh `local.unique` and session shared key on every run, so the
//! daemon's transfer cache never applies and every byte of the tree crosses
//! the session. No exporter and no other op: the time is the session's
//! walk, the daemon's receive and its snapshot of the tree.
//!
//! Usage (the Docker Engine must be running; see scripts/bench-transfer.sh):
//!   cargo bench --bench transfer -- DIR [RUNS]
//! Prints one line per run (seconds, MB/s) and the mean.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use prost::Message;
use scratchc::client::buildkit::session::{self, LocalDir, SessionConfig};
use scratchc::client::{Endpoint, connect, control_client};
use scratchc::proto::moby::buildkit::v1::SolveRequest;
use scratchc::proto::pb;
use sha2::{Digest, Sha256};

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn definition(session_id: &str) -> pb::Definition {
    let mut attrs = BTreeMap::new();
    attrs.insert("local.session".to_string(), session_id.to_string());
    attrs.insert("local.sharedkeyhint".to_string(), "ctx".to_string());
    attrs.insert("local.unique".to_string(), unique());
    let src = pb::Op {
        op: Some(pb::op::Op::Source(pb::SourceOp {
            identifier: "local://ctx".into(),
            attrs,
        })),
        ..pb::Op::default()
    }
    .encode_to_vec();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&src)));
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

fn tree_bytes(p: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        if m.is_dir() {
            n += tree_bytes(&e.path());
        } else {
            n += m.len();
        }
    }
    n
}

async fn once(ep: &Endpoint, dir: &Path) {
    let channel = connect(ep).await.unwrap();
    let mut dirs = BTreeMap::new();
    dirs.insert(
        "ctx".to_string(),
        LocalDir {
            path: dir.to_path_buf(),
            excludes: Vec::new(),
        },
    );
    let cfg = SessionConfig {
        name: "scratchc-bench".into(),
        shared_key: unique(),
        dirs,
        ..SessionConfig::default()
    };
    let sess = session::start(channel.clone(), cfg).await.unwrap();
    let req = SolveRequest {
        r#ref: unique(),
        definition: Some(definition(&sess.id)),
        session: sess.id.clone(),
        ..SolveRequest::default()
    };
    control_client(channel).solve(req).await.unwrap();
    sess.close().await.unwrap();
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; keep only our positional arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: transfer DIR [RUNS]");
        return;
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let ep = Endpoint::DockerUnix("/var/run/docker.sock".into());
    let mb = tree_bytes(&dir) as f64 / 1e6;
    let mut total = 0.0;
    for i in 0..runs {
        let t = Instant::now();
        once(&ep, &dir).await;
        let s = t.elapsed().as_secs_f64();
        total += s;
        println!("run {i}: {s:.3} s, {:.1} MB/s ({mb:.1} MB)", mb / s);
    }
    println!("mean: {:.3} s", total / runs as f64);
}
