//! The leak analysis: for every acquisition in a function, search the
//! control-flow graph for a path to an exit on which the resource is still
//! held. Pure: source text and catalogue in, findings out.
//!
//! `matcher` decides which calls acquire what; this file follows each
//! acquisition through the graph; `explain` turns a leaking path into a
//! finding (message, steps, help).

mod explain;
mod matcher;

use matcher::{Matcher, origins};

use crate::cfg::{self, BuildError, Cfg, Edge, Exc, FunctionShape, Kind, NodeId};
use crate::codes::Code;
use crate::facts::{CallFact, FactContext, Use};
use crate::finding::{FileReport, Finding, Span, Step, Warning};
use crate::rules::{Awaited, Catalogue, Obligation, Resource};
use crate::syntax::{self, Imports, is_nested_scope, text};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use tree_sitter::Node;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also analyse module-level code as if it were a function.
    pub include_module_level: bool,
}

/// Analyses one file's source.
pub fn analyze_source(source: &str, catalogue: &Catalogue, options: &Options) -> FileReport {
    let mut report = FileReport::default();
    let Some(tree) = syntax::parse(source) else {
        report.warnings.push(Warning {
            line: None,
            message: "the parser gave up on this file; nothing was analysed".into(),
        });
        return report;
    };
    let root = tree.root_node();
    let imports = Imports::collect(root, source);
    let ownership_functions = &catalogue.ownership.functions;
    let ownership_methods = &catalogue.ownership.methods;
    let origins = origins(root, source, &imports, catalogue);
    let mut broken_functions = 0;
    let mut units = collect_functions(root, source);
    if options.include_module_level {
        // Module-level code runs like the body of a function called on import.
        units.insert(
            0,
            FunctionNode {
                node: root,
                name: "<module>".into(),
                decorators: Vec::new(),
            },
        );
    }
    for func in units {
        if func.node.kind() == "module" && func.node.has_error() {
            continue; // reported below as a file-level syntax error
        }
        if func.node.has_error() {
            broken_functions += 1;
            let line = start_line(func.node);
            report.warnings.push(Warning {
                line: Some(line),
                message: format!("syntax error in `{}`: the function was skipped", func.name),
            });
            continue;
        }
        let is_async = func.node.child(0).is_some_and(|c| c.kind() == "async");
        let is_context_manager = func
            .decorators
            .iter()
            .any(|d| d.trim_end_matches("()").ends_with("contextmanager"));
        let body = func.node.child_by_field_name("body");
        let (generator, captured) = body.map(|b| scan_body(b, source)).unwrap_or_default();
        let shape = FunctionShape {
            is_async,
            is_context_manager,
        };
        let cx = FactContext {
            source,
            imports: &imports,
            ownership_functions,
            ownership_methods,
            yield_transfers: generator && !is_context_manager,
        };
        let func_ctx = FunctionContext {
            source,
            matcher: Matcher {
                catalogue,
                origins: &origins,
            },
            name: &func.name,
            catalogue,
            shape: &shape,
            captured,
        };
        match cfg::build(func.node, &shape, &cx) {
            Ok(graph) => report.findings.extend(func_ctx.analyze(&graph)),
            Err(e) => {
                let line = start_line(func.node);
                let why = match e {
                    BuildError::TooDeep => "its blocks are nested too deeply",
                    BuildError::TooLarge => "its control flow is too large",
                };
                report.warnings.push(Warning {
                    line: Some(line),
                    message: format!("`{}` was not analysed: {why}", func.name),
                });
            }
        }
    }
    if root.has_error() && broken_functions == 0 {
        let line = first_error_line(root);
        report.warnings.push(Warning {
            line,
            message: "syntax error outside any function: the functions that parsed were analysed"
                .into(),
        });
    }
    report.findings.sort_by(|a, b| {
        (a.span.start, a.code, &a.message).cmp(&(b.span.start, b.code, &b.message))
    });
    report
}

