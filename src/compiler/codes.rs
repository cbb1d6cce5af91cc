//! Every diagnostic code scratchc gives, listed once.
//!
//! A code is stable: users search for it, scripts match it, and
//! docs/errors.md has a `## CODE` section for each one, in the order of
//! [`Code::ALL`] (tests/compile.rs checks both ways). Its text is
//! `scratch::` and its id (`scratch::E0101`), as miette shows it and as the
//! frontend hands it to buildx. The severity is the code's own: `E` codes
//! are errors, `W` codes warnings or notes; only `strict` raises a warning
//! to an error, and it does so on the diagnostic ([`super::Diag::severity`]),
//! not on the code.
//!
//! Removing or renumbering a code breaks users; a new kind of problem gets
//! a new code, its section in docs/errors.md and a fixture or a test.

use std::fmt;

/// How much a diagnostic weighs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Information the user may act on (miette's "advice").
    Note,
    Warning,
    #[default]
    Error,
}

/// Writes the enum, its list and its lookups from one table, so a code
/// cannot be in one and missing from another.
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident = $id:literal, $severity:ident;)*) => {
        /// A diagnostic code (see the module docs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $name,)*
        }

        impl Code {
            /// Every code, in the order of docs/errors.md.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code without its prefix, as docs/errors.md heads its
            /// section: `E0101`.
            pub const fn id(self) -> &'static str {
                match self {
                    $(Code::$name => $id,)*
                }
            }

            /// The code as users see it: `scratch::E0101`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => concat!("scratch::", $id),)*
                }
            }

            /// How much a diagnostic of this code weighs.
            pub const fn severity(self) -> Severity {
                match self {
                    $(Code::$name => Severity::$severity,)*
                }
            }
        }
    };
}

codes! {
    /// syntax error
    Syntax = "E0001", Error;
    /// unknown escape
    UnknownEscape = "E0002", Error;
    /// stray `$` or malformed `${...}`
    StrayDollar = "E0003", Error;
    /// unknown key
    UnknownKey = "E0100", Error;
    /// key set twice in one block
    DuplicateKey = "E0101", Error;
    /// wrong number of values
    Arity = "E0102", Error;
    /// not allowed here
    NotHere = "E0103", Error;
    /// section where a statement belongs (or the reverse)
    Section = "E0104", Error;
    /// invalid value
    BadValue = "E0110", Error;
    /// path must be absolute
    NotAbsolute = "E0111", Error;
    /// bad build-context path
    ContextPath = "E0112", Error;
    /// bad user
    BadUser = "E0113", Error;
    /// malformed image reference
    BadImage = "E0114", Error;
    /// malformed digest
    BadDigest = "E0115", Error;
    /// malformed platform
    BadPlatform = "E0116", Error;
    /// platform listed twice
    DuplicatePlatform = "E0117", Error;
    /// unknown variable
    UnknownVar = "E0130", Error;
    /// platform variable outside the build
    PlatformVar = "E0131", Error;
    /// evaluation past its budget
    OverBudget = "E0132", Error;
    /// probe on a port the app does not declare
    ProbePort = "E0140", Error;
    /// resource request above its limit
    RequestOverLimit = "E0141", Error;
    /// app name too long for Kubernetes
    K8sName = "E0142", Error;
    /// unknown template
    UnknownTemplate = "E0200", Error;
    /// templates extend each other
    TemplateCycle = "E0201", Error;
    /// template defined twice
    DuplicateTemplate = "E0202", Error;
    /// two apps with one name
    DuplicateApp = "E0203", Error;
    /// app in an imported file
    AppInImport = "E0204", Error;
    /// no app in the file
    NoApps = "E0205", Error;
    /// template chain too deep
    ChainDepth = "E0206", Error;
    /// malformed `param`
    ParamDecl = "E0210", Error;
    /// parameter value of the wrong type
    ParamType = "E0211", Error;
    /// required parameter not set
    ParamMissing = "E0212", Error;
    /// parameter name clash
    ParamClash = "E0213", Error;
    /// no way to get the binary
    NoBuild = "E0220", Error;
    /// both a build and a prebuilt binary
    TwoBuilds = "E0221", Error;
    /// `certs`/`mime-types` without a source
    NoSource = "E0222", Error;
    /// `deps` without `deps-run` (or the reverse)
    Deps = "E0223", Error;
    /// `main` is not a package of the module
    MainNotInModule = "E0224", Error;
    /// no such app
    NoSuchApp = "E0300", Error;
    /// `--build-arg` not declared
    UndeclaredArg = "E0301", Error;
    /// a required secret is not given
    SecretNotGiven = "E0302", Error;
    /// an SSH agent is not given
    SshNotGiven = "E0303", Error;
    /// imported file not found
    ImportMissing = "E0400", Error;
    /// import cycle
    ImportCycle = "E0401", Error;
    /// import leaves the build context
    ImportEscape = "E0402", Error;
    /// import pin mismatch
    PinMismatch = "E0403", Error;
    /// bad import path
    BadImportPath = "E0404", Error;
    /// malformed import pin
    BadPin = "E0405", Error;
    /// file too large
    FileTooLarge = "E0406", Error;
    /// sources too large
    SourcesTooLarge = "E0407", Error;
    /// not a regular file
    NotAFile = "E0408", Error;
    /// definition too large
    DefinitionTooLarge = "E0409", Error;
    /// the binary does not fit the platform
    BinaryMismatch = "E0500", Error;
    /// no binary where the image expects it
    NoBinary = "E0501", Error;
    /// the package built is not a main package
    NotMain = "E0502", Error;
    /// a build step failed on the daemon
    Step = "build::step", Error;
    /// a bug in scratchc
    Internal = "internal", Error;
    /// the binary's runtime needs were not checked
    NeedsUnread = "W0100", Note;
    /// the binary loads the system CA certificates and the image has none
    NeedsCerts = "W0101", Warning;
    /// the binary loads time zones and the image has none
    NeedsTzdata = "W0102", Warning;
    /// the binary looks up users and the image has no /etc/passwd
    NeedsPasswd = "W0103", Warning;
    /// the binary creates temporary files and the image has no /tmp
    NeedsTmp = "W0104", Warning;
    /// the binary looks up MIME types and the image has no table
    NeedsMimeTypes = "W0105", Note;
}

impl Code {
    /// The code with this id (`E0101`), if there is one.
    pub fn from_id(id: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.id() == id)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_say_their_severity() {
        let mut ids: Vec<&str> = Code::ALL.iter().map(|c| c.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Code::ALL.len());
        for &c in Code::ALL {
            assert_eq!(c.as_str(), format!("scratch::{}", c.id()));
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(Code::from_id(c.id()), Some(c));
            // An `E` code is an error, a `W` code is not.
            match c.id().as_bytes()[0] {
                b'E' => assert_eq!(c.severity(), Severity::Error, "{c}"),
                b'W' => assert_ne!(c.severity(), Severity::Error, "{c}"),
                _ => {}
            }
        }
        assert_eq!(Code::from_id("E9999"), None);
    }
}
