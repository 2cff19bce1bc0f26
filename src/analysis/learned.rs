//! Resources no catalogue entry names, learnt from the function itself
//! ("bugs as deviant behaviour"): when a function releases a value on some
//! path (`conn.close()`, `pool.checkin(conn)`, `self._release(conn)`,
//! `queue.put_nowait(item)` back into the queue it came from) and that value
//! was made by a call in this function, the call acquired something, and
//! every path from it must release it.
//!
//! Conservative on purpose: the evidence must be a call on or with the very
//! name the call's value was bound to, and a value that leaves the function
//! (returned, stored, handed to an owner) anywhere in it is no obligation.

use crate::cfg::Cfg;
use crate::facts::{CallFact, Use};
use crate::finding::{Learnt, LearntKind, SharedPair};
use crate::rules::{Acquire, Awaited, CallList, Calls, Release, Resource};
use crate::syntax::{self, NodeExt};
use tree_sitter::Node;

/// Methods on a value that release it.
const RELEASE_METHODS: &[&str] = &[
    "close",
    "release",
    "aclose",
    "shutdown",
    "terminate",
    "disconnect",
    "release_conn",
    "dispose",
];

/// What a call that makes a resource is called, when the evidence is only a
/// `close()`-like call (which objects without any OS resource have too: a
/// parser's, a coroutine's): `pool.checkout()`, `connect()`,
/// `open_session()`, `ControlClient(...)`. Prefixes of the callee's last
/// name, leading underscores and case aside.
const ACQUIRE_SHAPES: &[&str] = &[
    "connect",
    "open",
    "acquire",
    "checkout",
    "getconn",
    "get_conn",
    "get_connection",
    "getconnection",
    "get_client",
    "getclient",
    "create_connection",
    "create_client",
    "create_session",
    "create_engine",
    "new_connection",
    "new_session",
    "lease",
    "borrow",
    "spawn",
    "popen",
    "dial",
];

/// Words in a class name that say its objects hold something: `ControlClient`,
/// `HTTP1Connection`, `ThreadPoolExecutor`.
const RESOURCE_CLASS_WORDS: &[&str] = &[
    "connection",
    "client",
    "session",
    "socket",
    "pool",
    "channel",
    "executor",
    "process",
    "server",
    "transport",
    "tunnel",
];

/// Methods of another object that take a value back.
const TAKE_BACK_METHODS: &[&str] = &[
    "checkin",
    "putconn",
    "release",
    "release_connection",
    "return_connection",
    "put_connection",
];

/// A pair learnt in one function, applied in the other functions of its
/// file (of its class, for a callee on `self`): where `Repository.save`
/// gives back what `self._pool.checkout()` returned with
/// `self._pool.checkin(conn)`, `Repository.load` must give it back too.
#[derive(Clone, Debug)]
pub(super) struct FilePair {
    /// The class of the function it was learnt in, for callees on `self`
    /// or `cls`; `None`: the whole file.
    class: Option<String>,
    callee: PairCallee,
    release: Release,
    /// The release that showed it, and where: "`self._pool.checkin(conn)`
    /// in `Repository.save` (line 42)".
    shown: String,
}

/// Which calls a pair holds for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PairCallee {
    /// The callee as written in this file: `self._pool.checkout`, `get_conn`.
    Exact(String),
    /// A pair from another file: the method on a receiver of that name
    /// (leading underscores aside): `pool.checkout` matches
    /// `self._pool.checkout()`.
    Method { receiver: String, method: String },
}

/// The class part of a function's qualified name: `Repository` of
/// `Repository.save`.
fn class_of(scope: &str) -> Option<&str> {
    scope.rsplit_once('.').map(|(class, _)| class)
}

/// A receiver's last name, leading underscores dropped: `pool` of
/// `self._pool`; `None` for a receiver that is no plain name (`f().x`,
/// `pools[0]`) or the object itself (`self`, `cls`).
fn receiver_name(receiver: &str) -> Option<&str> {
    let last = receiver.rsplit('.').next()?.trim_start_matches('_');
    let plain = receiver
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    (plain && !last.is_empty() && !matches!(last, "self" | "cls")).then_some(last)
}

