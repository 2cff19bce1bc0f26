//! Correlated conditions: a small, bounded path-sensitivity. A path that
//! contradicts an earlier test of the same unchanged flag or condition is
//! infeasible:
//!
//! ```python
//! close = True                  # `close` is known true from here
//! try: ...
//! finally:
//!     if close: f.close()       # so the false branch is no path
//! ```
//!
//! Each function gets a table of *atoms*: names, attributes and pure
//! conditions (`owned`, `self._locked`, `conn is None`, `isinstance(x, T)`)
//! that are tested twice, or tested and assigned. A path carries what it
//! knows of each atom (true, false or nothing) in two bit sets; assigning a
//! name the atom reads forgets it. At most 64 atoms are tracked, so the
//! knowledge of a path is three `u64`s and the search stays cheap.
//!
//! A flag assigned a condition (`provided = session is not None`) is
//! *linked* to it until either is assigned again: learning one teaches the
//! other, so `if session is None: session = ClientSession()` makes
//! `provided` false, and a later `if not provided: session.close()` has no
//! false branch.

use crate::cfg::{Cfg, Edge, Kind, NodeId};
use crate::syntax::{NodeExt, compact_text, dotted_name, text};
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

const MAX_ATOMS: usize = 64;

/// What a path knows: `known` marks the atoms with a value, `value` holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(super) struct Knowledge {
    known: u64,
    value: u64,
    /// The flags whose link to the condition they were assigned still
    /// holds (see `Conditions::links`).
    linked: u64,
}

impl Knowledge {
    fn get(self, atom: usize) -> Option<bool> {
        let bit = 1u64 << atom;
        (self.known & bit != 0).then_some(self.value & bit != 0)
    }

    fn set(&mut self, atom: usize, value: bool) {
        let bit = 1u64 << atom;
        self.known |= bit;
        if value {
            self.value |= bit;
        } else {
            self.value &= !bit;
        }
    }

    fn forget(&mut self, atoms: u64) {
        self.known &= !atoms;
        self.value &= !atoms;
    }

    fn unlink(&mut self, flags: u64) {
        self.linked &= !flags;
    }

    /// This knowledge, kept only where `earlier` already knew something:
    /// a path that learns nothing new splits into no new states.
    pub(super) fn within(self, earlier: Knowledge) -> Knowledge {
        let known = self.known & earlier.known;
        Knowledge {
            known,
            value: self.value & known,
            linked: self.linked & earlier.linked,
        }
    }

    /// What both know.
    fn meet(self, other: Knowledge) -> Knowledge {
        let known = self.known & other.known & !(self.value ^ other.value);
        Knowledge {
            known,
            value: self.value & known,
            linked: self.linked & other.linked,
        }
    }
}

/// A condition over atoms.
#[derive(Debug, Clone)]
enum Expr {
    Atom(usize),
    Const(bool),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Unknown,
}

#[derive(Debug)]
struct Atom {
    /// The dotted names the atom reads: assigning one forgets the atom.
    reads: Vec<String>,
    /// For `x` its `x is None`, and the other way round: knowing one says
    /// something of the other.
    truthy_of: Option<usize>,
    none_of: Option<usize>,
    /// For `mode == "unix"`: the atoms comparing the same thing with other
    /// literals (`mode == "tcp"`), false when this one is true.
    excludes: Vec<usize>,
}

/// What one graph node does to the knowledge of a path.
#[derive(Debug, Default, Clone)]
struct NodeEffect {
    test: Option<Expr>,
    forgets: u64,
    /// `flag = True`, `conn = None`: atom and value.
    sets: Vec<(usize, bool)>,
    /// `new = old`: the new atom takes the old one's value.
    copies: Vec<(usize, usize)>,
    /// The flags and links this node breaks: a flag assigned anew, or one
    /// whose condition reads a name assigned here.
    unlinks: u64,
    /// `provided = session is not None`: the flag this node links to its
    /// condition.
    links: Option<usize>,
}

pub(super) struct Conditions {
    atoms: Vec<Atom>,
    /// Atom ids by their canonical text: `conn`, `conn is None`.
    ids: HashMap<String, usize>,
    /// Per name, the atoms that test it against a descriptor's range
    /// (`fd >= 0`, `fd == -1`), and whether each is true of a valid one.
    validity: HashMap<String, Vec<(usize, bool)>>,
    /// Names bound to a process id from `os.fork()` (0 in the child, a
    /// positive pid in the parent): `pid == 0` is `not pid`.
    pids: HashSet<String>,
    /// Per thing compared with literals (`mode`), its atoms (`mode == "unix"`).
    compared: HashMap<String, Vec<usize>>,
    /// Per flag atom, the condition atom it was assigned and the value of
    /// that atom when the flag is true: `provided = session is not None`
    /// links `provided` to `session is None` with `false`. Only for a flag
    /// every assignment of which gives it the same condition.
    links: Vec<Option<(usize, bool)>>,
    nodes: Vec<NodeEffect>,
}

/// A value an assignment gives a name, as far as truth goes.
#[derive(Clone, Copy)]
enum Literal {
    None,
    Truthy,
    Falsy,
    /// A negative integer: the `fd = -1` of code that marks a descriptor as
    /// closed.
    Negative,
}

