//! What a call may raise, from the catalogue's `[calls]` tables: whether a
//! path through it as an exception is one worth reporting.

use crate::cfg::Raises;
use crate::facts::CallFact;
use crate::rules::Calls;
use crate::syntax::{NodeExt, text};
use tree_sitter::Node;

/// What `call` may raise. `receiver_resource` is the catalogue id of the
/// resource the receiver holds, when known (`sock.connect()` on a socket
/// raises only `OSError`).
pub fn classify(
    call: &CallFact,
    source: &str,
    calls: &Calls,
    receiver_resource: Option<&str>,
) -> Raises {
    let resolved = call.resolved.as_deref();
    let method = call.method.as_deref();
    let in_list = |list: &crate::rules::CallList| {
        resolved.is_some_and(|r| list.has_function(r)) || method.is_some_and(|m| list.has_method(m))
    };
    if in_list(&calls.ends) {
        return Raises::Ends;
    }
    if on_own_loopback(call, source)
        || binds_a_free_port(call, source)
        || chmods_file_it_created(call, source)
    {
        return Raises::Never;
    }
    // `fcntl.flock(fd, LOCK_EX)` waits for the lock; only with `LOCK_NB`
    // does it fail when the lock is taken.
    if let Some(flag) = resolved.and_then(|r| calls.raise_only_with.get(r))
        && flags_written_without(call.node, flag, source)
    {
        return Raises::Never;
    }
    let os = &calls.os_error;
    let os_function = resolved.is_some_and(|r| os.functions.iter().any(|f| f == r));
    let os_method = method.is_some_and(|m| {
        os.any_receiver_methods.iter().any(|x| x == m)
            || (os.methods.iter().any(|x| x == m)
                && receiver_resource.is_some_and(|id| os.receivers.iter().any(|r| r == id)))
    });
    if os_function || os_method {
        return Raises::OsError;
    }
    // An awaited call may raise whatever the coroutine raises (cancellation,
    // which every `await` may bring, is an edge of its own).
    if call.awaited && !in_list(&calls.never_raise) {
        return Raises::Any;
    }
    // Making an object (`Reader(f)`, `cls(sock)`) stores what it is given;
    // a constructor that fails is not how resources leak in practice.
    // `d.pop(key, default)` cannot raise (`d.pop(key)` can), nor can
    // `headers.get(name, "")`; a literal default tells a mapping's `get`
    // from `session.get(url, params)`.
    let pop_with_default = method == Some("pop") && crate::syntax::argument_count(call.node) == 2;
    // `if self.pool: conn = self.pool.pop()`: taking from a container
    // just tested non-empty (a pool's free list under its lock).
    let pop_after_test = matches!(method, Some("pop" | "popleft" | "popitem"))
        && call
            .receiver
            .as_deref()
            .is_some_and(|r| tested_non_empty(call.node, r, source));
    let on_headers = call
        .receiver
        .as_deref()
        .is_some_and(|r| crate::syntax::last_part(r) == "headers");
    // (Nor can a lookup in a message's headers: `resp.headers.get("etag")`.)
    let get_with_default = method == Some("get") && (literal_default(call.node) || on_headers);
    // (Nor can setting literal headers on a message: `resp.headers.update({"Content-Type":
    // "application/octet-stream"})`.)
    let literal_headers_update = method == Some("update")
        && on_headers
        && call
            .node
            .field("arguments")
            .filter(|a| a.named_child_count() == 1)
            .and_then(|a| a.named_child(0))
            .is_some_and(|d| {
                let mut cursor = d.walk();
                d.kind_name() == "dictionary"
                    && d.named_children(&mut cursor).all(|pair| {
                        pair.kind_name() == "pair"
                            && [pair.field("key"), pair.field("value")]
                                .iter()
                                .all(|p| p.is_some_and(|p| p.kind_name() == "string"))
                    })
            });
    // Text encoded as UTF-8 (`line.encode()`, `command.encode("utf8")`)
    // fails only on a lone surrogate, which no text read or typed holds.
    let utf8_encode = method == Some("encode") && names_utf8_at_most(call.node, source);
    // Nor does any codec told what to do with what it cannot convert
    // (`reply.decode("ascii", "ignore")`, `errors="replace"`).
    let lenient_codec = method.is_some_and(|m| lenient_conversion(call.node, m, source));
    // An event's `set()` and `clear()` (and a container's `clear()`).
    let event_flag =
        matches!(method, Some("set" | "clear")) && crate::syntax::argument_count(call.node) == 0;
    if call.constructor
        || (method == Some("commit") && commits_only_reads(call.node, source))
        || (method == Some("update") && updates_local_dict(call, source))
        || pop_with_default
        || pop_after_test
        || get_with_default
        || literal_headers_update
        || utf8_encode
        || lenient_codec
        || event_flag
        || number_of_arithmetic(call)
        || on_text_literal(call)
        || in_list(&calls.never_raise)
        || call.on_logger()
        || method.is_some_and(|m| {
            calls
                .never_raise_on
                .iter()
                .any(|group| group.has(m, receiver_resource))
        })
    {
        return Raises::Never;
    }
    Raises::Any
}

