//! Which checked file is which Python module, what each file imports from
//! the others, and the groups to analyse them in so that a file comes after
//! the files it imports: their function summaries are then known when its
//! calls to them are analysed (`from payments.db import get_conn`).
//!
//! A file's module name follows the packages above it (directories with an
//! `__init__.py`): `src/payments/db.py` is `payments.db`. An import names a
//! module; it is found by that name, else (namespace packages, scripts run
//! from their directory) as the tail of a file's path; among several
//! matches, the one nearest the importing file wins (the same repository in
//! an audit of many). Imports are read from the text, without parsing: an
//! import inside a string only adds an ordering constraint.

use std::collections::HashMap;
use std::path::{Component, Path};

/// A checked file's place among the modules.
#[derive(Debug, Clone)]
pub struct ModuleFile {
    /// Import name: `payments.db`; for a package's `__init__.py`, the
    /// package: `payments`.
    pub name: String,
    /// The package relative imports start from: `payments` for
    /// `payments/db.py` and for `payments/__init__.py`.
    pub package: String,
    /// The path's names, `.py` and `__init__` dropped:
    /// `["src", "payments", "db"]`.
    path: Vec<String>,
}

impl ModuleFile {
    /// `is_package` tells whether a directory has an `__init__.py`.
    pub fn new(file: &Path, is_package: &mut dyn FnMut(&Path) -> bool) -> ModuleFile {
        let path: Vec<String> = file
            .with_extension("")
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                _ => None,
            })
            .filter(|n| n != "__init__")
            .collect();
        let init = file.file_stem().is_some_and(|s| s == "__init__");
        let mut names: Vec<String> = Vec::new();
        if !init && let Some(stem) = file.file_stem() {
            names.push(stem.to_string_lossy().into_owned());
        }
        let mut dir = file.parent();
        // The directory of an `__init__.py` is a package by definition.
        let mut first = init;
        while let Some(d) = dir {
            let Some(dir_name) = d.file_name() else { break };
            if !(first || is_package(d)) {
                break;
            }
            first = false;
            names.insert(0, dir_name.to_string_lossy().into_owned());
            dir = d.parent();
        }
        let name = names.join(".");
        let package = if init {
            name.clone()
        } else {
            names[..names.len().saturating_sub(1)].join(".")
        };
        ModuleFile {
            name,
            package,
            path,
        }
    }
}

/// One import statement's worth: the module and the names taken from it
/// (`None` for `import a.b`, which takes the whole module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub module: String,
    pub names: Option<Vec<String>>,
}

/// The imports in `source`, relative ones made absolute from `package`.
pub fn scan_imports(source: &str, package: &str) -> Vec<Imported> {
    let mut out = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let mut statement = line.trim().to_string();
        let is_import = statement.starts_with("import ") || statement.starts_with("from ");
        if !is_import {
            continue;
        }
        // `from a import (x,\n y)` and `\` continuations.
        while (statement.contains('(') && !statement.contains(')')) || statement.ends_with('\\') {
            let Some(next) = lines.next() else { break };
            statement = format!("{} {}", statement.trim_end_matches('\\'), next.trim());
        }
        let statement = statement
            .split('#')
            .next()
            .unwrap_or_default()
            .replace(['(', ')'], " ");
        if let Some(rest) = statement.strip_prefix("import ") {
            for part in rest.split(',') {
                let module = part.split_whitespace().next().unwrap_or_default();
                if is_dotted(module) {
                    out.push(Imported {
                        module: module.to_string(),
                        names: None,
                    });
                }
            }
        } else if let Some(rest) = statement.strip_prefix("from ") {
            let Some((module, names)) = rest.split_once(" import ") else {
                continue;
            };
            let Some(module) = absolute(module.trim(), package) else {
                continue;
            };
            // `*` stands for every public name of the module.
            let names: Vec<String> = names
                .split(',')
                .filter_map(|n| n.split_whitespace().next())
                .filter(|n| *n == "*" || (is_dotted(n) && !n.contains('.')))
                .map(str::to_string)
                .collect();
            out.push(Imported {
                module,
                names: Some(names),
            });
        }
    }
    out
}

