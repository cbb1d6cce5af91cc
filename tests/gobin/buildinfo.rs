//! Build info read by scratchc equals `go version -m`, on every layout.

use std::convert::Infallible;
use std::path::Path;

use scratchc::gobin::{self, ByteRange, GoBinary, ReadStats};

use crate::go::{Build, go_version_m, nm_functions};

/// Reads a file the way the build does: through ranged reads.
pub fn inspect_ranged(path: &Path) -> (GoBinary, ReadStats) {
    let bytes = std::fs::read(path).unwrap();
    let read = |r: ByteRange| {
        let data = bytes[r.offset as usize..(r.offset + r.len) as usize].to_vec();
        async move { Ok::<_, Infallible>(data) }
    };
    let (verdict, stats) =
        futures::executor::block_on(gobin::inspect_with(bytes.len() as u64, read))
            .unwrap_or_else(|e| match e {});
    (verdict.unwrap(), stats)
}

/// scratchc's rendering of the build info equals the go command's, read
/// both ways (whole file and ranged).
fn assert_same_as_go(path: &Path) -> gobin::BuildInfo {
    let bytes = std::fs::read(path).unwrap();
    let whole = gobin::build_info(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shown = path.display().to_string();
    assert_eq!(whole.go_version_m(&shown), go_version_m(path), "{shown}");
    let (ranged, _) = inspect_ranged(path);
    assert_eq!(ranged.build_info.as_ref(), Ok(&whole));
    whole
}

/// 32/64-bit, little/big endian: amd64, arm64, arm (v7), 386, s390x,
/// ppc64 (big-endian) and mips (32-bit big-endian).
#[test]
fn build_info_equals_go_version_m_on_every_layout() {
    let builds = [
        Build::new("deps", ".").stripped(),
        Build::new("deps", ".").arch("arm64").stripped(),
        Build::new("deps", ".")
            .arch("arm")
            .env("GOARM", "7")
            .stripped(),
        Build::new("deps", ".")
            .arch("386")
            .env("GO386", "softfloat"),
        Build::new("deps", ".").arch("s390x").stripped(),
        Build::new("deps", ".").arch("ppc64"),
        Build::new("deps", ".")
            .arch("mips")
            .env("GOMIPS", "softfloat")
            .stripped(),
    ];
    for b in builds {
        let bi = assert_same_as_go(&b.path());
        assert_eq!(bi.setting("GOARCH"), Some(b.goarch));
        assert_eq!(bi.path, "example.com/deps");
        // Vendored dependencies carry versions, no sums.
        let deps: Vec<(&str, &str, &str)> = bi
            .deps
            .iter()
            .map(|d| {
                (
                    d.path.as_str(),
                    d.version.as_str(),
                    d.effective().path.as_str(),
                )
            })
            .collect();
        assert_eq!(
            deps,
            vec![
                ("example.org/greet", "v1.2.3", "example.org/greet"),
                ("example.org/local", "v0.0.0", "./local"),
                ("example.org/old", "v1.0.0", "example.org/new"),
            ]
        );
        assert!(bi.deps.iter().all(|d| d.effective().sum.is_empty()));
    }
}

/// Module mode (a file:// proxy made from tests/fixtures/gobin/modules)
/// gives real `h1:` sums: the same as go.sum holds.
#[test]
fn dependency_sums_match_go_sum() {
    let mut b = Build::new("deps", ".").stripped();
    b.proxy = true;
    let bi = assert_same_as_go(&b.path());
    let go_sum = std::fs::read_to_string("tests/fixtures/gobin/deps/go.sum").unwrap();
    let mut sums = 0;
    for d in &bi.deps {
        let m = d.effective();
        if m.version.starts_with('v') {
            let line = format!("{} {} {}", m.path, m.version, m.sum);
            assert!(go_sum.lines().any(|l| l == line), "{line} not in go.sum");
            assert!(m.sum.starts_with("h1:"));
            sums += 1;
        }
    }
    assert_eq!(sums, 2, "{bi:?}");
}

/// Settings the go command quotes (-ldflags with spaces and quotes), tags,
/// -buildmode=pie, and the vcs.* settings of a git checkout.
#[test]
fn settings_ldflags_tags_pie_and_vcs() {
    let ldflags = Build::new("needs", "./cmd/plain").flags(&[
        "-ldflags=-s -w -X \"main.version=1.0 beta\" -X main.tag=a\\tb",
        "-tags=netgo,osusergo,timetzdata",
    ]);
    let bi = assert_same_as_go(&ldflags.path());
    assert_eq!(
        bi.setting("-ldflags"),
        Some("-s -w -X \"main.version=1.0 beta\" -X main.tag=a\\tb")
    );
    assert_eq!(bi.tags(), vec!["netgo", "osusergo", "timetzdata"]);

    let pie = Build::new("needs", "./cmd/tz").flags(&["-buildmode=pie"]);
    let path = pie.path();
    let bi = assert_same_as_go(&path);
    assert_eq!(bi.setting("-buildmode"), Some("pie"));
    // The function table lives in .data.rel.ro.gopclntab here.
    let (g, _) = inspect_ranged(&path);
    assert!(g.functions.unwrap().contains("time.LoadLocation"));

    let mut git = Build::new("needs", "./cmd/plain");
    git.git = true;
    let bi = assert_same_as_go(&git.path());
    assert_eq!(bi.setting("vcs"), Some("git"));
    assert_eq!(bi.setting("vcs.time"), Some("2024-05-01T10:00:00Z"));
    assert_eq!(bi.setting("vcs.modified"), Some("false"));
    assert_eq!(bi.setting("vcs.revision").map(str::len), Some(40));
}

/// Every function `go tool nm` lists is in the name table, and stripping
/// (`-s -w`, which drops .symtab) changes no name.
#[test]
fn function_names_equal_go_tool_nm_and_survive_stripping() {
    for arch in ["amd64", "arm"] {
        let full = Build::new("needs", "./cmd/all").arch(arch).path();
        let stripped = Build::new("needs", "./cmd/all")
            .arch(arch)
            .stripped()
            .path();
        let names = gobin::functions(&std::fs::read(&full).unwrap()).unwrap();
        // nm spells assembly functions with their ABI (`.abi0`) and the
        // middle dot of compiler-made names as `.` (`type:.eq.T·1`); the
        // table holds the plain names. Linker markers are no functions.
        let table: std::collections::HashSet<String> =
            names.iter().map(|n| n.replace('·', ".")).collect();
        let markers = ["go:buildid", "runtime.etext", "runtime.text"];
        let missing: Vec<String> = nm_functions(&full)
            .into_iter()
            .filter(|n| !markers.contains(&n.as_str()))
            .filter(|n| !table.contains(n.strip_suffix(".abi0").unwrap_or(n)))
            .collect();
        assert!(
            missing.is_empty(),
            "{arch}: nm names not in .gopclntab: {missing:?}"
        );
        assert!(names.len() > 5000, "{arch}: only {} names", names.len());
        let s = gobin::functions(&std::fs::read(&stripped).unwrap()).unwrap();
        assert_eq!(
            s.iter()
                .filter(|n| !n.starts_with("main."))
                .collect::<Vec<_>>(),
            names
                .iter()
                .filter(|n| !n.starts_with("main."))
                .collect::<Vec<_>>(),
            "{arch}"
        );
    }
}

/// What reading a stripped HTTP server through ranged reads costs: four
/// round trips, a few percent of the file. Printed for docs/runtime-needs.md.
#[test]
fn ranged_reads_of_a_stripped_server_are_few_and_small() {
    for (arch, b) in [
        ("amd64", Build::new("needs", "./cmd/server").stripped()),
        (
            "arm64",
            Build::new("needs", "./cmd/server").arch("arm64").stripped(),
        ),
        ("amd64", Build::new("needs", "./cmd/plain").stripped()),
    ] {
        let path = b.path();
        let size = std::fs::metadata(&path).unwrap().len();
        let (g, stats) = inspect_ranged(&path);
        assert!(g.build_info.is_ok() && g.functions.is_ok());
        let (_, bi_stats) =
            futures::executor::block_on(gobin::build_info_with(size, |r: ByteRange| {
                let bytes = std::fs::read(&path).unwrap();
                async move {
                    Ok::<_, Infallible>(
                        bytes[r.offset as usize..(r.offset + r.len) as usize].to_vec(),
                    )
                }
            }))
            .unwrap_or_else(|e| match e {});
        println!(
            "{} ({arch}, {size} bytes): everything: {} rounds, {} reads, {} bytes ({:.1}%); \
             build info alone: {} rounds, {} bytes",
            b.package,
            stats.rounds,
            stats.reads,
            stats.bytes,
            stats.bytes as f64 * 100.0 / size as f64,
            bi_stats.rounds,
            bi_stats.bytes
        );
        assert!(stats.rounds <= 4, "{stats:?}");
        assert!(stats.bytes * 10 < size, "{stats:?} of {size}");
        assert!(bi_stats.rounds <= 3, "{bi_stats:?}");
    }
}

/// Garbled real binaries: random bytes written over the places the
/// readers look (headers, section table, build info, the function table's
/// header), and cuts anywhere: errors or answers, never a panic, never
/// more than the bounded reads, the same whole and ranged.
#[test]
fn garbled_real_binaries_fail_cleanly() {
    let path = Build::new("needs", "./cmd/tz").stripped().path();
    let good = std::fs::read(&path).unwrap();
    let elf = |name: &str| -> (usize, usize) {
        let out = std::process::Command::new("readelf")
            .args(["-SW"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap();
        let f: Vec<&str> = line.split(']').nth(1).unwrap().split_whitespace().collect();
        (
            usize::from_str_radix(f[3], 16).unwrap(),
            usize::from_str_radix(f[4], 16).unwrap(),
        )
    };
    let (bi, bi_len) = elf(".go.buildinfo");
    let (pcln, _) = elf(".gopclntab");
    let (shstr, shstr_len) = elf(".shstrtab");
    let hot = [(0, 4096), (bi, bi_len), (pcln, 96), (shstr, shstr_len)];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let start = std::time::Instant::now();
    let (mut answered, mut failed) = (0, 0);
    for round in 0..400 {
        let mut bytes = good.clone();
        if round % 10 == 9 {
            bytes.truncate(next() as usize % bytes.len());
        } else {
            for _ in 0..1 + next() % 4 {
                let (at, len) = hot[next() as usize % hot.len()];
                let i = at + next() as usize % len.max(1);
                bytes[i] = next() as u8;
            }
        }
        let whole = gobin::inspect(&bytes);
        let ranged = {
            let read = |r: ByteRange| {
                let data = bytes
                    .get(r.offset as usize..(r.offset + r.len) as usize)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                async move { Ok::<_, Infallible>(data) }
            };
            futures::executor::block_on(gobin::inspect_with(bytes.len() as u64, read))
                .unwrap_or_else(|e| match e {})
        };
        assert!(ranged.1.rounds <= 12, "round {round}: {:?}", ranged.1);
        assert_eq!(ranged.0, whole, "round {round}");
        match whole {
            Ok(g) if g.build_info.is_ok() && g.functions.is_ok() => answered += 1,
            _ => failed += 1,
        }
    }
    println!(
        "garbled: {answered} still read, {failed} refused, in {:?}",
        start.elapsed()
    );
    assert!(failed > 0 && answered > 0);
    assert!(start.elapsed() < std::time::Duration::from_secs(120));
}