impl Conditions {
    /// The atoms of `graph`'s conditions (and of the conditional
    /// expressions in `guards`), and what each node does to them.
    pub(super) fn build(graph: &Cfg, guards: &[Node], source: &str) -> Conditions {
        let mut c = Conditions {
            atoms: Vec::new(),
            ids: HashMap::new(),
            validity: HashMap::new(),
            pids: fork_pids(graph),
            compared: HashMap::new(),
            links: Vec::new(),
            nodes: vec![NodeEffect::default(); graph.nodes.len()],
        };
        // Which texts are worth an atom: tested twice, or tested and
        // assigned in this function.
        let mut tested: HashMap<String, usize> = HashMap::new();
        let mut assigned: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let tests: Vec<(NodeId, Node)> = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == Kind::Cond)
            .filter_map(|(id, n)| {
                n.syntax
                    .filter(|s| is_if_or_while_test(*s))
                    .map(|s| (id, s))
            })
            .collect();
        for &(_, cond) in &tests {
            count_atoms(cond, source, &c.pids, &mut tested);
        }
        for &cond in guards {
            count_atoms(cond, source, &c.pids, &mut tested);
        }
        // `provided = session is not None`: a condition kept in a flag is
        // tested where the flag is.
        let flags: Vec<(NodeId, &str, Node)> = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == Kind::Eval)
            .filter_map(|(id, n)| {
                let (flag, value) = flag_assignment(n.syntax?, source)?;
                Some((id, flag, value))
            })
            .collect();
        for &(_, _, value) in &flags {
            count_atoms(value, source, &c.pids, &mut tested);
        }
        for node in &graph.nodes {
            assigned.extend(node.facts.binds.iter().map(String::as_str));
            assigned.extend(node.facts.stores.iter().map(String::as_str));
        }
        // (`conn.is_open` of a `conn` bound here: what an acquisition makes
        // is open, see `holds_object`.)
        let worth = |canonical: &str, reads: &[String]| {
            tested.get(canonical).copied().unwrap_or(0) >= 2
                || reads.iter().any(|r| {
                    assigned.contains(r.as_str())
                        || r.rsplit_once('.').is_some_and(|(object, attribute)| {
                            OPEN_STATE.iter().any(|(a, _)| *a == attribute)
                                && assigned.contains(object)
                        })
                })
        };
        for &(id, cond) in &tests {
            let expr = c.parse(cond, source, &worth);
            c.nodes[id].test = Some(expr);
        }
        for &cond in guards {
            c.parse(cond, source, &worth);
        }
        if c.atoms.is_empty() {
            return c;
        }
        c.links = vec![None; c.atoms.len()];
        let mut mixed: HashSet<usize> = HashSet::new();
        for &(id, flag, value) in &flags {
            let Some(&f) = c.ids.get(flag) else { continue };
            let link = match c.lookup(value, source) {
                Expr::Atom(a) => Some((a, true)),
                Expr::Not(inner) => match *inner {
                    Expr::Atom(a) => Some((a, false)),
                    _ => None,
                },
                _ => None,
            };
            match (link, c.links[f]) {
                (Some(l), None) if !mixed.contains(&f) && l.0 != f => c.links[f] = Some(l),
                (Some(l), Some(old)) if l == old => {}
                _ => {
                    mixed.insert(f);
                    c.links[f] = None;
                }
            }
            if c.links[f].is_some() {
                c.nodes[id].links = Some(f);
            }
        }
        for node in &mut c.nodes {
            if node.links.is_some_and(|f| c.links[f].is_none()) {
                node.links = None;
            }
        }
        for (id, node) in graph.nodes.iter().enumerate() {
            let facts = &node.facts;
            let mut forgets = 0u64;
            for (i, atom) in c.atoms.iter().enumerate() {
                let hit = atom.reads.iter().any(|r| {
                    facts.binds.iter().any(|b| reads_name(r, b))
                        || facts.stores.iter().any(|s| reads_name(r, s))
                });
                if hit {
                    forgets |= 1 << i;
                }
            }
            let mut sets = Vec::new();
            if let Some(syntax) = node.syntax
                && node.kind == Kind::Eval
            {
                literal_assignments(syntax, source, &mut |target, lit| {
                    c.literal_sets(target, lit, &mut sets)
                });
            }
            let mut copies = Vec::new();
            for (new, old) in &facts.aliases {
                let pairs = [
                    (new.clone(), old.clone()),
                    (format!("{new} is None"), format!("{old} is None")),
                ];
                for (n, o) in pairs {
                    if let (Some(&n), Some(&o)) = (c.ids.get(&n), c.ids.get(&o)) {
                        copies.push((n, o));
                    }
                }
            }
            let mut unlinks = forgets;
            for (flag, link) in c.links.iter().enumerate() {
                if let Some((atom, _)) = link
                    && forgets & (1 << atom) != 0
                {
                    unlinks |= 1 << flag;
                }
            }
            c.nodes[id].forgets = forgets;
            c.nodes[id].unlinks = unlinks;
            c.nodes[id].sets = sets;
            c.nodes[id].copies = copies;
        }
        c
    }

    fn literal_sets(&self, target: &str, lit: Literal, out: &mut Vec<(usize, bool)>) {
        let truthy = self.ids.get(target).copied();
        let none = self.ids.get(&format!("{target} is None")).copied();
        let (t, n) = match lit {
            Literal::None => (Some(false), Some(true)),
            Literal::Truthy | Literal::Negative => (Some(true), Some(false)),
            Literal::Falsy => (Some(false), Some(false)),
        };
        if let (Some(a), Some(v)) = (truthy, t) {
            out.push((a, v));
        }
        if let (Some(a), Some(v)) = (none, n) {
            out.push((a, v));
        }
        // `fd = -1` (or `None`) marks the descriptor closed; `fd = 0` and
        // the like are valid descriptors.
        let valid = !matches!(lit, Literal::Negative | Literal::None);
        for &(atom, true_when_valid) in self.validity.get(target).into_iter().flatten() {
            out.push((atom, valid == true_when_valid));
        }
    }

    /// What every path from the function's entry knows on reaching each
    /// node (a forward analysis that keeps what all incoming paths agree on).
    /// `None` for a node the graph reaches only by paths that contradict
    /// themselves (`can_mmap = False` ... `if can_mmap: m = mmap(...)`):
    /// nothing there runs. (A node the graph itself does not reach, such as
    /// a handler of a `try` with no call in it, is left to the search.)
    pub(super) fn known_before(&self, graph: &Cfg) -> Vec<Option<Knowledge>> {
        let n = graph.nodes.len();
        if self.atoms.is_empty() {
            return vec![Some(Knowledge::default()); n];
        }
        let mut before: Vec<Option<Knowledge>> = vec![None; n];
        let mut queued = vec![false; n];
        before[graph.entry] = Some(Knowledge::default());
        let mut work = std::collections::VecDeque::from([graph.entry]);
        while let Some(id) = work.pop_front() {
            queued[id] = false;
            let Some(k) = before[id] else { continue };
            for &(edge, next) in &graph.nodes[id].succs {
                let Some(after) = self.step(id, edge, k) else {
                    continue;
                };
                let merged = match before[next] {
                    Some(old) => old.meet(after),
                    None => after,
                };
                if before[next] != Some(merged) {
                    before[next] = Some(merged);
                    if !queued[next] {
                        queued[next] = true;
                        work.push_back(next);
                    }
                }
            }
        }
        let mut reached = vec![false; n];
        reached[graph.entry] = true;
        let mut work = vec![graph.entry];
        while let Some(id) = work.pop() {
            for &(_, next) in &graph.nodes[id].succs {
                if !reached[next] {
                    reached[next] = true;
                    work.push(next);
                }
            }
        }
        before
            .into_iter()
            .zip(reached)
            .map(|(k, reached)| match k {
                None if !reached => Some(Knowledge::default()),
                k => k,
            })
            .collect()
    }

    /// Whether any atom is tracked: without one the search need not carry
    /// knowledge at all.
    pub(super) fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }

    /// Knowledge that `name` holds a live object (just acquired): truthy,
    /// not `None`, not `closed`, `is_open`, a valid descriptor (`fd >= 0`), and an instance of the
    /// class that made it (`isinstance(m, mmap.mmap)` after `m =
    /// mmap.mmap(...)`; `made_by` is the acquiring call as written).
    pub(super) fn holds_object(
        &self,
        knowledge: &mut Knowledge,
        name: &str,
        made_by: Option<&str>,
    ) {
        // The name holds a new value: a flag assigned a condition on the
        // old one (`provided = session is not None`) keeps what it was.
        for (flag, link) in self.links.iter().enumerate() {
            if let Some((cond, _)) = link
                && self.atoms[*cond].reads.iter().any(|r| reads_name(r, name))
            {
                knowledge.unlink(1 << flag);
            }
        }
        if let Some(class) = made_by
            && let Some(&a) = self.ids.get(&format!("isinstance({name},{class})"))
        {
            self.learn_atom(knowledge, a, true);
        }
        for &(atom, true_when_valid) in self.validity.get(name).into_iter().flatten() {
            knowledge.set(atom, true_when_valid);
        }
        if let Some(&a) = self.ids.get(name) {
            self.learn_atom(knowledge, a, true);
        }
        if let Some(&a) = self.ids.get(&format!("{name} is None")) {
            self.learn_atom(knowledge, a, false);
        }
        // A file or socket just opened is not closed; a connection just
        // opened is open (`if connection.is_open: connection.close()`).
        for (attribute, value) in OPEN_STATE {
            if let Some(&a) = self.ids.get(&format!("{name}.{attribute}")) {
                self.learn_atom(knowledge, a, value);
            }
        }
    }

    /// Knowledge from taking `branch` of the conditional expression whose
    /// test is `cond` (`pool.getconn() if pooled else connect()`).
    pub(super) fn learn_guard(
        &self,
        knowledge: &mut Knowledge,
        cond: Node,
        source: &str,
        branch: bool,
    ) {
        let expr = self.lookup(cond, source);
        self.learn(knowledge, &expr, branch);
    }

    /// The knowledge after `node`, leaving by `edge`; `None` when the edge
    /// contradicts what the path knows.
    pub(super) fn step(&self, node: NodeId, edge: Edge, before: Knowledge) -> Option<Knowledge> {
        let effect = &self.nodes[node];
        let mut k = before;
        if let Some(test) = &effect.test {
            let taken = match edge {
                Edge::True => Some(true),
                Edge::False => Some(false),
                _ => None,
            };
            if let Some(taken) = taken {
                if eval(test, k).is_some_and(|v| v != taken) {
                    return None;
                }
                self.learn(&mut k, test, taken);
            }
            return Some(k);
        }
        if matches!(edge, Edge::Raise(_)) {
            // An exception from a statement leaves its names as they were:
            // in `sock = wrap(sock)`, a `wrap()` that raises binds nothing.
            return Some(k);
        }
        k.forget(effect.forgets);
        k.unlink(effect.unlinks);
        if let Some(flag) = effect.links
            && let Some((atom, when_true)) = self.links[flag]
        {
            k.linked |= 1 << flag;
            if let Some(v) = before.get(atom) {
                k.set(flag, v == when_true);
            }
        }
        for &(new, old) in &effect.copies {
            match before.get(old) {
                Some(v) => k.set(new, v),
                None => k.forget(1 << new),
            }
        }
        for &(atom, value) in &effect.sets {
            k.set(atom, value);
        }
        Some(k)
    }

    fn learn(&self, k: &mut Knowledge, expr: &Expr, value: bool) {
        match expr {
            Expr::Atom(a) => self.learn_atom(k, *a, value),
            Expr::Not(inner) => self.learn(k, inner, !value),
            Expr::And(parts) if value => parts.iter().for_each(|p| self.learn(k, p, true)),
            Expr::Or(parts) if !value => parts.iter().for_each(|p| self.learn(k, p, false)),
            _ => {}
        }
    }

    fn learn_atom(&self, k: &mut Knowledge, atom: usize, value: bool) {
        k.set(atom, value);
        // A linked flag and its condition teach each other (once: each
        // learns only what it does not know yet).
        for (flag, link) in self.links.iter().enumerate() {
            let Some((cond, when_true)) = *link else {
                continue;
            };
            if k.linked & (1 << flag) == 0 {
                continue;
            }
            let (other, other_value) = if flag == atom {
                (cond, value == when_true)
            } else if cond == atom {
                (flag, value == when_true)
            } else {
                continue;
            };
            if k.get(other) != Some(other_value) {
                self.learn_atom(k, other, other_value);
            }
        }
        let a = &self.atoms[atom];
        // `x` true means `x is None` false; `x is None` true means `x` false.
        if let Some(none) = a.none_of
            && value
        {
            k.set(none, false);
        }
        if let Some(truthy) = a.truthy_of
            && value
        {
            k.set(truthy, false);
        }
        if value {
            for &other in &a.excludes {
                k.set(other, false);
            }
        }
    }

    /// The expression of `cond` over the atoms already known, without
    /// adding any.
    fn lookup(&self, cond: Node, source: &str) -> Expr {
        parse_expr(cond, source, &self.pids, 0, &mut |candidate| {
            self.ids
                .get(&candidate.canonical)
                .map_or(Expr::Unknown, |&id| Expr::Atom(id))
        })
    }

    /// Adds the atoms of `cond` that are `worth` tracking, then returns its
    /// expression.
    fn parse(&mut self, cond: Node, source: &str, worth: &dyn Fn(&str, &[String]) -> bool) -> Expr {
        let mut found = Vec::new();
        parse_expr(cond, source, &self.pids, 0, &mut |candidate| {
            found.push(candidate);
            Expr::Unknown
        });
        for candidate in found {
            if self.atoms.len() >= MAX_ATOMS {
                break;
            }
            let compared_often = candidate
                .compares
                .as_ref()
                .is_some_and(|subject| worth(&compared_key(subject), &[]));
            if self.ids.contains_key(&candidate.canonical)
                || !(worth(&candidate.canonical, &candidate.reads) || compared_often)
            {
                continue;
            }
            let id = self.atoms.len();
            if let Some(subject) = &candidate.compares {
                let rivals = self.compared.entry(subject.clone()).or_default();
                for &rival in rivals.iter() {
                    self.atoms[rival].excludes.push(id);
                }
                let excludes = rivals.clone();
                rivals.push(id);
                self.atoms.push(Atom {
                    reads: candidate.reads,
                    truthy_of: None,
                    none_of: None,
                    excludes,
                });
            } else {
                self.atoms.push(Atom {
                    reads: candidate.reads,
                    truthy_of: None,
                    none_of: None,
                    excludes: Vec::new(),
                });
            }
            // Pair `x is None` with `x` when both are atoms.
            let (truthy_text, none_text) = match candidate.none_test_of {
                Some(name) => (name, candidate.canonical.clone()),
                None => (
                    candidate.canonical.clone(),
                    format!("{} is None", candidate.canonical),
                ),
            };
            if let Some((name, true_when_valid)) = candidate.validity_of {
                self.validity
                    .entry(name)
                    .or_default()
                    .push((id, true_when_valid));
            }
            self.ids.insert(candidate.canonical, id);
            if let (Some(&t), Some(&n)) = (self.ids.get(&truthy_text), self.ids.get(&none_text)) {
                self.atoms[t].none_of = Some(n);
                self.atoms[n].truthy_of = Some(t);
            }
        }
        self.lookup(cond, source)
    }
}

