//! Owner classes (UC008): a method stores a resource on `self`, and no
//! method of the class ever releases it. Storing hands the resource to the
//! object, so the function that made it is not at fault; the class is, when
//! nothing it has can give the resource back: no `close()`, no `__exit__`,
//! no `__del__` that touches it.
//!
//! Conservative: the attribute must be used only in ways that cannot
//! release it (its methods called, its attributes read, tested, reassigned)
//! in every method of the class, of its bases in the file and of its
//! subclasses in the file. Passing it anywhere, returning it, reading it
//! into a local or calling any release-like method on it counts as a
//! release. A class with a base from elsewhere is skipped: the base may
//! close it.

use super::FunctionNode;
use crate::codes::Code;
use crate::finding::{Finding, Span, Step};
use crate::syntax::{self, NodeExt, text};
use tree_sitter::Node;

/// A resource one method stores on `self.<attr>`, with the finding to report
/// if the class never releases it.
pub(super) struct Stored {
    pub(super) attr: String,
    /// Release methods of its catalogue entry (`close`, `terminate`).
    pub(super) releases: Vec<String>,
    /// Whether the release is a coroutine (`await self._session.close()`).
    pub(super) awaited: bool,
    /// What the resource is called: "session".
    pub(super) noun: String,
    /// The attribute of the object it was opened on, when releasing that
    /// releases it too (`self.channel = self.connection.channel()`, see
    /// `Resource::released_with_parent`).
    pub(super) parent: Option<String>,
    pub(super) finding: Finding,
}

/// Methods that end an object's life, and release whatever they are called
/// on, for any resource: a class that calls one on the attribute is
/// trusted to release it, and a class that has one is meant to be released
/// when done with (see `has_lifecycle`).
const ENDS_LIFE: &[&str] = &[
    "close",
    "aclose",
    "shutdown",
    "terminate",
    "kill",
    "disconnect",
    "release",
    "stop",
    "dispose",
    "quit",
    "__exit__",
    "__aexit__",
];

/// Methods that release what they are called on too, without ending a life
/// of their own (`proc.wait()`, `os.unlink`-like `path.unlink()`).
const ALSO_RELEASE: &[&str] = &["detach", "wait", "communicate", "unlink"];

/// Whether `method` releases whatever it is called on (see `ENDS_LIFE`).
fn release_like(method: &str) -> bool {
    ENDS_LIFE.contains(&method) || ALSO_RELEASE.contains(&method)
}