struct FunctionNode<'t> {
    node: Node<'t>,
    name: String,
    decorators: Vec<String>,
}

/// Every `def` and `async def` in the file, with its qualified name.
fn collect_functions<'t>(root: Node<'t>, source: &str) -> Vec<FunctionNode<'t>> {
    let mut out = Vec::new();
    // Prefixes are shared between siblings, so an `Rc` rather than a copy each.
    let mut stack: Vec<(Node<'t>, Rc<str>, Vec<String>)> = vec![(root, Rc::from(""), Vec::new())];
    while let Some((node, prefix, decorators)) = stack.pop() {
        let mut child_prefix = prefix.clone();
        let mut child_decorators = Vec::new();
        match node.kind() {
            "function_definition" | "class_definition" => {
                let name = node
                    .child_by_field_name("name")
                    .map_or("<unknown>", |n| text(n, source));
                let qualified = format!("{prefix}{name}");
                child_prefix = Rc::from(format!("{qualified}."));
                if node.kind() == "function_definition" {
                    out.push(FunctionNode {
                        node,
                        name: qualified,
                        decorators,
                    });
                }
            }
            "decorated_definition" => {
                let mut cursor = node.walk();
                child_decorators = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "decorator")
                    .map(|d| text(d, source).trim_start_matches('@').trim().to_string())
                    .collect();
            }
            _ => {}
        }
        let first = stack.len();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            // Definitions are statements: expressions never hold one (a
            // lambda is not analysed), so the walk stays off them.
            if !syntax::holds_statements(child.kind()) {
                continue;
            }
            let decs = if matches!(child.kind(), "function_definition" | "class_definition") {
                std::mem::take(&mut child_decorators)
            } else {
                Vec::new()
            };
            stack.push((child, child_prefix.clone(), decs));
        }
        stack[first..].reverse();
    }
    out.sort_by_key(|f| f.node.start_byte());
    out
}

/// What the analysis needs to know of a body up front: whether it yields
/// (a generator), and the names used inside its nested functions and lambdas
/// (a resource captured by a closure is owned by whoever holds the closure).
fn scan_body(body: Node, source: &str) -> (bool, HashSet<String>) {
    let mut yields = false;
    let mut captured = HashSet::new();
    syntax::walk(body, |n| {
        if is_nested_scope(n.kind()) {
            syntax::walk(n, |inner| {
                if inner.kind() == "identifier" {
                    captured.insert(text(inner, source).to_string());
                }
                true
            });
            return false;
        }
        yields |= n.kind() == "yield";
        true
    });
    (yields, captured)
}

fn first_error_line(root: Node) -> Option<usize> {
    let mut line = None;
    syntax::walk(root, |n| {
        if line.is_some() {
            return false;
        }
        if n.is_error() || n.is_missing() {
            line = Some(start_line(n));
            return false;
        }
        n.has_error()
    });
    line
}

struct FunctionContext<'a> {
    source: &'a str,
    matcher: Matcher<'a>,
    name: &'a str,
    catalogue: &'a Catalogue,
    shape: &'a FunctionShape,
    captured: HashSet<String>,
}

/// Who must release, and what names refer to the obligation.
#[derive(Debug, Clone)]
enum Holder {
    /// The value is bound to `var` (and its aliases).
    Value { var: String },
    /// `receiver.acquire()`: `receiver.release()` ends it. `result` is the
    /// name the acquire's boolean result was bound to, if any.
    Receiver {
        receiver: String,
        result: Option<String>,
    },
}

struct Acquisition<'t, 'a> {
    node: NodeId,
    call: &'a CallFact<'t>,
    rule: &'a Resource,
    holder: Holder,
    /// For `if lock.acquire(...)`: the edge on which the lock is held.
    held_edge: Option<Edge>,
    /// A resource taken from another one (`resp = await session.get(url)`):
    /// the receiver and its entry. Releasing the parent releases the child.
    parent: Option<(&'a str, &'a Resource)>,
}