/// Whether `node` runs only where `container` (as written) was just found
/// non-empty: in the body of an `if`, `elif` or `while` whose condition is
/// it, `len(it)`, or one of the operands of an `and` (`if x and pool:`).
fn tested_non_empty(node: Node, container: &str, source: &str) -> bool {
    let names_it = |condition: Node| {
        let mut operands = vec![condition];
        while let Some(operand) = operands.pop() {
            match operand.kind_name() {
                "boolean_operator"
                    if operand
                        .field("operator")
                        .is_some_and(|o| text(o, source) == "and") =>
                {
                    operands.extend(operand.field("left"));
                    operands.extend(operand.field("right"));
                }
                "parenthesized_expression" => operands.extend(operand.named_child(0)),
                "call"
                    if operand
                        .field("function")
                        .is_some_and(|f| text(f, source) == "len") =>
                {
                    operands.extend(operand.field("arguments").and_then(|a| a.named_child(0)));
                }
                _ if crate::syntax::compact_text(operand, source) == container => return true,
                _ => {}
            }
        }
        false
    };
    let mut child = node;
    while let Some(parent) = child.parent() {
        match parent.kind_name() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "if_statement" | "elif_clause" | "while_statement"
                if ["consequence", "body"]
                    .iter()
                    .any(|f| parent.field(f).is_some_and(|b| b.id() == child.id()))
                    && parent.field("condition").is_some_and(names_it) =>
            {
                return true;
            }
            _ => {}
        }
        child = parent;
    }
    false
}

/// Whether the flags (the second argument) are constants written out, none
/// of them `flag`: `fcntl.LOCK_EX`, `LOCK_SH | LOCK_NB`. Flags in a
/// variable (`mode`) may hold anything.
fn flags_written_without(call: Node, flag: &str, source: &str) -> bool {
    let Some(flags) = call.field("arguments").and_then(|a| a.named_child(1)) else {
        return false;
    };
    let mut constants_only = true;
    let mut has_flag = false;
    crate::syntax::walk(flags, |n| match n.kind_name() {
        "binary_operator" | "parenthesized_expression" => true,
        "identifier" | "attribute" => {
            let name = text(n, source).rsplit('.').next().unwrap_or_default();
            constants_only &= name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
            has_flag |= name == flag;
            false
        }
        _ => {
            constants_only &= !n.is_named() || matches!(n.kind_name(), "integer");
            false
        }
    });
    constants_only && !has_flag
}

/// Whether a call has no argument, or only a literal naming UTF-8
/// (`"utf-8"`, `'utf8'`, `"UTF_8"`).
fn names_utf8_at_most(call: Node, source: &str) -> bool {
    let Some(arguments) = call.field("arguments") else {
        return true;
    };
    match arguments.named_child_count() {
        0 => true,
        1 => arguments
            .named_child(0)
            .filter(|a| a.kind_name() == "string")
            .is_some_and(|a| {
                let codec = text(a, source)
                    .trim_matches(['"', '\''])
                    .to_ascii_lowercase()
                    .replace('_', "-");
                matches!(codec.as_str(), "utf-8" | "utf8")
            }),
        _ => false,
    }
}

/// `data.decode("ascii", "ignore")`, `text.encode(errors="replace")`: an
/// error handler that replaces or drops what the codec cannot convert
/// leaves nothing to raise. The codec, when named, must be a literal (an
/// unknown name raises `LookupError`); `surrogateescape` only decodes
/// without failing, `xmlcharrefreplace` and `namereplace` only encode.
fn lenient_conversion(call: Node, method: &str, source: &str) -> bool {
    let handler_fits = |handler: &str| match method {
        "decode" => matches!(
            handler,
            "ignore" | "replace" | "backslashreplace" | "surrogateescape"
        ),
        "encode" => matches!(
            handler,
            "ignore" | "replace" | "backslashreplace" | "xmlcharrefreplace" | "namereplace"
        ),
        _ => false,
    };
    let Some(arguments) = call.field("arguments") else {
        return false;
    };
    let literal = |node: Node| crate::syntax::plain_string(node, source);
    let mut positional = Vec::new();
    let mut handler = None;
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        if argument.kind_name() == "keyword_argument" {
            let name = argument.field("name").map(|n| text(n, source));
            let Some(value) = argument.field("value").and_then(literal) else {
                return false;
            };
            match name {
                Some("errors") => handler = Some(value),
                Some("encoding") => {}
                _ => return false,
            }
        } else {
            positional.push(argument);
        }
    }
    match positional.as_slice() {
        [] => {}
        [codec] if literal(*codec).is_some() => {}
        [codec, errors] if literal(*codec).is_some() => handler = literal(*errors),
        _ => return false,
    }
    handler.is_some_and(handler_fits)
}

