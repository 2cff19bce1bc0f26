//! Turning a leaking path into a finding: the message that names the
//! resource and the escape, the numbered steps, the help line.

use super::*;

impl FunctionContext<'_> {
    fn subject(&self, acq_call: &CallFact, rule: &Resource, holder: Option<&Holder>) -> String {
        match holder {
            Some(Holder::Receiver { receiver, .. }) => format!("{} `{receiver}`", rule.noun),
            _ => format!("{} from `{}`", rule.noun, acq_call.display(self.source)),
        }
    }

    pub(super) fn report<'t>(
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

    pub(super) fn discarded(&self, call: &CallFact, rule: &Resource) -> Finding {
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

    pub(super) fn step(&self, node: Node, message: String) -> Step {
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
