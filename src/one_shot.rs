//! Functions that run only inside a one-shot program: a command's `main`
//! and what only it calls, however far from the file the command is in.
//!
//! An exception leaving such a function ends the command, and the
//! operating system takes back what it held; reviewers of real code called
//! each such finding false (salt's `spm`, httpie's session, mycli's
//! checkup). A file of a command (`cli/`, `__main__.py`, see
//! `rules/programs.toml`) is analysed so from the start; this pass finds the
//! rest across files, after the analysis, for the functions that have a
//! finding only an exception makes (UC002, UC004, UC007).
//!
//! A function runs only in a command when it is a command's entry point
//! (a console script of the project's packaging, a function of a command's
//! file), or when every mention of its name in the project's production
//! code is a call inside one that does, or under `if __name__ ==
//! "__main__":`, and not inside a `try` that catches (a retry loop goes
//! on). A reference (a thread's target, a callback) may run anywhere, and
//! keeps the findings. Names are matched as written, so a common name
//! (`run`, `get`) is mentioned everywhere and stays reported: the pass can
//! only err towards keeping a finding. A function nothing mentions is the
//! project's API, for callers the run does not see, and stays reported too.

use crate::syntax::{NodeExt, text};
use std::collections::{HashMap, HashSet};
use tree_sitter::{Node, Parser};

/// One checked file, as the pass sees it.
pub struct ProgramFile<'a> {
    /// Its path as a dotted name, `.py` and `__init__` dropped
    /// (`src.mycli.main`): a console script's module (`mycli.main`) is the
    /// end of it.
    pub module: &'a str,
    /// Production code: mentions in tests, examples or scripts do not make
    /// a function the project's.
    pub production: bool,
    /// A file of a command (see `rules/programs.toml`).
    pub one_shot: bool,
}

/// How many functions the pass looks at, at most, so that a project of
/// common names stays linear.
const BUDGET: usize = 2_000;
/// How far from a command's entry point a function may be.
const DEPTH: usize = 12;
/// A name in more files than this is a common one (`run`, `get`): some
/// mention of it is surely outside a command, and it is not looked up.
const COMMON: usize = 32;
/// How many files the pass parses, at most.
const PARSES: usize = 150;

/// The names defined with `def` in a file's text (a quick scan, no parse).
pub fn defined_names(source: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in source.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("async ").unwrap_or(line);
        if let Some(rest) = line.strip_prefix("def ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The words of a file's text that are among `wanted`, each once.
pub fn words_in(source: &str, wanted: &HashSet<String>) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let bytes = source.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                at += 1;
            }
            let word = &source[start..at];
            if wanted.contains(word) {
                seen.insert(word);
            }
        } else {
            at += 1;
        }
    }
    let mut out: Vec<String> = seen.into_iter().map(str::to_string).collect();
    out.sort();
    out
}

/// Which production files have each defined name in their text.
#[derive(Default)]
pub struct WordIndex {
    files_of: HashMap<String, Vec<usize>>,
}

impl WordIndex {
    /// From the words (see `words_in`) of each file, by file index.
    pub fn new(words: Vec<Vec<String>>) -> WordIndex {
        let mut files_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (file, words) in words.into_iter().enumerate() {
            for word in words {
                files_of.entry(word).or_default().push(file);
            }
        }
        WordIndex { files_of }
    }

    /// Whether `name` is a function name the pass may look up: defined in
    /// the project and not common (see `COMMON`); mentions of other names
    /// are never asked for.
    fn looked_up(&self, name: &str) -> bool {
        self.files_of.get(name).is_some_and(|h| h.len() <= COMMON)
    }
}

/// Of `candidates` (a file, a function's qualified name, as findings name
/// it, and the way out asked about), those whose way out ends a one-shot
/// program. `entry_points` are the console scripts of the project's
/// packaging (`mycli.main:main`), `script_calls` the functions the scripts
/// it installs as they are call (see `script_calls`); `load` gives a file's
/// text, for the few files the pass parses.
pub fn only_in_commands(
    files: &[ProgramFile],
    load: &(dyn Fn(usize) -> Option<String> + Sync),
    index: &WordIndex,
    entry_points: &[String],
    script_calls: &[String],
    candidates: &[(usize, String, Ends)],
) -> HashSet<(usize, String, Ends)> {
    let split = |calls: &[String]| -> Vec<(String, String)> {
        calls
            .iter()
            .filter_map(|e| {
                let (module, function) = e.split_once(':')?;
                Some((module.trim().to_string(), function.trim().to_string()))
            })
            .collect()
    };
    // The files the candidates' names are in, and their own, parsed
    // up front on every thread; the few the search reaches further from
    // there are parsed as it goes.
    let entry_points = split(entry_points);
    // The console scripts' own modules, whose tables of subcommands name
    // commands (`dispatched_by_a_command`).
    let scripts: Vec<usize> = if entry_points.is_empty() {
        Vec::new()
    } else {
        (0..files.len())
            .filter(|&f| {
                entry_points
                    .iter()
                    .any(|(m, _)| names_module(files[f].module, m))
            })
            .collect()
    };
    let mut first: Vec<usize> = candidates
        .iter()
        .flat_map(|(file, function, _)| {
            let name = function.rsplit('.').next().unwrap_or(function);
            let hits = index.files_of.get(name).filter(|h| h.len() <= COMMON);
            std::iter::once(*file).chain(hits.into_iter().flatten().copied())
        })
        .collect();
    first.sort_unstable();
    first.dedup();
    first.retain(|f| !scripts.contains(f));
    first.truncate(PARSES.saturating_sub(scripts.len()));
    first.extend(&scripts);
    let parsed: HashMap<usize, Option<FileMentions>> = {
        use rayon::prelude::*;
        first
            .par_iter()
            .map(|&file| (file, load(file).and_then(|source| read(&source, index))))
            .collect()
    };
    let mut pass = Pass {
        files,
        load,
        index,
        entry_points,
        script_calls: split(script_calls),
        scripts,
        parsed,
        known: HashMap::new(),
        in_progress: HashSet::new(),
        looked_at: 0,
    };
    candidates
        .iter()
        .filter(|(file, function, ends)| pass.one_shot(*file, function, *ends, 0))
        .cloned()
        .collect()
}

