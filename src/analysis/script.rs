//! One-shot programs: in a file run as a script (it has an `if __name__ ==
//! "__main__":` block), an exception that no caller catches ends the
//! program, and the operating system takes back what it held: a leak on
//! that path is no leak worth a finding (as in test code, where an
//! exception is a failing test).
//!
//! A function's exceptions end the program when every reference to its name
//! in the file is a direct call that nothing around catches: not inside a
//! `try` with handlers, and made at the top of the module or from a function
//! whose exceptions end the program too. A function that is passed as a
//! value (a thread's target, a callback), decorated (a route, a command) or
//! not referenced at all may be called from anywhere: its exceptions may be
//! caught. Names are matched by their last part (`crontab.write()` is a
//! reference to every `write`), which errs on the side of reporting.
//!
//! A command of a click or typer program (`@cli.command()`) is such an
//! entry point too: its exceptions and its return end the program.
//!
//! A function given only as a `preexec_fn=` runs in the forked child just
//! before `exec`: an exception ends the child, and a return is followed by
//! an `exec` that closes the descriptors Python opened (they are not
//! inheritable). A function given only as the `target=` of a
//! `multiprocessing.Process` is the whole life of that child process: it
//! exits when the function returns or raises, as the `run()` method of a
//! class made on `multiprocessing.Process` does. Nothing either holds
//! outlives it.

use super::FunctionNode;
use crate::rules::CallList;
use crate::syntax::{self, NodeExt, text};
use std::collections::HashMap;
use tree_sitter::Node;

/// How a unit's ways out end the program, per unit (by index).
pub(super) struct ProgramEnds {
    /// Its uncaught exceptions end the program.
    pub(super) exceptions: Vec<bool>,
    /// Its return ends the program: the function the `__main__` block
    /// calls last (`main()`, `sys.exit(main())`, `raise
    /// SystemExit(main())`), when that is the only reference to it. What it
    /// still holds when it returns, the process gives back right away.
    pub(super) returns: Vec<bool>,
}

pub(super) fn program_ends(
    root: Node,
    source: &str,
    units: &[FunctionNode],
    ending_calls: &CallList,
) -> ProgramEnds {
    let main = main_block(root, source);
    let imports_cli = imports_cli(source);
    let commands: Vec<bool> = units
        .iter()
        .map(|u| is_command(&u.name, &u.decorators, imports_cli))
        .collect();
    // Most files are neither scripts, nor commands, nor fork children: no
    // walk for them.
    let forks = source.contains("preexec_fn")
        || ["Process(", "Process)", "Process,"]
            .iter()
            .any(|p| source.contains(p));
    if main.is_none() && !forks && !commands.contains(&true) {
        return ProgramEnds {
            exceptions: vec![false; units.len()],
            returns: vec![false; units.len()],
        };
    }
    let references = references(root, source, units, ending_calls);
    let child = if forks {
        runs_in_child(units, &references, source)
    } else {
        vec![false; units.len()]
    };
    let mut ends = ProgramEnds {
        exceptions: child.clone(),
        returns: child,
    };
    // A command's return and its exceptions end the program (click
    // reports the error and exits), and so do those of what only commands
    // call.
    let mut memo: HashMap<usize, Option<bool>> = commands
        .iter()
        .enumerate()
        .filter(|&(_, &command)| command)
        .map(|(i, _)| (i, Some(true)))
        .collect();
    for (i, &command) in commands.iter().enumerate() {
        ends.returns[i] |= command;
    }
    // Outside a script or a command (a library that starts processes), a
    // call made at import is no program's end.
    if main.is_some() || commands.contains(&true) {
        for (i, e) in ends.exceptions.iter_mut().enumerate() {
            *e |= unit_ends(i, units, &references, &mut memo);
        }
    }
    let Some(block) = main else {
        return ends;
    };
    if let Some(name) = last_call(block, source) {
        let only_there = references.get(name).is_some_and(|r| r.len() == 1);
        for (i, unit) in units.iter().enumerate() {
            ends.returns[i] |= only_there && !unit.decorated && unit.name == name;
        }
    }
    ends
}

