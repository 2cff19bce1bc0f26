//! The audit as one self-contained HTML page (no network): totals, bars
//! per repository and per code, the files with the most findings, and each
//! finding with its source and the steps of its path, filtered by
//! repository, code and production or test code. The data is embedded as
//! JSON and drawn by a small script; the numbers are the audit's JSON ones.

use crate::audit::{RepositorySummary, total};
use crate::codes::Code;
use crate::config::CodeKind;
use crate::finding::Finding;
use serde::Serialize;

/// A finding as the page shows it.
#[derive(Serialize)]
pub struct PageFinding {
    pub repository: String,
    pub path: String,
    pub line: usize,
    pub code: &'static str,
    pub name: &'static str,
    pub level: &'static str,
    pub kind: &'static str,
    pub resource: String,
    pub message: String,
    pub help: String,
    pub steps: Vec<(usize, String)>,
    /// Source lines around the path: (line number, text), `None` for a gap.
    pub snippet: Vec<Option<(usize, String)>>,
}

impl PageFinding {
    pub fn new(
        repository: &str,
        path: &str,
        finding: &Finding,
        source: Option<&str>,
        code_kind: CodeKind,
    ) -> PageFinding {
        let steps: Vec<(usize, String)> = finding
            .steps
            .iter()
            .map(|s| (s.start.line, s.message.clone()))
            .collect();
        PageFinding {
            repository: repository.to_string(),
            path: path.to_string(),
            line: finding.start.line,
            code: finding.code.id(),
            name: finding.code.name(),
            level: finding.code.level(),
            kind: if code_kind == CodeKind::Production {
                "production"
            } else {
                "test"
            },
            resource: finding.resource.clone(),
            message: finding.message.clone(),
            help: finding.help.clone(),
            snippet: source.map(|s| snippet(s, &steps)).unwrap_or_default(),
            steps,
        }
    }
}

/// The lines of the steps with one line of context each, gaps marked.
fn snippet(source: &str, steps: &[(usize, String)]) -> Vec<Option<(usize, String)>> {
    let lines: Vec<&str> = source.lines().collect();
    let mut wanted: Vec<usize> = steps
        .iter()
        .flat_map(|(line, _)| [line.saturating_sub(1), *line, line + 1])
        .filter(|&n| n >= 1 && n <= lines.len())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = Vec::new();
    let mut previous = None;
    for n in wanted.into_iter().take(60) {
        if previous.is_some_and(|p: usize| n > p + 1) {
            out.push(None);
        }
        let text: String = lines[n - 1].chars().take(200).collect();
        out.push(Some((n, crate::finding::escape_controls(&text))));
        previous = Some(n);
    }
    out
}

#[derive(Serialize)]
struct PageData<'a> {
    repositories: &'a [RepositorySummary],
    total: RepositorySummary,
    codes: Vec<(&'static str, &'static str)>,
    findings: &'a [PageFinding],
    version: &'static str,
}