/// The attributes that say whether an object is open, and their value on
/// one just acquired.
const OPEN_STATE: [(&str, bool); 3] = [("closed", false), ("is_closed", false), ("is_open", true)];

/// A possible atom met while reading a condition.
struct Candidate {
    /// `conn`, `conn is None`, `self.mode=="w"`.
    canonical: String,
    reads: Vec<String>,
    /// For `x is None`: `x`.
    none_test_of: Option<String>,
    /// For `fd >= 0`, `fd == -1` and the like: the name, and whether the
    /// test is true of a valid descriptor.
    validity_of: Option<(String, bool)>,
    /// For `mode == "unix"`: what is compared (`mode`). Two such tests of
    /// one thing against different literals cannot both be true.
    compares: Option<String>,
}

impl Candidate {
    /// The truth of a name (`conn`, `self.ready`).
    fn truth_of(name: String) -> Candidate {
        Candidate {
            canonical: name.clone(),
            reads: vec![name],
            none_test_of: None,
            validity_of: None,
            compares: None,
        }
    }
}

/// Turns each candidate atom into an expression (an atom id, or unknown).
type AtomOf<'a> = dyn FnMut(Candidate) -> Expr + 'a;

const MAX_EXPR_DEPTH: usize = 16;

fn parse_expr(
    node: Node,
    source: &str,
    pids: &HashSet<String>,
    depth: usize,
    atom: &mut AtomOf,
) -> Expr {
    if depth > MAX_EXPR_DEPTH {
        return Expr::Unknown;
    }
    match node.kind_name() {
        "parenthesized_expression" => node.named_child(0).map_or(Expr::Unknown, |n| {
            parse_expr(n, source, pids, depth + 1, atom)
        }),
        "not_operator" => node.field("argument").map_or(Expr::Unknown, |n| {
            Expr::Not(Box::new(parse_expr(n, source, pids, depth + 1, atom)))
        }),
        "boolean_operator" => {
            let (Some(l), Some(r)) = (node.field("left"), node.field("right")) else {
                return Expr::Unknown;
            };
            let op = node.field("operator").map_or("", |o| o.kind_name());
            let parts = vec![
                parse_expr(l, source, pids, depth + 1, atom),
                parse_expr(r, source, pids, depth + 1, atom),
            ];
            if op == "and" {
                Expr::And(parts)
            } else {
                Expr::Or(parts)
            }
        }
        "true" => Expr::Const(true),
        "false" => Expr::Const(false),
        "identifier" | "attribute" => match dotted_name(node, source) {
            Some(name) => atom(Candidate::truth_of(name)),
            None => Expr::Unknown,
        },
        "comparison_operator" => {
            // `pid == 0` on a pid from `os.fork()` is `not pid`.
            if let Some((name, is_zero)) = zero_test(node, source).filter(|(n, _)| pids.contains(n))
            {
                let e = atom(Candidate::truth_of(name));
                return if is_zero { Expr::Not(Box::new(e)) } else { e };
            }
            if let Some((name, is_none)) = none_test(node, source) {
                let e = atom(Candidate {
                    canonical: format!("{name} is None"),
                    reads: vec![name.clone()],
                    none_test_of: Some(name),
                    validity_of: None,
                    compares: None,
                });
                return if is_none { e } else { Expr::Not(Box::new(e)) };
            }
            // `opened is True` of a flag: `opened` (the flags tracked are
            // set to `True` and `False`).
            if let Some((name, is_true)) = bool_test(node, source) {
                let e = atom(Candidate::truth_of(name));
                return if is_true { e } else { Expr::Not(Box::new(e)) };
            }
            // `'fd' in locals()`: true exactly when `fd` was bound, as it
            // is once the descriptor is open.
            if let Some((name, bound)) = bound_test(node, source) {
                return atom(Candidate {
                    canonical: compact_text(node, source),
                    reads: vec![name.clone()],
                    none_test_of: None,
                    validity_of: Some((name, bound)),
                    compares: None,
                });
            }
            pure_atom(node, source, atom)
        }
        "call" => pure_atom(node, source, atom),
        _ => Expr::Unknown,
    }
}

