//! Python syntax helpers over tree-sitter: parsing, node text, iterative
//! walks (deeply nested input must never overflow the stack) and import
//! resolution.

use crate::finding::Position;
use std::cell::RefCell;
use std::collections::HashMap;
use tree_sitter::{Node, Parser, Tree};

thread_local! {
    // One parser per thread: creating a parser is cheap but not free, and a
    // parser cannot be shared between threads.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parses Python source. `None` when tree-sitter gives up, or when the
/// parse takes longer than `PARSE_TIME_BUDGET`.
pub fn parse(source: &str) -> Option<Tree> {
    parse_within(source, PARSE_TIME_BUDGET)
}

fn parse_within(source: &str, budget: std::time::Duration) -> Option<Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(|| {
            let mut p = Parser::new();
            p.set_language(&tree_sitter_python::LANGUAGE.into())
                .expect("tree-sitter-python matches the tree-sitter version");
            p
        });
        // A last resort against input that makes the parser crawl: real
        // files parse in milliseconds, and a cancelled parse is reported as
        // a file the parser gave up on.
        let started = std::time::Instant::now();
        let mut in_time = |_: &tree_sitter::ParseState| {
            if started.elapsed() > budget {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        };
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut in_time);
        let bytes = source.as_bytes();
        let tree = parser.parse_with_options(
            &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
            None,
            Some(options),
        );
        if tree.is_none() {
            // A cancelled parse leaves state behind for the next one.
            parser.reset();
        }
        tree
    })
}

/// Kind names and field ids of the grammar, read once. tree-sitter's own
/// `Node::kind` measures and validates a C string on every call, and
/// `child_by_field_name` compares the name with every field of the grammar;
/// the analysis asks both millions of times (about 13% of a run, profiled).
struct Grammar {
    kinds: Vec<&'static str>,
    /// Sorted by name, for a binary search.
    fields: Vec<(&'static str, u16)>,
    /// The ids of `FREQUENT_FIELDS`, in its order.
    frequent: Vec<Option<u16>>,
}

/// The fields the analysis asks for most, found by `frequent_field` with
/// one `match` instead of a binary search of string comparisons (which
/// took about 4% of the CPU time).
const FREQUENT_FIELDS: [&str; 12] = [
    "function",
    "arguments",
    "name",
    "body",
    "right",
    "left",
    "value",
    "object",
    "attribute",
    "condition",
    "consequence",
    "alternative",
];

fn frequent_field(name: &str) -> Option<usize> {
    Some(match name {
        "function" => 0,
        "arguments" => 1,
        "name" => 2,
        "body" => 3,
        "right" => 4,
        "left" => 5,
        "value" => 6,
        "object" => 7,
        "attribute" => 8,
        "condition" => 9,
        "consequence" => 10,
        "alternative" => 11,
        _ => return None,
    })
}

fn grammar() -> &'static Grammar {
    static GRAMMAR: std::sync::OnceLock<Grammar> = std::sync::OnceLock::new();
    GRAMMAR.get_or_init(|| {
        // Kept for the life of the process: the names borrow from it.
        let language: &'static tree_sitter::Language =
            Box::leak(Box::new(tree_sitter_python::LANGUAGE.into()));
        let kinds = (0..language.node_kind_count() as u16)
            .map(|id| language.node_kind_for_id(id).unwrap_or(""))
            .collect();
        let mut fields: Vec<(&'static str, u16)> = (1..=language.field_count() as u16)
            .filter_map(|id| Some((language.field_name_for_id(id)?, id)))
            .collect();
        fields.sort_unstable();
        let frequent = FREQUENT_FIELDS
            .iter()
            .map(|name| language.field_id_for_name(name).map(u16::from))
            .collect();
        Grammar {
            kinds,
            fields,
            frequent,
        }
    })
}

/// Fast equivalents of `Node::kind` and `Node::child_by_field_name`.
pub trait NodeExt<'t> {
    /// The node's kind, as `Node::kind` gives it.
    fn kind_name(&self) -> &'static str;
    /// The child in field `name`, as `Node::child_by_field_name` gives it.
    fn field(&self, name: &str) -> Option<Node<'t>>;
}