struct Pass<'a> {
    files: &'a [ProgramFile<'a>],
    load: &'a (dyn Fn(usize) -> Option<String> + Sync),
    index: &'a WordIndex,
    /// `(module, function)` of each console script.
    entry_points: Vec<(String, String)>,
    /// The files of the console scripts' modules.
    scripts: Vec<usize>,
    /// `(module, function)` of each call in a script installed as it is.
    script_calls: Vec<(String, String)>,
    /// What each file parsed shows (the tree is not kept); `None` for a
    /// file that could not be read or parsed.
    parsed: HashMap<usize, Option<FileMentions>>,
    known: HashMap<(usize, String, Ends), bool>,
    in_progress: HashSet<(usize, String, Ends)>,
    looked_at: usize,
}

/// Which way out of a function is asked about.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Ends {
    /// Its uncaught exceptions end the program.
    Exceptions,
    /// Its return ends the program: every call of it is the last act of a
    /// function whose return does (`return await delete_packages(...)` in
    /// the command's `async_main`, itself `return asyncio.run(async_main())`
    /// in the console script's `main`), so what it still holds when it
    /// returns, the process gives back right away.
    Returns,
}

/// What the pass needs of one file: the mentions of the project's function
/// names, and its commands.
struct FileMentions {
    mentions: HashMap<String, Vec<Mentioned>>,
    /// Module-level functions that are commands of a click or typer program.
    commands: HashSet<String>,
    /// The functions a dictionary's values name (`{"elfdiff": elfdiff.main}`):
    /// each as the module it is an attribute of, as written (`elfdiff`), or
    /// `None` for a plain name of this file, and the function's name. In a
    /// console script's module, a table of the command's subcommands.
    dispatched: Vec<(Option<String>, String)>,
}

/// One mention of a name.
#[derive(Clone)]
struct Mentioned {
    place: Place,
    how: Mention,
    /// Whether the call's value is the caller's last act (see
    /// `ends_caller`).
    tail: bool,
    /// Whether the statement after the call ends the program
    /// (`self.send_command(cmd)` then `sys.exit(0)`): its return does.
    exits_after: bool,
    /// For a call on something else than `self`: that something, as
    /// written (`bandersnatch.delete` of `bandersnatch.delete.run()`).
    receiver: Option<String>,
}

/// Where a mention of a name is.
#[derive(Clone)]
enum Place {
    /// Not a mention: the name of a definition, or an import.
    None,
    /// Code of the module itself, or of a class body.
    Module,
    /// Under `if __name__ == "__main__":`.
    Main,
    /// In this function (its qualified name).
    Function(String),
}

impl Pass<'_> {
    fn one_shot(&mut self, file: usize, function: &str, ends: Ends, depth: usize) -> bool {
        let key = (file, function.to_string(), ends);
        if let Some(&known) = self.known.get(&key) {
            return known;
        }
        // A cycle of mentions (recursion) shows no command: keep it.
        if depth > DEPTH || self.looked_at >= BUDGET || !self.in_progress.insert(key.clone()) {
            return false;
        }
        self.looked_at += 1;
        let answer = self.decide(file, function, ends, depth);
        self.in_progress.remove(&key);
        self.known.insert(key, answer);
        answer
    }

    fn decide(&mut self, file: usize, function: &str, ends: Ends, depth: usize) -> bool {
        let this = &self.files[file];
        // Any function of a command's file raises into the command; its
        // returns go back to a caller that may go on.
        if this.one_shot && ends == Ends::Exceptions {
            return true;
        }
        // `Class.method` runs where the method's name is mentioned; a
        // nested function where the function around it runs.
        let outermost = function.split('.').next().unwrap_or(function);
        let nested = function.contains('.');
        let entry = self
            .entry_points
            .iter()
            .any(|(module, f)| f == outermost && names_module(this.module, module))
            || self
                .file(file)
                .is_some_and(|m| m.commands.contains(outermost));
        let entry = entry || self.dispatched_by_a_command(file, outermost);
        if entry && (ends == Ends::Exceptions || !nested) {
            return true;
        }
        // Called by a script the project installs as it is (`aj.entry.start()`
        // in `ajenti-panel`): a caller that is a command, beside any others.
        let by_script = !nested
            && ends == Ends::Exceptions
            && self
                .script_calls
                .iter()
                .any(|(module, f)| f == function && names_module(this.module, module));
        let name = function.rsplit('.').next().unwrap_or(function);
        let Some(hits) = self.index.files_of.get(name) else {
            return by_script;
        };
        if hits.len() > COMMON {
            return false;
        }
        let mut mentions = Vec::new();
        for &other in hits {
            match self.file(other) {
                Some(m) => {
                    for mentioned in m.mentions.get(name).into_iter().flatten() {
                        mentions.push((other, mentioned.clone()));
                    }
                }
                // Unread, unparsed, or past the budget: it may mention it
                // anywhere.
                None => return false,
            }
        }
        let mut any = false;
        for (other, mentioned) in mentions {
            let Mentioned {
                place,
                mut how,
                tail,
                exits_after,
                receiver,
            } = mentioned;
            // `bandersnatch.delete.delete_packages()`, `delete.delete_packages()`
            // after `from bandersnatch import delete`: the function of this
            // file by its module's name.
            if how == Mention::OnOther
                && receiver
                    .as_deref()
                    .is_some_and(|r| names_module(self.files[file].module, r))
            {
                how = Mention::Direct;
            }
            // For a function a script calls by its module's name, a method
            // of another object named alike (`thread.start()`) is no caller.
            if by_script && how == Mention::OnOther {
                continue;
            }
            let ok = match place {
                Place::None => continue,
                // A reference (a thread's target, a callback) may run where
                // an exception ends nothing; so may a call inside a `try`
                // that catches (a retry loop). Either keeps the findings.
                _ if matches!(how, Mention::Reference | Mention::Caught) => false,
                _ if how == Mention::CaughtToEnd && ends == Ends::Exceptions => true,
                _ if ends == Ends::Returns && exits_after => true,
                // A call whose caller goes on after it returns.
                _ if ends == Ends::Returns && !tail => false,
                Place::Main => true,
                Place::Module => ends == Ends::Exceptions && self.files[other].one_shot,
                // Its own body (recursion) says nothing.
                Place::Function(f) if other == file && f == function => continue,
                Place::Function(f) => self.one_shot(other, &f, ends, depth + 1),
            };
            if !ok {
                return false;
            }
            // Only a call by the name itself (or on `self`) shows a caller:
            // `json.load(f)` in a command says nothing of a function `load`.
            any |= matches!(how, Mention::Direct | Mention::CaughtToEnd);
        }
        any || by_script
    }

    /// Whether a console script's module names `function` (of `file`) in a
    /// table of subcommands: `commands = {"elfdiff": elfdiff.main}` in
    /// `pwnlib.commandline.main`, whose `main` runs the one asked for. (A
    /// table elsewhere is a registry anyone may run.)
    fn dispatched_by_a_command(&mut self, file: usize, function: &str) -> bool {
        let module = self.files[file].module;
        self.scripts.clone().into_iter().any(|script| {
            self.file(script).is_some_and(|m| {
                m.dispatched.iter().any(|(of, name)| {
                    name == function
                        && match of {
                            None => script == file,
                            Some(of) => names_module(module, of),
                        }
                })
            })
        })
    }

    /// The mentions and commands of `file`, parsed once.
    fn file(&mut self, file: usize) -> Option<&FileMentions> {
        if !self.parsed.contains_key(&file) {
            let found = if self.parsed.len() < PARSES {
                (self.load)(file).and_then(|source| read(&source, self.index))
            } else {
                None
            };
            self.parsed.insert(file, found);
        }
        self.parsed.get(&file).and_then(Option::as_ref)
    }
}

