//! The leak analysis: for every acquisition in a function, search the
//! control-flow graph for a path to an exit on which the resource is still
//! held. Pure: source text and catalogue in, findings out.
//!
//! `matcher` decides which calls acquire what; this file follows each
//! acquisition through the graph; `explain` turns a leaking path into a
//! finding (message, steps, help).

mod conditions;
mod explain;
mod learned;
mod matcher;
mod owners;
mod script;
mod search;
mod summaries;

use conditions::Conditions;
use matcher::{Matcher, origins};

use crate::cfg::{self, BuildError, Cfg, Edge, Exc, FunctionShape, Kind, NodeId};
use crate::codes::Code;
use crate::facts::{CallFact, FactContext, Use};
use crate::finding::{FileReport, Finding, Learnt, Span, Step, Warning};
use crate::rules::{Acquire, Catalogue, Obligation, Resource, Unless};
use crate::syntax::{self, Imports, NodeExt, is_nested_scope, text};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use tree_sitter::Node;

pub use owners::releases_kept;
pub(crate) use script::{imports_cli, is_command, tests_main};
pub use summaries::{BodySummary, Export, FunctionSummary, NoProject, Project, Returned};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also analyse module-level code as if it were a function.
    pub include_module_level: bool,
    /// The file is test code: an exception there is a failing test, which
    /// the test runner reports, so only paths that complete count as leaks.
    pub test_code: bool,
    /// The file runs as a one-shot program of its own (an Ansible module):
    /// an exception leaving a function ends the process.
    pub one_shot: bool,
    /// The package the file belongs to (`payments.app` for
    /// `payments/app/handlers.py` and `payments/app/__init__.py`), which
    /// anchors its relative imports.
    pub package: Option<String>,
    /// Which of its functions to summarise for other files.
    pub export: Export,
    /// Also list every helper that returns a new resource and every owner
    /// class (`unclosed resources --learned`), not only those in use.
    pub list_learnt: bool,
    /// Pairs the other files of the project showed, to hold this file's
    /// functions to (see `FileReport::pair_uses`).
    pub shared_pairs: Vec<crate::finding::SharedPair>,
}

/// What the analysis of one file gives: its findings, and what its
/// functions do for the files that import them.
#[derive(Debug, Default)]
pub struct ModuleAnalysis {
    pub report: FileReport,
    /// Module-level function name to summary.
    pub exports: std::collections::BTreeMap<String, FunctionSummary>,
}

/// Analyses one file's source on its own.
pub fn analyze_source(source: &str, catalogue: &Catalogue, options: &Options) -> FileReport {
    analyze_module(source, catalogue, options, &NoProject).report
}

/// Analyses one file's source, calls to the other checked files' functions
/// by their summaries in `project`.
pub fn analyze_module(
    source: &str,
    catalogue: &Catalogue,
    options: &Options,
    project: &dyn Project,
) -> ModuleAnalysis {
    let mut report = FileReport::default();
    let Some(tree) = syntax::parse(source) else {
        report.warnings.push(Warning {
            line: None,
            message: "the parser gave up on this file; nothing was analysed".into(),
            incomplete: true,
        });
        return ModuleAnalysis {
            report,
            ..ModuleAnalysis::default()
        };
    };
    let root = tree.root_node();
    // Cheap exit: most files have no suppression at all.
    if source.contains("noqa") || source.contains("unclosed:") {
        syntax::walk(root, |node| {
            if node.kind_name() == "comment" {
                let comment = text(node, source);
                if crate::suppress::may_suppress(comment) {
                    let line = node.start_position().row + 1;
                    report.suppressions.push((line, comment.to_string()));
                }
            }
            true
        });
    }
    let mut imports = Imports::collect(root, source);
    if let Some(package) = &options.package {
        imports.anchor(package);
    }
    let origins = origins(root, source, &imports, catalogue);

    let mut broken_functions = 0;
    let mut units = collect_functions(root, source);
    if options.include_module_level {
        // Module-level code runs like the body of a function called on import.
        units.insert(
            0,
            FunctionNode::new(root, "<module>".into(), Vec::new(), source),
        );
    }
    let summaries =
        summaries::Summaries::new(source, &imports, catalogue, &origins, &units, project);
    let ends = &catalogue.calls.ends;
    let program_ends = script::program_ends(root, source, &units, ends);
    let disabled_flags = disabled_flags(root, source);
    let (ends_program, returns_end_program) = (&program_ends.exceptions, &program_ends.returns);
    // One function's analysis, given the pairs the file's other functions
    // showed.
    let analyze_unit = |index: usize,
                        func: &FunctionNode,
                        file_pairs: &[learned::FilePair]|
     -> Result<(UnitOutcome, Vec<owners::Stored>), BuildError> {
        let (shape, cx) =
            function_setup(func, source, &imports, catalogue, summaries.class_names());
        let matcher = Matcher {
            source,
            catalogue,
            origins: &origins,
            function: func.node.start_byte(),
        };
        let raise_model = |call: &CallFact| summaries.raises(index, call);
        let class_model = |call: &CallFact| summaries.class_of(index, call);
        // (A helper given this function's own `**kwargs` untouched returns a
        // resource only if this function's caller asks for one: that
        // caller's obligation, checked where it calls.)
        let returned_model = |call: &CallFact| {
            summaries
                .returned_by(index, call)
                .filter(|r| !summaries.caller_decides(index, call, r))
        };
        let weak_model = |call: &CallFact| summaries.weakly_raises(index, call) == Some(true);
        let nothing_model = |call: &CallFact| summaries.gives_nothing(index, call);
        let plain_model = |call: &CallFact| summaries.makes_plain_instance(index, call);
        let graph = cfg::build(func.node, &shape, &cx, &raise_model, &class_model)?;
        // A function that makes the process a daemon runs once, at start:
        // what it holds when it returns is kept for the daemon's lifetime,
        // and its failure aborts the start.
        let daemonizes = graph.nodes.iter().flat_map(|n| &n.facts.calls).any(|c| {
            c.resolved
                .as_deref()
                .is_some_and(|r| catalogue.programs.daemonizing.iter().any(|d| d == r))
        });
        let mut func_ctx = FunctionContext {
            source,
            imports: &imports,
            matcher,
            raises: &raise_model,
            returned_by: &returned_model,
            weakly_raises: &weak_model,
            gives_nothing: &nothing_model,
            plain_instance: &plain_model,
            name: &func.name,
            catalogue,
            shape: &shape,
            captured: func.captured.clone(),
            params: &func.callables,
            decorators: &func.decorators,
            outer: &func.outer,
            exceptions_end_run: options.test_code
                || options.one_shot
                || daemonizes
                || ends_program[index],
            // A Django management command's `handle()` is the program.
            returns_end_run: returns_end_program[index]
                || daemonizes
                || (options.one_shot && func.name == "Command.handle"),
            finalized: summaries.init_of_finalized_class(index),
            runs_once: options.one_shot
                || daemonizes
                || ends_program[index]
                || returns_end_program[index],
            file_pairs,
            disabled_flags: &disabled_flags,
            handed: HashMap::new(),
            released_on_failure: HashMap::new(),
            argument_names: Default::default(),
            raise_classes: Default::default(),
            explored_states: Default::default(),
        };
        // Calls to helpers of this file that take an argument over.
        for call in graph.nodes.iter().flat_map(|n| &n.facts.calls) {
            let handed = summaries.handed_over(index, call);
            if !handed.is_empty() {
                func_ctx.handed.insert(call_key(call.node), handed);
            }
            let released = summaries.released_on_failure(index, call);
            if !released.is_empty() {
                func_ctx
                    .released_on_failure
                    .insert(call_key(call.node), released);
            }
        }
        let outcome = func_ctx.analyze(&graph);
        let stored = func_ctx.stored_on_self(&graph);
        Ok((outcome, stored))
    };
    // Resources methods store on `self`, for the owner-class check.
    let mut stored_on_self = Vec::new();
    let mut file_pairs = Vec::new();
    let mut analysed = Vec::new();
    for (index, func) in units.iter().enumerate() {
        if func.node.kind_name() == "module" && func.node.has_error() {
            continue; // reported below as a file-level syntax error
        }
        if func.never_runs() {
            continue;
        }
        if func.node.has_error() {
            broken_functions += 1;
            let line = start_line(func.node);
            report.warnings.push(Warning {
                line: Some(line),
                message: format!("syntax error in `{}`: the function was skipped", func.name),
                incomplete: true,
            });
            continue;
        }
        match analyze_unit(index, func, &[]) {
            Ok((outcome, stored)) => {
                if outcome.gave_up > 0 {
                    report.warnings.push(Warning {
                        line: Some(start_line(func.node)),
                        message: format!(
                            "`{}` was analysed in part: it is too large to follow all its \
                             resources, and {} of them were not checked",
                            func.name, outcome.gave_up
                        ),
                        incomplete: true,
                    });
                }
                report.findings.extend(outcome.findings);
                report.learnt.extend(outcome.learnt);
                file_pairs.extend(outcome.pairs);
                if !stored.is_empty() {
                    stored_on_self.push((index, stored));
                }
                analysed.push(index);
            }
            Err(e) => {
                let line = start_line(func.node);
                let why = match e {
                    BuildError::TooDeep => "its blocks are nested too deeply",
                    BuildError::TooLarge => "its control flow is too large",
                };
                report.warnings.push(Warning {
                    line: Some(line),
                    message: format!("`{}` was not analysed: {why}", func.name),
                    incomplete: true,
                });
            }
        }
    }
    // Shared with the other files: what a method on a named receiver
    // showed (test code shows what tests do, not what the code must).
    if !options.test_code {
        report.shared_pairs = file_pairs.iter().filter_map(|p| p.shared()).collect();
    }
    // Pairs other files showed, unless this file showed the same. (A test
    // file's own pairs are not shared, so the runner may find a leak with
    // both: it keeps one finding.)
    for shared in &options.shared_pairs {
        let own = report
            .shared_pairs
            .iter()
            .any(|p| p.receiver == shared.receiver && p.method == shared.method);
        if !own {
            file_pairs.push(learned::FilePair::from_shared(shared));
        }
    }
    // What one function showed, the others must do too: analyse again the
    // functions that make the same call (rare: most files learn nothing),
    // for the findings on acquisitions the first pass did not see.
    if !file_pairs.is_empty() {
        let seen: HashSet<Span> = report.findings.iter().map(|f| f.span).collect();
        // Per pair's resource: the functions that break it (with their new
        // findings) and those that make the call and keep it.
        let mut breaking: HashMap<String, Vec<Finding>> = HashMap::new();
        let mut breakers: HashMap<String, usize> = HashMap::new();
        let mut keeping: HashMap<String, usize> = HashMap::new();
        for &index in &analysed {
            let func = &units[index];
            // The body only: `def _open_cache():` makes no call.
            let body = func.node.field("body").map_or("", |b| text(b, source));
            let mentioned: Vec<&learned::FilePair> =
                file_pairs.iter().filter(|p| p.mentioned_in(body)).collect();
            if mentioned.is_empty() {
                continue;
            }
            let Ok((outcome, _)) = analyze_unit(index, func, &file_pairs) else {
                continue;
            };
            let mut broke: HashSet<String> = HashSet::new();
            for f in outcome.findings {
                if !seen.contains(&f.span) {
                    broke.insert(f.resource.clone());
                    breaking.entry(f.resource.clone()).or_default().push(f);
                }
            }
            let mut counted: HashSet<String> = HashSet::new();
            for pair in mentioned {
                let id = pair.resource_id();
                if !counted.insert(id.clone()) {
                    continue;
                }
                if broke.contains(&id) {
                    *breakers.entry(id).or_default() += 1;
                } else if !pair.shown_elsewhere() || pair.released_in(body) {
                    // Showing the pair, or making the call and handing the
                    // value on as it should. For a pair another file showed,
                    // only a release here counts: a project where one
                    // function closes what hundreds only read (the global
                    // client of `get_client()`) has no such habit.
                    *keeping.entry(id).or_default() += 1;
                }
            }
        }
        // A pair from another file is the project's to weigh: what this
        // file did with it goes to the runner.
        let elsewhere: HashSet<String> = file_pairs
            .iter()
            .filter(|p| p.shown_elsewhere())
            .map(|p| p.resource_id())
            .collect();
        let mut ids: Vec<&String> = elsewhere.iter().collect();
        ids.sort();
        for id in ids {
            report.pair_uses.push(crate::finding::PairUse {
                id: id.clone(),
                keeping: keeping.get(id).copied().unwrap_or(0),
                breaking: breakers.get(id).copied().unwrap_or(0),
                findings: breaking.remove(id).unwrap_or_default(),
            });
        }
        // A pair counts only where releasing is the file's habit: when more
        // functions break it than keep it, the one release is the exception
        // (a helper that closes what everything else leaves to the garbage
        // collector), not a rule of the code.
        for (id, findings) in breaking {
            let broken_by = breakers.get(&id).copied().unwrap_or(0);
            if keeping.get(&id).copied().unwrap_or(0) >= broken_by {
                report.findings.extend(findings);
            }
        }
    }
    report.findings.extend(owners::never_released(
        root,
        source,
        &units,
        stored_on_self,
        &catalogue.calls.awaiting,
        options.test_code,
    ));
    if root.has_error() && broken_functions == 0 {
        let line = first_error_line(root);
        report.warnings.push(Warning {
            line,
            message: "syntax error outside any function: the functions that parsed were analysed"
                .into(),
            incomplete: true,
        });
    }
    report.findings = std::mem::take(&mut report.findings)
        .into_iter()
        .map(Finding::without_control_characters)
        .collect();
    report.findings.sort_by(|a, b| {
        (a.span.start, a.code, &a.message).cmp(&(b.span.start, b.code, &b.message))
    });
    if options.list_learnt {
        report.learnt.extend(summaries.learnt());
    }
    report
        .learnt
        .sort_by(|a, b| (a.kind, a.line, &a.what).cmp(&(b.kind, b.line, &b.what)));
    let exports = summaries.export(&options.export);
    ModuleAnalysis { report, exports }
}

