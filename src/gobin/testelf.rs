//! Hand-made Go-like ELF files for the unit tests: the headers, a
//! `.gopclntab` with a name table, a `.go.buildinfo` in either format, and
//! the section names, in any word size and byte order. Only the fields the
//! readers use are filled in. Real Go binaries are tested in
//! `tests/gobin/`.

/// The sentinels the go command wraps the module info in (the values do
/// not matter to the reader, only their length).
const SENTINEL: [u8; 16] = [0x5a; 16];

pub struct FakeGo {
    pub ptr: u8,
    pub big: bool,
    /// Go 1.18+ inline strings; pointers otherwise.
    pub inline: bool,
    pub version: String,
    /// The module info text (unwrapped).
    pub modinfo: String,
    pub names: Vec<String>,
    /// Section headers present (otherwise the build info is found by
    /// scanning the data segment, and there is no function table).
    pub sections: bool,
}

impl FakeGo {
    pub fn new(ptr: u8, big: bool, inline: bool) -> Self {
        FakeGo {
            ptr,
            big,
            inline,
            version: "go1.24.4".into(),
            modinfo: "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
                      dep\texample.org/lib\tv1.2.3\th1:abc=\n\
                      build\t-ldflags=\"-s -w\"\nbuild\tCGO_ENABLED=0\n"
                .into(),
            names: vec![
                "main.main".into(),
                "runtime.main".into(),
                "time.LoadLocation".into(),
            ],
            sections: true,
        }
    }

    fn put(&self, out: &mut Vec<u8>, at: usize, v: u64, width: usize) {
        let bytes = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        let slice = if self.big {
            &bytes[8 - width..]
        } else {
            &bytes[..width]
        };
        if out.len() < at + width {
            out.resize(at + width, 0);
        }
        out[at..at + width].copy_from_slice(slice);
    }

    fn word(&self, out: &mut Vec<u8>, at: usize, v: u64) {
        self.put(out, at, v, usize::from(self.ptr));
    }

