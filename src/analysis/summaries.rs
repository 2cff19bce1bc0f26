//! What the functions of one file do, as seen from their callers:
//! - what they may raise, so that a call to a helper of the same file
//!   (`_set_keepalive_times(sock)`, `self._remaining()`) raises only what
//!   its body lets out: nothing when every call in it is harmless or its
//!   handlers swallow the errors, only `OSError` when that is all that
//!   escapes;
//! - which of their parameters they take over: release (`close_quietly(conn)`
//!   closes it, `self._release(conn)` gives it back) or keep (store it,
//!   wrap it, hand it to a thread): passing a resource there hands it over.
//!
//! - whether they return a fresh resource (`def get_conn(): return
//!   psycopg2.connect(DSN)`): calling one acquires it, and the caller must
//!   release it.
//!
//! A call to a function of another checked file (`from payments.db import
//! get_conn`) uses that file's summary, which the caller of the analysis
//! passes in as a `Project` (see `export`).
//!
//! Computed on demand and memoised; a recursive call counts as raising
//! anything and taking nothing.

use super::matcher::{Matcher, Origins};
use super::{FunctionNode, function_setup};
use crate::cfg::{self, Exc, Raises};
use crate::facts::{CallFact, Use};
use crate::finding::{Learnt, LearntKind};
use crate::rules::Catalogue;
use crate::syntax::{Imports, NodeExt, text};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use tree_sitter::Node;

/// The summaries of the functions of other checked files, by qualified name
/// (`payments.db.get_conn`), as the file being analysed imports them.
pub trait Project: Sync {
    fn function(&self, qualified: &str) -> Option<&FunctionSummary>;
}

/// No other file: a file analysed on its own.
pub struct NoProject;

impl Project for NoProject {
    fn function(&self, _: &str) -> Option<&FunctionSummary> {
        None
    }
}

/// What a function does, as its callers see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionSummary {
    /// Parameter names in order.
    pub params: Vec<String>,
    /// Calling a generator, or a coroutine function without awaiting it,
    /// runs none of its body.
    pub generator: bool,
    pub is_async: bool,
    /// A class: calling it makes an instance, which holds something only
    /// when the class is an owner (`body.returns`).
    pub is_class: bool,
    /// What its body does; `None` when unknown (recursion, a body that did
    /// not parse).
    pub body: Option<BodySummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BodySummary {
    pub raises: Raises,
    /// What it raises comes only from calls that rarely fail: no `raise`,
    /// no `assert`, no `await`, no I/O (a helper that sets socket options
    /// or walks a table). Calling it is no convincing reason for a leak.
    #[serde(default)]
    pub weakly: bool,
    /// It returns no value on any path (no `return x`, no `yield`): what
    /// a call of it gives is `None`, whatever its name says
    /// (`tls.wrap_socket(connection)`, which stores the socket it makes).
    #[serde(default)]
    pub returns_nothing: bool,
    /// The one class of exception that leaves it, when that is all:
    /// `raise ValidationError(...)` and nothing else.
    pub class: Option<String>,
    /// Per parameter, in order: whether the function releases or keeps it.
    pub takes: Vec<bool>,
    /// Per parameter, in order: whether the function releases it when it
    /// fails, and only then (`except BaseException: writer.close(); raise`):
    /// a caller whose call of it raises holds it no more.
    #[serde(default)]
    pub released_on_failure: Vec<bool>,
    /// The fresh resource it returns, if it does on some path.
    pub returns: Option<Returned>,
    /// The catalogue resources it keeps on `self` (`self.sock =
    /// socket.create_connection(...)`): attribute, entry and how it is shown.
    pub keeps: Vec<Kept>,
}

impl BodySummary {
    /// What a call does when it may run either body: it raises what either
    /// raises (weakly only if neither raises otherwise), and releases,
    /// returns or keeps only what both do.
    fn either(self, other: &BodySummary) -> BodySummary {
        let raises = match (self.raises, other.raises) {
            (a, b) if a == b => a,
            // Ending the process on one platform only is no end.
            (Raises::Ends, _) | (_, Raises::Ends) => Raises::Any,
            (a, b) => a.max(b),
        };
        let weak_or_never = |b: &BodySummary| b.weakly || b.raises == Raises::Never;
        // Per parameter, true where both bodies say so.
        let both = |a: &[bool], b: &[bool]| a.iter().zip(b).map(|(a, b)| *a && *b).collect();
        BodySummary {
            raises,
            weakly: raises != Raises::Never && weak_or_never(&self) && weak_or_never(other),
            returns_nothing: self.returns_nothing && other.returns_nothing,
            class: self.class.filter(|c| other.class.as_ref() == Some(c)),
            takes: both(&self.takes, &other.takes),
            released_on_failure: both(&self.released_on_failure, &other.released_on_failure),
            returns: self.returns.filter(|r| other.returns.as_ref() == Some(r)),
            keeps: self
                .keeps
                .into_iter()
                .filter(|k| other.keeps.contains(k))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Kept {
    pub attr: String,
    pub rule: String,
    /// "a socket from `socket.create_connection()`"
    pub shown: String,
}

impl FunctionSummary {
    /// Whether calling it as `call` runs its body.
    fn runs(&self, call: &CallFact) -> bool {
        !(self.generator || (self.is_async && !call.awaited))
    }
}

/// Which functions a file's analysis summarises for the other files.
#[derive(Debug, Clone, Default)]
pub enum Export {
    #[default]
    Nothing,
    /// Every module-level function (the module is imported as a whole).
    All,
    /// These module-level functions (`from payments.db import get_conn`).
    Names(Vec<String>),
}

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
    cache: RefCell<HashMap<usize, Option<BodySummary>>>,
    project: &'a dyn Project,
    /// Module-level classes by name.
    classes: HashMap<&'a str, Node<'t>>,
    /// The same names, owned, for the facts of each function.
    class_names: HashSet<String>,
    owners: RefCell<HashMap<String, Option<Returned>>>,
}

/// A fresh resource a function returns: `def get_conn(): return
/// psycopg2.connect(DSN)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Returned {
    /// The catalogue entry.
    pub rule: String,
    /// Where it is made, as shown: "`psycopg2.connect()` on line 12", or
    /// through another helper: "`connect_primary()` on line 12".
    pub made_by: String,
    /// Whether the function is a coroutine: only `await helper()` acquires.
    pub is_async: bool,
    /// For an instance of an owner class (`client = LedgerClient(host)`),
    /// how the instance gives back what it keeps.
    pub owner: Option<OwnerRelease>,
    /// Whether a caller that drops the result where it is made has launched
    /// it (the helper starts a process with no pipe: see `launch-unless`).
    #[serde(default)]
    pub launched: bool,
    /// The resource comes back only when a parameter tests this way
    /// (`if block: return subprocess.run(...)` / `else: return Popen(...)`):
    /// a call that passes (or defaults to) the other gets none.
    #[serde(default)]
    pub only_when: Option<ParamGuard>,
}

/// A parameter whose truth picks the branch that returns the resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParamGuard {
    pub param: String,
    /// Its position among the arguments a caller writes (`self` not
    /// counted); `None` when it is keyword-only.
    pub position: Option<usize>,
    /// The truth that returns the resource.
    pub truthy: bool,
    /// The truth of its default value, when it has a literal one.
    pub default: Option<bool>,
    /// Other parameters that, given this truth, set this one to the truth
    /// that returns the resource (`if tty: asynchronous = True`).
    #[serde(default)]
    pub or_when: Vec<ParamGuard>,
}

impl ParamGuard {
    /// Whether `call` may take the branch that returns the resource: the
    /// argument written for the parameter (or else its default) is not a
    /// literal of the other truth.
    fn may_hold(&self, call: &CallFact, source: &str) -> bool {
        let Some(args) = call.node.field("arguments") else {
            return true;
        };
        let mut cursor = args.walk();
        let mut position = 0;
        let mut value = None;
        let mut splat = false;
        for arg in args.named_children(&mut cursor) {
            match arg.kind_name() {
                "keyword_argument" => {
                    if arg
                        .field("name")
                        .is_some_and(|n| text(n, source) == self.param)
                    {
                        value = arg.field("value");
                    }
                }
                "list_splat" | "dictionary_splat" => splat = true,
                "comment" => {}
                _ => {
                    if Some(position) == self.position {
                        value = Some(arg);
                    }
                    position += 1;
                }
            }
        }
        let truth = match value {
            Some(v) => super::conditions::literal_truthiness(v, source),
            None if splat => None,
            None => self.default,
        };
        truth.is_none_or(|t| t == self.truthy)
            || self.or_when.iter().any(|g| g.may_hold(call, source))
    }
}