/// A function that only looks at its arguments: the builtins that test a
/// type or attribute, and plain functions named as predicates
/// (`isfilelike(path)`, `is_text(data)`, `has_body(request)`). Methods
/// (`self.is_open()`) and module functions (`os.path.isfile(p)`, which asks
/// the file system) may answer differently the second time.
fn is_pure_predicate(function: &str) -> bool {
    matches!(
        function,
        "isinstance" | "hasattr" | "callable" | "issubclass"
    ) || (!function.contains('.')
        && (function.starts_with("is") || function.starts_with("has"))
        && function.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// A condition with no effects (`self.mode == "w"`, `isinstance(x, T)`) is
/// an atom of its own: testing it twice gives the same answer while what it
/// reads is unchanged.
fn pure_atom(node: Node, source: &str, atom: &mut AtomOf) -> Expr {
    let mut pure = true;
    let mut reads = Vec::new();
    crate::syntax::walk(node, |n| {
        match n.kind_name() {
            "call" => {
                let f = n.field("function").map(|f| text(f, source));
                if !f.is_some_and(is_pure_predicate) {
                    pure = false;
                }
                if let Some(args) = n.field("arguments") {
                    crate::syntax::walk(args, |a| {
                        if let Some(d) = matches!(a.kind_name(), "identifier" | "attribute")
                            .then(|| dotted_name(a, source))
                            .flatten()
                        {
                            reads.push(d);
                            return false;
                        }
                        true
                    });
                }
                return false;
            }
            "identifier" | "attribute" => {
                if let Some(d) = dotted_name(n, source) {
                    reads.push(d);
                    return false;
                }
            }
            // `config["bind"]["mode"]`: a lookup by literal keys reads what
            // the name holds, as an attribute does.
            "subscript" => {
                if let Some(base) = literal_lookup_base(n, source) {
                    // (Assigning the name, or the entry itself, forgets it.)
                    reads.push(base);
                    reads.push(compact_text(n, source));
                    return false;
                }
                pure = false;
            }
            "lambda" | "await" | "named_expression" => pure = false,
            _ => {}
        }
        pure
    });
    if !pure || reads.is_empty() {
        return Expr::Unknown;
    }
    if let Some((subject, literal, equal)) = equality_test(node, source) {
        let e = atom(Candidate {
            canonical: format!("{subject}=={literal}"),
            reads,
            none_test_of: None,
            validity_of: None,
            compares: Some(subject),
        });
        return if equal { e } else { Expr::Not(Box::new(e)) };
    }
    atom(Candidate {
        canonical: compact_text(node, source),
        reads,
        none_test_of: None,
        validity_of: descriptor_test(node, source).or_else(|| identity_test(node, source)),
        compares: None,
    })
}

/// For `a.b["k"][0]` (keys that are literals), the dotted name looked in:
/// `a.b`.
fn literal_lookup_base(subscript: Node, source: &str) -> Option<String> {
    let mut current = subscript;
    while current.kind_name() == "subscript" {
        let mut cursor = current.walk();
        let literal_keys = current
            .children_by_field_name("subscript", &mut cursor)
            .all(|k| matches!(k.kind_name(), "string" | "integer") && plain_literal(k));
        if !literal_keys {
            return None;
        }
        current = current.field("value")?;
    }
    dotted_name(current, source)
}

/// A literal with nothing computed in it (no f-string field).
fn plain_literal(node: Node) -> bool {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .all(|c| c.kind_name() != "interpolation")
}

/// `x == "unix"` (true) / `x != "unix"` (false), against a string or
/// integer literal: what is compared, as written, the literal, and the
/// polarity.
fn equality_test(node: Node, source: &str) -> Option<(String, String, bool)> {
    if node.kind_name() != "comparison_operator" || node.named_child_count() != 2 {
        return None;
    }
    let (left, right) = (node.named_child(0)?, node.named_child(1)?);
    let literal = |n: Node| matches!(n.kind_name(), "string" | "integer") && plain_literal(n);
    let (subject, value) = if literal(right) {
        (left, right)
    } else if literal(left) {
        (right, left)
    } else {
        return None;
    };
    if literal(subject) {
        return None;
    }
    let equal = match operator_tokens(node).as_slice() {
        ["=="] => true,
        ["!="] => false,
        _ => return None,
    };
    Some((
        compact_text(subject, source),
        compact_text(value, source),
        equal,
    ))
}

/// `session is not self.http_session` (true of an object just made: it is
/// not what another name held before) and `session is self.http_session`
/// (false of one): the name, and the polarity. `f != file` and `f == file`
/// read the same way (Telethon's "close the stream only if we opened it"):
/// files, sockets and sessions compare by identity. Assigning either side
/// afterwards forgets what the test said.
pub(super) fn identity_test(node: Node, source: &str) -> Option<(String, bool)> {
    if node.kind_name() != "comparison_operator" || node.named_child_count() != 2 {
        return None;
    }
    let name = dotted_name(node.named_child(0)?, source)?;
    let other = node.named_child(1)?;
    if other.kind_name() == "none" {
        return None;
    }
    dotted_name(other, source).filter(|o| *o != name)?;
    match operator_tokens(node).as_slice() {
        ["is"] | ["=="] => Some((name, false)),
        ["is", "not"] | ["is not"] | ["!="] => Some((name, true)),
        _ => None,
    }
}

/// `fd >= 0`, `fd > -1`, `fd != -1` (true of a valid descriptor) and `fd <
/// 0`, `fd == -1`, `fd <= -1` (false of one): the name and the polarity.
fn descriptor_test(node: Node, source: &str) -> Option<(String, bool)> {
    if node.kind_name() != "comparison_operator" || node.named_child_count() != 2 {
        return None;
    }
    let name = dotted_name(node.named_child(0)?, source)?;
    let bound: String = compact_text(node.named_child(1)?, source);
    let op = operator_tokens(node);
    let polarity = match (op.as_slice(), bound.as_str()) {
        ([">="], "0") | ([">"], "-1") | (["!="], "-1") => true,
        (["<"], "0") | (["<="], "-1") | (["=="], "-1") => false,
        _ => return None,
    };
    Some((name, polarity))
}

/// `'fd' in locals()` (true of a name that holds an object: it was bound)
/// and `'fd' not in locals()`, with `vars()` and `dir()` too: the name, and
/// the polarity.
fn bound_test(node: Node, source: &str) -> Option<(String, bool)> {
    if node.named_child_count() != 2 {
        return None;
    }
    let name = node.named_child(0)?;
    let scope = node.named_child(1)?;
    let listing = scope.kind_name() == "call"
        && scope
            .field("arguments")
            .is_some_and(|a| a.named_child_count() == 0)
        && scope
            .field("function")
            .is_some_and(|f| matches!(text(f, source), "locals" | "vars" | "dir"));
    let quoted = text(name, source);
    let unquoted = quoted
        .strip_prefix(['\'', '"'])
        .and_then(|q| q.strip_suffix(['\'', '"']))?;
    let identifier =
        !unquoted.is_empty() && unquoted.chars().all(|c| c.is_alphanumeric() || c == '_');
    if name.kind_name() != "string" || !listing || !identifier {
        return None;
    }
    match operator_tokens(node).as_slice() {
        ["in"] => Some((unquoted.to_string(), true)),
        ["not", "in"] | ["not in"] => Some((unquoted.to_string(), false)),
        _ => None,
    }
}

/// The operator of a comparison, as tokens: `["is", "not"]`, `[">="]`.
pub(super) fn operator_tokens<'t>(node: Node<'t>) -> Vec<&'t str> {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .filter(|c| !c.is_named())
        .map(|c| c.kind_name())
        .collect()
}