pub fn render(summaries: &[RepositorySummary], findings: &[PageFinding]) -> String {
    let data = PageData {
        repositories: summaries,
        total: total(summaries),
        codes: Code::ALL.iter().map(|c| (c.id(), c.name())).collect(),
        findings,
        version: env!("CARGO_PKG_VERSION"),
    };
    // Inside <script>, `</` would end the element: JSON allows `<\/`.
    let json = serde_json::to_string(&data)
        .expect("plain data serialises")
        .replace("</", "<\\/");
    PAGE.replace("__DATA__", &json)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>unclosed audit</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
  header { background: #1d2430; color: #fff; padding: 16px 24px; }
  header h1 { margin: 0 0 4px; font-size: 20px; }
  main { padding: 16px 24px; max-width: 1200px; }
  .totals { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 16px; }
  .tile { background: #fff; border-radius: 6px; padding: 10px 14px; min-width: 120px; box-shadow: 0 1px 2px #0002; }
  .tile b { display: block; font-size: 22px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 16px; margin: 0 0 8px; }
  .bar { display: flex; align-items: center; gap: 8px; margin: 3px 0; }
  .bar .label { width: 260px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar .track { flex: 1; display: flex; height: 14px; background: #eef0f3; border-radius: 3px; overflow: hidden; }
  .prod { background: #c0392b; } .test { background: #e8a33d; } .code { background: #2d6cdf; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e6ea; }
  td.n, th.n { text-align: right; }
  .filters { display: flex; gap: 12px; margin-bottom: 10px; flex-wrap: wrap; }
  .finding { border-top: 1px solid #e3e6ea; padding: 10px 0; }
  .finding .where { font-family: ui-monospace, monospace; color: #555; }
  .badge { display: inline-block; border-radius: 3px; padding: 0 6px; color: #fff; font-size: 12px; }
  .badge.error { background: #c0392b; } .badge.warning { background: #d68910; } .badge.test { background: #7f8c8d; }
  pre { background: #f3f5f8; padding: 6px 8px; overflow-x: auto; margin: 6px 0; }
  pre .step { background: #fde2df; }
  pre .gap { color: #999; }
  ol.steps { margin: 4px 0 0 20px; padding: 0; }
</style>
</head>
<body>
<header><h1>unclosed audit</h1><div id="subtitle"></div></header>
<main>
  <div class="totals" id="totals"></div>
  <section><h2>Findings per repository</h2><div id="by-repository"></div>
    <p><span class="badge" style="background:#c0392b">production</span> <span class="badge" style="background:#e8a33d">test code</span></p></section>
  <section><h2>Findings per code</h2><div id="by-code"></div></section>
  <section><h2>Files with the most findings</h2><table id="worst-files"><thead><tr><th>file</th><th>repository</th><th class="n">findings</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Repositories</h2><table id="repositories"><thead><tr><th>repository</th><th class="n">files</th><th class="n">lines</th><th class="n">findings</th><th class="n">production</th><th class="n">tests</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Findings <span id="shown-count"></span></h2>
    <div class="filters">
      <label>repository <select id="filter-repository"><option value="">all</option></select></label>
      <label>code <select id="filter-code"><option value="">all</option></select></label>
      <label>code kind <select id="filter-kind"><option value="">all</option><option value="production">production</option><option value="test">test</option></select></label>
    </div>
    <div id="findings"></div>
  </section>
</main>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
const t = data.total;
document.getElementById("subtitle").textContent =
  `${data.repositories.length} repositories, unclosed ${data.version}`;
const totals = document.getElementById("totals");
for (const [id, label, value] of [
  ["total-repositories", "repositories", data.repositories.length],
  ["total-files", "files", t.files], ["total-lines", "lines", t.lines],
  ["total-findings", "findings", t.findings], ["total-production", "in production", t.production],
  ["total-tests", "in test code", t.tests], ["total-errors", "unreadable files", t.errors],
]) totals.append(el("div", {class: "tile"}, el("b", {id}, value), label));

const most = Math.max(1, ...data.repositories.map(r => r.findings));
const byRepo = document.getElementById("by-repository");
for (const r of data.repositories) {
  byRepo.append(el("div", {class: "bar", "data-repository": r.repository, "data-findings": r.findings},
    el("span", {class: "label", title: r.repository}, r.repository),
    el("span", {class: "track"},
      el("span", {class: "prod", style: `width:${100 * r.production / most}%`}),
      el("span", {class: "test", style: `width:${100 * r.tests / most}%`})),
    el("span", {}, r.findings)));
}
const mostCode = Math.max(1, ...data.codes.map(([c]) => t.by_code[c] || 0));
const byCode = document.getElementById("by-code");
for (const [code, name] of data.codes) {
  const n = t.by_code[code] || 0;
  byCode.append(el("div", {class: "bar", "data-code": code, "data-findings": n},
    el("span", {class: "label"}, `${code} ${name}`),
    el("span", {class: "track"}, el("span", {class: "code", style: `width:${100 * n / mostCode}%`})),
    el("span", {}, n)));
}
const perFile = new Map();
for (const f of data.findings) {
  const key = `${f.repository}\u0000${f.path}`;
  perFile.set(key, (perFile.get(key) || 0) + 1);
}
const worst = [...perFile.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
const worstBody = document.querySelector("#worst-files tbody");
for (const [key, n] of worst) {
  const [repo, path] = key.split("\u0000");
  worstBody.append(el("tr", {}, el("td", {}, path), el("td", {}, repo), el("td", {class: "n"}, n)));
}
const repoBody = document.querySelector("#repositories tbody");
for (const r of data.repositories) {
  repoBody.append(el("tr", {"data-repository": r.repository},
    el("td", {}, r.repository), el("td", {class: "n"}, r.files), el("td", {class: "n"}, r.lines),
    el("td", {class: "n"}, r.findings), el("td", {class: "n"}, r.production), el("td", {class: "n"}, r.tests)));
}
const fRepo = document.getElementById("filter-repository");
for (const r of data.repositories) fRepo.append(el("option", {value: r.repository}, r.repository));
const fCode = document.getElementById("filter-code");
for (const [code, name] of data.codes) fCode.append(el("option", {value: code}, `${code} ${name}`));
const fKind = document.getElementById("filter-kind");
const list = document.getElementById("findings");
function draw() {
  list.replaceChildren();
  const shown = data.findings.filter(f =>
    (!fRepo.value || f.repository === fRepo.value) &&
    (!fCode.value || f.code === fCode.value) &&
    (!fKind.value || f.kind === fKind.value));
  document.getElementById("shown-count").textContent = `(${shown.length} of ${data.findings.length})`;
  for (const f of shown.slice(0, 2000)) {
    const marked = new Map(f.steps.map(([line, msg], i) => [line, `[${i + 1}] ${msg}`]));
    const pre = el("pre", {});
    for (const row of f.snippet) {
      if (row === null) { pre.append(el("div", {class: "gap"}, "   …")); continue; }
      const [n, text] = row;
      const note = marked.get(n);
      pre.append(el("div", note ? {class: "step", title: note} : {}, `${String(n).padStart(5)} │ ${text}`));
    }
    const steps = el("ol", {class: "steps"}, ...f.steps.map(([line, msg]) => el("li", {}, `line ${line}: ${msg}`)));
    list.append(el("div", {class: "finding", "data-code": f.code, "data-kind": f.kind},
      el("div", {}, el("span", {class: `badge ${f.kind === "test" ? "test" : f.level}`}, f.code), " ",
        el("span", {class: "where"}, `${f.repository}: ${f.path}:${f.line}`)),
      el("div", {}, f.message), pre, steps, el("div", {}, el("i", {}, "help: "), f.help)));
  }
}
for (const s of [fRepo, fCode, fKind]) s.addEventListener("change", draw);
draw();
</script>
</body>
</html>
"##;