/// How an owner class releases what its `__init__` keeps.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnerRelease {
    /// The method: `close`.
    pub method: String,
    /// Whether that method is a coroutine (`await client.aclose()`).
    pub awaited: bool,
    /// Whether `with` on an instance releases it (`__exit__` /
    /// `__aexit__`).
    pub with_releases: bool,
    /// Whether its `__del__` releases it (see `Resource::released_when_dropped`).
    #[serde(default)]
    pub finalized: bool,
}

/// Methods an owner class releases its resources in.
const OWNER_RELEASE_METHODS: &[&str] = &[
    "close",
    "aclose",
    "shutdown",
    "stop",
    "disconnect",
    "terminate",
    "release",
    "dispose",
];

impl<'a, 't> Summaries<'a, 't> {
    pub(super) fn new(
        source: &'a str,
        imports: &'a Imports,
        catalogue: &'a Catalogue,
        origins: &'a Origins,
        units: &'a [FunctionNode<'t>],
        project: &'a dyn Project,
    ) -> Self {
        let mut by_name: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, unit) in units.iter().enumerate() {
            by_name.entry(unit.name.as_str()).or_default().push(i);
        }
        // `try: import fcntl; def set_cloexec(...)` with other definitions
        // under `except ImportError:`: the first is the one that runs.
        for definitions in by_name.values_mut().filter(|d| d.len() > 1) {
            let in_force: Vec<usize> = definitions
                .iter()
                .copied()
                .filter(|&i| !crate::syntax::in_standard_import_fallback(units[i].node, source))
                .collect();
            if !in_force.is_empty() {
                *definitions = in_force;
            }
        }
        let mut classes = HashMap::new();
        let root = units.first().map(|u| {
            let mut n = u.node;
            while let Some(p) = n.parent() {
                n = p;
            }
            n
        });
        // The module's classes, also those defined under a module-level `if`
        // or `try` (`if not WINDOWS: class L3RawSocket(SuperSocket): ...`).
        if let Some(root) = root {
            crate::syntax::walk(root, |n| match n.kind_name() {
                "class_definition" => {
                    if let Some(name) = n.field("name") {
                        classes.insert(text(name, source), n);
                    }
                    false
                }
                "function_definition" | "lambda" => false,
                _ => true,
            });
        }
        // For telling a class from a function by name: classes nested in
        // classes too (`self._ConfigCache(...)` makes an object). Function
        // bodies, most of the tree, are not looked into.
        let mut class_names: HashSet<String> = classes.keys().map(|c| c.to_string()).collect();
        if let Some(root) = root {
            crate::syntax::walk(root, |n| match n.kind_name() {
                "class_definition" => {
                    if let Some(name) = n.field("name") {
                        class_names.insert(text(name, source).to_string());
                    }
                    true
                }
                "function_definition" | "lambda" => false,
                _ => true,
            });
        }
        // And the classes of other checked files imported here, whatever
        // their names look like (mechanize's `closeable_response(fp, ...)`
        // makes an object that keeps `fp`).
        for (name, target) in imports.imported_names() {
            if project.function(target).is_some_and(|f| f.is_class) {
                class_names.insert(name.to_string());
            }
        }
        Summaries {
            classes,
            class_names,
            owners: RefCell::new(HashMap::new()),
            source,
            imports,
            catalogue,
            origins,
            units,
            by_name,
            cache: RefCell::new(HashMap::new()),
            project,
        }
    }

    /// The classes the module defines.
    pub(super) fn class_names(&self) -> &HashSet<String> {
        &self.class_names
    }

    /// What `call`, made in the unit `caller`, may raise.
    pub(super) fn raises(&self, caller: usize, call: &CallFact) -> Raises {
        let matcher = Matcher {
            source: self.source,
            catalogue: self.catalogue,
            origins: self.origins,
            function: self.units[caller].node.start_byte(),
        };
        let mut base = matcher.raises(call);
        // `sock = make_socket(); sock.connect(addr)`: a helper's socket
        // raises as a socket does (only `OSError`, nothing on `close()`).
        if base == Raises::Any
            && matcher.receiver_resource(call).is_none()
            && let Some(resource) = self.receiver_made_by_helper(caller, call)
        {
            base = matcher.raises_on(call, Some(&resource));
        }
        if base != Raises::Any {
            return base;
        }
        let Some(targets) = self.targets(caller, call) else {
            return base;
        };
        // Defined more than once (per platform, under `if`): the worst of them.
        targets
            .iter()
            .map(|t| {
                if t.runs(call) {
                    t.body.as_ref().map_or(Raises::Any, |b| b.raises)
                } else {
                    Raises::Never
                }
            })
            .max()
            .unwrap_or(base)
    }

    /// The catalogue entry of the value a helper returned into the receiver
    /// of `call`: the fresh resource of a function of this file or of an
    /// imported one (`sock = socketutil.create_bc_socket()`).
    fn receiver_made_by_helper(&self, caller: usize, call: &CallFact) -> Option<String> {
        let receiver = call.receiver.as_deref()?;
        let made_by = self
            .origins
            .get(self.units[caller].node.start_byte(), receiver)?
            .call
            .as_deref()?;
        let own_method = made_by
            .strip_prefix("self.")
            .filter(|m| !m.contains('.'))
            .and_then(|method| {
                let class = self.units[caller].name.rsplit_once('.')?.0;
                self.method_of(class, method, 0)
            });
        let body = match own_method.or_else(|| self.by_name.get(made_by).map(Vec::as_slice)) {
            Some(units) => self.summary(*units.first()?)?,
            None => self.project.function(made_by)?.body.clone()?,
        };
        // An instance of an owner class is not the resource it keeps.
        body.returns.filter(|r| r.owner.is_none()).map(|r| r.rule)
    }

    /// What `call` may run: the functions of this file it names (several
    /// when defined more than once), or the function of another checked
    /// file it imports. `None` when it is neither.
    fn targets(&self, caller: usize, call: &CallFact) -> Option<Vec<FunctionSummary>> {
        self.targets_among(call, self.callees(caller, call))
    }

    /// `targets`, given what `callees` found for the call.
    fn targets_among(
        &self,
        call: &CallFact,
        callees: Option<&[usize]>,
    ) -> Option<Vec<FunctionSummary>> {
        if let Some(callees) = callees {
            return Some(
                callees
                    .iter()
                    .map(|&c| {
                        let unit = &self.units[c];
                        FunctionSummary {
                            params: unit.params.clone(),
                            generator: unit.generator,
                            is_async: unit.is_async,
                            is_class: false,
                            body: self.summary(c),
                        }
                    })
                    .collect(),
            );
        }
        // Only a name that came through an import can be another file's
        // (`get_conn()`, `db.get_conn()`; not `self.conn.cursor()`).
        let callee = call.callee.as_deref()?;
        let head = callee.split('.').next().unwrap_or(callee);
        if !self.imports.is_imported(head) {
            return None;
        }
        self.project
            .function(call.resolved.as_deref()?)
            .map(|f| vec![f.clone()])
    }

    /// The units a call may run, when it is a function of this file: a plain
    /// name defined here (and not imported), in the caller itself or at the
    /// top of the module, or a method of the caller's class through `self.`
    /// / `cls.`.
    fn callees(&self, caller: usize, call: &CallFact) -> Option<&[usize]> {
        let Some(callee) = call.callee.as_deref() else {
            return self.super_callees(caller, call);
        };
        let caller_name = self.units[caller].name.as_str();
        let candidates: Vec<String> = match callee.split_once('.') {
            Some(("self" | "cls", method)) if !method.contains('.') => {
                let class = caller_name.rsplit_once('.')?.0;
                // Its own method, else the one a base class of this file
                // defines (`self.prebind(sock)` inherited from the server
                // class above).
                return self.method_of(class, method, 0);
            }
            // `Loader._communicate(process)`: a static method (or any
            // method, called with its instance first) of a class of this
            // file, by the class's own name.
            Some((object, method))
                if !method.contains('.') && self.names_local_class(caller, object) =>
            {
                return self.method_of(object, method, 0);
            }
            // `result = TSocket(); result.setHandle(client)`: a method of a
            // class of this file, on an instance made here.
            Some((object, method)) if !object.contains('.') && !method.contains('.') => {
                let made_by = self
                    .origins
                    .made_by(self.units[caller].node.start_byte(), object);
                let class = made_by.iter().find(|c| {
                    self.classes.contains_key(c.as_str()) && self.imports.resolve(c) == **c
                })?;
                return self.method_of(class, method, 0);
            }
            Some(_) => return None,
            None => {
                if self.imports.resolve(callee) != callee {
                    return None;
                }
                // Its own nested function, one of an enclosing function
                // (a sibling helper), else the module's; a class's body is
                // no enclosing scope for its methods.
                let mut scopes = vec![format!("{caller_name}.{callee}")];
                let mut scope = caller_name;
                while let Some((outer, _)) = scope.rsplit_once('.') {
                    if self.by_name.contains_key(outer) {
                        scopes.push(format!("{outer}.{callee}"));
                    }
                    scope = outer;
                }
                scopes.push(callee.to_string());
                scopes
            }
        };
        candidates
            .iter()
            .find_map(|name| self.by_name.get(name.as_str()).map(Vec::as_slice))
    }

    /// Whether `name`, in the unit `caller`, is a class of this file: one
    /// defined here, not rebound by an import or by the caller itself.
    fn names_local_class(&self, caller: usize, name: &str) -> bool {
        self.classes.contains_key(name)
            && self.imports.resolve(name) == name
            && self
                .origins
                .made_by(self.units[caller].node.start_byte(), name)
                .is_empty()
    }

    /// The method `method` of class `class` of this file, or of its first
    /// base (depth first, as the method resolution order mostly goes) that
    /// defines it.
    fn method_of(&self, class: &str, method: &str, depth: usize) -> Option<&[usize]> {
        if let Some(found) = self.by_name.get(format!("{class}.{method}").as_str()) {
            return Some(found.as_slice());
        }
        if depth > 8 {
            return None;
        }
        let node = self.classes.get(class)?;
        let bases = node.field("superclasses")?;
        let mut cursor = bases.walk();
        let names: Vec<&str> = bases
            .named_children(&mut cursor)
            .filter(|b| b.kind_name() == "identifier")
            .map(|b| text(b, self.source))
            .collect();
        names
            .into_iter()
            .find_map(|base| self.method_of(base, method, depth + 1))
    }

    /// `super().close()` in a method of a class of this file: the method of
    /// its first base (of this file) that defines it.
    fn super_callees(&self, caller: usize, call: &CallFact) -> Option<&[usize]> {
        let function = call.node.field("function")?;
        let object = function.field("object")?;
        let is_super = object.kind_name() == "call"
            && object
                .field("function")
                .is_some_and(|f| text(f, self.source) == "super");
        if function.kind_name() != "attribute" || !is_super {
            return None;
        }
        let method = text(function.field("attribute")?, self.source);
        let class = self.units[caller].name.rsplit_once('.')?.0;
        let node = self.classes.get(class)?;
        let bases = node.field("superclasses")?;
        let mut cursor = bases.walk();
        let found = bases
            .named_children(&mut cursor)
            .filter(|b| b.kind_name() == "identifier")
            .find_map(|b| {
                let name = format!("{}.{method}", text(b, self.source));
                self.by_name.get(name.as_str())
            });
        found.map(Vec::as_slice)
    }

    /// The one class of exception `call` raises: a function known to raise
    /// only that (`rules/calls.toml`), or a function of this file whose only
    /// way out by exception is `raise Class(...)`.
    pub(super) fn class_of(&self, caller: usize, call: &CallFact) -> Option<String> {
        // `proc.wait(timeout=30)`, `proc.communicate(timeout=30)`: what
        // they raise is the timeout.
        if matches!(call.method.as_deref(), Some("wait" | "communicate"))
            && call.keywords.iter().any(|k| k.starts_with("timeout="))
        {
            return Some("TimeoutExpired".into());
        }
        // A function by its qualified name, a method as `.name`.
        let classes = &self.catalogue.calls.raise_classes;
        if let Some(class) = call
            .resolved
            .as_deref()
            .and_then(|r| classes.get(r))
            .or_else(|| {
                call.method
                    .as_deref()
                    .and_then(|m| classes.get(&format!(".{m}")))
            })
        {
            return Some(class.clone());
        }
        let mut class: Option<String> = None;
        for target in self.targets(caller, call)? {
            if !target.runs(call) {
                return None;
            }
            let this = target.body?.class?;
            match &class {
                Some(c) if *c != this => return None,
                _ => class = Some(this),
            }
        }
        class
    }

    /// The plain-name arguments of `call` that the function it calls (one
    /// of this file) takes over: releases or keeps.
    pub(super) fn handed_over(&self, caller: usize, call: &CallFact) -> Vec<String> {
        self.arguments_to(caller, call, |body| &body.takes)
    }

    /// The plain-name arguments of `call` that the function it calls
    /// releases when it fails (see `BodySummary::released_on_failure`).
    pub(super) fn released_on_failure(&self, caller: usize, call: &CallFact) -> Vec<String> {
        self.arguments_to(caller, call, |body| &body.released_on_failure)
    }

    /// The plain-name arguments of `call` bound to the parameters `which`
    /// marks in the summary of the function it calls.
    fn arguments_to(
        &self,
        caller: usize,
        call: &CallFact,
        which: impl Fn(&BodySummary) -> &Vec<bool>,
    ) -> Vec<String> {
        // A function handing a value to itself (recursion) hands it to the
        // body being judged: its own summary would be circular evidence.
        let callees = self.callees(caller, call);
        if callees.is_some_and(|units| units.contains(&caller)) {
            return Vec::new();
        }
        let Some(targets) = self.targets_among(call, callees) else {
            return Vec::new();
        };
        let Some(args) = call.node.field("arguments") else {
            return Vec::new();
        };
        // `self.helper(conn)`, `result.setHandle(conn)`: `conn` is bound to
        // the second parameter. Through the class (`Loader.helper(conn)`),
        // only a class method's first parameter is bound already: an
        // instance method's `self` is the first argument.
        let method_call = call.callee.as_deref().is_some_and(|c| c.contains('.'));
        let through_class = call
            .callee
            .as_deref()
            .and_then(|c| c.split_once('.'))
            .is_some_and(|(object, _)| self.names_local_class(caller, object));
        let mut out = Vec::new();
        for target in &targets {
            let offset = usize::from(
                method_call
                    && target
                        .params
                        .first()
                        .is_some_and(|p| p == "cls" || (p == "self" && !through_class)),
            );
            let Some(body) = target.body.as_ref().filter(|_| target.runs(call)) else {
                continue;
            };
            let mut cursor = args.walk();
            let mut position = 0;
            for arg in args.named_children(&mut cursor) {
                let (param, value) = match arg.kind_name() {
                    "keyword_argument" => {
                        let name = arg.field("name").map(|n| text(n, self.source));
                        let index = name.and_then(|n| target.params.iter().position(|p| p == n));
                        (index, arg.field("value"))
                    }
                    "list_splat" | "dictionary_splat" | "comment" => continue,
                    _ => {
                        position += 1;
                        (Some(position - 1 + offset), Some(arg))
                    }
                };
                let (Some(param), Some(value)) = (param, value) else {
                    continue;
                };
                if value.kind_name() == "identifier"
                    && which(body).get(param).copied() == Some(true)
                {
                    out.push(text(value, self.source).to_string());
                }
            }
        }
        out
    }

    /// The summaries of the module-level functions `wanted` names, for the
    /// files that import this one. A name defined more than once (one
    /// definition per platform or per optional dependency) gets what all
    /// its definitions do (see `BodySummary::either`): which one runs
    /// depends on how the module was loaded.
    pub(super) fn export(&self, wanted: &Export) -> BTreeMap<String, FunctionSummary> {
        let mut out = BTreeMap::new();
        if matches!(wanted, Export::Nothing) {
            return out;
        }
        for (name, units) in &self.by_name {
            let exported = match wanted {
                Export::Nothing => false,
                Export::All => true,
                Export::Names(names) => names.iter().any(|n| n == name),
            };
            if !exported || name.contains('.') || name.starts_with('<') {
                continue;
            }
            let Some((&first, others)) = units.split_first() else {
                continue;
            };
            let func = &self.units[first];
            let same_shape = others.iter().all(|&o| {
                let other = &self.units[o];
                other.params == func.params
                    && other.generator == func.generator
                    && other.is_async == func.is_async
            });
            if !same_shape {
                continue;
            }
            let body = others.iter().fold(self.summary(first), |body, &o| {
                Some(body?.either(&self.summary(o)?))
            });
            out.insert(
                name.to_string(),
                FunctionSummary {
                    params: func.params.clone(),
                    generator: func.generator,
                    is_async: func.is_async,
                    is_class: false,
                    body,
                },
            );
        }
        // Classes: calling an owner makes an instance to close.
        for (&class, &node) in &self.classes {
            // A class with a base from elsewhere may hold what the base
            // acquires: unknown, so not exported.
            if !self.bases_known(node, 0) {
                continue;
            }
            let exported = match wanted {
                Export::Nothing => false,
                Export::All => true,
                Export::Names(names) => names.iter().any(|n| n == class),
            };
            if !exported || out.contains_key(class) {
                continue;
            }
            // Classes that own nothing too: their instances hold nothing.
            out.insert(
                class.to_string(),
                FunctionSummary {
                    params: Vec::new(),
                    generator: false,
                    is_async: false,
                    is_class: true,
                    body: Some(BodySummary {
                        raises: Raises::Any,
                        weakly: false,
                        returns_nothing: false,
                        class: None,
                        takes: Vec::new(),
                        released_on_failure: Vec::new(),
                        returns: self.owner(class),
                        keeps: Vec::new(),
                    }),
                },
            );
        }
        out
    }

    fn summary(&self, unit: usize) -> Option<BodySummary> {
        if let Some(known) = self.cache.borrow().get(&unit) {
            return known.clone();
        }
        self.cache.borrow_mut().insert(unit, None);
        let func = &self.units[unit];
        let (shape, cx) = function_setup(
            func,
            self.source,
            self.imports,
            self.catalogue,
            &self.class_names,
        );
        let model = |call: &CallFact| self.raises(unit, call);
        let classes = |call: &CallFact| self.class_of(unit, call);
        let result = match cfg::build(func.node, &shape, &cx, &model, &classes) {
            Ok(graph) => {
                let kinds = graph
                    .escaping
                    .iter()
                    .copied()
                    .chain(graph.escaping_classes.iter().map(|c| cfg::class_exc(c)));
                let raises = kinds
                    .map(|k| match k {
                        Exc::OsError => Raises::OsError,
                        _ => Raises::Any,
                    })
                    .max()
                    .unwrap_or(Raises::Never);
                // `exit_with(stderr, msg)` that writes and calls `os._exit()`
                // ends the process as `sys.exit()` does.
                let raises = if self.ends_the_process(unit, &graph) {
                    Raises::Ends
                } else {
                    raises
                };
                let class = match graph.escaping_classes.as_slice() {
                    [one] if graph.escaping.is_empty() => Some(one.clone()),
                    _ => None,
                };
                let kept_by_closures = if func.params.is_empty() {
                    HashSet::new()
                } else {
                    returned_closures_use(func.node, self.source)
                };
                let takes: Vec<bool> = func
                    .params
                    .iter()
                    .map(|p| kept_by_closures.contains(p) || self.takes(unit, &graph, p))
                    .collect();
                let mut released_on_failure: Vec<bool> = func
                    .params
                    .iter()
                    .zip(&takes)
                    .map(|(p, taken)| !taken && self.releases_on_failure(unit, &graph, p))
                    .collect();
                // (Most release nothing so: kept empty, which reads as all
                // false, to keep every function's summary small.)
                if !released_on_failure.contains(&true) {
                    released_on_failure = Vec::new();
                }
                let returns = self.fresh_return(unit, &graph);
                let keeps = self.kept_on_self(unit, &graph);
                let weakly = raises != Raises::Never && self.raises_weakly(unit, &graph);
                BodySummary {
                    raises,
                    weakly,
                    returns_nothing: !func.generator && !returns_a_value(func.node),
                    class,
                    takes,
                    released_on_failure,
                    returns,
                    keeps,
                }
            }
            Err(_) => BodySummary {
                raises: Raises::Any,
                weakly: false,
                returns_nothing: false,
                class: None,
                takes: vec![false; func.params.len()],
                released_on_failure: Vec::new(),
                returns: None,
                keeps: Vec::new(),
            },
        };
        self.cache.borrow_mut().insert(unit, Some(result.clone()));
        Some(result)
    }

    /// Whether the unit never comes back: no path reaches its normal exit,
    /// and it calls something that ends the process (a function that only
    /// raises, or loops for ever, does not end it).
    fn ends_the_process(&self, unit: usize, graph: &cfg::Cfg) -> bool {
        let mut seen = vec![false; graph.nodes.len()];
        let mut stack = vec![graph.entry];
        let mut ends = false;
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            if id == graph.normal_exit {
                return false;
            }
            let node = &graph.nodes[id];
            ends |= node.facts.calls.iter().any(|c| {
                c.usage == crate::facts::Use::Discarded && self.raises(unit, c) == Raises::Ends
            });
            stack.extend(node.succs.iter().map(|&(_, next)| next));
        }
        ends
    }

    /// Whether every exception the unit may raise comes from a call that
    /// rarely fails (see `BodySummary::weakly`).
    fn raises_weakly(&self, unit: usize, graph: &cfg::Cfg) -> bool {
        // (An `assert` fails only on a caller's bug: weak, as the calls
        // that rarely fail are. So does `raise NotImplementedError`: the
        // stub of another platform or of an abstract method, which working
        // code never reaches.)
        graph.nodes.iter().all(|node| {
            let explicit = node.kind == cfg::Kind::Raise && !self.raises_not_implemented(node);
            !explicit
                && node.facts.calls.iter().all(|call| {
                    !call.awaited
                        && match self.raises(unit, call) {
                            Raises::Never | Raises::Ends => true,
                            Raises::OsError => false,
                            Raises::Any => {
                                !call.method.as_deref().is_some_and(|m| self.io_method(m))
                                    && !super::explain::parses(call)
                                    && self.weakly_raises(unit, call) != Some(false)
                            }
                        }
                })
        })
    }

    /// `raise NotImplementedError` (or `raise NotImplementedError(...)`).
    fn raises_not_implemented(&self, node: &cfg::CfgNode) -> bool {
        node.syntax
            .filter(|s| s.kind_name() == "raise_statement")
            .and_then(|s| s.named_child(0))
            .map(|raised| match raised.kind_name() {
                "call" => raised.field("function"),
                _ => Some(raised),
            })
            .is_some_and(|class| {
                class.is_some_and(|c| {
                    crate::syntax::last_part(text(c, self.source)) == "NotImplementedError"
                })
            })
    }

    /// A method that does I/O whatever it is called on: reading, running a
    /// query, and the socket operations (`sock.bind()` on a parameter).
    fn io_method(&self, method: &str) -> bool {
        let os = &self.catalogue.calls.os_error;
        super::explain::is_io_method(method)
            || os.methods.iter().any(|m| m == method)
            || os.any_receiver_methods.iter().any(|m| m == method)
    }

    /// Whether `call` (made in the unit `caller`) runs only summarised
    /// functions that return no value (see `BodySummary::returns_nothing`).
    pub(super) fn gives_nothing(&self, caller: usize, call: &CallFact) -> bool {
        self.local_class(call).is_none()
            && self.targets(caller, call).is_some_and(|targets| {
                !targets.is_empty()
                    && targets
                        .iter()
                        .all(|t| !t.is_class && t.body.as_ref().is_some_and(|b| b.returns_nothing))
            })
    }

    /// Whether `call` (made in the unit `caller`) runs a summarised function
    /// that raises only weakly; `None` when it runs none.
    pub(super) fn weakly_raises(&self, caller: usize, call: &CallFact) -> Option<bool> {
        let targets = self.targets(caller, call)?;
        Some(
            !targets.is_empty()
                && targets
                    .iter()
                    // (a definition that never raises, beside a weak one,
                    // leaves the call weak: the other platform's stub)
                    .all(|t| {
                        t.body
                            .as_ref()
                            .is_some_and(|b| b.weakly || b.raises == Raises::Never)
                    }),
        )
    }

    /// The fresh resource `call` (made in the unit `caller`) returns, when
    /// it calls a function of this file that returns one.
    pub(super) fn returned_by(&self, caller: usize, call: &CallFact) -> Option<Returned> {
        // `LedgerClient(host)`, a class of this file that owns a resource.
        if let Some((name, _)) = self.local_class(call) {
            return self.owner(name);
        }
        // Defined more than once: only when every definition returns one.
        let mut found: Option<Returned> = None;
        for target in self.targets(caller, call)? {
            let this = target.body?.returns?;
            // `subprocess_run(cmd)` whose `block=True` default takes the
            // branch that returns no process.
            if this
                .only_when
                .as_ref()
                .is_some_and(|g| !g.may_hold(call, self.source))
            {
                return None;
            }
            match &mut found {
                Some(f) if f.rule != this.rule => return None,
                // A launch only if every definition launches.
                Some(f) => f.launched &= this.launched,
                None => found = Some(this),
            }
        }
        found
    }

    /// The helpers of this file that return a new resource and the owner
    /// classes, for `unclosed resources --learned`.
    pub(super) fn learnt(&self) -> Vec<Learnt> {
        let mut out = Vec::new();
        for (i, unit) in self.units.iter().enumerate() {
            if unit.name.starts_with('<') {
                continue;
            }
            let Some(returned) = self.summary(i).and_then(|b| b.returns) else {
                continue;
            };
            let noun = self
                .catalogue
                .get(&returned.rule)
                .map_or(returned.rule.as_str(), |r| r.noun.as_str());
            out.push(Learnt {
                kind: LearntKind::Helper,
                line: unit.node.start_position().row + 1,
                scope: unit.name.clone(),
                what: format!(
                    "`{}()` returns a new {noun} ({}), which its callers must release",
                    unit.name, returned.made_by
                ),
                entry: None,
            });
        }
        let mut classes: Vec<(&&str, &Node)> = self.classes.iter().collect();
        classes.sort_by_key(|(_, node)| node.start_byte());
        for (name, node) in classes {
            let Some(owner) = self.owner(name) else {
                continue;
            };
            out.push(Learnt {
                kind: LearntKind::Owner,
                line: node.start_position().row + 1,
                scope: name.to_string(),
                what: format!("`{name}` {}: its instances must be released", owner.made_by),
                entry: None,
            });
        }
        out
    }

    /// The module-level class of this file `call` instantiates, if any
    /// (by its plain name, not shadowed by an import).
    fn local_class<'c>(&self, call: &'c CallFact) -> Option<(&'c str, Node<'t>)> {
        let callee = call.callee.as_deref()?;
        let class = *self.classes.get(callee)?;
        (self.imports.resolve(callee) == callee).then_some((callee, class))
    }

    /// Whether `call` makes an instance of a class of the checked files
    /// that owns nothing: `ControlClient(path)` whose `__init__` only
    /// stores the path holds nothing until a method connects.
    pub(super) fn makes_plain_instance(&self, caller: usize, call: &CallFact) -> bool {
        if let Some((callee, class)) = self.local_class(call) {
            return self.bases_known(class, 0) && self.owner(callee).is_none();
        }
        self.targets(caller, call).is_some_and(|targets| {
            targets
                .iter()
                .all(|t| t.is_class && t.body.as_ref().is_some_and(|b| b.returns.is_none()))
        })
    }

    /// Whether `unit` is the `__init__` of a class of this file that has a
    /// finalizer that releases (`__del__` calling `self.close()`, its own or
    /// a base's of this file): Python runs it on an object whose `__init__`
    /// raised, so what `__init__` kept on `self` is not lost with the
    /// object.
    pub(super) fn init_of_finalized_class(&self, unit: usize) -> bool {
        let Some(class) = self.units[unit].name.strip_suffix(".__init__") else {
            return false;
        };
        self.method_of(class, "__del__", 0)
            .is_some_and(|finalizers| {
                finalizers
                    .iter()
                    .all(|&f| super::owners::calls_release_like(self.units[f].node, self.source))
            })
    }

    /// An instance of `class` as a resource: its `__init__` keeps a
    /// catalogue resource on `self`, and a method named like a release
    /// (`close`, `aclose`, `shutdown`, ...) releases it. Only a class with
    /// no base from elsewhere, whose release is its own.
    fn owner(&self, class: &str) -> Option<Returned> {
        if let Some(known) = self.owners.borrow().get(class) {
            return known.clone();
        }
        self.owners.borrow_mut().insert(class.to_string(), None);
        let found = self.find_owner(class);
        self.owners
            .borrow_mut()
            .insert(class.to_string(), found.clone());
        found
    }

    /// Whether what the bases of `class` hold is known: each is neutral
    /// (`object`, `ABC`, `Thread`) or a class of this file whose bases are
    /// known and whose `__init__` keeps nothing on `self` (`class
    /// ShellClient(BaseClient)` where `BaseClient` only stores the host).
    fn bases_known(&self, class: Node, depth: usize) -> bool {
        let plain_base = |name: &str| {
            depth < 8
                && self.imports.resolve(name) == name
                && self.classes.get(name).is_some_and(|&base| {
                    base != class
                        && self.bases_known(base, depth + 1)
                        && self
                            .by_name
                            .get(format!("{name}.__init__").as_str())
                            .is_none_or(|inits| {
                                inits
                                    .iter()
                                    .all(|&i| self.summary(i).is_some_and(|s| s.keeps.is_empty()))
                            })
                })
        };
        super::owners::neutral_bases(class, self.source, &plain_base)
    }

    fn find_owner(&self, class: &str) -> Option<Returned> {
        let node = *self.classes.get(class)?;
        if !self.bases_known(node, 0) {
            return None;
        }
        let method = |name: &str| -> Option<usize> {
            match self
                .by_name
                .get(format!("{class}.{name}").as_str())?
                .as_slice()
            {
                [one] => Some(*one),
                _ => None,
            }
        };
        let init = method("__init__")?;
        let keeps = self.summary(init)?.keeps;
        let with_releases = method("__exit__").is_some() || method("__aexit__").is_some();
        for kept in &keeps {
            // A class released only by `with` releases in `__exit__`.
            let exits = ["__exit__", "__aexit__"];
            let candidates = OWNER_RELEASE_METHODS.iter().chain(&exits);
            for release in candidates {
                let Some(unit) = method(release) else {
                    continue;
                };
                let rule = self.catalogue.get(&kept.rule)?;
                let releases: Vec<String> = rule
                    .release
                    .methods
                    .iter()
                    .map(|m| m.trim_end_matches("()").to_string())
                    .collect();
                if !super::owners::may_release(
                    self.units[unit].node,
                    &kept.attr,
                    &releases,
                    self.source,
                ) {
                    continue;
                }
                // A class whose `__del__` releases (`def __del__(self):
                // self.close()`) gives its resources back when an instance
                // is dropped on a path that completes.
                let finalized = method("__del__").is_some_and(|del| {
                    let node = self.units[del].node;
                    super::owners::calls_own_method(node, release, self.source)
                        || super::owners::may_release(node, &kept.attr, &releases, self.source)
                });
                let how = if release.starts_with("__") {
                    "when its `with` block ends".to_string()
                } else {
                    format!("by `{release}()`")
                };
                return Some(Returned {
                    rule: format!("owner:{class}"),
                    made_by: format!(
                        "keeps {} in `self.{}`, released {how}",
                        kept.shown, kept.attr
                    ),
                    is_async: false,
                    launched: false,
                    only_when: None,
                    owner: Some(OwnerRelease {
                        method: release.to_string(),
                        awaited: self.units[unit].is_async,
                        with_releases,
                        finalized,
                    }),
                });
            }
        }
        None
    }

    /// The catalogue resources `unit` keeps on `self`: `self.sock =
    /// socket.create_connection(...)`, directly.
    fn kept_on_self(&self, unit: usize, graph: &cfg::Cfg) -> Vec<Kept> {
        let func = &self.units[unit];
        if !func.name.contains('.') {
            return Vec::new();
        }
        let matcher = Matcher {
            source: self.source,
            catalogue: self.catalogue,
            origins: self.origins,
            function: func.node.start_byte(),
        };
        let no_receivers = std::collections::HashSet::new();
        let mut out = Vec::new();
        for call in graph.nodes.iter().flat_map(|n| &n.facts.calls) {
            let Use::Stored(target) = &call.usage else {
                continue;
            };
            let Some(attr) = target.strip_prefix("self.") else {
                continue;
            };
            let Some(rule) = matcher.rule_for(call, &no_receivers) else {
                continue;
            };
            if !crate::rules::is_identifier(attr)
                || !matcher.yields_value(call, rule)
                || rule.lazy.is_some()
            {
                continue;
            }
            out.push(Kept {
                attr: attr.to_string(),
                rule: rule.id.clone(),
                shown: format!("a {} from `{}`", rule.noun, call.display(self.source)),
            });
        }
        out
    }

    /// Whether a decorator gives callers something else than a fresh
    /// result of the function: a cache (`@lru_cache`: the same object for
    /// every caller), or one defined in this file (beside the function, or
    /// at module level) whose wrapper does not `return func(...)` but works
    /// on the result first (python-etcd's `_wrap_request` reads the
    /// response to its end, which gives the connection back, and returns a
    /// handled one). Any other decorator from elsewhere is taken to pass
    /// the result on.
    fn result_replaced_by_decorator(&self, unit: usize) -> bool {
        let func = &self.units[unit];
        let scope = func.name.rsplit_once('.').map(|(scope, _)| scope);
        func.decorators.iter().any(|decorator| {
            let callee = decorator.split('(').next().unwrap_or(decorator).trim();
            // `@lru_cache`, `@functools.cache`: every caller gets the one
            // object the first call made, the cache's to keep.
            if matches!(
                crate::syntax::last_part(callee),
                "lru_cache" | "cache" | "cached" | "memoize" | "memoized" | "cachedmethod"
            ) {
                return true;
            }
            let sibling = scope.map(|s| format!("{s}.{callee}"));
            let defined = sibling
                .as_deref()
                .and_then(|n| self.by_name.get(n))
                .or_else(|| self.by_name.get(callee));
            defined.is_some_and(|units| {
                units
                    .iter()
                    .all(|&d| !passes_result_on(self.units[d].node, self.source))
            })
        })
    }

    /// The resource the function returns fresh: made by a catalogue call
    /// (or a helper that returns one) whose value is returned, as the call
    /// itself or through a name bound once, and not kept anywhere else.
    /// Generators, context-manager methods and properties return what the
    /// object already holds, or nothing to release.
    fn fresh_return(&self, unit: usize, graph: &cfg::Cfg) -> Option<Returned> {
        let func = &self.units[unit];
        let method = crate::syntax::last_part(&func.name);
        let property = func
            .decorators
            .iter()
            .any(|d| d.ends_with("property") || d.ends_with(".setter"));
        if func.generator
            || property
            || (method.starts_with("__") && method.ends_with("__"))
            || self.result_replaced_by_decorator(unit)
        {
            return None;
        }
        let matcher = Matcher {
            source: self.source,
            catalogue: self.catalogue,
            origins: self.origins,
            function: func.node.start_byte(),
        };
        // `return conn` (not `return wrap(conn)`: the wrapper is another
        // object, matched on its own if it is one).
        let returned = |name: &str| returns_of(graph, name, self.source).next().is_some();
        let kept_elsewhere = |name: &str| {
            graph.nodes.iter().any(|n| {
                let f = &n.facts;
                (n.kind != cfg::Kind::Return && f.escapes.iter().any(|e| e == name))
                    || f.escapes_on_success.iter().any(|e| e == name)
                    || f.wraps.iter().any(|(_, old)| old == name)
                    || f.aliases.iter().any(|(_, old)| old == name)
            })
        };
        let bindings = |name: &str| {
            graph
                .nodes
                .iter()
                .filter(|n| n.facts.binds.iter().any(|b| b == name))
                .count()
        };
        let no_receivers = std::collections::HashSet::new();
        let mut found: Option<Returned> = None;
        for call in graph.nodes.iter().flat_map(|n| &n.facts.calls) {
            // (A name declared `global` is the module's cache: `_pool =
            // ThreadPoolExecutor()` made once and handed to every caller.)
            let fresh = match &call.usage {
                Use::Returned => true,
                Use::Bound(var) => {
                    returned(var)
                        && !kept_elsewhere(var)
                        && bindings(var) == 1
                        && !func.outer.contains(var)
                }
                _ => false,
            };
            if !fresh {
                continue;
            }
            let line = call.node.start_position().row + 1;
            let made_by = format!("`{}` on line {line}", call.display(self.source));
            let mut inner_guard = None;
            let (rule, launched) = match matcher.rule_for(call, &no_receivers) {
                // `return tarfile.open(fileobj=buffer)`: an argument that
                // makes it acquire nothing does so for the caller too.
                Some(rule) if matcher.acquires_nothing(call, &rule.acquire, self.imports) => {
                    continue;
                }
                Some(rule) if matcher.yields_value(call, rule) => {
                    (rule.id.clone(), matcher.launches(call, rule, self.imports))
                }
                Some(_) => continue,
                None => match self.returned_by(unit, call) {
                    Some(inner) if !inner.is_async || call.awaited => {
                        inner_guard = inner.only_when;
                        (inner.rule, inner.launched)
                    }
                    _ => continue,
                },
            };
            // `proc = Popen(...); proc.communicate(); return proc`: what it
            // returns is already released (a process waited for), by a
            // statement of the block the `return` is in, before it.
            if let Use::Bound(var) = &call.usage
                && let Some(entry) = self.catalogue.get(&rule)
                && graph.nodes.iter().flat_map(|n| &n.facts.calls).any(|c| {
                    c.receiver.as_deref() == Some(var.as_str())
                        && c.method
                            .as_ref()
                            .is_some_and(|m| entry.release.methods.contains(m))
                        && released_before_return(c.node, var, self.source)
                })
            {
                continue;
            }
            // (`process = Popen(...)` then `if not wait: return process`:
            // the test guards the return, not the acquisition.)
            let guard = match &call.usage {
                Use::Bound(var) => self.return_guard(unit, graph, var),
                _ => None,
            }
            .or_else(|| self.param_guard(unit, call.node))
            .or_else(|| self.forwarded_guard(unit, call, inner_guard.as_ref()?));
            // Different resources on different paths: the caller cannot
            // know which it holds.
            match &mut found {
                Some(f) if f.rule != rule => return None,
                // Returned under two tests (or one and none): under any.
                Some(f) => {
                    if f.only_when != guard {
                        f.only_when = None;
                    }
                }
                None => {
                    found = Some(Returned {
                        rule,
                        made_by,
                        is_async: func.is_async,
                        owner: None,
                        launched,
                        only_when: guard,
                    })
                }
            }
        }
        found
    }

    /// Whether what `call` returns is a resource only when the unit's own
    /// caller asks for one, through the `**kwargs` the unit hands on.
    pub(super) fn caller_decides(&self, unit: usize, call: &CallFact, returned: &Returned) -> bool {
        returned
            .only_when
            .as_ref()
            .is_some_and(|g| self.forwarded_guard(unit, call, g).is_some())
    }

    /// The guard of a helper's keyword-only parameter, when `call` hands it
    /// the unit's own `**kwargs` untouched (`c = subprocess_run(command,
    /// **kwargs)`): the unit's callers pick the branch by the same keyword.
    fn forwarded_guard(
        &self,
        unit: usize,
        call: &CallFact,
        inner: &ParamGuard,
    ) -> Option<ParamGuard> {
        let func = &self.units[unit];
        let args = call.node.field("arguments")?;
        let mut cursor = args.walk();
        let mut forwarded = None;
        for arg in args.named_children(&mut cursor) {
            match arg.kind_name() {
                "dictionary_splat" => forwarded = arg.named_child(0).map(|n| text(n, self.source)),
                "keyword_argument"
                    if arg
                        .field("name")
                        .is_some_and(|n| text(n, self.source) == inner.param) =>
                {
                    return None;
                }
                _ => {}
            }
        }
        let forwarded = forwarded?;
        let parameters = func.node.field("parameters")?;
        let mut cursor = parameters.walk();
        let own_kwargs = parameters.named_children(&mut cursor).any(|p| {
            p.kind_name() == "dictionary_splat_pattern"
                && p.named_child(0)
                    .is_some_and(|n| text(n, self.source) == forwarded)
        });
        // (`kwargs["block"] = False` or `kwargs.setdefault("block", ...)`
        // decides for the callers.)
        let quoted = [format!("\"{}\"", inner.param), format!("'{}'", inner.param)];
        let body = &self.source[func.node.byte_range()];
        let decided_here = quoted.iter().any(|q| body.contains(q.as_str()));
        (own_kwargs && inner.position.is_none() && !decided_here).then(|| inner.clone())
    }

    /// The parameter test every `return <name>` of the unit sits under,
    /// when it is one and the same (`if not wait: return process`).
    fn return_guard(&self, unit: usize, graph: &cfg::Cfg, name: &str) -> Option<ParamGuard> {
        let mut guards = returns_of(graph, name, self.source).map(|r| self.param_guard(unit, r));
        let first = guards.next()??;
        guards.all(|g| g.as_ref() == Some(&first)).then_some(first)
    }

    /// The parameter test that decides whether `made` (a call that makes
    /// what the unit returns) runs: the nearest `if param:` / `if not
    /// param:` around it, in its body or its `else`, or one before it
    /// whose body always leaves the function (`if not asynchronous: return
    /// check_output(...)`, then `Popen(...)`).
    fn param_guard(&self, unit: usize, made: Node) -> Option<ParamGuard> {
        let func = &self.units[unit];
        let mut child = made;
        let mut current = made.parent()?;
        let (test, in_else) = loop {
            if current.id() == func.node.id() {
                return None;
            }
            if current.kind_name() == "block"
                && let Some(test) = earlier_exit_test(child, &func.params, self.source)
            {
                break (test, true);
            }
            if current.kind_name() == "if_statement" {
                let in_body = current
                    .field("consequence")
                    .is_some_and(|b| b.id() == child.id());
                let in_else = child.kind_name() == "else_clause";
                if in_body || in_else {
                    break (current.field("condition")?, in_else);
                }
                return None;
            }
            child = current;
            current = current.parent()?;
        };
        let (name, negated) = match test.kind_name() {
            "identifier" => (test, false),
            "not_operator" => (test.field("argument")?, true),
            _ => return None,
        };
        if name.kind_name() != "identifier" {
            return None;
        }
        let mut guard = self.guard_on(unit, text(name, self.source), negated == in_else)?;
        // The function may set the parameter itself: `if tty: asynchronous
        // = True` returns the resource when `tty` is true too. Any other
        // assignment leaves the caller nothing to decide by.
        let mut assigned = Vec::new();
        crate::syntax::walk(func.node.field("body")?, |n| {
            if matches!(n.kind_name(), "function_definition" | "class_definition") {
                return false;
            }
            if n.kind_name() == "assignment"
                && n.field("left").is_some_and(|l| {
                    l.kind_name() == "identifier" && text(l, self.source) == guard.param
                })
            {
                assigned.push(n);
            }
            true
        });
        for assignment in assigned {
            let sets_holding = assignment
                .field("right")
                .and_then(|v| super::conditions::literal_truthiness(v, self.source))
                == Some(guard.truthy);
            let other = sets_holding
                .then(|| setting_test(assignment))
                .flatten()
                .and_then(|(other, truthy)| self.guard_on(unit, text(other, self.source), truthy));
            guard.or_when.push(other?);
        }
        Some(guard)
    }

    /// The guard on the unit's parameter `param` when `truthy` is the truth
    /// that returns the resource; `None` when `param` is no parameter a
    /// caller writes.
    fn guard_on(&self, unit: usize, param: &str, truthy: bool) -> Option<ParamGuard> {
        let func = &self.units[unit];
        let index = func.params.iter().position(|p| p == param)?;
        let bound_first = func
            .params
            .first()
            .is_some_and(|p| p == "self" || p == "cls");
        let parameters = func.node.field("parameters")?;
        let mut cursor = parameters.walk();
        let mut keyword_only = false;
        let mut default = None;
        for p in parameters.named_children(&mut cursor) {
            match p.kind_name() {
                "keyword_separator" | "list_splat_pattern" => keyword_only = true,
                "default_parameter" | "typed_default_parameter"
                    if p.field("name")
                        .is_some_and(|n| text(n, self.source) == param) =>
                {
                    default = p
                        .field("value")
                        .and_then(|v| super::conditions::literal_truthiness(v, self.source));
                    break;
                }
                // The parameter itself, with no default (`block`, `block: bool`).
                "identifier" | "typed_parameter"
                    if (if p.kind_name() == "identifier" {
                        Some(p)
                    } else {
                        p.named_child(0)
                    })
                    .is_some_and(|n| text(n, self.source) == param) =>
                {
                    break;
                }
                _ => {}
            }
        }
        // (`if self:` tests the instance, no argument a caller writes.)
        let written = index.checked_sub(usize::from(bound_first))?;
        Some(ParamGuard {
            param: param.to_string(),
            position: (!keyword_only).then_some(written),
            truthy,
            default,
            or_when: Vec::new(),
        })
    }

    /// Whether the function releases `param` (a release of any catalogue
    /// entry: `param.close()`, `with param:`, `pool.putconn(param)`, `os.close(param)`, a
    /// helper that does) or keeps it (stores it, wraps it, hands it to an
    /// owner, returns it inside a new object). Returning it is neither: the
    /// caller gets it back.
    fn takes(&self, unit: usize, graph: &cfg::Cfg, param: &str) -> bool {
        let released = |call: &CallFact| self.releases_param(unit, call, param);
        // A release only in an `except` handler cleans up after the
        // function's own failure (`except ReadError: proc.communicate()`):
        // when it returns, the caller still holds the value.
        graph.nodes.iter().any(|n| {
            let facts = &n.facts;
            // `with fp:` closes it when the block ends.
            facts.managed.iter().any(|e| e == param)
                || (n.kind != cfg::Kind::Return
                    && (facts.escapes.iter().any(|e| e == param)
                        || facts.escapes_on_success.iter().any(|e| e == param)))
                || facts.wraps.iter().any(|(_, old)| old == param)
                || facts.wrapped_in_returned.iter().any(|w| w == param)
                || facts
                    .calls
                    .iter()
                    .any(|c| released(c) && !crate::syntax::in_except_clause(c.node))
        })
    }

    /// Whether the function releases `param` in a handler that catches
    /// every exception and raises it again (pymobiledevice3's
    /// `_strip_ssl_or_close`: `except BaseException: await
    /// close_stream_writer(writer); raise`).
    fn releases_on_failure(&self, unit: usize, graph: &cfg::Cfg, param: &str) -> bool {
        graph.nodes.iter().flat_map(|n| &n.facts.calls).any(|c| {
            self.releases_param(unit, c, param) && in_catch_all_that_reraises(c.node, self.source)
        })
    }

    /// Whether `call` releases `param`: a release of any catalogue entry
    /// on it or with it, a helper that takes it over, or a `checkin`-shaped
    /// call that takes it back to a pool.
    fn releases_param(&self, unit: usize, call: &CallFact, param: &str) -> bool {
        let on_it = call.receiver.as_deref() == Some(param);
        let given = call.name_args.iter().any(|a| a == param);
        self.catalogue.resources.iter().any(|r| {
            let rel = &r.release;
            (on_it
                && call.method.as_deref().is_some_and(|m| {
                    rel.methods
                        .iter()
                        .any(|x| x.strip_suffix("()").unwrap_or(x) == m)
                }))
                || (given
                    && (call
                        .method
                        .as_deref()
                        .is_some_and(|m| rel.receiver_methods.iter().any(|x| x == m))
                        || call
                            .resolved
                            .as_deref()
                            .is_some_and(|f| rel.functions.iter().any(|x| x == f))))
        }) || (given && self.handed_over(unit, call).iter().any(|a| a == param))
            // `pool.checkin(conn)`, `put_conn(conn)`: taken back to a
            // pool no catalogue entry knows.
            || (given
                && call
                    .method
                    .as_deref()
                    .or_else(|| call.callee.as_deref().map(crate::syntax::last_part))
                    .is_some_and(|name| super::learned::takes_back(name.trim_start_matches('_'))))
    }
}