/// The mentions and commands of one file's text.
fn read(source: &str, index: &WordIndex) -> Option<FileMentions> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    let tree = parser.parse(source, None)?;
    let root = tree.root_node();
    let mut mentions: HashMap<String, Vec<Mentioned>> = HashMap::new();
    let mut dispatched = Vec::new();
    // Each mention is judged by what is around it: the walk hands over the
    // ancestors rather than asking tree-sitter for parents, which it finds
    // by descending again from the root (quadratic in a long module).
    crate::syntax::walk_with_ancestors(root, |n, up| {
        if n.kind_name() == "pair"
            && let Some(value) = n.field("value")
        {
            match value.kind_name() {
                "identifier" => dispatched.push((None, text(value, source).to_string())),
                "attribute" => {
                    if let (Some(object), Some(name)) =
                        (value.field("object"), value.field("attribute"))
                        && matches!(object.kind_name(), "identifier" | "attribute")
                    {
                        dispatched.push((
                            Some(text(object, source).to_string()),
                            text(name, source).to_string(),
                        ));
                    }
                }
                _ => {}
            }
        }
        if n.kind_name() == "identifier" {
            let name = text(n, source);
            if index.looked_up(name) {
                let how = mention(n, up, source);
                let receiver = up
                    .last()
                    .filter(|p| p.kind_name() == "attribute" && how == Mention::OnOther)
                    .and_then(|a| a.field("object"))
                    .map(|o| text(o, source).to_string());
                mentions
                    .entry(name.to_string())
                    .or_default()
                    .push(Mentioned {
                        place: place_of(n, up, source),
                        how,
                        tail: ends_caller(n, up, source),
                        exits_after: exits_after(n, up, source),
                        receiver,
                    });
            }
        }
        true
    });
    let mut commands = HashSet::new();
    let imports_cli = crate::analysis::imports_cli(source);
    let mut cursor = root.walk();
    for item in root.named_children(&mut cursor) {
        if item.kind_name() != "decorated_definition" {
            continue;
        }
        let decorators: Vec<String> = item
            .named_children(&mut item.walk())
            .filter(|c| c.kind_name() == "decorator")
            .map(|d| text(d, source).trim_start_matches('@').to_string())
            .collect();
        if let Some(name) = item.field("definition").and_then(|d| d.field("name")) {
            let name = text(name, source);
            if crate::analysis::is_command(name, &decorators, imports_cli) {
                commands.insert(name.to_string());
            }
        }
    }
    Some(FileMentions {
        mentions,
        commands,
        dispatched,
    })
}

/// Where the identifier `n` is: in which function (qualified as findings
/// qualify them: `Class.method`, `outer.inner`), at module level, under the
/// `__main__` test; or no mention at all (a definition's own name, an
/// import). `up` are its ancestors, root first.
fn place_of(n: Node, up: &[Node], source: &str) -> Place {
    let mut names: Vec<String> = Vec::new();
    let mut in_function = false;
    let mut main = false;
    for (at, &parent) in up.iter().enumerate().rev() {
        let child = up.get(at + 1).copied().unwrap_or(n);
        match parent.kind_name() {
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                return Place::None;
            }
            "function_definition" | "class_definition" => {
                let own_name = parent.field("name");
                if own_name.is_some_and(|o| o.id() == child.id()) {
                    return Place::None;
                }
                if let Some(name) = own_name {
                    names.push(text(name, source).to_string());
                }
                in_function |= parent.kind_name() == "function_definition";
            }
            "if_statement" => {
                main |= parent
                    .field("condition")
                    .is_some_and(|c| crate::analysis::tests_main(c, source));
            }
            _ => {}
        }
    }
    if !in_function {
        return if main { Place::Main } else { Place::Module };
    }
    names.reverse();
    // What findings name: down to the innermost function (a class inside
    // a function is part of its qualified name too).
    Place::Function(names.join("."))
}

/// How a name is mentioned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mention {
    /// Called by the name itself, or on `self` or `cls`: `name(...)`.
    Direct,
    /// Called as an attribute of something else: `json.name(...)`, which
    /// may be another function of that name.
    OnOther,
    /// Called inside a `try` that catches: its exception does not end the
    /// program.
    Caught,
    /// Called by the name itself inside a `try` whose handlers catch
    /// everything and each end the program (`except Exception: print(e);
    /// exit(1)`): its exception ends the program there, whoever the caller.
    CaughtToEnd,
    /// Not called: handed on, stored, looked up.
    Reference,
}

