//! What the functions of one file may raise, so that a call to a helper of
//! the same file (`_set_keepalive_times(sock)`, `self._remaining()`) raises
//! only what its body lets out: nothing when every call in it is harmless or
//! its handlers swallow the errors, only `OSError` when that is all that
//! escapes. Computed on demand and memoised; a recursive call counts as
//! raising anything.

use super::matcher::{Matcher, Origins};
use super::{FunctionNode, function_setup};
use crate::cfg::{self, Exc, Raises};
use crate::facts::CallFact;
use crate::rules::Catalogue;
use crate::syntax::Imports;
use std::cell::RefCell;
use std::collections::HashMap;

pub(super) struct Summaries<'a, 't> {
    source: &'a str,
    imports: &'a Imports,
    catalogue: &'a Catalogue,
    origins: &'a Origins,
    units: &'a [FunctionNode<'t>],
    /// Qualified names (`helper`, `Client._connect`, `outer.inner`) to the
    /// units that define them.
    by_name: HashMap<&'a str, Vec<usize>>,
    /// `None` while being computed (recursion).
    cache: RefCell<HashMap<usize, Option<Raises>>>,
}

impl<'a, 't> Summaries<'a, 't> {
    pub(super) fn new(
        source: &'a str,
        imports: &'a Imports,
        catalogue: &'a Catalogue,
        origins: &'a Origins,
        units: &'a [FunctionNode<'t>],
    ) -> Self {
        let mut by_name: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, unit) in units.iter().enumerate() {
            by_name.entry(unit.name.as_str()).or_default().push(i);
        }
        Summaries {
            source,
            imports,
            catalogue,
            origins,
            units,
            by_name,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// What `call`, made in the unit `caller`, may raise.
    pub(super) fn raises(&self, caller: usize, call: &CallFact) -> Raises {
        let matcher = Matcher {
            catalogue: self.catalogue,
            origins: self.origins,
            function: self.units[caller].node.start_byte(),
        };
        let base = matcher.raises(call);
        if base != Raises::Any {
            return base;
        }
        let Some(callees) = self.callees(caller, call) else {
            return base;
        };
        // Defined more than once (per platform, under `if`): the worst of them.
        callees
            .iter()
            .map(|&callee| {
                let unit = &self.units[callee];
                // Calling a generator or a coroutine function without
                // awaiting it runs none of its body.
                if unit.generator || (unit.is_async && !call.awaited) {
                    Raises::Never
                } else {
                    self.summary(callee)
                }
            })
            .max()
            .unwrap_or(base)
    }

    /// The units a call may run, when it is a function of this file: a plain
    /// name defined here (and not imported), in the caller itself or at the
    /// top of the module, or a method of the caller's class through `self.`
    /// / `cls.`.
    fn callees(&self, caller: usize, call: &CallFact) -> Option<&[usize]> {
        let callee = call.callee.as_deref()?;
        let caller_name = self.units[caller].name.as_str();
        let candidates: Vec<String> = match callee.split_once('.') {
            Some(("self" | "cls", method)) if !method.contains('.') => {
                let class = caller_name.rsplit_once('.')?.0;
                vec![format!("{class}.{method}")]
            }
            Some(_) => return None,
            None => {
                if self.imports.resolve(callee) != callee {
                    return None;
                }
                vec![format!("{caller_name}.{callee}"), callee.to_string()]
            }
        };
        candidates
            .iter()
            .find_map(|name| self.by_name.get(name.as_str()).map(Vec::as_slice))
    }

    fn summary(&self, unit: usize) -> Raises {
        if let Some(known) = self.cache.borrow().get(&unit) {
            return known.unwrap_or(Raises::Any);
        }
        self.cache.borrow_mut().insert(unit, None);
        let func = &self.units[unit];
        let (shape, cx) = function_setup(func, self.source, self.imports, self.catalogue);
        let model = |call: &CallFact| self.raises(unit, call);
        let result = match cfg::build(func.node, &shape, &cx, &model) {
            Ok(graph) if graph.escaping.contains(&Exc::Error) => Raises::Any,
            Ok(graph) if graph.escaping.contains(&Exc::OsError) => Raises::OsError,
            Ok(_) => Raises::Never,
            Err(_) => Raises::Any,
        };
        self.cache.borrow_mut().insert(unit, Some(result));
        result
    }
}
