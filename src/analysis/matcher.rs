//! Which catalogue entry a call acquires: qualified calls through imports,
//! methods through where their receiver came from, lock-like receivers.

use super::*;
use crate::syntax::NodeExt;

/// Where names and attributes got their values, file-wide and
/// flow-insensitive: `pool = ThreadedConnectionPool(...)` makes `pool` a
/// `psycopg2-pool`, so `pool.getconn()` matches the rule that names it.
/// Annotated parameters count too (`session: aiohttp.ClientSession`). Two
/// rounds follow one level of chaining (a session, then its response).
#[derive(Debug, Clone, Default)]
pub(super) struct Origin {
    /// The catalogue entry the value is an acquisition of.
    pub(super) resource: Option<String>,
    /// The qualified callable that made it (or the annotated type).
    pub(super) call: Option<String>,
    /// The mode it was opened with, as written (`"rb"` in `open(p, "rb")`).
    pub(super) mode: Option<String>,
}

/// Where values came from: within each function first (a name bound there),
/// then file-wide (module globals, and attributes set in any method).
#[derive(Debug, Default)]
pub(super) struct Origins {
    file: HashMap<String, Origin>,
    /// By (start byte of the enclosing function, name).
    local: HashMap<(usize, String), Origin>,
    /// The plain names each function binds or takes as parameters: for
    /// those, a value from elsewhere in the file is no origin.
    locals: std::collections::HashSet<(usize, String)>,
    /// The names and attributes each function assigns the result of a call
    /// to (`a, self.b = socket.socketpair()`): values it made itself, with
    /// the qualified callables that made them.
    made: HashMap<(usize, String), Vec<String>>,
}

/// The function a name is looked up from: its start byte.
pub(super) const MODULE: usize = usize::MAX;

impl Origins {
    /// The origin of `name` as seen from the function starting at `function`.
    pub(super) fn get(&self, function: usize, name: &str) -> Option<&Origin> {
        let key = (function, name.to_string());
        match self.local.get(&key) {
            Some(origin) => Some(origin),
            None if self.locals.contains(&key) => None,
            None => self.file.get(name),
        }
    }

    /// Whether `name` is bound from a call in the function starting at
    /// `function` (not a parameter, not a value from elsewhere).
    pub(super) fn made_in(&self, function: usize, name: &str) -> bool {
        function != MODULE && self.made.contains_key(&(function, name.to_string()))
    }

