//! Unit tests of the ELF check on small hand-made ELF files. The check on
//! real Go binaries (all three target architectures, built by the Go
//! toolchain image) is in `tests/daemon/repro.rs`.

use super::*;

/// A hand-made ELF file: header, program headers, then the payloads they
/// point at. Only the fields the check reads are filled in.
struct Blob {
    class: Class,
    endian: Endian,
    machine: u16,
    kind: u16,
    interp: Option<&'static str>,
    needed: Vec<&'static str>,
    /// A PT_DYNAMIC with no DT_NEEDED (static-pie).
    empty_dynamic: bool,
}

impl Blob {
    fn new(class: Class, machine: u16) -> Self {
        Blob {
            class,
            endian: Endian::Little,
            machine,
            kind: 2,
            interp: None,
            needed: Vec::new(),
            empty_dynamic: false,
        }
    }

    fn put(&self, out: &mut Vec<u8>, at: usize, v: u64, width: usize) {
        let bytes = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        let slice = match self.endian {
            Endian::Little => &bytes[..width],
            Endian::Big => &bytes[8 - width..],
        };
        if out.len() < at + width {
            out.resize(at + width, 0);
        }
        out[at..at + width].copy_from_slice(slice);
    }

    fn word(&self) -> usize {
        match self.class {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let (ehsize, phentsize) = match self.class {
            Class::Elf32 => (52usize, 32usize),
            Class::Elf64 => (64, 56),
        };
        // Segments: one PT_LOAD mapping the whole file at vaddr 0x10000,
        // then PT_INTERP and PT_DYNAMIC when asked for.
        let dynamic = self.empty_dynamic || !self.needed.is_empty();
        let phnum = 1 + usize::from(self.interp.is_some()) + usize::from(dynamic);
        let payload = ehsize + phnum * phentsize;
        let mut out = vec![0u8; payload];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = if self.class == Class::Elf32 { 1 } else { 2 };
        out[5] = if self.endian == Endian::Little { 1 } else { 2 };
        out[6] = 1;
        self.put(&mut out, 16, u64::from(self.kind), 2);
        self.put(&mut out, 18, u64::from(self.machine), 2);
        self.put(&mut out, 20, 1, 4);
        match self.class {
            Class::Elf32 => {
                self.put(&mut out, 28, ehsize as u64, 4);
                self.put(&mut out, 40, ehsize as u64, 2);
                self.put(&mut out, 42, phentsize as u64, 2);
                self.put(&mut out, 44, phnum as u64, 2);
            }
            Class::Elf64 => {
                self.put(&mut out, 32, ehsize as u64, 8);
                self.put(&mut out, 52, ehsize as u64, 2);
                self.put(&mut out, 54, phentsize as u64, 2);
                self.put(&mut out, 56, phnum as u64, 2);
            }
        }
        // Payloads after the table.
        let mut segs: Vec<(u32, u64, u64)> = Vec::new(); // (type, offset, filesz)
        if let Some(path) = self.interp {
            let off = out.len();
            out.extend_from_slice(path.as_bytes());
            out.push(0);
            segs.push((PT_INTERP, off as u64, (path.len() + 1) as u64));
        }
        if dynamic {
            let strtab = out.len();
            let mut name_offs = Vec::new();
            out.push(0);
            for n in &self.needed {
                name_offs.push((out.len() - strtab) as u64);
                out.extend_from_slice(n.as_bytes());
                out.push(0);
            }
            while out.len() % 8 != 0 {
                out.push(0);
            }
            let dyn_off = out.len();
            let w = self.word();
            let mut entries: Vec<(u64, u64)> = name_offs.iter().map(|o| (DT_NEEDED, *o)).collect();
            entries.push((DT_STRTAB, 0x10000 + strtab as u64));
            entries.push((DT_NULL, 0));
            for (i, (tag, val)) in entries.iter().enumerate() {
                let at = dyn_off + i * 2 * w;
                self.put(&mut out, at, *tag, w);
                self.put(&mut out, at + w, *val, w);
            }
            segs.push((PT_DYNAMIC, dyn_off as u64, (entries.len() * 2 * w) as u64));
        }
        let total = out.len() as u64;
        segs.insert(0, (PT_LOAD, 0, total));
        for (i, (kind, off, filesz)) in segs.iter().enumerate() {
            let at = ehsize + i * phentsize;
            self.put(&mut out, at, u64::from(*kind), 4);
            let vaddr = 0x10000 + off;
            match self.class {
                Class::Elf32 => {
                    self.put(&mut out, at + 4, *off, 4);
                    self.put(&mut out, at + 8, vaddr, 4);
                    self.put(&mut out, at + 16, *filesz, 4);
                }
                Class::Elf64 => {
                    self.put(&mut out, at + 8, *off, 8);
                    self.put(&mut out, at + 16, vaddr, 8);
                    self.put(&mut out, at + 32, *filesz, 8);
                }
            }
        }
        out
    }
}

fn p(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

#[test]
fn accepts_static_binaries_of_each_target() {
    for (plat, class, machine) in [
        ("linux/amd64", Class::Elf64, 62),
        ("linux/arm64", Class::Elf64, 183),
        ("linux/arm/v7", Class::Elf32, 40),
        ("linux/386", Class::Elf32, 3),
        ("linux/riscv64", Class::Elf64, 243),
    ] {
        let info = check(&Blob::new(class, machine).bytes(), &p(plat)).unwrap();
        assert_eq!(info.machine, machine, "{plat}");
        assert_eq!(info.interpreter, None);
        assert!(!info.dynamic);
    }
}

#[test]
fn accepts_big_endian_s390x() {
    let mut b = Blob::new(Class::Elf64, 22);
    b.endian = Endian::Big;
    check(&b.bytes(), &p("linux/s390x")).unwrap();
    // The same bytes in little-endian order are not s390x.
    b.endian = Endian::Little;
    assert!(matches!(
        check(&b.bytes(), &p("linux/s390x")),
        Err(ElfProblem::WrongArch { .. })
    ));
}

#[test]
fn refuses_an_amd64_binary_in_the_arm64_image() {
    let err = check(&Blob::new(Class::Elf64, 62).bytes(), &p("linux/arm64")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "is a 64-bit little-endian x86-64 (EM_X86_64) binary, but the platform needs \
         64-bit little-endian AArch64 (EM_AARCH64)"
    );
    let full = BinaryCheckError {
        platform: p("linux/arm64"),
        path: "/usr/bin/hello".into(),
        problem: err,
    };
    insta::assert_snapshot!(full.to_string(), @r"
    linux/arm64: /usr/bin/hello is a 64-bit little-endian x86-64 (EM_X86_64) binary, but the platform needs 64-bit little-endian AArch64 (EM_AARCH64)
      help: cross-compile for the target: set GOOS/GOARCH (and GOARM) from ${TARGETOS}/${TARGETARCH}/${TARGETVARIANT} in the build environment
    ");
}

#[test]
fn refuses_a_64_bit_arm_binary_for_arm_v7() {
    // Right family, wrong class: an arm64 binary in the arm/v7 image.
    let err = check(&Blob::new(Class::Elf64, 183).bytes(), &p("linux/arm/v7")).unwrap_err();
    assert!(matches!(err, ElfProblem::WrongArch { .. }), "{err}");
    // And a 32-bit file claiming EM_X86_64 is not amd64 either.
    let err = check(&Blob::new(Class::Elf32, 62).bytes(), &p("linux/amd64")).unwrap_err();
    assert!(
        err.to_string().contains("32-bit little-endian x86-64"),
        "{err}"
    );
}

#[test]
fn refuses_a_dynamic_loader() {
    let mut b = Blob::new(Class::Elf64, 62);
    b.interp = Some("/lib64/ld-linux-x86-64.so.2");
    b.needed = vec!["libc.so.6"];
    let err = check(&b.bytes(), &p("linux/amd64")).unwrap_err();
    assert_eq!(
        err,
        ElfProblem::Interpreter {
            path: "/lib64/ld-linux-x86-64.so.2".into()
        }
    );
    assert_eq!(
        err.hint(),
        "link statically: for Go, build with CGO_ENABLED=0"
    );
}

#[test]
fn refuses_needed_libraries_without_an_interpreter() {
    for class in [Class::Elf32, Class::Elf64] {
        let machine = if class == Class::Elf32 { 40 } else { 183 };
        let plat = if class == Class::Elf32 {
            "linux/arm/v7"
        } else {
            "linux/arm64"
        };
        let mut b = Blob::new(class, machine);
        b.kind = 3;
        b.needed = vec!["libc.so.6", "libpthread.so.0"];
        let err = check(&b.bytes(), &p(plat)).unwrap_err();
        assert_eq!(
            err,
            ElfProblem::NeedsLibraries {
                libs: vec!["libc.so.6".into(), "libpthread.so.0".into()]
            },
            "{plat}"
        );
    }
}

#[test]
fn accepts_static_pie() {
    // ET_DYN with a PT_DYNAMIC but no DT_NEEDED: `-buildmode=pie` with
    // `-linkmode=internal`, or musl's static-pie.
    let mut b = Blob::new(Class::Elf64, 62);
    b.kind = 3;
    b.empty_dynamic = true;
    let info = check(&b.bytes(), &p("linux/amd64")).unwrap();
    assert!(info.dynamic);
    assert!(info.needed.is_empty());
}

#[test]
fn refuses_non_elf_and_truncated_files() {
    let err = check(b"#!/bin/sh\necho hi\n", &p("linux/amd64")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "is not an ELF executable (it starts with \"#!/b\")"
    );
    assert!(matches!(
        check(b"", &p("linux/amd64")),
        Err(ElfProblem::NotElf { .. })
    ));
    let whole = Blob::new(Class::Elf64, 62).bytes();
    let err = check(&whole[..40], &p("linux/amd64")).unwrap_err();
    assert_eq!(err, ElfProblem::Truncated { what: "ELF header" });
    let err = check(&whole[..80], &p("linux/amd64")).unwrap_err();
    assert_eq!(
        err,
        ElfProblem::Truncated {
            what: "program header table"
        }
    );
}

#[test]
fn refuses_object_files() {
    let mut b = Blob::new(Class::Elf64, 62);
    b.kind = 1;
    assert_eq!(
        check(&b.bytes(), &p("linux/amd64")),
        Err(ElfProblem::NotExecutable { kind: 1 })
    );
}

#[test]
fn asks_for_ranges_it_has_not_got() {
    // A file larger than one read, with the dynamic section past 4 KiB.
    let mut b = Blob::new(Class::Elf64, 183);
    b.interp = Some("/lib/ld-linux-aarch64.so.1");
    let mut bytes = b.bytes();
    // Move nothing, just check the loop with a view fed piece by piece.
    bytes.resize(10_000, 0);
    let mut view = FileView::new(bytes.len() as u64);
    let mut reads = 0;
    let info = loop {
        match inspect(&view).unwrap() {
            Progress::Done(info) => break info,
            Progress::Need(r) => {
                reads += 1;
                let r = view.widen(r);
                let (from, to) = (r.offset as usize, (r.offset + r.len) as usize);
                view.insert(r.offset, bytes[from..to].to_vec());
            }
        }
    };
    assert_eq!(reads, 1, "header, table and interpreter fit in one read");
    assert_eq!(
        info.interpreter.as_deref(),
        Some("/lib/ld-linux-aarch64.so.1")
    );
}

#[test]
fn async_driver_reads_ranges() {
    let bytes = Blob::new(Class::Elf32, 40).bytes();
    let mut seen = Vec::new();
    let plat = p("linux/arm/v7");
    let fut = inspect_with(bytes.len() as u64, &plat, |r| {
        seen.push(r);
        let data = bytes[r.offset as usize..(r.offset + r.len) as usize].to_vec();
        async move { Ok::<_, std::convert::Infallible>(data) }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let verdict = rt.block_on(fut).unwrap();
    assert!(verdict.is_ok(), "{verdict:?}");
    assert_eq!(
        seen,
        vec![ByteRange {
            offset: 0,
            len: bytes.len() as u64
        }]
    );
}

#[test]
fn unknown_arch_is_an_error_not_a_pass() {
    let plat = Platform::new("linux", "sparc64", None);
    assert_eq!(
        check(&Blob::new(Class::Elf64, 43).bytes(), &plat),
        Err(ElfProblem::UnknownArch {
            arch: "sparc64".into()
        })
    );
}

/// A real static Go binary, when the test machine has one. The daemon tests
/// build fresh ones for every target; this one only needs a host binary
/// that is known to be static and x86-64 (qemu's user-mode emulators are).
#[test]
fn real_static_binary_on_the_host() {
    let path = std::path::Path::new("/usr/bin/qemu-aarch64-static");
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    if cfg!(target_arch = "x86_64") {
        let info = check(&bytes, &p("linux/amd64")).unwrap();
        assert_eq!(info.machine, 62);
        assert!(check(&bytes, &p("linux/arm64")).is_err());
    }
}

/// And a real dynamically linked one: the host's shell.
#[test]
fn real_dynamic_binary_on_the_host() {
    let Ok(bytes) = std::fs::read("/bin/sh") else {
        return;
    };
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        let err = check(&bytes, &p("linux/amd64")).unwrap_err();
        assert!(
            matches!(err, ElfProblem::Interpreter { .. }),
            "/bin/sh should ask for a loader: {err}"
        );
    }
}