/// The `return <name>` statements of a function's graph.
fn returns_of<'g, 't>(
    graph: &'g cfg::Cfg<'t>,
    name: &'g str,
    source: &'g str,
) -> impl Iterator<Item = Node<'t>> + 'g {
    graph
        .nodes
        .iter()
        .filter(|n| n.kind == cfg::Kind::Return)
        .filter_map(|n| n.syntax)
        .filter(move |r| {
            r.named_child(0)
                .is_some_and(|v| v.kind_name() == "identifier" && text(v, source) == name)
        })
}

/// Whether `node` is in an `except` handler that catches every exception
/// (bare, `BaseException` or `Exception`) and holds a `raise`.
fn in_catch_all_that_reraises(node: Node, source: &str) -> bool {
    let mut current = node.parent();
    while let Some(n) = current {
        match n.kind_name() {
            "except_clause" => {
                let caught: Vec<&str> = {
                    let mut cursor = n.walk();
                    n.named_children(&mut cursor)
                        .filter(|c| c.kind_name() != "block" && c.kind_name() != "comment")
                        .map(|c| text(c, source))
                        .collect()
                };
                let catches_all = match caught.as_slice() {
                    [] => true,
                    [one] => {
                        let class = one.split(" as ").next().unwrap_or(one).trim();
                        matches!(class, "BaseException" | "Exception")
                    }
                    _ => false,
                };
                let mut reraises = false;
                crate::syntax::walk(n, |c| {
                    reraises |= c.kind_name() == "raise_statement";
                    !reraises && !crate::syntax::is_nested_scope(c.kind_name())
                });
                return catches_all && reraises;
            }
            "function_definition" | "lambda" | "class_definition" => return false,
            _ => current = n.parent(),
        }
    }
    false
}