struct FunctionNode<'t> {
    node: Node<'t>,
    name: String,
    decorators: Vec<String>,
    /// Whether it has decorators (a route, a command: called from elsewhere).
    decorated: bool,
    is_async: bool,
    /// Whether its body yields.
    generator: bool,
    /// Names used inside its nested functions and lambdas.
    captured: Captured,
    /// Names it assigns.
    locals: HashSet<String>,
    /// Names it declares `global` or `nonlocal`: what it assigns to them
    /// outlives the call.
    outer: HashSet<String>,
    /// Parameter names in order.
    params: Vec<String>,
    /// Parameters here and of the enclosing functions: calling one hands
    /// the arguments to code the caller chose.
    callables: HashSet<String>,
}

impl<'t> FunctionNode<'t> {
    fn new(node: Node<'t>, name: String, decorators: Vec<String>, source: &str) -> Self {
        let body = if node.kind_name() == "module" {
            Some(node)
        } else {
            node.field("body")
        };
        let (generator, captured, locals, outer) =
            body.map(|b| scan_body(b, source)).unwrap_or_default();
        let params = syntax::parameter_names(node, source);
        FunctionNode {
            decorated: !decorators.is_empty(),
            is_async: node.child(0).is_some_and(|c| c.kind_name() == "async"),
            callables: params.iter().cloned().collect(),
            params,
            node,
            name,
            decorators,
            generator,
            captured,
            locals,
            outer,
        }
    }

    /// A test skipped whatever the conditions (`@unittest.skip("...")`,
    /// `@pytest.mark.skip`): its body never runs, so nothing in it leaks.
    /// (`skipIf`, `skipUnless` and `skipif` skip only somewhere.)
    fn never_runs(&self) -> bool {
        self.decorators.iter().any(|d| {
            matches!(
                d.split('(').next().unwrap_or(d).trim(),
                "unittest.skip" | "skip" | "pytest.mark.skip" | "mark.skip"
            )
        })
    }

    fn is_context_manager(&self) -> bool {
        self.decorators
            .iter()
            .any(|d| d.trim_end_matches("()").ends_with("contextmanager"))
    }
}

/// How a function's graph is built: its shape and what its statements' facts
/// need to know.
fn function_setup<'a>(
    func: &'a FunctionNode,
    source: &'a str,
    imports: &'a Imports,
    catalogue: &'a Catalogue,
    classes: &'a HashSet<String>,
) -> (FunctionShape, FactContext<'a>) {
    let is_context_manager = func.is_context_manager();
    let shape = FunctionShape {
        is_async: func.is_async,
        is_context_manager,
    };
    let cx = FactContext {
        source,
        imports,
        catalogue,
        yield_transfers: func.generator && !is_context_manager,
        parameters: Some(&func.callables),
        locals: Some(&func.locals),
        classes: Some(classes),
    };
    (shape, cx)
}

/// Every `def` and `async def` in the file, with its qualified name.
fn collect_functions<'t>(root: Node<'t>, source: &str) -> Vec<FunctionNode<'t>> {
    let mut out = Vec::new();
    // Prefixes are shared between siblings, so an `Rc` rather than a copy each.
    let mut stack: Vec<(Node<'t>, Rc<str>, Vec<String>)> = vec![(root, Rc::from(""), Vec::new())];
    while let Some((node, prefix, decorators)) = stack.pop() {
        let mut child_prefix = prefix.clone();
        let mut child_decorators = Vec::new();
        match node.kind_name() {
            "function_definition" | "class_definition" => {
                let name = node.field("name").map_or("<unknown>", |n| text(n, source));
                let qualified = format!("{prefix}{name}");
                child_prefix = Rc::from(format!("{qualified}."));
                if node.kind_name() == "function_definition" {
                    out.push(FunctionNode::new(node, qualified, decorators, source));
                }
            }
            "decorated_definition" => {
                let mut cursor = node.walk();
                child_decorators = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind_name() == "decorator")
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
            if !syntax::holds_statements(child.kind_name()) {
                continue;
            }
            let decs = if matches!(
                child.kind_name(),
                "function_definition" | "class_definition"
            ) {
                std::mem::take(&mut child_decorators)
            } else {
                Vec::new()
            };
            stack.push((child, child_prefix.clone(), decs));
        }
        stack[first..].reverse();
    }
    out.sort_by_key(|f| f.node.start_byte());
    // A nested function can call what its enclosing functions were given
    // (`def handler(): callback(conn)` inside `def serve(sock, callback)`).
    let mut open: Vec<usize> = Vec::new();
    for i in 0..out.len() {
        let start = out[i].node.start_byte();
        while open
            .last()
            .is_some_and(|&o| out[o].node.end_byte() <= start)
        {
            open.pop();
        }
        let outer: HashSet<String> = open
            .iter()
            .flat_map(|&o| out[o].params.iter().cloned())
            .collect();
        out[i].callables.extend(outer);
        open.push(i);
    }
    out
}

/// Names used inside a function's nested functions and lambdas.
#[derive(Debug, Default, Clone)]
struct Captured {
    /// Used in a way that may take the resource over: passed on, returned,
    /// stored, released (`lambda: sock.close()`), bound.
    owning: HashSet<String>,
    /// Only used: methods called on it that release nothing, attributes
    /// read (`retry(lambda: sock.connect(addr))`).
    using: HashSet<String>,
    /// Methods called inside them, with the receiver's text:
    /// `("semaphore", "release")` for `lambda f: semaphore.release()`.
    methods: HashSet<(String, String)>,
}