/// The command-line frameworks a file imports, whose commands are
/// programs: click or typer (`@cli.command()`), invoke or Fabric (`@task`).
#[derive(Clone, Copy)]
pub(crate) struct CliImports {
    click_or_typer: bool,
    task_runner: bool,
}

pub(crate) fn imports_cli(source: &str) -> CliImports {
    let any = |imports: &[&str]| imports.iter().any(|i| source.contains(i));
    CliImports {
        click_or_typer: any(&["import click", "from click", "import typer", "from typer"]),
        task_runner: any(&["from invoke import", "import invoke", "from fabric import"]),
    }
}

/// Whether the function `name` (qualified), with these decorators (as
/// written, without `@`), is a command of a command-line program, of which
/// each run of the program runs one: `@click.command()`,
/// `@cli.command(name=...)`, `@app.command()` with typer, a `group`, in a
/// file that imports click or typer; an invoke or Fabric `@task`; or a command of an OpenStack client's
/// shell, a module-level `do_image_upload(gc, args)` under `@utils.arg(...)`
/// that the shell runs by name.
pub(crate) fn is_command(name: &str, decorators: &[String], imports: CliImports) -> bool {
    let shell_command = !name.contains('.')
        && name.starts_with("do_")
        && decorators
            .iter()
            .any(|d| method_of_decorator(d) == Some("arg"));
    // An invoke task (`@task`, `@task(pre=[clean])`, `@invoke.task`) runs
    // once per `inv` run; Celery's `@app.task` is a worker's, not this.
    let task = |d: &String| matches!(decorator_callee(d), "task" | "invoke.task");
    shell_command
        || (imports.click_or_typer && decorators.iter().any(|d| makes_a_command(d)))
        || (imports.task_runner && decorators.iter().any(task))
}

/// The method a decorator calls on some object, as written (`arg` of
/// `utils.arg('--file')`, `command` of `cli.command(name="x")`); `None`
/// for a plain name.
fn method_of_decorator(decorator: &str) -> Option<&str> {
    decorator_callee(decorator)
        .rsplit_once('.')
        .map(|(_, method)| method)
}

/// What a decorator calls or names, as written: `utils.arg` of
/// `utils.arg('--file')`, `task` of `task`.
fn decorator_callee(decorator: &str) -> &str {
    decorator.split('(').next().unwrap_or(decorator).trim()
}

/// A decorator (as written, without `@`) that makes a function a command
/// of a click or typer program.
pub(crate) fn makes_a_command(decorator: &str) -> bool {
    matches!(method_of_decorator(decorator), Some("command" | "group"))
}

/// The function the `__main__` block's last statement calls, possibly
/// wrapped in an exit (`sys.exit(main())`).
fn last_call<'s>(block: Node, source: &'s str) -> Option<&'s str> {
    let last = block.named_children(&mut block.walk()).last()?;
    let mut call = match last.kind_name() {
        "expression_statement" => last.named_child(0),
        "raise_statement" => last.named_child(0),
        _ => None,
    };
    if let Some(outer) = call.filter(|c| c.kind_name() == "call")
        && let Some(f) = outer.field("function")
        && matches!(
            text(f, source),
            "sys.exit" | "exit" | "SystemExit" | "os._exit"
        )
    {
        call = outer.field("arguments").and_then(|a| a.named_child(0));
    }
    call.filter(|c| c.kind_name() == "call")
        .and_then(|c| c.field("function"))
        .filter(|f| f.kind_name() == "identifier")
        .map(|f| text(f, source))
}

/// The units (by index) that run only in a child process (a `preexec_fn`
/// about to `exec`, a `Process` target): every reference to the name is
/// inside such an argument.
fn runs_in_child(
    units: &[FunctionNode],
    references: &HashMap<&str, Vec<Reference>>,
    source: &str,
) -> Vec<bool> {
    units
        .iter()
        .map(|unit| {
            let name = crate::syntax::last_part(&unit.name);
            references
                .get(name)
                .is_some_and(|refs| !refs.is_empty() && refs.iter().all(|r| r.in_child))
                || (name == "run" && method_of_process_class(unit.node, source))
        })
        .collect()
}

