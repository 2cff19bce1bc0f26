//! Rich diagnostics for people, drawn by miette: the source around the
//! acquisition, a numbered label on each step of the leaking path, the fix.

use crate::finding::Finding;
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};
use std::fmt;

pub struct Style {
    pub color: bool,
    pub width: usize,
}

struct LeakDiagnostic<'a> {
    finding: &'a Finding,
    source: NamedSource<String>,
    /// Whether the finding fails the run; test code under `--tests
    /// separate` is shown as a warning.
    gates: bool,
}

impl fmt::Debug for LeakDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakDiagnostic")
            .field("code", &self.finding.code)
            .finish()
    }
}

impl fmt::Display for LeakDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for LeakDiagnostic<'_> {}

impl Diagnostic for LeakDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!(
            "{}({})",
            self.finding.code,
            self.finding.code.name()
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.gates {
            miette::Severity::Error
        } else {
            miette::Severity::Warning
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut help = self.finding.help.clone();
        for also in &self.finding.also {
            help.push_str(&format!("\nalso: it {also}"));
        }
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.finding.steps.iter().enumerate().map(|(i, step)| {
            let len = step.span.end.saturating_sub(step.span.start);
            let label = format!("[{}] {}", i + 1, step.message);
            if i == 0 {
                LabeledSpan::new_primary_with_span(Some(label), (step.span.start, len))
            } else {
                LabeledSpan::new_with_span(Some(label), (step.span.start, len))
            }
        });
        let skipped = self.finding.skipped_release.iter().map(|step| {
            let len = step.span.end.saturating_sub(step.span.start);
            LabeledSpan::new_with_span(Some(step.message.clone()), (step.span.start, len))
        });
        Some(Box::new(labels.chain(skipped)))
    }
}

pub fn render(path: &str, source: &str, finding: &Finding, style: &Style, gates: bool) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_context_lines(1)
        .without_syntax_highlighting()
        .with_links(false);
    let diagnostic = LeakDiagnostic {
        finding,
        source: NamedSource::new(path, source.to_string()).with_language("python"),
        gates,
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &diagnostic).is_err() {
        out = crate::render::concise::render(path, finding);
    }
    out
}
