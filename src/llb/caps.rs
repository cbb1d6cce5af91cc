//! The BuildKit API caps an op can need, declared in the definition's
//! metadata so an old daemon fails up front with a clear message instead
//! of ignoring a field. They are a fixed set: an enum, and a set of them is
//! a bitset, which every op and every definition builds without
//! allocating.

/// Declares `Cap` from its names, which must be in order: the order of the
/// variants is the order of the caps maps (checked by a test).
macro_rules! caps {
    ($($cap:ident = $name:literal,)*) => {
        /// A cap, by its name in the BuildKit API.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Cap {
            $($cap,)*
        }

        impl Cap {
            /// Every cap, in name order.
            pub const ALL: &[Cap] = &[$(Cap::$cap,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Cap::$cap => $name,)*
                }
            }
        }
    };
}

caps! {
    ExecMetaBase = "exec.meta.base",
    ExecMetaNetwork = "exec.meta.network",
    ExecMountBind = "exec.mount.bind",
    ExecMountCache = "exec.mount.cache",
    ExecMountCacheSharing = "exec.mount.cache.sharing",
    ExecMountSecret = "exec.mount.secret",
    ExecMountSelector = "exec.mount.selector",
    ExecMountSsh = "exec.mount.ssh",
    ExecMountTmpfs = "exec.mount.tmpfs",
    ExecMountTmpfsSize = "exec.mount.tmpfs.size",
    ExecSecretEnv = "exec.secretenv",
    FileBase = "file.base",
    FileCopyIncludeExcludePatterns = "file.copy.includeexcludepatterns",
    FileRmWildcard = "file.rm.wildcard",
    FileSymlinkCreate = "file.symlink.create",
    MergeOp = "mergeop",
    MetaDescription = "meta.description",
    MetaIgnoreCache = "meta.ignorecache",
    Platform = "platform",
    SourceGit = "source.git",
    SourceHttp = "source.http",
    SourceImage = "source.image",
    SourceImageResolveMode = "source.image.resolvemode",
    SourceLocal = "source.local",
    SourceLocalDiffer = "source.local.differ",
    SourceLocalExcludePatterns = "source.local.excludepatterns",
    SourceLocalFollowPaths = "source.local.followpaths",
    SourceLocalIncludePatterns = "source.local.includepatterns",
    SourceLocalSessionId = "source.local.sessionid",
    SourceLocalSharedKeyHint = "source.local.sharedkeyhint",
    SourceLocalUnique = "source.local.unique",
}

/// A set of caps: one bit per `Cap`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps(u32);

const _: () = assert!(Cap::ALL.len() <= 32, "one bit per cap");

impl Caps {
    pub fn insert(&mut self, cap: Cap) {
        self.0 |= bit(cap);
    }

    /// Adds every cap of `other`.
    pub fn extend(&mut self, other: Caps) {
        self.0 |= other.0;
    }

    /// The names of the caps in the set, in name order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Cap::ALL
            .iter()
            .filter(move |c| self.0 & bit(**c) != 0)
            .map(|c| c.name())
    }
}

fn bit(cap: Cap) -> u32 {
    1 << cap as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_in_name_order() {
        let names: Vec<&str> = Cap::ALL.iter().map(|c| c.name()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        // Every variant is in ALL, at its own place.
        assert!(Cap::ALL.iter().enumerate().all(|(i, c)| *c as usize == i));
        let mut set = Caps::default();
        set.insert(Cap::Platform);
        set.insert(Cap::ExecMetaBase);
        set.insert(Cap::Platform);
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["exec.meta.base", "platform"]
        );
    }
}