impl FilePair {
    /// A pair another file showed.
    pub(super) fn from_shared(shared: &SharedPair) -> FilePair {
        FilePair {
            class: None,
            callee: PairCallee::Method {
                receiver: shared.receiver.clone(),
                method: shared.method.clone(),
            },
            release: shared.release.clone(),
            shown: shared.shown.clone(),
        }
    }

    /// This pair for the other files of the project: only a method on a
    /// named receiver (`self._pool.checkout()`) can be recognised there.
    pub(super) fn shared(&self) -> Option<SharedPair> {
        let PairCallee::Exact(callee) = &self.callee else {
            return None;
        };
        let (receiver, method) = callee.rsplit_once('.')?;
        Some(SharedPair {
            receiver: receiver_name(receiver)?.to_string(),
            method: method.to_string(),
            release: self.release.clone(),
            shown: self.shown.clone(),
        })
    }

    /// Whether `body` writes a release of this pair's kind: `.close(`,
    /// `.checkin(`, `os.close(`.
    pub(super) fn released_in(&self, body: &str) -> bool {
        let release = &self.release;
        release
            .methods
            .iter()
            .chain(&release.receiver_methods)
            .any(|m| body.contains(&format!(".{m}(")))
            || release
                .functions
                .iter()
                .any(|f| body.contains(&format!("{}(", crate::syntax::last_part(f))))
    }

    /// Whether a function's text may make the call (a cheap test before
    /// analysing it again).
    pub(super) fn mentioned_in(&self, body: &str) -> bool {
        match &self.callee {
            PairCallee::Exact(callee) => body.contains(&format!("{callee}(")),
            PairCallee::Method { receiver, method } => {
                body.contains(&format!("{receiver}.{method}("))
            }
        }
    }

    /// The id of the resources made up for it (see `learn`).
    pub(super) fn resource_id(&self) -> String {
        match &self.callee {
            PairCallee::Exact(callee) => format!("learned:{callee}"),
            PairCallee::Method { receiver, method } => format!("learned:{receiver}.{method}"),
        }
    }

    /// Whether the pair came from another file.
    pub(super) fn shown_elsewhere(&self) -> bool {
        matches!(self.callee, PairCallee::Method { .. })
    }

    fn applies_to(&self, call: &CallFact, scope: &str) -> bool {
        match &self.callee {
            PairCallee::Exact(callee) => {
                call.callee.as_deref() == Some(callee.as_str())
                    && (self.class.is_none() || self.class.as_deref() == class_of(scope))
            }
            PairCallee::Method { receiver, method } => {
                call.method.as_deref() == Some(method.as_str())
                    && call.receiver.as_deref().and_then(receiver_name) == Some(receiver.as_str())
            }
        }
    }
}

/// What a `return_*` method gives back when it takes a value back to where
/// it came from: `return_connection`, `return_conn_to_pool`, `return_to_pool`.
const RETURNED_THINGS: &[&str] = &[
    "conn",
    "connection",
    "client",
    "session",
    "socket",
    "sock",
    "channel",
    "lease",
    "slot",
    "handle",
    "resource",
    "to_pool",
    "lock",
];

/// A resource learnt from its release in this function.
pub(super) struct Learned<'t> {
    /// Where the value is made.
    pub(super) call: Node<'t>,
    /// The entry made up for it; its summary names the release that shows it.
    pub(super) rule: Resource,
    /// What was learnt, for `unclosed resources --learned`.
    pub(super) learnt: Learnt,
    /// The pair, for the other functions of the file; `None` when it was
    /// itself taken from another function.
    pub(super) pair: Option<FilePair>,
}