/// What the analysis needs to know of a body up front: whether it yields
/// (a generator), and the names its nested functions and lambdas capture
/// (a resource a closure may release is owned by whoever holds the
/// closure). A nested function's own parameters shadow the outer names.
fn scan_body(body: Node, source: &str) -> (bool, Captured, HashSet<String>, HashSet<String>) {
    let mut yields = false;
    let mut captured = Captured::default();
    let mut locals = HashSet::new();
    let mut outer = HashSet::new();
    syntax::walk(body, |n| {
        if matches!(n.kind_name(), "global_statement" | "nonlocal_statement") {
            let mut cursor = n.walk();
            for name in n.named_children(&mut cursor) {
                outer.insert(text(name, source).to_string());
            }
            return false;
        }
        let target = match n.kind_name() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                n.field("left")
            }
            "as_pattern" => n.field("alias"),
            "named_expression" => n.field("name"),
            _ => None,
        };
        if let Some(target) = target {
            syntax::walk(target, |t| {
                if t.kind_name() == "identifier" {
                    locals.insert(text(t, source).to_string());
                }
                // `self.x = ...`, `d[k] = ...` bind no local.
                !matches!(t.kind_name(), "attribute" | "subscript")
            });
        }
        if is_nested_scope(n.kind_name()) {
            let own = syntax::parameter_names(n, source);
            syntax::walk_with_ancestors(n, |inner, up| {
                if inner.kind_name() == "call"
                    && let Some(function) = inner
                        .field("function")
                        .filter(|f| f.kind_name() == "attribute")
                    && let (Some(object), Some(method)) =
                        (function.field("object"), function.field("attribute"))
                {
                    captured.methods.insert((
                        syntax::compact_text(object, source),
                        text(method, source).to_string(),
                    ));
                }
                if inner.kind_name() == "identifier" {
                    let name = text(inner, source);
                    // `def _close(upstream=upstream): await upstream.aclose()`:
                    // the default value is the outer object, bound into the
                    // closure; what the body does with the parameter is
                    // what the closure does with it.
                    if let Some(param) = default_of(inner, up, source) {
                        let owning = n.field("body").is_some_and(|body| {
                            let mut owning = false;
                            syntax::walk(body, |b| {
                                owning |= b.kind_name() == "identifier"
                                    && text(b, source) == param
                                    && !owners::only_used(b, source);
                                !owning
                            });
                            owning
                        });
                        if owning {
                            captured.owning.insert(name.to_string());
                        } else {
                            captured.using.insert(name.to_string());
                        }
                        return true;
                    }
                    if own.iter().any(|p| p == name) {
                        return true;
                    }
                    if owners::only_used(inner, source) {
                        captured.using.insert(name.to_string());
                    } else {
                        captured.owning.insert(name.to_string());
                    }
                }
                true
            });
            return false;
        }
        yields |= n.kind_name() == "yield";
        true
    });
    (yields, captured, locals, outer)
}

/// The parameter of a nested function whose default value is `value`, an
/// identifier of the enclosing scope (`upstream` in `def
/// _close(upstream=upstream):`). `up` are `value`'s ancestors from the
/// nested function down: the function, its parameter list, the default.
fn default_of<'s>(value: Node, up: &[Node], source: &'s str) -> Option<&'s str> {
    let [_function, _list, default] = up else {
        return None;
    };
    let is_default = matches!(
        default.kind_name(),
        "default_parameter" | "typed_default_parameter"
    ) && default.field("value").is_some_and(|v| v.id() == value.id());
    if !is_default {
        return None;
    }
    Some(text(default.field("name")?, source))
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
    imports: &'a Imports,
    matcher: Matcher<'a>,
    /// What each call may raise (helpers of the file by their summary).
    raises: &'a dyn Fn(&CallFact) -> cfg::Raises,
    /// The fresh resource a call to a helper of the file returns.
    returned_by: &'a dyn Fn(&CallFact) -> Option<summaries::Returned>,
    /// Whether a call runs a helper that raises only where calls rarely
    /// fail (see `BodySummary::weakly`).
    weakly_raises: &'a dyn Fn(&CallFact) -> bool,
    /// Whether a call runs a function of the project that returns no value
    /// (see `BodySummary::returns_nothing`).
    gives_nothing: &'a dyn Fn(&CallFact) -> bool,
    /// Whether a call makes an instance of a checked class that owns
    /// nothing.
    plain_instance: &'a dyn Fn(&CallFact) -> bool,
    name: &'a str,
    catalogue: &'a Catalogue,
    shape: &'a FunctionShape,
    captured: Captured,
    /// The function's parameter names.
    params: &'a HashSet<String>,
    /// Its decorators, as written without `@`.
    decorators: &'a [String],
    /// Its `global` and `nonlocal` names (see `FunctionNode::outer`).
    outer: &'a HashSet<String>,
    /// An exception leaving the function ends the run: a failing test, or a
    /// one-shot program no caller of which catches it. Only paths that
    /// complete count as leaks.
    exceptions_end_run: bool,
    /// Returning ends the run: the `main()` a script's `__main__` block
    /// calls last. What it holds then, the process gives back.
    returns_end_run: bool,
    /// The `__init__` of a class with a finalizer (`__del__`): what it keeps
    /// on `self` the finalizer sees, even when `__init__` raises.
    finalized: bool,
    /// The function runs in a one-shot program (its exceptions or its return
    /// end the run). A value dropped at once there (`json.load(open(p))`)
    /// is closed by reference counting at once, and the process ends soon
    /// after: no UC005.
    runs_once: bool,
    /// Pairs the other functions of the file showed (see `learned`).
    file_pairs: &'a [learned::FilePair],
    /// Module flags that switch code off (`DEBUG_TO_DISK = False`, never
    /// set again): what runs only under them never runs.
    disabled_flags: &'a HashSet<String>,
    /// Calls (by start byte) to helpers of this file that take these
    /// arguments over: `close_quietly(conn)`, `self._register(sock)`.
    handed: HashMap<(usize, usize), Vec<String>>,
    /// Calls (by start byte) to helpers that release these arguments when
    /// they fail, and only then: `_strip_ssl_or_close(reader, writer)`.
    released_on_failure: HashMap<(usize, usize), Vec<String>>,
    /// The names each call (by start byte) mentions in its arguments,
    /// worked out once: every acquisition asks it of the calls on its paths.
    argument_names: std::cell::RefCell<HashMap<usize, std::rc::Rc<[&'a str]>>>,
    /// What each call (by start byte) may raise, worked out once.
    raise_classes: std::cell::RefCell<HashMap<(usize, usize), cfg::Raises>>,
    /// States the searches of this function have explored so far.
    explored_states: std::cell::Cell<usize>,
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
    /// Another name that holds the resource too (the protocol of
    /// `transport, protocol = await loop.create_connection(...)`).
    shared_with: Option<String>,
    /// Kept on the object by `__init__` (`self.sock = socket.socket()`):
    /// the object has it once `__init__` returns; an exception before that
    /// loses the object, and the resource with it.
    kept_by_new_object: bool,
    /// Held on success on purpose, for another method of the class to
    /// release (see `held_for_another_method`): only exceptions leak it.
    kept_past_return: bool,
    /// Made inside a constructor's arguments (`stream = IOStream(socket())`):
    /// `var` is the new object, which owns the resource; it is followed only
    /// when this function releases it somewhere, and otherwise owns it.
    wrapped: bool,
    /// For a lock on the object (`self._sem.acquire()`): the methods of the
    /// class that give it back (see `methods_giving_back`). Calling one
    /// releases it.
    given_back_by: Vec<String>,
}

impl<'t, 'a> Acquisition<'t, 'a> {
    /// An acquisition at `node` held by `holder`, with nothing else known.
    fn new(node: NodeId, call: &'a CallFact<'t>, rule: &'a Resource, holder: Holder) -> Self {
        Acquisition {
            node,
            call,
            rule,
            holder,
            held_edge: None,
            parent: None,
            shared_with: None,
            kept_by_new_object: false,
            kept_past_return: false,
            wrapped: false,
            given_back_by: Vec::new(),
        }
    }
}

/// What the analysis of one function gives.
struct UnitOutcome {
    findings: Vec<Finding>,
    learnt: Vec<Learnt>,
    /// Pairs learnt here, for the file's other functions.
    pairs: Vec<learned::FilePair>,
    /// Acquisitions not followed: the function exceeded its budget.
    gave_up: usize,
}

/// States the searches of one function may explore in all before the
/// rest of its acquisitions are given up (with a warning). Ordinary code
/// stays far below it: no function of the benchmark corpora (15k files,
/// test suites included) reaches it; a generated function of 5,000
/// `open()` calls does after about 200.
const FUNCTION_STATE_BUDGET: usize = 1_000_000;

