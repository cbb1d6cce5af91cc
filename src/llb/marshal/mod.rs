//! Graph to `pb.Definition`: post-order from the result, each op marshaled
//! once and keyed by `sha256:<hex>` of its bytes, then the terminal op that
//! names the result. Everything is ordered (inputs by first use, maps as
//! BTreeMaps), so the same graph always gives the same bytes.
//!
//! Here: the walk, the digests, the definition's metadata and source map
//! (as a prost message, or written straight to bytes with `wire`). Each
//! node's own op, its caps and its byte order are in `ops`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use prost::Message;
use sha2::{Digest as _, Sha256};

use super::caps::Caps;
use super::graph::{Graph, LlbError, NodeId, Output, SourceRange, node_inputs};
use super::wire;
use crate::proto::pb;

mod ops;

use ops::encode;
pub use ops::op_bytes;

/// One source file for the source map (`pb.SourceInfo`), borrowed: the
/// text is copied once, into the encoded definition, and only when an op
/// of the definition points into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceFileInfo<'a> {
    pub filename: &'a str,
    pub data: &'a [u8],
    /// E.g. `scratch`; shown by tools that highlight sources.
    pub language: &'a str,
}

/// `"sha256:" + hex(sha256(bytes))`, BuildKit's op digest.
pub fn digest(bytes: &[u8]) -> String {
    Digest::of(bytes).to_string()
}

/// An op digest, kept as its 32 bytes while marshaling: the text form is
/// written only where the output holds it, straight from `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Digest([u8; 32]);

impl Digest {
    fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// `sha256:<hex>`. Hex digits sort as the bytes do, so a map keyed by
    /// `Digest` iterates in the order of prost's maps keyed by this text.
    fn text(&self) -> [u8; 71] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 71];
        let (prefix, hex) = out.split_at_mut(7);
        prefix.copy_from_slice(b"sha256:");
        for (pair, b) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        out
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// Marshals results of one graph. Each op is encoded and hashed once,
/// however many of the results depend on it: the platforms of one app
/// share their builder, dependency and context ops.
pub struct Marshaler<'g> {
    graph: &'g Graph,
    /// Each node's op, once marshaled, by node id.
    ops: Vec<Option<Op>>,
}

/// One node marshaled: what every definition that holds it repeats.
struct Op {
    digest: Digest,
    bytes: Vec<u8>,
    /// The caps the op itself needs (its metadata included).
    caps: Caps,
}

/// The part of a graph that a result depends on, marshaled but not yet
/// written out: the op bytes in definition order, the terminal op's last,
/// and what the metadata and the source map say of each distinct digest.
struct Walk<'a> {
    def: Vec<&'a [u8]>,
    terminal: Vec<u8>,
    ops: BTreeMap<Digest, OpInfo<'a>>,
}

/// The metadata and source locations of one op digest (two nodes may
/// marshal to the same bytes: theirs are merged).
#[derive(Default)]
struct OpInfo<'a> {
    /// `llb.customname`, the name shown in progress output.
    name: Option<&'a str>,
    ignore_cache: bool,
    caps: Caps,
    /// Sorted, without duplicates, once the walk is done.
    locations: Vec<SourceRange>,
}

impl OpInfo<'_> {
    /// The op's ranges in the files that are embedded, grouped by file:
    /// (`source_index`, ranges), in file order. `used` lists the files
    /// (indices into the caller's list) in embedding order.
    fn located<'a>(&'a self, used: &'a [usize]) -> impl Iterator<Item = (i32, &'a [SourceRange])> {
        self.locations
            .chunk_by(|a, b| a.file == b.file)
            .filter_map(|ranges| {
                let pos = used.binary_search(&ranges.first()?.file).ok()?;
                Some((i32::try_from(pos).unwrap_or(i32::MAX), ranges))
            })
    }
}

impl Walk<'_> {
    /// Every op, the terminal one last.
    fn def(&self) -> impl Iterator<Item = &[u8]> {
        self.def
            .iter()
            .copied()
            .chain(std::iter::once(self.terminal.as_slice()))
    }

    /// The files some op points into (indices into `files`), in index
    /// order: the definition embeds these, and only these.
    fn used_files(&self, files: &[SourceFileInfo<'_>]) -> Vec<usize> {
        self.ops
            .values()
            .flat_map(|op| op.locations.iter().map(|r| r.file))
            .filter(|&f| f < files.len())
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .collect()
    }
}

