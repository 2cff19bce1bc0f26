//! Following one acquisition through the graph: a breadth-first search over
//! (node, what the path knows, whether a lazy resource is live) for the ways
//! the resource leaves the function still held. The explored states and
//! transitions are kept, so that `explain` can pick the most convincing
//! leaking path for each exit and show it step by step.

use super::conditions::{Conditions, Knowledge};
use super::{Acquisition, FunctionContext, Holder};
use crate::cfg::{Cfg, CfgNode, Edge, Kind, NodeId};
use crate::facts::CallFact;
use crate::rules::{Awaited, Resource};
use crate::syntax::NodeExt;
use std::collections::{HashMap, HashSet, VecDeque};
use tree_sitter::Node;

/// Path-sensitive states explored per acquisition before the search gives up
/// on correlating conditions and runs again without (a handful of flags in
/// a long function would otherwise multiply the states).
const STATE_BUDGET_PER_NODE: usize = 16;
const STATE_BUDGET_MIN: usize = 4096;

/// How much of the conditions a search follows. A long function full of
/// flags can make the full search exceed its budget; the second mode still
/// prunes the paths that contradict what was known when the resource was
/// acquired (`p = Popen(...)` then `if not p:`), but learns nothing new from
/// later tests, so knowledge only shrinks and states barely multiply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sensitivity {
    Full,
    KnownAtAcquisition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct State {
    pub(super) node: NodeId,
    knowledge: Knowledge,
    /// For lazy resources: whether it holds something now. Always true for
    /// the others.
    live: bool,
    /// Still on the straight line after the acquisition (no branch taken):
    /// what the second mode learns there (`f = open(p)` then `owned =
    /// True`) counts as known at the acquisition.
    straight: bool,
}

/// How a path that still holds the resource ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escape {
    /// At the normal, error or cancellation exit of the function.
    Exit,
    /// The only name that holds it is rebound at this state's node.
    Overwrite,
}

pub(super) struct Explored<'c, 't> {
    pub(super) states: Vec<State>,
    /// How each state was first reached: (previous state, edge taken).
    pub(super) parent: Vec<Option<(usize, Edge)>>,
    /// Every transition explored: (from, edge, to).
    pub(super) transitions: Vec<(usize, Edge, usize)>,
    pub(super) escapes: Vec<(usize, Escape)>,
    /// The first release reached that is a coroutine never awaited.
    pub(super) unawaited: Option<(usize, &'c CallFact<'t>)>,
    /// Where the resource is released on the paths that do release it.
    pub(super) released_at: Option<Node<'t>>,
}