/// Whether `text` (a production file of the project) gives back what
/// `class` keeps in `self.<attr>` (UC008): a release-like method called on
/// that attribute of an object, in a file that names the class
/// (`udp_getter.health_executor.shutdown()` in the command that made the
/// listener), or on `self.<attr>` in a subclass of it
/// (`self.soffice_file.close()` in `class Python(ConverterBase)`). A file
/// that does not name the class may release another class's attribute of
/// the same name (`.session.close()`), and a class of the same name in
/// another module its own (`self._socket.close()`): neither says anything
/// of this one.
pub fn releases_kept(text: &str, class: &str, attr: &str) -> bool {
    if !text.contains(attr) || !text.contains(class) {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mentions = || {
        text.match_indices(class).filter(move |(at, _)| {
            !text[..*at].ends_with(word) && !text[at + class.len()..].starts_with(word)
        })
    };
    // `class Python(ConverterBase):`, `class Python(base.ConverterBase, Mixin):`
    let subclassed = || {
        mentions().any(|(at, _)| {
            let line = &text[text[..at].rfind('\n').map_or(0, |i| i + 1)..at];
            line.trim_start().starts_with("class ")
                && line.contains('(')
                && text[at + class.len()..]
                    .trim_start()
                    .starts_with([')', ','])
        })
    };
    ENDS_LIFE.iter().chain(ALSO_RELEASE).any(|method| {
        let needle = format!(".{attr}.{method}(");
        text.match_indices(&needle).any(|(at, _)| {
            let before = &text[..at];
            let receiver = &before[before.rfind(|c: char| !word(c)).map_or(0, |i| i + 1)..];
            if receiver == "self" {
                subclassed()
            } else {
                mentions().next().is_some()
            }
        })
    })
}

/// Bases that cannot release an attribute they do not know.
const NEUTRAL_BASES: &[&str] = &[
    "object",
    "ABC",
    "abc.ABC",
    "Generic",
    "typing.Generic",
    "Protocol",
    "typing.Protocol",
    "threading.Thread",
    "Thread",
    "Exception",
];

/// The stored resources no method of their class releases, in a class
/// meant to be released (see `has_lifecycle`) or in test code. `stored`
/// holds, per unit, what the unit (a method) stores.
pub(super) fn never_released(
    root: Node,
    source: &str,
    units: &[FunctionNode],
    stored: Vec<(usize, Vec<Stored>)>,
    awaiting: &crate::rules::CallList,
    test_code: bool,
) -> Vec<Finding> {
    if stored.is_empty() {
        return Vec::new();
    }
    let classes = Classes::collect(root, source);
    let mut out = Vec::new();
    for (unit, list) in stored {
        let Some(class) = direct_class(units[unit].node) else {
            continue;
        };
        let Some(family) = classes.family(class) else {
            continue;
        };
        for s in list {
            if s.awaited {
                for &c in &family {
                    out.extend(unawaited_releases(c, &s, source, awaiting));
                }
            }
            // (A test's objects live as long as the test, whatever their
            // class says.)
            if (test_code || has_lifecycle(&family, source))
                && !family
                    .iter()
                    .any(|&c| may_release(c, &s.attr, &s.releases, source))
                && !s.parent.as_deref().is_some_and(|parent| {
                    family
                        .iter()
                        .any(|&c| may_release(c, parent, &s.releases, source))
                })
                && !family.iter().any(|&c| serves_forever(c, &s.attr, source))
                && !stored_through_setter(&family, &s, source)
                && !released_through_property(&family, &s.attr, &s.releases, source)
                && !released_through_instance(root, &family, &s.attr, &s.releases, source)
            {
                out.push(s.finding);
            }
        }
    }
    out
}

/// Whether `self.<attr> = ...` goes through a property setter of the
/// family (`@session.setter def session(self, value): self._session =
/// value`) that keeps the value where a method may release it, or
/// somewhere this file does not show: spyder's remote API client stores
/// its `aiohttp` session through `self.session` and closes
/// `self._session`.
fn stored_through_setter(family: &[Node], stored: &Stored, source: &str) -> bool {
    let Some(targets) = family
        .iter()
        .find_map(|&c| setter_targets(c, &stored.attr, source))
    else {
        return false;
    };
    targets.is_empty()
        || targets.iter().any(|target| {
            family
                .iter()
                .any(|&c| may_release(c, target, &stored.releases, source))
        })
}

/// Whether a method releases `self.<attr>` through a property that
/// returns it (`@property def connection(self): return self._connection`,
/// then `self.connection.close()`: avocado's status service, tiled's
/// `self.executor.shutdown()`).
fn released_through_property(
    family: &[Node],
    attr: &str,
    releases: &[String],
    source: &str,
) -> bool {
    family.iter().any(|&class| {
        let Some(body) = class.field("body") else {
            return false;
        };
        let mut cursor = body.walk();
        body.named_children(&mut cursor)
            .filter(|item| {
                item.kind_name() == "decorated_definition"
                    && has_decorator(*item, "property", source)
            })
            .filter_map(|item| item.field("definition"))
            .filter(|getter| returns_self_attr(*getter, attr, source))
            .filter_map(|getter| getter.field("name"))
            .any(|name| {
                let name = text(name, source);
                name != attr
                    && family
                        .iter()
                        .any(|&c| may_release(c, name, releases, source))
            })
    })
}

/// Whether `function` has a `return self.<attr>`.
fn returns_self_attr(function: Node, attr: &str, source: &str) -> bool {
    let mut found = false;
    if let Some(body) = function.field("body") {
        syntax::walk(body, |n| {
            if n.kind_name() == "return_statement"
                && n.named_child(0)
                    .is_some_and(|v| v.kind_name() == "attribute" && is_self_attr(v, attr, source))
            {
                found = true;
            }
            !found && !syntax::is_nested_scope(n.kind_name())
        });
    }
    found
}

/// Whether the decorated definition `item` has the decorator `@<name>`.
fn has_decorator(item: Node, name: &str, source: &str) -> bool {
    let mut cursor = item.walk();
    item.named_children(&mut cursor).any(|d| {
        d.kind_name() == "decorator" && d.named_child(0).is_some_and(|e| text(e, source) == name)
    })
}

/// The attributes of `self` that the property setter `attr` of `class`
/// assigns; `None` when the class has no such setter.
fn setter_targets(class: Node, attr: &str, source: &str) -> Option<Vec<String>> {
    let body = class.field("body")?;
    let wanted = format!("{attr}.setter");
    let mut cursor = body.walk();
    let setter = body.named_children(&mut cursor).find(|item| {
        item.kind_name() == "decorated_definition" && has_decorator(*item, &wanted, source)
    })?;
    let mut targets = Vec::new();
    syntax::walk(setter.field("definition")?, |n| {
        if n.kind_name() == "assignment"
            && let Some(left) = n.field("left")
            && left.kind_name() == "attribute"
            && left
                .field("object")
                .is_some_and(|o| text(o, source) == "self")
            && let Some(name) = left.field("attribute")
        {
            targets.push(text(name, source).to_string());
        }
        true
    });
    Some(targets)
}

/// Methods that end an object's life besides `ENDS_LIFE`'s, which release
/// nothing when called on something else.
const ALSO_ENDS_LIFE: &[&str] = &["cleanup", "teardown", "destroy", "__del__"];

/// Whether a class of `family` has a method that ends its instances' life
/// (`close()`, `shutdown()`, `__exit__`...). One that has none is meant to
/// live as long as the process (a daemon's statsd client, a server's
/// journal file, a scrubber's thread pool: reviewers judged 25 of 34 such
/// UC008 findings false), while one whose `close()` forgets a resource it
/// keeps is the leak UC008 is for (9 of 12 true).
fn has_lifecycle(family: &[Node], source: &str) -> bool {
    family.iter().any(|class| {
        let Some(body) = class.field("body") else {
            return false;
        };
        let mut cursor = body.walk();
        body.named_children(&mut cursor).any(|item| {
            let definition = match item.kind_name() {
                "decorated_definition" => item.field("definition"),
                _ => Some(item),
            };
            definition
                .filter(|d| d.kind_name() == "function_definition")
                .and_then(|d| d.field("name"))
                .is_some_and(|name| {
                    let name = text(name, source);
                    ENDS_LIFE.contains(&name) || ALSO_ENDS_LIFE.contains(&name)
                })
        })
    })
}

/// Whether code of the file releases `<attr>` through an instance of the
/// class: `self.server.sock.close()` in a test's `tearDown` after
/// `self.server = FakeServer()`. The class leaves the release to its users,
/// and they do it.
fn released_through_instance(
    root: Node,
    family: &[Node],
    attr: &str,
    releases: &[String],
    source: &str,
) -> bool {
    let names: Vec<&str> = family
        .iter()
        .filter_map(|c| c.field("name"))
        .map(|n| text(n, source))
        .collect();
    // `self.server`, `srv`: what the file binds to a new instance.
    let mut instances: Vec<&str> = Vec::new();
    syntax::walk(root, |n| {
        if n.kind_name() == "assignment"
            && let (Some(left), Some(right)) = (n.field("left"), n.field("right"))
            && right.kind_name() == "call"
            && right
                .field("function")
                .is_some_and(|f| names.contains(&syntax::last_part(text(f, source))))
        {
            instances.push(text(left, source));
        }
        true
    });
    !instances.is_empty()
        && calls_method(root, source, |method, object| {
            (release_like(method) || releases.iter().any(|r| r == method))
                && object.kind_name() == "attribute"
                && object
                    .field("attribute")
                    .is_some_and(|a| text(a, source) == attr)
                && object
                    .field("object")
                    .is_some_and(|o| instances.contains(&text(o, source)))
        })
}

/// Whether a method of `class` accepts on `self.<attr>` in a loop that
/// never ends (`while True: conn, addr = self._sock.accept()`): a server
/// whose listening socket is meant to live as long as the process.
fn serves_forever(class: Node, attr: &str, source: &str) -> bool {
    let Some(body) = class.field("body") else {
        return false;
    };
    let mut found = false;
    syntax::walk(body, |n| {
        if n.kind_name() == "class_definition" || found {
            return false;
        }
        if n.kind_name() == "while_statement"
            && n.field("condition").is_some_and(|c| {
                matches!(c.kind_name(), "true")
                    || (c.kind_name() == "integer" && text(c, source) == "1")
            })
            && accepts_on(n.field("body"), attr, source)
            && n.field("body").is_some_and(never_leaves)
        {
            found = true;
        }
        true
    });
    found
}

/// Whether a loop's `body` has no way out: no `break` of its own, no
/// `return` (a `raise` is a crash, not a way to stop serving).
fn never_leaves(body: Node) -> bool {
    let this_loop = body.parent().map(|l| l.id());
    let mut leaves = false;
    syntax::walk(body, |n| {
        match n.kind_name() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "return_statement" => leaves = true,
            "break_statement" => {
                // A `break` belongs to the innermost loop around it.
                let mut up = n.parent();
                while let Some(p) = up {
                    if matches!(p.kind_name(), "for_statement" | "while_statement") {
                        leaves |= Some(p.id()) == this_loop;
                        break;
                    }
                    up = p.parent();
                }
            }
            _ => {}
        }
        !leaves
    });
    !leaves
}