/// The calls of `graph` whose value this function releases somewhere, but
/// that no catalogue entry matched (`matched` says which did).
/// `file_pairs` are the pairs the other functions of the file showed; `scope`
/// is this function's qualified name.
pub(super) fn learn<'t>(
    graph: &Cfg<'t>,
    source: &str,
    known_calls: &Calls,
    matched: &dyn Fn(&CallFact) -> bool,
    holds_nothing: &dyn Fn(&CallFact) -> bool,
    file_pairs: &[FilePair],
    scope: &str,
) -> Vec<Learned<'t>> {
    let borrowing = &known_calls.borrowing;
    let calls: Vec<&CallFact<'t>> = graph.nodes.iter().flat_map(|n| &n.facts.calls).collect();
    // Names a catalogue entry already follows: their releases are no
    // evidence about anything else (`conn = pool.getconn() if pooled else
    // connect()`), and a wrapper of one is the same resource (`reader =
    // Reader(f)`).
    let followed: Vec<&str> = calls
        .iter()
        .filter(|c| matched(c))
        .filter_map(|c| match &c.usage {
            Use::Bound(v) | Use::WrappedBy(v) => Some(v.as_str()),
            _ => None,
        })
        .collect();
    let mut out: Vec<Learned<'t>> = Vec::new();
    for call in &calls {
        let Use::Bound(var) = &call.usage else {
            continue;
        };
        if matched(call)
            || out.iter().any(|l| l.call == call.node)
            || followed.contains(&var.as_str())
        {
            continue;
        }
        let wraps_followed = graph
            .nodes
            .iter()
            .flat_map(|n| &n.facts.wraps)
            .any(|(new, old)| new == var && followed.contains(&old.as_str()));
        if wraps_followed {
            continue;
        }
        // Bound once in the function, and never handed over.
        let bindings = graph
            .nodes
            .iter()
            .filter(|n| n.facts.binds.contains(var))
            .count();
        // (Giving it back, `slots.put_nowait(slot)`, puts it in a container:
        // that is the release, not a hand-over.)
        let leaves = graph.nodes.iter().any(|n| {
            let f = &n.facts;
            let gives_back = f
                .calls
                .iter()
                .any(|c| releases(c, call, var, source).is_some());
            (f.escapes.contains(var) && !gives_back)
                || f.escapes_on_success.contains(var)
                || f.wraps.iter().any(|(_, old)| old == var)
                || f.aliases.iter().any(|(_, old)| old == var)
        });
        // `holds_nothing`: an instance of a checked class whose `__init__`
        // acquires nothing (`client = ControlClient(path)`, which connects
        // later, in a method), or a call given what makes its catalogue
        // namesake hold nothing.
        if bindings != 1
            || leaves
            || is_lookup(call)
            || makes_builtin_value(call)
            || listed_in(call, &known_calls.holding_nothing)
            || given_holding_nothing(call, &known_calls.holding_nothing_given, source)
            || holds_nothing(call)
            || over_memory_buffer(call, graph, &calls, source)
        {
            continue;
        }
        // The evidence: a release here, or else the pair another function
        // of the file showed for the same call.
        let local = evidence_for(&calls, call, var, source);
        // A pair from another file is the project's pool, client or opener,
        // kept where it lives (`self._pool`, a module's `pool`); a local
        // name this function binds (`opener = build_opener()`) is another
        // object that only shares the name.
        let receiver_made_here = call.receiver.as_deref().is_some_and(|r| {
            crate::rules::is_identifier(r)
                && graph
                    .nodes
                    .iter()
                    .any(|n| n.facts.binds.iter().any(|b| b == r))
        });
        let from_file = || {
            file_pairs
                .iter()
                .find(|p| p.applies_to(call, scope) && !(p.shown_elsewhere() && receiver_made_here))
        };
        let (evidence_node, release, shown, shown_elsewhere, pair_id) = match (&local, from_file())
        {
            (Some((evidence, release)), _) => {
                let text = syntax::text(evidence.node, source)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let line = evidence.node.start_position().row + 1;
                (
                    Some(evidence.node),
                    release.clone(),
                    format!("`{text}` on line {line}"),
                    format!("`{text}` in `{scope}`, line {line}"),
                    None,
                )
            }
            (None, Some(pair)) => (
                None,
                pair.release.clone(),
                pair.shown.clone(),
                String::new(),
                Some(pair.resource_id()),
            ),
            (None, None) => continue,
        };
        // `resp = await req.send(conn)`: what the call makes may keep the
        // value, which this function cannot tell (a catalogue resource is
        // followed into such calls only when the result is stored).
        let kept_by_a_result = calls.iter().any(|c| {
            Some(c.node) != evidence_node
                && matches!(c.usage, Use::Bound(_) | Use::Unpacked(_))
                && c.name_args.iter().any(|a| a == var)
                && !listed_in(c, borrowing)
        });
        // Released only in `except` blocks: cleaning up after a failure,
        // while on success the value goes on to whatever it was given to.
        let only_on_failure = local.is_some()
            && calls
                .iter()
                .filter(|c| releases(c, call, var, source).is_some())
                .all(|c| syntax::in_except_clause(c.node));
        if kept_by_a_result || only_on_failure {
            continue;
        }
        // A `close()` proves little on its own (parsers, coroutines and
        // in-memory buffers have one): the call must look like one that
        // makes a resource. A value given back to where it came from is
        // evidence enough.
        if !release.methods.is_empty() && !acquire_shaped(call) {
            continue;
        }
        let made_by = call.display(source);
        let learnt = Learnt {
            kind: LearntKind::Pair,
            line: call.node.start_position().row + 1,
            scope: String::new(),
            what: format!("`{made_by}` is released by {shown}"),
            entry: Some(entry_for(
                call,
                &release,
                if shown_elsewhere.is_empty() {
                    &shown
                } else {
                    &shown_elsewhere
                },
            )),
        };
        // Only a call named like one that makes a resource is held to the
        // pair in other functions: `values = list(...)` given to
        // `self._return_values(values)` is no pool checkout.
        let pair = match (local.is_some() && acquire_shaped(call), &call.callee) {
            (true, Some(callee)) => {
                let on_self = callee.starts_with("self.") || callee.starts_with("cls.");
                Some(FilePair {
                    class: if on_self {
                        class_of(scope).map(str::to_string)
                    } else {
                        None
                    },
                    callee: PairCallee::Exact(callee.clone()),
                    release: release.clone(),
                    shown: shown_elsewhere,
                })
            }
            _ => None,
        };
        let connects_later_on = connects_later(call, &release);
        out.push(Learned {
            learnt,
            pair,
            call: call.node,
            rule: Resource {
                id: pair_id
                    .unwrap_or_else(|| format!("learned:{}", made_by.trim_end_matches("()"))),
                name: format!("what `{made_by}` returns"),
                noun: format!("`{var}`"),
                // The subject of its findings: "`conn` from `pool.checkout()`
                // (released by `pool.checkin(conn)` on line 42) is not
                // released when ...".
                summary: format!("`{var}` from `{made_by}` (released by {shown})"),
                why: None,
                example: None,
                fix: None,
                reference: None,
                acquire: Acquire::default(),
                release,
                with_releases: true,
                // `p = ctx.Process(target=f)` holds nothing until
                // `p.start()` has returned (when this function starts it);
                // `client = Client(host)` released by `disconnect()` holds
                // nothing until something calls its `connect()` (a test of
                // a provider's settings never does).
                lazy: if starts_a_process(call)
                    && calls.iter().any(|c| {
                        c.receiver.as_deref() == Some(var.as_str())
                            && c.method.as_deref() == Some("start")
                    }) {
                    Some(crate::rules::Lazy {
                        started_by: vec!["start".to_string()],
                        ..Default::default()
                    })
                } else if connects_later_on {
                    Some(crate::rules::Lazy {
                        live: vec!["connect".to_string()],
                        ..Default::default()
                    })
                } else {
                    None
                },
                identity_methods: Vec::new(),
                keeps_parent: false,
                released_with_parent: false,
                kept_by_parts: false,
                part_methods: Vec::new(),
                instance_of: Vec::new(),
                mocked_by: Vec::new(),
                released_when_dropped: false,
            },
        });
    }
    out
}