/// `"openssl -in {}".format(path)`, `", ".join(names)`: building text from
/// a literal template fails only when the code is wrong.
/// `sock.bind(("", 0))`, `sock.bind(("::" if ipv6 else "0.0.0.0", 0))`: a
/// port the system picks, on every local address or the loopback one, is
/// free by construction (a named address may not be this host's: still
/// raising).
fn binds_a_free_port(call: &CallFact, source: &str) -> bool {
    if call.method.as_deref() != Some("bind") {
        return false;
    }
    let Some(address) = call
        .node
        .field("arguments")
        .filter(|a| a.named_child_count() == 1)
        .and_then(|a| a.named_child(0))
        .filter(|t| t.kind_name() == "tuple" && t.named_child_count() == 2)
    else {
        return false;
    };
    let local = |host: Node| {
        host.kind_name() == "string"
            && matches!(
                text(host, source).trim_matches(['"', '\'']),
                "" | "0.0.0.0" | "::" | "127.0.0.1" | "::1" | "localhost"
            )
    };
    let host_is_local = address
        .named_child(0)
        .is_some_and(|host| match host.kind_name() {
            // `a if cond else b`: both values are local.
            "conditional_expression" => {
                host.named_child(0).is_some_and(local) && host.named_child(2).is_some_and(local)
            }
            _ => local(host),
        });
    host_is_local
        && address
            .named_child(1)
            .is_some_and(|port| text(port, source) == "0")
}

/// How many nodes of the function around a call the rules below look at,
/// at most: in a function too large to read whole the call keeps raising.
const FUNCTION_LOOK: usize = 5_000;

/// Pre-order walk of the function around `node`, as `syntax::walk`, of at
/// most `FUNCTION_LOOK` nodes: `None` when `node` is in no function or the
/// function is larger than that.
fn walk_function<'t>(node: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) -> Option<()> {
    let function = crate::syntax::enclosing(node, "function_definition")?;
    let mut looked = 0;
    crate::syntax::walk(function, |n| {
        looked += 1;
        looked <= FUNCTION_LOOK && visit(n)
    });
    (looked <= FUNCTION_LOOK).then_some(())
}

/// Whether the function around a `commit()` (`con.commit()`) runs only
/// statements that read: it runs some, and every `execute`, `executemany`
/// or `executescript` in it is given a literal `SELECT` (or a `PRAGMA` that
/// sets nothing), and the committed object is asked nothing else (no
/// `session.add(row)`). Ending a transaction that only read takes no write
/// lock and has nothing to flush: it does not fail (Toil's history queries,
/// reviewers of real code judged each such finding false), where one after
/// an `INSERT` may find the database locked.
fn commits_only_reads(commit: Node, source: &str) -> bool {
    let Some(receiver) = commit
        .field("function")
        .and_then(|f| f.field("object"))
        .map(|o| text(o, source))
    else {
        return false;
    };
    let mut statements = 0;
    let mut reads_only = true;
    let whole = walk_function(commit, |n| {
        if reads_only
            && n.kind_name() == "call"
            && let Some(callee) = n.field("function").filter(|f| f.kind_name() == "attribute")
            && let Some(method) = callee.field("attribute").map(|a| text(a, source))
        {
            if matches!(method, "execute" | "executemany" | "executescript") {
                statements += 1;
                let first = n
                    .field("arguments")
                    .and_then(|a| a.named_child(0))
                    .filter(|a| a.kind_name() == "string");
                reads_only = first.is_some_and(|sql| reads_sql(text(sql, source)));
            } else if callee
                .field("object")
                .is_some_and(|o| text(o, source) == receiver)
            {
                reads_only = matches!(method, "cursor" | "commit" | "rollback" | "close");
            }
        }
        reads_only
    });
    whole.is_some() && reads_only && statements > 0
}