/// The names that closures the function returns use from it: `def
/// tracer(frame, ...): fd.write(...)` then `return tracer`, or `return
/// lambda: con.execute(q)`. The closure needs such a value open for as long
/// as it lives, so whoever holds the closure holds the value: the function
/// keeps what it was given.
fn returned_closures_use(function: Node, source: &str) -> HashSet<String> {
    let mut used = HashSet::new();
    let Some(body) = function.field("body") else {
        return used;
    };
    // Each nested function or lambda of the body (not those nested deeper),
    // by name; a lambda only when it is what a `return` gives.
    let mut closures: Vec<(Option<String>, Node)> = Vec::new();
    crate::syntax::walk(body, |n| match n.kind_name() {
        "function_definition" => {
            let name = n.field("name").map(|m| text(m, source).to_string());
            closures.push((name, n));
            false
        }
        "lambda" => {
            if n.parent()
                .is_some_and(|p| p.kind_name() == "return_statement")
            {
                closures.push((None, n));
            }
            false
        }
        kind => !crate::syntax::is_nested_scope(kind) || kind == "decorated_definition",
    });
    if closures.is_empty() {
        return used;
    }
    let mut returned: HashSet<&str> = HashSet::new();
    crate::syntax::walk(body, |n| {
        if n.kind_name() == "return_statement"
            && let Some(value) = n.named_child(0).filter(|v| v.kind_name() == "identifier")
        {
            returned.insert(text(value, source));
        }
        !crate::syntax::is_nested_scope(n.kind_name())
    });
    for (name, closure) in closures {
        if name.as_deref().is_some_and(|n| !returned.contains(n)) {
            continue;
        }
        let own = crate::syntax::parameter_names(closure, source);
        crate::syntax::walk(closure, |n| {
            if n.kind_name() == "identifier" {
                let name = text(n, source);
                if !own.iter().any(|p| p == name) {
                    used.insert(name.to_string());
                }
            }
            true
        });
    }
    used
}

