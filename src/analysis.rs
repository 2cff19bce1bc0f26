//! The leak analysis: for every acquisition in a function, search the
//! control-flow graph for a path to an exit on which the resource is still
//! held. Pure: source text and catalogue in, findings out.

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

/// Where names and attributes got their values, file-wide and
/// flow-insensitive: `pool = ThreadedConnectionPool(...)` makes `pool` a
/// `psycopg2-pool`, so `pool.getconn()` matches the rule that names it.
/// Annotated parameters count too (`session: aiohttp.ClientSession`). Two
/// rounds follow one level of chaining (a session, then its response).
#[derive(Debug, Clone, Default)]
struct Origin {
    /// The catalogue entry the value is an acquisition of.
    resource: Option<String>,
    /// The qualified callable that made it (or the annotated type).
    call: Option<String>,
}

fn origins(
    root: Node,
    source: &str,
    imports: &Imports,
    catalogue: &Catalogue,
) -> HashMap<String, Origin> {
    let cx = FactContext {
        source,
        imports,
        ownership_functions: &catalogue.ownership.functions,
        ownership_methods: &catalogue.ownership.methods,
        yield_transfers: false,
    };
    let mut sites = Vec::new();
    let mut origins: HashMap<String, Origin> = HashMap::new();
    // Assignments, `with` items and parameters are all at statement level, so
    // the walk stays off expressions.
    syntax::walk(root, |n| {
        match n.kind() {
            "assignment" | "with_item" => {
                sites.push(crate::facts::Facts::of(n, Use::Other, &cx));
                return false;
            }
            "typed_parameter" | "typed_default_parameter" => {
                let name = n.named_child(0).filter(|c| c.kind() == "identifier");
                let annotation = n.child_by_field_name("type").and_then(|t| t.named_child(0));
                if let (Some(name), Some(ty)) = (name, annotation)
                    && let Some(dotted) = syntax::dotted_name(ty, source)
                {
                    let qualified = imports.resolve(&dotted);
                    let resource = catalogue
                        .resources
                        .iter()
                        .find(|r| r.acquire.calls.contains(&qualified))
                        .map(|r| r.id.clone());
                    let origin = Origin {
                        resource,
                        call: Some(qualified),
                    };
                    origins.insert(text(name, source).to_string(), origin);
                }
                return false;
            }
            _ => {}
        }
        syntax::holds_statements(n.kind())
            || matches!(
                n.kind(),
                "expression_statement" | "with_clause" | "parameters"
            )
    });
    for _round in 0..2 {
        let matcher = Matcher {
            catalogue,
            origins: &origins,
        };
        let mut found = Vec::new();
        for facts in &sites {
            for call in &facts.calls {
                let target = match &call.usage {
                    Use::Bound(t) | Use::Stored(t) | Use::WithItem(Some(t)) => t,
                    _ => continue,
                };
                let origin = Origin {
                    resource: matcher
                        .rule_for(call, &HashSet::new())
                        .map(|r| r.id.clone()),
                    call: call.resolved.clone(),
                };
                if origin.resource.is_some() || origin.call.is_some() {
                    found.push((target.clone(), origin));
                }
            }
        }
        origins.extend(found);
    }
    origins
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

/// Decides which catalogue entry, if any, a call acquires.
#[derive(Clone, Copy)]
struct Matcher<'a> {
    catalogue: &'a Catalogue,
    /// Receiver text to where its value came from, file-wide.
    origins: &'a HashMap<String, Origin>,
}