/// `kwargs.update(context)` on the function's `**kwargs`, `rval.update(x)`
/// after `rval = dict()` (or `{...}`, and no other value bound to it):
/// merging into a dictionary fails only when given something that is not
/// a mapping, a bug rather than a way code leaks (galaxy-lib's merges
/// under a lock, judged false).
fn updates_local_dict(call: &CallFact, source: &str) -> bool {
    let Some(receiver) = call
        .receiver
        .as_deref()
        .filter(|r| r.chars().all(|c| c.is_alphanumeric() || c == '_'))
    else {
        return false;
    };
    let Some(function) = crate::syntax::enclosing(call.node, "function_definition") else {
        return false;
    };
    let names_receiver = |n: Option<Node>| n.is_some_and(|n| text(n, source) == receiver);
    let mut cursor = function.walk();
    let keyword_splat = function.field("parameters").is_some_and(|params| {
        params.named_children(&mut cursor).any(|p| {
            p.kind_name() == "dictionary_splat_pattern" && names_receiver(p.named_child(0))
        })
    });
    let mut made_dict = false;
    let mut other_value = false;
    let whole = walk_function(call.node, |n| {
        if n.kind_name() == "assignment" && names_receiver(n.field("left")) {
            let is_dict = n.field("right").is_some_and(|r| {
                r.kind_name() == "dictionary"
                    || (r.kind_name() == "call"
                        && r.field("function")
                            .is_some_and(|f| text(f, source) == "dict"))
            });
            made_dict |= is_dict;
            other_value |= !is_dict;
        } else if matches!(n.kind_name(), "augmented_assignment" | "for_statement")
            && names_receiver(n.field("left"))
        {
            other_value = true;
        }
        !other_value
    });
    whole.is_some() && (keyword_splat || made_dict) && !other_value
}

/// `f = open(path, "x"); os.chmod(path, 0o600)`: the mode of a file the
/// function has just created (exclusively: it did not exist) under the
/// same name is its own to change. Not after `open(path, "w")`: a file
/// another user owns may be writable by this one, and its mode is not
/// (reviewers of real code split on it). Bounded by `FUNCTION_LOOK`.
fn chmods_file_it_created(call: &CallFact, source: &str) -> bool {
    if call.resolved.as_deref() != Some("os.chmod") {
        return false;
    }
    let Some(path) = call
        .node
        .field("arguments")
        .and_then(|a| a.named_child(0))
        .map(|p| crate::syntax::compact_text(p, source))
    else {
        return false;
    };
    let before = call.node.start_byte();
    let mut found = false;
    // (Found within the bound or not at all: a cut-off walk finds nothing.)
    let _ = walk_function(call.node, |n| {
        if found || n.start_byte() >= before {
            return false;
        }
        found = n.kind_name() == "call" && creates(n, &path, source);
        !found
    });
    found
}

/// Whether `call` is `open(path, "x")` (or `io.open`, with or without `b`
/// or `+`, the mode given by position or as `mode=`).
fn creates(call: Node, path: &str, source: &str) -> bool {
    let callee = call.field("function").map(|f| text(f, source));
    let Some(arguments) = call.field("arguments") else {
        return false;
    };
    if !matches!(callee, Some("open" | "io.open"))
        || arguments
            .named_child(0)
            .is_none_or(|p| crate::syntax::compact_text(p, source) != path)
    {
        return false;
    }
    let mode = crate::syntax::argument(call, Some(1), Some("mode"), source);
    mode.and_then(|m| crate::syntax::plain_string(m, source))
        .is_some_and(|m| m.contains('x'))
}

/// Whether a string literal (quotes and prefixes included) holds a query
/// that only reads: `SELECT ...`, or a `PRAGMA` that sets nothing.
fn reads_sql(literal: &str) -> bool {
    let body = literal
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(['"', '\'']);
    let statement = body.trim_start().to_ascii_lowercase();
    statement.starts_with("select") || (statement.starts_with("pragma") && !statement.contains('='))
}

fn on_text_literal(call: &CallFact) -> bool {
    matches!(call.method.as_deref(), Some("format" | "join"))
        && call
            .node
            .field("function")
            .and_then(|f| f.field("object"))
            .is_some_and(|o| matches!(o.kind_name(), "string" | "concatenated_string"))
}

/// `int(elapsed / 1e9)`, `round(a * b)`: converting the result of arithmetic
/// (parsing text is what fails, and it is not that).
fn number_of_arithmetic(call: &CallFact) -> bool {
    if !matches!(call.resolved.as_deref(), Some("int" | "float")) {
        return false;
    }
    let Some(arguments) = call.node.field("arguments") else {
        return false;
    };
    let mut argument = match arguments.named_child(0) {
        Some(a) if arguments.named_child_count() == 1 => a,
        _ => return false,
    };
    while argument.kind_name() == "parenthesized_expression" {
        match argument.named_child(0) {
            Some(inner) => argument = inner,
            None => return false,
        }
    }
    argument.kind_name() == "binary_operator"
}