fn mention(n: Node, up: &[Node], source: &str) -> Mention {
    let Some((call, direct)) = call_of(n, up, source) else {
        return Mention::Reference;
    };
    // From the innermost `try` out: one whose handlers each end the
    // program or raise again (`except SystemExit: cleanup(); raise`)
    // stops nothing, and the next one out decides.
    let mut inner = call;
    while let Some(handled) = catching_try(inner, up) {
        match handlers_outcome(up[handled], source) {
            Handled::EndsProgram if direct => return Mention::CaughtToEnd,
            Handled::PassedOn => inner = handled,
            _ => return Mention::Caught,
        }
    }
    if direct {
        Mention::Direct
    } else {
        Mention::OnOther
    }
}

/// The call the identifier `n` names the callee of (`name(...)` or
/// `obj.name(...)`), as its place in `up` (`n`'s ancestors, root first),
/// and whether it is by the name itself or on `self` or `cls`; `None` when
/// `n` is not called there.
fn call_of(n: Node, up: &[Node], source: &str) -> Option<(usize, bool)> {
    let parent = up.len().checked_sub(1)?;
    let (callee, above_callee, direct) = match up[parent] {
        attribute
            if attribute.kind_name() == "attribute"
                && attribute
                    .field("attribute")
                    .is_some_and(|a| a.id() == n.id()) =>
        {
            let on_self = attribute
                .field("object")
                .is_some_and(|o| matches!(text(o, source), "self" | "cls"));
            (attribute, parent.checked_sub(1)?, on_self)
        }
        _ => (n, parent, true),
    };
    let call = up[above_callee];
    (call.kind_name() == "call"
        && call
            .field("function")
            .is_some_and(|f| f.id() == callee.id()))
    .then_some((above_callee, direct))
}

/// The first named child of `parent` after `child`, comments included or
/// not (what `Node::next_named_sibling` gives, without tree-sitter looking
/// for the parent again).
fn named_sibling_after<'t>(
    child: Node<'t>,
    parent: Option<Node<'t>>,
    comments: bool,
) -> Option<Node<'t>> {
    let parent = parent?;
    let mut cursor = parent.walk();
    let mut siblings = parent.named_children(&mut cursor);
    siblings.find(|s| s.id() == child.id())?;
    siblings.find(|s| comments || s.kind_name() != "comment")
}

/// Whether `name` (`mycli.main`, `delete`) names the module whose dotted
/// path is `module` (`src.mycli.main`): its end, from a dot.
fn names_module(module: &str, name: &str) -> bool {
    module == name
        || module
            .strip_suffix(name)
            .is_some_and(|head| head.ends_with('.'))
}

/// Whether the call whose callee is the identifier `n` (or `x.n`) is its
/// caller's last act: its value returned (`return f(...)`, `return await
/// f(...)`, `return asyncio.run(f(...))`), given to `sys.exit()` or
/// `SystemExit`, or the last statement of the `__main__` block.
fn ends_caller(n: Node, up: &[Node], source: &str) -> bool {
    let Some((mut current, _)) = call_of(n, up, source) else {
        return false;
    };
    let mut exits = false;
    while let Some(above) = current.checked_sub(1) {
        let parent = up[above];
        match parent.kind_name() {
            "await" | "parenthesized_expression" => current = above,
            // The only argument of a call that runs it to its end, or exits
            // with its value.
            "argument_list" if parent.named_child_count() == 1 => {
                let Some(outer_at) = above
                    .checked_sub(1)
                    .filter(|&o| up[o].kind_name() == "call")
                else {
                    return false;
                };
                let outer = up[outer_at];
                let runner = outer
                    .field("function")
                    .map(|f| crate::syntax::last_part(text(f, source)).to_string());
                match runner.as_deref() {
                    Some("run" | "run_until_complete") => {}
                    Some("exit" | "_exit" | "SystemExit") => exits = true,
                    _ => return false,
                }
                current = outer_at;
            }
            "return_statement" | "raise_statement" => return true,
            "expression_statement" => {
                let block = above.checked_sub(1).map(|b| up[b]);
                let last_in_main = named_sibling_after(parent, block, true).is_none()
                    && above
                        .checked_sub(2)
                        .map(|s| up[s])
                        .filter(|s| s.kind_name() == "if_statement")
                        .and_then(|s| s.field("condition"))
                        .is_some_and(|c| crate::analysis::tests_main(c, source));
                return exits || last_in_main;
            }
            _ => return false,
        }
    }
    false
}

/// The innermost `try` with `except` clauses whose body holds `up[node]`,
/// in its own function, as its place in `up`.
fn catching_try(node: usize, up: &[Node]) -> Option<usize> {
    for at in (0..node).rev() {
        let (parent, child) = (up[at], up[at + 1]);
        if matches!(parent.kind_name(), "function_definition" | "lambda") {
            return None;
        }
        if parent.kind_name() == "try_statement"
            && parent.field("body").is_some_and(|b| b.id() == child.id())
        {
            let mut cursor = parent.walk();
            let catches = parent
                .named_children(&mut cursor)
                .any(|c| matches!(c.kind_name(), "except_clause" | "except_group_clause"));
            if catches {
                return Some(at);
            }
        }
    }
    None
}

/// What the handlers of a `try` do with what they catch.
#[derive(PartialEq, Eq)]
enum Handled {
    /// One catches every exception (a bare `except:`, `except Exception`,
    /// `except BaseException`) and ends the program as its last act
    /// (`exit(1)`, `sys.exit(...)`, `os._exit(1)`, `raise
    /// SystemExit(...)`); each of the others ends it or raises again.
    EndsProgram,
    /// Each ends the program or raises again: nothing is caught to go on.
    PassedOn,
    /// Some handler lets the function go on.
    GoesOn,
}