/// Whether `body` calls `self.<attr>.accept()`.
fn accepts_on(body: Option<Node>, attr: &str, source: &str) -> bool {
    body.is_some_and(|body| {
        calls_method(body, source, |method, object| {
            method == "accept"
                && object.kind_name() == "attribute"
                && is_self_attr(object, attr, source)
        })
    })
}

/// Whether `node` holds a method call `<object>.<method>(...)` that `wanted`
/// accepts.
fn calls_method(node: Node, source: &str, wanted: impl Fn(&str, Node) -> bool) -> bool {
    let mut found = false;
    syntax::walk(node, |n| {
        if n.kind_name() == "call"
            && let Some(f) = n.field("function").filter(|f| f.kind_name() == "attribute")
            && let (Some(method), Some(object)) = (f.field("attribute"), f.field("object"))
            && wanted(text(method, source), object)
        {
            found = true;
        }
        !found
    });
    found
}

/// Whether every base of `class` is known to leave its attributes alone.
/// Bases that `known` says hold nothing (a class of the same file that
/// keeps nothing) count too.
pub(super) fn neutral_bases(class: Node, source: &str, known: &dyn Fn(&str) -> bool) -> bool {
    let Some(args) = class.field("superclasses") else {
        return true;
    };
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .filter(|a| a.kind_name() != "comment")
        .all(|a| {
            let base = text(a, source);
            let bare = base.split('[').next().unwrap_or(base);
            a.kind_name() == "keyword_argument" || NEUTRAL_BASES.contains(&bare) || known(bare)
        })
}