/// A comparison of something with a literal, `x is None`, `flag == True`:
/// the two operands, and whether it asks for them to be the same (`is`,
/// `==`) rather than different (`is not`, `!=`).
fn literal_comparison<'t>(
    node: Node<'t>,
    literal_kinds: &[&str],
) -> Option<(Node<'t>, Node<'t>, bool)> {
    if node.named_child_count() != 2 {
        return None;
    }
    let left = node.named_child(0)?;
    let right = node.named_child(1)?;
    if !literal_kinds.contains(&right.kind_name()) {
        return None;
    }
    let same = match operator_tokens(node).as_slice() {
        ["is"] | ["=="] => true,
        ["is", "not"] | ["is not"] | ["!="] => false,
        _ => return None,
    };
    Some((left, right, same))
}

/// `x is None` (true) / `x is not None` (false), with `==`/`!=` too.
fn none_test(node: Node, source: &str) -> Option<(String, bool)> {
    let (left, _, same) = literal_comparison(node, &["none"])?;
    Some((dotted_name(assigned_name(left), source)?, same))
}

/// `flag is True` (or `== True`) as `(flag, true)`, `flag is False` and
/// `flag is not True` as `(flag, false)`.
fn bool_test(node: Node, source: &str) -> Option<(String, bool)> {
    let (left, literal, same) = literal_comparison(node, &["true", "false"])?;
    if !matches!(left.kind_name(), "identifier" | "attribute") {
        return None;
    }
    Some((
        dotted_name(left, source)?,
        (literal.kind_name() == "true") == same,
    ))
}

