//! Turning a file's bytes into source text the way Python does: UTF-8 by
//! default, or the encoding a PEP 263 coding line declares. A file that is
//! not text (a NUL byte, undecodable bytes) is an error for that file only.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    NulByte { offset: usize },
    InvalidUtf8 { offset: usize },
    UnknownEncoding(String),
    InvalidInEncoding(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NulByte { offset } => {
                write!(
                    f,
                    "contains a NUL byte at offset {offset}: not Python source"
                )
            }
            DecodeError::InvalidUtf8 { offset } => write!(
                f,
                "is not valid UTF-8 (first bad byte at offset {offset}) and declares no other encoding (PEP 263)"
            ),
            DecodeError::UnknownEncoding(name) => {
                write!(f, "declares an unknown encoding `{name}`")
            }
            DecodeError::InvalidInEncoding(name) => {
                write!(f, "is not valid in its declared encoding `{name}`")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes Python source bytes.
pub fn decode(bytes: &[u8]) -> Result<String, DecodeError> {
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(DecodeError::NulByte { offset });
    }
    let (bytes, had_bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let declared = if had_bom {
        None
    } else {
        coding_declaration(bytes)
    };
    match declared {
        None => utf8(bytes),
        Some(name) => {
            let normalized = name.to_ascii_lowercase().replace('_', "-");
            if matches!(normalized.as_str(), "utf-8" | "utf8" | "ascii" | "us-ascii")
                || normalized.starts_with("utf-8-")
            {
                return utf8(bytes);
            }
            // Python spells some encodings differently from WHATWG, whose
            // labels encoding_rs knows: `latin-1`, `latin_1`, `cp819`.
            let python_alias = match normalized.as_str() {
                "latin-1" | "latin" | "l1" | "iso8859-1" | "8859" | "cp819" => Some("iso-8859-1"),
                _ => None,
            };
            let encoding = python_alias
                .and_then(|a| encoding_rs::Encoding::for_label(a.as_bytes()))
                .or_else(|| encoding_rs::Encoding::for_label(normalized.as_bytes()))
                .or_else(|| {
                    encoding_rs::Encoding::for_label(normalized.replace('-', "").as_bytes())
                })
                .ok_or_else(|| DecodeError::UnknownEncoding(name.clone()))?;
            encoding
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned())
                .ok_or(DecodeError::InvalidInEncoding(name))
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| DecodeError::InvalidUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// The encoding named by a PEP 263 comment on line 1 or 2:
/// `# -*- coding: latin-1 -*-` or `# vim: set fileencoding=cp1252 :`.
fn coding_declaration(bytes: &[u8]) -> Option<String> {
    for (index, line) in bytes.split(|&b| b == b'\n').take(2).enumerate() {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
        if !trimmed.starts_with('#') {
            // PEP 263: line 2 counts only if line 1 is a comment or blank.
            if index == 0 && !trimmed.trim().is_empty() {
                return None;
            }
            continue;
        }
        let Some(pos) = trimmed.find("coding") else {
            continue;
        };
        let rest = &trimmed[pos + "coding".len()..];
        let Some(rest) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let name: String = rest
            .trim_start_matches([' ', '\t'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if !name.is_empty() {
            return Some(name);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_the_default() {
        assert_eq!(decode("x = 'é'\n".as_bytes()).unwrap(), "x = 'é'\n");
    }

    #[test]
    fn bom_is_stripped() {
        assert_eq!(decode(b"\xEF\xBB\xBFx = 1\n").unwrap(), "x = 1\n");
    }

    #[test]
    fn latin1_declaration_is_honoured() {
        let bytes = b"# -*- coding: latin-1 -*-\nx = '\xe9'\n";
        assert_eq!(
            decode(bytes).unwrap(),
            "# -*- coding: latin-1 -*-\nx = 'é'\n"
        );
    }

    #[test]
    fn undeclared_latin1_is_an_error() {
        assert_eq!(
            decode(b"x = '\xe9'\n"),
            Err(DecodeError::InvalidUtf8 { offset: 5 })
        );
    }

    #[test]
    fn nul_byte_is_an_error() {
        assert!(matches!(
            decode(b"x = 1\0"),
            Err(DecodeError::NulByte { offset: 5 })
        ));
    }

    #[test]
    fn unknown_encoding_is_an_error() {
        assert!(matches!(
            decode(b"# coding: klingon\nx = 1\n"),
            Err(DecodeError::UnknownEncoding(_))
        ));
    }
}