enum Effect<'c, 't> {
    None,
    /// Released (at this call or `with`), or handed to a new owner (`None`).
    Released(Option<Node<'t>>),
    Overwritten,
    UnawaitedRelease(&'c CallFact<'t>),
    /// Handed over if the call returns; still held if it raises.
    HandedOverOnSuccess,
    /// A release that gives up after a timeout (`proc.wait(timeout=30)`):
    /// released when it returns, not when it raises `TimeoutExpired`.
    ReleasedOnSuccess(Node<'t>),
    /// A call that releases the resource when it raises, and only then
    /// (see `Release::when_they_fail`).
    ReleasedOnFailure,
}

impl FunctionContext<'_> {
    /// Searches from the acquisition. `before` is what every path knows on
    /// reaching it; right after it, the names that hold the resource are
    /// known to hold an object (`if conn is None:` is then false).
    pub(super) fn search<'c, 't>(
        &self,
        graph: &'c Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        names: &HashSet<String>,
        conditions: &Conditions,
        before: Knowledge,
    ) -> Explored<'c, 't> {
        let sensitive = !conditions.is_empty();
        let budget = (graph.nodes.len() * STATE_BUDGET_PER_NODE).max(STATE_BUDGET_MIN);
        if sensitive {
            for mode in [Sensitivity::Full, Sensitivity::KnownAtAcquisition] {
                let found =
                    self.explore(graph, acq, names, Some((conditions, mode)), before, budget);
                if let Some(done) = found {
                    return done;
                }
            }
        }
        self.explore(graph, acq, names, None, Knowledge::default(), usize::MAX)
            .expect("an insensitive search has no budget")
    }

    /// The tests with a branch on which the resource is not held, and that
    /// branch, worked out once per search: `if fd > 2: os.close(fd)` (the
    /// other branch is a standard stream, the process's own), `if
    /// isinstance(sock, socket.socket)` (the other branch is something
    /// else: a helper that returns the socket or the error), `if
    /// lock.locked(): lock.release()` (on the other branch it is not held).
    fn empty_branches(
        &self,
        graph: &Cfg,
        acq: &Acquisition,
        names: &HashSet<String>,
    ) -> HashMap<NodeId, Edge> {
        let mut out = HashMap::new();
        let loop_again = match &acq.holder {
            Holder::Receiver { receiver, .. } => {
                acquiring_loop(acq.call.node, receiver, self.source).map(
                    |(acquiring, left, right)| {
                        move |other: Node| {
                            other.kind_name() == "for_statement"
                                && other.id() != acquiring.id()
                                && other.field("left").is_some_and(|l| {
                                    crate::syntax::compact_text(l, self.source) == left
                                })
                                && other.field("right").is_some_and(|r| {
                                    crate::syntax::compact_text(r, self.source) == right
                                })
                        }
                    },
                )
            }
            Holder::Value { .. } => None,
        };
        for (id, node) in graph.nodes.iter().enumerate() {
            if node.kind == Kind::LoopHead
                && let Some(head) = node.syntax
                && loop_again.as_ref().is_some_and(|again| again(head))
            {
                // `for op in parts: op.lock.acquire()` ... `for op in parts:
                // op.lock.release()`: the locks were taken one per item, so
                // the second loop over the same items is not empty.
                out.insert(id, Edge::False);
                continue;
            }
            let Some(test) = node.syntax.filter(|_| node.kind == Kind::Cond) else {
                continue;
            };
            let unlocked = || match &acq.holder {
                Holder::Receiver { receiver, .. } => unlocked_branch(test, receiver, self.source),
                Holder::Value { .. } => None,
            };
            let closed = || match &acq.holder {
                Holder::Value { .. } => closed_branch(test, names, self.source),
                Holder::Receiver { .. } => None,
            };
            if let Some(edge) = standard_stream_branch(test, names, self.source)
                .or_else(|| other_type_branch(test, names, acq.rule, self.source))
                .or_else(unlocked)
                .or_else(closed)
            {
                out.insert(id, edge);
            }
        }
        out
    }

    fn explore<'c, 't>(
        &self,
        graph: &'c Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        names: &HashSet<String>,
        conditions: Option<(&Conditions, Sensitivity)>,
        start: Knowledge,
        budget: usize,
    ) -> Option<Explored<'c, 't>> {
        // (A lock's receiver was just called on: it is no `None` either,
        // `if lock is not None: lock.release()`.)
        let held_names: Vec<&str> = match &acq.holder {
            Holder::Value { var } => vec![var.as_str()],
            Holder::Receiver { result, receiver } => result
                .iter()
                .map(String::as_str)
                .chain(std::iter::once(receiver.as_str()))
                .collect(),
        };
        let empty_branches = self.empty_branches(graph, acq, names);
        let mut out = Explored {
            states: Vec::new(),
            parent: Vec::new(),
            transitions: Vec::new(),
            escapes: Vec::new(),
            unawaited: None,
            released_at: None,
        };
        let mut index: HashMap<State, usize> = HashMap::new();
        let mut queue = VecDeque::new();
        let lazy = acq.rule.lazy.is_some();
        let origin = State {
            node: acq.node,
            knowledge: start,
            // A lazy resource holds nothing until used.
            live: !lazy,
            straight: matches!(conditions, Some((_, Sensitivity::KnownAtAcquisition))),
        };
        // The origin is not indexed: coming back to the acquisition (the next
        // turn of a loop) is a new state, where the name is rebound.
        out.states.push(origin);
        out.parent.push(None);
        queue.push_back(0);
        while let Some(current) = queue.pop_front() {
            let state = out.states[current];
            let node = &graph.nodes[state.node];
            let at_start = current == 0;
            let mut only_raises = false;
            let mut only_normal = false;
            if !at_start {
                match self.effect(node, acq, names) {
                    Effect::Released(at) => {
                        if let Some(at) = at {
                            out.released_at.get_or_insert(at);
                        }
                        continue;
                    }
                    Effect::Overwritten if state.live => {
                        out.escapes.push((current, Escape::Overwrite));
                        continue;
                    }
                    Effect::Overwritten => continue, // an idle lazy object: nothing is lost
                    Effect::UnawaitedRelease(call) => {
                        out.unawaited.get_or_insert((current, call));
                    }
                    Effect::HandedOverOnSuccess => only_raises = true,
                    Effect::ReleasedOnSuccess(at) => {
                        out.released_at.get_or_insert(at);
                        only_raises = true;
                    }
                    // (Not where it is released: on the paths that go on,
                    // it is not.)
                    Effect::ReleasedOnFailure => only_normal = true,
                    Effect::None => {}
                }
                if matches!(
                    node.kind,
                    Kind::NormalExit | Kind::ErrorExit | Kind::CancelExit
                ) {
                    // `__init__` returned: the new object has it.
                    // `main()` returned: the program ends.
                    let kept =
                        (acq.kept_by_new_object || acq.kept_past_return || self.returns_end_run)
                            && node.kind == Kind::NormalExit;
                    if state.live && !kept {
                        out.escapes.push((current, Escape::Exit));
                    }
                    continue;
                }
            }
            let exhausts = !at_start && self.loop_exhausts(node, acq, names);
            let read_out = !at_start && self.read_until_empty(node, acq, names);
            for &(edge, next) in &node.succs {
                if only_raises && !matches!(edge, Edge::Raise(_)) {
                    continue;
                }
                if only_normal && matches!(edge, Edge::Raise(_)) {
                    continue;
                }
                // `for chunk in resp.iter_content(): ...` run to its end has
                // read the body to its end.
                if (exhausts && edge == Edge::False) || (read_out && edge == Edge::True) {
                    if let Some(at) = node.syntax {
                        out.released_at.get_or_insert(at);
                    }
                    continue;
                }
                if at_start {
                    if matches!(edge, Edge::Raise(_)) {
                        continue; // the acquiring call's own exception leaks nothing
                    }
                    if acq.held_edge.is_some_and(|held| held != edge) {
                        continue;
                    }
                }
                if next == acq.node && matches!(acq.holder, Holder::Receiver { .. }) {
                    continue; // re-acquiring a held lock is not a leak of this one
                }
                if empty_branches.get(&state.node) == Some(&edge) {
                    continue;
                }
                let knowledge = match conditions {
                    Some((c, mode)) => match c.step(
                        state.node,
                        edge,
                        // `if (fd := open_fd(path)) is None:` tests the
                        // value just acquired: an object, not `None`.
                        if at_start {
                            held_names.iter().fold(state.knowledge, |mut k, name| {
                                c.holds_object(&mut k, name, acq.call.callee.as_deref());
                                k
                            })
                        } else {
                            state.knowledge
                        },
                    ) {
                        Some(mut k) => {
                            if at_start {
                                for name in &held_names {
                                    c.holds_object(&mut k, name, acq.call.callee.as_deref());
                                }
                            } else if mode == Sensitivity::KnownAtAcquisition && !state.straight {
                                k = k.within(state.knowledge);
                            }
                            // `sock = wrap(sock)`: the name holds the wrapper,
                            // an object too.
                            if !at_start && !matches!(edge, Edge::Raise(_)) {
                                for name in node.facts.rebound_from_self.iter() {
                                    if names.contains(name) {
                                        c.holds_object(&mut k, name, None);
                                    }
                                }
                                // `for fd in (r, w):` (or `fd = r`): the new
                                // name holds the object too, never `None`.
                                for (new, old) in &node.facts.aliases {
                                    if names.contains(old) {
                                        c.holds_object(&mut k, new, None);
                                    }
                                }
                            }
                            k
                        }
                        None => continue, // contradicts what the path knows
                    },
                    None => state.knowledge,
                };
                let live = if lazy {
                    self.live_after(node, acq.rule, names, state.live, edge)
                } else {
                    true
                };
                let target = State {
                    node: next,
                    knowledge,
                    live,
                    straight: state.straight && edge == Edge::Normal,
                };
                let id = match index.get(&target) {
                    Some(&id) => id,
                    None => {
                        if out.states.len() >= budget {
                            return None;
                        }
                        let id = out.states.len();
                        out.states.push(target);
                        out.parent.push(Some((current, edge)));
                        index.insert(target, id);
                        queue.push_back(id);
                        id
                    }
                };
                out.transitions.push((current, edge, id));
            }
        }
        Some(out)
    }

    /// Whether a lazy resource holds something after `node`: a call such as
    /// `session.execute()` makes it live, `session.commit()` gives it back.
    fn live_after(
        &self,
        node: &CfgNode,
        rule: &Resource,
        names: &HashSet<String>,
        live: bool,
        edge: Edge,
    ) -> bool {
        let Some(lazy) = &rule.lazy else { return true };
        let mut now = live;
        let on_names =
            |receiver: &Option<String>| receiver.as_ref().is_some_and(|r| names.contains(r));
        for call in &node.facts.calls {
            let Some(method) = &call.method else { continue };
            if !on_names(&call.receiver) {
                continue;
            }
            if lazy.live.contains(method)
                || (lazy.started_by.contains(method) && !matches!(edge, Edge::Raise(_)))
            {
                now = true;
            } else if lazy.idle.contains(method) && !matches!(edge, Edge::Raise(_)) {
                // A failed `commit()` still holds the connection.
                now = false;
            }
        }
        let read_live = node
            .facts
            .attribute_reads
            .iter()
            .any(|(obj, attr)| names.contains(obj) && lazy.live.contains(attr));
        now || read_live
    }

    /// Whether `node` is the head of a `for` loop over what one of the
    /// resource's `exhausted-by` methods returns (`for chunk in
    /// tqdm(resp.iter_content(4096)):`): leaving it by its end releases.
    fn loop_exhausts(&self, node: &CfgNode, acq: &Acquisition, names: &HashSet<String>) -> bool {
        let methods = &acq.rule.release.exhausted_by;
        if methods.is_empty() || node.kind != Kind::LoopHead {
            return false;
        }
        let Some(iterable) = node
            .syntax
            .filter(|s| s.kind_name() == "for_statement")
            .and_then(|s| s.field("right"))
        else {
            return false;
        };
        let mut found = false;
        crate::syntax::walk(iterable, |n| {
            if let Some((object, method)) = crate::syntax::method_call(n, self.source) {
                found |= methods.iter().any(|m| m == method)
                    && names.contains(crate::syntax::text(object, self.source));
            }
            !found
        });
        found
    }

    /// Whether `node` is the test that leaves a loop reading the resource
    /// in chunks once a read comes back empty: `if not chunk: break` right
    /// after `chunk = resp.read(8192)`. Its true branch has read the
    /// resource to its end.
    fn read_until_empty(&self, node: &CfgNode, acq: &Acquisition, names: &HashSet<String>) -> bool {
        let methods = &acq.rule.release.read_until_empty;
        if methods.is_empty() || node.kind != Kind::Cond {
            return false;
        }
        let Some(test) = node.syntax else {
            return false;
        };
        let Some(statement) = test.parent().filter(|p| {
            p.kind_name() == "if_statement"
                && p.field("condition") == Some(test)
                && p.field("alternative").is_none()
                && p.field("consequence").is_some_and(|body| {
                    body.named_child_count() == 1
                        && body
                            .named_child(0)
                            .is_some_and(|b| b.kind_name() == "break_statement")
                })
        }) else {
            return false;
        };
        let chunk = match (test.kind_name(), test.field("argument")) {
            ("not_operator", Some(name)) if name.kind_name() == "identifier" => {
                crate::syntax::text(name, self.source)
            }
            _ => return false,
        };
        // The statement before it reads the chunk.
        let Some(read) = statement
            .prev_named_sibling()
            .filter(|p| p.kind_name() == "expression_statement")
            .and_then(|p| p.named_child(0))
            .filter(|a| a.kind_name() == "assignment")
        else {
            return false;
        };
        read.field("left")
            .is_some_and(|l| crate::syntax::text(l, self.source) == chunk)
            && read
                .field("right")
                .and_then(|r| crate::syntax::method_call(r, self.source))
                .is_some_and(|(object, method)| {
                    methods.iter().any(|m| m == method)
                        && names.contains(crate::syntax::text(object, self.source))
                })
    }

    /// What a node does to the tracked obligation.
    fn effect<'c, 't>(
        &self,
        node: &'c CfgNode<'t>,
        acq: &Acquisition<'t, '_>,
        names: &HashSet<String>,
    ) -> Effect<'c, 't> {
        let release = &acq.rule.release;
        let facts = &node.facts;
        let mut unawaited = None;
        for call in &facts.calls {
            // `await session.close()` releases the responses it handed out.
            if let Some((receiver, parent)) = acq.parent
                && call.receiver.as_deref() == Some(receiver)
                && call
                    .method
                    .as_ref()
                    .is_some_and(|m| parent.release.methods.contains(m))
            {
                return Effect::Released(Some(call.node));
            }
            if matches!(acq.holder, Holder::Value { .. })
                && call.receiver.as_ref().is_some_and(|r| names.contains(r))
                && call
                    .method
                    .as_ref()
                    .is_some_and(|m| release.when_they_fail.contains(m))
            {
                return Effect::ReleasedOnFailure;
            }
            // A helper that releases it when it fails, and raises again.
            if matches!(acq.holder, Holder::Value { .. })
                && self.releases_when_it_fails(call, names)
            {
                return Effect::ReleasedOnFailure;
            }
            if matches!(acq.holder, Holder::Value { .. }) && self.hands_over(call, names) {
                // A helper of this file releases or keeps it.
                return Effect::Released(Some(call.node));
            }
            if let Holder::Receiver { receiver, .. } = &acq.holder
                && self.passes_lock_on(call, receiver)
            {
                return Effect::Released(None);
            }
            // `self._dispatch(data)`, a method that gives the lock back.
            if call.receiver.as_deref() == Some("self")
                && call
                    .method
                    .as_ref()
                    .is_some_and(|m| acq.given_back_by.contains(m))
            {
                return Effect::Released(Some(call.node));
            }
            if !releases(call, acq.rule, &acq.holder, names) {
                continue;
            }
            let must_await = match release.awaited {
                Awaited::Never => false,
                Awaited::Always => true,
                Awaited::LikeAcquire => acq.call.awaited,
            };
            if must_await && !call.awaited {
                unawaited.get_or_insert(call);
                continue;
            }
            // `proc.wait(timeout=30)` that times out has waited for nothing;
            // a `close(timeout=...)` that times out has still closed (what
            // it waited for is a graceful end).
            let closes = matches!(call.method.as_deref(), Some("close" | "aclose"));
            if !closes && call.keywords.iter().any(|k| k.starts_with("timeout=")) {
                return Effect::ReleasedOnSuccess(call.node);
            }
            // Reading a response to its end gives its connection back; a
            // read that fails half-way (a timeout, a reset) does not.
            if consumes(call, acq.rule) {
                return Effect::ReleasedOnSuccess(call.node);
            }
            return Effect::Released(Some(call.node));
        }
        // `fh = lock.acquire(); ... return fh`: what the acquire gave (the
        // handle of the held lock, or its answer) goes to the caller with
        // the lock. (Given to a call, it is only looked at.)
        if let Holder::Receiver {
            result: Some(result),
            ..
        } = &acq.holder
            && node
                .syntax
                .filter(|s| s.kind_name() == "return_statement")
                .and_then(|s| s.named_child(0))
                .is_some_and(|value| crate::syntax::text(value, self.source) == result)
        {
            return Effect::Released(None);
        }
        if let Holder::Value { var } = &acq.holder {
            // `self._channel = connection.channel()`: the child that is
            // handed over holds this resource.
            let child_kept = facts.calls.iter().any(|call| {
                call.usage.escapes()
                    && call.receiver.as_ref().is_some_and(|r| names.contains(r))
                    && call.method.as_ref().is_some_and(|m| {
                        self.catalogue.resources.iter().any(|child| {
                            child.keeps_parent
                                && child.acquire.from.contains(&acq.rule.id)
                                && child.acquire.methods.contains(m)
                        })
                    })
            });
            if child_kept {
                return Effect::Released(None);
            }
            if acq.rule.with_releases && facts.managed.iter().any(|m| names.contains(m)) {
                return Effect::Released(node.syntax);
            }
            // `data = response.content`: the body read to its end.
            if facts.attribute_reads.iter().any(|(object, attribute)| {
                names.contains(object) && acq.rule.release.attributes.contains(attribute)
            }) {
                return Effect::Released(node.syntax);
            }
            // `async with ClientSession() as session:` ends, closing the
            // responses it handed out, as `await session.close()` does.
            if let Some((receiver, parent)) = acq.parent
                && acq.rule.released_with_parent
                && parent.with_releases
                && facts.managed.iter().any(|m| m == receiver)
            {
                return Effect::Released(node.syntax);
            }
            if facts.escapes.iter().any(|e| names.contains(e))
                || (acq.rule.kept_by_parts && facts.parts_escape.iter().any(|e| names.contains(e)))
                || facts
                    .method_parts_escape
                    .iter()
                    .any(|(e, m)| names.contains(e) && acq.rule.part_methods.contains(m))
            {
                return Effect::Released(None);
            }
            if facts.escapes_on_success.iter().any(|e| names.contains(e)) {
                return Effect::HandedOverOnSuccess;
            }
            // `stream = Wrapper(sock)` with nothing that closes `stream`
            // here: the new object owns it.
            if facts
                .wraps
                .iter()
                .any(|(new, old)| names.contains(old) && !names.contains(new))
            {
                return Effect::Released(None);
            }
            // Rebinding the only name that holds it drops the resource,
            // unless the new value is made from the old (`sock = wrap(sock)`).
            if facts.binds.contains(var)
                && names.len() == 1
                && !facts.rebound_from_self.contains(var)
            {
                return Effect::Overwritten;
            }
        }
        match unawaited {
            Some(call) => Effect::UnawaitedRelease(call),
            None => Effect::None,
        }
    }
}

/// Whether `call` releases the obligation held by `holder` (under `names`).
pub(super) fn releases(
    call: &CallFact,
    rule: &Resource,
    holder: &Holder,
    names: &HashSet<String>,
) -> bool {
    let release = &rule.release;
    let method_in = |list: &[String]| {
        call.method
            .as_ref()
            .is_some_and(|m| list.iter().any(|r| release_method_matches(r, m, call)))
    };
    let takes_it = || call.name_args.iter().any(|a| names.contains(a));
    // `writer.transport.close()` for `transport.close`: the method on an
    // attribute of the resource.
    let on_attribute = || {
        let (Some(receiver), Some(method)) = (&call.receiver, &call.method) else {
            return false;
        };
        release.methods.iter().any(|pattern| {
            pattern.split_once('.').is_some_and(|(attr, m)| {
                m == method
                    && receiver
                        .strip_suffix(attr)
                        .and_then(|r| r.strip_suffix('.'))
                        .is_some_and(|owner| names.contains(owner))
            })
        })
    };
    match holder {
        Holder::Value { .. } => {
            (method_in(&release.methods)
                && call.receiver.as_ref().is_some_and(|r| names.contains(r)))
                || on_attribute()
                || (method_in(&release.receiver_methods) && takes_it())
                || (call
                    .resolved
                    .as_ref()
                    .is_some_and(|r| release.functions.contains(r))
                    && takes_it())
        }
        Holder::Receiver { receiver, .. } => {
            method_in(&release.methods) && call.receiver.as_ref() == Some(receiver)
        }
    }
}

/// Whether `call` is a release that releases nothing when it fails (see
/// `Release::unless_they_fail`): reading a response to its end.
fn consumes(call: &CallFact, rule: &Resource) -> bool {
    let listed = &rule.release.unless_they_fail;
    let by_method = call
        .method
        .as_deref()
        .is_some_and(|m| listed.iter().any(|p| release_method_matches(p, m, call)));
    let by_function = call.resolved.as_ref().is_some_and(|r| listed.contains(r));
    by_method || by_function
}

/// `read` matches any `x.read(...)`; `read()` only a call without
/// arguments (reading to the end releases, `read(64)` does not).
pub(super) fn release_method_matches(pattern: &str, method: &str, call: &CallFact) -> bool {
    match pattern.strip_suffix("()") {
        Some(bare) => bare == method && crate::syntax::argument_count(call.node) == 0,
        None => pattern == method,
    }
}

/// The branch of a test on which a held name is not of the type its
/// resource is made as: the false one of `isinstance(sock, socket.socket)`,
/// of `isinstance(fd, int)` (see `Resource::instance_of`) or of
/// `hasattr(f, "close")`, the true one of `not isinstance(...)`.
fn other_type_branch(
    test: Node,
    names: &HashSet<String>,
    rule: &Resource,
    source: &str,
) -> Option<Edge> {
    // `hasattr(f, "close")`, naming a release method of the entry: what
    // the entry makes has it.
    let text = |n: Node| crate::syntax::text(n, source);
    let has_release = |n: Node| {
        second_on_held(n, "hasattr", names, source).is_some_and(|attr| {
            let attr = text(attr).trim_matches(['"', '\'']);
            rule.release
                .methods
                .iter()
                .any(|m| m.trim_end_matches("()") == attr)
        })
    };
    let is_instance = |n: Node| {
        second_on_held(n, "isinstance", names, source).is_some_and(|class| {
            let class = text(class);
            rule.acquire.calls.iter().any(|c| c == class)
                || rule.instance_of.iter().any(|c| c == class)
        })
    };
    let is_that_type = |n: Node| has_release(n) || is_instance(n);
    match test.kind_name() {
        "call" if is_that_type(test) => Some(Edge::False),
        "not_operator" if test.field("argument").is_some_and(is_that_type) => Some(Edge::True),
        _ => None,
    }
}

/// `function(name, other)` on a held name: `other`.
fn second_on_held<'t>(
    n: Node<'t>,
    function: &str,
    names: &HashSet<String>,
    source: &str,
) -> Option<Node<'t>> {
    let text = |n: Node| crate::syntax::text(n, source);
    if n.kind_name() != "call" || n.field("function").map(text) != Some(function) {
        return None;
    }
    let args = n.field("arguments")?;
    let (value, other) = (args.named_child(0)?, args.named_child(1)?);
    let value = super::conditions::assigned_name(value);
    (value.kind_name() == "identifier" && names.contains(text(value))).then_some(other)
}