/// The name `(fd := open_fd(path))` binds, tested as it is bound; any other
/// expression as it is.
pub(super) fn assigned_name(node: Node) -> Node {
    let mut inner = node;
    while inner.kind_name() == "parenthesized_expression"
        && let Some(child) = inner.named_child(0)
    {
        inner = child;
    }
    match inner.kind_name() {
        "named_expression" => inner.field("name").unwrap_or(node),
        _ => node,
    }
}

/// `x == 0` (true), `x != 0` and `x > 0` (false): for a name known to hold
/// a non-negative integer, the same test as `not x` and `x`.
fn zero_test(node: Node, source: &str) -> Option<(String, bool)> {
    if node.named_child_count() != 2 {
        return None;
    }
    let left = node.named_child(0)?;
    let right = node.named_child(1)?;
    if right.kind_name() != "integer" || text(right, source) != "0" {
        return None;
    }
    let name = dotted_name(left, source)?;
    match operator_tokens(node).as_slice() {
        ["=="] => Some((name, true)),
        ["!="] | [">"] => Some((name, false)),
        _ => None,
    }
}

/// Counts how often each candidate atom text is tested.
fn count_atoms(
    cond: Node,
    source: &str,
    pids: &HashSet<String>,
    counts: &mut HashMap<String, usize>,
) {
    parse_expr(cond, source, pids, 0, &mut |candidate| {
        if let Some(subject) = candidate.compares {
            *counts.entry(compared_key(&subject)).or_default() += 1;
        }
        *counts.entry(candidate.canonical).or_default() += 1;
        Expr::Unknown
    });
}