fn handlers_outcome(try_statement: Node, source: &str) -> Handled {
    let mut cursor = try_statement.walk();
    let handlers: Vec<Node> = try_statement
        .named_children(&mut cursor)
        .filter(|c| matches!(c.kind_name(), "except_clause" | "except_group_clause"))
        .collect();
    let catches_all = |h: &Node| {
        let mut cursor = h.walk();
        let class = h
            .named_children(&mut cursor)
            .find(|c| c.kind_name() != "block" && c.kind_name() != "comment");
        match class {
            None => true,
            Some(c) => {
                let c = match c.kind_name() {
                    "as_pattern" => c.named_child(0).unwrap_or(c),
                    _ => c,
                };
                matches!(text(c, source), "Exception" | "BaseException")
            }
        }
    };
    let ends = |h: &Node| last_statement(*h).is_some_and(|last| ends_program(last, source));
    let raises =
        |h: &Node| last_statement(*h).is_some_and(|last| last.kind_name() == "raise_statement");
    if handlers.is_empty() || !handlers.iter().all(|h| ends(h) || raises(h)) {
        Handled::GoesOn
    } else if handlers.iter().any(|h| catches_all(h) && ends(h)) {
        Handled::EndsProgram
    } else {
        Handled::PassedOn
    }
}

/// The last statement of an `except` clause's block.
fn last_statement(handler: Node) -> Option<Node> {
    let mut cursor = handler.walk();
    let block = handler
        .named_children(&mut cursor)
        .find(|c| c.kind_name() == "block")?;
    let mut cursor = block.walk();
    block
        .named_children(&mut cursor)
        .filter(|s| s.kind_name() != "comment")
        .last()
}

/// Whether `statement` ends the program: `exit(1)`, `sys.exit(...)`,
/// `os._exit(1)`, `raise SystemExit(...)`.
fn ends_program(statement: Node, source: &str) -> bool {
    let called = match statement.kind_name() {
        "expression_statement" => statement.named_child(0).filter(|c| c.kind_name() == "call"),
        "raise_statement" => statement.named_child(0),
        _ => None,
    };
    let Some(called) = called else {
        return false;
    };
    let function = match called.kind_name() {
        "call" => called.field("function"),
        _ => Some(called),
    };
    let name = function.map(|f| text(f, source)).unwrap_or_default();
    let ending = matches!(
        name,
        "exit" | "quit" | "sys.exit" | "os._exit" | "os.abort" | "SystemExit"
    );
    ending && (statement.kind_name() == "raise_statement") == (name == "SystemExit")
}

/// Whether the call whose callee is the identifier `n` (or `x.n`) is a
/// statement of its own followed by one that ends the program
/// (`self.send_command(cmd)` then `sys.exit(0)`).
fn exits_after(n: Node, up: &[Node], source: &str) -> bool {
    let Some((mut current, _)) = call_of(n, up, source) else {
        return false;
    };
    while let Some(above) = current.checked_sub(1) {
        let parent = up[above];
        match parent.kind_name() {
            "await" | "parenthesized_expression" => current = above,
            "expression_statement" => {
                let block = above.checked_sub(1).map(|b| up[b]);
                return named_sibling_after(parent, block, false)
                    .is_some_and(|statement| ends_program(statement, source));
            }
            _ => return false,
        }
    }
    false
}

/// The console scripts declared in a packaging file's text, each as
/// `module:function`: `pyproject.toml`'s `[project.scripts]`,
/// `[project.gui-scripts]` and `[tool.poetry.scripts]`, `setup.cfg`'s and
/// `setup.py`'s `console_scripts` and `gui_scripts`. (Other entry points
/// are plugins, loaded into whatever process asks for them.)
pub fn entry_points(text: &str) -> Vec<String> {
    // `setup.py` may write them as an INI text formatted with the
    // project's name: `buildout = %(name)s.buildout:main`.
    let named;
    let text = match (text.contains("%(name)s"), setup_name(text)) {
        (true, Some(name)) => {
            named = text.replace("%(name)s", &name);
            named.as_str()
        }
        _ => text,
    };
    let mut out = Vec::new();
    // In a script section: TOML until the next table, setup.cfg until the
    // next key at the indentation of `console_scripts`, setup.py until the
    // list closes.
    let mut section: Option<Section> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        // A TOML table or setup.cfg section (`[project.entry-points."x"]`);
        // a list in setup.py has an `=` in it.
        if trimmed.starts_with('[') && trimmed.ends_with(']') && !trimmed.contains('=') {
            let table = trimmed.trim_matches(['[', ']']).trim();
            section = matches!(
                table,
                "project.scripts"
                    | "project.gui-scripts"
                    | "tool.poetry.scripts"
                    // An INI text of entry points (`entry_points.txt`, or
                    // one written out in `setup.py`).
                    | "console_scripts"
                    | "gui_scripts"
            )
            .then_some(Section::Table);
            continue;
        }
        let names_scripts = ["console_scripts", "gui_scripts"]
            .iter()
            .any(|k| trimmed.contains(k));
        if names_scripts {
            section = Some(
                if trimmed.contains([':', '{']) && trimmed.contains(['\'', '"']) {
                    Section::List
                } else {
                    Section::Cfg(indent)
                },
            );
        } else if let Some(Section::Cfg(key_indent)) = section
            && !trimmed.is_empty()
            && indent <= key_indent
        {
            section = None;
        }
        if section.is_none() {
            continue;
        }
        out.extend(scripts_in(line));
        if matches!(section, Some(Section::List)) && trimmed.contains(']') {
            section = None;
        }
    }
    out
}

/// The files `setup.py` installs as scripts (`scripts=["bin/tool",
/// ...]`), as written.
pub fn declared_scripts(setup_py: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = setup_py;
    while let Some(at) = rest.find("scripts") {
        let before = &rest[..at];
        let after = &rest[at + "scripts".len()..];
        rest = after;
        // `console_scripts`, `gui_scripts`, `my_scripts` are other names.
        if before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let Some(list) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(list) = list.trim_start().strip_prefix(['[', '(']) else {
            continue;
        };
        let Some(end) = list.find([']', ')']) else {
            continue;
        };
        for item in list[..end].split(',') {
            let item = item.trim();
            let quoted = item.len() >= 2
                && (item.starts_with('"') && item.ends_with('"')
                    || item.starts_with('\'') && item.ends_with('\''));
            if quoted {
                out.push(item[1..item.len() - 1].to_string());
            }
        }
    }
    out
}

