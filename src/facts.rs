//! What one piece of syntax does, as far as resources care: the calls it
//! makes (and how each call's value is used), the names it binds, aliases it
//! creates and names whose value escapes the function. Computed once per CFG
//! node by a single top-down walk, so the analysis never climbs parents.

use crate::rules::Catalogue;
use crate::syntax::{Imports, NodeExt, compact_text, dotted_name, is_nested_scope, text};
use tree_sitter::Node;

/// How the value of an expression is used by its surroundings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// Evaluated as a statement and dropped.
    Discarded,
    /// Assigned to a plain name.
    Bound(String),
    /// Stored on an attribute or into a subscript (the target's compact
    /// text): it outlives the call.
    Stored(String),
    /// Unpacked into names by position: `reader, writer = ...` (`None` for a
    /// target that is not a plain name).
    Unpacked(Vec<Option<String>>),
    Returned,
    Yielded,
    /// Element of a container literal whose value escapes.
    EscapingContainer,
    /// Argument of a call that takes ownership (`closing(x)`, `stack.enter_context(x)`).
    OwnershipArgument,
    /// Argument of `append`/`add`/... on a container: it outlives the call.
    ContainerArgument,
    /// Argument of a constructor whose result is bound to this name
    /// (`stream = IOStream(sock)`): the new object owns what it wraps.
    WrappedBy(String),
    /// Argument of a call whose result is kept (`self.sock =
    /// self.set_options(sock)`): handed over once the call returns.
    KeptByResult,
    /// Argument of a call known only to use it (`json.load(f)`): a borrow.
    /// Holds the callee as written.
    BorrowedArgument(String),
    /// Argument of any other call: a borrow, unless the callee keeps it,
    /// which this file cannot tell.
    Argument,
    /// Object of an attribute access, with the attribute: `open(p).read()`.
    Receiver(String),
    /// Item of a `with` statement, with its `as` name if any.
    WithItem(Option<String>),
    /// The whole test of an `if`/`while`; `negated` for `not <call>`.
    Condition {
        negated: bool,
    },
    /// Anything else (operands, subscripts, comprehensions).
    Other,
}

impl Use {
    /// Whether the value leaves the function's responsibility.
    pub fn escapes(&self) -> bool {
        matches!(
            self,
            Use::Stored(_)
                | Use::Returned
                | Use::EscapingContainer
                | Use::OwnershipArgument
                | Use::ContainerArgument
        )
    }
}

/// Keyword arguments longer than this are recorded by name only.
const LONGEST_KEYWORD_TEXT: usize = 200;

/// Whether `node` is a string literal that reads as a file mode (`"r"`,
/// `"wb"`, `'a+'`, `"rt"`), or the function's own parameter `mode` passed
/// on.
fn is_file_mode(node: Node, src: &str, cx: &FactContext) -> bool {
    // A wrapper of `open()` passing its own `mode` on: `_open(name, mode,
    // ...)`; a local `mode` may be anything (`fcntl.flock(fd, mode)`).
    if node.kind_name() == "identifier" {
        return text(node, src) == "mode" && cx.parameters.is_some_and(|p| p.contains("mode"));
    }
    if node.kind_name() != "string" {
        return false;
    }
    let mode = text(node, src).trim_matches(|c| c == '"' || c == '\'');
    let mut chars = mode.chars();
    matches!(chars.next(), Some('r' | 'w' | 'a' | 'x'))
        && mode.len() <= 3
        && chars.all(|c| matches!(c, 'b' | 't' | '+'))
}

/// Whether a call is asked to close what it is given: a keyword argument
/// named for closing (`close_on_finish=auto_close`, `auto_close=True`,
/// `should_close=owned`) not set to `False`. (`close_fds=` of a process is
/// about the child's descriptors, not what the call is given.)
fn asks_to_close(call: Node, src: &str) -> bool {
    let Some(args) = call.field("arguments") else {
        return false;
    };
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .filter(|a| a.kind_name() == "keyword_argument")
        .any(|a| {
            let name = a
                .field("name")
                .map_or("", |n| text(n, src))
                .to_ascii_lowercase();
            let value = a.field("value").map_or("", |v| text(v, src));
            name.contains("close")
                && !name.contains("close_fds")
                && !matches!(value, "False" | "None" | "0")
        })
}

/// Receivers longer than this are recorded by their start and `…`.
const LONGEST_RECEIVER_TEXT: usize = 200;