/// The count key of the tests that compare `subject` with a literal.
fn compared_key(subject: &str) -> String {
    format!("{subject} == ...")
}

/// `and` (`decisive` false) or `or` (`decisive` true) of `parts`: decided
/// by one part with the decisive value, else known only if all are.
fn eval_all(parts: &[Expr], k: Knowledge, decisive: bool) -> Option<bool> {
    let mut all_known = true;
    for p in parts {
        match eval(p, k) {
            Some(v) if v == decisive => return Some(decisive),
            Some(_) => {}
            None => all_known = false,
        }
    }
    all_known.then_some(!decisive)
}

fn eval(expr: &Expr, k: Knowledge) -> Option<bool> {
    match expr {
        Expr::Atom(a) => k.get(*a),
        Expr::Const(v) => Some(*v),
        Expr::Not(inner) => eval(inner, k).map(|v| !v),
        Expr::And(parts) => eval_all(parts, k, false),
        Expr::Or(parts) => eval_all(parts, k, true),
        Expr::Unknown => None,
    }
}

/// Whether assigning `target` changes what `read` reads: `x` changes `x`
/// and `x.y`; `self.a` changes `self.a` and `self.a.b`, not `self.ab`.
fn reads_name(read: &str, target: &str) -> bool {
    read == target
        || read
            .strip_prefix(target)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// `provided = session is not None` (a plain name given a comparison or a
/// negation) as an expression statement: the flag and the condition.
fn flag_assignment<'t>(stmt: Node<'t>, source: &'t str) -> Option<(&'t str, Node<'t>)> {
    let assign = stmt
        .named_child(0)
        .filter(|a| stmt.kind_name() == "expression_statement" && a.kind_name() == "assignment")?;
    let target = assign
        .field("left")
        .filter(|l| l.kind_name() == "identifier")?;
    let value = assign
        .field("right")
        .filter(|r| matches!(r.kind_name(), "comparison_operator" | "not_operator"))?;
    Some((text(target, source), value))
}