/// Whether a method belongs to a class made on `multiprocessing.Process`
/// (or billiard's, or a context's: a base whose last name is `Process`):
/// its `run()` is the whole life of the child process, which exits when
/// it returns or raises.
fn method_of_process_class(method: Node, source: &str) -> bool {
    let class = method
        .parent()
        .filter(|b| b.kind_name() == "block")
        .and_then(|b| b.parent())
        .filter(|c| c.kind_name() == "class_definition");
    let Some(bases) = class.and_then(|c| c.field("superclasses")) else {
        return false;
    };
    let mut cursor = bases.walk();
    bases.named_children(&mut cursor).any(|base| {
        matches!(base.kind_name(), "identifier" | "attribute")
            && crate::syntax::last_part(text(base, source)) == "Process"
    })
}

/// A use of a name somewhere in the file.
struct Reference {
    /// Called directly (`name(...)`, `x.name(...)`), rather than taken as a
    /// value.
    called: bool,
    /// Inside the body of a `try` that has `except` clauses.
    guarded: bool,
    /// The unit the reference is in (`None`: module level).
    within: Option<usize>,
    /// Inside a `preexec_fn=` or `Process(target=)` argument: called in a
    /// child process, which ends with it.
    in_child: bool,
}

fn unit_ends(
    unit: usize,
    units: &[FunctionNode],
    references: &HashMap<&str, Vec<Reference>>,
    memo: &mut HashMap<usize, Option<bool>>,
) -> bool {
    match memo.get(&unit) {
        Some(Some(known)) => return *known,
        Some(None) => return false, // recursion: may be caught somewhere
        None => {}
    }
    memo.insert(unit, None);
    let func = &units[unit];
    let name = crate::syntax::last_part(&func.name);
    let result = (!func.decorated || func.is_context_manager())
        && references.get(name).is_some_and(|refs| {
            !refs.is_empty()
                && refs.iter().all(|r| {
                    r.called
                        && !r.guarded
                        && match r.within {
                            None => true,
                            // A call of the same name inside it (`f.write()`
                            // in `write`) is another object's, or recursion.
                            Some(caller) if caller == unit => true,
                            Some(caller) => unit_ends(caller, units, references, memo),
                        }
                })
        });
    memo.insert(unit, Some(result));
    result
}

/// Every reference to a unit's (last) name in the file, outside its own
/// definition's name.
fn references<'s>(
    root: Node,
    source: &'s str,
    units: &[FunctionNode],
    ends: &CallList,
) -> HashMap<&'s str, Vec<Reference>> {
    let names: std::collections::HashSet<&str> = units
        .iter()
        .map(|u| crate::syntax::last_part(&u.name))
        .collect();
    let mut out: HashMap<&'s str, Vec<Reference>> = HashMap::new();
    syntax::walk(root, |n| {
        let candidate = match n.kind_name() {
            "identifier" => Some(n),
            "attribute" => n.field("attribute"),
            _ => None,
        };
        let Some(name_node) = candidate else {
            return true;
        };
        let name = text(name_node, source);
        if !names.contains(name) || is_definition_name(name_node) {
            return n.kind_name() != "identifier";
        }
        // `x.name` is looked at as a whole; its object is visited on its own.
        let whole = if n.kind_name() == "attribute" {
            n
        } else {
            name_node
        };
        if n.kind_name() == "identifier"
            && n.parent()
                .is_some_and(|p| p.kind_name() == "attribute" && p.field("attribute") == Some(n))
        {
            return false; // seen through its attribute
        }
        let called = whole
            .parent()
            .is_some_and(|p| p.kind_name() == "call" && p.field("function") == Some(whole));
        let (guarded, within_node) = context(whole, source, ends);
        let within = within_node.and_then(|f| units.iter().position(|u| u.node == f));
        out.entry(name).or_default().push(Reference {
            called,
            guarded,
            within,
            in_child: in_child_argument(whole, source),
        });
        true
    });
    out
}