enum Found<'t, 'a> {
    Tracked(Acquisition<'t, 'a>),
    Discarded(&'a CallFact<'t>, &'a Resource),
}

/// How a path that still holds the resource ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    Exit(NodeId),
    Overwrite(NodeId),
}

enum Effect<'a, 't> {
    None,
    /// Released (at this call or `with`), or handed to a new owner (`None`).
    Released(Option<Node<'t>>),
    Overwritten,
    UnawaitedRelease(&'a CallFact<'t>),
}

impl<'a> FunctionContext<'a> {
    fn analyze<'t>(&self, graph: &'a Cfg<'t>) -> Vec<Finding> {
        let releases_on_receiver = self.receivers_released(graph);
        // Names whose value is handed on somewhere in the function: a lock
        // appended to a waiters list is released by whoever pops it.
        let handed_on: HashSet<&str> = graph
            .nodes
            .iter()
            .flat_map(|n| n.facts.escapes.iter().map(String::as_str))
            .collect();
        let aliases: Vec<(String, String)> = graph
            .nodes
            .iter()
            .flat_map(|n| n.facts.aliases.iter().cloned())
            .collect();
        let mut findings = Vec::new();
        for (id, node) in graph.nodes.iter().enumerate() {
            for call in &node.facts.calls {
                match self.acquisition(id, call, &releases_on_receiver, &handed_on) {
                    Some(Found::Tracked(acq)) => {
                        if let Some(f) = self.track(graph, &acq, &aliases) {
                            findings.push(f);
                        }
                    }
                    Some(Found::Discarded(call, rule)) => findings.push(self.discarded(call, rule)),
                    None => {}
                }
            }
        }
        // A `finally` body is copied once per exit kind; an acquisition in it
        // appears in several copies but is one acquisition.
        findings.sort_by(|a, b| {
            (a.span, a.code.certainty_rank()).cmp(&(b.span, b.code.certainty_rank()))
        });
        findings.dedup_by(|b, a| a.span == b.span);
        findings
    }

    /// Receivers on which `release()` (or another receiver-release method) is
    /// called without arguments somewhere in the function.
    fn receivers_released(&self, graph: &Cfg) -> HashSet<String> {
        let mut out = HashSet::new();
        for node in &graph.nodes {
            for call in &node.facts.calls {
                let Some(method) = &call.method else { continue };
                let is_release = self.catalogue.resources.iter().any(|r| {
                    r.acquire.obligation == Obligation::Receiver
                        && r.release.methods.contains(method)
                });
                if is_release
                    && arg_count(call.node) == 0
                    && let Some(recv) = &call.receiver
                {
                    out.insert(recv.clone());
                }
            }
        }
        out
    }

