//! What a build leaves on this machine, and the formats it is read back
//! in: where outputs may be written (`destination`) and how a file is
//! replaced whole (`atomic`); OCI layout directories (`ocilayout`, the
//! local cache store) and tarballs (`tarball`); two layouts compared
//! (`ocidiff`, for `verify`); an image's attestations found again in a
//! layout, a tarball, the Engine's `docker save` or a plain-HTTP registry
//! (`images`, over `engine` and `http1`); and the ELF check of a produced
//! binary (`elf`), on byte ranges the caller reads.
//!
//! Nothing here speaks the BuildKit protocol; [`super::buildkit`] calls
//! in (the session's file send and content store, the binary check).

pub mod atomic;
pub mod destination;
pub mod elf;
pub mod engine;
pub mod http1;
pub mod images;
pub mod ocidiff;
pub mod ocilayout;
pub mod tarball;