impl<'t> NodeExt<'t> for Node<'t> {
    fn kind_name(&self) -> &'static str {
        // ERROR nodes have an id past the table.
        match grammar().kinds.get(self.kind_id() as usize) {
            Some(kind) => kind,
            None if self.is_error() => "ERROR",
            None => "",
        }
    }

    fn field(&self, name: &str) -> Option<Node<'t>> {
        let grammar = grammar();
        let id = match frequent_field(name) {
            Some(at) => grammar.frequent[at]?,
            None => {
                let fields = &grammar.fields;
                let at = fields.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
                fields[at].1
            }
        };
        self.child_by_field_id(id)
    }
}

/// How long one file may take to parse.
const PARSE_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

pub fn text<'s>(node: Node, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// The nearest ancestor of `node` (not itself) of this kind
/// (`"function_definition"`, `"class_definition"`).
pub fn enclosing<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    let mut current = node.parent();
    while let Some(n) = current {
        if n.kind_name() == kind {
            return Some(n);
        }
        current = n.parent();
    }
    None
}

/// The text of a string literal with nothing interpolated or escaped in it
/// (`"ignore"`, `b'utf-8'`), without its quotes.
pub fn plain_string<'s>(node: Node, source: &'s str) -> Option<&'s str> {
    if node.kind_name() != "string" {
        return None;
    }
    let mut content = "";
    let mut cursor = node.walk();
    for part in node.named_children(&mut cursor) {
        match part.kind_name() {
            "string_start" | "string_end" => {}
            "string_content" => content = text(part, source),
            _ => return None,
        }
    }
    Some(content)
}

