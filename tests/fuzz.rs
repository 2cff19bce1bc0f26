//! A mutation fuzzer over the analysis and the renderers (issue 9): the
//! fixtures, cut, spliced, nested and sprinkled with Python's sharp edges,
//! must never make the analysis or any output format panic.
//!
//! `cargo test --test fuzz` runs a fixed, quick batch on every CI run (the
//! seed is fixed, so a failure reproduces). `scripts/fuzz.sh [SECONDS]` runs
//! the ignored long test for as long as asked with a seed from the clock;
//! each input that panics is written to `target/fuzz-crashes/`, to be kept
//! under `tests/data/fuzz-regressions/`, which every run checks first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use unclosed::analysis::{Options, analyze_source};
use unclosed::render;
use unclosed::rules::Catalogue;
use unclosed::runner::FileResult;

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces of Python that stress the parser, the graph and the search.
const TOKENS: &[&str] = &[
    "try:\n",
    "finally:\n",
    "except:\n",
    "except* OSError:\n",
    "else:\n",
    "with ",
    "async ",
    "await ",
    "yield ",
    "yield from ",
    "lambda: ",
    "return ",
    "raise ",
    "break\n",
    "continue\n",
    "def f(",
    "class C:\n",
    "if x:\n",
    "elif y:\n",
    "while True:\n",
    "for x in y:\n",
    "match x:\n    case _:\n",
    "open(p)",
    "socket.socket()",
    "pool.acquire()",
    "conn.close()",
    ".release(c)",
    "self.",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "=",
    " if a else ",
    "\n",
    "    ",
    "\t",
    "\r",
    "\r\n",
    "\\\n",
    "\"",
    "'",
    "\"\"\"",
    "#",
    "# noqa: UC001",
    "é",
    "🦀",
    "\u{1b}",
    "\u{85}",
    "\u{2028}",
    "@decorator\n",
    "global x\n",
    "nonlocal x\n",
    "del x\n",
    "assert x\n",
    "x := y",
    "*args",
    "**kw",
    "f\"{x}\"",
    "0x",
    "1e",
    "...",
];

fn mutate(seed: &str, rng: &mut Rng) -> String {
    let mut text: Vec<char> = seed.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let len = text.len();
        match rng.below(6) {
            // delete a run
            0 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(40.min(len - at));
                text.drain(at..at + n);
            }
            // duplicate a run somewhere else
            1 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(200.min(len - at));
                let piece: Vec<char> = text[at..at + n].to_vec();
                let to = rng.below(text.len() + 1);
                text.splice(to..to, piece);
            }
            // nest: repeat an opening construct many times
            2 => {
                let token = ["(", "[", "try:\n    ", "if x:\n    ", "f(k=", "a."][rng.below(6)];
                let to = rng.below(len + 1);
                let times = 1 + rng.below(300);
                let piece: Vec<char> = token.repeat(times).chars().collect();
                text.splice(to..to, piece);
            }
            // swap two lines
            3 => {
                let mut lines: Vec<String> = text
                    .iter()
                    .collect::<String>()
                    .split('\n')
                    .map(String::from)
                    .collect();
                if lines.len() > 1 {
                    let a = rng.below(lines.len());
                    let b = rng.below(lines.len());
                    lines.swap(a, b);
                }
                text = lines.join("\n").chars().collect();
            }
            // insert a token
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                let to = rng.below(len + 1);
                text.splice(to..to, token.chars());
            }
        }
    }
    text.into_iter().collect()
}

fn seeds() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["tests/data/fuzz-regressions", "fixtures"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|s| (p, s)))
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

/// Analyses and renders one input in every format; panics propagate.
fn exercise(source: &str, catalogue: &Catalogue, options: &Options) {
    let report = analyze_source(source, catalogue, options);
    let results = vec![FileResult {
        path: PathBuf::from("fuzzed.py"),
        source: Some(source.to_string()),
        report,
        error: None,
        kind: unclosed::config::CodeKind::Production,
        gates: true,
    }];
    let style = render::human::Style {
        color: false,
        width: 100,
    };
    for finding in &results[0].report.findings {
        render::human::render("fuzzed.py", source, finding, &style, true);
        render::concise::render("fuzzed.py", finding);
    }
    render::json::render(&results);
    render::sarif::render(&results);
    render::github::render(&results);
    render::gitlab::render(&results);
}

/// Runs mutations until `budget` runs out or `count` inputs were tried;
/// returns the inputs that panicked.
fn run(seed: u64, count: usize, budget: Duration) -> Vec<String> {
    let catalogue = Catalogue::builtin();
    let options = Options::default();
    let seeds = seeds();
    assert!(!seeds.is_empty(), "no fuzz seeds");
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let mut crashes = Vec::new();
    // Silence the default hook's backtraces: a crash is reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (_, text) in &seeds {
        if std::panic::catch_unwind(|| exercise(text, &catalogue, &options)).is_err() {
            crashes.push(text.clone());
        }
    }
    let mut tried = 0;
    while tried < count && started.elapsed() < budget {
        let (_, base) = &seeds[rng.below(seeds.len())];
        let input = mutate(base, &mut rng);
        if std::panic::catch_unwind(|| exercise(&input, &catalogue, &options)).is_err() {
            crashes.push(input);
        }
        tried += 1;
    }
    std::panic::set_hook(hook);
    crashes
}

fn keep(crashes: &[String]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, input) in crashes.iter().enumerate() {
        std::fs::write(dir.join(format!("crash-{i}.py")), input).unwrap();
    }
    format!(
        "{} input(s) made the tool panic; written to {} (keep each under tests/data/fuzz-regressions/ once fixed)",
        crashes.len(),
        dir.display()
    )
}

#[test]
fn a_fixed_batch_of_mutated_fixtures_never_panics() {
    let crashes = run(0x5EED_u64, 400, Duration::from_secs(120));
    assert!(crashes.is_empty(), "{}", keep(&crashes));
}

/// `scripts/fuzz.sh` runs this for UNCLOSED_FUZZ_SECONDS with a new seed.
#[test]
#[ignore = "long: run by scripts/fuzz.sh"]
fn fuzz_for_a_while() {
    let seconds: u64 = std::env::var("UNCLOSED_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed = std::env::var("UNCLOSED_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("fuzz seed {seed} for {seconds} s");
    let crashes = run(seed, usize::MAX, Duration::from_secs(seconds));
    assert!(crashes.is_empty(), "seed {seed}: {}", keep(&crashes));
}