/// Whether what `call` makes is released by `disconnect()` but made by
/// something else than a `connect()`: an object that connects in a later
/// call (`stomp.Connection(hosts)` then `conn.connect()`). A class named
/// for the connection it will make is such a maker too
/// (`UnixSocketConnection(path=...)`); a function named for it
/// (`create_connection()`) connects.
fn connects_later(call: &CallFact, release: &Release) -> bool {
    let made_by = call
        .method
        .as_deref()
        .or_else(|| call.callee.as_deref().map(syntax::last_part))
        .unwrap_or_default()
        .trim_start_matches('_')
        .to_ascii_lowercase();
    // (The release that showed the pair comes first.)
    release.methods.first().is_some_and(|m| m == "disconnect")
        && (call.constructor || !made_by.contains("connect"))
}

/// The configuration entry that would make a learnt pair known everywhere.
fn entry_for(call: &CallFact, release: &Release, shown: &str) -> String {
    let receiver = call.receiver.as_deref().and_then(receiver_name);
    let (acquire, name) = match (&call.method, &call.resolved) {
        (Some(method), _) => {
            // On the receiver's name: `checkout` alone would match every
            // `cart.checkout()` of the project.
            let receivers = receiver
                .map(|r| format!(", receivers = [\"{r}\"]"))
                .unwrap_or_default();
            (
                format!("methods = [\"{method}\"]{receivers}"),
                method.clone(),
            )
        }
        (None, Some(resolved)) => (
            format!("calls = [\"{resolved}\"]"),
            crate::syntax::last_part(resolved).to_string(),
        ),
        (None, None) => ("calls = []".into(), "resource".into()),
    };
    let released_by = if !release.methods.is_empty() {
        // The release that showed it (the others of its kind are implied).
        format!("methods = [\"{}\"]", release.methods[0])
    } else if !release.functions.is_empty() {
        // `put_conn(conn)`: a function of the project, by its qualified name.
        format!("functions = [\"{}\"]", release.functions.join("\", \""))
    } else {
        format!(
            "receiver-methods = [\"{}\"]",
            release.receiver_methods.join("\", \"")
        )
    };
    let awaited = if release.awaited == Awaited::Always {
        ", awaited = \"always\""
    } else {
        ""
    };
    let id = match (receiver, &call.method) {
        (Some(r), Some(_)) => format!("{r}-{}", name.trim_start_matches('_')),
        _ => name.trim_start_matches('_').to_string(),
    }
    .replace('_', "-");
    let made_by = call.callee.as_deref().unwrap_or(&name);
    // TOML basic strings: the texts shown come from source code.
    let summary = format!("What `{made_by}()` returns, released by {shown}.")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        "[[tool.unclosed.resource]]\nid = \"{id}\"\nname = \"what `{name}()` returns\"\nnoun = \"{noun}\"\nsummary = \"{summary}\"\nacquire = {{ {acquire} }}\nrelease = {{ {released_by}{awaited} }}\n",
        noun = name.trim_start_matches('_'),
    )
}