    fn acquisition<'t, 'c>(
        &self,
        node: NodeId,
        call: &'c CallFact<'t>,
        releases_on_receiver: &HashSet<String>,
        handed_on: &HashSet<&str>,
    ) -> Option<Found<'t, 'c>>
    where
        'a: 'c,
    {
        let rule = self.matcher.rule_for(call, releases_on_receiver)?;
        let parent = call.receiver.as_deref().and_then(|receiver| {
            let origin = self.matcher.origins.get(receiver)?.resource.as_ref()?;
            if !rule.acquire.from.contains(origin) {
                return None;
            }
            Some((receiver, self.catalogue.get(origin)?))
        });
        let tracked = |holder: Holder, held_edge: Option<Edge>| {
            Some(Found::Tracked(Acquisition {
                node,
                call,
                rule,
                holder,
                held_edge,
                parent,
            }))
        };
        if rule.acquire.obligation == Obligation::Receiver {
            let receiver = call.receiver.clone()?;
            // An attribute lock this function never releases is released by
            // other code on purpose (`__enter__`/`__exit__`, a counting
            // semaphore a worker gives back): the protocol is the object's,
            // not this function's. For those, the bug worth reporting is a
            // release this function writes but skips on some path.
            if receiver.contains('.') && !releases_on_receiver.contains(&receiver) {
                return None;
            }
            if handed_on.contains(receiver.as_str()) {
                return None;
            }
            let (result, held_edge) = match &call.usage {
                Use::Discarded => (None, None),
                Use::Bound(v) => (Some(v.clone()), None),
                Use::Condition { negated } => {
                    (None, Some(if *negated { Edge::False } else { Edge::True }))
                }
                _ => return None,
            };
            return tracked(Holder::Receiver { receiver, result }, held_edge);
        }
        let value = |var: &String| tracked(Holder::Value { var: var.clone() }, None);
        match (&call.usage, rule.acquire.element) {
            (Use::Bound(var), None) => value(var),
            (Use::Unpacked(names), Some(i)) => {
                names.get(i).cloned().flatten().and_then(|v| value(&v))
            }
            (Use::WithItem(alias), None) if !rule.with_releases => match alias {
                Some(var) => value(var),
                None => Some(Found::Discarded(call, rule)),
            },
            (Use::Receiver(attr), _) if rule.release.methods.contains(attr) => None,
            (Use::Discarded | Use::Receiver(_) | Use::Argument, _) => {
                Some(Found::Discarded(call, rule))
            }
            _ => None,
        }
    }