/// The receiver's compact text (`self.pool`). A receiver that is a long
/// expression (`a.m0().m1()...`, each call's receiver the chain before it)
/// keeps its first characters, enough for its root name, and ends in `…`
/// so that it equals no name: copying every chain whole made memory grow
/// with the square of its length.
fn receiver_text(object: Node, src: &str) -> String {
    let range = object.byte_range();
    if range.len() <= LONGEST_RECEIVER_TEXT {
        return compact_text(object, src);
    }
    let mut end = range.start + LONGEST_RECEIVER_TEXT;
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let mut head: String = src[range.start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    head.push('…');
    head
}

#[derive(Debug, Clone)]
pub struct CallFact<'t> {
    pub node: Node<'t>,
    /// Callee as written, when it is a name or attribute chain: `db_pool.acquire`.
    pub callee: Option<String>,
    /// Callee resolved through imports: `psycopg2.connect` for `pg.connect`.
    pub resolved: Option<String>,
    /// For method calls: the method name and the receiver's compact text.
    pub method: Option<String>,
    pub receiver: Option<String>,
    /// Plain-name positional or keyword arguments.
    pub name_args: Vec<String>,
    /// Keyword arguments as compact text: `stream=True`.
    pub keywords: Vec<String>,
    pub awaited: bool,
    pub usage: Use,
    /// Whether the call makes a new object (`IOStream(sock)`, `cls(sock)`).
    pub constructor: bool,
}

impl CallFact<'_> {
    /// Whether the receiver is a logger (`log`, `self._logger`, `logging`):
    /// the logging module reports its own errors instead of raising.
    pub fn on_logger(&self) -> bool {
        // A logging call on a logger named for what it logs
        // (`dlogger.debug()`, `self.access_log.info()`): only the logging
        // methods, as `audit_log.write()` may be a file's.
        let logging_method = matches!(
            self.method.as_deref(),
            Some(
                "debug"
                    | "info"
                    | "warning"
                    | "warn"
                    | "error"
                    | "exception"
                    | "critical"
                    | "fatal"
            )
        );
        self.receiver.as_deref().is_some_and(|r| {
            // `logging.getLogger("websocket").setLevel(logging.CRITICAL)`:
            // a logger fetched where it is used.
            if r.strip_prefix("logging.")
                .unwrap_or(r)
                .starts_with("getLogger(")
            {
                return true;
            }
            let last = r
                .rsplit('.')
                .next()
                .unwrap_or(r)
                .trim_start_matches('_')
                .to_ascii_lowercase();
            // (`lgr`: DataLad's and its extensions' name for theirs.)
            matches!(last.as_str(), "log" | "logger" | "logging" | "lgr")
                || (logging_method && (last.ends_with("logger") || last.ends_with("_log")))
        })
    }

    /// The callee as shown in messages: `db_pool.acquire()`.
    pub fn display(&self, source: &str) -> String {
        match &self.callee {
            Some(c) => format!("{c}()"),
            None => {
                let f = self.node.field("function").map_or("", |f| text(f, source));
                format!("{}()", one_line(f))
            }
        }
    }
}