/// Whether a function's body (not its nested functions) has a `return` with
/// a value.
fn returns_a_value(function: tree_sitter::Node) -> bool {
    let mut found = false;
    crate::syntax::walk(function, |n| {
        if found || (n != function && crate::syntax::is_nested_scope(n.kind_name())) {
            return false;
        }
        if n.kind_name() == "return_statement" && n.named_child_count() > 0 {
            found = true;
        }
        true
    });
    found
}

/// The test of the nearest `if` before `statement` in its block that tests
/// one of `params` (`if not block:`), has no `elif` or `else`, and whose
/// body always leaves the function (ends in `return` or `raise`):
/// `statement` runs only when that test is false.
fn earlier_exit_test<'t>(statement: Node<'t>, params: &[String], source: &str) -> Option<Node<'t>> {
    let tests_param = |test: Node| {
        let name = match test.kind_name() {
            "not_operator" => test.field("argument"),
            _ => Some(test),
        };
        name.is_some_and(|n| {
            n.kind_name() == "identifier" && params.iter().any(|p| p == text(n, source))
        })
    };
    let mut sibling = statement.prev_named_sibling();
    while let Some(earlier) = sibling {
        if earlier.kind_name() == "if_statement" {
            let mut cursor = earlier.walk();
            let branches = earlier
                .children_by_field_name("alternative", &mut cursor)
                .count();
            let leaves = earlier.field("consequence").is_some_and(|body| {
                let mut cursor = body.walk();
                body.named_children(&mut cursor)
                    .filter(|s| s.kind_name() != "comment")
                    .last()
                    .is_some_and(|last| {
                        matches!(last.kind_name(), "return_statement" | "raise_statement")
                    })
            });
            if branches == 0 && leaves && earlier.field("condition").is_some_and(tests_param) {
                return earlier.field("condition");
            }
        }
        sibling = earlier.prev_named_sibling();
    }
    None
}

