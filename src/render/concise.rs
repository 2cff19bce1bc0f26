//! One line per finding, `path:line:col: CODE message`, for scripts and
//! editors.

use crate::finding::Finding;

pub fn render(path: &str, finding: &Finding) -> String {
    format!(
        "{path}:{}:{}: {} {}\n",
        finding.start.line, finding.start.column, finding.code, finding.message
    )
}