/// Code on one line: runs of whitespace become one space (a string literal
/// keeps its words apart: `execute("select * from t")`), and the breaks of
/// a call chain written over several lines go (`(\n    x\n).fetchall`
/// is `(x).fetchall`).
fn one_line(code: &str) -> String {
    let words: Vec<&str> = code.split_whitespace().collect();
    let mut out = String::with_capacity(code.len());
    for (i, word) in words.iter().enumerate() {
        let joins_tight = i == 0
            || out.ends_with(['(', '[', '{', '.'])
            || word.starts_with([')', ']', '}', '.', ',']);
        if !joins_tight {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Falsy test on a name in an `if`/`while` condition: on `empty_when` the
/// name holds `None` or a falsy value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTest {
    pub name: String,
    pub empty_when: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Facts<'t> {
    pub calls: Vec<CallFact<'t>>,
    pub has_await: bool,
    pub has_yield: bool,
    /// Names rebound here.
    pub binds: Vec<String>,
    /// Attributes and subscripts assigned here (compact text: `self._locked`).
    pub stores: Vec<String>,
    /// `new = old` between plain names.
    pub aliases: Vec<(String, String)>,
    /// `new = Wrapper(old)`: the object bound to `new` owns `old`.
    pub wraps: Vec<(String, String)>,
    /// Names rebound to a value made from themselves: `sock = wrap(sock)`.
    /// The new value carries the old one's obligation; nothing is lost.
    pub rebound_from_self: Vec<String>,
    /// Attributes read on plain names: `conn.default_channel` is
    /// (`conn`, `default_channel`). Calls are in `calls`.
    pub attribute_reads: Vec<(String, String)>,
    /// Names whose value leaves the function's responsibility here.
    pub escapes: Vec<String>,
    /// Names handed over only if the node's call returns (its result is
    /// kept): an exception from that call leaves them with the function.
    pub escapes_on_success: Vec<String>,
    /// Names given to an object made in a `return` (`return
    /// Betamax(session)`): the caller gets them inside the new object, which
    /// owns them.
    pub wrapped_in_returned: Vec<String>,
    /// Names whose part (`client[name]`, `client.name`) is stored,
    /// returned or otherwise handed over here (see
    /// `Resource::kept_by_parts`).
    pub parts_escape: Vec<String>,
    /// Names a method is called on whose result is stored, returned or
    /// handed over here, with the method: `("client", "get_database")` for
    /// `return client.get_database()` (see `Resource::part_methods`).
    pub method_parts_escape: Vec<(String, String)>,
    /// Names used directly as `with` items: `with conn:`.
    pub managed: Vec<String>,
    /// For conditions: a falsy test on a plain name.
    pub test: Option<NameTest>,
}

pub struct FactContext<'a> {
    pub source: &'a str,
    pub imports: &'a Imports,
    /// Ownership-taking, borrowing, awaiting and identity calls.
    pub catalogue: &'a Catalogue,
    /// In a plain generator, `yield x` hands `x` to the consumer.
    pub yield_transfers: bool,
    /// The function's parameters: calling one (`callback(conn)`) hands the
    /// arguments to code the caller chose.
    pub parameters: Option<&'a std::collections::HashSet<String>>,
    /// Names the function assigns: `stub.Balance(...)` on one is a method
    /// call, not a class made (`models.Order(...)`).
    pub locals: Option<&'a std::collections::HashSet<String>>,
    /// The classes the module defines, whatever their case: `_pfile(p)`
    /// makes an object.
    pub classes: Option<&'a std::collections::HashSet<String>>,
}

const CONTAINER_METHODS: &[&str] = &[
    "append",
    "appendleft",
    "add",
    "extend",
    "insert",
    "put",
    "put_nowait",
    "setdefault",
    "update",
];

/// A bound method given to a call to run later releases its object then.
const RELEASE_CALLBACKS: &[&str] = &[
    "close",
    "aclose",
    "shutdown",
    "terminate",
    "kill",
    "release",
    "disconnect",
    "stop",
    "cleanup",
    "__exit__",
    "__aexit__",
];

/// Method names that say the receiver keeps their argument.
const KEEPING_PREFIXES: &[&str] = &["add_", "register", "attach", "adopt", "track"];

impl<'t> Facts<'t> {
    /// Facts of `root` when its value is used as `usage`.
    pub fn of(root: Node<'t>, usage: Use, cx: &FactContext) -> Facts<'t> {
        let mut facts = Facts::default();
        if let Use::Condition { .. } = usage {
            facts.test = name_test(root, cx.source);
        }
        let mut stack: Vec<(Node<'t>, Use, bool)> = vec![(root, usage, false)];
        while let Some((node, usage, awaited)) = stack.pop() {
            facts.visit(node, usage, awaited, cx, &mut stack);
        }
        facts
    }

    fn visit(
        &mut self,
        node: Node<'t>,
        usage: Use,
        awaited: bool,
        cx: &FactContext,
        stack: &mut Vec<(Node<'t>, Use, bool)>,
    ) {
        let src = cx.source;
        let kind = node.kind_name();
        if is_nested_scope(kind) {
            return;
        }
        match kind {
            "identifier" => {
                let name = text(node, src).to_string();
                match &usage {
                    Use::Bound(new) => self.aliases.push((new.clone(), name)),
                    Use::WrappedBy(new) => self.wraps.push((new.clone(), name)),
                    Use::KeptByResult => self.escapes_on_success.push(name),
                    Use::Yielded if cx.yield_transfers => self.escapes.push(name),
                    Use::WithItem(_) => self.managed.push(name),
                    u if u.escapes() => self.escapes.push(name),
                    _ => {}
                }
            }
            "await" => {
                self.has_await = true;
                push_children(node, usage, true, stack);
            }
            "parenthesized_expression" => push_children(node, usage, awaited, stack),
            "yield" => {
                self.has_yield = true;
                push_children(node, Use::Yielded, false, stack);
            }
            "return_statement" => push_children(node, Use::Returned, false, stack),
            "expression_statement" => push_children(node, Use::Discarded, false, stack),
            "tuple" | "list" | "set" | "dictionary" | "pair" | "expression_list" => {
                let escaping = usage.escapes()
                    || matches!(usage, Use::Bound(_))
                    || (usage == Use::Yielded && cx.yield_transfers);
                let inner = if let Use::WrappedBy(_) = usage {
                    // `Thread(target=f, args=(conn,))`: the new object holds it.
                    usage
                } else if escaping {
                    Use::EscapingContainer
                } else {
                    Use::Other
                };
                push_children(node, inner, false, stack);
            }
            "conditional_expression" => {
                // `a if cond else b`: the first and last operands carry the value.
                let mut cursor = node.walk();
                let named: Vec<Node> = node.named_children(&mut cursor).collect();
                for (i, child) in named.into_iter().enumerate() {
                    let u = if i == 1 { Use::Other } else { usage.clone() };
                    stack.push((child, u, false));
                }
            }
            "boolean_operator" => {
                // `x or default`: either operand may be the value.
                push_children(node, usage, false, stack);
            }
            "assignment" => self.assignment(node, cx, stack, usage),
            "augmented_assignment" => {
                if let Some(left) = node.field("left") {
                    match left.kind_name() {
                        "identifier" => self.binds.push(text(left, src).to_string()),
                        "attribute" | "subscript" => self.stores.push(compact_text(left, src)),
                        _ => {}
                    }
                }
                if let Some(right) = node.field("right") {
                    stack.push((right, Use::Other, false));
                }
            }
            "named_expression" => {
                if let Some(name) = node.field("name") {
                    let name = text(name, src).to_string();
                    self.binds.push(name.clone());
                    if let Some(value) = node.field("value") {
                        stack.push((value, Use::Bound(name), false));
                    }
                }
            }
            "call" => self.call(node, usage, awaited, cx, stack),
            "subscript" => {
                if let Some(object) = node
                    .field("value")
                    .filter(|o| o.kind_name() == "identifier")
                    && usage.escapes()
                {
                    self.parts_escape.push(text(object, src).to_string());
                }
                push_children(node, Use::Other, false, stack);
            }
            "attribute" => {
                if let Some(object) = node.field("object")
                    && object.kind_name() == "identifier"
                    && usage.escapes()
                {
                    self.parts_escape.push(text(object, src).to_string());
                }
                if let Some(object) = node.field("object") {
                    let attr = node.field("attribute").map_or("", |a| text(a, src));
                    if object.kind_name() == "identifier"
                        && !matches!(text(object, src), "self" | "cls")
                    {
                        self.attribute_reads
                            .push((text(object, src).to_string(), attr.to_string()));
                    }
                    stack.push((object, Use::Receiver(attr.to_string()), false));
                }
            }
            "with_item" => {
                if let Some(value) = node.field("value") {
                    if value.kind_name() == "as_pattern" {
                        let alias = value.field("alias").and_then(|a| first_identifier(a, src));
                        if let Some(a) = &alias {
                            self.binds.push(a.clone());
                        }
                        if let Some(expr) = value.named_child(0) {
                            stack.push((expr, Use::WithItem(alias), false));
                        }
                    } else {
                        stack.push((value, Use::WithItem(None), false));
                    }
                }
            }
            "not_operator" => {
                let u = match usage {
                    Use::Condition { negated } => Use::Condition { negated: !negated },
                    _ => Use::Other,
                };
                push_children(node, u, false, stack);
            }
            "keyword_argument" => {
                if let Some(value) = node.field("value") {
                    stack.push((value, usage, false));
                }
            }
            _ => push_children(node, Use::Other, false, stack),
        }
    }

    /// `outer` is what the value of the assignment is used for: in a
    /// chained assignment (`self._local.fd = fd = os.open(...)`), the
    /// target further left.
    fn assignment(
        &mut self,
        node: Node<'t>,
        cx: &FactContext,
        stack: &mut Vec<(Node<'t>, Use, bool)>,
        outer: Use,
    ) {
        let src = cx.source;
        let left = node.field("left");
        // `pipes['stdin'], pipes['stdout'] = r, w`: element by element.
        if let (Some(l), Some(r)) = (left, node.field("right"))
            && matches!(l.kind_name(), "pattern_list" | "tuple_pattern")
            && matches!(r.kind_name(), "expression_list" | "tuple")
        {
            let targets: Vec<Node<'t>> = l.named_children(&mut l.walk()).collect();
            let values: Vec<Node<'t>> = r.named_children(&mut r.walk()).collect();
            if targets.len() == values.len() {
                for (target, value) in targets.into_iter().zip(values) {
                    let usage = match target.kind_name() {
                        "identifier" => {
                            let name = text(target, src).to_string();
                            self.binds.push(name.clone());
                            Use::Bound(name)
                        }
                        "attribute" | "subscript" => {
                            stack.push((target, Use::Other, false));
                            let stored = compact_text(target, src);
                            self.stores.push(stored.clone());
                            Use::Stored(stored)
                        }
                        _ => Use::Other,
                    };
                    stack.push((value, usage, false));
                }
                return;
            }
        }
        let usage = match left {
            Some(l) if l.kind_name() == "identifier" => {
                let name = text(l, src).to_string();
                self.binds.push(name.clone());
                Use::Bound(name)
            }
            Some(l) if matches!(l.kind_name(), "attribute" | "subscript") => {
                let target = compact_text(l, src);
                if l.kind_name() == "subscript" {
                    // `self.peers[sock] = peer`: the mapping keeps its key
                    // as well as its value.
                    if let Some(container) = l.field("value") {
                        stack.push((container, Use::Other, false));
                    }
                    let mut cursor = l.walk();
                    for key in l.children_by_field_name("subscript", &mut cursor) {
                        stack.push((key, Use::Stored(target.clone()), false));
                    }
                } else {
                    // The target's own sub-expressions are evaluated, not
                    // stored to.
                    stack.push((l, Use::Other, false));
                }
                self.stores.push(target.clone());
                Use::Stored(target)
            }
            Some(l) => {
                crate::syntax::walk(l, |n| {
                    if n.kind_name() == "identifier" {
                        self.binds.push(text(n, src).to_string());
                    }
                    !matches!(n.kind_name(), "attribute" | "subscript")
                });
                let mut cursor = l.walk();
                let names = l
                    .named_children(&mut cursor)
                    .map(|e| (e.kind_name() == "identifier").then(|| text(e, src).to_string()))
                    .collect();
                Use::Unpacked(names)
            }
            None => Use::Other,
        };
        // Stored by any target of a chain, the value belongs to where it is
        // stored (`self._local.fd = fd = os.open(...)`); the names bound on
        // the way are recorded above either way.
        let usage = match (&usage, outer) {
            (Use::Bound(_), stored @ Use::Stored(_)) => stored,
            _ => usage,
        };
        if let Some(right) = node.field("right") {
            stack.push((right, usage, false));
        }
    }

    fn call(
        &mut self,
        node: Node<'t>,
        usage: Use,
        awaited: bool,
        cx: &FactContext,
        stack: &mut Vec<(Node<'t>, Use, bool)>,
    ) {
        let src = cx.source;
        let function = node.field("function");
        let callee = function.and_then(|f| dotted_name(f, src));
        let resolved = callee
            .as_deref()
            .filter(|c| !cx.imports.shadows_builtin(c))
            .map(|c| cx.imports.resolve(c));
        let (method, receiver) = match function {
            Some(f) if f.kind_name() == "attribute" => (
                f.field("attribute").map(|a| text(a, src).to_string()),
                f.field("object").map(|o| receiver_text(o, src)),
            ),
            _ => (None, None),
        };
        if usage.escapes()
            && let (Some(m), Some(f)) = (&method, function)
            && f.field("object")
                .is_some_and(|o| o.kind_name() == "identifier")
            && let Some(r) = &receiver
        {
            self.method_parts_escape.push((r.clone(), m.clone()));
        }
        let calls = &cx.catalogue.calls;
        let ownership = &cx.catalogue.ownership;
        let takes_ownership = resolved.as_deref().is_some_and(|r| {
            ownership
                .functions
                .iter()
                .any(|f| f == r || f.rsplit('.').next() == Some(r))
        }) || method
            .as_deref()
            .is_some_and(|m| ownership.methods.iter().any(|o| o == m))
            || (resolved.as_deref() == Some("os.dup2") && onto_standard_stream(node, src));
        // `server.add_socket(sock)`, `selector.register(sock, ...)`,
        // `response.attach(conn)`: the receiver keeps what it is given.
        // `self.ssl_client.set_underlying_socket(sock)`: a setter of another
        // object (not of this one, `self.set_blocking(fd)`, nor a module's
        // function, `os.set_blocking(fd, False)`) stores what it is given.
        let setter_of_another = method.as_deref().is_some_and(|m| m.starts_with("set_"))
            && receiver.as_deref().is_some_and(|r| {
                let head = r.split('.').next().unwrap_or(r);
                !matches!(r, "self" | "cls") && !cx.imports.is_imported(head)
            });
        let is_container_method = setter_of_another
            || method.as_deref().is_some_and(|m| {
                let bare = m.trim_start_matches('_');
                CONTAINER_METHODS.contains(&m)
                    || KEEPING_PREFIXES.iter().any(|p| bare.starts_with(p))
            });
        let known = |list: &crate::rules::CallList| {
            resolved.as_deref().is_some_and(|r| list.has_function(r))
                || method.as_deref().is_some_and(|m| list.has_method(m))
        };
        let borrows = known(&calls.borrowing);
        let awaits_arguments = known(&calls.awaiting);
        let identity = resolved
            .as_deref()
            .is_some_and(|r| calls.identity.has_function(r));
        // `stub.Balance(request)` on a parameter or a local is a method
        // call, however it is capitalised.
        let on_object = callee
            .as_deref()
            .and_then(|c| c.split_once('.'))
            .is_some_and(|(head, _)| {
                !cx.imports.is_imported(head)
                    && (cx.parameters.is_some_and(|p| p.contains(head))
                        || cx.locals.is_some_and(|l| l.contains(head)))
            });
        // `_pfile(p)`, and `self._ConfigCache(...)` for a class the file
        // defines (nested in the class, say).
        let local_class = callee.as_deref().is_some_and(|c| {
            let c = c
                .strip_prefix("self.")
                .or_else(|| c.strip_prefix("cls."))
                .unwrap_or(c);
            cx.classes.is_some_and(|classes| classes.contains(c))
        });
        let constructor =
            local_class || is_constructor(function, callee.as_deref(), on_object, src);
        // A factory (`create_tcp_listener(sock)`, `self.makeProducer(request,
        // f)`, `wrap_stream(tls)`) makes an object around what it is given,
        // as a constructor does.
        let is_constructor =
            !borrows && (constructor || is_factory(callee.as_deref().or(method.as_deref())));
        let result_escapes = usage.escapes() || (usage == Use::Yielded && cx.yield_transfers);
        let calls_parameter = callee
            .as_deref()
            .is_some_and(|c| cx.parameters.is_some_and(|p| p.contains(c)));
        // `super().__init__(pool)`, `Base.__init__(self, pool)`: the object
        // being made keeps what its base class is given.
        let initialises = method.as_deref() == Some("__init__");
        let arg_use =
            if takes_ownership || calls_parameter || initialises || asks_to_close(node, src) {
                // `callback(conn, addr)`: the code the caller passed in takes it.
                Use::OwnershipArgument
            } else if is_container_method {
                Use::ContainerArgument
            } else if is_constructor {
                // `return _ProxyFile(f)`, `stream = IOStream(sock)`: the new object
                // owns what it wraps, and goes where the result goes. A result
                // used in place (`Thread(args=(conn,)).start()`) takes it along
                // where this function cannot follow.
                match &usage {
                    _ if result_escapes => Use::EscapingContainer,
                    Use::Bound(new) => Use::WrappedBy(new.clone()),
                    _ => Use::OwnershipArgument,
                }
            } else if borrows {
                Use::BorrowedArgument(callee.clone().unwrap_or_default())
            } else if matches!(usage, Use::Stored(_) | Use::EscapingContainer) {
                // `self.sock = self.set_options(sock)`: what the call makes from
                // it is kept by the object, and takes it along. (A returned
                // result, `return read_banner(tls)`, is no such evidence.)
                Use::KeptByResult
            } else {
                Use::Argument
            };
        // `return Betamax(session)`: the caller gets the names inside it.
        let wrapped_for_caller = is_constructor && usage == Use::Returned;
        // `sock = ssl_wrap_socket(sock, ...)`: the new value owns the old one.
        let rebinding = match &usage {
            Use::Bound(new) => Some(new.as_str()),
            _ => None,
        };
        let mut name_args = Vec::new();
        let mut keywords = Vec::new();
        if let Some(args) = node.field("arguments") {
            let mut cursor = args.walk();
            let positional: Vec<Node> = args
                .named_children(&mut cursor)
                .filter(|a| !matches!(a.kind_name(), "keyword_argument" | "comment"))
                .collect();
            let passed_through = if identity {
                positional.last().copied()
            } else {
                None
            };
            // `fopen(fd, "wb")`, `io.open(fd, "rb")`: a call given a name
            // and a file mode opens that name, and a descriptor opened so
            // belongs to the file object (closefd is the default).
            let opened = (positional.len() >= 2 && is_file_mode(positional[1], src, cx))
                .then(|| positional[0])
                .filter(|first| first.kind_name() == "identifier");
            let mut cursor = args.walk();
            for arg in args.named_children(&mut cursor) {
                let mut this_use = arg_use.clone();
                let value = if arg.kind_name() == "keyword_argument" {
                    let name = arg.field("name").map(|n| text(n, src));
                    // Keywords are matched against short values
                    // (`stream=True`, `timeout=` by prefix); a long value is
                    // kept as `name=…`, so that nested calls do not copy
                    // each other's text (memory grew with the square of
                    // the nesting).
                    if arg.byte_range().len() <= LONGEST_KEYWORD_TEXT {
                        keywords.push(compact_text(arg, src));
                    } else {
                        keywords.push(format!("{}=…", name.unwrap_or_default()));
                    }
                    if name.is_some_and(|n| ownership.keywords.iter().any(|k| k == n)) {
                        this_use = Use::OwnershipArgument;
                    }
                    arg.field("value")
                } else {
                    if passed_through == Some(arg) {
                        // `cast(T, x)` is `x`.
                        this_use = usage.clone();
                    }
                    if opened == Some(arg) {
                        this_use = Use::OwnershipArgument;
                    }
                    Some(arg)
                };
                let Some(v) = value else { continue };
                if v.kind_name() == "identifier" {
                    let name = text(v, src).to_string();
                    if rebinding == Some(name.as_str()) && !self.rebound_from_self.contains(&name) {
                        self.rebound_from_self.push(name.clone());
                    }
                    if wrapped_for_caller {
                        self.wrapped_in_returned.push(name.clone());
                    }
                    name_args.push(name);
                }
                // `stack.callback(conn.close)` hands over `conn`; so does
                // handing anyone its release to call later
                // (`ctx.call_after_exit(starter.close)`, `atexit.register(f.close)`).
                if v.kind_name() == "attribute"
                    && let Some(obj) = v.field("object")
                    && obj.kind_name() == "identifier"
                {
                    let method = v.field("attribute").map_or("", |a| text(a, src));
                    if takes_ownership || RELEASE_CALLBACKS.contains(&method) {
                        self.escapes.push(text(obj, src).to_string());
                    }
                }
                // `asyncio.wait_for(pool.release(conn), 1)` runs the release.
                let awaited_inside = awaits_arguments && v.kind_name() == "call";
                stack.push((v, this_use, awaited_inside));
            }
        }
        // `conn.execution_options(...)` is `conn`, and `cm.__aenter__()`
        // what entering it gives: the receiver takes the call's place.
        let identity_method = method.as_deref().is_some_and(|m| {
            cx.catalogue.calls.identity.has_method(m)
                || cx
                    .catalogue
                    .resources
                    .iter()
                    .any(|r| r.identity_methods.iter().any(|i| i == m))
        });
        if identity_method && let Some(object) = function.and_then(|f| f.field("object")) {
            stack.push((object, usage.clone(), awaited));
            if object.kind_name() == "identifier" && rebinding == Some(text(object, src)) {
                self.rebound_from_self.push(text(object, src).to_string());
            }
        } else if let Some(f) = function {
            stack.push((f, Use::Other, false));
        }
        self.calls.push(CallFact {
            node,
            callee,
            resolved,
            method,
            receiver,
            name_args,
            keywords,
            awaited,
            usage,
            constructor,
        });
    }
}

/// Whether a call makes a new object: a class by its conventional name
/// (`IOStream(...)`, `_Wrapper(...)`), or the class at hand (`cls(...)`,
/// `type(self)(...)`, `self.__class__(...)`).
/// Named like a function that makes an object from its arguments.
fn is_factory(callee: Option<&str>) -> bool {
    let Some(callee) = callee else { return false };
    let last = crate::syntax::last_part(callee);
    let name = last.trim_start_matches('_');
    ["create_", "make_", "wrap_", "new_", "from_"]
        .iter()
        .any(|p| name.starts_with(p))
        || ["make", "wrap", "create"].iter().any(|p| {
            // camelCase: `makeProducer`, `wrapSocket`.
            name.strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        })
}

/// Whether the call makes an object: `Reader(f)`, `models.Order(...)`,
/// `self.protocol(...)`. `on_object` says the callee is a method of a
/// parameter or a local: capitalised (`stub.Balance(request)`, a gRPC
/// call), it is still a call, not a class.
fn is_constructor(
    function: Option<Node>,
    callee: Option<&str>,
    on_object: bool,
    source: &str,
) -> bool {
    if let Some(callee) = callee {
        let last = crate::syntax::last_part(callee);
        // `self.protocol(...)`, `self.connection_class(...)`: an attribute
        // that holds a class.
        let holds_class = ["_class", "Class", "_cls", "_factory", "Factory"]
            .iter()
            .any(|s| last.ends_with(s))
            || last == "protocol";
        let capitalised = last
            .trim_start_matches('_')
            .starts_with(|c: char| c.is_ascii_uppercase());
        return last == "cls" || last == "__class__" || holds_class || (capitalised && !on_object);
    }
    // `type(self)(...)`; and a callable looked up in a mapping
    // (`environ["wsgi.file_wrapper"](f, size)`, `HANDLERS[kind](sock)`): a
    // factory chosen at run time, which makes an object around what it is
    // given.
    function.is_some_and(|f| {
        f.kind_name() == "subscript"
            || (f.kind_name() == "call"
                && f.field("function")
                    .is_some_and(|g| text(g, source) == "type"))
    })
}

fn push_children<'t>(
    node: Node<'t>,
    usage: Use,
    awaited: bool,
    stack: &mut Vec<(Node<'t>, Use, bool)>,
) {
    let first = stack.len();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind_name() != "comment" {
            stack.push((child, usage.clone(), awaited));
        }
    }
    // Popped in source order.
    stack[first..].reverse();
}

fn first_identifier(node: Node, source: &str) -> Option<String> {
    let mut found = None;
    crate::syntax::walk(node, |n| {
        if found.is_none() && n.kind_name() == "identifier" {
            found = Some(text(n, source).to_string());
        }
        found.is_none()
    });
    found
}

/// Recognises `x is None`, `x == None`, `not x`, `x is not None`, `x`.
fn name_test(cond: Node, source: &str) -> Option<NameTest> {
    let mut node = cond;
    let mut negated = false;
    loop {
        match node.kind_name() {
            "parenthesized_expression" => node = node.named_child(0)?,
            "not_operator" => {
                negated = !negated;
                node = node.field("argument")?;
            }
            _ => break,
        }
    }
    let (name, empty_when) = match node.kind_name() {
        "identifier" => (text(node, source).to_string(), false),
        "comparison_operator" => {
            let left = node.named_child(0)?;
            let right = node.named_child(1)?;
            if node.named_child_count() != 2
                || left.kind_name() != "identifier"
                || right.kind_name() != "none"
            {
                return None;
            }
            let op: String = {
                let mut cursor = node.walk();
                node.children(&mut cursor)
                    .filter(|c| !c.is_named())
                    .map(|c| c.kind_name().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let empty_when = match op.as_str() {
                "is" | "==" => true,
                "is not" | "!=" => false,
                _ => return None,
            };
            (text(left, source).to_string(), empty_when)
        }
        _ => return None,
    };
    Some(NameTest {
        name,
        empty_when: empty_when != negated,
    })
}

/// Whether `os.dup2(fd, target)` makes `fd` a standard stream of the
/// process (`target` is 0, 1 or 2, or `sys.stdout.fileno()` and the like):
/// the idiom that points stdout at the null device before exiting on a
/// broken pipe, or a daemon's streams at its log, leaves `fd` open for the
/// life of the process on purpose.
fn onto_standard_stream(call: Node, source: &str) -> bool {
    let Some(target) = crate::syntax::argument(call, Some(1), None, source) else {
        return false;
    };
    let written = text(target, source);
    matches!(written, "0" | "1" | "2")
        || [
            "stdin",
            "stdout",
            "stderr",
            "__stdin__",
            "__stdout__",
            "__stderr__",
        ]
        .iter()
        .any(|stream| written == format!("sys.{stream}.fileno()"))
        || written.ends_with("STDIN_FILENO")
        || written.ends_with("STDOUT_FILENO")
        || written.ends_with("STDERR_FILENO")
}

#[cfg(test)]
mod tests {

    #[test]
    fn call_text_on_one_line_keeps_string_words_apart() {
        assert_eq!(
            super::one_line("conn.execute(\"select * from t\").fetchall"),
            "conn.execute(\"select * from t\").fetchall"
        );
        assert_eq!(
            super::one_line("(conn\n    .execute(\n        sql,\n    )\n    .fetchall"),
            "(conn.execute(sql,).fetchall"
        );
    }

    use super::*;

    /// The texts a call records stay short however deep its nesting: each
    /// call of a chain (or of nested keyword arguments) recording the text
    /// of the others made memory grow with the square of the nesting.
    #[test]
    fn long_receivers_and_keyword_values_are_recorded_short() {
        let chain: String = (0..2000).map(|i| format!(".m{i}()")).collect();
        let source = format!("conn{chain}.close()\n");
        let tree = crate::syntax::parse(&source).unwrap();
        let mut longest = 0;
        crate::syntax::walk(tree.root_node(), |n| {
            if n.kind_name() == "attribute"
                && let Some(object) = n.field("object")
            {
                let text = receiver_text(object, &source);
                longest = longest.max(text.len());
                if object.byte_range().len() > LONGEST_RECEIVER_TEXT {
                    assert!(
                        text.starts_with("conn.m0()") && text.ends_with('…'),
                        "{text}"
                    );
                }
            }
            true
        });
        assert!(
            longest <= LONGEST_RECEIVER_TEXT + '…'.len_utf8(),
            "{longest}"
        );
        let short = crate::syntax::parse("self . pool.acquire()\n").unwrap();
        let call = short
            .root_node()
            .named_child(0)
            .unwrap()
            .named_child(0)
            .unwrap();
        let object = call
            .field("function")
            .and_then(|f| f.field("object"))
            .unwrap();
        assert_eq!(
            receiver_text(object, "self . pool.acquire()\n"),
            "self.pool"
        );
    }
}