/// The first release of `var` in the function, and the release it stands for.
fn evidence_for<'c, 't>(
    calls: &[&'c CallFact<'t>],
    acquiring: &CallFact,
    var: &str,
    source: &str,
) -> Option<(&'c CallFact<'t>, Release)> {
    calls
        .iter()
        .find_map(|c| releases(c, acquiring, var, source).map(|r| (*c, r)))
}

/// The release `c` makes of `var` (bound from `acquiring`), if it is one.
fn releases(c: &CallFact, acquiring: &CallFact, var: &str, source: &str) -> Option<Release> {
    // `timeout = _release_timeout(timeout)`: the call that makes the value
    // takes the name's old value, not the one it returns.
    if c.node == acquiring.node {
        return None;
    }
    // (The walk up the tree last: most calls release nothing.)
    release_by(c, acquiring, var, source).filter(|_| !where_it_is_another(c.node, var, source))
}

/// The release `c` makes of `var`, wherever it stands.
fn release_by(c: &CallFact, acquiring: &CallFact, var: &str, source: &str) -> Option<Release> {
    // `put_conn(conn)`, `release_connection(conn)`: a function of the
    // project's that takes the value back, named so.
    if c.method.is_none()
        && let Some(callee) = c.resolved.as_deref()
        && first_positional(c, source) == Some(var)
        && takes_back(
            callee
                .rsplit('.')
                .next()
                .unwrap_or(callee)
                .trim_start_matches('_'),
        )
    {
        return Some(Release {
            methods: Vec::new(),
            receiver_methods: Vec::new(),
            functions: vec![callee.to_string()],
            awaited: if c.awaited {
                Awaited::Always
            } else {
                Awaited::Never
            },
            unless_they_fail: Vec::new(),
            attributes: Vec::new(),
            exhausted_by: Vec::new(),
            read_until_empty: Vec::new(),
            when_they_fail: Vec::new(),
        });
    }
    let method = c.method.as_deref()?;
    let awaited = if c.awaited {
        Awaited::Always
    } else {
        Awaited::Never
    };
    // `var.close()`: any of the release methods ends it then (`pg.wait()`
    // as well as the `pg.terminate()` that showed it), and a process also
    // ends when waited for.
    if c.receiver.as_deref() == Some(var) && RELEASE_METHODS.contains(&method) {
        let mut methods: Vec<String> = RELEASE_METHODS.iter().map(|m| m.to_string()).collect();
        let maker = acquiring
            .callee
            .as_deref()
            .map(|c| crate::syntax::last_part(c).to_ascii_lowercase());
        let process = maker
            .as_deref()
            .is_some_and(|last| last.contains("popen") || last.contains("spawn"));
        if process {
            methods.extend(["wait", "communicate", "kill"].map(String::from));
        }
        // Stopping it ends it as well (a server, a worker pool), and a pool
        // stopped or closed is done once joined (pebble's `pool.stop();
        // pool.join()`, where another function showed `pool.close()`).
        methods.push("stop".to_string());
        if maker.as_deref().is_some_and(|last| last.contains("pool")) {
            methods.push("join".to_string());
        }
        // `ctx.Process(target=f)` (a multiprocessing process by another
        // name): joining it reaps it as surely as terminating it.
        if starts_a_process(acquiring) {
            methods.extend(["join", "kill"].map(String::from));
        }
        // The one that showed it first, for the entry `--learned` suggests.
        methods.retain(|m| m != method);
        methods.insert(0, method.to_string());
        return Some(Release {
            methods,
            receiver_methods: Vec::new(),
            functions: Vec::new(),
            awaited,
            unless_they_fail: Vec::new(),
            attributes: Vec::new(),
            exhausted_by: Vec::new(),
            read_until_empty: Vec::new(),
            when_they_fail: Vec::new(),
        });
    }
    // The value given back comes first: `pool.putconn(conn, key)`, not
    // `self._release_pair(pair, state)`.
    if first_positional(c, source) != Some(var) {
        return None;
    }
    // `pool.checkin(var)`, `self._release(var)`, `self._return_conn(var)`,
    // and `queue.put_nowait(var)` back into the queue it came from.
    let takes_back = takes_back(method.trim_start_matches('_'));
    let back_into_source = matches!(method, "put_nowait" | "put")
        && c.receiver.is_some()
        && c.receiver == acquiring.receiver
        && acquiring
            .method
            .as_deref()
            .is_some_and(|m| matches!(m, "get" | "get_nowait"));
    (takes_back || back_into_source).then(|| Release {
        methods: Vec::new(),
        receiver_methods: vec![method.to_string()],
        functions: Vec::new(),
        awaited,
        unless_they_fail: Vec::new(),
        attributes: Vec::new(),
        exhausted_by: Vec::new(),
        read_until_empty: Vec::new(),
        when_they_fail: Vec::new(),
    })
}