/// UC003 across methods: `self._session.close()` without `await`, in any
/// method of the class, on a resource whose release is a coroutine.
fn unawaited_releases(
    class: Node,
    stored: &Stored,
    source: &str,
    awaiting: &crate::rules::CallList,
) -> Vec<Finding> {
    let Some(body) = class.field("body") else {
        return Vec::new();
    };
    let class_name = class.field("name").map_or("", |n| text(n, source));
    let mut out = Vec::new();
    syntax::walk(body, |node| {
        if node.kind_name() == "class_definition" {
            return false;
        }
        if node.kind_name() != "call" {
            return true;
        }
        let Some(function) = node.field("function") else {
            return true;
        };
        let releases_it = function.kind_name() == "attribute"
            && function.field("object").is_some_and(|o| {
                o.kind_name() == "attribute" && is_self_attr(o, &stored.attr, source)
            })
            && function
                .field("attribute")
                .is_some_and(|m| stored.releases.iter().any(|r| r == text(m, source)));
        // Awaited, or run by a call that runs what it is given
        // (`loop.run_until_complete(self._session.close())`, `[calls.awaiting]`).
        let runner = node
            .parent()
            .filter(|p| p.kind_name() == "argument_list")
            .and_then(|p| p.parent())
            .and_then(|c| c.field("function"))
            .map(|f| syntax::last_part(text(f, source)).to_string());
        let awaited = node.parent().is_some_and(|p| p.kind_name() == "await")
            || runner.is_some_and(|r| {
                awaiting.has_method(&r)
                    || awaiting.functions.iter().any(|f| syntax::last_part(f) == r)
            });
        if releases_it && !awaited {
            let call = text(node, source);
            let method = enclosing_method(node, source).unwrap_or_default();
            let mut finding = stored.finding.clone();
            finding.code = Code::ReleaseNotAwaited;
            finding.function = format!("{class_name}.{method}");
            finding.span = Span {
                start: node.start_byte(),
                end: node.end_byte(),
            };
            finding.start = syntax::start_position(node, source);
            finding.end = syntax::end_position(node, source);
            finding.message = format!(
                "`{call}` is a coroutine and is never awaited: the {} kept in `self.{}` stays open",
                stored.noun, stored.attr
            );
            finding.help = format!("await it: `await {call}`");
            finding.steps.truncate(1);
            finding.steps.push(Step {
                span: finding.span,
                start: finding.start,
                message: "released here without `await`".into(),
            });
            finding.also.clear();
            out.push(finding);
        }
        true
    });
    out
}