/// Whether a call has two positional arguments, the second a literal
/// scalar or an empty container: `get(key, "")`, `get(key, None)`.
fn literal_default(call: Node) -> bool {
    let Some(arguments) = call.field("arguments") else {
        return false;
    };
    if arguments.named_child_count() != 2 {
        return false;
    }
    arguments
        .named_child(1)
        .is_some_and(|default| match default.kind_name() {
            "string" | "integer" | "float" | "none" | "true" | "false" => true,
            "list" | "dictionary" | "tuple" => default.named_child_count() == 0,
            _ => false,
        })
}

/// `serv.accept()` where the same function bound `serv` to an ephemeral
/// loopback port: the other end of the hand-made socket pair has just
/// connected to it.
fn accepts_own_connection(call: &CallFact, source: &str) -> bool {
    let Some(receiver) = call.receiver.as_deref() else {
        return false;
    };
    let mut scope = call.node;
    while let Some(parent) = scope.parent() {
        scope = parent;
        if matches!(scope.kind_name(), "function_definition" | "module") {
            break;
        }
    }
    let bind = format!("{receiver}.bind");
    let mut found = false;
    crate::syntax::walk(scope, |n| {
        if found {
            return false;
        }
        if n.kind_name() == "call"
            && n.field("function").is_some_and(|f| text(f, source) == bind)
            && binds_ephemeral_loopback(n, source)
        {
            found = true;
        }
        true
    });
    found
}

/// `x.bind(("127.0.0.1", 0))`.
fn binds_ephemeral_loopback(call: Node, source: &str) -> bool {
    let Some(address) = call
        .field("arguments")
        .filter(|a| a.named_child_count() == 1)
        .and_then(|a| a.named_child(0))
    else {
        return false;
    };
    let (Some(host), Some(port)) = (address.named_child(0), address.named_child(1)) else {
        return false;
    };
    // Any address of this host (`"0.0.0.0"`, `"::"`) is as good as the
    // loopback, and a netlink socket's `(0, 0)` asks the kernel for an id.
    let any_host = (host.kind_name() == "string"
        && matches!(
            text(host, source).trim_matches(|c| c == '"' || c == '\''),
            "0.0.0.0" | "::"
        ))
        || (host.kind_name() == "integer" && text(host, source) == "0");
    address.kind_name() == "tuple"
        && address.named_child_count() == 2
        && (is_loopback(host, source) || any_host)
        && port.kind_name() == "integer"
        && text(port, source) == "0"
}

pub(crate) fn is_loopback(n: Node, source: &str) -> bool {
    n.kind_name() == "string"
        && matches!(
            text(n, source).trim_matches(|c| c == '"' || c == '\''),
            "127.0.0.1" | "localhost" | "::1" | ""
        )
}

/// Whether the call binds to an ephemeral loopback port or connects to a
/// listener of the same program (`bind(("127.0.0.1", 0))`,
/// `connect(server.getsockname())`,
/// `connect(("127.0.0.1", server.getsockname()[1]))`): the socket-pair idiom,
/// which does not fail short of running out of descriptors.
fn on_own_loopback(call: &CallFact, source: &str) -> bool {
    if call.method.as_deref() == Some("accept") {
        return accepts_own_connection(call, source);
    }
    let Some(method @ ("bind" | "connect")) = call.method.as_deref() else {
        return false;
    };
    let Some(arguments) = call.node.field("arguments") else {
        return false;
    };
    let Some(address) = arguments
        .named_child(0)
        .filter(|_| arguments.named_child_count() == 1)
    else {
        return false;
    };
    let own_name = |n: Node| {
        n.kind_name() == "call"
            && n.field("function")
                .is_some_and(|f| text(f, source).ends_with(".getsockname"))
    };
    if method == "connect" && own_name(address) {
        return true;
    }
    if address.kind_name() != "tuple" || address.named_child_count() != 2 {
        return false;
    }
    let (Some(host), Some(port)) = (address.named_child(0), address.named_child(1)) else {
        return false;
    };
    match method {
        "bind" => binds_ephemeral_loopback(call.node, source),
        _ => {
            is_loopback(host, source)
                && port.kind_name() == "subscript"
                && port.field("value").is_some_and(own_name)
        }
    }
}