/// Whether `node` is inside the value of a keyword argument that runs it in
/// a child process: `preexec_fn=functools.partial(self._preexec, name)`,
/// `multiprocessing.Process(target=self._serve)`.
fn in_child_argument(node: Node, source: &str) -> bool {
    let mut current = node;
    while let Some(parent) = current.parent() {
        match parent.kind_name() {
            "keyword_argument" => {
                if parent.field("value").is_none() {
                    return false;
                }
                return match parent.field("name").map(|n| text(n, source)) {
                    Some("preexec_fn") => true,
                    Some("target") => parent
                        .parent()
                        .and_then(|args| args.parent())
                        .filter(|call| call.kind_name() == "call")
                        .and_then(|call| call.field("function"))
                        .is_some_and(|f| text(f, source).rsplit('.').next() == Some("Process")),
                    _ => false,
                };
            }
            "function_definition" | "class_definition" | "module" | "block" => return false,
            _ => current = parent,
        }
    }
    false
}

/// Whether `node` is the name of a `def` or `class`, or a parameter.
fn is_definition_name(node: Node) -> bool {
    node.parent().is_some_and(|p| {
        matches!(p.kind_name(), "function_definition" | "class_definition")
            && p.field("name") == Some(node)
            || matches!(
                p.kind_name(),
                "parameters" | "default_parameter" | "typed_parameter"
            )
    })
}

/// Whether `node` sits in the body of a `try` whose handlers may catch its
/// exceptions (within its function), and the function it is in. Handlers
/// that all end the program or raise again (`except Exception:
/// module.fail_json(...)`) catch nothing that matters here.
fn context<'t>(node: Node<'t>, source: &str, ends: &CallList) -> (bool, Option<Node<'t>>) {
    let mut guarded = false;
    let mut child = node;
    while let Some(parent) = child.parent() {
        match parent.kind_name() {
            "function_definition" => return (guarded, Some(parent)),
            "lambda" | "class_definition" => return (true, None),
            "try_statement" if parent.field("body") == Some(child) => {
                let mut cursor = parent.walk();
                let mut handlers = parent
                    .named_children(&mut cursor)
                    .filter(|c| matches!(c.kind_name(), "except_clause" | "except_group_clause"))
                    .peekable();
                let handles = handlers.peek().is_some();
                guarded |= handles && !handlers.all(|h| handler_ends(h, source, ends));
            }
            _ => {}
        }
        child = parent;
    }
    (guarded, None)
}

/// Whether an `except` clause's body ends in a `raise` or in a call that
/// ends the program.
fn handler_ends(handler: Node, source: &str, ends: &CallList) -> bool {
    let Some(body) = handler
        .named_children(&mut handler.walk())
        .filter(|c| c.kind_name() == "block")
        .last()
    else {
        return false;
    };
    let Some(last) = body.named_children(&mut body.walk()).last() else {
        return false;
    };
    match last.kind_name() {
        "raise_statement" => true,
        "expression_statement" => last
            .named_child(0)
            .filter(|c| c.kind_name() == "call")
            .and_then(|c| c.field("function"))
            .is_some_and(|f| {
                let name = text(f, source);
                let method = crate::syntax::last_part(name);
                ends.has_function(name) || (f.kind_name() == "attribute" && ends.has_method(method))
            }),
        _ => false,
    }
}

/// The body of the `if __name__ == "__main__":` at the top of the module.
fn main_block<'t>(root: Node<'t>, source: &str) -> Option<Node<'t>> {
    let mut cursor = root.walk();
    let found = root.named_children(&mut cursor).find(|stmt| {
        stmt.kind_name() == "if_statement"
            && stmt
                .field("condition")
                .is_some_and(|c| tests_main(c, source))
    });
    found.and_then(|stmt| stmt.field("consequence"))
}

/// `__name__ == "__main__"`, either way round.
pub(crate) fn tests_main(condition: Node, source: &str) -> bool {
    let compact: String = text(condition, source)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    matches!(
        compact.as_str(),
        "__name__=='__main__'"
            | "__name__==\"__main__\""
            | "'__main__'==__name__"
            | "\"__main__\"==__name__"
    )
}