/// The `for` loop a lock is taken in, one per item (`for op in parts:
/// op.lock.acquire()`, `for lock in self.locks: lock.acquire()`: the
/// receiver is the loop's name or starts with it), with the text of its
/// name and of what it goes over.
fn acquiring_loop<'t>(
    call: Node<'t>,
    receiver: &str,
    source: &str,
) -> Option<(Node<'t>, String, String)> {
    let head = std::iter::successors(call.parent(), |n| n.parent())
        .take_while(|n| !matches!(n.kind_name(), "function_definition" | "lambda"))
        .find(|n| n.kind_name() == "for_statement")?;
    let left = head
        .field("left")
        .filter(|l| l.kind_name() == "identifier")?;
    let name = crate::syntax::text(left, source);
    if receiver != name {
        receiver.strip_prefix(name)?.strip_prefix('.')?;
    }
    let right = crate::syntax::compact_text(head.field("right")?, source);
    Some((head, name.to_string(), right))
}

/// The branch of a test on which `receiver` is not locked: the false one of
/// `receiver.locked()`, the true one of `not receiver.locked()`.
fn unlocked_branch(test: Node, receiver: &str, source: &str) -> Option<Edge> {
    let asks_locked = |n: Node| {
        n.kind_name() == "call"
            && crate::syntax::argument_count(n) == 0
            && n.field("function").is_some_and(|f| {
                f.kind_name() == "attribute"
                    && f.field("attribute")
                        .is_some_and(|a| crate::syntax::text(a, source) == "locked")
                    && f.field("object")
                        .is_some_and(|o| crate::syntax::text(o, source) == receiver)
            })
    };
    match test.kind_name() {
        "call" if asks_locked(test) => Some(Edge::False),
        "not_operator" if test.field("argument").is_some_and(asks_locked) => Some(Edge::True),
        _ => None,
    }
}