/// The project functions a script installed as it is calls, as
/// `module:function`: `aj.entry.start(...)` after `import aj.entry`,
/// `main()` after `from tool.cli import main`. (A quick scan of a file
/// that is Python by its first line, no parse.)
pub fn script_calls(script: &str) -> Vec<String> {
    let Some(first) = script.lines().next() else {
        return Vec::new();
    };
    if !(first.starts_with("#!") && first.contains("python")) {
        return Vec::new();
    }
    let mut modules: HashSet<&str> = HashSet::new();
    let mut imported: HashMap<&str, &str> = HashMap::new();
    for line in script.lines() {
        let line = line.trim();
        if let Some(names) = line.strip_prefix("import ") {
            for name in names.split(',') {
                let name = name.trim();
                if !name.contains(' ') {
                    modules.insert(name);
                }
            }
        } else if let Some(rest) = line.strip_prefix("from ")
            && let Some((module, names)) = rest.split_once(" import ")
        {
            for name in names.trim_matches(['(', ')', ' ']).split(',') {
                let name = name.trim();
                if !name.is_empty() && !name.contains(' ') {
                    imported.insert(name, module.trim());
                }
            }
        }
    }
    let mut out = Vec::new();
    let bytes = script.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii_alphabetic() || bytes[at] == b'_' {
            let start = at;
            while at < bytes.len()
                && (bytes[at].is_ascii_alphanumeric() || matches!(bytes[at], b'_' | b'.'))
            {
                at += 1;
            }
            let dotted = &script[start..at];
            let called = bytes.get(at) == Some(&b'(');
            let fresh = start == 0 || !matches!(bytes[start - 1], b'.' | b'_');
            // A class (`hpilo.Ilo(...)`) is no command: its instances go
            // wherever the library's users take them.
            let function = dotted.rsplit('.').next().unwrap_or(dotted);
            let lower = function.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
            if called && fresh && lower {
                let found = match dotted.rsplit_once('.') {
                    Some((module, function)) if modules.contains(module) => {
                        Some(format!("{module}:{function}"))
                    }
                    None => imported.get(dotted).map(|m| format!("{m}:{dotted}")),
                    _ => None,
                };
                out.extend(found);
            }
        } else {
            at += 1;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The project's name as `setup.py` binds it at module level: `name =
/// "zc.buildout"`.
fn setup_name(setup_py: &str) -> Option<String> {
    setup_py.lines().find_map(|line| {
        let value = line
            .strip_prefix("name")?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
        let inner = value.strip_prefix(quote)?.strip_suffix(quote)?;
        let plain = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        plain.then(|| inner.to_string())
    })
}

#[derive(Clone, Copy)]
enum Section {
    /// A TOML table of scripts.
    Table,
    /// The value of `console_scripts =` in `setup.cfg`, at this indentation.
    Cfg(usize),
    /// The list of `'console_scripts': [...]` in `setup.py`.
    List,
}

/// The `name = module:function` entries written on one line.
fn scripts_in(line: &str) -> Vec<String> {
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                !part.is_empty()
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !part.starts_with(|c: char| c.is_ascii_digit())
            })
    };
    let mut out = Vec::new();
    for (at, _) in line.match_indices('=') {
        let value = line[at + 1..].trim_start_matches([' ', '\t', '"', '\'']);
        let end = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':')))
            .unwrap_or(value.len());
        let Some((module, function)) = value[..end].split_once(':') else {
            continue;
        };
        if dotted(module) && dotted(function) {
            out.push(format!("{module}:{function}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files as `(source, module)`, the first `one_shot` of them
    /// command files; the candidates by index into them.
    fn run(
        files: &[(&str, &str)],
        one_shot: usize,
        entry: &[&str],
        candidates: &[(usize, &str)],
    ) -> usize {
        run_asking(files, one_shot, entry, candidates, Ends::Exceptions)
    }

    fn run_asking(
        files: &[(&str, &str)],
        one_shot: usize,
        entry: &[&str],
        candidates: &[(usize, &str)],
        ends: Ends,
    ) -> usize {
        run_with_scripts(files, one_shot, entry, &[], candidates, ends)
    }

    /// As `run_asking`, with the calls of scripts installed as they are.
    fn run_with_scripts(
        files: &[(&str, &str)],
        one_shot: usize,
        entry: &[&str],
        scripts: &[&str],
        candidates: &[(usize, &str)],
        ends: Ends,
    ) -> usize {
        let program: Vec<ProgramFile> = files
            .iter()
            .enumerate()
            .map(|(i, (_, module))| ProgramFile {
                module,
                production: true,
                one_shot: i < one_shot,
            })
            .collect();
        let defined: HashSet<String> = files.iter().flat_map(|(s, _)| defined_names(s)).collect();
        let index = WordIndex::new(files.iter().map(|(s, _)| words_in(s, &defined)).collect());
        let load = |i: usize| Some(files[i].0.to_string());
        let entry: Vec<String> = entry.iter().map(|e| e.to_string()).collect();
        let scripts: Vec<String> = scripts.iter().map(|e| e.to_string()).collect();
        let candidates: Vec<(usize, String, Ends)> = candidates
            .iter()
            .map(|(f, n)| (*f, n.to_string(), ends))
            .collect();
        only_in_commands(&program, &load, &index, &entry, &scripts, &candidates).len()
    }

    #[test]
    fn reads_console_scripts() {
        let pyproject = "[project.scripts]\nmycli = \"mycli.main:main\"\n";
        assert_eq!(entry_points(pyproject), ["mycli.main:main"]);
        let setup = "    entry_points={'console_scripts': ['spm = salt.scripts:salt_spm',\n        'salt = salt.scripts:salt_main'],\n        'salt.loader': ['x = salt.loader:x']},\n";
        assert_eq!(
            entry_points(setup),
            ["salt.scripts:salt_spm", "salt.scripts:salt_main"]
        );
        let cfg = "[options.entry_points]\nconsole_scripts =\n    glance = glance.cmd:main\nglance_store.drivers =\n    http = glance_store.http:Store\n";
        assert_eq!(entry_points(cfg), ["glance.cmd:main"]);
        assert!(entry_points("url = \"https://example.org\"\n").is_empty());
        let plugins = "[project.scripts]\nsend = \"pkg.notify:send\"\n\n[project.entry-points.\"pytest11\"]\nplugin = \"pkg.plugin:setup\"\n";
        assert_eq!(entry_points(plugins), ["pkg.notify:send"]);
        let plugins = "[project.entry-points.\"pytest11\"]\nplugin = \"pkg.plugin:setup\"\n";
        assert!(entry_points(plugins).is_empty());
        // An INI text in `setup.py`, formatted with the project's name.
        let ini = "name = \"zc.buildout\"\nentry_points = \"\"\"\n[console_scripts]\nbuildout = %(name)s.buildout:main\n\n[zc.buildout]\ndebug = %(name)s.testrecipes:Debug\n\"\"\" % dict(name=name)\n";
        assert_eq!(entry_points(ini), ["zc.buildout.buildout:main"]);
    }

    #[test]
    fn reads_scripts_installed_as_they_are() {
        let setup = "setup(\n    name='ajenti-panel',\n    scripts=['ajenti-panel', \"bin/ajenti-ssl-gen\"],\n    entry_points={'console_scripts': ['x = y:z']},\n)\n";
        assert_eq!(
            declared_scripts(setup),
            ["ajenti-panel", "bin/ajenti-ssl-gen"]
        );
        assert!(declared_scripts("console_scripts = ['pwn=pwnlib.main:main']\n").is_empty());
        let script = "#!/usr/bin/env python3\nimport sys\nimport aj.entry\nfrom aj.tools import upgrade, check\n\nif __name__ == '__main__':\n    check()\n    aj.entry.start(config=load(sys.argv))\n    x.aj.entry.start()\n";
        assert_eq!(script_calls(script), ["aj.entry:start", "aj.tools:check"]);
        // Not Python by its first line: a shell script.
        assert!(script_calls("#!/bin/sh\nimport aj.entry\naj.entry.start()\n").is_empty());
    }

    #[test]
    fn a_call_whose_handlers_end_the_program_ends_it_when_it_raises() {
        let app = |handler: &str| {
            format!(
                "import sys\n\nclass App:\n    def check_broker(self):\n        pass\n\n    def ready(self):\n        try:\n            self.check_broker()\n{handler}"
            )
        };
        let candidates = [(0, "App.check_broker")];
        let ends = app(
            "        except Exception as exc:\n            print(exc)\n            sys.exit(1)\n",
        );
        assert_eq!(run(&[(&ends, "app")], 0, &[], &candidates), 1);
        let raises = app("        except BaseException:\n            raise SystemExit(2)\n");
        assert_eq!(run(&[(&raises, "app")], 0, &[], &candidates), 1);
        // A handler that goes on, one that catches only some exceptions,
        // or one among several that does not end: the program may go on.
        let goes_on = app("        except Exception as exc:\n            print(exc)\n");
        assert_eq!(run(&[(&goes_on, "app")], 0, &[], &candidates), 0);
        let some = app("        except KeyError:\n            sys.exit(1)\n");
        assert_eq!(run(&[(&some, "app")], 0, &[], &candidates), 0);
        let mixed = app(
            "        except KeyError:\n            pass\n        except Exception:\n            exit(1)\n",
        );
        assert_eq!(run(&[(&mixed, "app")], 0, &[], &candidates), 0);
        // Its return goes back to a caller that goes on.
        let returns = run_asking(&[(&ends, "app")], 0, &[], &candidates, Ends::Returns);
        assert_eq!(returns, 0);
        // A handler that raises again stops nothing: the next `try` out
        // decides, or the caller.
        let passed_on = app(
            "        except SystemExit:\n            cleanup()\n            raise\n        except Exception:\n            sys.exit(1)\n",
        );
        assert_eq!(run(&[(&passed_on, "app")], 0, &[], &candidates), 1);
        let nested = "import sys\n\ndef check_broker():\n    pass\n\ndef main():\n    try:\n        try:\n            check_broker()\n        except KeyError as e:\n            raise SystemExit(str(e))\n    except Exception:\n        sys.exit(1)\n";
        let entry = ["app:main"];
        assert_eq!(
            run(&[(nested, "app")], 0, &entry, &[(0, "check_broker")]),
            1
        );
        let retried = nested.replace("raise SystemExit(str(e))", "log(e)");
        assert_eq!(
            run(&[(&retried, "app")], 0, &entry, &[(0, "check_broker")]),
            0
        );
    }

    #[test]
    fn a_function_only_a_command_calls_runs_in_the_command() {
        let main =
            "from tool.runner import run_from_args\n\ndef main():\n    run_from_args(parse())\n";
        let runner =
            "def run_from_args(args):\n    checkup(args)\n\ndef checkup(args):\n    pass\n";
        let library = "def serve(args):\n    checkup(args)\n";
        let entry = ["tool.main:main"];
        let candidates = [(1, "run_from_args"), (1, "checkup")];
        let files = [(main, "tool.main"), (runner, "tool.runner")];
        assert_eq!(run(&files, 0, &entry, &candidates), 2);
        // Called from a library function too: the project's, kept.
        let files = [
            (main, "tool.main"),
            (runner, "tool.runner"),
            (library, "tool.server"),
        ];
        assert_eq!(run(&files, 0, &entry, &candidates), 1);
    }

    #[test]
    fn a_name_as_another_objects_attribute_is_no_caller() {
        let job = "import json\n\ndef load(path):\n    return json.load(open(path))\n";
        let files = [(job, "jobs.nightly"), (job, "app.views")];
        assert_eq!(run(&files, 1, &[], &[(1, "load")]), 0);
    }

    #[test]
    fn a_retried_call_or_a_thread_target_keeps_its_exceptions() {
        let retried = "def push():\n    pass\n\ndef main():\n    try:\n        push()\n    except OSError:\n        pass\n\nif __name__ == '__main__':\n    main()\n";
        assert_eq!(run(&[(retried, "tool.push")], 0, &[], &[(0, "push")]), 0);
        let threaded = "import threading\n\ndef push():\n    pass\n\ndef main():\n    threading.Thread(target=push).start()\n\nif __name__ == '__main__':\n    main()\n";
        assert_eq!(run(&[(threaded, "tool.push")], 0, &[], &[(0, "push")]), 0);
    }

    #[test]
    fn a_click_command_is_a_command() {
        let cli = "import click\nfrom tool.runner import run\n\n@click.command()\ndef entry():\n    run_from_args()\n\ndef main():\n    try:\n        entry.main(standalone_mode=False)\n    except click.Abort:\n        pass\n";
        let runner = "def run_from_args():\n    pass\n";
        let files = [(cli, "tool.main"), (runner, "tool.runner")];
        assert_eq!(run(&files, 0, &[], &[(1, "run_from_args")]), 1);
    }

    #[test]
    fn a_return_ends_the_program_only_as_the_callers_last_act() {
        let main = "import asyncio\nimport sys\nfrom tool import jobs\n\nasync def async_main(args):\n    if args.op == 'delete':\n        return await jobs.delete_all(args)\n    for item in args.items:\n        jobs.sync_one(item)\n    return 0\n\ndef main():\n    return asyncio.run(async_main(parse()))\n";
        let jobs = "def delete_all(args):\n    pass\n\ndef sync_one(item):\n    pass\n";
        let files = [(main, "tool.main"), (jobs, "tool.jobs")];
        let entry = ["tool.main:main"];
        let ask = |name| run_asking(&files, 0, &entry, &[(1, name)], Ends::Returns);
        assert_eq!(ask("delete_all"), 1);
        // Called in a loop: the command goes on after it returns.
        assert_eq!(ask("sync_one"), 0);
        // Its exceptions end the command all the same.
        assert_eq!(run(&files, 0, &entry, &[(1, "sync_one")]), 1);
        // `sys.exit(main())`, and the last call of the `__main__` block.
        for script in [
            "def main():\n    pass\n\nif __name__ == '__main__':\n    sys.exit(main())\n",
            "def main():\n    pass\n\nif __name__ == '__main__':\n    setup()\n    main()\n",
        ] {
            let files = [(script, "tool.script")];
            assert_eq!(run_asking(&files, 0, &[], &[(0, "main")], Ends::Returns), 1);
        }
        let not_last = "def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n    serve_forever()\n";
        let files = [(not_last, "tool.script")];
        assert_eq!(run_asking(&files, 0, &[], &[(0, "main")], Ends::Returns), 0);
    }

    #[test]
    fn a_return_followed_by_an_exit_ends_the_program() {
        let app = "import sys\n\nclass App:\n    def handle_commands(self):\n        if self.args.command:\n            self.send_command(self.args.command)\n            sys.exit(0)\n        self.serve()\n\n    def send_command(self, cmd):\n        pass\n\n    def notify(self, cmd):\n        pass\n\n    def run(self):\n        self.notify('start')\n        self.serve()\n";
        let ask = |name| run_asking(&[(app, "tool.app")], 0, &[], &[(0, name)], Ends::Returns);
        assert_eq!(ask("App.send_command"), 1);
        // Followed by more work: the program goes on.
        assert_eq!(ask("App.notify"), 0);
    }

    #[test]
    fn what_nothing_mentions_is_the_projects_api() {
        let library = "def fetch(url):\n    pass\n";
        assert_eq!(run(&[(library, "tool.http")], 0, &[], &[(0, "fetch")]), 0);
    }

    #[test]
    fn a_subcommand_table_of_a_console_script_names_commands() {
        let main = "from tool.commands import elfdiff\nfrom tool import common\n\ncommands = {\n    'elfdiff': elfdiff.main,\n    'version': show_version,\n}\n\ndef show_version(args):\n    pass\n\ndef main():\n    common.entrypoint(commands)\n";
        let elfdiff = "def main(args):\n    pass\n\ndef dump(args):\n    pass\n";
        let files = [(main, "tool.main"), (elfdiff, "tool.commands.elfdiff")];
        let entry = ["tool.main:main"];
        let ask = |file, name, ends| run_asking(&files, 0, &entry, &[(file, name)], ends);
        assert_eq!(ask(1, "main", Ends::Exceptions), 1);
        assert_eq!(ask(1, "main", Ends::Returns), 1);
        assert_eq!(ask(0, "show_version", Ends::Exceptions), 1);
        // Not in the table.
        assert_eq!(ask(1, "dump", Ends::Exceptions), 0);
        // The same table in a module no console script runs: a registry.
        assert_eq!(
            run_asking(&files, 0, &[], &[(1, "main")], Ends::Exceptions),
            0
        );
    }

    #[test]
    fn a_function_a_script_calls_runs_in_a_command_unless_the_library_calls_it_too() {
        let entry = "def start(config):\n    try:\n        serve(config)\n    except Exception as exc:\n        handle_crash(exc)\n\ndef handle_crash(exc):\n    pass\n\ndef serve(config):\n    pass\n";
        let worker = "def run(self):\n    self.thread.start()\n";
        let files = [(entry, "panel.entry"), (worker, "panel.worker")];
        let ask = |scripts: &[&str], name| {
            run_with_scripts(&files, 0, &[], scripts, &[(0, name)], Ends::Exceptions)
        };
        assert_eq!(ask(&["panel.entry:start"], "handle_crash"), 1);
        assert_eq!(ask(&["panel.entry:start"], "start"), 1);
        // No script calls it: the package's API.
        assert_eq!(ask(&[], "handle_crash"), 0);
        // The library calls it too, in a retry: kept.
        assert_eq!(ask(&["panel.entry:serve"], "serve"), 0);
    }

    #[test]
    fn a_script_block_is_a_command() {
        let tool = "def main():\n    pass\n\nif __name__ == \"__main__\":\n    main()\n";
        assert_eq!(run(&[(tool, "tool.cli_runner")], 0, &[], &[(0, "main")]), 1);
        // Registered at module level (a handler table): anyone may run it.
        let table = "def main():\n    pass\n\nHANDLERS = {\"main\": main}\n";
        assert_eq!(run(&[(table, "tool.handlers")], 0, &[], &[(0, "main")]), 0);
    }
}