enum Found<'t, 'a> {
    Tracked(Acquisition<'t, 'a>),
    Discarded(&'a CallFact<'t>, &'a Resource),
}

impl<'a> FunctionContext<'a> {
    fn analyze<'t>(&self, graph: &'a Cfg<'t>) -> UnitOutcome {
        let releases_on_receiver = self.receivers_released(graph);
        // Names whose value is handed on somewhere in the function: a lock
        // appended to a waiters list is released by whoever pops it.
        let handed_on: HashSet<&str> = graph
            .nodes
            .iter()
            .flat_map(|n| n.facts.escapes.iter().map(String::as_str))
            .collect();
        let mut findings = Vec::new();
        // What the function shows it must release (see `learned`).
        let learned = learned::learn(
            graph,
            self.source,
            &self.matcher.catalogue.calls,
            &|call| {
                self.matcher.rule_for(call, &releases_on_receiver).is_some()
                    || (self.returned_by)(call).is_some()
            },
            &|call| {
                (self.plain_instance)(call)
                    || self.matcher.namesake_holds_nothing(call, self.imports)
            },
            self.file_pairs,
            self.name,
        );
        // Instances of owner classes (`client = LedgerClient(host)`): an
        // entry made up for each class, released by its `close()`.
        let owner_rules: Vec<((usize, usize), Resource)> = graph
            .nodes
            .iter()
            .flat_map(|n| &n.facts.calls)
            .filter_map(|call| {
                let returned = (self.returned_by)(call)?;
                let rule = owner_resource(&returned)?;
                Some((call_key(call.node), rule))
            })
            .collect();
        let mut tracked = Vec::new();
        let mut gave_up = 0;
        for (id, node) in graph.nodes.iter().enumerate() {
            for call in &node.facts.calls {
                let Some(l) = learned.iter().find(|l| l.call == call.node) else {
                    continue;
                };
                let Use::Bound(var) = &call.usage else {
                    continue;
                };
                // `async with self.get_pool() as pool: c = await
                // pool.get_connection()`: what a pool lends inside its
                // `with` lives no longer than the pool, which the block
                // ends (valkey's and redis-py's pools disconnect the
                // connections they lent).
                if call
                    .receiver
                    .as_deref()
                    .is_some_and(|receiver| inside_with_as(call.node, receiver, self.source))
                {
                    continue;
                }
                tracked.push(Acquisition::new(
                    id,
                    call,
                    &l.rule,
                    Holder::Value { var: var.clone() },
                ));
            }
        }
        for (id, node) in graph.nodes.iter().enumerate() {
            for call in &node.facts.calls {
                if self.disabled(call.node) {
                    continue;
                }
                // `r, w = os.pipe()`: one obligation per end.
                if let Use::Unpacked(names) = &call.usage
                    && let Some(rule) = self.matcher.rule_for(call, &releases_on_receiver)
                    && !rule.acquire.elements.is_empty()
                {
                    for &i in &rule.acquire.elements {
                        let Some(var) = names.get(i).cloned().flatten().filter(|v| v != "_") else {
                            continue;
                        };
                        tracked.push(Acquisition::new(id, call, rule, Holder::Value { var }));
                    }
                    continue;
                }
                let owner = owner_rules
                    .iter()
                    .find(|(at, _)| *at == call_key(call.node))
                    .map(|(_, rule)| rule);
                match self.acquisition(graph, id, call, owner, &releases_on_receiver, &handed_on) {
                    Some(Found::Tracked(acq)) => tracked.push(acq),
                    // `subprocess.Popen([...])` then `os._exit(0)`: the
                    // process ends before anything could leak.
                    // A lazy object dropped before anything made it live
                    // (`isinstance(requests.Session(), CachedSession)`)
                    // held nothing.
                    Some(Found::Discarded(call, rule))
                        if !self.runs_once
                            && !ends_after(graph, id)
                            && !never_made_live(call, rule) =>
                    {
                        findings.push(self.discarded(call, rule))
                    }
                    Some(Found::Discarded(..)) => {}
                    None => {}
                }
            }
        }
        // Held until the process ends, by design: every path that does not
        // raise ends in `sys.exit()` (a respawn that hands its stdin pipe to
        // the child and exits with its status). An exception on the way
        // ends it as surely, or is the caller's to report.
        if !tracked.is_empty() {
            let process_ends = self.process_ends_after_each(graph);
            tracked.retain(|acq| !process_ends[acq.node]);
        }
        if !tracked.is_empty() {
            let guards: Vec<Vec<(Node, bool)>> = tracked
                .iter()
                .map(|a| {
                    let mut guards = guards_of(a.call.node, self.source);
                    guards.extend(ownership_flags(a.call.node, &a.rule.acquire, self.source));
                    guards
                })
                .collect();
            let guard_tests: Vec<Node> = guards.iter().flatten().map(|(n, _)| *n).collect();
            let conditions = Conditions::build(graph, &guard_tests, self.source);
            let known_before = conditions.known_before(graph);
            let links = links(graph);
            // A resource wrapped by another tracked one (`session =
            // aiohttp.ClientSession(connector=conn)`): the wrapper's finding
            // speaks for both.
            // Only when the wrapper is made right away (the next statement):
            // a leak before it is the inner resource's own.
            let wrappers: Vec<(&str, NodeId)> = tracked
                .iter()
                .filter_map(|a| match (&a.holder, &a.call.usage) {
                    (Holder::Value { var }, Use::Bound(_)) => Some((var.as_str(), a.node)),
                    _ => None,
                })
                .collect();
            for (acq, guards) in tracked.iter().zip(&guards) {
                // Each acquisition is followed to where it ends: in a huge
                // function full of them, the work would grow with the square
                // of its size. Past the budget the rest is said, not followed.
                if self.explored_states.get() > FUNCTION_STATE_BUDGET {
                    gave_up += 1;
                    continue;
                }
                let right_after = |at: NodeId| {
                    at == acq.node
                        || graph.nodes[acq.node]
                            .succs
                            .iter()
                            .any(|&(edge, next)| next == at && !matches!(edge, Edge::Raise(_)))
                };
                if let Holder::Value { var } = &acq.holder
                    && links.wraps.iter().any(|(new, old)| {
                        old == var
                            && new != var
                            && wrappers.iter().any(|&(w, at)| w == new && right_after(at))
                    })
                {
                    continue;
                }
                // Reached only against an earlier test: never made.
                let Some(mut before) = known_before[acq.node] else {
                    continue;
                };
                for &(test, branch) in guards {
                    conditions.learn_guard(&mut before, test, self.source, branch);
                }
                if let Some(f) = self.track(graph, acq, &links, &conditions, before) {
                    findings.push(f);
                }
            }
        }
        // A `finally` body is copied once per exit kind; an acquisition in it
        // appears in several copies but is one acquisition.
        findings.sort_by(|a, b| {
            (a.span, a.code.certainty_rank()).cmp(&(b.span, b.code.certainty_rank()))
        });
        findings.dedup_by(|b, a| a.span == b.span);
        let pairs = learned.iter().filter_map(|l| l.pair.clone()).collect();
        let learnt = learned
            .into_iter()
            .map(|l| Learnt {
                scope: self.name.to_string(),
                ..l.learnt
            })
            .collect();
        UnitOutcome {
            findings,
            learnt,
            pairs,
            gave_up,
        }
    }

    /// The resources this method stores on `self` (`self._sock =
    /// socket.socket()`, or a name bound to one and then stored), each
    /// with the UC008 finding to report if its class never releases it.
    fn stored_on_self(&self, graph: &Cfg) -> Vec<owners::Stored> {
        let no_receivers = HashSet::new();
        let mut out = Vec::new();
        let stored_names = self.names_stored_on_self(graph);
        for (id, node) in graph.nodes.iter().enumerate() {
            for call in &node.facts.calls {
                if self.disabled(call.node) {
                    continue;
                }
                let (attr, store) = match &call.usage {
                    Use::Stored(target) => match target.strip_prefix("self.") {
                        Some(attr) if crate::rules::is_identifier(attr) => (attr.to_string(), None),
                        _ => continue,
                    },
                    // (A store before the call keeps the name's earlier
                    // value: `self.dest = dest` of the path, then `dest =
                    // open(dest)`.)
                    Use::Bound(var) => match stored_names.get(var) {
                        Some((attr, at)) if at.start_byte() > call.node.end_byte() => {
                            (attr.clone(), Some(*at))
                        }
                        _ => continue,
                    },
                    _ => continue,
                };
                let rule = match self.matcher.rule_for(call, &no_receivers) {
                    Some(rule) => rule,
                    None => match (self.returned_by)(call) {
                        Some(r) if !r.is_async || call.awaited => {
                            let Some(rule) = self.catalogue.get(&r.rule) else {
                                continue;
                            };
                            rule
                        }
                        _ => continue,
                    },
                };
                let acquire = &rule.acquire;
                // A lazy client holds nothing until used; an `unless`
                // argument: nothing acquired.
                if !self.matcher.yields_value(call, rule)
                    || rule.lazy.is_some()
                    || self.matcher.acquires_nothing(call, acquire, self.imports)
                    || ends_after(graph, id)
                {
                    continue;
                }
                let class = self.name.rsplit_once('.').map_or(self.name, |(c, _)| c);
                let class = crate::syntax::last_part(class);
                let subject = self.subject(call, rule, None);
                let message = format!(
                    "{subject} is kept in `self.{attr}`, and no method of `{class}` releases it"
                );
                let release = rule
                    .release
                    .methods
                    .first()
                    .map(|m| m.trim_end_matches("()").to_string())
                    .unwrap_or_else(|| "close".into());
                let help = format!(
                    "give `{class}` a `close()` that calls `self.{attr}.{release}()` (and \
                     `__exit__` calling it, for `with`), and close the object when done"
                );
                let mut steps = vec![self.step(call.node, format!("{} acquired here", rule.noun))];
                if let Some(at) = store {
                    steps.push(self.step(at, format!("kept in `self.{attr}` here")));
                }
                let mut finding = self.finding(
                    crate::codes::Code::OwnerNeverReleases,
                    call,
                    rule,
                    message,
                    help,
                    steps,
                    Vec::new(),
                );
                finding.kept_in = Some((class.to_string(), attr.clone()));
                let parent = call
                    .receiver
                    .as_deref()
                    .and_then(|r| r.strip_prefix("self."))
                    .filter(|p| rule.released_with_parent && crate::rules::is_identifier(p))
                    .map(str::to_string);
                out.push(owners::Stored {
                    awaited: rule.release.awaited == crate::rules::Awaited::Always,
                    noun: rule.noun.clone(),
                    parent,
                    attr,
                    releases: rule
                        .release
                        .methods
                        .iter()
                        .map(|m| m.trim_end_matches("()").to_string())
                        .collect(),
                    finding,
                });
            }
        }
        out
    }

