//! Lowering (in progress): one app and one platform to LLB.
use super::{Diag, LowerOptions, Options, Platform, Sources, Target, model};

pub fn lower(
    _app: &model::App,
    _platform: &Platform,
    _sources: &Sources,
    _options: &Options,
    _lower: &LowerOptions,
) -> Result<Target, Diag> {
    Err(Diag::new("scratch::internal", "the lowering is not written yet"))
}