fn is_dotted(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// `.db` in package `payments` is `payments.db`; `..` climbs one more.
fn absolute(module: &str, package: &str) -> Option<String> {
    let rest = module.trim_start_matches('.');
    let dots = module.len() - rest.len();
    if dots == 0 {
        return is_dotted(module).then(|| module.to_string());
    }
    let parts: Vec<&str> = package.split('.').filter(|p| !p.is_empty()).collect();
    let keep = (parts.len() + 1).checked_sub(dots)?;
    let mut out: Vec<&str> = parts[..keep].to_vec();
    if !rest.is_empty() {
        out.push(rest);
    }
    let joined = out.join(".");
    is_dotted(&joined).then_some(joined)
}

/// The checked files as modules, to find the file an import names.
pub struct Modules {
    files: Vec<ModuleFile>,
    by_name: HashMap<String, Vec<usize>>,
    /// Last name of the path to the files that end with it.
    by_last: HashMap<String, Vec<usize>>,
}

impl Modules {
    pub fn new(files: Vec<ModuleFile>) -> Modules {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_last: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            by_name.entry(f.name.clone()).or_default().push(i);
            if let Some(last) = f.path.last() {
                by_last.entry(last.clone()).or_default().push(i);
            }
        }
        Modules {
            files,
            by_name,
            by_last,
        }
    }

    pub fn file(&self, index: usize) -> &ModuleFile {
        &self.files[index]
    }

    /// The file that module `module` is, as imported from file `from`.
    pub fn resolve(&self, from: usize, module: &str) -> Option<usize> {
        let parts: Vec<&str> = module.split('.').collect();
        let exact = self.by_name.get(module).map(Vec::as_slice).unwrap_or(&[]);
        let candidates: Vec<usize> = if exact.is_empty() {
            self.by_last
                .get(*parts.last()?)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| self.files[i].path.ends_with_names(&parts))
                .collect()
        } else {
            exact.to_vec()
        };
        let here = &self.files[from].path;
        candidates
            .into_iter()
            .filter(|&i| i != from)
            .max_by(|&a, &b| {
                let shared = |i: usize| common_prefix(here, &self.files[i].path);
                // Nearest first; then the shorter path, then the first.
                (
                    shared(a),
                    std::cmp::Reverse(self.files[a].path.len()),
                    std::cmp::Reverse(a),
                )
                    .cmp(&(
                        shared(b),
                        std::cmp::Reverse(self.files[b].path.len()),
                        std::cmp::Reverse(b),
                    ))
            })
    }

    /// The file and function a qualified name names, as called from `from`:
    /// `payments.db.get_conn` is `get_conn` of the file `payments.db` is.
    pub fn function<'q>(&self, from: usize, qualified: &'q str) -> Option<(usize, &'q str)> {
        let (module, function) = qualified.rsplit_once('.')?;
        Some((self.resolve(from, module)?, function))
    }
}

trait EndsWithNames {
    fn ends_with_names(&self, names: &[&str]) -> bool;
}

impl EndsWithNames for Vec<String> {
    fn ends_with_names(&self, names: &[&str]) -> bool {
        self.len() >= names.len()
            && self[self.len() - names.len()..]
                .iter()
                .zip(names)
                .all(|(a, b)| a == b)
    }
}

