//! Unix `st_mode` to Go's `os.FileMode` and back: fsutil's Stat.mode is a
//! Go FileMode (permission bits low, type and special bits high).

pub const MODE_DIR: u32 = 1 << 31;
pub const MODE_SYMLINK: u32 = 1 << 27;
pub const MODE_DEVICE: u32 = 1 << 26;
pub const MODE_NAMED_PIPE: u32 = 1 << 25;
pub const MODE_SOCKET: u32 = 1 << 24;
pub const MODE_SETUID: u32 = 1 << 23;
pub const MODE_SETGID: u32 = 1 << 22;
pub const MODE_CHAR_DEVICE: u32 = 1 << 21;
pub const MODE_STICKY: u32 = 1 << 20;
/// Every type bit: a mode with none of them is a regular file.
pub const MODE_TYPE: u32 =
    MODE_DIR | MODE_SYMLINK | MODE_DEVICE | MODE_NAMED_PIPE | MODE_SOCKET | MODE_CHAR_DEVICE;

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFIFO: u32 = 0o010_000;
const S_IFSOCK: u32 = 0o140_000;

/// Go FileMode of a Unix `st_mode`.
pub fn to_go(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    m |= match st_mode & S_IFMT {
        S_IFDIR => MODE_DIR,
        S_IFLNK => MODE_SYMLINK,
        S_IFBLK => MODE_DEVICE,
        S_IFCHR => MODE_DEVICE | MODE_CHAR_DEVICE,
        S_IFIFO => MODE_NAMED_PIPE,
        S_IFSOCK => MODE_SOCKET,
        _ => 0,
    };
    if st_mode & 0o4000 != 0 {
        m |= MODE_SETUID;
    }
    if st_mode & 0o2000 != 0 {
        m |= MODE_SETGID;
    }
    if st_mode & 0o1000 != 0 {
        m |= MODE_STICKY;
    }
    m
}

/// Unix permission bits (with setuid, setgid, sticky) of a Go FileMode.
pub fn perm_bits(go: u32) -> u32 {
    let mut m = go & 0o777;
    if go & MODE_SETUID != 0 {
        m |= 0o4000;
    }
    if go & MODE_SETGID != 0 {
        m |= 0o2000;
    }
    if go & MODE_STICKY != 0 {
        m |= 0o1000;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_permissions_and_types() {
        assert_eq!(to_go(0o040_755), MODE_DIR | 0o755);
        assert_eq!(to_go(0o120_777), MODE_SYMLINK | 0o777);
        assert_eq!(to_go(0o104_755), MODE_SETUID | 0o755);
        assert_eq!(to_go(0o020_666), MODE_DEVICE | MODE_CHAR_DEVICE | 0o666);
        assert_eq!(perm_bits(to_go(0o107_755)), 0o7755);
        assert_eq!(to_go(0o100_644) & MODE_TYPE, 0);
    }
}