/// The branch of a test on which the held object is already closed (by a
/// callee it was given to) or was never opened: the true one of `f.closed`
/// and `conn.is_closed()`, the false one of `client.serline.isOpen()` and
/// `conn.is_connected()`, either negated by `not`. A release guarded by
/// such a test trusts the object's own account of its state (Home
/// Assistant's `if client.serline.isOpen(): client.close()` after a
/// `connect()` that may fail).
fn closed_branch(test: Node, names: &HashSet<String>, source: &str) -> Option<Edge> {
    // `f.closed`, `client.serline.isOpen()`: whether it asks, and the
    // branch on which the answer is "closed".
    let asks = |n: Node| -> Option<Edge> {
        let n = match n.kind_name() {
            "call" if crate::syntax::argument_count(n) == 0 => n.field("function")?,
            _ => n,
        };
        if n.kind_name() != "attribute" {
            return None;
        }
        let closed_when = match crate::syntax::text(n.field("attribute")?, source) {
            "closed" | "is_closed" | "isClosed" => Edge::True,
            // (Not a loop's test: `while client.connected:` waits for the
            // peer, which says nothing of what the client still holds.)
            "is_open" | "isOpen" | "is_connected" | "isConnected" | "connected"
                if !in_loop_test(test) =>
            {
                Edge::False
            }
            _ => return None,
        };
        // The held name itself, or a part of it (`client.serline`).
        let mut object = n.field("object")?;
        while object.kind_name() == "attribute" {
            object = object.field("object")?;
        }
        (object.kind_name() == "identifier" && names.contains(crate::syntax::text(object, source)))
            .then_some(closed_when)
    };
    match test.kind_name() {
        "not_operator" => asks(test.field("argument")?).map(|edge| match edge {
            Edge::True => Edge::False,
            _ => Edge::True,
        }),
        _ => asks(test),
    }
}