    /// `self.<attr> = var` in this function, for each `var` bound once: the
    /// attribute and the assignment (the first, when there are several).
    /// Worked out in one pass: asked per call, it made a function full of
    /// acquisitions quadratic.
    fn names_stored_on_self<'t>(&self, graph: &Cfg<'t>) -> HashMap<String, (String, Node<'t>)> {
        let mut bindings: HashMap<&str, usize> = HashMap::new();
        for node in &graph.nodes {
            for b in &node.facts.binds {
                *bindings.entry(b.as_str()).or_default() += 1;
            }
        }
        let mut out = HashMap::new();
        for node in &graph.nodes {
            let Some(stmt) = node.syntax else { continue };
            let assign = if stmt.kind_name() == "assignment" {
                stmt
            } else {
                match stmt
                    .named_child(0)
                    .filter(|a| a.kind_name() == "assignment")
                {
                    Some(a) => a,
                    None => continue,
                }
            };
            let (Some(left), Some(right)) = (assign.field("left"), assign.field("right")) else {
                continue;
            };
            if right.kind_name() != "identifier" {
                continue;
            }
            let var = text(right, self.source);
            let Some(attr) = text(left, self.source).strip_prefix("self.") else {
                continue;
            };
            if bindings.get(var) == Some(&1) && crate::rules::is_identifier(attr) {
                out.entry(var.to_string())
                    .or_insert_with(|| (attr.to_string(), assign));
            }
        }
        out
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
                    && syntax::argument_count(call.node) == 0
                    && let Some(recv) = &call.receiver
                {
                    out.insert(recv.clone());
                }
            }
        }
        out
    }

    /// Whether the function runs under a mock that answers every use of
    /// the resource in memory (see `Resource::mocked_by`): a test given
    /// pytest's `requests_mock` fixture, or decorated with
    /// `@responses.activate`.
    fn mocked(&self, rule: &Resource) -> bool {
        rule.mocked_by.iter().any(|mock| {
            self.params.contains(mock)
                || self
                    .decorators
                    .iter()
                    .any(|d| d.split('(').next().unwrap_or(d).trim() == mock)
        })
    }

    fn acquisition<'t, 'c>(
        &self,
        graph: &Cfg<'t>,
        node: NodeId,
        call: &'c CallFact<'t>,
        owner: Option<&'c Resource>,
        releases_on_receiver: &HashSet<String>,
        handed_on: &HashSet<&str>,
    ) -> Option<Found<'t, 'c>>
    where
        'a: 'c,
    {
        let (rule, launched) =
            match owner.or_else(|| self.matcher.rule_for(call, releases_on_receiver)) {
                Some(rule) => (rule, self.matcher.launches(call, rule, self.imports)),
                // `conn = get_conn()`, a helper of this file that returns a new
                // one (a coroutine only when awaited).
                None => {
                    let returned = (self.returned_by)(call)?;
                    if returned.is_async && !call.awaited {
                        return None;
                    }
                    (self.catalogue.get(&returned.rule)?, returned.launched)
                }
            };
        let acquire = &rule.acquire;
        // A function of the project that returns nothing hands nothing out,
        // whatever its name (`self.wrap_socket(conn)` that stores the
        // socket on `conn`).
        if acquire.obligation == Obligation::Value && (self.gives_nothing)(call) {
            return None;
        }
        // Inside `with pytest.raises(...)` the call is expected to fail:
        // nothing is acquired on the path the test wants.
        if self.expected_to_raise(call.node) {
            return None;
        }
        // `session.get(url)` without `await` is a request not yet made.
        if acquire.requires_await && !call.awaited && !matches!(call.usage, Use::WithItem(_)) {
            return None;
        }
        if self.matcher.acquires_nothing(call, acquire, self.imports) || self.mocked(rule) {
            return None;
        }
        let parent = call.receiver.as_deref().and_then(|receiver| {
            let origin = self.matcher.origin(receiver)?.resource.as_ref()?;
            if !acquire.from.contains(origin) {
                return None;
            }
            Some((receiver, self.catalogue.get(origin)?))
        });
        // A response of `session` inside `async with ClientSession() as
        // session:` is released with the session when the block ends, on
        // every way out of it.
        if let Some((receiver, parent_rule)) = parent
            && rule.released_with_parent
            && parent_rule.with_releases
            && inside_with_as(call.node, receiver, self.source)
        {
            return None;
        }
        let tracked = |holder: Holder, held_edge: Option<Edge>, wrapped: bool| {
            Some(Found::Tracked(Acquisition {
                held_edge,
                parent,
                wrapped,
                ..Acquisition::new(node, call, rule, holder)
            }))
        };
        if acquire.obligation == Obligation::Receiver {
            let receiver = call.receiver.clone()?;
            // A lock this function never releases is, when it is an
            // attribute (or an item: `locks[key]`) or a parameter, released by other code on purpose
            // (`__enter__`/`__exit__`, a counting semaphore a worker gives
            // back, a lock the caller passed in): the protocol is not this
            // function's; when it is made here and never shared, nobody else
            // can wait on it. For those, the bug worth reporting is a release
            // this function writes but skips on some path. A module's lock
            // taken and never given back stays reported.
            if self.lock_protocol_elsewhere(graph, call, &receiver)
                && !releases_on_receiver.contains(&receiver)
            {
                return None;
            }
            if handed_on.contains(receiver.as_str()) {
                return None;
            }
            // A lock made here that nothing else ever sees blocks nobody when
            // it stays taken, even on a path that skips its release.
            if self.lock_never_shared(graph, &receiver) {
                return None;
            }
            // `with self._lock: ... self._lock.release(); wait();
            // self._lock.acquire()`: taken back for the `with` to release.
            if inside_with_on(call.node, &receiver, self.source) {
                return None;
            }
            let (result, held_edge) = match &call.usage {
                // `lock.acquire(blocking=False)` with its answer ignored: the
                // function does not know whether it holds the lock.
                Use::Discarded if does_not_wait(call.node, self.source) => return None,
                Use::Discarded => (None, None),
                Use::Bound(v) => (Some(v.clone()), None),
                Use::Condition { negated } => {
                    (None, Some(if *negated { Edge::False } else { Edge::True }))
                }
                _ => return None,
            };
            // A lock's own `acquire()` (or a context's `__enter__`, or a
            // helper named for taking locks: pebble's `unix_acquire`,
            // `take_lock`) returns holding what it took: that is its
            // contract with the caller. So does one named for locking
            // what it is given (nodepool's `lockNode(node)`, taking
            // `node._thread_lock`): the lock is the object's, not the
            // class's.
            let own_name = crate::syntax::last_part(self.name).trim_start_matches('_');
            let lowered = own_name.to_ascii_lowercase();
            let on_argument = receiver
                .split('.')
                .next()
                .is_some_and(|root| root != "self" && root != "cls" && self.params.contains(root));
            let acquires_for_caller = own_name.contains("acquire")
                || (on_argument && lowered.starts_with("lock") && !lowered.starts_with("locked"))
                || matches!(
                    own_name,
                    "enter__" | "aenter__" | "lock" | "take_lock" | "get_lock" | "grab_lock"
                );
            let kept_past_return =
                acquires_for_caller || self.held_for_another_method(graph, call, &receiver, rule);
            let given_back_by = self.methods_giving_back(call, &receiver, rule);
            let holder = Holder::Receiver { receiver, result };
            return Some(Found::Tracked(Acquisition {
                held_edge,
                parent,
                kept_past_return,
                given_back_by,
                ..Acquisition::new(node, call, rule, holder)
            }));
        }
        // An `x.acquire()` known only by its shape is a pool connection when
        // the receiver is named like one or the function gives the value
        // back somewhere; otherwise it may be anything (a quota, a
        // semaphore count, a Deferred).
        if !self.has_evidence(graph, call, rule) {
            return None;
        }
        // `global _pipe; _pipe = open(...)`: kept by the module, for the
        // code that uses it later.
        if let Use::Bound(var) = &call.usage
            && self.outer.contains(var)
        {
            return None;
        }
        let value = |var: &String| tracked(Holder::Value { var: var.clone() }, None, false);
        let in_init = self.name.rsplit('.').next() == Some("__init__")
            && self.name.contains('.')
            && !self.finalized;
        match (&call.usage, acquire.element) {
            // `proc.returncode = 0`: marked as done, left to run on its own;
            // `self.pids[name] = proc.pid`: the object reaps it by pid.
            // (Only for a process, what `launch-unless` is written for: the
            // walk of the function is not paid for every acquisition.)
            (Use::Bound(var), None)
                if acquire.launch_unless.is_some()
                    && crate::syntax::enclosing(call.node, "function_definition")
                        .is_some_and(|f| left_running(f, var, self.source)) =>
            {
                None
            }
            // `_ = subprocess.Popen(["xdg-open", path])`: the throwaway name,
            // never read, drops the value as a statement does.
            (Use::Bound(var), None)
                if launched
                    && var == "_"
                    && crate::syntax::enclosing(call.node, "function_definition")
                        .is_some_and(|f| !name_read(f, var, self.source)) =>
            {
                None
            }
            (Use::Bound(var), None) => value(var),
            // `self.sock = socket.socket()` in `__init__`: followed until
            // `__init__` returns.
            (Use::Stored(target), None)
                if in_init
                    && target
                        .strip_prefix("self.")
                        .is_some_and(crate::rules::is_identifier) =>
            {
                let mut found = value(target)?;
                if let Found::Tracked(acq) = &mut found {
                    acq.kept_by_new_object = true;
                }
                Some(found)
            }
            (Use::WrappedBy(var), None) => tracked(Holder::Value { var: var.clone() }, None, true),
            (Use::Unpacked(names), Some(i)) => {
                let bound = |k: usize| names.get(k).cloned().flatten().filter(|v| v != "_");
                match (bound(i), acquire.held_by_element.and_then(bound)) {
                    // `transport, protocol = ...`: either one holds it.
                    (Some(var), Some(holder)) => {
                        let mut found = value(&var)?;
                        if let Found::Tracked(acq) = &mut found {
                            acq.shared_with = Some(holder);
                        }
                        Some(found)
                    }
                    // `_, protocol = ...`: the protocol keeps the transport.
                    (None, Some(holder)) => value(&holder),
                    (Some(var), None) => value(&var),
                    (None, None) => None,
                }
            }
            (Use::WithItem(alias), None) if !rule.with_releases => match alias {
                Some(var) => value(var),
                None => Some(Found::Discarded(call, rule)),
            },
            (Use::Receiver(attr), _)
                if rule
                    .release
                    .methods
                    .iter()
                    .any(|m| m.strip_suffix("()").unwrap_or(m) == attr) =>
            {
                None
            }
            // `Connection(url).as_uri()` uses nothing of a lazy resource.
            (Use::Receiver(attr), _)
                if rule.lazy.as_ref().is_some_and(|l| !l.live.contains(attr)) =>
            {
                None
            }
            // `subprocess.Popen(["xdg-open", path])` as a statement: started
            // to run on its own, with no pipe left open.
            (Use::Discarded | Use::Receiver(_), _) if launched => None,
            // `json.load(urlopen(url))`: given to a call that releases it
            // (reading the body to its end gives the connection back).
            (Use::BorrowedArgument(callee), _)
                if rule
                    .release
                    .functions
                    .contains(&self.imports.resolve(callee)) =>
            {
                None
            }
            (Use::Discarded | Use::Receiver(_) | Use::BorrowedArgument(_), _) => {
                Some(Found::Discarded(call, rule))
            }
            _ => None,
        }
    }

    /// Whether `receiver` is a plain name that this function binds to a new
    /// object (`lock = threading.Lock()`) and never lets out: not returned,
    /// stored, passed on, copied into another name, nor seen by a function
    /// nested in this one.
    fn lock_never_shared(&self, graph: &Cfg, receiver: &str) -> bool {
        if !crate::rules::is_identifier(receiver) || self.params.contains(receiver) {
            return false;
        }
        let bound_by_call = graph.nodes.iter().any(|n| {
            n.facts
                .calls
                .iter()
                .any(|c| matches!(&c.usage, Use::Bound(v) if v == receiver))
        });
        let lets_out = graph.nodes.iter().any(|n| {
            let f = &n.facts;
            f.escapes
                .iter()
                .chain(&f.escapes_on_success)
                .any(|e| e == receiver)
                || f.aliases
                    .iter()
                    .chain(&f.wraps)
                    .any(|(_, old)| old == receiver)
                || f.calls
                    .iter()
                    .any(|c| self.names_in_arguments(c).contains(&receiver))
        });
        let captured = self.captured.owning.contains(receiver)
            || self.captured.using.contains(receiver)
            || self.captured.methods.iter().any(|(r, _)| r == receiver);
        bound_by_call && !lets_out && !captured && !self.outer.contains(receiver)
    }

    /// Whether a lock taken here is one whose protocol other code keeps
    /// (see the caller): an attribute or an item (`locks[key]`), a
    /// parameter, one made here, a nested function's lock from its
    /// enclosing function, or this object itself through its base class.
    fn lock_protocol_elsewhere(&self, graph: &Cfg, call: &CallFact, receiver: &str) -> bool {
        let attribute = receiver.contains(['.', '[']);
        let made_here = || {
            graph
                .nodes
                .iter()
                .any(|n| n.facts.binds.iter().any(|b| b == receiver))
        };
        // `def task(): done.acquire()` inside the function that made
        // `done`: a signal the enclosing function gives.
        let enclosing_local = || {
            crate::syntax::enclosing(call.node, "function_definition")
                .and_then(|f| crate::syntax::enclosing(f, "function_definition"))
                .is_some_and(|outer| binds_name(outer, receiver, self.source))
        };
        // `BoundedSemaphore.acquire(self, ...)`: the base class's method
        // on this object, a lock like one on an attribute.
        let on_self = || {
            receiver.starts_with(|c: char| c.is_ascii_uppercase())
                && call
                    .node
                    .field("arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(|a| text(a, self.source) == "self")
        };
        attribute || self.params.contains(receiver) || made_here() || enclosing_local() || on_self()
    }

    /// Whether `node` is inside a `with pytest.raises(...)` (or
    /// `self.assertRaises(...)`) block of this function.
    fn expected_to_raise(&self, node: Node) -> bool {
        let mut current = node.parent();
        while let Some(n) = current {
            if is_nested_scope(n.kind_name()) {
                return false;
            }
            if n.kind_name() == "with_statement" {
                let clause = n
                    .named_children(&mut n.walk())
                    .find(|c| c.kind_name() == "with_clause");
                let asserts = clause.is_some_and(|clause| {
                    let mut found = false;
                    syntax::walk(clause, |item| {
                        if item.kind_name() == "call"
                            && let Some(f) = item.field("function")
                            && let Some(name) = syntax::dotted_name(f, self.source)
                        {
                            let resolved = self.imports.resolve(&name);
                            let method = crate::syntax::last_part(&name);
                            found |= resolved == "pytest.raises"
                                || matches!(method, "assertRaises" | "assertRaisesRegex");
                            return false;
                        }
                        !found
                    });
                    found
                });
                if asserts {
                    return true;
                }
            }
            current = n.parent();
        }
        false
    }

    /// Whether `node` runs only under a module flag that is off (see
    /// `disabled_flags`): `if _WRITE_TO_DISK: tmp = NamedTemporaryFile(...)`.
    fn disabled(&self, node: Node) -> bool {
        if self.disabled_flags.is_empty() {
            return false;
        }
        let mut child = node;
        while let Some(parent) = child.parent() {
            if parent.kind_name() == "function_definition" {
                return false;
            }
            if parent.kind_name() == "if_statement"
                && parent.field("consequence") == Some(child)
                && parent.field("condition").is_some_and(|c| self.is_off(c))
            {
                return true;
            }
            child = parent;
        }
        false
    }

    /// A condition that is false while a disabled flag is: the flag, or a
    /// conjunction with it.
    fn is_off(&self, condition: Node) -> bool {
        match condition.kind_name() {
            "identifier" => self.disabled_flags.contains(text(condition, self.source)),
            "parenthesized_expression" => condition.named_child(0).is_some_and(|c| self.is_off(c)),
            "boolean_operator" => {
                condition
                    .field("operator")
                    .is_some_and(|o| text(o, self.source) == "and")
                    && [condition.field("left"), condition.field("right")]
                        .into_iter()
                        .flatten()
                        .any(|c| self.is_off(c))
            }
            _ => false,
        }
    }

    /// A lock on the object (`self._slots.acquire()`) that this function
    /// gives back only in `except` blocks, while another method of the
    /// class gives it back: on success it is held on purpose until that
    /// method runs (a prefetch slot released when the message is acked).
    fn held_for_another_method(
        &self,
        graph: &Cfg,
        call: &CallFact,
        receiver: &str,
        rule: &Resource,
    ) -> bool {
        if !receiver.starts_with("self.") {
            return false;
        }
        let is_release = |c: &CallFact| {
            c.receiver.as_deref() == Some(receiver)
                && c.method
                    .as_deref()
                    .is_some_and(|m| rule.release.methods.iter().any(|r| r == m))
        };
        let releases: Vec<&CallFact> = graph
            .nodes
            .iter()
            .flat_map(|n| &n.facts.calls)
            .filter(|c| is_release(c))
            .collect();
        if releases.is_empty()
            || !releases
                .iter()
                .all(|c| crate::syntax::in_except_clause(c.node))
        {
            return false;
        }
        let Some(function) = crate::syntax::enclosing(call.node, "function_definition") else {
            return false;
        };
        if crate::syntax::enclosing(function, "class_definition").is_none() {
            return false;
        }
        // Released in the file's text more often than in this function's:
        // by the same name, or through another object holding the same
        // attribute (`handle.lock.release()` for `self._handle.lock`, in the
        // finalizer of the stream that took it over).
        let last = crate::syntax::last_part(receiver);
        rule.release.methods.iter().any(|m| {
            let written = format!(".{last}.{m}(");
            let own = text(function, self.source);
            self.source.matches(written.as_str()).count() > own.matches(written.as_str()).count()
        })
    }

    /// The methods of the class that give back `receiver` (`self._sem`)
    /// without taking it: the other half of a protocol between methods (a
    /// job's completion callback returning a semaphore token, a dispatcher
    /// releasing the receive lock), and those that call one of them, also
    /// without taking it. Methods that take and give it back only use it.
    /// `future.add_done_callback(_release_slot)`: a function of the module,
    /// handed on by name (not called), that gives the module's lock back
    /// (`def _release_slot(_): _SLOTS.release()`), releases it whenever it
    /// runs.
    fn callback_gives_back(&self, acq: &Acquisition, receiver: &str) -> bool {
        if !crate::rules::is_identifier(receiver) {
            return false;
        }
        let Some(function) = crate::syntax::enclosing(acq.call.node, "function_definition") else {
            return false;
        };
        let mut module = function;
        while let Some(parent) = module.parent() {
            module = parent;
        }
        // The module's functions that give it back, by name (most modules
        // have none: then nothing else is looked at).
        let mut givers: Vec<&str> = Vec::new();
        for d in functions_defined_in(module) {
            if let (Some(name), Some(body)) = (d.field("name"), d.field("body")) {
                let body = text(body, self.source);
                if acq
                    .rule
                    .release
                    .methods
                    .iter()
                    .any(|m| body.contains(&format!("{receiver}.{m}(")))
                {
                    givers.push(text(name, self.source));
                }
            }
        }
        if givers.is_empty() {
            return false;
        }
        let mut found = false;
        crate::syntax::walk(function, |n| {
            if n.kind_name() == "argument_list" {
                let mut cursor = n.walk();
                found |= n.named_children(&mut cursor).any(|a| {
                    a.kind_name() == "identifier" && givers.contains(&text(a, self.source))
                });
            }
            !found
        });
        found
    }

    fn methods_giving_back(&self, call: &CallFact, receiver: &str, rule: &Resource) -> Vec<String> {
        let Some(attribute) = receiver
            .strip_prefix("self.")
            .filter(|a| !a.contains(['.', '[']))
        else {
            return Vec::new();
        };
        let Some(class) = crate::syntax::enclosing(call.node, "function_definition")
            .and_then(|f| crate::syntax::enclosing(f, "class_definition"))
        else {
            return Vec::new();
        };
        let mut methods: Vec<(String, &str)> = Vec::new();
        if let Some(body) = class.field("body") {
            for f in functions_defined_in(body) {
                if let Some(name) = f.field("name") {
                    methods.push((text(name, self.source).to_string(), text(f, self.source)));
                }
            }
        }
        let on_it = |body: &str, m: &String| body.contains(&format!("self.{attribute}.{m}("));
        let takes = |body: &str| {
            rule.acquire.methods.iter().any(|m| on_it(body, m))
                || body.contains(&format!("with self.{attribute}"))
        };
        let mut givers: Vec<String> = methods
            .iter()
            .filter(|(_, body)| rule.release.methods.iter().any(|m| on_it(body, m)) && !takes(body))
            .map(|(name, _)| name.clone())
            .collect();
        // Through one another, a few levels deep at most.
        for _ in 0..3 {
            let more: Vec<String> = methods
                .iter()
                .filter(|(name, body)| {
                    !givers.contains(name)
                        && !takes(body)
                        && givers.iter().any(|g| body.contains(&format!("self.{g}(")))
                })
                .map(|(name, _)| name.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            givers.extend(more);
        }
        givers
    }

    /// For a value rule with `receiver-hints` (an `acquire()` known only by
    /// its shape): the receiver is named like a pool, or this function
    /// releases the value somewhere.
    fn has_evidence(&self, graph: &Cfg, call: &CallFact, rule: &Resource) -> bool {
        if self.matcher.named_for_shape(call, rule) {
            return true;
        }
        let var = match &call.usage {
            Use::Bound(v) => v,
            _ => return false,
        };
        let names = HashSet::from([var.clone()]);
        let holder = Holder::Value { var: var.clone() };
        graph
            .nodes
            .iter()
            .flat_map(|n| &n.facts.calls)
            .any(|c| search::releases(c, rule, &holder, &names) || self.hands_over(c, &names))
    }

    /// Follows one acquisition through the graph.
    fn track<'t>(
        &self,
        graph: &Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        links: &Links,
        conditions: &Conditions,
        before: conditions::Knowledge,
    ) -> Option<Finding> {
        let mut names = match &acq.holder {
            Holder::Value { var } => self.holder_names(graph, acq, var, links),
            Holder::Receiver { result, .. } => result.iter().cloned().collect(),
        };
        if let Some(holder) = &acq.shared_with {
            names.insert(holder.clone());
        }
        // `nonlocal stream; ...; stream = new_stream`: the enclosing
        // function (or the module, for a `global`) keeps it, as when it is
        // bound to that name directly.
        if names.iter().any(|n| self.outer.contains(n)) {
            return None;
        }
        // A closure that may release it owns it now; one that only uses it
        // (`retry(lambda: sock.connect(addr))`) runs in place when this
        // function releases it itself, and may run later otherwise.
        if let Holder::Value { .. } = acq.holder
            && (names.iter().any(|n| self.captured.owning.contains(n))
                || (names.iter().any(|n| self.captured.using.contains(n))
                    && !self.released_somewhere(graph, acq, &names)))
        {
            return None;
        }
        // A lock a closure releases (`future.add_done_callback(lambda f:
        // semaphore.release())`, or through a method that gives it back) is
        // given back by whoever runs the closure.
        if let Holder::Receiver { receiver, .. } = &acq.holder
            && (self.captured.methods.iter().any(|(object, method)| {
                (object == receiver && acq.rule.release.methods.contains(method))
                    || (object == "self" && acq.given_back_by.contains(method))
            }) || self.callback_gives_back(acq, receiver))
        {
            return None;
        }
        if acq.wrapped && !self.released_somewhere(graph, acq, &names) {
            return None; // the wrapper owns it, and nothing here closes the wrapper
        }
        let explored = self.search(graph, acq, &names, conditions, before);
        self.explored_states
            .set(self.explored_states.get() + explored.states.len());
        // A lock the function releases, but never after this acquisition, is
        // one it gives back before taking again (a condition variable's
        // `wait`) or a count it adjusts: the caller's protocol, not a leak.
        if matches!(acq.holder, Holder::Receiver { .. })
            && explored.released_at.is_none()
            && self.released_somewhere(graph, acq, &names)
        {
            return None;
        }
        self.report(graph, acq, &names, &explored)
    }

    /// The names that refer to the obligation: `var`, its aliases, and the
    /// wrappers made from it that this function releases (`reader =
    /// Reader(f)`, then `reader.close()`): releasing them releases it.
    fn holder_names(
        &self,
        graph: &Cfg,
        acq: &Acquisition,
        var: &str,
        links: &Links,
    ) -> HashSet<String> {
        let mut names: HashSet<String> = HashSet::from([var.to_string()]);
        loop {
            let before = names.len();
            for (new, old) in &links.aliases {
                if names.contains(old) {
                    names.insert(new.clone());
                }
            }
            for (new, old) in &links.wraps {
                if names.contains(old) && !names.contains(new) {
                    let probe = HashSet::from([new.clone()]);
                    if self.released_somewhere(graph, acq, &probe) {
                        names.insert(new.clone());
                    }
                }
            }
            if names.len() == before {
                return names;
            }
        }
    }

    /// Whether something in the function releases `names` the way the
    /// resource is released (or enters them in a releasing `with`).
    fn released_somewhere(&self, graph: &Cfg, acq: &Acquisition, names: &HashSet<String>) -> bool {
        graph.nodes.iter().any(|n| {
            n.facts.calls.iter().any(|c| {
                search::releases(c, acq.rule, &acq.holder, names) || self.hands_over(c, names)
            }) || (acq.rule.with_releases && n.facts.managed.iter().any(|m| names.contains(m)))
        })
    }
}