    fn append(out: &mut Vec<u8>, at: usize, bytes: &[u8]) {
        if out.len() < at + bytes.len() {
            out.resize(at + bytes.len(), 0);
        }
        out[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn pclntab(&self) -> Vec<u8> {
        let p = usize::from(self.ptr);
        let head = 8 + 8 * p;
        let mut t = Vec::new();
        self.put(&mut t, 0, 0xffff_fff1, 4);
        t.extend([0, 0, 1, self.ptr]);
        let names: Vec<u8> = self
            .names
            .iter()
            .flat_map(|n| [n.as_bytes(), b"\0"].concat())
            .collect();
        let from = head as u64;
        let to = from + names.len() as u64;
        let words = [self.names.len() as u64, 1, 0x401000, from, to, to, to, to];
        for (i, w) in words.iter().enumerate() {
            self.word(&mut t, 8 + i * p, *w);
        }
        t.extend(names);
        t
    }

    pub fn bytes(&self) -> Vec<u8> {
        let wide = self.ptr == 8;
        let p = usize::from(self.ptr);
        let (ehsize, phentsize, shentsize) = if wide { (64, 56, 64) } else { (52, 32, 40) };
        let text_vaddr = 0x40_0000u64;
        let pcln_off = 0x1000usize;
        let pcln = self.pclntab();
        let data_off = (pcln_off + pcln.len()).div_ceil(0x1000) * 0x1000;
        let data_vaddr = 0x60_0000u64 + data_off as u64;

        // The build info section.
        let mut wrapped = SENTINEL.to_vec();
        wrapped.extend(self.modinfo.as_bytes());
        wrapped.extend(SENTINEL);
        let mut bi = b"\xff Go buildinf:".to_vec();
        bi.push(self.ptr);
        bi.push(if self.inline { 2 } else { u8::from(self.big) });
        bi.resize(32, 0);
        if self.inline {
            for s in [self.version.as_bytes(), &wrapped] {
                let mut n = s.len() as u64;
                loop {
                    let b = (n & 0x7f) as u8;
                    n >>= 7;
                    if n == 0 {
                        bi.push(b);
                        break;
                    }
                    bi.push(b | 0x80);
                }
                bi.extend(s);
            }
        } else {
            // Header pointers to two string headers right after it, and
            // those to the bytes after them.
            let hdrs = 32;
            let strs = hdrs + 4 * p;
            let v_addr = data_vaddr + strs as u64;
            let m_addr = v_addr + self.version.len() as u64;
            self.word(&mut bi, 16, data_vaddr + hdrs as u64);
            self.word(&mut bi, 16 + p, data_vaddr + (hdrs + 2 * p) as u64);
            self.word(&mut bi, hdrs, v_addr);
            self.word(&mut bi, hdrs + p, self.version.len() as u64);
            self.word(&mut bi, hdrs + 2 * p, m_addr);
            self.word(&mut bi, hdrs + 3 * p, wrapped.len() as u64);
            Self::append(&mut bi, strs, self.version.as_bytes());
            Self::append(&mut bi, strs + self.version.len(), &wrapped);
        }

        let shstr = b"\0.gopclntab\0.go.buildinfo\0.shstrtab\0".to_vec();
        let shstr_off = data_off + bi.len();

        let mut out = vec![0u8; ehsize];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = if wide { 2 } else { 1 };
        out[5] = if self.big { 2 } else { 1 };
        out[6] = 1;
        self.put(&mut out, 16, 2, 2);
        self.put(&mut out, 18, if wide { 62 } else { 40 }, 2);
        let phoff = ehsize;
        let shoff = 0x200usize;
        if wide {
            self.put(&mut out, 32, phoff as u64, 8);
            self.put(
                &mut out,
                40,
                if self.sections { shoff as u64 } else { 0 },
                8,
            );
        } else {
            self.put(&mut out, 28, phoff as u64, 4);
            self.put(
                &mut out,
                32,
                if self.sections { shoff as u64 } else { 0 },
                4,
            );
        }
        let at = if wide { 54 } else { 42 };
        self.put(&mut out, at, phentsize as u64, 2);
        self.put(&mut out, at + 2, 2, 2);
        self.put(&mut out, at + 4, shentsize as u64, 2);
        self.put(&mut out, at + 6, if self.sections { 4 } else { 0 }, 2);
        self.put(&mut out, at + 8, 3, 2);

        // Program headers: text (R+X) and data (R+W).
        let segs = [
            (5u64, 0usize, text_vaddr, pcln_off + pcln.len()),
            (6, data_off, data_vaddr, bi.len()),
        ];
        for (i, (flags, off, vaddr, size)) in segs.iter().enumerate() {
            let e = phoff + i * phentsize;
            self.put(&mut out, e, 1, 4);
            if wide {
                self.put(&mut out, e + 4, *flags, 4);
                self.put(&mut out, e + 8, *off as u64, 8);
                self.put(&mut out, e + 16, *vaddr, 8);
                self.put(&mut out, e + 32, *size as u64, 8);
                self.put(&mut out, e + 40, *size as u64, 8);
            } else {
                self.put(&mut out, e + 4, *off as u64, 4);
                self.put(&mut out, e + 8, *vaddr, 4);
                self.put(&mut out, e + 16, *size as u64, 4);
                self.put(&mut out, e + 20, *size as u64, 4);
                self.put(&mut out, e + 24, *flags, 4);
            }
        }

        if self.sections {
            // (name offset, type, addr, offset, size)
            let secs = [
                (0u64, 0u64, 0u64, 0usize, 0usize),
                (1, 1, text_vaddr + pcln_off as u64, pcln_off, pcln.len()),
                (12, 1, data_vaddr, data_off, bi.len()),
                (26, 3, 0, shstr_off, shstr.len()),
            ];
            for (i, (name, kind, addr, off, size)) in secs.iter().enumerate() {
                let e = shoff + i * shentsize;
                self.put(&mut out, e, *name, 4);
                self.put(&mut out, e + 4, *kind, 4);
                if wide {
                    self.put(&mut out, e + 16, *addr, 8);
                    self.put(&mut out, e + 24, *off as u64, 8);
                    self.put(&mut out, e + 32, *size as u64, 8);
                } else {
                    self.put(&mut out, e + 12, *addr, 4);
                    self.put(&mut out, e + 16, *off as u64, 4);
                    self.put(&mut out, e + 20, *size as u64, 4);
                }
            }
        }
        Self::append(&mut out, pcln_off, &pcln);
        Self::append(&mut out, data_off, &bi);
        if self.sections {
            Self::append(&mut out, shstr_off, &shstr);
        }
        out
    }
}