/// Marshals the part of `graph` that `result` depends on. `files` are the
/// source files that node locations index into; only those that some op
/// points into are embedded (in their order), so a definition carries the
/// text it was made from and nothing else.
pub fn marshal(
    graph: &Graph,
    result: Output,
    files: &[SourceFileInfo<'_>],
) -> Result<pb::Definition, LlbError> {
    Marshaler::new(graph).definition(result, files)
}

/// `marshal(..).encode_to_vec()`, written directly: see
/// [`Marshaler::bytes`].
pub fn marshal_bytes(
    graph: &Graph,
    result: Output,
    files: &[SourceFileInfo<'_>],
) -> Result<Vec<u8>, LlbError> {
    Marshaler::new(graph).bytes(result, files)
}

impl<'g> Marshaler<'g> {
    pub fn new(graph: &'g Graph) -> Self {
        Marshaler {
            graph,
            ops: graph.nodes().iter().map(|_| None).collect(),
        }
    }

    /// [`marshal`]: the plain prost message, which [`Marshaler::bytes`]
    /// encodes without building it.
    pub fn definition(
        &mut self,
        result: Output,
        files: &[SourceFileInfo<'_>],
    ) -> Result<pb::Definition, LlbError> {
        let walk = self.walk(result)?;
        let used = walk.used_files(files);
        let mut def = pb::Definition {
            def: walk.def().map(<[u8]>::to_vec).collect(),
            ..Default::default()
        };
        let mut locations = BTreeMap::new();
        for (dgst, op) in &walk.ops {
            let md = pb::OpMetadata {
                ignore_cache: op.ignore_cache,
                description: op
                    .name
                    .map(|n| ("llb.customname".to_string(), n.to_string()))
                    .into_iter()
                    .collect(),
                caps: op.caps.names().map(|c| (c.to_string(), true)).collect(),
                ..Default::default()
            };
            def.metadata.insert(dgst.to_string(), md);
            let list: Vec<pb::Location> = op
                .located(&used)
                .map(|(source_index, ranges)| pb::Location {
                    source_index,
                    ranges: ranges.iter().map(range).collect(),
                })
                .collect();
            if !list.is_empty() {
                locations.insert(dgst.to_string(), pb::Locations { locations: list });
            }
        }
        if !used.is_empty() {
            def.source = Some(pb::Source {
                locations,
                infos: used
                    .iter()
                    .filter_map(|&i| files.get(i))
                    .map(|f| pb::SourceInfo {
                        filename: f.filename.to_string(),
                        data: f.data.to_vec(),
                        definition: None,
                        language: f.language.to_string(),
                    })
                    .collect(),
            });
        }
        Ok(def)
    }

    /// Marshals and encodes to bytes: exactly
    /// `definition(..).encode_to_vec()`, written straight from the walk
    /// (`wire`): no owned copy of the metadata, and the source texts go
    /// from `files` into the output, once (with a file of 1,000 apps
    /// those copies were most of the time spent per target).
    pub fn bytes(
        &mut self,
        result: Output,
        files: &[SourceFileInfo<'_>],
    ) -> Result<Vec<u8>, LlbError> {
        let walk = self.walk(result)?;
        let used = walk.used_files(files);
        let mut buf = Vec::new();
        // pb.Definition: def = 1, metadata = 2, source = 3.
        for op in walk.def() {
            wire::element(1, op, &mut buf);
        }
        for (dgst, op) in &walk.ops {
            wire::message(2, &mut buf, |entry| {
                wire::bytes(1, &dgst.text(), entry);
                wire::map_value(entry, |md| op_metadata(op, md));
            });
        }
        if used.is_empty() {
            return Ok(buf);
        }
        // pb.Source: locations = 1, then infos = 2, whose length is known
        // before the texts are written, so they are written once, in place.
        let infos: Vec<&SourceFileInfo<'_>> = used.iter().filter_map(|&i| files.get(i)).collect();
        let infos_len: usize = infos
            .iter()
            .map(|f| wire::message_len(2, source_info_len(f)))
            .sum();
        let start = buf.len();
        for (dgst, op) in &walk.ops {
            if op.located(&used).next().is_some() {
                wire::message(1, &mut buf, |entry| {
                    wire::bytes(1, &dgst.text(), entry);
                    wire::map_value(entry, |locs| op_locations(op, &used, locs));
                });
            }
        }
        wire::header_before(3, start, infos_len, &mut buf);
        // The output is allocated once, at its size: the texts are most of
        // it, and growing it would copy what is already written to fresh
        // memory.
        let mut out = Vec::with_capacity(buf.len() + infos_len);
        out.extend_from_slice(&buf);
        for f in infos {
            wire::header(2, source_info_len(f), &mut out);
            source_info(f, &mut out);
        }
        Ok(out)
    }

    /// Marshals every op that `result` depends on (post-order), then the
    /// terminal op that names it.
    fn walk(&mut self, result: Output) -> Result<Walk<'_>, LlbError> {
        if !self.graph.has_output(result) {
            return Err(LlbError::DanglingOutput {
                node: result.node,
                target: result.node,
                index: result.index,
            });
        }
        let mut order = Vec::new();
        let mut seen = vec![false; self.ops.len()];
        let top = self.visit(result.node, &mut order, &mut seen)?;
        let terminal = pb::Op {
            inputs: vec![pb::Input {
                digest: top.to_string(),
                index: i64::from(result.index),
            }],
            ..Default::default()
        }
        .encode_to_vec();

        let mut walk = Walk {
            def: Vec::with_capacity(order.len()),
            terminal: Vec::new(),
            ops: BTreeMap::new(),
        };
        // Every cap of every op, for the terminal op.
        let mut all_caps = Caps::default();
        for id in order {
            let (Some(node), Some(Some(op))) = (self.graph.node(id), self.ops.get(id)) else {
                continue;
            };
            all_caps.extend(op.caps);
            let info = match walk.ops.entry(op.digest) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    walk.def.push(&op.bytes);
                    e.insert(OpInfo::default())
                }
            };
            if let Some(name) = &node.meta.name {
                info.name = Some(name);
            }
            info.ignore_cache |= node.meta.ignore_cache;
            info.caps.extend(op.caps);
            info.locations.extend(&node.meta.locations);
        }
        for info in walk.ops.values_mut() {
            info.locations.sort_unstable();
            info.locations.dedup();
        }
        // The terminal op carries the union of the caps, as Go's client does.
        walk.ops.insert(
            Digest::of(&terminal),
            OpInfo {
                caps: all_caps,
                ..Default::default()
            },
        );
        walk.terminal = terminal;
        Ok(walk)
    }

    /// Reaches `id` after its inputs: appends those not yet `seen` to
    /// `order` (post-order), marshaling each unless an earlier walk did;
    /// returns its digest.
    fn visit(
        &mut self,
        id: NodeId,
        order: &mut Vec<NodeId>,
        seen: &mut [bool],
    ) -> Result<Digest, LlbError> {
        if let (Some(true), Some(Some(op))) = (seen.get(id), self.ops.get(id)) {
            return Ok(op.digest);
        }
        let graph = self.graph;
        let node = graph.node(id).ok_or(LlbError::DanglingOutput {
            node: id,
            target: id,
            index: 0,
        })?;
        let inputs = node_inputs(&node.body);
        let mut digests = Vec::with_capacity(inputs.len());
        for o in &inputs {
            // Inputs were checked when the node was added and point at
            // earlier nodes, so this recursion terminates.
            digests.push(self.visit(o.node, order, seen)?);
        }
        if let Some(s) = seen.get_mut(id) {
            *s = true;
        }
        order.push(id);
        if let Some(Some(op)) = self.ops.get(id) {
            return Ok(op.digest);
        }
        let op = encode(node, &inputs, &digests);
        let digest = op.digest;
        if let Some(slot) = self.ops.get_mut(id) {
            *slot = Some(op);
        }
        Ok(digest)
    }
}

/// A `pb.OpMetadata` body: ignore_cache = 1, description = 2, caps = 5.
fn op_metadata(op: &OpInfo<'_>, buf: &mut Vec<u8>) {
    wire::boolean(1, op.ignore_cache, buf);
    if let Some(name) = op.name {
        wire::message(2, buf, |entry| {
            wire::bytes(1, b"llb.customname", entry);
            wire::bytes(2, name.as_bytes(), entry);
        });
    }
    for cap in op.caps.names() {
        wire::message(5, buf, |entry| {
            wire::bytes(1, cap.as_bytes(), entry);
            wire::boolean(2, true, entry);
        });
    }
}

/// A `pb.Locations` body: one `pb.Location` (source_index = 1, ranges = 2)
/// per embedded file the op points into.
fn op_locations(op: &OpInfo<'_>, used: &[usize], buf: &mut Vec<u8>) {
    for (source_index, ranges) in op.located(used) {
        wire::message(1, buf, |loc| {
            wire::int32(1, source_index, loc);
            for r in ranges {
                let r = range(r);
                wire::message(2, loc, |b| {
                    for (tag, p) in [(1, r.start), (2, r.end)] {
                        if let Some(p) = p {
                            wire::message(tag, b, |b| {
                                wire::int32(1, p.line, b);
                                wire::int32(2, p.character, b);
                            });
                        }
                    }
                });
            }
        });
    }
}

/// A `pb.SourceInfo` body: filename = 1, data = 2, language = 4
/// (`definition` unset).
fn source_info(f: &SourceFileInfo<'_>, buf: &mut Vec<u8>) {
    wire::bytes(1, f.filename.as_bytes(), buf);
    wire::bytes(2, f.data, buf);
    wire::bytes(4, f.language.as_bytes(), buf);
}

fn source_info_len(f: &SourceFileInfo<'_>) -> usize {
    wire::bytes_len(1, f.filename.as_bytes())
        + wire::bytes_len(2, f.data)
        + wire::bytes_len(4, f.language.as_bytes())
}

fn range(r: &SourceRange) -> pb::Range {
    let pos = |line: u32| pb::Position {
        line: i32::try_from(line).unwrap_or(i32::MAX),
        character: 0,
    };
    pb::Range {
        start: Some(pos(r.start_line)),
        end: Some(pos(r.end_line)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::llb::{FileAction, FileOp, LocalOpts, Meta};
    use crate::platform::Platform;

    fn graph() -> (Graph, Output) {
        let mut g = Graph::new();
        let at = |file, line| Meta {
            name: Some("x".into()),
            locations: vec![SourceRange {
                file,
                start_line: line,
                end_line: line + 1,
            }],
            ..Meta::default()
        };
        let a = g.local("context", &LocalOpts::default(), at(2, 3)).unwrap();
        let opts = LocalOpts {
            include: vec!["go.mod".into()],
            ..LocalOpts::default()
        };
        // Not an input of the result: its file is not embedded.
        g.local("context", &opts, at(0, 1)).unwrap();
        let op = FileOp {
            base: None,
            timestamp: None,
            actions: vec![FileAction::Copy {
                from: Some(a),
                src: "/a".into(),
                dest: "/b".into(),
                opts: Default::default(),
            }],
        };
        let out = g.file(op, at(2, 7)).unwrap();
        (g, out)
    }

    /// Nodes that marshal to the same bytes share one op and one metadata
    /// entry, merged; metadata without a name, an empty name, a file index
    /// past the list: `wire` still writes what prost writes.
    #[test]
    fn merged_metadata_is_encoded_as_prost_does() {
        let mut g = Graph::new();
        let range = |file, line| SourceRange {
            file,
            start_line: line,
            end_line: line,
        };
        let first = Meta {
            name: Some("first".into()),
            locations: vec![range(3, 1), range(1, 4), range(9, 1)],
            ..Meta::default()
        };
        let again = Meta {
            ignore_cache: true,
            locations: vec![range(1, 4), range(1, 2)],
            ..Meta::default()
        };
        let a = g.local("context", &LocalOpts::default(), first).unwrap();
        let b = g.local("context", &LocalOpts::default(), again).unwrap();
        let unnamed = Meta {
            name: Some(String::new()),
            ..Meta::default()
        };
        let img = g
            .image(
                "docker.io/library/alpine:3",
                Platform::linux_amd64(),
                None,
                unnamed,
            )
            .unwrap();
        let out = g.merge(vec![img, a, b], Meta::default()).unwrap();
        let files: Vec<SourceFileInfo<'_>> = ["a", "b", "", "d"]
            .into_iter()
            .map(|name| SourceFileInfo {
                filename: name,
                data: name.as_bytes(),
                language: "",
            })
            .collect();
        let def = marshal(&g, out, &files).unwrap();
        assert_eq!(marshal_bytes(&g, out, &files).unwrap(), def.encode_to_vec());
        // Two sources, the merge and the terminal op.
        assert_eq!(def.def.len(), 4);
        let local = def
            .metadata
            .values()
            .find(|m| {
                m.description
                    .get("llb.customname")
                    .is_some_and(|n| n == "first")
            })
            .unwrap();
        assert!(local.ignore_cache);
        let infos = &def.source.unwrap().infos;
        let names: Vec<&str> = infos.iter().map(|i| i.filename.as_str()).collect();
        assert_eq!(names, ["b", "d"]);
    }

    /// The top-level field numbers of an encoded message, in order.
    fn tags(mut b: &[u8]) -> Vec<u32> {
        use prost::encoding::{WireType, decode_key, skip_field};
        let mut out = Vec::new();
        while !b.is_empty() {
            let (tag, wt) = decode_key(&mut b).unwrap();
            assert_eq!(wt, WireType::LengthDelimited);
            out.push(tag);
            skip_field(wt, tag, &mut b, Default::default()).unwrap();
        }
        out
    }

    /// An op as Go's protobuf writes it, byte for byte (the bytes BuildKit
    /// 0.18+ digests): inputs, platform, constraints, and the oneof last.
    #[test]
    fn op_bytes_put_the_oneof_last_as_go_does() {
        let op = pb::Op {
            inputs: vec![pb::Input {
                digest: "sha256:ab".into(),
                index: 1,
            }],
            op: Some(pb::op::Op::Source(pb::SourceOp {
                identifier: "x".into(),
                attrs: BTreeMap::new(),
            })),
            platform: Some(pb::Platform {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..Default::default()
            }),
            constraints: Some(pb::WorkerConstraints::default()),
        };
        let mut want = vec![0x0a, 13, 0x0a, 9];
        want.extend(b"sha256:ab");
        want.extend([0x10, 1, 0x52, 14, 0x0a, 5]);
        want.extend(b"amd64");
        want.extend([0x12, 5]);
        want.extend(b"linux");
        want.extend([0x5a, 0, 0x1a, 3, 0x0a, 1, b'x']);
        let got = op_bytes(&op);
        assert_eq!(got, want);
        // The same message: only the order differs from prost's.
        assert_eq!(pb::Op::decode(got.as_slice()).unwrap(), op);
        assert_eq!(tags(&op.encode_to_vec()), [1, 3, 10, 11]);
        assert_eq!(got.len(), op.encode_to_vec().len());
    }

    /// Every op a graph marshals is in Go's order (the terminal op has no
    /// oneof, so both orders agree on it).
    #[test]
    fn marshaled_ops_have_the_oneof_last() {
        let (g, out) = graph();
        let def = marshal(&g, out, &[]).unwrap();
        let (terminal, ops) = def.def.split_last().unwrap();
        assert_eq!(tags(terminal), [1]);
        for op in ops {
            let t = tags(op);
            let oneof = t.iter().position(|&n| (2..=8).contains(&n)).unwrap();
            assert_eq!(oneof, t.len() - 1, "{t:?}");
            assert!(t[..oneof].windows(2).all(|w| w[0] <= w[1]), "{t:?}");
            assert_eq!(op_bytes(&pb::Op::decode(op.as_slice()).unwrap()), *op);
        }
    }

    /// The fast encoder writes what prost writes for the full message, and
    /// only the files that an op of the result points into are embedded.
    #[test]
    fn bytes_are_the_encoded_definition() {
        let (g, out) = graph();
        let text = "line 1\nline 2\n".repeat(50);
        let files = [
            SourceFileInfo {
                filename: "unused.scratch",
                data: b"not used",
                language: "scratch",
            },
            SourceFileInfo {
                filename: "also-unused",
                data: b"",
                language: "",
            },
            SourceFileInfo {
                filename: "app.scratch",
                data: text.as_bytes(),
                language: "scratch",
            },
        ];
        let def = marshal(&g, out, &files).unwrap();
        let bytes = marshal_bytes(&g, out, &files).unwrap();
        assert_eq!(bytes, def.encode_to_vec());
        let source = def.source.unwrap();
        assert_eq!(source.infos.len(), 1);
        assert_eq!(source.infos[0].filename, "app.scratch");
        assert!(
            source
                .locations
                .values()
                .flat_map(|l| &l.locations)
                .all(|l| l.source_index == 0)
        );
        // No files: no source map at all.
        let bare = marshal_bytes(&g, out, &[]).unwrap();
        assert!(
            pb::Definition::decode(bare.as_slice())
                .unwrap()
                .source
                .is_none()
        );
    }
}