impl FunctionContext<'_> {
    /// Whether `call` is to a helper of this file that takes one of `names`
    /// over (releases or keeps it).
    /// `self.async_creator(self.mutex)` while holding `self.mutex`: a lock
    /// given to someone while held is theirs to release (no one hands a
    /// held lock around to read it). Calls that only look at what they are
    /// given (`print`, `repr`, logging) keep nothing.
    fn passes_lock_on(&self, call: &CallFact, receiver: &str) -> bool {
        const LOGGING: &[&str] = &[
            "debug",
            "info",
            "warning",
            "warn",
            "error",
            "exception",
            "critical",
            "log",
        ];
        let calls = &self.catalogue.calls;
        let only_looks = call.resolved.as_deref().is_some_and(|r| {
            calls.borrowing.functions.iter().any(|b| b == r)
                || calls.never_raise.functions.iter().any(|n| n == r)
        }) || call.method.as_deref().is_some_and(|m| LOGGING.contains(&m));
        if only_looks || call.receiver.as_deref() == Some(receiver) {
            return false;
        }
        let Some(arguments) = call.node.field("arguments") else {
            return false;
        };
        let mut cursor = arguments.walk();
        arguments.named_children(&mut cursor).any(|arg| {
            let value = match arg.kind_name() {
                "keyword_argument" => arg.field("value"),
                _ => Some(arg),
            };
            value.is_some_and(|v| syntax::compact_text(v, self.source) == receiver)
        })
    }

    fn hands_over(&self, call: &CallFact, names: &HashSet<String>) -> bool {
        self.handed
            .get(&call_key(call.node))
            .is_some_and(|handed| handed.iter().any(|h| names.contains(h)))
    }

    fn releases_when_it_fails(&self, call: &CallFact, names: &HashSet<String>) -> bool {
        self.released_on_failure
            .get(&call_key(call.node))
            .is_some_and(|released| released.iter().any(|r| names.contains(r)))
    }
}

