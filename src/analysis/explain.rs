//! Turning a leaking path into a finding: the message that names the
//! resource and the escape, the numbered steps, the help line.

use super::search::{Escape, Explored};
use super::*;
use crate::rules::Awaited;
use crate::syntax::NodeExt;

impl<'a> FunctionContext<'a> {
    pub(super) fn subject(
        &self,
        acq_call: &CallFact,
        rule: &Resource,
        holder: Option<&Holder>,
    ) -> String {
        match holder {
            Some(Holder::Receiver { receiver, .. }) => format!("{} `{receiver}`", rule.noun),
            // `r, w = os.pipe()`: say which one.
            Some(Holder::Value { var }) if !rule.acquire.elements.is_empty() => format!(
                "{} `{var}` from `{}`",
                rule.noun,
                acq_call.display(self.source)
            ),
            // A resource learnt from its release: say how it was learnt.
            _ if rule.id.starts_with("learned:") => rule.summary.clone(),
            _ => {
                let made = format!("{} from `{}`", rule.noun, acq_call.display(self.source));
                // Through a helper of the file: say where it makes it.
                match (self.returned_by)(acq_call) {
                    Some(r) if r.rule == rule.id && r.owner.is_some() => {
                        format!("{made} (which {})", r.made_by)
                    }
                    Some(r) if r.rule == rule.id => {
                        format!("{made} (a new one, from {})", r.made_by)
                    }
                    _ => made,
                }
            }
        }
    }

