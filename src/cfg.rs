//! Control-flow graph of one Python function, built from the tree-sitter
//! tree. Every jump (`return`, `break`, `continue`, an exception) is threaded
//! through the `finally` bodies it crosses: each `finally` is copied once per
//! kind of exit that enters it, so a path that enters a `finally` by `return`
//! leaves it by `return` (Pyre's CFG sends such a return straight to the exit;
//! that is the bug the postmortem snippet would trip).

use crate::facts::{CallFact, FactContext, Facts, Use};
use crate::syntax::{NodeExt, text};
use std::collections::HashMap;
use tree_sitter::Node;

pub type NodeId = usize;

/// The kinds of exception that matter: ordinary ones (`Exception`
/// subclasses), the `OSError` of socket and file calls (which `except
/// OSError:` certainly catches), and cancellation (`asyncio.CancelledError`,
/// a `BaseException`, raised at an `await`), which `except Exception` does
/// not catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exc {
    Error,
    OsError,
    Cancel,
}

impl Exc {
    /// Whether it is an error rather than a cancellation.
    pub fn is_error(self) -> bool {
        self != Exc::Cancel
    }
}

/// What a call may do instead of returning, as far as leaking paths care.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Raises {
    /// Does not raise in practice (`range()`, `sock.settimeout()`).
    Never,
    /// Raises only `OSError` (`sock.connect()`, `os.open()`).
    OsError,
    /// May raise anything.
    Any,
    /// Never comes back: the process ends (`sys.exit()`) or the test
    /// stops (`pytest.fail()`).
    Ends,
}

/// Tells the graph builder what each call may raise.
pub type RaiseModel<'m> = &'m dyn Fn(&crate::facts::CallFact) -> Raises;

/// Tells the graph builder the one exception class a call raises, when it is
/// known (a helper whose only way out is `raise ValidationError(...)`).
pub type ClassModel<'m> = &'m dyn Fn(&crate::facts::CallFact) -> Option<String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edge {
    Normal,
    True,
    False,
    Raise(Exc),
    Return,
    Break,
    Continue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Entry,
    NormalExit,
    ErrorExit,
    CancelExit,
    /// A merge point with no syntax of its own.
    Join,
    /// A simple statement or an expression evaluated for its effects.
    Eval,
    /// A test with `True`/`False` successors.
    Cond,
    /// An `except` clause being entered.
    Handler,
    Return,
    Break,
    Continue,
    Raise,
    /// The top of a `for` loop: takes the next item or leaves.
    LoopHead,
    /// The start of one copy of a `finally` body.
    FinallyEntry,
}

#[derive(Debug)]
pub struct CfgNode<'t> {
    pub kind: Kind,
    pub syntax: Option<Node<'t>>,
    pub facts: Facts<'t>,
    pub succs: Vec<(Edge, NodeId)>,
}

#[derive(Debug)]
pub struct Cfg<'t> {
    pub nodes: Vec<CfgNode<'t>>,
    pub entry: NodeId,
    pub normal_exit: NodeId,
    pub error_exit: NodeId,
    pub cancel_exit: NodeId,
    /// The kinds of exception that can leave the function (uncaught), from
    /// calls or re-raised...
    pub escaping: Vec<Exc>,
    /// ...and the classes of the `raise Class(...)` statements that leave it
    /// directly.
    pub escaping_classes: Vec<String>,
}

/// Why a function's graph was not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildError {
    /// Blocks nested deeper than the analysis follows.
    TooDeep,
    /// More graph nodes than the budget (copies of nested `finally` bodies
    /// multiply).
    TooLarge,
}

/// Bounds that keep pathological input from exhausting the stack or memory.
pub const MAX_BLOCK_DEPTH: usize = 100;
pub const MAX_NODES: usize = 200_000;

pub struct FunctionShape {
    pub is_async: bool,
    /// `@contextmanager` generators: the caller's `with` body runs at the
    /// `yield`, and its exception is thrown in there.
    pub is_context_manager: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Jump {
    Return,
    Break,
    Continue,
    Raise(Exc),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Catches {
    No,
    Maybe,
    Definitely,
}

#[derive(Clone, Debug)]
struct HandlerCatch {
    error: Catches,
    os_error: Catches,
    cancel: Catches,
    /// The exception class names the clause lists (empty: bare `except:`).
    names: Vec<String>,
}

impl HandlerCatch {
    fn of(&self, exc: Exc) -> Catches {
        match exc {
            Exc::Error => self.error,
            Exc::OsError => self.os_error,
            Exc::Cancel => self.cancel,
        }
    }
}

enum FrameKind<'t> {
    Loop {
        head: NodeId,
        after: NodeId,
    },
    Handlers {
        handlers: Vec<(NodeId, HandlerCatch)>,
    },
    Finally {
        body: Node<'t>,
    },
    /// A `with` that may swallow the body's exception; `always` for test
    /// assertions (`pytest.raises`), where any other exception or a
    /// cancellation fails the test anyway and is no path worth reporting.
    Suppress {
        after: NodeId,
        always: bool,
        /// What it surely swallows: every error (`suppress(Exception)`),
        /// `OSError`s (`suppress(OSError)`), or nothing for sure.
        covers: Covers,
    },
}

/// The errors a `contextlib.suppress(...)` surely swallows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Covers {
    Nothing,
    OsErrors,
    AllErrors,
}

struct Frame<'t> {
    id: usize,
    kind: FrameKind<'t>,
}

type Pending = Vec<(NodeId, Edge)>;

