//! Rich diagnostics for people, drawn by miette: the source around the
//! acquisition, a numbered label on each step of the leaking path, the fix.

use crate::finding::Finding;
use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use std::fmt;

/// Lines longer than this are not drawn: miette pads to the column of a
/// label, and a column past 65,535 makes the formatter panic. Such files
/// (minified or generated) get the path as a list instead.
const LONGEST_DRAWN_LINE: usize = 2_000;

pub struct Style {
    pub color: bool,
    pub width: usize,
}

/// The lines of the file that the labels need, with one line of context:
/// miette scans its source from the start for every label, so giving it
/// the whole file made rendering quadratic in the size of the file.
struct Excerpt<'a> {
    name: &'a str,
    text: std::borrow::Cow<'a, str>,
    /// Byte offset of `text` in the file.
    offset: usize,
    /// 0-based line number of the first line of `text`.
    first_line: usize,
}

impl<'a> Excerpt<'a> {
    /// The excerpt covering `spans` (byte ranges of the file), or `None`
    /// when a line of it is too long to draw.
    fn around(name: &'a str, source: &'a str, spans: &[(usize, usize)]) -> Option<Self> {
        let clamp = |at: usize| {
            let mut at = at.min(source.len());
            while !source.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let low = clamp(spans.iter().map(|s| s.0).min().unwrap_or(0));
        let high = clamp(spans.iter().map(|s| s.1).max().unwrap_or(0));
        let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = |at: usize| source[at..].find('\n').map_or(source.len(), |i| at + i);
        // One line of context on each side, as the handler is set up.
        let mut start = line_start(low);
        if start > 0 {
            start = line_start(start - 1);
        }
        let mut end = line_end(high);
        if end < source.len() {
            // With its newline, so that an empty last line is still a line.
            end = (line_end(end + 1) + 1).min(source.len());
        }
        let text = &source[start..end];
        if text.lines().any(|line| line.len() > LONGEST_DRAWN_LINE) {
            return None;
        }
        // Source drawn on a terminal: a raw escape or other control
        // character in it (in a string literal, a comment) must not drive
        // the terminal. Each becomes `?`s of its length, so offsets hold.
        let text = if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            std::borrow::Cow::Owned(
                text.chars()
                    .map(|c| {
                        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                            "?".repeat(c.len_utf8())
                        } else {
                            c.to_string()
                        }
                    })
                    .collect(),
            )
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        Some(Excerpt {
            name,
            text,
            offset: start,
            first_line: source[..start].matches('\n').count(),
        })
    }
}

impl SourceCode for Excerpt<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let inner =
            self.text
                .as_ref()
                .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.to_string(),
                inner.data(),
                *inner.span(),
                inner.line() + self.first_line,
                inner.column(),
                // miette merges two snippets when the first's line plus this
                // count reaches the second's line: the lines the context
                // holds, so that only snippets that touch are merged and a
                // long function shows the lines of its path, not all of it.
                inner
                    .data()
                    .split(|&b| b == b'\n')
                    .count()
                    .saturating_sub(1)
                    + 1,
            )
            .with_language("python"),
        ))
    }
}

struct LeakDiagnostic<'a> {
    finding: &'a Finding,
    source: Excerpt<'a>,
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
        // Spans relative to the excerpt.
        let span = |step: &crate::finding::Step| {
            let start = step.span.start.saturating_sub(self.source.offset);
            (start, step.span.end.saturating_sub(step.span.start))
        };
        let labels = self.finding.steps.iter().enumerate().map(move |(i, step)| {
            let label = format!("[{}] {}", i + 1, step.message);
            if i == 0 {
                LabeledSpan::new_primary_with_span(Some(label), span(step))
            } else {
                LabeledSpan::new_with_span(Some(label), span(step))
            }
        });
        let skipped =
            self.finding.skipped_release.iter().map(move |step| {
                LabeledSpan::new_with_span(Some(step.message.clone()), span(step))
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
    let spans: Vec<(usize, usize)> = finding
        .steps
        .iter()
        .chain(&finding.skipped_release)
        .map(|step| (step.span.start, step.span.end))
        .collect();
    let Some(excerpt) = Excerpt::around(path, source, &spans) else {
        return as_list(path, finding);
    };
    let diagnostic = LeakDiagnostic {
        finding,
        source: excerpt,
        gates,
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &diagnostic).is_err() {
        out = as_list(path, finding);
    }
    out
}

/// The finding without drawn source: the concise line, then the steps of
/// the path and the help.
fn as_list(path: &str, finding: &Finding) -> String {
    let mut out = crate::render::concise::render(path, finding);
    for (i, step) in finding.steps.iter().enumerate() {
        out.push_str(&format!(
            "  [{}] {}:{}: {}\n",
            i + 1,
            step.start.line,
            step.start.column,
            step.message
        ));
    }
    out.push_str(&format!("  help: {}\n", finding.help));
    for also in &finding.also {
        out.push_str(&format!("  also: it {also}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excerpt_is_the_lines_of_the_path_with_one_line_of_context() {
        let source: String = (1..=10_000).map(|i| format!("line_{i} = {i}\n")).collect();
        let at = source.find("line_5000 ").unwrap();
        let end = source.find("line_5002 ").unwrap() + 4;
        let excerpt = Excerpt::around("big.py", &source, &[(at, at + 4), (end - 4, end)]).unwrap();
        assert_eq!(
            excerpt.text,
            "line_4999 = 4999\nline_5000 = 5000\nline_5001 = 5001\nline_5002 = 5002\nline_5003 = 5003\n"
        );
        assert_eq!(excerpt.first_line, 4998);
        assert_eq!(&source[excerpt.offset..excerpt.offset + 9], "line_4999");
        // At the edges of the file, and with spans past its end.
        let first = Excerpt::around("big.py", &source, &[(0, 4)]).unwrap();
        assert_eq!(first.text, "line_1 = 1\nline_2 = 2\n");
        let past = Excerpt::around("big.py", &source, &[(usize::MAX - 1, usize::MAX)]).unwrap();
        assert_eq!(past.text, "line_10000 = 10000\n");
    }

    #[test]
    fn lines_too_long_to_draw_give_no_excerpt() {
        let source = format!(
            "x = 1\ny = '{}'\nz = 2\nw = 3\n",
            "a".repeat(LONGEST_DRAWN_LINE)
        );
        assert!(Excerpt::around("long.py", &source, &[(6, 7)]).is_none());
        let w = source.find('w').unwrap();
        assert!(Excerpt::around("long.py", &source, &[(w, w + 1)]).is_some());
    }
}