/// Whether `node` runs only where `var` is another object the code names
/// (`if task is self.tombstone: self.queue.put(task)`): there it holds that
/// sentinel, passed on, not what the call made.
fn where_it_is_another(node: Node, var: &str, source: &str) -> bool {
    let mut child = node;
    while let Some(parent) = child.parent() {
        match parent.kind_name() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "if_statement" | "elif_clause" => {
                if let Some((name, differs)) = parent
                    .field("condition")
                    .and_then(|c| super::conditions::identity_test(c, source))
                    && name == var
                {
                    let in_consequence = parent
                        .field("consequence")
                        .is_some_and(|c| c.id() == child.id());
                    let in_else = child.kind_name() == "else_clause";
                    if (!differs && in_consequence) || (differs && in_else) {
                        return true;
                    }
                }
            }
            _ => {}
        }
        child = parent;
    }
    false
}

/// `Process(target=f)`, `ctx.SpawnProcess(...)`: a process object that runs
/// once started, and is reaped by `join()`.
fn starts_a_process(call: &CallFact) -> bool {
    call.callee.as_deref().is_some_and(|c| {
        c.rsplit('.')
            .next()
            .unwrap_or(c)
            .to_ascii_lowercase()
            .ends_with("process")
    })
}

/// Whether a method or function named `bare` (leading underscores aside)
/// takes a value back: `checkin`, `release_conn`, `return_connection`,
/// `put_conn`. (`return_` or `put_` alone says little: `self._return_pub
/// (values)` sends, `put_item(x)` stores.)
pub(super) fn takes_back(bare: &str) -> bool {
    let names_thing = |prefix: &str| {
        bare.strip_prefix(prefix)
            .is_some_and(|rest| RETURNED_THINGS.iter().any(|thing| rest.starts_with(thing)))
    };
    TAKE_BACK_METHODS.contains(&bare)
        || bare.starts_with("release_")
        || names_thing("return_")
        || names_thing("put_")
}