pub fn build<'t>(
    function: Node<'t>,
    shape: &FunctionShape,
    cx: &FactContext,
    raises: RaiseModel,
    classes: ClassModel,
) -> Result<Cfg<'t>, BuildError> {
    let mut b = Builder {
        cx,
        raise_model: raises,
        class_model: classes,
        shape,
        nodes: Vec::new(),
        frames: Vec::new(),
        next_frame_id: 1,
        memo: HashMap::new(),
        handler_kinds: HashMap::new(),
        reraise: Vec::new(),
        depth: 0,
        error: None,
        exits: None,
        escaping: Vec::new(),
        escaping_classes: Vec::new(),
    };
    let entry = b.node(Kind::Entry, None, Facts::default());
    let normal_exit = b.node(Kind::NormalExit, None, Facts::default());
    let error_exit = b.node(Kind::ErrorExit, None, Facts::default());
    let cancel_exit = b.node(Kind::CancelExit, None, Facts::default());
    b.exits = Some((normal_exit, error_exit, cancel_exit));
    // A module's statements are its own children; a function's are in `body`.
    let body = if function.kind_name() == "module" {
        Some(function)
    } else {
        function.field("body")
    };
    let end = match body {
        Some(body) => b.block(body, vec![(entry, Edge::Normal)]),
        None => vec![(entry, Edge::Normal)],
    };
    b.connect(end, normal_exit);
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(Cfg {
        nodes: b.nodes,
        entry,
        normal_exit,
        error_exit,
        cancel_exit,
        escaping: b.escaping,
        escaping_classes: b.escaping_classes,
    })
}

struct Builder<'t, 'c> {
    cx: &'c FactContext<'c>,
    raise_model: RaiseModel<'c>,
    class_model: ClassModel<'c>,
    shape: &'c FunctionShape,
    nodes: Vec<CfgNode<'t>>,
    frames: Vec<Frame<'t>>,
    next_frame_id: usize,
    /// Where a jump leaving the frame with this id goes: one target per
    /// (frame, jump), so a `finally` is copied once per kind of exit, not once
    /// per statement that may raise.
    memo: HashMap<(usize, Jump), NodeId>,
    /// Which exceptions can enter each handler: a bare `raise` re-raises them.
    handler_kinds: HashMap<NodeId, Vec<Exc>>,
    reraise: Vec<Vec<Exc>>,
    depth: usize,
    error: Option<BuildError>,
    /// Normal, error and cancellation exits.
    exits: Option<(NodeId, NodeId, NodeId)>,
    /// The kinds of exception that leave the function.
    escaping: Vec<Exc>,
    /// The classes of `raise Class(...)` that leave the function directly.
    escaping_classes: Vec<String>,
}