/// Whether every path from `node` (other than its own exception) ends the
/// process before leaving the function.
impl FunctionContext<'_> {
    /// For each node, whether every path from it that raises nothing
    /// reaches a call that ends the process (and at least one does): no
    /// return, no fall through the end, no `raise`, no loop that runs forever
    /// instead. Worked out for the whole graph at once (two backward
    /// reachabilities over the edges that raise nothing), since every
    /// acquisition asks.
    fn process_ends_after_each(&self, graph: &Cfg) -> Vec<bool> {
        let n = graph.nodes.len();
        let mut preds: Vec<Vec<NodeId>> = vec![Vec::new(); n];
        for (id, node) in graph.nodes.iter().enumerate() {
            for &(edge, next) in &node.succs {
                if !matches!(edge, Edge::Raise(_)) {
                    preds[next].push(id);
                }
            }
        }
        let ending: Vec<bool> = graph
            .nodes
            .iter()
            .map(|node| {
                node.facts
                    .calls
                    .iter()
                    .any(|c| c.usage == Use::Discarded && self.raise_class(c) == cfg::Raises::Ends)
            })
            .collect();
        // Nodes from which a way out other than the end of the process is
        // reachable without passing a call that ends it; nodes from which
        // such a call is reachable.
        let reach = |seed: &dyn Fn(usize) -> bool, through: &dyn Fn(usize) -> bool| {
            let mut reached = vec![false; n];
            let mut stack: Vec<NodeId> = (0..n).filter(|&i| seed(i)).collect();
            for &i in &stack {
                reached[i] = true;
            }
            while let Some(id) = stack.pop() {
                for &p in &preds[id] {
                    if !reached[p] && through(p) {
                        reached[p] = true;
                        stack.push(p);
                    }
                }
            }
            reached
        };
        let escapes = reach(
            &|i| matches!(graph.nodes[i].kind, Kind::NormalExit | Kind::Raise) && !ending[i],
            &|i| !ending[i],
        );
        let ends = reach(&|i| ending[i], &|_| true);
        (0..n)
            .map(|id| {
                let succs = graph.nodes[id]
                    .succs
                    .iter()
                    .filter(|(e, _)| !matches!(e, Edge::Raise(_)))
                    .map(|&(_, next)| next);
                let mut any_end = false;
                for next in succs {
                    if escapes[next] {
                        return false;
                    }
                    any_end |= ends[next];
                }
                any_end
            })
            .collect()
    }
}

fn ends_after(graph: &Cfg, node: NodeId) -> bool {
    let mut seen = vec![false; graph.nodes.len()];
    let mut stack: Vec<NodeId> = graph.nodes[node]
        .succs
        .iter()
        .filter(|(e, _)| !matches!(e, Edge::Raise(_)))
        .map(|&(_, n)| n)
        .collect();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) {
            continue;
        }
        let n = &graph.nodes[id];
        if matches!(
            n.kind,
            Kind::NormalExit | Kind::ErrorExit | Kind::CancelExit
        ) {
            return false;
        }
        stack.extend(n.succs.iter().map(|&(_, next)| next));
    }
    true
}

/// Name links collected over the whole function.
struct Links {
    /// `new = old`.
    aliases: Vec<(String, String)>,
    /// `new = Wrapper(old)`.
    wraps: Vec<(String, String)>,
}

fn links(graph: &Cfg) -> Links {
    let mut out = Links {
        aliases: Vec::new(),
        wraps: Vec::new(),
    };
    for n in &graph.nodes {
        out.aliases.extend(n.facts.aliases.iter().cloned());
        out.wraps.extend(n.facts.wraps.iter().cloned());
    }
    out
}

/// The tests of the conditional expressions an acquisition sits in, with the
/// branch it is on: `pool.getconn() if pooled else connect()` holds the pool
/// connection only where `pooled` is true, and `self.connection or
/// pool.get_connection()` only where `self.connection` is false.
fn guards_of<'t>(call: Node<'t>, _source: &str) -> Vec<(Node<'t>, bool)> {
    let mut out = Vec::new();
    let mut child = call;
    while let Some(parent) = child.parent() {
        if parent.kind_name() == "boolean_operator"
            && parent.field("right") == Some(child)
            && let Some(left) = parent.field("left")
        {
            let op = parent.field("operator").map_or("", |o| o.kind_name());
            out.push((left, op == "and"));
        }
        if parent.kind_name() == "conditional_expression" {
            let mut cursor = parent.walk();
            let parts: Vec<Node> = parent.named_children(&mut cursor).collect();
            if let [body, test, otherwise] = parts.as_slice() {
                if *body == child {
                    out.push((*test, true));
                } else if *otherwise == child {
                    out.push((*test, false));
                }
            }
        }
        if parent.kind_name().ends_with("statement") || is_nested_scope(parent.kind_name()) {
            break;
        }
        child = parent;
    }
    out
}

/// The flags the call is given to say whether the object owns what it
/// wraps (`closefd=owned`), each as a test known true where it holds.
fn ownership_flags<'t>(call: Node<'t>, acquire: &Acquire, source: &str) -> Vec<(Node<'t>, bool)> {
    let Some(arguments) = call.field("arguments") else {
        return Vec::new();
    };
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|a| a.kind_name() == "keyword_argument")
        .filter(|a| {
            a.field("name")
                .is_some_and(|n| acquire.held_while.iter().any(|k| k == text(n, source)))
        })
        .filter_map(|a| a.field("value"))
        .filter(|v| matches!(v.kind_name(), "identifier" | "attribute"))
        .map(|v| (v, true))
        .collect()
}