fn common_prefix(a: &[String], b: &[String]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// What each file needs from the others: the files it depends on, and for
/// each file, which of its functions others import.
pub struct Dependencies {
    /// Per file, the files it imports from (sorted, no duplicates).
    pub imports: Vec<Vec<usize>>,
    /// Per file: every module-level function is wanted (`import a.b`), or
    /// these names (`from a.b import get_conn`).
    pub wanted_all: Vec<bool>,
    pub wanted: Vec<Vec<String>>,
    /// Per file, the names it takes from another checked file and so
    /// offers as its own (`from .db import get_conn` in a package's
    /// `__init__.py`): the file, and the names (`None` for `*`).
    pub reexports: Vec<Vec<(usize, Option<Vec<String>>)>>,
}

impl Dependencies {
    /// `imported[i]` is what file `i` imports (from `scan_imports`).
    pub fn new(modules: &Modules, imported: &[Vec<Imported>]) -> Dependencies {
        let n = imported.len();
        let mut imports = vec![Vec::new(); n];
        let mut wanted_all = vec![false; n];
        let mut wanted: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut reexports = vec![Vec::new(); n];
        for (from, list) in imported.iter().enumerate() {
            for imp in list {
                let module = modules.resolve(from, &imp.module);
                match &imp.names {
                    None => {
                        if let Some(m) = module {
                            imports[from].push(m);
                            wanted_all[m] = true;
                        }
                    }
                    Some(names) if names.iter().any(|n| n == "*") => {
                        if let Some(m) = module {
                            imports[from].push(m);
                            wanted_all[m] = true;
                            reexports[from].push((m, None));
                        }
                    }
                    Some(names) => {
                        let mut taken = Vec::new();
                        for name in names {
                            // `from payments import db`: a submodule.
                            let sub = modules.resolve(from, &format!("{}.{name}", imp.module));
                            if let Some(s) = sub {
                                imports[from].push(s);
                                wanted_all[s] = true;
                            } else if let Some(m) = module {
                                wanted[m].push(name.clone());
                                taken.push(name.clone());
                            }
                        }
                        // Only submodules taken (`from payments import db`):
                        // nothing of the package's own file is used, and no
                        // edge to it (which would tie the package's
                        // `__init__.py` and its modules into one group).
                        if let Some(m) = module
                            && !taken.is_empty()
                        {
                            imports[from].push(m);
                            reexports[from].push((m, Some(taken)));
                        }
                    }
                }
            }
        }
        for list in &mut imports {
            list.sort_unstable();
            list.dedup();
        }
        for names in &mut wanted {
            names.sort();
            names.dedup();
        }
        Dependencies {
            imports,
            wanted_all,
            wanted,
            reexports,
        }
    }

    /// The files in groups that import each other (strongly connected
    /// components), each group after the groups it imports; and, per file,
    /// its group.
    pub fn groups(&self) -> (Vec<Vec<usize>>, Vec<usize>) {
        let components = strongly_connected(&self.imports);
        let mut group_of = vec![0; self.imports.len()];
        for (c, members) in components.iter().enumerate() {
            for &m in members {
                group_of[m] = c;
            }
        }
        (components, group_of)
    }
}

/// Tarjan's strongly connected components, iteratively (import chains can
/// be long). Components come out after every component they reach.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, next edge to look at)
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*edge) {
                *edge += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                out.push(component);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn module(path: &str, packages: &[&str]) -> ModuleFile {
        let packages: Vec<PathBuf> = packages.iter().map(PathBuf::from).collect();
        ModuleFile::new(Path::new(path), &mut |d| packages.iter().any(|p| p == d))
    }

    #[test]
    fn module_names_follow_the_packages() {
        let packages = ["src/payments", "src/payments/app"];
        let db = module("src/payments/db.py", &packages);
        assert_eq!(
            (db.name.as_str(), db.package.as_str()),
            ("payments.db", "payments")
        );
        let app = module("src/payments/app/__init__.py", &packages);
        assert_eq!(
            (app.name.as_str(), app.package.as_str()),
            ("payments.app", "payments.app")
        );
        let script = module("tools/run.py", &packages);
        assert_eq!((script.name.as_str(), script.package.as_str()), ("run", ""));
    }

    #[test]
    fn imports_are_read_in_every_form() {
        let src = "import os, payments.db as db\nfrom .db import (get_conn,\n    release)\nfrom .. import settings  # noqa\nfrom . import models as m\nx = 'import nothing'\n";
        let found = scan_imports(src, "payments.app");
        let shown: Vec<String> = found
            .iter()
            .map(|i| format!("{} {:?}", i.module, i.names))
            .collect();
        assert_eq!(
            shown,
            [
                "os None",
                "payments.db None",
                "payments.app.db Some([\"get_conn\", \"release\"])",
                "payments Some([\"settings\"])",
                "payments.app Some([\"models\"])",
            ]
        );
    }

    #[test]
    fn a_package_offers_what_it_takes_from_its_modules() {
        let packages = ["payments"];
        let files = vec![
            module("payments/__init__.py", &packages),
            module("payments/db.py", &packages),
            module("payments/ledger.py", &packages),
            module("payments/repo.py", &packages),
        ];
        let modules = Modules::new(files);
        let imported = vec![
            scan_imports(
                "from .db import get_conn\nfrom .ledger import *\n",
                "payments",
            ),
            Vec::new(),
            Vec::new(),
            scan_imports("from payments import db\n", "payments"),
        ];
        let deps = Dependencies::new(&modules, &imported);
        assert_eq!(deps.imports[0], [1, 2]);
        assert_eq!(
            deps.reexports[0],
            [(1, Some(vec!["get_conn".to_string()])), (2, None)]
        );
        assert!(deps.wanted_all[2] && deps.wanted[1] == ["get_conn"]);
        // Only a submodule taken: no edge to the package's own file.
        assert_eq!(deps.imports[3], [1]);
        assert!(deps.reexports[3].is_empty());
    }

    #[test]
    fn the_nearest_module_wins() {
        let files = vec![
            module("repo_a/payments/db.py", &["repo_a/payments"]),
            module("repo_a/payments/handlers.py", &["repo_a/payments"]),
            module("repo_b/payments/db.py", &["repo_b/payments"]),
            module("repo_b/payments/handlers.py", &["repo_b/payments"]),
            module("scripts/tools/db.py", &[]),
        ];
        let modules = Modules::new(files);
        assert_eq!(modules.resolve(1, "payments.db"), Some(0));
        assert_eq!(modules.resolve(3, "payments.db"), Some(2));
        // A namespace package: found as the tail of a path.
        assert_eq!(modules.resolve(1, "tools.db"), Some(4));
        assert_eq!(
            modules.function(3, "payments.db.get_conn"),
            Some((2, "get_conn"))
        );
        assert_eq!(modules.resolve(1, "psycopg2"), None);
    }

    #[test]
    fn groups_put_imports_first_and_cycles_together() {
        let deps = Dependencies {
            // 0 imports 1; 1 and 2 import each other; 2 imports 3.
            imports: vec![vec![1], vec![2], vec![1, 3], vec![]],
            wanted_all: vec![false; 4],
            wanted: vec![Vec::new(); 4],
            reexports: vec![Vec::new(); 4],
        };
        let (groups, group_of) = deps.groups();
        assert_eq!(groups, vec![vec![3], vec![1, 2], vec![0]]);
        assert_eq!(group_of, vec![2, 1, 1, 0]);
    }
}