    /// Follows one acquisition through the graph.
    fn track<'t>(
        &self,
        graph: &Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        aliases: &[(String, String)],
    ) -> Option<Finding> {
        let names = match &acq.holder {
            Holder::Value { var } => alias_closure(var, aliases),
            Holder::Receiver { result, .. } => result.iter().cloned().collect(),
        };
        if let Holder::Value { .. } = acq.holder
            && names.iter().any(|n| self.captured.contains(n))
        {
            return None; // a closure owns it now
        }
        let mut parent: HashMap<NodeId, (NodeId, Edge)> = HashMap::new();
        let mut queue = VecDeque::new();
        for &(edge, next) in &graph.nodes[acq.node].succs {
            if matches!(edge, Edge::Raise(_)) {
                continue; // the acquiring call's own exception leaks nothing
            }
            if acq.held_edge.is_some_and(|held| held != edge) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(next) {
                e.insert((acq.node, edge));
                queue.push_back(next);
            }
        }
        let mut escapes: Vec<Escape> = Vec::new();
        let mut unawaited: Option<(NodeId, &CallFact)> = None;
        let mut released_at: Option<Node> = None;
        while let Some(id) = queue.pop_front() {
            let node = &graph.nodes[id];
            match self.effect(node, acq, &names) {
                Effect::Released(at) => {
                    if let Some(at) = at {
                        released_at.get_or_insert(at);
                    }
                    continue;
                }
                Effect::Overwritten => {
                    escapes.push(Escape::Overwrite(id));
                    continue;
                }
                Effect::UnawaitedRelease(call) => {
                    unawaited.get_or_insert((id, call));
                }
                Effect::None => {}
            }
            if matches!(
                node.kind,
                Kind::NormalExit | Kind::ErrorExit | Kind::CancelExit
            ) {
                escapes.push(Escape::Exit(id));
                continue;
            }
            for &(edge, next) in &node.succs {
                if self.empty_on(node, edge, &acq.holder, &names) {
                    continue;
                }
                if next == acq.node && matches!(acq.holder, Holder::Receiver { .. }) {
                    continue; // re-acquiring a held lock is not a leak of this one
                }
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(next) {
                    e.insert((id, edge));
                    queue.push_back(next);
                }
            }
        }
        if escapes.is_empty() {
            return None;
        }
        let mut finding = self.report(graph, acq, &parent, &escapes, unawaited);
        finding.skipped_release = released_at.map(|n| {
            self.step(
                n,
                "released here on other paths, but not on this one".to_string(),
            )
        });
        Some(finding)
    }

    /// What a node does to the tracked obligation.
    fn effect<'t, 'c>(
        &self,
        node: &'c cfg::CfgNode<'t>,
        acq: &Acquisition<'t, '_>,
        names: &HashSet<String>,
    ) -> Effect<'c, 't> {
        let release = &acq.rule.release;
        let facts = &node.facts;
        let mut unawaited = None;
        let takes_it = |call: &CallFact| call.name_args.iter().any(|a| names.contains(a));
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
            let method_in =
                |list: &[String]| call.method.as_ref().is_some_and(|m| list.contains(m));
            let releases = match &acq.holder {
                Holder::Value { .. } => {
                    (method_in(&release.methods)
                        && call.receiver.as_ref().is_some_and(|r| names.contains(r)))
                        || (method_in(&release.receiver_methods) && takes_it(call))
                        || (call
                            .resolved
                            .as_ref()
                            .is_some_and(|r| release.functions.contains(r))
                            && takes_it(call))
                }
                Holder::Receiver { receiver, .. } => {
                    method_in(&release.methods) && call.receiver.as_ref() == Some(receiver)
                }
            };
            if !releases {
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
            return Effect::Released(Some(call.node));
        }
        if let Holder::Value { var } = &acq.holder {
            if acq.rule.with_releases && facts.managed.iter().any(|m| names.contains(m)) {
                return Effect::Released(node.syntax);
            }
            if facts.escapes.iter().any(|e| names.contains(e)) {
                return Effect::Released(None);
            }
            // Rebinding the only name that holds it drops the resource.
            if facts.binds.contains(var) && names.len() == 1 {
                return Effect::Overwritten;
            }
        }
        match unawaited {
            Some(call) => Effect::UnawaitedRelease(call),
            None => Effect::None,
        }
    }

    /// Whether the edge leaves a test that proves nothing is held:
    /// `if conn is None:` (true branch), `if not acquired:`.
    fn empty_on(
        &self,
        node: &cfg::CfgNode,
        edge: Edge,
        holder: &Holder,
        names: &HashSet<String>,
    ) -> bool {
        let Some(test) = &node.facts.test else {
            return false;
        };
        let relevant = match holder {
            Holder::Value { .. } => names.contains(&test.name),
            Holder::Receiver { result, .. } => result.as_ref() == Some(&test.name),
        };
        relevant
            && match edge {
                Edge::True => test.empty_when,
                Edge::False => !test.empty_when,
                _ => false,
            }
    }
}

/// The (node, edge taken) pairs from `start` to `target`, in order.
fn chain_to(
    parent: &HashMap<NodeId, (NodeId, Edge)>,
    start: NodeId,
    target: NodeId,
) -> Vec<(NodeId, Edge)> {
    let mut chain = Vec::new();
    let mut current = target;
    let mut guard = 0;
    while let Some(&(prev, edge)) = parent.get(&current) {
        chain.push((prev, edge));
        if prev == start || guard > parent.len() {
            break;
        }
        current = prev;
        guard += 1;
    }
    chain.reverse();
    chain
}

fn alias_closure(var: &str, aliases: &[(String, String)]) -> HashSet<String> {
    let mut names: HashSet<String> = HashSet::from([var.to_string()]);
    loop {
        let before = names.len();
        for (new, old) in aliases {
            if names.contains(old) {
                names.insert(new.clone());
            }
        }
        if names.len() == before {
            return names;
        }
    }
}

fn start_line(node: Node) -> usize {
    node.start_position().row + 1
}

fn span_of(node: Node) -> Span {
    Span {
        start: node.start_byte(),
        end: node.end_byte(),
    }
}

fn arg_count(call: Node) -> usize {
    call.child_by_field_name("arguments")
        .map_or(0, |a| a.named_child_count())
}