/// Module-level names bound once, at the top of the module, to `False`,
/// `None` or `0`, and never bound again in the file: switches for debug code
/// (`_write_generated_code_to_disk = False`). Another module could still set
/// them; a flag meant for that is rare, and code under one is reported when
/// it is turned on.
fn disabled_flags(root: Node, source: &str) -> HashSet<String> {
    let mut off: HashMap<&str, usize> = HashMap::new();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let assignment = statement
            .named_child(0)
            .filter(|_| statement.kind_name() == "expression_statement")
            .filter(|a| a.kind_name() == "assignment");
        let Some(assignment) = assignment else {
            continue;
        };
        let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right"))
        else {
            continue;
        };
        let falsy = matches!(right.kind_name(), "false" | "none")
            || (right.kind_name() == "integer" && text(right, source) == "0");
        if left.kind_name() == "identifier" && falsy {
            *off.entry(text(left, source)).or_default() += 1;
        }
    }
    if off.is_empty() {
        return HashSet::new();
    }
    // Bound anywhere else (another assignment, `global`, a loop, `with ...
    // as`, an augmented assignment): not a constant.
    let mut bound: HashMap<&str, usize> = HashMap::new();
    syntax::walk(root, |n| {
        if n.kind_name() == "identifier"
            && off.contains_key(text(n, source))
            && n.parent().is_some_and(|p| {
                matches!(
                    p.kind_name(),
                    "assignment"
                        | "augmented_assignment"
                        | "global_statement"
                        | "nonlocal_statement"
                        | "for_statement"
                        | "as_pattern_target"
                        | "pattern_list"
                        | "tuple_pattern"
                        | "named_expression"
                ) && p.field("right") != Some(n)
                    && p.field("value") != Some(n)
            })
        {
            *bound.entry(text(n, source)).or_default() += 1;
        }
        true
    });
    off.into_iter()
        .filter(|(name, count)| *count == 1 && bound.get(name).copied().unwrap_or(0) == 1)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The nearest ancestor of `node` of `kind`.
/// Whether `function` assigns `name` in its own body (not in a nested
/// function or class).
fn binds_name(function: Node, name: &str, source: &str) -> bool {
    let Some(body) = function.field("body") else {
        return false;
    };
    let mut found = false;
    crate::syntax::walk(body, |n| {
        if found || matches!(n.kind_name(), "function_definition" | "class_definition") {
            return false;
        }
        if n.kind_name() == "assignment"
            && n.field("left")
                .is_some_and(|l| l.kind_name() == "identifier" && text(l, source) == name)
        {
            found = true;
        }
        !found
    });
    found
}

/// Whether `function` leaves the process bound to `var` running on
/// purpose: it sets its `returncode` (`proc.returncode = 0`, the way to
/// silence the "still running" warning of a background job), keeps its
/// pid on the object (`self.daemon_pids[name] = proc.pid`), whose other
/// methods reap or kill it by pid, or writes the pid to a pidfile (see
/// `pid_written_out`). (A pid only returned or logged is no such
/// hand-over: nobody is known to reap it.)
fn left_running(function: Node, var: &str, source: &str) -> bool {
    let mut left = false;
    crate::syntax::walk(function, |n| {
        if n.kind_name() == "assignment"
            && let (Some(target), Some(value)) = (n.field("left"), n.field("right"))
        {
            let of_var = |node: Node, attribute: &str| {
                node.kind_name() == "attribute"
                    && node
                        .field("attribute")
                        .is_some_and(|a| text(a, source) == attribute)
                    && node.field("object").is_some_and(|o| text(o, source) == var)
            };
            let on_self = matches!(target.kind_name(), "attribute" | "subscript")
                && crate::syntax::compact_text(target, source).starts_with("self.");
            left |= of_var(target, "returncode") || (on_self && of_var(value, "pid"));
        }
        !left
    });
    left || pid_written_out(function, var, source)
}

/// Whether `name` is read anywhere in the function: any use but the
/// target of an assignment (`_ = ...`) or of a loop (`for _ in ...`).
fn name_read(function: Node, name: &str, source: &str) -> bool {
    let mut read = false;
    crate::syntax::walk(function, |n| {
        if n.kind_name() == "identifier" && text(n, source) == name {
            let parent = n.parent();
            let bound = parent.is_some_and(|p| {
                matches!(
                    p.kind_name(),
                    "assignment" | "for_statement" | "pattern_list" | "tuple_pattern"
                ) && p.field("right").is_none_or(|r| r.id() != n.id())
            });
            read |= !bound;
        }
        !read
    });
    read
}

/// Whether the function writes the process's pid out (`f.write(str(pid))`,
/// `pid_file.write_text(str(proc.pid))`, with `pid = proc.pid` first): a
/// pidfile for whoever stops the process later (motionEye's `motion`,
/// `prefect server start --background`).
fn pid_written_out(function: Node, var: &str, source: &str) -> bool {
    let pid = format!("{var}.pid");
    let mut names = vec![pid.clone()];
    crate::syntax::walk(function, |n| {
        if n.kind_name() == "assignment"
            && let (Some(target), Some(value)) = (n.field("left"), n.field("right"))
            && target.kind_name() == "identifier"
            && crate::syntax::compact_text(value, source) == pid
        {
            names.push(text(target, source).to_string());
        }
        true
    });
    let mut written = false;
    crate::syntax::walk(function, |n| {
        if let Some((_, method)) = crate::syntax::method_call(n, source)
            && matches!(method, "write" | "write_text")
            && let Some(arguments) = n.field("arguments")
        {
            crate::syntax::walk(arguments, |a| {
                let mentioned = matches!(a.kind_name(), "identifier" | "attribute")
                    && names.iter().any(|name| text(a, source) == name);
                written |= mentioned;
                !written
            });
        }
        !written
    });
    written
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

/// The entry an owner class's instances are tracked under: released by the
/// class's own release method, and by `with` when the class has `__exit__`.
fn owner_resource(returned: &Returned) -> Option<Resource> {
    let owner = returned.owner.as_ref()?;
    let class = returned.rule.strip_prefix("owner:")?;
    Some(Resource {
        id: returned.rule.clone(),
        name: format!("`{class}` instance"),
        noun: "instance".into(),
        summary: format!("An instance of `{class}`, which {}.", returned.made_by),
        why: None,
        example: None,
        fix: None,
        reference: None,
        acquire: crate::rules::Acquire::default(),
        release: crate::rules::Release {
            methods: vec![owner.method.clone()],
            receiver_methods: Vec::new(),
            functions: Vec::new(),
            awaited: if owner.awaited {
                crate::rules::Awaited::Always
            } else {
                crate::rules::Awaited::Never
            },
            unless_they_fail: Vec::new(),
            attributes: Vec::new(),
            exhausted_by: Vec::new(),
            read_until_empty: Vec::new(),
            when_they_fail: Vec::new(),
        },
        with_releases: owner.with_releases,
        lazy: None,
        identity_methods: Vec::new(),
        keeps_parent: false,
        released_with_parent: false,
        kept_by_parts: false,
        part_methods: Vec::new(),
        instance_of: Vec::new(),
        mocked_by: Vec::new(),
        released_when_dropped: owner.finalized,
    })
}

/// Whether `node` is in the body of a `with` over `receiver` (`with
/// self._lock:`), in its own function.
fn inside_with_on(node: Node, receiver: &str, source: &str) -> bool {
    inside_with(node, |value| {
        crate::syntax::compact_text(value, source) == receiver
    })
}

/// Whether `node` is in the body of a `with` that binds `name` with `as`
/// (`async with ClientSession() as session:`), in its own function.
fn inside_with_as(node: Node, name: &str, source: &str) -> bool {
    inside_with(node, |value| {
        value.kind_name() == "as_pattern"
            && value
                .field("alias")
                .is_some_and(|a| crate::syntax::compact_text(a, source) == name)
    })
}

/// Whether `node` is in the body of a `with` (in its own function) one of
/// whose items, as written, `item` accepts.
fn inside_with(node: Node, item: impl Fn(Node) -> bool) -> bool {
    let mut current = node;
    while let Some(parent) = current.parent() {
        match parent.kind_name() {
            "with_statement" if parent.field("body") == Some(current) => {
                let accepted = parent
                    .named_children(&mut parent.walk())
                    .filter(|c| c.kind_name() == "with_clause")
                    .any(|clause| {
                        clause
                            .named_children(&mut clause.walk())
                            .filter_map(|i| i.field("value"))
                            .any(&item)
                    });
                if accepted {
                    return true;
                }
            }
            "function_definition" | "lambda" | "class_definition" => return false,
            _ => {}
        }
        current = parent;
    }
    false
}

/// Whether a lazy resource dropped where it is made was never made live:
/// anything but an attribute or method of it that makes it hold its
/// resource (`requests.Session().get(url)`).
fn never_made_live(call: &CallFact, rule: &Resource) -> bool {
    let Some(lazy) = &rule.lazy else {
        return false;
    };
    match &call.usage {
        Use::Receiver(attribute) => {
            !lazy.live.contains(attribute) && !lazy.started_by.contains(attribute)
        }
        _ => true,
    }
}

/// The functions defined directly in a module or a class body, decorated
/// or not.
fn functions_defined_in(block: Node) -> Vec<Node> {
    let mut cursor = block.walk();
    block
        .named_children(&mut cursor)
        .filter_map(|item| match item.kind_name() {
            "decorated_definition" => item.field("definition"),
            _ => Some(item),
        })
        .filter(|d| d.kind_name() == "function_definition")
        .collect()
}

/// A call's place in the source, as a key: its start and end. (The start
/// alone is shared by the calls of a chain: `p.stdout.read().decode()`
/// starts where `p.stdout.read()` does.)
fn call_key(node: Node) -> (usize, usize) {
    (node.start_byte(), node.end_byte())
}

/// `acquire(False)`, `acquire(blocking=False)`: a try that may not take it.
fn does_not_wait(call: Node, source: &str) -> bool {
    let Some(args) = call.field("arguments") else {
        return false;
    };
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .enumerate()
        .any(|(i, a)| match a.kind_name() {
            "keyword_argument" => {
                a.field("name")
                    .is_some_and(|n| text(n, source) == "blocking")
                    && a.field("value").is_some_and(|v| v.kind_name() == "false")
            }
            "false" => i == 0,
            _ => false,
        })
}