impl<'a> Matcher<'a> {
    /// The catalogue entry a call acquires, if any. A rule that names the
    /// receiver's origin (`from`) beats a lock-like receiver, which beats a
    /// method matched on any receiver.
    fn rule_for(
        &self,
        call: &CallFact,
        releases_on_receiver: &HashSet<String>,
    ) -> Option<&'a Resource> {
        let origin = call.receiver.as_ref().and_then(|r| self.origins.get(r));
        let origin_resource = origin.and_then(|o| o.resource.as_ref());
        let origin_call = origin.and_then(|o| o.call.as_ref());
        let mut best: Option<(u8, &Resource)> = None;
        for rule in &self.catalogue.resources {
            let acquire = &rule.acquire;
            if !acquire
                .requires
                .iter()
                .all(|req| call.keywords.iter().any(|k| keyword_matches(k, req)))
            {
                continue;
            }
            let by_call = call
                .resolved
                .as_ref()
                .is_some_and(|q| acquire.calls.contains(q))
                || self.made_by_factory(call, &acquire.factories);
            let by_method = call
                .method
                .as_ref()
                .is_some_and(|m| acquire.methods.contains(m));
            let rank = if by_call {
                0
            } else if !by_method {
                continue;
            } else if !acquire.from.is_empty() || !acquire.from_calls.is_empty() {
                let from_resource = origin_resource.is_some_and(|o| acquire.from.contains(o));
                let from_call = origin_call.is_some_and(|c| acquire.from_calls.contains(c));
                if !(from_resource || from_call) {
                    continue;
                }
                0
            } else if acquire.obligation == Obligation::Receiver {
                let Some(receiver) = &call.receiver else {
                    continue;
                };
                let last = receiver
                    .rsplit('.')
                    .next()
                    .unwrap_or(receiver)
                    .to_lowercase();
                let lock_like = acquire
                    .receiver_hints
                    .iter()
                    .any(|h| last.contains(h.as_str()))
                    || releases_on_receiver.contains(receiver);
                if !lock_like {
                    continue;
                }
                1
            } else if origin_resource.is_none() {
                // `x.acquire()` dropped or only tested, on a receiver that is
                // neither lock-like nor a pool, is a lock's shape on an object
                // we know nothing about (a counting semaphore, say): neither
                // a discarded connection nor a lock we can hold it to.
                if self.lock_shaped_unknown(call) {
                    continue;
                }
                2
            } else {
                3 // the receiver is a known resource no specific rule covers
            };
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, rule));
            }
        }
        best.map(|(_, rule)| rule)
    }

    fn lock_shaped_unknown(&self, call: &CallFact) -> bool {
        // `acquire(False)`, `acquire(timeout=1)`, `acquire(blocking=False)`
        // are a lock's signature, whatever the result is bound to.
        let lock_arguments = call
            .keywords
            .iter()
            .any(|k| k.starts_with("timeout=") || k.starts_with("blocking="))
            || call
                .node
                .child_by_field_name("arguments")
                .is_some_and(|args| {
                    let mut cursor = args.walk();
                    args.named_children(&mut cursor)
                        .any(|a| matches!(a.kind(), "true" | "false"))
                });
        let dropped_or_tested =
            lock_arguments || matches!(call.usage, Use::Discarded | Use::Condition { .. });
        let pool_named = call.receiver.as_ref().is_some_and(|r| {
            r.rsplit('.')
                .next()
                .unwrap_or(r)
                .to_lowercase()
                .contains("pool")
        });
        let lock_method = call.method.as_ref().is_some_and(|m| {
            self.catalogue.resources.iter().any(|r| {
                r.acquire.obligation == Obligation::Receiver && r.acquire.methods.contains(m)
            })
        });
        dropped_or_tested && !pool_named && lock_method
    }

    /// Whether the callee is a name bound to the result of one of
    /// `factories`: `SessionLocal()` after `SessionLocal = sessionmaker()`.
    fn made_by_factory(&self, call: &CallFact, factories: &[String]) -> bool {
        !factories.is_empty()
            && call
                .callee
                .as_ref()
                .and_then(|c| self.origins.get(c))
                .and_then(|o| o.call.as_ref())
                .is_some_and(|made_by| factories.contains(made_by))
    }
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
        let tracked = |holder: Holder, held_edge: Option<Edge>| {
            Some(Found::Tracked(Acquisition {
                node,
                call,
                rule,
                holder,
                held_edge,
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

    fn subject(&self, acq_call: &CallFact, rule: &Resource, holder: Option<&Holder>) -> String {
        match holder {
            Some(Holder::Receiver { receiver, .. }) => format!("{} `{receiver}`", rule.noun),
            _ => format!("{} from `{}`", rule.noun, acq_call.display(self.source)),
        }
    }

    fn report<'t>(
        &self,
        graph: &Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        parent: &HashMap<NodeId, (NodeId, Edge)>,
        escapes: &[Escape],
        unawaited: Option<(NodeId, &CallFact)>,
    ) -> Finding {
        let subject = self.subject(acq.call, acq.rule, Some(&acq.holder));
        let mut leaks: Vec<Leak> = escapes
            .iter()
            .map(|e| self.classify(graph, acq, parent, *e))
            .collect();
        leaks.sort_by_key(|l| (l.code.certainty_rank(), l.path.len()));
        leaks.dedup_by_key(|l| l.code);
        let mut also: Vec<String> = Vec::new();
        let (code, message, mut path_steps, help) = if let Some((node, call)) = unawaited {
            let release = call_text(call, self.source);
            let line = start_line(call.node);
            let mut steps = self.path_steps(graph, acq, parent, node);
            steps.push(self.step(
                call.node,
                format!("`{release}` is called without `await`: the release never runs"),
            ));
            (
                Code::ReleaseNotAwaited,
                format!("{subject} is never released: `{release}` is not awaited (line {line})"),
                steps,
                format!("await it: `await {release}`"),
            )
        } else {
            let best = leaks.remove(0);
            also.extend(leaks.iter().map(|l| l.summary.clone()));
            let help = self.help(best.code, acq);
            (
                best.code,
                format!("{subject} {}", best.summary),
                best.path,
                help,
            )
        };
        let mut steps = vec![self.step(acq.call.node, format!("{} acquired here", acq.rule.noun))];
        steps.append(&mut path_steps);
        const MAX_STEPS: usize = 12;
        if steps.len() > MAX_STEPS {
            let keep_tail = MAX_STEPS - 1;
            let tail = steps.split_off(steps.len() - keep_tail);
            steps.truncate(1);
            steps.extend(tail);
        }
        self.finding(code, acq.call, acq.rule, message, help, steps, also)
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        code: Code,
        call: &CallFact,
        rule: &Resource,
        message: String,
        help: String,
        steps: Vec<Step>,
        also: Vec<String>,
    ) -> Finding {
        let span = span_of(call.node);
        Finding {
            code,
            resource: rule.id.clone(),
            function: self.name.to_string(),
            span,
            start: syntax::start_position(call.node, self.source),
            end: syntax::end_position(call.node, self.source),
            message,
            help,
            steps,
            also,
            skipped_release: None,
        }
    }

    fn discarded(&self, call: &CallFact, rule: &Resource) -> Finding {
        let subject = self.subject(call, rule, None);
        let how = match &call.usage {
            Use::Argument => "is passed to a call and then dropped",
            Use::Receiver(_) => "is used once and dropped",
            Use::WithItem(_) => "is entered without `as`, and its `with` does not release it",
            _ => "is never bound to a name",
        };
        let message = format!("{subject} is discarded without being released: it {how}");
        let help = if rule.with_releases {
            format!(
                "bind it with `with {} as ...:`",
                call_text(call, self.source)
            )
        } else {
            format!(
                "bind it and release it in `finally`, or use `with contextlib.closing({}) as ...:`",
                call_text(call, self.source)
            )
        };
        let steps = vec![self.step(
            call.node,
            format!("{} acquired here and never released", rule.noun),
        )];
        self.finding(
            Code::ResourceDiscarded,
            call,
            rule,
            message,
            help,
            steps,
            Vec::new(),
        )
    }

    fn help(&self, code: Code, acq: &Acquisition) -> String {
        let call = call_text(acq.call, self.source);
        let release_hint = match &acq.holder {
            Holder::Receiver { receiver, .. } => {
                let kw = if acq.call.awaited {
                    "async with"
                } else {
                    "with"
                };
                format!(
                    "use `{kw} {receiver}:`, or call `{receiver}.release()` in a `finally` block"
                )
            }
            Holder::Value { var } if acq.rule.with_releases => {
                let kw = if acq.call.awaited {
                    "async with"
                } else {
                    "with"
                };
                format!("use `{kw} {call} as {var}:`, or release it in a `finally` block")
            }
            Holder::Value { var } => {
                let sync_close = acq.rule.release.awaited == Awaited::Never
                    && acq.rule.release.methods.iter().any(|m| m == "close");
                if sync_close {
                    format!(
                        "release it in a `finally` block, or use `with contextlib.closing({call}) as {var}:` (its own `with` does not close it)"
                    )
                } else {
                    "release it in a `finally` block".to_string()
                }
            }
        };
        match code {
            Code::UnreleasedOnCancellation => format!(
                "release it in `finally` (or `except BaseException`): cancellation raises `asyncio.CancelledError`, which `except Exception` does not catch; {release_hint}"
            ),
            Code::ResourceOverwritten => {
                format!(
                    "release the previous {} before reassigning it; {release_hint}",
                    acq.rule.noun
                )
            }
            Code::UnprotectedYield => {
                "wrap the `yield` in `try:` and release the resource in `finally:`".to_string()
            }
            _ => release_hint,
        }
    }

    fn classify<'t>(
        &self,
        graph: &Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        parent: &HashMap<NodeId, (NodeId, Edge)>,
        escape: Escape,
    ) -> Leak {
        let target = match escape {
            Escape::Exit(id) | Escape::Overwrite(id) => id,
        };
        let chain = chain_to(parent, acq.node, target);
        let mut path = self.path_steps(graph, acq, parent, target);
        let fname = self.name.rsplit('.').next().unwrap_or(self.name);
        let (code, summary) = match escape {
            Escape::Overwrite(id) => {
                let node = &graph.nodes[id];
                let line = node.syntax.map_or(0, start_line);
                let var = match &acq.holder {
                    Holder::Value { var } => var.clone(),
                    Holder::Receiver { receiver, .. } => receiver.clone(),
                };
                if let Some(s) = node.syntax {
                    path.push(self.step(
                        s,
                        format!("`{var}` is reassigned here while still holding it"),
                    ));
                }
                (
                    Code::ResourceOverwritten,
                    format!("is lost when `{var}` is reassigned (line {line})"),
                )
            }
            Escape::Exit(id) if graph.nodes[id].kind == Kind::NormalExit => {
                let returned = chain.iter().rev().find(|(_, e)| *e == Edge::Return);
                match returned {
                    Some((ret, _)) => {
                        let line = graph.nodes[*ret].syntax.map_or(0, start_line);
                        (
                            Code::UnreleasedOnReturn,
                            format!("is not released when `{fname}` returns (line {line})"),
                        )
                    }
                    None => {
                        let last = chain.iter().rev().find_map(|(n, _)| graph.nodes[*n].syntax);
                        if let Some(s) = last {
                            path.push(self.step(
                                s,
                                format!("`{fname}` ends after this without releasing it"),
                            ));
                        }
                        (
                            Code::UnreleasedOnReturn,
                            format!("is not released when `{fname}` ends"),
                        )
                    }
                }
            }
            Escape::Exit(id) => {
                let exc = if graph.nodes[id].kind == Kind::CancelExit {
                    Exc::Cancel
                } else {
                    Exc::Error
                };
                let raiser = chain
                    .iter()
                    .rev()
                    .find(|(_, e)| *e == Edge::Raise(exc))
                    .map(|(n, _)| *n);
                let raiser_node = raiser.map(|n| &graph.nodes[n]);
                let at_yield = raiser_node.is_some_and(|n| {
                    n.facts.has_yield && self.shape.is_context_manager && n.kind != Kind::Raise
                });
                let line = raiser_node.and_then(|n| n.syntax).map_or(0, start_line);
                let what = raiser_node
                    .map_or_else(|| "an exception".to_string(), |n| self.raiser_text(n, exc));
                if at_yield {
                    (
                        Code::UnprotectedYield,
                        format!(
                            "is yielded outside `try/finally`: an exception in the caller's `with` block skips the release (line {line})"
                        ),
                    )
                } else if exc == Exc::Cancel {
                    (
                        Code::UnreleasedOnCancellation,
                        format!("is not released when {what} is cancelled (line {line})"),
                    )
                } else {
                    let verb = if raiser_node.is_some_and(|n| n.kind == Kind::Raise) {
                        "propagates"
                    } else {
                        "raises"
                    };
                    (
                        Code::UnreleasedOnException,
                        format!("is not released when {what} {verb} (line {line})"),
                    )
                }
            }
        };
        Leak {
            code,
            summary,
            path,
        }
    }

    /// What raised, for messages: "`validate_payment()`", "the `raise`".
    fn raiser_text(&self, node: &cfg::CfgNode, exc: Exc) -> String {
        if node.kind == Kind::Raise {
            return "the `raise`".into();
        }
        if node.syntax.is_some_and(|s| s.kind() == "assert_statement") {
            return "the `assert`".into();
        }
        let call = match exc {
            Exc::Cancel => node.facts.calls.iter().find(|c| c.awaited),
            Exc::Error => node.facts.calls.first(),
        };
        match (call, exc) {
            (Some(c), Exc::Cancel) => format!("`await {}`", c.display(self.source)),
            (Some(c), Exc::Error) => format!("`{}`", c.display(self.source)),
            (None, Exc::Cancel) => "an `await`".into(),
            (None, Exc::Error) => "a call".into(),
        }
    }

    /// The labelled steps of the path from the acquisition to `target`.
    fn path_steps(
        &self,
        graph: &Cfg,
        acq: &Acquisition,
        parent: &HashMap<NodeId, (NodeId, Edge)>,
        target: NodeId,
    ) -> Vec<Step> {
        let chain = chain_to(parent, acq.node, target);
        let mut steps = Vec::new();
        for &(id, edge) in &chain {
            if id == acq.node {
                continue;
            }
            let node = &graph.nodes[id];
            let Some(syntax) = node.syntax else { continue };
            let message = match (node.kind, edge) {
                (Kind::Cond, Edge::True | Edge::False)
                    if syntax.kind() == "case_pattern" || node_is_case(syntax) =>
                {
                    if edge == Edge::True {
                        "this case matches".to_string()
                    } else {
                        continue;
                    }
                }
                (Kind::Cond, Edge::True | Edge::False) => {
                    let t = short(text(syntax, self.source));
                    format!(
                        "`{t}` is {}",
                        if edge == Edge::True { "true" } else { "false" }
                    )
                }
                (Kind::LoopHead, Edge::False) => "the loop ends".to_string(),
                (Kind::Handler, _) => format!(
                    "`{}` catches the exception",
                    short(handler_header(syntax, self.source))
                ),
                (Kind::Return, _) => "returns here".to_string(),
                (Kind::Break, _) => "`break` leaves the loop".to_string(),
                (Kind::Continue, _) => "`continue` goes back to the loop head".to_string(),
                (Kind::Raise, Edge::Raise(_)) => "raises here".to_string(),
                (_, Edge::Raise(exc)) => {
                    if node.facts.has_yield && self.shape.is_context_manager {
                        "the caller's `with` block raises into this `yield`".to_string()
                    } else if exc == Exc::Cancel {
                        format!("{} may be cancelled here", self.raiser_text(node, exc))
                    } else {
                        format!("{} may raise here", self.raiser_text(node, exc))
                    }
                }
                _ => continue,
            };
            let span_node = match (node.kind, edge) {
                (Kind::Handler, _) => syntax,
                (_, Edge::Raise(Exc::Cancel)) => node
                    .facts
                    .calls
                    .iter()
                    .find(|c| c.awaited)
                    .map_or(syntax, |c| c.node),
                (Kind::Eval | Kind::Cond, Edge::Raise(Exc::Error)) => {
                    node.facts.calls.first().map_or(syntax, |c| c.node)
                }
                _ => syntax,
            };
            let mut step = self.step(span_node, message);
            if node.kind == Kind::Handler {
                let header = handler_header(syntax, self.source);
                step.span.end = step.span.start + header.len();
            }
            steps.push(step);
        }
        steps
    }

    fn step(&self, node: Node, message: String) -> Step {
        let span = span_of(node);
        Step {
            span,
            start: syntax::start_position(node, self.source),
            message,
        }
    }
}

struct Leak {
    code: Code,
    summary: String,
    path: Vec<Step>,
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

/// `stream=True` matches the requirement `stream=True` (spaces ignored).
fn keyword_matches(written: &str, required: &str) -> bool {
    let compact: String = required.chars().filter(|c| !c.is_whitespace()).collect();
    written == compact
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

/// The call as written, on one line: `db_pool.release(conn)`.
fn call_text(call: &CallFact, source: &str) -> String {
    let t = text(call.node, source);
    let one_line: Vec<&str> = t.split_whitespace().collect();
    short(&one_line.join(" ")).to_string()
}

fn short(t: &str) -> String {
    const MAX: usize = 60;
    let t = t.trim();
    if t.chars().count() <= MAX {
        t.to_string()
    } else {
        let cut: String = t.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

fn node_is_case(node: Node) -> bool {
    node.parent().is_some_and(|p| p.kind() == "case_clause")
}

/// `except ValidationError as e` without the body.
fn handler_header<'s>(clause: Node, source: &'s str) -> &'s str {
    let t = text(clause, source);
    let end = t.find(':').unwrap_or(t.len());
    &t[..end]
}