/// The text of a node with all whitespace removed, used to compare receivers
/// (`self . pool` and `self.pool` are the same receiver).
pub fn compact_text(node: Node, source: &str) -> String {
    text(node, source)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The last part of a dotted name: `connect` of `psycopg2.connect`, the
/// name itself when it has no dot.
pub fn last_part(dotted: &str) -> &str {
    dotted.rsplit('.').next().unwrap_or(dotted)
}

/// `a`, `a.b.c` for identifiers and attribute chains of identifiers.
pub fn dotted_name(node: Node, source: &str) -> Option<String> {
    // Iterative: an attribute chain can be thousands of links long.
    let mut parts = Vec::new();
    let mut current = node;
    loop {
        match current.kind_name() {
            "identifier" => {
                parts.push(text(current, source));
                break;
            }
            "attribute" => {
                parts.push(text(current.field("attribute")?, source));
                current = current.field("object")?;
            }
            _ => return None,
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// Node kinds that open a new scope: their bodies do not run where they are
/// written, so walks over a statement skip them.
pub fn is_nested_scope(kind: &str) -> bool {
    matches!(
        kind,
        "function_definition" | "lambda" | "class_definition" | "decorated_definition"
    )
}

/// Node kinds whose children can be statements. Definitions, imports and
/// assignments are statements, so walks that look for them descend only
/// into these.
pub fn holds_statements(kind: &str) -> bool {
    matches!(
        kind,
        "module"
            | "block"
            | "function_definition"
            | "class_definition"
            | "decorated_definition"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "for_statement"
            | "while_statement"
            | "try_statement"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause"
            | "with_statement"
            | "match_statement"
            | "case_clause"
            | "ERROR"
    )
}

/// Pre-order walk of `root` and its descendants, without recursion or
/// allocation; `visit` returns whether to descend into the node's children.
pub fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    // A cursor made at `root` never moves above or beside it.
    let mut cursor = root.walk();
    let mut descend = visit(root);
    loop {
        if descend && cursor.goto_first_child() {
            descend = visit(cursor.node());
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                descend = visit(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// `walk`, handing each node its ancestors too (root first, its parent
/// last): `Node::parent` makes tree-sitter descend again from the root, so
/// asking for every ancestor of many nodes is quadratic in a long module.
pub fn walk_with_ancestors<'t>(
    root: Node<'t>,
    mut visit: impl FnMut(Node<'t>, &[Node<'t>]) -> bool,
) {
    let mut cursor = root.walk();
    let mut up: Vec<Node<'t>> = Vec::new();
    let mut descend = visit(root, &up);
    loop {
        let node = cursor.node();
        if descend && cursor.goto_first_child() {
            up.push(node);
            descend = visit(cursor.node(), &up);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                descend = visit(cursor.node(), &up);
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            up.pop();
        }
    }
}

/// The parameter names, in order (`*args` and `**kwargs` by their names).
pub fn parameter_names(function: Node, source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(params) = function.field("parameters") else {
        return out;
    };
    let mut cursor = params.walk();
    for p in params.named_children(&mut cursor) {
        let name = match p.kind_name() {
            "identifier" => Some(p),
            _ => p
                .field("name")
                .or_else(|| p.named_child(0))
                .filter(|n| n.kind_name() == "identifier"),
        };
        if let Some(n) = name {
            out.push(text(n, source).to_string());
        }
    }
    out
}

/// The argument of `call` given as `keyword=`, else the one at `position`
/// (0-based, counting the positional ones).
pub fn argument<'t>(
    call: Node<'t>,
    position: Option<usize>,
    keyword: Option<&str>,
    source: &str,
) -> Option<Node<'t>> {
    let args = call.field("arguments")?;
    let mut cursor = args.walk();
    let all: Vec<Node> = args.named_children(&mut cursor).collect();
    let by_keyword = keyword.and_then(|k| {
        all.iter().find_map(|a| {
            (a.kind_name() == "keyword_argument"
                && a.field("name").is_some_and(|n| text(n, source) == k))
            .then(|| a.field("value"))
            .flatten()
        })
    });
    by_keyword.or_else(|| {
        position.and_then(|p| {
            all.iter()
                .filter(|a| !matches!(a.kind_name(), "keyword_argument" | "comment"))
                .nth(p)
                .copied()
        })
    })
}

/// How many arguments a call is given (positional and keyword).
pub fn argument_count(call: Node) -> usize {
    call.field("arguments").map_or(0, |a| a.named_child_count())
}

/// Maps local names to the qualified names they were imported as:
/// `import psycopg2 as pg` maps `pg` to `psycopg2`; `from socket import
/// create_connection` maps `create_connection` to `socket.create_connection`.
#[derive(Debug, Default, Clone)]
pub struct Imports {
    names: HashMap<String, String>,
    /// Names bound by a plain `import a.b` (`a`), which resolve to
    /// themselves.
    plain: std::collections::HashSet<String>,
    /// The builtins' names the module rebinds with its own top-level `def`
    /// or `class`: a module's `def open(file, flag)` (SCons' dblite) is not
    /// the builtin. (Other names are looked up as the module's functions
    /// anyway.)
    defined: std::collections::HashSet<String>,
}

impl Imports {
    pub fn collect(root: Node, source: &str) -> Imports {
        let mut names = HashMap::new();
        let mut plain = std::collections::HashSet::new();
        walk(root, |node| {
            match node.kind_name() {
                "import_statement" | "import_from_statement" => {
                    // `try: import threading` / `except ImportError: import
                    // dummy_threading as threading`: the name is one module
                    // or the other, depending on where the code runs.
                    let fallback = in_except_clause(node);
                    let mut bound = HashMap::new();
                    let mut cursor = node.walk();
                    if node.kind_name() == "import_statement" {
                        for child in node.children_by_field_name("name", &mut cursor) {
                            if child.kind_name() == "dotted_name" {
                                let bound = compact_text(child, source);
                                let head = bound.split('.').next().unwrap_or_default().to_string();
                                plain.insert(head);
                            }
                            import_one(child, None, source, &mut bound);
                        }
                    } else if let Some(module) =
                        node.field("module_name").map(|m| compact_text(m, source))
                    {
                        for child in node.children_by_field_name("name", &mut cursor) {
                            import_one(child, Some(&module), source, &mut bound);
                        }
                    }
                    for (name, target) in bound {
                        let first_choice = names
                            .get(&name)
                            .map(String::as_str)
                            .or_else(|| plain.contains(&name).then_some(name.as_str()));
                        // Between a standard module and another, the standard
                        // one (`pysqlite3.dbapi2` or `sqlite3`: the catalogue
                        // knows what the standard one makes, and the other is
                        // a drop-in).
                        let keep_first = fallback
                            && first_choice.is_some_and(python3_standard)
                            && !python3_standard(&target);
                        if !keep_first {
                            names.insert(name, target);
                        }
                    }
                }
                _ => return holds_statements(node.kind_name()),
            }
            false
        });
        // A module given as a parameter's default (`def connect(addr,
        // socket_module=socket)`): calls through the parameter are the
        // module's.
        walk(root, |node| {
            if matches!(
                node.kind_name(),
                "default_parameter" | "typed_default_parameter"
            ) && let (Some(name), Some(value)) = (node.field("name"), node.field("value"))
                && let Some(dotted) = dotted_name(value, source)
            {
                let head = dotted.split('.').next().unwrap_or(&dotted);
                if plain.contains(head) || names.contains_key(head) {
                    let resolved = resolve_in(&names, &dotted);
                    names
                        .entry(text(name, source).to_string())
                        .or_insert(resolved);
                }
            }
            // Statements, and the parameter lists of the functions in them.
            holds_statements(node.kind_name())
                || matches!(node.kind_name(), "function_definition" | "parameters")
        });
        let redefined_at = redefined_builtins(root, source);
        let defined = redefined_at.keys().cloned().collect();
        // Aliases of imported names and of builtins, at module level (in its
        // `if`/`try` blocks too) and in class bodies: `_allocate_lock =
        // _thread.allocate_lock` (threading.py), `connect = psycopg2.connect`,
        // `_open = open` (a class attribute called as `self._open(...)` in
        // SCons' dblite).
        let mut in_classes: HashMap<String, Option<String>> = HashMap::new();
        walk(root, |node| {
            let kind = node.kind_name();
            if kind == "function_definition" {
                return false;
            }
            let in_class = node
                .parent()
                .and_then(|body| body.parent())
                .is_some_and(|c| c.kind_name() == "class_definition");
            if kind == "expression_statement"
                && let Some(assign) = node
                    .named_child(0)
                    .filter(|a| a.kind_name() == "assignment")
                && let (Some(left), Some(right)) = (assign.field("left"), assign.field("right"))
                && left.kind_name() == "identifier"
                && let Some(dotted) = dotted_name(right, source)
            {
                let resolved = builtin_by_name(resolve_in(&names, &dotted));
                // (A builtin the module redefines further down is still the
                // builtin here: SCons' dblite binds `_open = open` in a class
                // above its own `def open`.)
                let builtin = BUILTINS.contains(&dotted.as_str())
                    && redefined_at
                        .get(&dotted)
                        .is_none_or(|&at| node.start_byte() < at);
                if resolved != dotted || dotted.contains('.') || builtin {
                    let name = text(left, source).to_string();
                    if in_class {
                        // Two classes that bind the name differently: neither.
                        in_classes
                            .entry(name)
                            .and_modify(|seen| {
                                if seen.as_deref() != Some(resolved.as_str()) {
                                    *seen = None;
                                }
                            })
                            .or_insert(Some(resolved));
                    } else {
                        names.insert(name, resolved);
                    }
                }
                return false;
            }
            holds_statements(kind)
        });
        for (name, resolved) in in_classes {
            if let Some(resolved) = resolved {
                names.insert(format!("self.{name}"), resolved.clone());
                names.insert(format!("cls.{name}"), resolved);
            }
        }
        Imports {
            names,
            plain,
            defined,
        }
    }

    /// Whether a bare call of `callee` runs the module's own function or
    /// class rather than the builtin of that name (an import of the name
    /// wins over a definition, as the later binding usually does).
    pub fn shadows_builtin(&self, callee: &str) -> bool {
        BUILTINS.contains(&callee)
            && self.defined.contains(callee)
            && !self.names.contains_key(callee)
    }

    /// Whether `name` was bound by an import (`pg` of `import psycopg2 as
    /// pg`, `aiohttp` of `import aiohttp`, `Session` of `from x import
    /// Session`).
    /// Each name imported with `from ... import`, with what it resolves
    /// to.
    pub fn imported_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names
            .iter()
            .map(|(name, target)| (name.as_str(), target.as_str()))
    }

    pub fn is_imported(&self, name: &str) -> bool {
        self.names.contains_key(name) || self.plain.contains(name)
    }

    /// Makes package-relative imports absolute, for a file of `package`
    /// (`requests` for `requests/api.py` and `requests/__init__.py`):
    /// `from . import sessions` maps `sessions` to `requests.sessions`,
    /// `from ..db import get_conn` in `payments.app` to `payments.db.get_conn`.
    /// An import that climbs above the top package is dropped.
    pub fn anchor(&mut self, package: &str) {
        let parts: Vec<&str> = package.split('.').filter(|p| !p.is_empty()).collect();
        self.names.retain(|_, qualified| {
            let rest = qualified.trim_start_matches('.');
            let dots = qualified.len() - rest.len();
            if dots == 0 {
                return true;
            }
            let Some(keep) = (parts.len() + 1).checked_sub(dots) else {
                return false;
            };
            let mut absolute = parts[..keep].join(".");
            if !rest.is_empty() {
                if !absolute.is_empty() {
                    absolute.push('.');
                }
                absolute.push_str(rest);
            }
            *qualified = absolute;
            !qualified.is_empty()
        });
    }

    /// Resolves a dotted callee through the imports: `pg.connect` to
    /// `psycopg2.connect`. Names that were not imported stay as written.
    pub fn resolve(&self, dotted: &str) -> String {
        // A class attribute bound to an alias, called through the instance.
        if let Some(q) = self.names.get(dotted)
            && (dotted.starts_with("self.") || dotted.starts_with("cls."))
        {
            return q.clone();
        }
        builtin_by_name(resolve_in(&self.names, dotted))
    }
}

/// The builtins a module may redefine that the catalogue knows by their bare
/// name (what acquires, never raises, takes over or returns its argument).
const BUILTINS: &[&str] = &[
    "open",
    "print",
    "range",
    "len",
    "isinstance",
    "issubclass",
    "hasattr",
    "getattr",
    "setattr",
    "callable",
    "id",
    "type",
    "repr",
    "str",
    "bool",
    "list",
    "tuple",
    "dict",
    "set",
    "frozenset",
    "object",
    "super",
    "enumerate",
    "zip",
    "reversed",
    "iter",
    "next",
    "vars",
    "min",
    "max",
    "abs",
    "round",
    "sorted",
    "format",
    "all",
    "any",
    "exit",
    "quit",
];

/// A builtin named through its module (`builtins.open`, Python 2's
/// `__builtin__.open`) by its bare name, as the catalogue knows it.
fn builtin_by_name(qualified: String) -> String {
    match qualified
        .strip_prefix("builtins.")
        .or_else(|| qualified.strip_prefix("__builtin__."))
    {
        Some(name) if BUILTINS.contains(&name) => name.to_string(),
        _ => qualified,
    }
}

/// The builtins' names a module rebinds with its own `def` or `class` at
/// its top, including under top-level `if`/`try` blocks (version switches),
/// each with where it is first rebound.
fn redefined_builtins(root: Node, source: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    walk(root, |node| match node.kind_name() {
        "function_definition" | "class_definition" => {
            if let Some(name) = node.field("name").map(|n| text(n, source))
                && BUILTINS.contains(&name)
            {
                // (The walk is in source order: the first is the earliest.)
                out.entry(name.to_string()).or_insert(node.start_byte());
            }
            false
        }
        "decorated_definition" => true,
        kind => holds_statements(kind),
    });
    out
}

fn resolve_in(names: &HashMap<String, String>, dotted: &str) -> String {
    let (head, rest) = match dotted.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (dotted, None),
    };
    match (names.get(head), rest) {
        (Some(q), Some(r)) => format!("{q}.{r}"),
        (Some(q), None) => q.clone(),
        (None, _) => dotted.to_string(),
    }
}

/// Standard modules that projects wrap under the same name (compatibility
/// layers, green threads): imported as that name from elsewhere, they are
/// taken for the standard one.
const WRAPPED_STDLIB: &[&str] = &["os", "socket", "subprocess", "ssl", "select", "selectors"];

/// Whether `target` (`sqlite3`, `http.client.HTTPConnection`) is in the
/// standard library of Python 3 (`urllib.urlopen`, Python 2's, is not).
fn python3_standard(target: &str) -> bool {
    let mut parts = target.split('.');
    let first = parts.next().unwrap_or_default();
    PYTHON3_MODULES.binary_search(&first).is_ok()
        && !(first == "urllib"
            && parts.next().is_some_and(|second| {
                !matches!(
                    second,
                    "request" | "parse" | "error" | "response" | "robotparser"
                )
            }))
}

/// The top-level modules of Python 3's standard library (as
/// `sys.stdlib_module_names` lists them, less private and platform-only
/// ones), sorted.
const PYTHON3_MODULES: &[&str] = &[
    "abc",
    "aifc",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "doctest",
    "email",
    "encodings",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "threading",
    "time",
    "timeit",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

/// The exception classes an `except` clause's value names, each by its last
/// name: `OSError`, `error` of `socket.error`, both of `(KeyError,
/// ValueError) as e` (the alias is no class).
pub fn caught_names(value: Node, source: &str) -> Vec<String> {
    let mut names = Vec::new();
    walk(value, |n| match n.kind_name() {
        "identifier" => {
            names.push(text(n, source).to_string());
            false
        }
        "attribute" => {
            if let Some(a) = n.field("attribute") {
                names.push(text(a, source).to_string());
            }
            false
        }
        "as_pattern_target" => false,
        _ => true,
    });
    names
}

/// Whether a definition is a fallback, made only where importing a module
/// of Python 3's standard library failed: in an `except ImportError:` of a
/// `try` whose body imports one (`import fcntl`, absent on Windows). Where
/// services run, the definition in the `try` body is the one in force.
pub fn in_standard_import_fallback(node: Node, source: &str) -> bool {
    let mut current = node.parent();
    while let Some(n) = current {
        match n.kind_name() {
            "except_clause" => {
                let catches_import_error = n.field("value").is_some_and(|value| {
                    caught_names(value, source)
                        .iter()
                        .any(|c| c == "ImportError" || c == "ModuleNotFoundError")
                });
                let tried_standard = n
                    .parent()
                    .filter(|t| t.kind_name() == "try_statement")
                    .and_then(|t| t.field("body"))
                    .is_some_and(|body| imports_standard(body, source));
                if catches_import_error && tried_standard {
                    return true;
                }
                current = n.parent();
            }
            "function_definition" | "lambda" | "class_definition" => return false,
            _ => current = n.parent(),
        }
    }
    false
}

/// Whether a block's own statements import a module of Python 3's standard
/// library.
fn imports_standard(block: Node, source: &str) -> bool {
    let mut cursor = block.walk();
    block.named_children(&mut cursor).any(|statement| {
        let mut names = statement.walk();
        match statement.kind_name() {
            "import_statement" => statement
                .children_by_field_name("name", &mut names)
                .filter_map(|n| match n.kind_name() {
                    "aliased_import" => n.field("name"),
                    _ => Some(n),
                })
                .any(|n| python3_standard(&compact_text(n, source))),
            "import_from_statement" => statement
                .field("module_name")
                .filter(|m| m.kind_name() == "dotted_name")
                .is_some_and(|m| python3_standard(&compact_text(m, source))),
            _ => false,
        }
    })
}

/// Whether `node` is in an `except` handler of its own scope (not of an
/// enclosing function's).
pub fn in_except_clause(node: Node) -> bool {
    let mut current = node.parent();
    while let Some(n) = current {
        match n.kind_name() {
            "except_clause" | "except_group_clause" => return true,
            "function_definition" | "lambda" | "class_definition" => return false,
            _ => current = n.parent(),
        }
    }
    false
}

fn import_one(node: Node, module: Option<&str>, source: &str, names: &mut HashMap<String, String>) {
    let (name, alias) = match node.kind_name() {
        "aliased_import" => (
            node.field("name").map(|n| compact_text(n, source)),
            node.field("alias").map(|n| compact_text(n, source)),
        ),
        _ => (Some(compact_text(node, source)), None),
    };
    let Some(name) = name else { return };
    let qualified = match module {
        // `from . import sessions`: `.sessions`, anchored later.
        Some(m) if m.ends_with('.') => format!("{m}{name}"),
        Some(m) => format!("{m}.{name}"),
        None => name.clone(),
    };
    // `from certbot.compat import os`, `from gevent import socket`, `import
    // eventlet.green.subprocess as subprocess`: a module named and used as
    // the standard one wraps it (re-exported, or made cooperative) and
    // makes the same resources.
    // (`from socket import socket` is the class, not a module.)
    let (parent, last) = qualified.rsplit_once('.').unwrap_or(("", &qualified));
    let bound = alias.as_deref().unwrap_or(&name);
    let qualified = if WRAPPED_STDLIB.contains(&last)
        && bound == last
        && !parent.is_empty()
        && parent.trim_end_matches('.') != last
    {
        last.to_string()
    } else {
        qualified
    };
    match alias {
        Some(alias) => {
            names.insert(alias, qualified);
        }
        None if module.is_some() => {
            names.insert(name, qualified);
        }
        // `import a.b` binds `a`, which already resolves to itself.
        None => {}
    }
}

/// 1-based line and column (in characters) where `node` starts. Cheap:
/// tree-sitter knows the row and the byte column.
pub fn start_position(node: Node, source: &str) -> Position {
    char_position(source, node.start_byte(), node.start_position())
}

pub fn end_position(node: Node, source: &str) -> Position {
    char_position(source, node.end_byte(), node.end_position())
}

fn char_position(source: &str, byte: usize, point: tree_sitter::Point) -> Position {
    let line_start = byte - point.column;
    Position {
        line: point.row + 1,
        column: source[line_start..byte].chars().count() + 1,
    }
}

/// `object.method(...)`: the object and the method's name.
pub fn method_call<'t, 's>(call: Node<'t>, source: &'s str) -> Option<(Node<'t>, &'s str)> {
    let function = call
        .field("function")
        .filter(|f| call.kind_name() == "call" && f.kind_name() == "attribute")?;
    Some((
        function.field("object")?,
        text(function.field("attribute")?, source),
    ))
}

/// The name an `except` clause binds (`err` of `except OSError as err`):
/// the target of the `as` pattern its value is.
pub fn except_alias(clause: Node) -> Option<Node> {
    clause.field("alias").or_else(|| {
        clause
            .field("value")
            .filter(|v| v.kind_name() == "as_pattern")
            .and_then(|v| v.field("alias"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_past_its_time_budget_gives_up_and_the_next_parse_works() {
        let long: String = (0..20_000)
            .map(|i| format!("def f{i}(x):\n    return g(x, [y for y in x if y])\n"))
            .collect();
        assert!(parse_within(&long, std::time::Duration::ZERO).is_none());
        // The parser of this thread was reset: the next file parses whole.
        let tree = parse("def f(path):\n    return open(path)\n").unwrap();
        assert!(!tree.root_node().has_error());
        assert_eq!(tree.root_node().named_child_count(), 1);
    }

    #[test]
    fn frequent_fields_are_the_grammar_s_own() {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        for (at, name) in FREQUENT_FIELDS.iter().enumerate() {
            assert_eq!(frequent_field(name), Some(at), "{name}");
            assert!(language.field_id_for_name(name).is_some(), "{name}");
            assert_eq!(
                grammar().frequent[at],
                language.field_id_for_name(name).map(u16::from)
            );
        }
        let src = "x = f(a, b=1)\nif x:\n    y.z\nelse:\n    pass\n";
        let tree = parse(src).unwrap();
        walk(tree.root_node(), |n| {
            for name in FREQUENT_FIELDS.iter().chain(&["operator", "alias", "type"]) {
                assert_eq!(
                    n.field(name),
                    n.child_by_field_name(name),
                    "{name} of {}",
                    n.kind()
                );
            }
            true
        });
    }

    #[test]
    fn walk_with_ancestors_gives_the_parent_chain() {
        let src = "import os\nclass A:\n    def f(self, x=1):\n        try:\n            return g(x)[0]\n        except E:\n            pass\n";
        let tree = parse(src).unwrap();
        let mut visited = 0;
        walk_with_ancestors(tree.root_node(), |n, up| {
            let mut chain = Vec::new();
            let mut current = n.parent();
            while let Some(p) = current {
                chain.push(p);
                current = p.parent();
            }
            chain.reverse();
            assert_eq!(up, chain.as_slice(), "ancestors of {}", n.kind());
            visited += 1;
            true
        });
        assert!(visited > 30, "walked {visited} nodes");
    }

    #[test]
    fn resolves_aliases_and_from_imports() {
        let src = "import psycopg2 as pg\nfrom socket import create_connection as cc, socket\nimport os.path\n";
        let tree = parse(src).unwrap();
        let imports = Imports::collect(tree.root_node(), src);
        assert_eq!(imports.resolve("pg.connect"), "psycopg2.connect");
        assert_eq!(imports.resolve("cc"), "socket.create_connection");
        assert_eq!(imports.resolve("socket"), "socket.socket");
        assert_eq!(imports.resolve("os.path.join"), "os.path.join");
        assert_eq!(imports.resolve("open"), "open");
    }

    fn imports_of(src: &str) -> Imports {
        let tree = parse(src).unwrap();
        Imports::collect(tree.root_node(), src)
    }

    #[test]
    fn an_import_fallback_resolves_to_the_standard_module() {
        let imports = imports_of(
            "try:
    import threading
except ImportError:
    import dummy_threading as threading
try:
    from simplejson import loads
except ImportError:
    from json import loads, dumps
",
        );
        assert_eq!(imports.resolve("threading.Thread"), "threading.Thread");
        assert_eq!(imports.resolve("loads"), "json.loads");
        assert_eq!(imports.resolve("dumps"), "json.dumps");
        let imports = imports_of(
            "try:
    import httplib
except ImportError:
    import http.client as httplib
try:
    from urllib import urlopen
except ImportError:
    from urllib.request import urlopen
",
        );
        assert_eq!(
            imports.resolve("httplib.HTTPConnection"),
            "http.client.HTTPConnection"
        );
        assert_eq!(imports.resolve("urlopen"), "urllib.request.urlopen");
    }

    #[test]
    fn wrappers_of_standard_modules_resolve_to_them() {
        let src = "from gevent import socket
from certbot.compat import os
import eventlet.green.subprocess as subprocess
from select import select
";
        let tree = parse(src).unwrap();
        let imports = Imports::collect(tree.root_node(), src);
        assert_eq!(imports.resolve("socket.socket"), "socket.socket");
        assert_eq!(imports.resolve("os.close"), "os.close");
        assert_eq!(imports.resolve("subprocess.Popen"), "subprocess.Popen");
        assert_eq!(imports.resolve("select"), "select.select");
    }

    #[test]
    fn module_level_aliases_resolve() {
        let src = "import _thread
_allocate_lock = _thread.allocate_lock
x = 1
";
        let tree = parse(src).unwrap();
        let imports = Imports::collect(tree.root_node(), src);
        assert_eq!(imports.resolve("_allocate_lock"), "_thread.allocate_lock");
        assert_eq!(imports.resolve("x"), "x");
    }

    #[test]
    fn aliases_of_builtins_in_blocks_and_class_bodies_resolve() {
        let src = "import os
if os.name == 'nt':
    _open = open
class Store:
    _open = open
    _opener = open
class Other:
    _opener = os.fdopen
def f():
    _local = open
";
        let tree = parse(src).unwrap();
        let imports = Imports::collect(tree.root_node(), src);
        assert_eq!(imports.resolve("_open"), "open");
        assert_eq!(imports.resolve("self._open"), "open");
        assert_eq!(imports.resolve("cls._open"), "open");
        // Bound differently by two classes, and bound inside a function.
        assert_eq!(imports.resolve("self._opener"), "self._opener");
        assert_eq!(imports.resolve("_local"), "_local");
    }

    #[test]
    fn builtins_named_through_their_module_resolve_to_the_bare_name() {
        let src = "import builtins
class Store:
    _open = builtins.open
def open(name):
    return name
";
        let tree = parse(src).unwrap();
        let imports = Imports::collect(tree.root_node(), src);
        assert_eq!(imports.resolve("self._open"), "open");
        assert_eq!(imports.resolve("builtins.open"), "open");
        assert_eq!(
            imports.resolve("builtins.frobnicate"),
            "builtins.frobnicate"
        );
    }

    #[test]
    fn relative_imports_anchor_to_the_package() {
        let src = "from . import sessions\nfrom .db import get_conn\nfrom ..core import pool as p\nfrom . import (models)\n";
        let tree = parse(src).unwrap();
        let mut imports = Imports::collect(tree.root_node(), src);
        imports.anchor("payments.app");
        assert_eq!(
            imports.resolve("sessions.Session"),
            "payments.app.sessions.Session"
        );
        assert_eq!(imports.resolve("get_conn"), "payments.app.db.get_conn");
        assert_eq!(imports.resolve("p.acquire"), "payments.core.pool.acquire");
        assert_eq!(imports.resolve("models.Order"), "payments.app.models.Order");
    }

    #[test]
    fn a_module_given_as_a_default_is_the_module() {
        let src = "import socket\n\ndef connect(addr, socket_module=socket):\n    return socket_module.create_connection(addr)\n";
        let tree = parse(src).unwrap();
        let imports = Imports::collect(tree.root_node(), src);
        assert_eq!(
            imports.resolve("socket_module.create_connection"),
            "socket.create_connection"
        );
    }

    #[test]
    fn positions_count_characters() {
        let src = "a\né = open(p)\n";
        let tree = parse(src).unwrap();
        let off = src.find("open").unwrap();
        let node = tree
            .root_node()
            .descendant_for_byte_range(off, off + 4)
            .unwrap();
        assert_eq!(start_position(node, src), Position { line: 2, column: 5 });
        assert_eq!(end_position(node, src), Position { line: 2, column: 9 });
    }
}
