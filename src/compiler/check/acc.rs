//! What the statements of an app's chain set, gathered as their keys
//! say: the nearest single value, lists in order, `KEY=VALUE` maps merged.

use std::collections::{BTreeMap, HashMap};

use super::keys::{KeyDef, Merge};
use super::values;
use crate::compiler::span::{Span, Spanned};

/// One arg after expansion, with the span of the value it came from.
pub(super) type Arg = (String, Span);

/// A statement's args after expansion and validation.
#[derive(Clone, Debug)]
pub(super) struct Set {
    pub args: Vec<Arg>,
    pub span: Span,
}

/// Settings gathered along the chain, farthest ancestor first.
#[derive(Default)]
pub(super) struct Acc {
    single: BTreeMap<&'static str, Set>,
    list: BTreeMap<&'static str, Vec<Set>>,
    /// Every `KEY=VALUE` of a map key as set, repeats included: merged
    /// once, when taken ([`Acc::take_pairs`]), not at every statement (a
    /// template of ten thousand `env`s used by many apps is merged again
    /// for each).
    map: BTreeMap<&'static str, Vec<Spanned<(String, String)>>>,
}

impl Acc {
    pub(super) fn single(&self, key: &str) -> Option<&Set> {
        self.single.get(key)
    }

    pub(super) fn one(&self, key: &str) -> Option<Spanned<String>> {
        self.single
            .get(key)
            .and_then(|s| s.args.first().map(|(a, sp)| Spanned::new(a.clone(), *sp)))
    }

    pub(super) fn args(&self, key: &str) -> Option<Spanned<Vec<String>>> {
        self.single
            .get(key)
            .map(|s| Spanned::new(s.args.iter().map(|(a, _)| a.clone()).collect(), s.span))
    }

    pub(super) fn flag(&self, key: &str) -> Option<(bool, Span)> {
        self.single.get(key).map(|s| {
            let on = s.args.first().is_none_or(|(a, _)| a == "true");
            (on, s.span)
        })
    }

    pub(super) fn lists(&self, key: &str) -> &[Set] {
        self.list.get(key).map_or(&[], Vec::as_slice)
    }

    /// The entries of a map key, taken out (each is read once), merged:
    /// one per key, where the key was first set, with the value and the
    /// span of its last setting.
    pub(super) fn take_pairs(&mut self, key: &str) -> Vec<Spanned<(String, String)>> {
        let set = self
            .map
            .get_mut(key)
            .map(std::mem::take)
            .unwrap_or_default();
        // For each entry, the index of the first entry with its key; for
        // each first entry, the index of the last.
        let mut first = Vec::with_capacity(set.len());
        let mut last: Vec<usize> = (0..set.len()).collect();
        {
            let mut at: HashMap<&str, usize> = HashMap::with_capacity(set.len());
            for (i, e) in set.iter().enumerate() {
                let f = *at.entry(e.node.0.as_str()).or_insert(i);
                first.push(f);
                if let Some(l) = last.get_mut(f) {
                    *l = i;
                }
            }
        }
        let mut set: Vec<Option<Spanned<(String, String)>>> = set.into_iter().map(Some).collect();
        let mut out = Vec::new();
        for (i, f) in first.into_iter().enumerate() {
            if f == i
                && let Some(e) = last.get(i).and_then(|&l| set.get_mut(l)?.take())
            {
                out.push(e);
            }
        }
        out
    }

    /// The settings of a list key, taken out (each is read once).
    pub(super) fn take_lists(&mut self, key: &str) -> Vec<Set> {
        self.list
            .get_mut(key)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Merges one statement's validated args as its key says.
    pub(super) fn add(&mut self, def: &'static KeyDef, set: Set) {
        match def.merge {
            Merge::Single => {
                self.single.insert(def.name, set);
            }
            Merge::List => self.list.entry(def.name).or_default().push(set),
            Merge::Map => {
                let entries = self.map.entry(def.name).or_default();
                for (a, sp) in set.args {
                    let Ok((k, _)) = values::key_value(&a) else {
                        continue;
                    };
                    // The arg's own text becomes the key.
                    let eq = k.len();
                    let mut key = a;
                    let value = key.get(eq + 1..).unwrap_or_default().to_string();
                    key.truncate(eq);
                    entries.push(Spanned::new((key, value), sp));
                }
            }
        }
    }
}