    /// The finding for an explored acquisition: the most convincing leaking
    /// path as its message and steps, one `also` line per other exit that
    /// leaks. `None` when no path leaks.
    pub(super) fn report<'t>(
        &self,
        graph: &Cfg<'t>,
        acq: &Acquisition<'t, '_>,
        names: &HashSet<String>,
        explored: &Explored<'_, 't>,
    ) -> Option<Finding> {
        // Raisers are judged against the resource and what was made from it.
        let related = self.related_names(graph, names);
        let names = &related;
        let mut leaks = self.leaks(graph, acq, names, explored);
        if acq.rule.released_when_dropped {
            // Dropped where the function completes, its `__del__` releases
            // it; only an exception keeps it alive (in the traceback).
            leaks.retain(|l| {
                matches!(
                    l.code,
                    Code::UnreleasedOnException | Code::UnreleasedOnCancellation
                )
            });
        }
        if acq.kept_by_new_object {
            // Kept on the object by `__init__`: only a failure of the
            // resource itself is convincing (`self.sock.connect()` refused);
            // anything else raising there is rarely worth the fix.
            leaks.retain(|l| {
                l.chain.iter().any(|&(id, edge)| {
                    matches!(edge, Edge::Raise(_))
                        && graph.nodes[id]
                            .facts
                            .calls
                            .iter()
                            .any(|c| self.touches(c, names))
                })
            });
        }
        if leaks.is_empty() {
            return None;
        }
        // The most certain kind first; within it, a path that needs no
        // exception before one that does, then the shorter.
        leaks.sort_by_key(|l| {
            let exceptions = l
                .chain
                .iter()
                .filter(|(_, e)| matches!(e, Edge::Raise(_)))
                .count();
            (l.code.certainty_rank(), exceptions, l.chain.len())
        });
        let subject = self.subject(acq.call, acq.rule, Some(&acq.holder));
        let mut also: Vec<String> = Vec::new();
        let (code, message, mut path_steps, help) = if let Some((state, call)) = explored.unawaited
        {
            let release = call_text(call, self.source);
            let line = start_line(call.node);
            let chain = state_chain(explored, state);
            let mut steps = self.path_steps(graph, acq, names, &chain);
            steps.push(self.step(
                call.node,
                format!("`{release}` is called without `await`: the release never runs"),
            ));
            // The other exits leak because of it: nothing more to say.
            (
                Code::ReleaseNotAwaited,
                format!("{subject} is never released: `{release}` is not awaited (line {line})"),
                steps,
                format!("await it: `await {release}`"),
            )
        } else {
            let best = leaks.remove(0);
            also.extend(leaks.iter().map(|l| l.summary.clone()));
            let mut steps = self.path_steps(graph, acq, names, &best.chain);
            steps.extend(best.last_step);
            if let (true, Holder::Value { var }) = (acq.kept_by_new_object, &acq.holder) {
                // `self.sock = socket.socket()` then a raise in `__init__`:
                // the caller never gets the object that would close it.
                (
                    best.code,
                    format!(
                        "{subject} {}, and `__init__` loses the object that keeps it in `{var}`",
                        best.summary
                    ),
                    steps,
                    format!(
                        "release `{var}` in an `except` block that re-raises, or acquire it \
                         after the calls that may fail"
                    ),
                )
            } else {
                (
                    best.code,
                    format!("{subject} {}", best.summary),
                    steps,
                    self.help(best.code, acq, graph),
                )
            }
        };
        let mut seen = HashSet::new();
        also.retain(|a| seen.insert(a.clone()));
        let mut steps = vec![self.step(acq.call.node, format!("{} acquired here", acq.rule.noun))];
        steps.append(&mut path_steps);
        const MAX_STEPS: usize = 12;
        if steps.len() > MAX_STEPS {
            let keep_tail = MAX_STEPS - 1;
            let tail = steps.split_off(steps.len() - keep_tail);
            steps.truncate(1);
            steps.extend(tail);
        }
        let mut finding = self.finding(code, acq.call, acq.rule, message, help, steps, also);
        finding.skipped_release = explored.released_at.map(|n| {
            self.step(
                n,
                "released here on other paths, but not on this one".to_string(),
            )
        });
        Some(finding)
    }

    /// `names` and the names bound to what calls on them (or given them)
    /// return: `cur = conn.cursor()`, `producer = conn.Producer()`.
    fn related_names(&self, graph: &Cfg, names: &HashSet<String>) -> HashSet<String> {
        let mut related = names.clone();
        for _ in 0..4 {
            let before = related.len();
            for call in graph.nodes.iter().flat_map(|n| &n.facts.calls) {
                // `cur = conn.cursor()` and `with conn.cursor() as cur:`
                let made = match &call.usage {
                    Use::Bound(var) | Use::WithItem(Some(var)) => var,
                    _ => continue,
                };
                if !related.contains(made) && self.touches(call, &related) {
                    related.insert(made.clone());
                }
            }
            if related.len() == before {
                break;
            }
        }
        related
    }

    /// Every distinct way the resource leaves the function held: each
    /// `return`, the fall-through end, each reassignment, and (outside test
    /// code) the likeliest exception and cancellation.
    fn leaks(
        &self,
        graph: &Cfg,
        acq: &Acquisition,
        names: &HashSet<String>,
        explored: &Explored,
    ) -> Vec<Leak> {
        let fname = crate::syntax::last_part(self.name);
        let exits = |kind: Kind| -> Vec<usize> {
            explored
                .escapes
                .iter()
                .filter(|(s, e)| {
                    *e == Escape::Exit && graph.nodes[explored.states[*s].node].kind == kind
                })
                .map(|(s, _)| *s)
                .collect()
        };
        let mut out = Vec::new();
        // A path that needs no exception is preferred, then one that needs
        // only believable ones (see `believable`); a leak reached only
        // through an unconvincing exception is no finding.
        let clean = parent_tree(explored, |_, e| !matches!(e, Edge::Raise(_)));
        let believable = parent_tree(explored, |state, e| {
            self.believable(graph, acq, names, explored, state, e)
        });
        let path_to = |state: usize| -> Option<Vec<(NodeId, Edge)>> {
            [&clean, &believable]
                .into_iter()
                .find(|tree| tree.reached[state])
                .map(|tree| tree.chain(explored, state))
        };

        // Reassignments, one per place.
        let mut overwrites_seen = HashSet::new();
        for &(state, escape) in &explored.escapes {
            if escape != Escape::Overwrite {
                continue;
            }
            let node = &graph.nodes[explored.states[state].node];
            let Some(syntax) = node.syntax else { continue };
            let Some(chain) = path_to(state) else {
                continue;
            };
            if !overwrites_seen.insert(syntax.start_byte()) {
                continue;
            }
            let var = match &acq.holder {
                Holder::Value { var } => var.clone(),
                Holder::Receiver { receiver, .. } => receiver.clone(),
            };
            let line = start_line(syntax);
            out.push(Leak {
                code: Code::ResourceOverwritten,
                summary: format!("is lost when `{var}` is reassigned (line {line})"),
                chain,
                last_step: Some(self.step(
                    syntax,
                    format!("`{var}` is reassigned here while still holding it"),
                )),
            });
        }

        // Returns, one per `return` statement, and the fall-through end.
        let normal = exits(Kind::NormalExit);
        if !normal.is_empty() {
            let toward = ways_toward(explored, &normal, |_| true);
            let mut returns_seen = HashSet::new();
            for &(from, edge, to) in &explored.transitions {
                if edge != Edge::Return || !toward.reached[to] {
                    continue;
                }
                let node = &graph.nodes[explored.states[from].node];
                let Some(syntax) = node.syntax else { continue };
                if returns_seen.contains(&syntax.start_byte()) {
                    continue;
                }
                let Some(mut chain) = path_to(from) else {
                    continue;
                };
                chain.push((explored.states[from].node, edge));
                chain.extend(forward_chain(explored, &toward, to));
                returns_seen.insert(syntax.start_byte());
                let line = start_line(syntax);
                out.push(Leak {
                    code: Code::UnreleasedOnReturn,
                    summary: format!("is not released when `{fname}` returns (line {line})"),
                    chain,
                    last_step: None,
                });
            }
            // The end: a normal exit reached without a `return`.
            let fall_through = parent_tree(explored, |state, e| {
                e != Edge::Return && self.believable(graph, acq, names, explored, state, e)
            });
            let plain = parent_tree(explored, |_, e| {
                e != Edge::Return && !matches!(e, Edge::Raise(_))
            });
            let end = [&plain, &fall_through].into_iter().find_map(|tree| {
                normal
                    .iter()
                    .find(|&&n| tree.reached[n])
                    .map(|&n| (tree, n))
            });
            if let Some((tree, exit)) = end {
                let chain = tree.chain(explored, exit);
                let last = chain.iter().rev().find_map(|(n, _)| graph.nodes[*n].syntax);
                out.push(Leak {
                    code: Code::UnreleasedOnReturn,
                    summary: format!("is not released when `{fname}` ends"),
                    last_step: last.map(|s| {
                        self.step(s, format!("`{fname}` ends after this without releasing it"))
                    }),
                    chain,
                });
            }
        }

        // An exception in test code is a failing test, and one that ends a
        // one-shot program is the end of it: no leak worth a finding.
        if self.exceptions_end_run {
            return out;
        }
        for (kind, exc_matches) in [
            (Kind::ErrorExit, Exc::is_error as fn(Exc) -> bool),
            (Kind::CancelExit, (|e| e == Exc::Cancel) as fn(Exc) -> bool),
        ] {
            let ends = exits(kind);
            if ends.is_empty() {
                continue;
            }
            // The exception that leaves the function is the last one raised
            // on the path: from there on only handlers and `finally` bodies
            // run, with no further raise.
            let toward = ways_toward(explored, &ends, |e| !matches!(e, Edge::Raise(_)));
            // The likeliest raiser of each kind (plain raise or the yield of
            // a context manager), then the earliest.
            let mut best: HashMap<bool, (u8, usize, usize, Exc)> = HashMap::new();
            // Paths looked up to cap a handler's raise (below): a few suffice
            // to find the likeliest, and a bound keeps a function of
            // thousands of handlers linear.
            let mut lookups_left = 32;
            for (i, &(from, edge, to)) in explored.transitions.iter().enumerate() {
                let Edge::Raise(exc) = edge else { continue };
                if !exc_matches(exc) || !toward.reached[to] {
                    continue;
                }
                let node = &graph.nodes[explored.states[from].node];
                let at_yield = node.facts.has_yield
                    && self.shape.is_context_manager
                    && node.kind != Kind::Raise;
                let mut score = self.raiser_score(node, exc, names);
                if best.get(&at_yield).is_some_and(|entry| score <= entry.0) {
                    continue;
                }
                // A raise in a handler (`except ImportError: raise
                // InterfaceError(...)`) is only as believable as the
                // exception that led into the handler.
                if lookups_left > 0
                    && let Some(chain) = path_to(from)
                    && let Some(&(entered, Edge::Raise(first))) =
                        chain.iter().find(|(_, e)| matches!(e, Edge::Raise(_)))
                {
                    score = score.min(self.raiser_score(&graph.nodes[entered], first, names));
                }
                lookups_left -= usize::from(lookups_left > 0);
                let entry = best.entry(at_yield).or_insert((score, from, i, exc));
                if score > entry.0 {
                    *entry = (score, from, i, exc);
                }
            }
            let mut found: Vec<(bool, (u8, usize, usize, Exc))> = best.into_iter().collect();
            found.sort_by_key(|(y, _)| *y);
            for (at_yield, (score, from, i, exc)) in found {
                // An exception from a call that has nothing to do with the
                // resource (formatting, a clock, a helper given other
                // values) is not a convincing leak: while the resource is
                // used or awaited on, or a lock is held, it is.
                let unrelated =
                    score <= unconvincing(&acq.holder) && !at_yield && exc != Exc::Cancel;
                if unrelated {
                    continue;
                }
                let (_, edge, to) = explored.transitions[i];
                let node = &graph.nodes[explored.states[from].node];
                let Some(mut chain) = path_to(from) else {
                    continue;
                };
                chain.push((explored.states[from].node, edge));
                chain.extend(forward_chain(explored, &toward, to));
                // A handler that raises again what it caught (`except
                // Exception as err: log(err); raise err`) is no raiser of
                // its own: the headline is the call whose exception it was.
                let (node, exc) = match chain.iter().find(|(_, e)| matches!(e, Edge::Raise(_))) {
                    Some(&(first, Edge::Raise(first_exc)))
                        if first != explored.states[from].node && reraises(node, self.source) =>
                    {
                        (&graph.nodes[first], first_exc)
                    }
                    _ => (node, exc),
                };
                let line = node.syntax.map_or(0, start_line);
                let what = self.raiser_text(node, exc, names);
                let (code, summary) = if at_yield {
                    let summary = if node.syntax.is_some_and(guarded_by_finally) {
                        format!(
                            "is yielded inside `try/finally`, but when the caller's `with` block raises there, the `finally` does not release it on this path (line {line})"
                        )
                    } else {
                        format!(
                            "is yielded outside `try/finally`: an exception in the caller's `with` block skips the release (line {line})"
                        )
                    };
                    (Code::UnprotectedYield, summary)
                } else if exc == Exc::Cancel {
                    (
                        Code::UnreleasedOnCancellation,
                        format!("is not released when {what} is cancelled (line {line})"),
                    )
                } else {
                    let verb = if node.kind == Kind::Raise {
                        "propagates"
                    } else if is_assert(node) {
                        "fails"
                    } else {
                        "raises"
                    };
                    (
                        Code::UnreleasedOnException,
                        format!("is not released when {what} {verb} (line {line})"),
                    )
                };
                out.push(Leak {
                    code,
                    summary,
                    chain,
                    last_step: None,
                });
            }
        }
        out
    }

    /// Whether taking `edge` out of `state` is believable: anything but an
    /// exception, or an exception from a convincing raiser (see
    /// `raiser_score`): a return reached only because a formatting helper
    /// raised is no finding, one reached because `validate(conn)` raised is.
    /// While a lock is held more is believable (see `unconvincing`), and a
    /// cancellation always is.
    fn believable(
        &self,
        graph: &Cfg,
        acq: &Acquisition,
        names: &HashSet<String>,
        explored: &Explored,
        state: usize,
        edge: Edge,
    ) -> bool {
        match edge {
            Edge::Raise(exc) => {
                exc == Exc::Cancel
                    || self.raiser_score(&graph.nodes[explored.states[state].node], exc, names)
                        > unconvincing(&acq.holder)
            }
            _ => true,
        }
    }

    /// How believable it is that this node raises: an explicit `raise`
    /// first, then an `await`, a call that uses the resource or does I/O
    /// (as likely as a `raise` that reports a wrong argument), any other
    /// call. An `assert` fails only on a bug: no more convincing than a
    /// call unrelated to the resource.
    fn raiser_score(&self, node: &cfg::CfgNode, exc: Exc, names: &HashSet<String>) -> u8 {
        if node.kind == Kind::Raise {
            return if self.raises_misuse(node) { 4 } else { 6 };
        }
        if is_assert(node) {
            return 3;
        }
        self.likeliest_raiser(node, exc, names)
            .map_or(1, |call| self.call_score(call, names))
    }

    /// `raise ValueError(...)`: a class that reports misuse (see
    /// `Calls::misuse_exceptions`).
    fn raises_misuse(&self, node: &cfg::CfgNode) -> bool {
        let Some(raised) = node
            .syntax
            .filter(|s| s.kind_name() == "raise_statement")
            .and_then(|s| s.named_child(0))
        else {
            return false;
        };
        let class = match raised.kind_name() {
            "call" => raised.field("function"),
            _ => Some(raised),
        };
        let Some(class) = class.and_then(|c| crate::syntax::dotted_name(c, self.source)) else {
            return false;
        };
        let last = crate::syntax::last_part(&class);
        self.catalogue
            .calls
            .misuse_exceptions
            .classes
            .iter()
            .any(|c| c == last)
    }

    fn call_score(&self, call: &CallFact, names: &HashSet<String>) -> u8 {
        if call.constructor && self.raise_class(call) != cfg::Raises::OsError {
            // Making an object rarely fails; using one does (starting a
            // program that is not installed, `Popen(cmd)`, is the other
            // kind: a system call that fails).
            1
        } else if (self.weakly_raises)(call) {
            // A helper that raises only where calls rarely fail (setting
            // options, walking a table) is no more convincing for being
            // given the resource.
            2
        } else if call.awaited {
            // In async code the awaits are where the network fails.
            5
        } else {
            let io = self.raise_class(call) == cfg::Raises::OsError
                || call.method.as_deref().is_some_and(is_io_method);
            match (self.touches(call, names), io) {
                // I/O on the resource: the network or the disk failing is
                // how a socket or a file leaks (`sock.bind()` rather than
                // the `os.stat()` before it).
                (true, true) => 5,
                // Using the resource, or any I/O (opening a file, a socket
                // call, reading a response, running a query).
                (true, false) | (false, true) => 4,
                (false, false) => 3,
            }
        }
    }

    /// Whether the call uses the resource, or something made from it (`cur`
    /// of `cur = conn.cursor()`): on it (`sock.sendall()`,
    /// `client.db.find()`) or given it anywhere in its arguments
    /// (`parse(sock.recv(64))`, `upload(proc.stdout)`).
    fn touches(&self, call: &CallFact, names: &HashSet<String>) -> bool {
        // `sock.sendall`, `client.db.find`; and for a name that is itself
        // an attribute (`self._sock`), what starts with it.
        let rooted = |text: &str| {
            let root = text.split(['.', '[', '(']).next().unwrap_or(text);
            names.contains(root)
                || names.iter().any(|n| {
                    n.contains('.')
                        && text
                            .strip_prefix(n.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
                })
        };
        if call.receiver.as_deref().is_some_and(rooted) {
            return true;
        }
        if self
            .names_in_arguments(call)
            .iter()
            .any(|name| names.contains(*name))
        {
            return true;
        }
        // `f.write(render(report))`: making what is written into it.
        let mut current = call.node;
        while let Some(parent) = current.parent() {
            match parent.kind_name() {
                "argument_list" | "keyword_argument" | "parenthesized_expression" => {}
                "call" => {
                    let Some(function) = parent
                        .field("function")
                        .filter(|f| f.kind_name() == "attribute")
                    else {
                        return false;
                    };
                    let writes = function
                        .field("attribute")
                        .is_some_and(|m| is_data_sink(text(m, self.source)));
                    let on_resource = function
                        .field("object")
                        .is_some_and(|object| rooted(&syntax::compact_text(object, self.source)));
                    if writes && on_resource {
                        return true;
                    }
                }
                _ => return false,
            }
            current = parent;
        }
        false
    }

    /// The identifiers in a call's arguments, outside nested functions and
    /// lambdas; cached per call.
    pub(super) fn names_in_arguments(&self, call: &CallFact) -> std::rc::Rc<[&'a str]> {
        let key = call.node.start_byte();
        if let Some(known) = self.argument_names.borrow().get(&key) {
            return known.clone();
        }
        let mut found = Vec::new();
        if let Some(args) = call.node.field("arguments") {
            syntax::walk(args, |n| {
                if is_nested_scope(n.kind_name()) {
                    return false;
                }
                if n.kind_name() == "identifier" {
                    found.push(text(n, self.source));
                }
                true
            });
        }
        let names: std::rc::Rc<[&'a str]> = found.into();
        self.argument_names.borrow_mut().insert(key, names.clone());
        names
    }

    /// The call of `node` most likely to raise `exc`: of the calls that
    /// raise that kind (anything, or only `OSError`), the best scored, then
    /// the first.
    fn likeliest_raiser<'c, 't>(
        &self,
        node: &'c cfg::CfgNode<'t>,
        exc: Exc,
        names: &HashSet<String>,
    ) -> Option<&'c CallFact<'t>> {
        let calls = &node.facts.calls;
        if exc == Exc::Cancel {
            return calls.iter().find(|c| c.awaited);
        }
        let wanted = match exc {
            Exc::OsError => cfg::Raises::OsError,
            _ => cfg::Raises::Any,
        };
        let mut best: Option<(u8, &CallFact)> = None;
        for call in calls.iter().filter(|c| self.raise_class(c) == wanted) {
            let score = self.call_score(call, names);
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, call));
            }
        }
        best.map(|(_, call)| call)
    }

    pub(super) fn raise_class(&self, call: &CallFact) -> cfg::Raises {
        let key = super::call_key(call.node);
        if let Some(&known) = self.raise_classes.borrow().get(&key) {
            return known;
        }
        let class = (self.raises)(call);
        self.raise_classes.borrow_mut().insert(key, class);
        class
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn finding(
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
            kept_in: None,
        }
    }

    pub(super) fn discarded(&self, call: &CallFact, rule: &Resource) -> Finding {
        let subject = self.subject(call, rule, None);
        let borrowed;
        let how = match &call.usage {
            Use::BorrowedArgument(callee) => {
                borrowed =
                    format!("is passed to `{callee}()`, which only uses it, and then dropped");
                borrowed.as_str()
            }
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

    fn help(&self, code: Code, acq: &Acquisition, graph: &Cfg) -> String {
        let call = call_text(acq.call, self.source);
        // A resource the function hands out on another path (returns it,
        // stores it) cannot go in a `with`, which would close it there too.
        let handed_out = match &acq.holder {
            Holder::Value { var } => graph.nodes.iter().any(|n| n.facts.escapes.contains(var)),
            Holder::Receiver { .. } => false,
        };
        let release_hint = match &acq.holder {
            Holder::Value { var } if handed_out => {
                // Given back to the pool it came from, where the entry
                // says how (`db_pool.release(conn)`), else released on itself.
                let release = match (
                    acq.rule.release.methods.first(),
                    acq.rule.release.receiver_methods.first(),
                    acq.call.receiver.as_deref(),
                ) {
                    (_, Some(m), Some(pool)) => format!("{pool}.{m}({var})"),
                    (Some(m), _, _) => format!("{var}.{}()", m.trim_end_matches("()")),
                    (None, Some(m), None) => format!("{m}({var})"),
                    (None, None, _) => format!("release {var}"),
                };
                let awaited = match acq.rule.release.awaited {
                    Awaited::Always => "await ",
                    Awaited::LikeAcquire if acq.call.awaited => "await ",
                    _ => "",
                };
                format!(
                    "it is handed out on another path, so `with` would release it there too: \
                     release it on the way out instead (`except BaseException: {awaited}{release}; raise`)"
                )
            }
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
            // A learnt resource: whether its object works in `with` is
            // unknown; the release it was learnt from is not.
            Holder::Value { var } if acq.rule.id.starts_with("learned:") => {
                let awaited = match acq.rule.release.awaited {
                    Awaited::Always => "await ",
                    Awaited::LikeAcquire if acq.call.awaited => "await ",
                    _ => "",
                };
                match (
                    acq.rule.release.methods.first(),
                    acq.rule.release.receiver_methods.first(),
                ) {
                    (Some(m), _) => {
                        format!("release it in a `finally` block (`{awaited}{var}.{m}()`)")
                    }
                    (None, Some(m)) => {
                        let give_back = match acq.call.receiver.as_deref() {
                            Some(pool) => format!("{pool}.{m}({var})"),
                            None => format!("{m}({var})"),
                        };
                        format!("give it back in a `finally` block (`{awaited}{give_back}`)")
                    }
                    (None, None) => "release it in a `finally` block".to_string(),
                }
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

    /// What raised, for messages: "`validate_payment()`", "the `raise`".
    fn raiser_text(&self, node: &cfg::CfgNode, exc: Exc, names: &HashSet<String>) -> String {
        if node.kind == Kind::Raise {
            return "the `raise`".into();
        }
        if is_assert(node) && exc != Exc::Cancel {
            return "the `assert`".into();
        }
        match (self.likeliest_raiser(node, exc, names), exc) {
            (Some(c), Exc::Cancel) => format!("`await {}`", c.display(self.source)),
            (Some(c), _) => format!("`{}`", c.display(self.source)),
            (None, Exc::Cancel) => "an `await`".into(),
            (None, _) => "a call".into(),
        }
    }

    /// The labelled steps of a path: the (node, edge taken) pairs after the
    /// acquisition.
    fn path_steps(
        &self,
        graph: &Cfg,
        acq: &Acquisition,
        names: &HashSet<String>,
        chain: &[(NodeId, Edge)],
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        for &(id, edge) in chain {
            if id == acq.node {
                continue;
            }
            let node = &graph.nodes[id];
            let Some(syntax) = node.syntax else { continue };
            let message = match (node.kind, edge) {
                (Kind::Cond, Edge::True | Edge::False)
                    if syntax.kind_name() == "case_pattern" || node_is_case(syntax) =>
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
                        format!(
                            "{} may be cancelled here",
                            self.raiser_text(node, exc, names)
                        )
                    } else if is_assert(node) {
                        "the `assert` may fail here".to_string()
                    } else {
                        format!("{} may raise here", self.raiser_text(node, exc, names))
                    }
                }
                _ => continue,
            };
            let span_node = match (node.kind, edge) {
                (Kind::Handler, _) => syntax,
                (Kind::Eval | Kind::Cond, Edge::Raise(exc)) => self
                    .likeliest_raiser(node, exc, names)
                    .map_or(syntax, |c| c.node),
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

    pub(super) fn step(&self, node: Node, message: String) -> Step {
        let span = span_of(node);
        Step {
            span,
            start: syntax::start_position(node, self.source),
            message,
        }
    }
}

/// One way the resource leaves the function held.
struct Leak {
    code: Code,
    /// What happens, after the subject: "is not released when ...".
    summary: String,
    /// The path from the acquisition: (node, edge taken) pairs.
    chain: Vec<(NodeId, Edge)>,
    /// A closing step the path itself does not show (the reassignment, the
    /// end of the function).
    last_step: Option<Step>,
}

/// A breadth-first tree over the explored transitions `allow` accepts,
/// from the acquisition.
struct Tree {
    parent: Vec<Option<(usize, Edge)>>,
    reached: Vec<bool>,
}

impl Tree {
    /// The (node, edge) pairs from the acquisition to `state`.
    fn chain(&self, explored: &Explored, state: usize) -> Vec<(NodeId, Edge)> {
        chain_from(&self.parent, explored, state)
    }
}

fn parent_tree(explored: &Explored, allow: impl Fn(usize, Edge) -> bool) -> Tree {
    let mut from: Vec<Vec<(usize, Edge)>> = vec![Vec::new(); explored.states.len()];
    for &(a, edge, b) in &explored.transitions {
        if allow(a, edge) {
            from[a].push((b, edge));
        }
    }
    let (parent, reached) = breadth_first(&from, &[0]);
    Tree { parent, reached }
}

/// Breadth-first from `starts` over `links` (per state, the states it leads
/// to and by which edge): whether each state is reached, and the state and
/// edge it was first reached from.
#[allow(clippy::type_complexity)]
fn breadth_first(
    links: &[Vec<(usize, Edge)>],
    starts: &[usize],
) -> (Vec<Option<(usize, Edge)>>, Vec<bool>) {
    let mut first: Vec<Option<(usize, Edge)>> = vec![None; links.len()];
    let mut reached = vec![false; links.len()];
    let mut queue = std::collections::VecDeque::new();
    for &s in starts {
        reached[s] = true;
        queue.push_back(s);
    }
    while let Some(s) = queue.pop_front() {
        for &(next, edge) in &links[s] {
            if !reached[next] {
                reached[next] = true;
                first[next] = Some((s, edge));
                queue.push_back(next);
            }
        }
    }
    (first, reached)
}

/// The (node, edge) pairs from the acquisition to `state` in a parent tree.
fn chain_from(
    parents: &[Option<(usize, Edge)>],
    explored: &Explored,
    state: usize,
) -> Vec<(NodeId, Edge)> {
    let mut chain = Vec::new();
    let mut current = state;
    while let Some((prev, edge)) = parents[current] {
        chain.push((explored.states[prev].node, edge));
        current = prev;
    }
    chain.reverse();
    chain
}

/// The (node, edge) pairs that first reached `state` from the acquisition.
fn state_chain(explored: &Explored, state: usize) -> Vec<(NodeId, Edge)> {
    chain_from(&explored.parent, explored, state)
}

/// For each state, whether one of some target states can be reached from
/// it, and the next transition on a shortest way there.
struct Toward {
    next: Vec<Option<(Edge, usize)>>,
    reached: Vec<bool>,
}

/// The ways toward `targets` using only edges `allowed` accepts (a backward
/// breadth-first search).
fn ways_toward(explored: &Explored, targets: &[usize], allowed: impl Fn(Edge) -> bool) -> Toward {
    let mut into: Vec<Vec<(usize, Edge)>> = vec![Vec::new(); explored.states.len()];
    for &(from, edge, to) in &explored.transitions {
        if allowed(edge) {
            into[to].push((from, edge));
        }
    }
    // Backward: a state is first reached from the one it leads to.
    let (first, reached) = breadth_first(&into, targets);
    let next = first
        .into_iter()
        .map(|f| f.map(|(to, edge)| (edge, to)))
        .collect();
    Toward { next, reached }
}

/// The (node, edge) pairs from `state` to the target `toward` leads to.
fn forward_chain(explored: &Explored, toward: &Toward, state: usize) -> Vec<(NodeId, Edge)> {
    let mut chain = Vec::new();
    let mut current = state;
    while let Some((edge, to)) = toward.next[current] {
        chain.push((explored.states[current].node, edge));
        current = to;
    }
    chain
}

fn is_assert(node: &cfg::CfgNode) -> bool {
    node.syntax
        .is_some_and(|s| s.kind_name() == "assert_statement")
}

/// The call as written, on one line: `db_pool.release(conn)`.
fn call_text(call: &CallFact, source: &str) -> String {
    let t = text(call.node, source);
    let one_line: Vec<&str> = t.split_whitespace().collect();
    short(&one_line.join(" ")).to_string()
}

/// Quoted code on one line (a condition over several lines collapsed),
/// cut to 60 characters.
fn short(t: &str) -> String {
    const MAX: usize = 60;
    let collapsed: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = collapsed.as_str();
    if t.chars().count() <= MAX {
        t.to_string()
    } else {
        let cut: String = t.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

fn node_is_case(node: Node) -> bool {
    node.parent()
        .is_some_and(|p| p.kind_name() == "case_clause")
}

/// `except ValidationError as e` without the body.
fn handler_header<'s>(clause: Node, source: &'s str) -> &'s str {
    let t = text(clause, source);
    let end = t.find(':').unwrap_or(t.len());
    &t[..end]
}

/// Whether the call parses data, which fails on bad input as surely as I/O
/// fails on a bad peer: `raw.decode("ascii")`, `int(text)`, `json.loads(body)`.
pub(super) fn parses(call: &CallFact) -> bool {
    matches!(
        call.method.as_deref(),
        Some("decode" | "loads" | "parse" | "unpack" | "unpack_from")
    ) || matches!(
        call.resolved.as_deref(),
        Some("int" | "float" | "json.loads" | "json.load" | "pickle.loads" | "ast.literal_eval")
    )
}

/// Methods that take data for the resource (`f.write(render(report))`,
/// `cur.execute(build_query())`): making that data is part of using it.
fn is_data_sink(method: &str) -> bool {
    matches!(
        method,
        "write"
            | "writelines"
            | "send"
            | "sendall"
            | "sendto"
            | "sendmsg"
            | "execute"
            | "executemany"
    )
}

/// Method names that do I/O on whatever they are called on: reading a
/// response or a stream, sending on a channel, running a query. Where the
/// network and the database fail. (A `write()` may be to a buffer or a
/// string stream: not by its name alone.)
pub(super) fn is_io_method(method: &str) -> bool {
    (is_data_sink(method) && !matches!(method, "write" | "writelines"))
        || matches!(
            method,
            "read"
                | "readline"
                | "readlines"
                | "recv"
                | "recv_into"
                | "recvfrom"
                | "fetchone"
                | "fetchall"
                | "fetchmany"
                | "getresponse"
                | "urlopen"
                | "request"
                | "retrbinary"
                | "retrlines"
                | "storbinary"
                | "storlines"
        )
}

/// `raise` alone, or `raise err` in `except ... as err:`: the exception
/// the handler caught, raised again.
fn reraises(node: &cfg::CfgNode, source: &str) -> bool {
    let Some(stmt) = node.syntax.filter(|s| s.kind_name() == "raise_statement") else {
        return false;
    };
    let Some(raised) = stmt.named_child(0) else {
        return true;
    };
    raised.kind_name() == "identifier"
        && std::iter::successors(stmt.parent(), |n| n.parent())
            .take_while(|n| !syntax::is_nested_scope(n.kind_name()))
            .find(|n| n.kind_name() == "except_clause")
            .and_then(syntax::except_alias)
            .is_some_and(|alias| text(alias, source) == text(raised, source))
}

/// The best `raiser_score` that is still no convincing reason for a leak:
/// for a value, a call that has nothing to do with it (formatting, a clock,
/// a helper given other values); while a lock is held any exception is
/// convincing, but for one from a call that rarely fails (a helper that
/// only walks a table, making an object).
fn unconvincing(holder: &Holder) -> u8 {
    match holder {
        Holder::Value { .. } => 3,
        Holder::Receiver { .. } => 2,
    }
}

/// Whether `node` is in the body of a `try` of its function that has a
/// `finally` (which runs when the caller's `with` block raises at a
/// `yield`, whether or not it releases).
fn guarded_by_finally(node: Node) -> bool {
    let mut child = node;
    while let Some(parent) = child.parent() {
        if crate::syntax::is_nested_scope(parent.kind_name()) {
            return false;
        }
        if parent.kind_name() == "try_statement"
            && parent.field("body") == Some(child)
            && parent
                .named_children(&mut parent.walk())
                .any(|c| c.kind_name() == "finally_clause")
        {
            return true;
        }
        child = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_code_is_one_short_line() {
        assert_eq!(super::short("(a and\n        b)"), "(a and b)");
        let long = format!("x == {}", "y".repeat(100));
        assert_eq!(super::short(&long).chars().count(), 60);
    }
}