impl<'t> Builder<'t, '_> {
    fn node(&mut self, kind: Kind, syntax: Option<Node<'t>>, facts: Facts<'t>) -> NodeId {
        if self.nodes.len() >= MAX_NODES {
            self.error = Some(BuildError::TooLarge);
        }
        self.nodes.push(CfgNode {
            kind,
            syntax,
            facts,
            succs: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn link(&mut self, from: NodeId, edge: Edge, to: NodeId) {
        if !self.nodes[from].succs.contains(&(edge, to)) {
            self.nodes[from].succs.push((edge, to));
        }
    }

    fn connect(&mut self, pending: Pending, to: NodeId) {
        for (from, edge) in pending {
            self.link(from, edge, to);
        }
    }

    /// A node entered from every pending edge.
    fn step(&mut self, kind: Kind, syntax: Node<'t>, facts: Facts<'t>, pending: Pending) -> NodeId {
        let id = self.node(kind, Some(syntax), facts);
        self.connect(pending, id);
        id
    }

    fn facts(&self, node: Node<'t>, usage: Use) -> Facts<'t> {
        Facts::of(node, usage, self.cx)
    }

    /// Whether a handler names only classes that some calls alone raise
    /// (`except HTTPError:`, see `Calls::raised_only_by`), and `body` makes
    /// one of those calls.
    fn names_only_classes_raised_in(&self, catch: &HandlerCatch, body: Node) -> bool {
        let table = &self.cx.catalogue.calls.raised_only_by;
        let exclusive = !catch.names.is_empty()
            && catch
                .names
                .iter()
                .all(|n| table.contains_key(n.trim_start_matches('_')));
        if !exclusive {
            return false;
        }
        let source = self.cx.source;
        let mut found = false;
        crate::syntax::walk(body, |n| {
            if found || crate::syntax::is_nested_scope(n.kind_name()) {
                return false;
            }
            if n.kind_name() == "call"
                && let Some(function) = n.field("function")
            {
                let method = (function.kind_name() == "attribute")
                    .then(|| function.field("attribute").map(|a| text(a, source)))
                    .flatten();
                let resolved = crate::syntax::dotted_name(function, source)
                    .map(|d| self.cx.imports.resolve(&d));
                found = self
                    .cx
                    .catalogue
                    .calls
                    .only_raised_by(resolved.as_deref(), method)
                    .any(|class| {
                        catch
                            .names
                            .iter()
                            .any(|n| n.trim_start_matches('_') == class)
                    });
            }
            !found
        });
        found
    }

    /// Exception edges out of a node that calls, awaits or yields.
    fn raises(&mut self, id: NodeId) {
        let f = &self.nodes[id].facts;
        let yields_in_cm = f.has_yield && self.shape.is_context_manager;
        let mut classes: Vec<String> = Vec::new();
        let mut kinds: Vec<Raises> = Vec::new();
        let awaiting = &self.cx.catalogue.calls.awaiting;
        // `asyncio.create_task(work())` only schedules the coroutine: what it
        // raises surfaces where the task is awaited, not here (`[calls.scheduling]`).
        let scheduling = &self.cx.catalogue.calls.scheduling;
        let schedules = |call: &CallFact| {
            call.resolved
                .as_deref()
                .is_some_and(|r| scheduling.has_function(r))
                || call
                    .method
                    .as_deref()
                    .is_some_and(|m| scheduling.has_method(m))
        };
        let scheduled: Vec<std::ops::Range<usize>> = f
            .calls
            .iter()
            .filter(|c| schedules(c))
            .filter_map(|c| c.node.field("arguments"))
            .map(|args| args.byte_range())
            .collect();
        for call in &f.calls {
            let start = call.node.start_byte();
            if call.awaited && scheduled.iter().any(|r| r.contains(&start)) {
                continue;
            }
            let mut kind = (self.raise_model)(call);
            // `await asyncio.wait_for(loop.sock_connect(...), 5)` raises what
            // the coroutine it runs raises (and a timeout, an `OSError`).
            let runs_coroutine = call
                .resolved
                .as_deref()
                .is_some_and(|r| awaiting.has_function(r))
                || call
                    .method
                    .as_deref()
                    .is_some_and(|m| awaiting.has_method(m));
            if runs_coroutine && !schedules(call) {
                let range = call.node.byte_range();
                let inner = f
                    .calls
                    .iter()
                    .filter(|c| c.node != call.node && range.contains(&c.node.start_byte()))
                    .map(|c| (self.raise_model)(c))
                    .max();
                if let Some(inner) = inner {
                    kind = inner.max(Raises::OsError);
                }
            }
            // A helper that raises one known class (`raise ValidationError`)
            // meets the handlers as that class does.
            match (kind, (self.class_model)(call)) {
                (Raises::Any | Raises::OsError, Some(class)) => classes.push(class),
                _ => kinds.push(kind),
            }
            // `urlopen(url)` also raises what only it raises (`HTTPError`),
            // which a handler naming only that class catches.
            if matches!(kind, Raises::Any | Raises::OsError) {
                let calls = &self.cx.catalogue.calls;
                classes.extend(
                    calls
                        .only_raised_by(call.resolved.as_deref(), call.method.as_deref())
                        .map(str::to_string),
                );
            }
        }
        for class in classes {
            let target = self.class_target(&class, self.frames.len());
            self.link(id, Edge::Raise(class_exc(&class)), target);
        }
        let f = &self.nodes[id].facts;
        // A call that raises anything and one that raises only `OSError` go
        // their own ways when a handler catches `OSError` alone.
        let any = yields_in_cm || kinds.contains(&Raises::Any);
        let os_error = kinds.contains(&Raises::OsError);
        let cancel = self.shape.is_async && (f.has_await || yields_in_cm);
        if any {
            self.raise_from(id, Exc::Error);
        }
        if os_error {
            self.raise_from(id, Exc::OsError);
        }
        if cancel {
            self.raise_from(id, Exc::Cancel);
        }
    }

    /// Whether the statement's own call never comes back (`sys.exit(1)`,
    /// `pytest.fail(...)`): nothing after it is a path.
    fn ends(&self, id: NodeId) -> bool {
        self.nodes[id]
            .facts
            .calls
            .iter()
            .any(|c| c.usage == Use::Discarded && (self.raise_model)(c) == Raises::Ends)
    }

    fn raise_from(&mut self, id: NodeId, exc: Exc) {
        let target = self.target(Jump::Raise(exc), self.frames.len());
        self.link(id, Edge::Raise(exc), target);
    }

    fn push_frame(&mut self, kind: FrameKind<'t>) {
        let id = self.next_frame_id;
        self.next_frame_id += 1;
        self.frames.push(Frame { id, kind });
    }

    /// The node a jump goes to when it leaves the innermost `depth` frames.
    fn target(&mut self, jump: Jump, depth: usize) -> NodeId {
        let key = (
            if depth == 0 {
                0
            } else {
                self.frames[depth - 1].id
            },
            jump,
        );
        if let Some(&t) = self.memo.get(&key) {
            return t;
        }
        let t = self.compute_target(jump, depth);
        self.memo.insert(key, t);
        t
    }

    /// Where a `raise` of the class `class` goes when it leaves the
    /// innermost `depth` frames: handlers are matched by name up to the
    /// first `finally` (or `with` that may swallow it), from where it goes
    /// on as any exception.
    fn class_target(&mut self, class: &str, depth: usize) -> NodeId {
        for i in (0..depth).rev() {
            match &self.frames[i].kind {
                FrameKind::Loop { .. } => continue,
                FrameKind::Handlers { handlers } => {
                    let handlers = handlers.clone();
                    let dispatch = self.node(Kind::Join, None, Facts::default());
                    let mut caught = false;
                    // A handler further down naming the class itself says
                    // the ones before it, naming other classes of the
                    // program, do not catch it (`except Timeout:` ... `except
                    // HTTPError:` around `raise_for_status()`).
                    let named =
                        |names: &[String]| names.iter().any(|n| n.trim_start_matches('_') == class);
                    let named_later = handlers.iter().any(|(_, c)| named(&c.names));
                    for (handler, catch) in handlers {
                        let mut c = catches_class(&catch.names, class);
                        if c == Catches::Maybe && named_later && !named(&catch.names) {
                            c = Catches::No;
                        }
                        if c == Catches::No {
                            continue;
                        }
                        self.link(dispatch, Edge::Normal, handler);
                        let kinds = self.handler_kinds.entry(handler).or_default();
                        if !kinds.contains(&Exc::Error) {
                            kinds.push(Exc::Error);
                        }
                        if c == Catches::Definitely {
                            caught = true;
                            break;
                        }
                    }
                    if !caught {
                        let onward = self.class_target(class, i);
                        self.link(dispatch, Edge::Normal, onward);
                    }
                    return dispatch;
                }
                _ => return self.target(Jump::Raise(class_exc(class)), i + 1),
            }
        }
        // Leaves the function with its class known.
        if !self.escaping_classes.iter().any(|c| c == class) {
            self.escaping_classes.push(class.to_string());
        }
        let (_, error, _) = self.exits.expect("exits are made first");
        error
    }

    fn compute_target(&mut self, jump: Jump, depth: usize) -> NodeId {
        for i in (0..depth).rev() {
            match &self.frames[i].kind {
                FrameKind::Loop { head, after } => match jump {
                    Jump::Break => return *after,
                    Jump::Continue => return *head,
                    _ => {}
                },
                FrameKind::Handlers { handlers } => {
                    let Jump::Raise(exc) = jump else { continue };
                    let handlers = handlers.clone();
                    let dispatch = self.node(Kind::Join, None, Facts::default());
                    let mut caught = false;
                    for (handler, catch) in handlers {
                        let c = catch.of(exc);
                        if c == Catches::No {
                            continue;
                        }
                        self.link(dispatch, Edge::Normal, handler);
                        let kinds = self.handler_kinds.entry(handler).or_default();
                        if !kinds.contains(&exc) {
                            kinds.push(exc);
                        }
                        if c == Catches::Definitely {
                            caught = true;
                            break;
                        }
                    }
                    if !caught {
                        let onward = self.target(jump, i);
                        self.link(dispatch, Edge::Normal, onward);
                    }
                    return dispatch;
                }
                FrameKind::Finally { body } => {
                    let body = *body;
                    let entry = self.node(Kind::FinallyEntry, None, Facts::default());
                    let outer = self.frames.split_off(i);
                    let end = self.block(body, vec![(entry, Edge::Normal)]);
                    self.frames.extend(outer);
                    if !end.is_empty() {
                        let onward = self.target(jump, i);
                        self.connect(end, onward);
                    }
                    return entry;
                }
                FrameKind::Suppress {
                    after,
                    always,
                    covers,
                } => {
                    if *always && jump == Jump::Raise(Exc::Cancel) {
                        // A test cancelled inside `pytest.raises` fails as a
                        // whole: a dead end, not a leak worth reporting.
                        return self.node(Kind::Join, None, Facts::default());
                    }
                    if let Jump::Raise(e) = jump
                        && e.is_error()
                    {
                        // `with suppress(OSError): os.remove(p)`: an
                        // `OSError` surely goes no further.
                        let swallowed = match covers {
                            Covers::AllErrors => true,
                            Covers::OsErrors => e == Exc::OsError,
                            Covers::Nothing => false,
                        };
                        let (after, always) = (*after, *always || swallowed);
                        let dispatch = self.node(Kind::Join, None, Facts::default());
                        self.link(dispatch, Edge::Normal, after);
                        if !always {
                            let onward = self.target(jump, i);
                            self.link(dispatch, Edge::Normal, onward);
                        }
                        return dispatch;
                    }
                }
            }
        }
        let (normal, error, cancel) = self.exits.expect("exits are made first");
        if let Jump::Raise(exc) = jump
            && !self.escaping.contains(&exc)
        {
            self.escaping.push(exc);
        }
        match jump {
            Jump::Raise(Exc::Error | Exc::OsError) => error,
            Jump::Raise(Exc::Cancel) => cancel,
            // `break`/`continue` outside a loop is a syntax error tree-sitter
            // accepts; treat it as leaving the function.
            Jump::Return | Jump::Break | Jump::Continue => normal,
        }
    }

    fn block(&mut self, block: Node<'t>, mut pending: Pending) -> Pending {
        let mut cursor = block.walk();
        let statements: Vec<Node<'t>> = block.named_children(&mut cursor).collect();
        for stmt in statements {
            if pending.is_empty() || self.error.is_some() {
                // Code after a `return`/`raise` never runs.
                break;
            }
            if stmt.kind_name() == "comment" {
                continue;
            }
            pending = self.statement(stmt, pending);
        }
        pending
    }

    fn statement(&mut self, stmt: Node<'t>, pending: Pending) -> Pending {
        match stmt.kind_name() {
            "if_statement" | "for_statement" | "while_statement" | "try_statement"
            | "with_statement" | "match_statement" => {
                self.depth += 1;
                if self.depth > MAX_BLOCK_DEPTH {
                    self.error = Some(BuildError::TooDeep);
                    self.depth -= 1;
                    return Vec::new();
                }
                let out = match stmt.kind_name() {
                    "if_statement" => self.if_statement(stmt, pending),
                    "for_statement" => self.for_statement(stmt, pending),
                    "while_statement" => self.while_statement(stmt, pending),
                    "try_statement" => self.try_statement(stmt, pending),
                    "with_statement" => self.with_statement(stmt, pending),
                    _ => self.match_statement(stmt, pending),
                };
                self.depth -= 1;
                out
            }
            "return_statement" => {
                let facts = self.facts(stmt, Use::Other);
                let id = self.step(Kind::Return, stmt, facts, pending);
                self.raises(id);
                let target = self.target(Jump::Return, self.frames.len());
                self.link(id, Edge::Return, target);
                Vec::new()
            }
            "break_statement" | "continue_statement" => {
                let (kind, edge, jump) = if stmt.kind_name() == "break_statement" {
                    (Kind::Break, Edge::Break, Jump::Break)
                } else {
                    (Kind::Continue, Edge::Continue, Jump::Continue)
                };
                let id = self.step(kind, stmt, Facts::default(), pending);
                let target = self.target(jump, self.frames.len());
                self.link(id, edge, target);
                Vec::new()
            }
            "raise_statement" => {
                let facts = self.facts(stmt, Use::Other);
                let id = self.step(Kind::Raise, stmt, facts, pending);
                if stmt.named_child_count() == 0 {
                    let kinds = self
                        .reraise
                        .last()
                        .cloned()
                        .unwrap_or_else(|| vec![Exc::Error]);
                    for exc in kinds {
                        self.raise_from(id, exc);
                    }
                } else if let Some(class) = raised_class(stmt, self.cx.source) {
                    // `raise TimeoutError(...)`: the handlers it meets are
                    // known to catch it or not.
                    let target = self.class_target(&class, self.frames.len());
                    // `raise SystemExit(1)` that nothing here catches ends
                    // the process, as `sys.exit(1)` does.
                    let exits_process = class == "SystemExit"
                        && self
                            .exits
                            .is_some_and(|(_, error_exit, _)| target == error_exit);
                    if !exits_process {
                        self.link(id, Edge::Raise(Exc::Error), target);
                    }
                } else {
                    self.raise_from(id, Exc::Error);
                }
                Vec::new()
            }
            "assert_statement" => {
                let facts = self.facts(stmt, Use::Other);
                let id = self.step(Kind::Eval, stmt, facts, pending);
                // `assert self._loop is not None`, `assert isinstance(x, T)`:
                // a statement of what holds (for the reader, for mypy), whose
                // failure is a bug, not a path a leak report should take.
                // An assert that checks input (`assert fmt in FORMATS`) can
                // fire and leak.
                if !states_an_invariant(stmt, self.cx.source) {
                    self.raise_from(id, Exc::Error);
                }
                vec![(id, Edge::Normal)]
            }
            "function_definition" | "class_definition" | "decorated_definition" => {
                // Defining a nested function runs none of its body.
                let id = self.step(Kind::Eval, stmt, Facts::default(), pending);
                vec![(id, Edge::Normal)]
            }
            _ => {
                let facts = self.facts(stmt, Use::Other);
                let id = self.step(Kind::Eval, stmt, facts, pending);
                if self.ends(id) {
                    return Vec::new();
                }
                self.raises(id);
                vec![(id, Edge::Normal)]
            }
        }
    }

    fn condition(&mut self, cond: Node<'t>, pending: Pending) -> NodeId {
        let facts = self.facts(cond, Use::Condition { negated: false });
        let id = self.step(Kind::Cond, cond, facts, pending);
        self.raises(id);
        id
    }

    fn if_statement(&mut self, stmt: Node<'t>, pending: Pending) -> Pending {
        let Some(cond) = stmt.field("condition") else {
            return pending;
        };
        let c = self.condition(cond, pending);
        let mut out = match stmt.field("consequence") {
            Some(body) => self.block(body, vec![(c, Edge::True)]),
            None => vec![(c, Edge::True)],
        };
        let mut otherwise = vec![(c, Edge::False)];
        let mut cursor = stmt.walk();
        let alternatives: Vec<Node<'t>> = stmt
            .children_by_field_name("alternative", &mut cursor)
            .collect();
        for alt in alternatives {
            match alt.kind_name() {
                "elif_clause" => {
                    let Some(cond) = alt.field("condition") else {
                        continue;
                    };
                    let c = self.condition(cond, std::mem::take(&mut otherwise));
                    if let Some(body) = alt.field("consequence") {
                        out.extend(self.block(body, vec![(c, Edge::True)]));
                    }
                    otherwise = vec![(c, Edge::False)];
                }
                _ => {
                    if let Some(body) = alt.field("body") {
                        out.extend(self.block(body, std::mem::take(&mut otherwise)));
                    }
                }
            }
        }
        out.extend(otherwise);
        out
    }

    /// The body of a loop whose test is `head`; `first` enters the body
    /// without a test (a loop known to run at least once).
    fn loop_body(
        &mut self,
        stmt: Node<'t>,
        head: NodeId,
        exit: Option<Edge>,
        first: Option<NodeId>,
    ) -> Pending {
        let after = self.node(Kind::Join, None, Facts::default());
        self.push_frame(FrameKind::Loop { head, after });
        if let Some(body) = stmt.field("body") {
            let mut entries = vec![(head, Edge::True)];
            entries.extend(first.map(|f| (f, Edge::True)));
            let end = self.block(body, entries);
            self.connect(end, head);
        }
        self.frames.pop();
        if let Some(edge) = exit {
            let end = match stmt.field("alternative").and_then(|a| a.field("body")) {
                Some(else_body) => self.block(else_body, vec![(head, edge)]),
                None => vec![(head, edge)],
            };
            self.connect(end, after);
        }
        vec![(after, Edge::Normal)]
    }

    fn for_statement(&mut self, stmt: Node<'t>, mut pending: Pending) -> Pending {
        if let Some(iterable) = stmt.field("right") {
            let facts = self.facts(iterable, Use::Other);
            let id = self.step(Kind::Eval, iterable, facts, pending);
            self.raises(id);
            pending = vec![(id, Edge::Normal)];
        }
        let mut facts = Facts::default();
        if let Some(left) = stmt.field("left") {
            crate::syntax::walk(left, |n| {
                if n.kind_name() == "identifier" {
                    facts.binds.push(text(n, self.cx.source).to_string());
                }
                !matches!(n.kind_name(), "attribute" | "subscript")
            });
        }
        // Over a tuple or list written out, the loop runs at least once.
        let right = stmt.field("right");
        let literal = right
            .filter(|r| matches!(r.kind_name(), "tuple" | "list") && r.named_child_count() > 0);
        // `for f in (a, b, c): f.close()`: the loop name is each of them in
        // turn, so what is done to it is done to all.
        if let (Some(left), Some(right)) = (stmt.field("left"), literal)
            && left.kind_name() == "identifier"
        {
            let loop_name = text(left, self.cx.source);
            let mut cursor = right.walk();
            for item in right.named_children(&mut cursor) {
                if item.kind_name() == "identifier" {
                    let item = text(item, self.cx.source).to_string();
                    facts.aliases.push((loop_name.to_string(), item));
                }
            }
        }
        // `async for` awaits the next item, so it can be cancelled there.
        facts.has_await = is_async(stmt);
        if literal.is_some() && !facts.has_await {
            // The first item is always there: the body is entered once
            // before any test of the head.
            let first = self.step(Kind::LoopHead, stmt, facts.clone(), pending);
            let head = self.node(Kind::LoopHead, Some(stmt), facts);
            return self.loop_body(stmt, head, Some(Edge::False), Some(first));
        }
        let head = self.step(Kind::LoopHead, stmt, facts, pending);
        if self.nodes[head].facts.has_await {
            self.raises(head);
        }
        self.loop_body(stmt, head, Some(Edge::False), None)
    }

    fn while_statement(&mut self, stmt: Node<'t>, pending: Pending) -> Pending {
        let Some(cond) = stmt.field("condition") else {
            return pending;
        };
        let head = self.condition(cond, pending);
        let endless = matches!(cond.kind_name(), "true")
            || (cond.kind_name() == "integer" && text(cond, self.cx.source) != "0");
        self.loop_body(stmt, head, (!endless).then_some(Edge::False), None)
    }

    fn try_statement(&mut self, stmt: Node<'t>, pending: Pending) -> Pending {
        let mut cursor = stmt.walk();
        let children: Vec<Node<'t>> = stmt.named_children(&mut cursor).collect();
        let finally_body = children
            .iter()
            .find(|c| c.kind_name() == "finally_clause")
            .and_then(|f| {
                f.named_children(&mut f.walk())
                    .find(|c| c.kind_name() == "block")
            });
        let else_body = children
            .iter()
            .find(|c| c.kind_name() == "else_clause")
            .and_then(|e| e.field("body"));
        let except_clauses: Vec<Node<'t>> = children
            .iter()
            .copied()
            .filter(|c| matches!(c.kind_name(), "except_clause" | "except_group_clause"))
            .collect();

        if let Some(body) = finally_body {
            self.push_frame(FrameKind::Finally { body });
        }
        let mut handlers = Vec::new();
        for clause in &except_clauses {
            let mut facts = Facts::default();
            if let Some(alias) = crate::syntax::except_alias(*clause) {
                facts.binds.push(text(alias, self.cx.source).to_string());
            }
            let id = self.node(Kind::Handler, Some(*clause), facts);
            let mut catch = handler_catch(*clause, self.cx.source);
            if let Some(body) = stmt.field("body")
                && self.names_only_classes_raised_in(&catch, body)
            {
                // It catches only what those calls raise, by class.
                catch.error = Catches::No;
                catch.os_error = Catches::No;
            }
            handlers.push((id, catch));
        }
        if !handlers.is_empty() {
            self.push_frame(FrameKind::Handlers {
                handlers: handlers.clone(),
            });
        }
        let mut out = match stmt.field("body") {
            Some(body) => self.block(body, pending),
            None => pending,
        };
        if !handlers.is_empty() {
            self.frames.pop();
        }
        if let Some(else_body) = else_body {
            out = self.block(else_body, out);
        }
        for (clause, (id, _)) in except_clauses.iter().zip(&handlers) {
            let kinds = self.handler_kinds.get(id).cloned().unwrap_or_default();
            if kinds.is_empty() {
                continue; // nothing in the body can raise into it
            }
            self.reraise.push(kinds);
            let body = clause
                .named_children(&mut clause.walk())
                .find(|c| c.kind_name() == "block");
            let end = match body {
                Some(body) => self.block(body, vec![(*id, Edge::Normal)]),
                None => vec![(*id, Edge::Normal)],
            };
            self.reraise.pop();
            out.extend(end);
        }
        if let Some(body) = finally_body {
            self.frames.pop();
            if !out.is_empty() {
                let entry = self.node(Kind::FinallyEntry, None, Facts::default());
                self.connect(out, entry);
                out = self.block(body, vec![(entry, Edge::Normal)]);
            }
        }
        out
    }

    fn with_statement(&mut self, stmt: Node<'t>, mut pending: Pending) -> Pending {
        let mut suppress = false;
        let mut suppress_always = false;
        let mut covers = Covers::Nothing;
        let clause = stmt
            .named_children(&mut stmt.walk())
            .find(|c| c.kind_name() == "with_clause");
        if let Some(clause) = clause {
            let mut cursor = clause.walk();
            let items: Vec<Node<'t>> = clause
                .named_children(&mut cursor)
                .filter(|c| c.kind_name() == "with_item")
                .collect();
            for item in items {
                let mut facts = self.facts(item, Use::Other);
                // `async with` awaits `__aenter__`.
                facts.has_await |= is_async(stmt);
                let mut only_swallowers = !facts.calls.is_empty();
                for call in &facts.calls {
                    match swallows_exceptions(call) {
                        Some(always) => {
                            suppress = true;
                            suppress_always |= always;
                            covers = suppressed_errors(call, self.cx.source);
                        }
                        None => only_swallowers = false,
                    }
                }
                let id = self.step(Kind::Eval, item, facts, pending);
                // Making a `suppress(...)` or `pytest.raises(...)` context
                // does not fail in practice: no exception edge for it.
                if !only_swallowers {
                    self.raises(id);
                }
                pending = vec![(id, Edge::Normal)];
            }
        }
        let after = self.node(Kind::Join, None, Facts::default());
        if suppress {
            self.push_frame(FrameKind::Suppress {
                after,
                always: suppress_always,
                covers,
            });
        }
        let end = match stmt.field("body") {
            Some(body) => self.block(body, pending),
            None => pending,
        };
        if suppress {
            self.frames.pop();
        }
        self.connect(end, after);
        vec![(after, Edge::Normal)]
    }

    fn match_statement(&mut self, stmt: Node<'t>, pending: Pending) -> Pending {
        let Some(subject) = stmt.field("subject") else {
            return pending;
        };
        let facts = self.facts(subject, Use::Other);
        let s = self.step(Kind::Eval, subject, facts, pending);
        self.raises(s);
        let mut next = vec![(s, Edge::Normal)];
        let mut out = Vec::new();
        let cases: Vec<Node<'t>> = stmt
            .field("body")
            .map(|b| {
                b.named_children(&mut b.walk())
                    .filter(|c| c.kind_name() == "case_clause")
                    .collect()
            })
            .unwrap_or_default();
        for case in cases {
            let guard = case.field("guard");
            let pattern = case.named_child(0).unwrap_or(case);
            let facts = guard.map(|g| self.facts(g, Use::Other)).unwrap_or_default();
            let c = self.step(Kind::Cond, pattern, facts, std::mem::take(&mut next));
            self.raises(c);
            if let Some(body) = case.field("consequence") {
                out.extend(self.block(body, vec![(c, Edge::True)]));
            }
            let irrefutable = guard.is_none() && text(pattern, self.cx.source).trim() == "_";
            if !irrefutable {
                next = vec![(c, Edge::False)];
            }
        }
        out.extend(next);
        out
    }
}

/// Context managers whose `with` body may end in an exception that the
/// `with` swallows: `Some(false)` for `contextlib.suppress` (it may not be
/// the suppressed type), `Some(true)` for the assertions of tests
/// (`pytest.raises`, `self.assertRaises`), where the exception is the point.
fn swallows_exceptions(call: &crate::facts::CallFact) -> Option<bool> {
    let resolved = call.resolved.as_deref().unwrap_or("");
    let test_assertion = matches!(resolved, "pytest.raises")
        || call
            .method
            .as_deref()
            .is_some_and(|m| matches!(m, "assertRaises" | "assertRaisesRegex"));
    if test_assertion {
        Some(true)
    } else if matches!(resolved, "contextlib.suppress" | "suppress") {
        Some(false)
    } else {
        None
    }
}

/// What `suppress(A, B)` surely swallows, from the classes it names.
fn suppressed_errors(call: &crate::facts::CallFact, source: &str) -> Covers {
    let Some(args) = call.node.field("arguments") else {
        return Covers::Nothing;
    };
    let mut cursor = args.walk();
    let names: Vec<&str> = args
        .named_children(&mut cursor)
        .map(|a| {
            let t = text(a, source);
            crate::syntax::last_part(t)
        })
        .collect();
    if names
        .iter()
        .any(|n| matches!(*n, "Exception" | "BaseException"))
    {
        Covers::AllErrors
    } else if names
        .iter()
        .any(|n| matches!(*n, "OSError" | "IOError" | "EnvironmentError" | "error"))
    {
        Covers::OsErrors
    } else {
        Covers::Nothing
    }
}

/// The class a `raise` names: `TimeoutError` for `raise TimeoutError("x")`
/// or `raise socket.timeout`; `None` for `raise err` (a variable).
/// Whether an `assert` states what the code already makes true rather than
/// checking input: `x is not None`, `isinstance(...)`, a bare name or
/// attribute (`assert self._transport`).
fn states_an_invariant(stmt: Node, source: &str) -> bool {
    let Some(test) = stmt.named_child(0) else {
        return false;
    };
    match test.kind_name() {
        "identifier" | "attribute" => true,
        "call" => test
            .field("function")
            .is_some_and(|f| matches!(text(f, source), "isinstance" | "callable" | "hasattr")),
        "comparison_operator" => {
            let compact: String = text(test, source)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            compact.ends_with(" is not None")
        }
        _ => false,
    }
}

fn raised_class(stmt: Node, source: &str) -> Option<String> {
    let expr = stmt.named_child(0)?;
    let callee = if expr.kind_name() == "call" {
        expr.field("function")?
    } else {
        expr
    };
    let dotted = crate::syntax::dotted_name(callee, source)?;
    let last = dotted.rsplit('.').next()?;
    last.starts_with(|c: char| c.is_ascii_uppercase())
        .then(|| last.to_string())
}

fn is_async(stmt: Node) -> bool {
    let mut cursor = stmt.walk();
    stmt.children(&mut cursor).any(|c| c.kind_name() == "async")
}

/// What an `except` clause catches, from the names of its types.
fn handler_catch(clause: Node, source: &str) -> HandlerCatch {
    let Some(value) = clause.field("value") else {
        // bare `except:`
        return HandlerCatch {
            error: Catches::Definitely,
            os_error: Catches::Definitely,
            cancel: Catches::Definitely,
            names: Vec::new(),
        };
    };
    let mut catch = HandlerCatch {
        error: Catches::No,
        os_error: Catches::No,
        cancel: Catches::No,
        names: Vec::new(),
    };
    let names = crate::syntax::caught_names(value, source);
    for name in &names {
        let (error, os_error, cancel) = match name.as_str() {
            "BaseException" => (
                Catches::Definitely,
                Catches::Definitely,
                Catches::Definitely,
            ),
            "Exception" => (Catches::Definitely, Catches::Definitely, Catches::No),
            // `socket.error`, `select.error` and `IOError` are `OSError`.
            "OSError" | "IOError" | "EnvironmentError" | "error" => {
                (Catches::Maybe, Catches::Definitely, Catches::No)
            }
            "CancelledError" | "KeyboardInterrupt" | "SystemExit" | "GeneratorExit" => {
                (Catches::No, Catches::No, Catches::Definitely)
            }
            n if is_os_error_subclass(n) => (Catches::Maybe, Catches::Maybe, Catches::No),
            _ => (Catches::Maybe, Catches::No, Catches::No),
        };
        catch.error = catch.error.max(error);
        catch.os_error = catch.os_error.max(os_error);
        catch.cancel = catch.cancel.max(cancel);
    }
    catch.names = names;
    catch
}

/// The builtin exception class `name` derives from, for the ones a handler
/// commonly names.
fn builtin_parent(name: &str) -> Option<&'static str> {
    Some(match name {
        "Exception" | "KeyboardInterrupt" | "SystemExit" | "GeneratorExit" | "CancelledError" => {
            "BaseException"
        }
        "ArithmeticError" | "AssertionError" | "AttributeError" | "BufferError" | "EOFError"
        | "ImportError" | "LookupError" | "MemoryError" | "NameError" | "OSError"
        | "ReferenceError" | "RuntimeError" | "StopIteration" | "StopAsyncIteration"
        | "SyntaxError" | "SystemError" | "TypeError" | "ValueError" | "Warning" => "Exception",
        "ZeroDivisionError" | "OverflowError" | "FloatingPointError" => "ArithmeticError",
        "ModuleNotFoundError" => "ImportError",
        "IndexError" | "KeyError" => "LookupError",
        "UnboundLocalError" => "NameError",
        "BlockingIOError" | "ChildProcessError" | "ConnectionError" | "FileExistsError"
        | "FileNotFoundError" | "InterruptedError" | "IsADirectoryError" | "NotADirectoryError"
        | "PermissionError" | "ProcessLookupError" | "TimeoutError" => "OSError",
        "BrokenPipeError"
        | "ConnectionAbortedError"
        | "ConnectionRefusedError"
        | "ConnectionResetError" => "ConnectionError",
        "NotImplementedError" | "RecursionError" => "RuntimeError",
        "UnicodeError" => "ValueError",
        "UnicodeDecodeError" | "UnicodeEncodeError" => "UnicodeError",
        _ => return None,
    })
}

/// The kind of a raised class: `OSError` and its builtin subclasses
/// (`TimeoutError`, `ConnectionError`) are what `except OSError:` catches.
pub fn class_exc(class: &str) -> Exc {
    let mut name = match class {
        "IOError" | "EnvironmentError" => "OSError",
        other => other,
    };
    loop {
        if name == "OSError" {
            return Exc::OsError;
        }
        match builtin_parent(name) {
            Some(parent) => name = parent,
            None => return Exc::Error,
        }
    }
}

/// Whether a handler naming `names` catches a `raise Class(...)` of the
/// class `class`. Builtin classes have a known ancestry; a class of the
/// program's own may derive from anything but `BaseException`'s other
/// children, so naming it or `Exception` catches it and other names may.
fn catches_class(names: &[String], class: &str) -> Catches {
    if names.is_empty() {
        return Catches::Definitely; // bare `except:`
    }
    // A private alias (`from ssl import CertificateError as
    // _CertificateError`) names the same class.
    let canonical = |n: &str| match n.trim_start_matches('_') {
        "IOError" | "EnvironmentError" | "error" => "OSError".to_string(),
        other => other.to_string(),
    };
    let mut ancestry = vec![canonical(class)];
    while let Some(parent) = builtin_parent(ancestry.last().map_or("", String::as_str)) {
        ancestry.push(parent.to_string());
    }
    let builtin = ancestry.len() > 1 || class == "BaseException";
    let mut best = Catches::No;
    for name in names.iter().map(|n| canonical(n)) {
        let c = if ancestry.contains(&name)
            || name == "BaseException"
            || (!builtin && name == "Exception")
        {
            Catches::Definitely
        } else if builtin || builtin_parent(&name) == Some("BaseException") {
            // Nothing of the program's derives from a builtin it is not
            // named after; `KeyboardInterrupt` and the like catch no `Exception`.
            Catches::No
        } else {
            Catches::Maybe
        };
        best = best.max(c);
    }
    best
}

/// Subclasses of `OSError` a handler may name: they catch some socket and
/// file errors, not all.
fn is_os_error_subclass(name: &str) -> bool {
    matches!(
        name,
        "ConnectionError"
            | "ConnectionResetError"
            | "ConnectionRefusedError"
            | "ConnectionAbortedError"
            | "BrokenPipeError"
            | "TimeoutError"
            | "timeout"
            | "gaierror"
            | "herror"
            | "SSLError"
            | "SSLEOFError"
            | "CertificateError"
            | "SSLCertVerificationError"
            | "FileNotFoundError"
            | "FileExistsError"
            | "PermissionError"
            | "IsADirectoryError"
            | "NotADirectoryError"
            | "InterruptedError"
            | "BlockingIOError"
            | "ChildProcessError"
            | "ProcessLookupError"
    )
}

impl Cfg<'_> {
    /// The graph as Mermaid flowchart text, for snapshot tests and debugging.
    pub fn to_mermaid(&self, source: &str) -> String {
        let mut out = String::from("flowchart TD\n");
        for (id, node) in self.nodes.iter().enumerate() {
            let label = match node.syntax {
                Some(s) => {
                    let t = text(s, source)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim()
                        .replace('"', "'");
                    format!("{:?}: {t}", node.kind)
                }
                None => format!("{:?}", node.kind),
            };
            out.push_str(&format!("    n{id}[\"{label}\"]\n"));
        }
        for (id, node) in self.nodes.iter().enumerate() {
            for (edge, to) in &node.succs {
                let label = match edge {
                    Edge::Normal => String::new(),
                    other => format!("|{other:?}|"),
                };
                out.push_str(&format!("    n{id} -->{label} n{to}\n"));
            }
        }
        out
    }
}

/// Builds the graph of the first function named `name` in `source` and
/// renders it as Mermaid text.
pub fn mermaid_for(
    source: &str,
    name: &str,
    catalogue: &crate::rules::Catalogue,
) -> Option<String> {
    let tree = crate::syntax::parse(source)?;
    let imports = crate::syntax::Imports::collect(tree.root_node(), source);
    let mut found = None;
    crate::syntax::walk(tree.root_node(), |n| {
        if found.is_none()
            && n.kind_name() == "function_definition"
            && n.field("name").is_some_and(|x| text(x, source) == name)
        {
            found = Some(n);
        }
        found.is_none()
    });
    let function = found?;
    let shape = FunctionShape {
        is_async: function.child(0).is_some_and(|c| c.kind_name() == "async"),
        is_context_manager: false,
    };
    let cx = FactContext {
        source,
        imports: &imports,
        catalogue,
        yield_transfers: false,
        parameters: None,
        locals: None,
        classes: None,
    };
    build(
        function,
        &shape,
        &cx,
        &|call| crate::raising::classify(call, source, &catalogue.calls, None),
        &|_| None,
    )
    .ok()
    .map(|g| g.to_mermaid(source))
}