fn enclosing_method(node: Node, source: &str) -> Option<String> {
    let mut current = node.parent();
    while let Some(n) = current {
        if n.kind_name() == "function_definition" {
            return n.field("name").map(|name| text(name, source).to_string());
        }
        current = n.parent();
    }
    None
}

/// The class a function is a method of (not a function nested in one).
fn direct_class(function: Node) -> Option<Node> {
    let mut parent = function.parent()?;
    if parent.kind_name() == "decorated_definition" {
        parent = parent.parent()?;
    }
    if parent.kind_name() != "block" {
        return None;
    }
    parent
        .parent()
        .filter(|p| p.kind_name() == "class_definition")
}

struct Classes<'t> {
    /// Every class of the file with the names of its bases.
    all: Vec<(Node<'t>, String, Vec<String>)>,
}

impl<'t> Classes<'t> {
    fn collect(root: Node<'t>, source: &str) -> Self {
        let mut all = Vec::new();
        syntax::walk(root, |node| {
            if node.kind_name() == "class_definition" {
                let name = node
                    .field("name")
                    .map_or(String::new(), |n| text(n, source).to_string());
                let bases = node
                    .field("superclasses")
                    .map(|args| {
                        let mut cursor = args.walk();
                        args.named_children(&mut cursor)
                            .filter(|a| a.kind_name() != "comment")
                            .map(|a| text(a, source).to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                all.push((node, name, bases));
            }
            true
        });
        Classes { all }
    }

    /// The class, its bases and its subclasses in this file; `None` when a
    /// base is not known to leave its attributes alone.
    fn family(&self, class: Node<'t>) -> Option<Vec<Node<'t>>> {
        let mut members = vec![class];
        let mut queue = vec![class];
        while let Some(c) = queue.pop() {
            let (_, name, bases) = self.all.iter().find(|(n, _, _)| *n == c)?;
            for base in bases {
                if base.contains('=') {
                    // `metaclass=ABCMeta`: not a base.
                    continue;
                }
                let bare = base.split('[').next().unwrap_or(base);
                if NEUTRAL_BASES.contains(&bare) {
                    continue;
                }
                let (local, _, _) = self.all.iter().find(|(_, n, _)| n == bare)?;
                if !members.contains(local) {
                    members.push(*local);
                    queue.push(*local);
                }
            }
            for (sub, _, sub_bases) in &self.all {
                if sub_bases.iter().any(|b| b == name) && !members.contains(sub) {
                    members.push(*sub);
                    queue.push(*sub);
                }
            }
        }
        Some(members)
    }
}

/// Whether some use of `self.<attr>` in the body of `scope` (a class, or
/// one method) may release it.
pub(super) fn may_release(scope: Node, attr: &str, releases: &[String], source: &str) -> bool {
    let Some(body) = scope.field("body") else {
        return false;
    };
    let mut found = false;
    syntax::walk(body, |node| {
        if found {
            return false;
        }
        if node.kind_name() == "attribute" && is_self_attr(node, attr, source) {
            found = !harmless_use(node, releases, source);
            return false;
        }
        // A nested class has its own `self`.
        node.kind_name() != "class_definition"
    });
    found
}

/// Whether this use of a name only uses its object: a method called on it
/// that releases nothing (`sock.connect(addr)`), an attribute read
/// (`sock.family`).
pub(super) fn only_used(name: Node, source: &str) -> bool {
    let Some(parent) = name.parent() else {
        return false;
    };
    if parent.kind_name() != "attribute" || parent.field("object") != Some(name) {
        return false;
    }
    let attr = parent.field("attribute").map_or("", |a| text(a, source));
    !release_like(attr)
}

/// Whether `function` calls a release-like method (`self.close()`,
/// `self._sock.shutdown()`): a finalizer that releases, not one that only
/// logs.
pub(super) fn calls_release_like(function: Node, source: &str) -> bool {
    calls_method(function, source, |method, _| release_like(method))
}

/// Whether `function` calls `self.<method>()` (a `__del__` that calls
/// `self.close()`).
pub(super) fn calls_own_method(function: Node, method: &str, source: &str) -> bool {
    calls_method(function, source, |called, object| {
        called == method && object.kind_name() == "identifier" && text(object, source) == "self"
    })
}

fn is_self_attr(node: Node, attr: &str, source: &str) -> bool {
    node.field("object")
        .is_some_and(|o| o.kind_name() == "identifier" && text(o, source) == "self")
        && node
            .field("attribute")
            .is_some_and(|a| text(a, source) == attr)
}

/// Uses of `self.<attr>` (or of `self.<attr>.<more>`) that cannot release
/// it: assigning it, testing it, calling its other methods
/// (`self.sock.sendall(data)`, `self.channel.connection.process_data_events()`).
fn harmless_use(node: Node, releases: &[String], source: &str) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind_name() {
        "assignment" | "augmented_assignment" => parent.field("left") == Some(node),
        "attribute" => {
            let name = parent.field("attribute").map_or("", |a| text(a, source));
            if release_like(name) || releases.iter().any(|r| r == name) {
                return false;
            }
            let called = parent
                .parent()
                .is_some_and(|g| g.kind_name() == "call" && g.field("function") == Some(parent));
            called || harmless_use(parent, releases, source)
        }
        "comparison_operator" | "not_operator" | "boolean_operator" => true,
        "if_statement" | "elif_clause" | "while_statement" => {
            parent.field("condition") == Some(node)
        }
        // A property's getter lends what the object keeps, as any method
        // that uses it does; the object still owns it.
        "return_statement" => in_property_getter(parent, source),
        _ => false,
    }
}

/// Whether `node` is in the body of a method decorated `@property`.
fn in_property_getter(node: Node, source: &str) -> bool {
    syntax::enclosing(node, "function_definition")
        .and_then(|f| f.parent())
        .filter(|p| p.kind_name() == "decorated_definition")
        .is_some_and(|definition| has_decorator(definition, "property", source))
}

#[cfg(test)]
mod tests {
    use super::releases_kept;

    #[test]
    fn a_release_elsewhere_counts_only_in_a_file_that_names_the_class() {
        let command = "from hm.udp import UDPStatusGetter\n\ndef run():\n    getter = UDPStatusGetter()\n    getter.health_executor.shutdown()\n";
        assert!(releases_kept(command, "UDPStatusGetter", "health_executor"));
        // Another attribute, another class, or a longer name that contains it.
        assert!(!releases_kept(command, "UDPStatusGetter", "stats_executor"));
        assert!(!releases_kept(command, "StatsCollector", "health_executor"));
        assert!(!releases_kept(command, "StatusGetter", "health_executor"));
        // Used but not given back.
        let user = "getter = UDPStatusGetter()\ngetter.health_executor.submit(job)\n";
        assert!(!releases_kept(user, "UDPStatusGetter", "health_executor"));
        // A subclass that closes what its base keeps.
        let subclass = "class Python(base.ConverterBase):\n    def close(self):\n        self.soffice_file.close()\n";
        assert!(releases_kept(subclass, "ConverterBase", "soffice_file"));
        // A class of the same name in another module closing its own.
        let namesake = "class ConnectionInstance(object):\n    def close(self):\n        self._socket.close()\n";
        assert!(!releases_kept(namesake, "ConnectionInstance", "_socket"));
    }
}