    /// The callables that made `name` in the function starting at
    /// `function` (see `made_in`).
    pub(super) fn made_by(&self, function: usize, name: &str) -> &[String] {
        self.made
            .get(&(function, name.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    fn insert(&mut self, function: usize, name: String, origin: Origin) {
        if function != MODULE {
            self.local.insert((function, name.clone()), origin.clone());
        }
        self.file.insert(name, origin);
    }
}

/// The names and attributes an assignment binds to the result of a call
/// (awaited or not), through tuple and list patterns, each with the callee
/// as written.
fn call_result_targets(assignment: Node, source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if assignment.kind_name() != "assignment" {
        return out;
    }
    let right = assignment.field("right").map(|r| {
        if r.kind_name() == "await" {
            r.named_child(0).unwrap_or(r)
        } else {
            r
        }
    });
    let (Some(left), Some(right)) = (assignment.field("left"), right) else {
        return out;
    };
    let Some(callee) = right
        .field("function")
        .filter(|_| right.kind_name() == "call")
        .and_then(|f| syntax::dotted_name(f, source))
    else {
        return out;
    };
    let mut pending = vec![left];
    while let Some(target) = pending.pop() {
        match target.kind_name() {
            "identifier" | "attribute" => {
                out.push((text(target, source).to_string(), callee.clone()))
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" => {
                let mut cursor = target.walk();
                pending.extend(target.named_children(&mut cursor));
            }
            _ => {}
        }
    }
    out
}

/// Whether `node` is in the body of a `try` that has `except` clauses, in
/// its own function.
fn in_try_with_handlers(node: Node, source: &str) -> bool {
    let mut current = node;
    while let Some(parent) = current.parent() {
        match parent.kind_name() {
            "try_statement" => {
                let in_body = parent.field("body") == Some(current);
                let mut cursor = parent.walk();
                // (A handler that only passes the exception on after logging
                // it, `except Exception as e: log(e); raise`, expects nothing.)
                let handled = parent.named_children(&mut cursor).any(|c| {
                    matches!(c.kind_name(), "except_clause" | "except_group_clause")
                        && !passes_it_on(c, source)
                });
                if in_body && handled {
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

/// Whether an `except` clause ends by raising again what it caught: a bare
/// `raise`, or `raise e` for `except ... as e`.
fn passes_it_on(clause: Node, source: &str) -> bool {
    let Some(block) = clause
        .named_children(&mut clause.walk())
        .find(|c| c.kind_name() == "block")
    else {
        return false;
    };
    let Some(last) = block.named_children(&mut block.walk()).last() else {
        return false;
    };
    if last.kind_name() != "raise_statement" {
        return false;
    }
    match last.named_child(0) {
        None => true,
        Some(raised) => crate::syntax::except_alias(clause).is_some_and(|alias| {
            raised.kind_name() == "identifier"
                && crate::syntax::text(raised, source) == crate::syntax::text(alias, source)
        }),
    }
}

/// The start byte of the function a node is in, or `MODULE`, from its
/// ancestors (root first).
pub(super) fn enclosing_function(ancestors: &[Node]) -> usize {
    for n in ancestors.iter().rev() {
        match n.kind_name() {
            "function_definition" => return n.start_byte(),
            "class_definition" | "lambda" => return MODULE,
            _ => {}
        }
    }
    MODULE
}

pub(super) fn origins(
    root: Node,
    source: &str,
    imports: &Imports,
    catalogue: &Catalogue,
) -> Origins {
    let cx = FactContext {
        source,
        imports,
        catalogue,
        yield_transfers: false,
        parameters: None,
        locals: None,
        classes: None,
    };
    let mut sites = Vec::new();
    let mut choices = Vec::new();
    let mut origins = Origins::default();
    // Assignments, `with` items and parameters are all at statement level, so
    // the walk stays off expressions.
    syntax::walk_with_ancestors(root, |n, up| {
        match n.kind_name() {
            "assignment" | "with_item" => {
                let function = enclosing_function(up);
                let facts = crate::facts::Facts::of(n, Use::Other, &cx);
                if function != MODULE {
                    for name in &facts.binds {
                        origins.locals.insert((function, name.clone()));
                    }
                    for (target, callee) in call_result_targets(n, source) {
                        let callee = imports.resolve(&callee);
                        origins
                            .made
                            .entry((function, target))
                            .or_default()
                            .push(callee);
                    }
                    if let Some(choice) = choice_between_names(n, source) {
                        choices.push((function, choice));
                    }
                }
                sites.push((function, facts));
                return false;
            }
            "parameters" => {
                let function = enclosing_function(up);
                if let Some(&def) = up.last() {
                    for name in syntax::parameter_names(def, source) {
                        origins.locals.insert((function, name));
                    }
                }
            }
            "typed_parameter" | "typed_default_parameter" => {
                let name = n.named_child(0).filter(|c| c.kind_name() == "identifier");
                let annotation = n.field("type").and_then(|t| t.named_child(0));
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
                        mode: None,
                    };
                    origins.insert(
                        enclosing_function(up),
                        text(name, source).to_string(),
                        origin,
                    );
                }
                return false;
            }
            _ => {}
        }
        syntax::holds_statements(n.kind_name())
            || matches!(
                n.kind_name(),
                "expression_statement" | "with_clause" | "parameters"
            )
    });
    for round in 0..2 {
        let mut found = Vec::new();
        for (function, facts) in &sites {
            let matcher = Matcher {
                source,
                catalogue,
                origins: &origins,
                function: *function,
            };
            for call in &facts.calls {
                let target = match &call.usage {
                    Use::Bound(t) | Use::Stored(t) | Use::WithItem(Some(t)) => t,
                    _ => continue,
                };
                // The second round only revisits calls on a receiver the
                // first round gave an origin (`session.get()` after `session
                // = ClientSession()`); the others would come out the same.
                if round == 1
                    && call
                        .receiver
                        .as_deref()
                        .is_none_or(|r| matcher.origin(r).is_none())
                {
                    continue;
                }
                let resource = matcher
                    .rule_for(call, &HashSet::new())
                    .map(|r| r.id.clone());
                let origin = Origin {
                    mode: resource
                        .as_ref()
                        .and_then(|_| mode_written(call.node, source)),
                    resource,
                    call: call.resolved.clone(),
                };
                if origin.resource.is_some() || origin.call.is_some() {
                    found.push((*function, target.clone(), origin));
                }
            }
        }
        for (function, target, origin) in found {
            origins.insert(function, target, origin);
        }
    }
    // `target = editable if ignore_hash else standard`: either way it holds
    // what both names hold, when they hold the same kind of resource.
    for (function, (target, first, second)) in choices {
        let (Some(a), Some(b)) = (
            origins.get(function, &first).cloned(),
            origins.get(function, &second),
        ) else {
            continue;
        };
        if a.resource.is_some() && a.resource == b.resource {
            origins.insert(function, target, a);
        }
    }
    origins
}

/// `target = a if cond else b` between two plain names: the target and
/// the two names.
fn choice_between_names(assignment: Node, source: &str) -> Option<(String, String, String)> {
    let left = assignment
        .field("left")
        .filter(|l| l.kind_name() == "identifier")?;
    let right = assignment
        .field("right")
        .filter(|r| r.kind_name() == "conditional_expression")?;
    let first = right
        .named_child(0)
        .filter(|n| n.kind_name() == "identifier")?;
    let second = right
        .named_child(2)
        .filter(|n| n.kind_name() == "identifier")?;
    Some((
        text(left, source).to_string(),
        text(first, source).to_string(),
        text(second, source).to_string(),
    ))
}

/// Decides which catalogue entry, if any, a call acquires.
#[derive(Clone, Copy)]
pub(super) struct Matcher<'a> {
    pub(super) catalogue: &'a Catalogue,
    pub(super) source: &'a str,
    /// Receiver text to where its value came from.
    pub(super) origins: &'a Origins,
    /// The function being analysed (its start byte), for local origins.
    pub(super) function: usize,
}

impl Matcher<'_> {
    /// What `call` may raise, knowing what its receiver holds.
    pub(super) fn raises(&self, call: &CallFact) -> crate::cfg::Raises {
        self.raises_on(call, self.receiver_resource(call))
    }

    /// The catalogue entry the receiver of `call` is an acquisition of.
    pub(super) fn receiver_resource(&self, call: &CallFact) -> Option<&str> {
        call.receiver
            .as_deref()
            .and_then(|r| self.origin(r))
            .and_then(|o| o.resource.as_deref())
    }

    /// What `call` may raise, its receiver holding `receiver_resource`.
    pub(super) fn raises_on(
        &self,
        call: &CallFact,
        receiver_resource: Option<&str>,
    ) -> crate::cfg::Raises {
        let calls = &self.catalogue.calls;
        let raises = crate::raising::classify(call, self.source, calls, receiver_resource);
        use crate::cfg::Raises;
        if !matches!(raises, Raises::Any | Raises::OsError) || call.awaited {
            return raises;
        }
        // A value this function just made cannot be stale, and nothing is
        // registered yet with a selector it just made. (A value from
        // elsewhere may have been closed by another thread: where the code
        // catches what the call raises, it expects that to happen.)
        let fresh = call.method.as_deref().is_some_and(|m| {
            calls
                .never_raise_on_fresh
                .iter()
                .any(|group| group.has(m, receiver_resource))
        }) && (self.first_argument_made_here(call)
            || (call
                .receiver
                .as_deref()
                .is_some_and(|r| self.origins.made_in(self.function, r))
                && !in_try_with_handlers(call.node, self.source)));
        // (Likewise where the code catches what a system call given a value
        // it just made raises: `try: os.write(fd, ...) except Exception:`
        // expects the disk to fill.)
        let expected_to_fail =
            raises == Raises::OsError && in_try_with_handlers(call.node, self.source);
        if fresh
            || (self.given_what_cannot_fail(call) && !expected_to_fail)
            || self.connects_to_own(call)
            || self.made_by_what_cannot_fail(call)
            || self.reads_child_output(call)
            || self.closes_cursor(call)
            || self.never_raises_in_mode(call, receiver_resource)
            || self.on_lock_held_here(call)
            || self.takes_a_lock(call)
        {
            return Raises::Never;
        }
        raises
    }

    /// `self.writer_mutex.acquire()`: taking a lock (a receiver named as
    /// the `lock-like` entry's hints say) waits, or gives up and answers
    /// `False` when told not to wait; it does not raise.
    fn takes_a_lock(&self, call: &CallFact) -> bool {
        if call.method.as_deref() != Some("acquire") {
            return false;
        }
        let Some(last) = call.receiver.as_deref().map(|r| {
            crate::syntax::last_part(r)
                .trim_start_matches('_')
                .to_ascii_lowercase()
        }) else {
            return false;
        };
        self.catalogue.get("lock-like").is_some_and(|rule| {
            rule.acquire
                .receiver_hints
                .iter()
                .any(|h| last.contains(h.as_str()))
        })
    }

    /// `cur.close()` on a DB-API cursor from `conn.cursor()`: closing it
    /// frees client-side state (a broken connection shows in the release
    /// of the connection, not here).
    fn closes_cursor(&self, call: &CallFact) -> bool {
        call.method.as_deref() == Some("close")
            && self.receiver_made_by(call, ".cursor")
            && call.receiver.as_deref().is_some_and(|r| {
                self.origins
                    .made_by(self.function, r)
                    .iter()
                    .all(|m| m.ends_with(".cursor"))
            })
    }

    /// `proc.stdout.readline()`, `proc.stderr.read()`, `proc.stdout.close()`
    /// on a process this code started: reading a child's output ends at
    /// its end of file (an interrupted read is retried), and closing the
    /// read end of a pipe has nothing to flush; nor has closing its input
    /// before anything was written to it.
    fn reads_child_output(&self, call: &CallFact) -> bool {
        if !matches!(
            call.method.as_deref(),
            Some("read" | "readline" | "readlines" | "close")
        ) {
            return false;
        }
        let Some(receiver) = call.receiver.as_deref() else {
            return false;
        };
        // `pipe = p.stdout` ... `pipe.read()`: the stream by another name
        // (looked for only where the function names a child's stream: most
        // `f.close()` calls are not on one).
        let stream_of = |receiver: &str| -> Option<String> {
            if receiver.contains('.') {
                return Some(receiver.to_string());
            }
            if call.method.as_deref() == Some("close") {
                return None;
            }
            let function = crate::syntax::enclosing(call.node, "function_definition")?;
            let body = crate::syntax::text(function, self.source);
            if !body.contains(".stdout") && !body.contains(".stderr") {
                return None;
            }
            let mut found = None;
            crate::syntax::walk(function, |n| {
                if n.kind_name() == "assignment"
                    && let (Some(left), Some(right)) = (n.field("left"), n.field("right"))
                    && left.kind_name() == "identifier"
                    && crate::syntax::text(left, self.source) == receiver
                    && right.kind_name() == "attribute"
                {
                    found = Some(crate::syntax::compact_text(right, self.source));
                }
                found.is_none()
            });
            found
        };
        let Some(stream) = stream_of(receiver) else {
            return false;
        };
        let Some((process, stream)) = stream.rsplit_once('.') else {
            return false;
        };
        let from_child = self
            .origin(process)
            .and_then(|o| o.resource.as_deref())
            .is_some_and(|r| r == "subprocess-popen");
        from_child
            && match stream {
                "stdout" | "stderr" => true,
                // `proc.stdin.close()` right after starting the child (to
                // give it an empty input): nothing buffered, nothing to flush.
                "stdin" => {
                    call.method.as_deref() == Some("close")
                        && nothing_written_before(call.node, receiver, self.source)
                }
                _ => false,
            }
    }

    /// A method that does not raise on a receiver opened in some mode
    /// (`f.read()` after `f = open(path, "rb")`: nothing is decoded).
    fn never_raises_in_mode(&self, call: &CallFact, receiver_resource: Option<&str>) -> bool {
        let Some(method) = call.method.as_deref() else {
            return false;
        };
        let mode = call
            .receiver
            .as_deref()
            .and_then(|r| self.origin(r))
            .and_then(|o| o.mode.as_deref());
        self.catalogue
            .calls
            .never_raise_on
            .iter()
            .any(|group| group.mode.is_some() && group.has_in_mode(method, receiver_resource, mode))
    }

    /// A method that does not raise on what made its receiver (see
    /// `Calls::never_raise_made_by`): `self._lock.acquire()` after
    /// `self._lock = threading.Lock()`.
    fn made_by_what_cannot_fail(&self, call: &CallFact) -> bool {
        let Some(makers) = call
            .method
            .as_deref()
            .and_then(|m| self.catalogue.calls.never_raise_made_by.get(m))
        else {
            return false;
        };
        call.receiver
            .as_deref()
            .and_then(|r| self.origin(r))
            .and_then(|o| o.call.as_deref())
            .is_some_and(|made_by| makers.iter().any(|m| m == made_by))
    }

    /// `cond.wait()` (see `Calls::never_raise_while_held`) in a function
    /// that takes `cond` itself: `cond.acquire()` or `with cond:`.
    fn on_lock_held_here(&self, call: &CallFact) -> bool {
        let (Some(method), Some(receiver)) = (call.method.as_deref(), call.receiver.as_deref())
        else {
            return false;
        };
        if call.awaited
            || !self
                .catalogue
                .calls
                .never_raise_while_held
                .methods
                .iter()
                .any(|m| m == method)
        {
            return false;
        }
        let Some(function) = crate::syntax::enclosing(call.node, "function_definition") else {
            return false;
        };
        let is_receiver = |node: Node| crate::syntax::compact_text(node, self.source) == receiver;
        let mut held = false;
        crate::syntax::walk(function, |node| {
            if held {
                return false;
            }
            held = match node.kind_name() {
                "call" => crate::syntax::method_call(node, self.source)
                    .is_some_and(|(object, method)| method == "acquire" && is_receiver(object)),
                "with_item" => node.field("value").is_some_and(is_receiver),
                _ => false,
            };
            !held
        });
        held
    }

    /// Whether the receiver's value came from a callable whose qualified
    /// name ends with `suffix` (`.cursor`).
    fn receiver_made_by(&self, call: &CallFact, suffix: &str) -> bool {
        call.receiver
            .as_deref()
            .and_then(|r| self.origin(r))
            .and_then(|o| o.call.as_deref())
            .is_some_and(|c| c.ends_with(suffix))
    }

    /// `sock.connect(address)` after `address = listener.getsockname()`:
    /// connecting to a listener of this program (the socket-pair idiom; the
    /// address written out in the call is `raising::on_own_loopback`'s).
    fn connects_to_own(&self, call: &CallFact) -> bool {
        let from_getsockname = |name: Node| {
            name.kind_name() == "identifier"
                && self
                    .origins
                    .made_by(self.function, crate::syntax::text(name, self.source))
                    .iter()
                    .any(|m| m.ends_with(".getsockname"))
        };
        let Some(address) = call
            .node
            .field("arguments")
            .filter(|a| a.named_child_count() == 1)
            .and_then(|a| a.named_child(0))
        else {
            return false;
        };
        if call.method.as_deref() != Some("connect") {
            return false;
        }
        // `connect(addr)`, or `connect(("127.0.0.1", port))` after
        // `_, port = listener.getsockname()`.
        from_getsockname(address)
            || (address.kind_name() == "tuple"
                && address.named_child_count() == 2
                && address
                    .named_child(0)
                    .is_some_and(|h| crate::raising::is_loopback(h, self.source))
                && address.named_child(1).is_some_and(from_getsockname))
    }

    /// `os.chmod(path, mode)` after `fd, path = tempfile.mkstemp()`,
    /// `struct.unpack(FMT, buf)` after `buf = fcntl.ioctl(...)`: a call of
    /// `[calls.never-raise-given]` given a value this function made with one
    /// of the callables listed for it.
    fn given_what_cannot_fail(&self, call: &CallFact) -> bool {
        let Some(makers) = call
            .resolved
            .as_deref()
            .and_then(|r| self.catalogue.calls.never_raise_given.get(r))
        else {
            return false;
        };
        let Some(arguments) = call.node.field("arguments") else {
            return false;
        };
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter_map(|a| match a.kind_name() {
                "identifier" | "attribute" => Some(a),
                // `os.fstat(f.fileno())`: the descriptor of what `f` is.
                "call" => crate::syntax::method_call(a, self.source)
                    .filter(|(_, method)| *method == "fileno")
                    .map(|(object, _)| object)
                    .filter(|o| matches!(o.kind_name(), "identifier" | "attribute")),
                _ => None,
            })
            .any(|a| {
                let written = crate::syntax::text(a, self.source);
                // `open(os.devnull)`: the value named itself.
                makers.iter().any(|m| m == written)
                    || self
                        .origins
                        .made_by(self.function, written)
                        .iter()
                        .any(|m| makers.contains(m))
            })
    }

    /// Whether the call's first argument (or the object it is an attribute
    /// of: `p.stdout`) was bound from a call in this function.
    fn first_argument_made_here(&self, call: &CallFact) -> bool {
        let Some(argument) = call
            .node
            .field("arguments")
            .and_then(|a| a.named_child(0))
            .filter(|a| matches!(a.kind_name(), "identifier" | "attribute"))
        else {
            return false;
        };
        let whole = crate::syntax::text(argument, self.source);
        let object = whole.rsplit_once('.').map(|(object, _)| object);
        [Some(whole), object]
            .into_iter()
            .flatten()
            .any(|name| self.origins.made_in(self.function, name))
    }

    /// Where `name`'s value came from, as seen from this function.
    pub(super) fn origin(&self, name: &str) -> Option<&Origin> {
        self.origins.get(self.function, name)
    }
}

impl<'a> Matcher<'a> {
    /// The catalogue entry a call acquires, if any. A rule that names the
    /// receiver's origin (`from`) beats a lock-like receiver, which beats a
    /// method matched on any receiver.
    pub(super) fn rule_for(
        &self,
        call: &CallFact,
        releases_on_receiver: &HashSet<String>,
    ) -> Option<&'a Resource> {
        let origin = call.receiver.as_ref().and_then(|r| self.origin(r));
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
            } else if !acquire.receivers.is_empty() {
                let named = call.receiver.as_deref().is_some_and(|r| {
                    let last = crate::syntax::last_part(r).trim_start_matches('_');
                    acquire
                        .receivers
                        .iter()
                        .any(|n| n.trim_start_matches('_') == last)
                });
                if !named {
                    continue;
                }
                0
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

    /// Whether an argument of `call` makes it acquire nothing.
    pub(super) fn unless_matches(
        &self,
        call: &CallFact,
        unless: &Unless,
        imports: &Imports,
    ) -> bool {
        let Some(arg) = syntax::argument(
            call.node,
            unless.position,
            unless.keyword.as_deref(),
            self.source,
        ) else {
            return false;
        };
        if unless.any {
            return true;
        }
        let dotted = syntax::dotted_name(arg, self.source);
        let origin = dotted.as_deref().and_then(|d| self.origin(d));
        let made_by = match arg.kind_name() {
            "call" => arg
                .field("function")
                .and_then(|f| syntax::dotted_name(f, self.source))
                .map(|f| imports.resolve(&f)),
            _ => origin.and_then(|o| o.call.clone()),
        };
        made_by.is_some_and(|m| unless.made_by.contains(&m))
            || origin
                .and_then(|o| o.resource.as_ref())
                .is_some_and(|r| unless.resources.contains(r))
            || dotted.as_deref().is_some_and(|d| {
                // (`self.database_handler._connection` is a `connection`.)
                let last = crate::syntax::last_part(d).trim_start_matches('_');
                unless.names.iter().any(|n| n == last)
            })
            || (!unless.names.is_empty() && self.flags_name(arg, &unless.names))
            || unless.values.iter().any(|v| v == text(arg, self.source))
    }

    /// Whether flags given as `A | B`, or through a name assigned them in
    /// the function or the module (`creationflags = CREATE_NEW_PROCESS_GROUP
    /// | CREATE_NO_WINDOW`, `flags |= CREATE_NEW_CONSOLE`), include one of
    /// `names`.
    fn flags_name(&self, arg: Node, names: &[String]) -> bool {
        let source = self.source;
        let names_in = |value: Node| {
            let mut found = false;
            syntax::walk(value, |n| {
                if let Some(d) = matches!(n.kind_name(), "identifier" | "attribute")
                    .then(|| syntax::dotted_name(n, source))
                    .flatten()
                {
                    let last = crate::syntax::last_part(&d).trim_start_matches('_');
                    found |= names.iter().any(|x| x == last);
                    return false;
                }
                !found
                    && matches!(
                        n.kind_name(),
                        "binary_operator" | "parenthesized_expression"
                    )
            });
            found
        };
        if arg.kind_name() == "binary_operator" {
            return names_in(arg);
        }
        if arg.kind_name() != "identifier" {
            return false;
        }
        let variable = text(arg, source);
        // What the function the call is in assigns it, and the module.
        let mut found = false;
        let mut scope = arg;
        while let Some(parent) = scope.parent() {
            scope = parent;
            if matches!(scope.kind_name(), "function_definition" | "module") {
                syntax::walk(scope, |n| {
                    if matches!(n.kind_name(), "assignment" | "augmented_assignment")
                        && n.field("left").is_some_and(|l| text(l, source) == variable)
                        && let Some(right) = n.field("right")
                    {
                        found |= names_in(right);
                        return false;
                    }
                    !found
                });
                if found {
                    return true;
                }
            }
        }
        false
    }

    /// Whether `call`, which no catalogue entry follows, is given what makes
    /// a catalogue call of the same name acquire nothing: `db.Session(bind=
    /// op.get_bind())` (a project's alias of SQLAlchemy's `Session`, bound to
    /// the migration's connection), `self._http.Client(transport=
    /// MockTransport(...))`. Such a call learnt from its release is no
    /// resource.
    pub(super) fn namesake_holds_nothing(&self, call: &CallFact, imports: &Imports) -> bool {
        let Some(name) = call
            .method
            .as_deref()
            .or(call.callee.as_deref().map(syntax::last_part))
        else {
            return false;
        };
        self.catalogue.resources.iter().any(|rule| {
            rule.acquire
                .calls
                .iter()
                .any(|c| syntax::last_part(c) == name)
                && self.acquires_nothing(call, &rule.acquire, imports)
        })
    }

    /// Whether an argument of `call` makes it acquire nothing (one of
    /// `acquire`'s `unless`: `tarfile.open(fileobj=buf)`).
    pub(super) fn acquires_nothing(
        &self,
        call: &CallFact,
        acquire: &crate::rules::Acquire,
        imports: &Imports,
    ) -> bool {
        acquire
            .unless
            .iter()
            .any(|u| self.unless_matches(call, u, imports))
    }

    /// Whether `call`, dropped where it is made, launches what it starts
    /// rather than leaking it: the rule says so (`launch-unless`) and no
    /// argument keeps a part of it (`stdout=PIPE`).
    pub(super) fn launches(&self, call: &CallFact, rule: &Resource, imports: &Imports) -> bool {
        rule.acquire
            .launch_unless
            .as_ref()
            .is_some_and(|l| !l.iter().any(|u| self.unless_matches(call, u, imports)))
    }

    /// Whether `call`, matched to `rule` without the function's flow, hands
    /// its caller a value to release: not a lock (a protocol on its
    /// receiver), not an unawaited request, not a pool's `acquire()` known
    /// only by its shape on a receiver not named like a pool.
    pub(super) fn yields_value(&self, call: &CallFact, rule: &Resource) -> bool {
        let acquire = &rule.acquire;
        acquire.obligation != Obligation::Receiver
            && (call.awaited || !acquire.requires_await)
            && self.named_for_shape(call, rule)
    }

    /// False for a call matched only by its shape (`x.acquire()` of a pool
    /// entry with `receiver-hints`) on a receiver not named like one.
    pub(super) fn named_for_shape(&self, call: &CallFact, rule: &Resource) -> bool {
        let acquire = &rule.acquire;
        let by_shape_only = !acquire.receiver_hints.is_empty()
            && acquire.from.is_empty()
            && acquire.from_calls.is_empty()
            && !call
                .resolved
                .as_ref()
                .is_some_and(|r| acquire.calls.contains(r));
        !by_shape_only
            || call.receiver.as_deref().is_some_and(|r| {
                let last = crate::syntax::last_part(r).to_lowercase();
                acquire
                    .receiver_hints
                    .iter()
                    .any(|h| last.contains(h.as_str()))
            })
    }

    fn lock_shaped_unknown(&self, call: &CallFact) -> bool {
        // `acquire(False)`, `acquire(timeout=1)`, `acquire(blocking=False)`
        // are a lock's signature, whatever the result is bound to.
        let lock_arguments = call
            .keywords
            .iter()
            .any(|k| k.starts_with("timeout=") || k.starts_with("blocking="))
            || call.node.field("arguments").is_some_and(|args| {
                let mut cursor = args.walk();
                args.named_children(&mut cursor)
                    .any(|a| matches!(a.kind_name(), "true" | "false"))
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
                .and_then(|c| self.origin(c))
                .and_then(|o| o.call.as_ref())
                .is_some_and(|made_by| factories.contains(made_by))
    }
}

/// `stream=True` matches the requirement `stream=True` (spaces ignored).
fn keyword_matches(written: &str, required: &str) -> bool {
    let compact: String = required.chars().filter(|c| !c.is_whitespace()).collect();
    written == compact
}

/// The mode a call opens with, when written out as a string literal: the
/// second positional argument or `mode=` (`open(path, "rb")`,
/// `io.open(path, mode="wb")`).
fn mode_written(call: Node, source: &str) -> Option<String> {
    let mode = syntax::argument(call, Some(1), Some("mode"), source)
        .filter(|v| v.kind_name() == "string")?;
    let literal = syntax::text(mode, source);
    Some(literal.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// Whether the function holding `call` uses `stream` (as written, `proc.stdin`)
/// before it only to test it (`assert proc.stdin`, `proc.stdin is not None`)
/// or to ask its descriptor: nothing was written to it, so nothing is
/// buffered. Anything else (`proc.stdin.write(...)`, `copyfileobj(src,
/// proc.stdin)`) may have been.
fn nothing_written_before(call: Node, stream: &str, source: &str) -> bool {
    let Some(function) = crate::syntax::enclosing(call, "function_definition") else {
        return false;
    };
    let before = call.start_byte();
    let mut written = false;
    crate::syntax::walk(function, |n| {
        if written || n.start_byte() >= before {
            return false;
        }
        if n.kind_name() == "attribute" && crate::syntax::compact_text(n, source) == stream {
            let only_asked = n.parent().is_some_and(|p| match p.kind_name() {
                "assert_statement"
                | "comparison_operator"
                | "not_operator"
                | "boolean_operator" => true,
                "attribute" => p
                    .field("attribute")
                    .is_some_and(|a| matches!(crate::syntax::text(a, source), "fileno" | "closed")),
                _ => false,
            });
            written = !only_asked;
            return false;
        }
        true
    });
    !written
}