/// The test of an `if`, `elif` or `while` (not a `case` pattern).
fn is_if_or_while_test(node: Node) -> bool {
    node.parent().is_some_and(|p| {
        matches!(
            p.kind_name(),
            "if_statement" | "elif_clause" | "while_statement"
        ) && p.field("condition") == Some(node)
    })
}

/// Calls `found(target, literal)` for `target = True` / `None` / `0` and
/// the like in an expression statement (chained and tuple targets
/// included: `a = b = None`).
fn literal_assignments(stmt: Node, source: &str, found: &mut dyn FnMut(&str, Literal)) {
    let Some(mut assign) = stmt.named_child(0) else {
        return;
    };
    if stmt.kind_name() != "expression_statement" {
        return;
    }
    let mut targets = Vec::new();
    // `a = b = None` nests the second assignment as the right side.
    let value = loop {
        if assign.kind_name() != "assignment" {
            return;
        }
        if let Some(left) = assign.field("left") {
            targets.push(left);
        }
        match assign.field("right") {
            Some(r) if r.kind_name() == "assignment" => assign = r,
            Some(r) => break r,
            None => return,
        }
    };
    let Some(lit) = literal_value(value, source) else {
        return;
    };
    for t in targets {
        if let Some(name) = dotted_name(t, source) {
            found(&name, lit);
        }
    }
}

/// Whether a literal value (`True`, `None`, `0`, `"x"`) is true when
/// tested; `None` for anything else.
pub(super) fn literal_truthiness(value: Node, source: &str) -> Option<bool> {
    match literal_value(value, source)? {
        Literal::Truthy | Literal::Negative => Some(true),
        Literal::Falsy | Literal::None => Some(false),
    }
}

/// What a literal value (or an expression as good as one) is when tested.
fn literal_value(value: Node, source: &str) -> Option<Literal> {
    let lit = match value.kind_name() {
        "none" => Literal::None,
        "true" => Literal::Truthy,
        "false" => Literal::Falsy,
        "integer" => {
            if text(value, source) == "0" {
                Literal::Falsy
            } else {
                Literal::Truthy
            }
        }
        "unary_operator" if compact_text(value, source).starts_with('-') => Literal::Negative,
        // A new object (`Popen(...)`, `Thread(...)`) is true.
        "call"
            if value
                .field("function")
                .and_then(|f| dotted_name(f, source))
                .is_some_and(|f| {
                    let last = crate::syntax::last_part(&f);
                    last.trim_start_matches('_')
                        .starts_with(|c: char| c.is_ascii_uppercase())
                }) =>
        {
            Literal::Truthy
        }
        // `os.getenv("USER") or "root"`: the last operand of an `or` is
        // what it gives when all else is false.
        "boolean_operator" if operator_tokens(value).contains(&"or") => {
            match literal_value(value.field("right")?, source)? {
                Literal::Truthy => Literal::Truthy,
                _ => return None,
            }
        }
        "string" => string_literal(value)?,
        _ => return None,
    };
    Some(lit)
}

/// `"root"` is true and `""` false; a template (`f"{x}"`) with no text of
/// its own may be either.
fn string_literal(value: Node) -> Option<Literal> {
    let mut cursor = value.walk();
    let mut interpolated = false;
    for part in value.named_children(&mut cursor) {
        match part.kind_name() {
            "string_content" if !part.byte_range().is_empty() => return Some(Literal::Truthy),
            "interpolation" => interpolated = true,
            _ => {}
        }
    }
    (!interpolated).then_some(Literal::Falsy)
}

/// The names the function binds to `os.fork()` (and to nothing else).
fn fork_pids(graph: &Cfg) -> HashSet<String> {
    let mut pids = HashSet::new();
    let mut other = HashSet::new();
    for node in &graph.nodes {
        let forks: Vec<&String> = node
            .facts
            .calls
            .iter()
            .filter(|c| c.resolved.as_deref() == Some("os.fork"))
            .filter_map(|c| match &c.usage {
                crate::facts::Use::Bound(name) => Some(name),
                _ => None,
            })
            .collect();
        for bound in &node.facts.binds {
            if forks.contains(&bound) {
                pids.insert(bound.clone());
            } else {
                other.insert(bound.clone());
            }
        }
    }
    pids.retain(|p| !other.contains(p));
    pids
}