/// `messages.get("Messages")`, `getattr(obj, "conn")`,
/// `self._current_thread()`: a lookup of something that exists already, not
/// the making of anything.
fn is_lookup(call: &CallFact) -> bool {
    let positional = call.node.field("arguments").is_some_and(|args| {
        let mut cursor = args.walk();
        args.named_children(&mut cursor)
            .any(|a| !matches!(a.kind_name(), "keyword_argument" | "comment"))
    });
    // `threading.current_thread()`, `asyncio.current_task()`: who is
    // running, which a lock records as its owner.
    let current = call
        .callee
        .as_deref()
        .map(|c| crate::syntax::last_part(c).trim_start_matches('_'))
        .is_some_and(|last| last.starts_with("current_") || last.starts_with("get_current_"));
    if current {
        return true;
    }
    match call.method.as_deref() {
        Some("get" | "get_nowait") => positional,
        Some("setdefault" | "__getitem__") => true,
        _ => matches!(call.callee.as_deref(), Some("getattr" | "next")),
    }
}

/// `tuple(name)`, `list(items)`, `str(x)`, `header.strip("<>")`: Python's
/// own values hold nothing to release, whatever the function later does with
/// them (`lock_man.release(token)` gives back a lock the token names).
fn makes_builtin_value(call: &CallFact) -> bool {
    if call.method.as_deref().is_some_and(is_text_method) {
        return true;
    }
    call.method.is_none()
        && matches!(
            call.callee.as_deref(),
            Some(
                "tuple"
                    | "list"
                    | "dict"
                    | "set"
                    | "frozenset"
                    | "str"
                    | "bytes"
                    | "bytearray"
                    | "int"
                    | "float"
                    | "bool"
                    | "sorted"
                    | "reversed"
                    | "iter"
                    | "range"
                    | "zip"
                    | "map"
                    | "filter"
                    | "enumerate"
                    | "object"
                    | "type"
                    | "repr"
                    | "len"
            )
        )
}