/// Whether `test` is the condition of a `while` loop.
fn in_loop_test(test: Node) -> bool {
    test.parent()
        .is_some_and(|p| p.kind_name() == "while_statement")
}

/// The branch of a test on which a held descriptor is one of the standard
/// streams (0, 1 or 2): `fd > 2`, `fd >= 3`, `2 < fd`, `fd not in (0, 1,
/// 2)`, `fd not in range(3)` are false there; `fd <= 2`, `fd < 3`, `fd in
/// (0, 1, 2)` true.
fn standard_stream_branch(test: Node, names: &HashSet<String>, source: &str) -> Option<Edge> {
    if test.kind_name() != "comparison_operator" || test.named_child_count() != 2 {
        return None;
    }
    let (left, right) = (test.named_child(0)?, test.named_child(1)?);
    let operator = super::conditions::operator_tokens(test);
    let held =
        |n: Node| n.kind_name() == "identifier" && names.contains(crate::syntax::text(n, source));
    let int = |n: Node| (n.kind_name() == "integer").then(|| crate::syntax::text(n, source));
    let std_set = |n: Node| {
        let t: String = crate::syntax::text(n, source)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        matches!(
            t.as_str(),
            "(0,1,2)" | "[0,1,2]" | "{0,1,2}" | "range(3)" | "range(0,3)"
        )
    };
    let (is_std_when_true, is_std_when_false) = (Some(Edge::True), Some(Edge::False));
    match (held(left), held(right), operator.as_slice()) {
        (true, _, [">"]) if int(right) == Some("2") => is_std_when_false,
        (true, _, [">="]) if int(right) == Some("3") => is_std_when_false,
        (true, _, ["<="]) if int(right) == Some("2") => is_std_when_true,
        (true, _, ["<"]) if int(right) == Some("3") => is_std_when_true,
        (_, true, ["<"]) if int(left) == Some("2") => is_std_when_false,
        (true, _, ["not", "in"] | ["not in"]) if std_set(right) => is_std_when_false,
        (true, _, ["in"]) if std_set(right) => is_std_when_true,
        _ => None,
    }
}