/// For an assignment that is the body of `if name:` / `if not name:`, that
/// name and the truth of the test.
fn setting_test(assignment: Node) -> Option<(Node, bool)> {
    let statement = assignment.parent()?;
    let body = statement.parent()?;
    let test = body.parent().filter(|i| i.kind_name() == "if_statement")?;
    if test.field("consequence")?.id() != body.id() {
        return None;
    }
    let condition = test.field("condition")?;
    match condition.kind_name() {
        "identifier" => Some((condition, true)),
        "not_operator" => condition
            .field("argument")
            .filter(|a| a.kind_name() == "identifier")
            .map(|a| (a, false)),
        _ => None,
    }
}

/// Whether the statement making `call` is followed, in the same block, by
/// `return name`.
fn released_before_return(call: Node, name: &str, source: &str) -> bool {
    let mut statement = call;
    while let Some(parent) = statement.parent() {
        if parent.kind_name() == "block" {
            break;
        }
        if matches!(parent.kind_name(), "function_definition" | "lambda") {
            return false;
        }
        statement = parent;
    }
    let mut next = statement.next_named_sibling();
    while let Some(sibling) = next {
        if sibling.kind_name() == "return_statement"
            && sibling
                .named_child(0)
                .is_some_and(|v| v.kind_name() == "identifier" && text(v, source) == name)
        {
            return true;
        }
        next = sibling.next_named_sibling();
    }
    false
}