/// The methods of `str` and `bytes` that make new text (or a list of it).
fn is_text_method(method: &str) -> bool {
    matches!(
        method,
        "strip"
            | "lstrip"
            | "rstrip"
            | "lower"
            | "upper"
            | "casefold"
            | "title"
            | "capitalize"
            | "split"
            | "rsplit"
            | "splitlines"
            | "partition"
            | "rpartition"
            | "encode"
            | "decode"
            | "zfill"
            | "ljust"
            | "rjust"
            | "center"
            | "removeprefix"
            | "removesuffix"
    )
}

/// In-memory buffers: an object made over one holds nothing of the
/// system's, and its `close()` leaves the buffer as it is.
const MEMORY_BUFFERS: &[&str] = &["io.BytesIO", "io.StringIO"];

/// Whether `call`'s first argument is an in-memory buffer made in this
/// function, and bound nowhere else (`waveobj = wave.open(fp, "wb")` after
/// `fp = BytesIO()`, or `wave.open(BytesIO(), "wb")`).
fn over_memory_buffer(call: &CallFact, graph: &Cfg, calls: &[&CallFact], source: &str) -> bool {
    let is_buffer = |c: &CallFact| {
        c.resolved
            .as_deref()
            .is_some_and(|r| MEMORY_BUFFERS.contains(&r))
    };
    let Some(first) = call
        .node
        .field("arguments")
        .and_then(|args| args.named_child(0))
    else {
        return false;
    };
    match first.kind_name() {
        "call" => calls.iter().any(|c| c.node == first && is_buffer(c)),
        "identifier" => {
            let name = syntax::text(first, source);
            let bindings = graph
                .nodes
                .iter()
                .filter(|n| n.facts.binds.iter().any(|b| b == name))
                .count();
            bindings == 1
                && calls
                    .iter()
                    .any(|c| matches!(&c.usage, Use::Bound(v) if v == name) && is_buffer(c))
        }
        _ => false,
    }
}

/// Whether `call` is given a keyword value that makes what it makes hold
/// nothing (`create_engine(url, poolclass=NullPool)`).
fn given_holding_nothing(
    call: &CallFact,
    given: &std::collections::BTreeMap<String, Vec<String>>,
    source: &str,
) -> bool {
    if given.is_empty() {
        return false;
    }
    let Some(args) = call.node.field("arguments") else {
        return false;
    };
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .filter(|a| a.kind_name() == "keyword_argument")
        .any(|a| {
            let keyword = a.field("name").map(|n| syntax::text(n, source));
            let value = a.field("value").map(|v| syntax::text(v, source));
            keyword
                .and_then(|k| given.get(k))
                .zip(value)
                .is_some_and(|(values, v)| values.iter().any(|x| x == syntax::last_part(v)))
        })
}

/// Whether `c` is one of `list`'s calls: `json.load(f)` of the borrowing
/// ones, `psutil.Process(pid)` of those holding nothing.
fn listed_in(c: &CallFact, list: &CallList) -> bool {
    c.resolved.as_deref().is_some_and(|r| list.has_function(r))
        || c.method.as_deref().is_some_and(|m| list.has_method(m))
}

/// Whether the call's name says it makes a resource (see `ACQUIRE_SHAPES`
/// and `RESOURCE_CLASS_WORDS`).
fn acquire_shaped(call: &CallFact) -> bool {
    let Some(callee) = call.callee.as_deref() else {
        return false;
    };
    let last = crate::syntax::last_part(callee);
    let name = last.trim_start_matches('_').to_ascii_lowercase();
    if call.constructor {
        return RESOURCE_CLASS_WORDS.iter().any(|w| name.contains(w));
    }
    ACQUIRE_SHAPES.iter().any(|shape| name.starts_with(shape))
}

/// The first positional argument, when it is a plain name:
/// `pool.checkin(conn)`, not `queue.release(message_id=message_id)`.
fn first_positional<'s>(call: &CallFact, source: &'s str) -> Option<&'s str> {
    let args = call.node.field("arguments")?;
    let mut cursor = args.walk();
    let first = args
        .named_children(&mut cursor)
        .find(|a| !matches!(a.kind_name(), "keyword_argument" | "comment"))?;
    (first.kind_name() == "identifier").then(|| syntax::text(first, source))
}