/// Whether a decorator's wrapper returns the call of what it wraps as it is:
/// `return func(*args, **kwargs)` (or awaited, or through a name bound to
/// it: `result = func(...)` ... `return result`), `func` being a parameter
/// of the decorator or of a function inside it; or returns the function
/// itself (`return func`: a decorator that registers it).
fn passes_result_on(decorator: Node, source: &str) -> bool {
    let mut params: HashSet<String> = HashSet::new();
    crate::syntax::walk(decorator, |n| {
        if n.kind_name() == "function_definition" {
            params.extend(crate::syntax::parameter_names(n, source));
        }
        true
    });
    let calls_param = |value: Node| {
        let value = if value.kind_name() == "await" {
            value.named_child(0).unwrap_or(value)
        } else {
            value
        };
        value.kind_name() == "call"
            && value
                .field("function")
                .is_some_and(|f| f.kind_name() == "identifier" && params.contains(text(f, source)))
    };
    let mut results: HashSet<&str> = HashSet::new();
    crate::syntax::walk(decorator, |n| {
        if n.kind_name() == "assignment"
            && let (Some(left), Some(right)) = (n.field("left"), n.field("right"))
            && left.kind_name() == "identifier"
            && calls_param(right)
        {
            results.insert(text(left, source));
        }
        true
    });
    let mut passes = false;
    crate::syntax::walk(decorator, |n| {
        if n.kind_name() == "return_statement"
            && let Some(value) = n.named_child(0)
        {
            passes |= calls_param(value)
                || (value.kind_name() == "identifier"
                    && (params.contains(text(value, source))
                        || results.contains(text(value, source))));
        }
        !passes
    });
    passes
}
