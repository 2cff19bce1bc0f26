//! Turning a file's bytes into source text the way Python does: UTF-8 by
//! default, or the encoding a PEP 263 coding line declares (UTF-8 again
//! for a codec the project registers itself). A file that is
//! not text (a NUL byte, undecodable bytes) is an error for that file only.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    NulByte { offset: usize },
    InvalidUtf8 { offset: usize },
    UnknownEncoding(String),
    UnsupportedEncoding(String),
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
            DecodeError::UnsupportedEncoding(name) => {
                write!(
                    f,
                    "declares the encoding `{name}`, which unclosed cannot decode"
                )
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
    // CPython reads source with universal newlines: a lone `\r` (old Mac
    // files) ends a line as `\n` does. One byte for one, so offsets hold;
    // no encoding a coding line can name uses 0x0D inside a character.
    let universal;
    let bytes = if bytes.contains(&b'\r') {
        universal = lone_carriage_returns_as_newlines(bytes);
        &universal[..]
    } else {
        bytes
    };
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
        Some(name) => decode_as(bytes, &name),
    }
}

/// Decodes `bytes` in the encoding a coding declaration names, as CPython
/// reads it: its names and aliases, its own tables for the single-byte
/// code pages (`cp850`, `mac_roman`, `latin-1`), and the WHATWG decoders
/// (the same tables, or supersets) for the multi-byte ones.
///
/// A name CPython does not know is a codec the project registers itself,
/// most often one that rewrites the source before compiling it
/// (`future_fstrings`, `pyxl`): those read UTF-8, so UTF-8 text is read as
/// is, and only undecodable bytes are an error.
fn decode_as(bytes: &[u8], name: &str) -> Result<String, DecodeError> {
    let Some(codec) = python_codec(name) else {
        return utf8(bytes).map_err(|_| DecodeError::UnknownEncoding(name.to_string()));
    };
    match codec {
        "utf_8" | "utf_8_sig" | "ascii" => return utf8(bytes),
        "latin_1" => return Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        _ => {}
    }
    if let Some((_, upper)) = crate::codepages::SINGLE_BYTE
        .iter()
        .find(|(codec_name, _)| *codec_name == codec)
    {
        let mut text = String::with_capacity(bytes.len());
        for &b in bytes {
            let c = if b < 0x80 {
                char::from(b)
            } else {
                upper[usize::from(b - 0x80)]
            };
            if c == '\u{FFFE}' {
                return Err(DecodeError::InvalidInEncoding(name.to_string()));
            }
            text.push(c);
        }
        return Ok(text);
    }
    let label = match codec {
        "big5" | "big5hkscs" | "cp950" => "big5",
        "cp932" | "shift_jis" | "shift_jis_2004" | "shift_jisx0213" => "shift_jis",
        "euc_jp" | "euc_jis_2004" | "euc_jisx0213" => "euc-jp",
        "cp949" | "euc_kr" => "euc-kr",
        "gb2312" | "gbk" => "gbk",
        "gb18030" => "gb18030",
        "iso2022_jp" | "iso2022_jp_1" | "iso2022_jp_2" | "iso2022_jp_2004" | "iso2022_jp_3"
        | "iso2022_jp_ext" => "iso-2022-jp",
        // UTF-16 and UTF-32 cannot carry an ASCII declaration; HZ, Johab,
        // ISO-2022-KR, UTF-7 and the escape codecs are not decoded here.
        _ => return Err(DecodeError::UnsupportedEncoding(name.to_string())),
    };
    let encoding =
        encoding_rs::Encoding::for_label(label.as_bytes()).expect("the WHATWG labels above exist");
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| DecodeError::InvalidInEncoding(name.to_string()))
}

/// The CPython codec a declared name stands for: CPython's tokenizer
/// spellings of UTF-8 and Latin-1 first, then `encodings.normalize_encoding`
/// and the alias table.
fn python_codec(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase().replace('_', "-");
    if lower == "utf-8" || lower.starts_with("utf-8-") {
        return Some("utf_8");
    }
    for latin in ["latin-1", "iso-8859-1", "iso-latin-1"] {
        if lower == latin || lower.starts_with(&format!("{latin}-")) {
            return Some("latin_1");
        }
    }
    // Runs of characters other than letters, digits and `.` become one `_`.
    let mut normalized = String::new();
    let mut punctuation = false;
    for c in name.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if punctuation && !normalized.is_empty() {
                normalized.push('_');
            }
            normalized.push(c);
            punctuation = false;
        } else {
            punctuation = true;
        }
    }
    let dotless = normalized.replace('.', "_");
    [normalized.as_str(), dotless.as_str()]
        .into_iter()
        .find_map(|candidate| {
            crate::codepages::CODECS
                .iter()
                .copied()
                .find(|c| *c == candidate)
                .or_else(|| {
                    crate::codepages::ALIASES
                        .iter()
                        .find(|(alias, _)| *alias == candidate)
                        .map(|(_, codec)| *codec)
                })
        })
}

fn lone_carriage_returns_as_newlines(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for i in 0..out.len() {
        if out[i] == b'\r' && out.get(i + 1) != Some(&b'\n') {
            out[i] = b'\n';
        }
    }
    out
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
    fn dos_and_mac_code_pages_decode_as_cpython_does() {
        // `é` is 0x82 in cp437 and cp850, 0x8E in mac_roman; `Ç` is 0x80.
        let cp850 = b"# -*- coding: cp850 -*-\nx = '\x82\x80'\n";
        assert_eq!(
            decode(cp850).unwrap(),
            "# -*- coding: cp850 -*-\nx = 'éÇ'\n"
        );
        let dos = b"# coding=IBM437\nx = '\x82'\n";
        assert_eq!(decode(dos).unwrap(), "# coding=IBM437\nx = 'é'\n");
        let mac = b"# vim: set fileencoding=mac-roman :\nx = '\x8e'\n";
        assert!(decode(mac).unwrap().ends_with("x = 'é'\n"));
    }

    #[test]
    fn latin1_is_cpythons_not_windows_1252() {
        // 0x80 is U+0080 in Latin-1 (a euro sign in windows-1252).
        let bytes = b"# coding: latin-1\nx = '\x80'\n";
        assert_eq!(decode(bytes).unwrap(), "# coding: latin-1\nx = '\u{80}'\n");
    }

    #[test]
    fn cjk_code_pages_go_through_their_whatwg_supersets() {
        // `日本` in Shift_JIS, declared as CPython's `cp932` and `sjis`.
        for name in ["cp932", "sjis", "shift-jis"] {
            let mut bytes = format!("# coding: {name}\nx = '").into_bytes();
            bytes.extend_from_slice(b"\x93\xfa\x96\x7b'\n");
            assert!(decode(&bytes).unwrap().ends_with("x = '日本'\n"), "{name}");
        }
    }

    #[test]
    fn a_byte_the_code_page_refuses_is_an_error() {
        // 0x81 is undefined in cp1252 for CPython.
        assert_eq!(
            decode(b"# coding: cp1252\nx = '\x81'\n"),
            Err(DecodeError::InvalidInEncoding("cp1252".into()))
        );
    }

    #[test]
    fn encodings_it_cannot_decode_are_named() {
        assert_eq!(
            decode(b"# coding: hz\nx = 1\n"),
            Err(DecodeError::UnsupportedEncoding("hz".into()))
        );
    }

    #[test]
    fn lone_carriage_returns_end_lines_as_in_cpython() {
        let bytes = b"# coding: cp850\rdef f():\r\n    return '\x82'\r";
        assert_eq!(
            decode(bytes).unwrap(),
            "# coding: cp850\ndef f():\r\n    return '\u{e9}'\n"
        );
    }

    #[test]
    fn unknown_encoding_reads_utf8_and_refuses_other_bytes() {
        // A codec the project registers (future-fstrings) reads UTF-8.
        assert_eq!(
            decode("# -*- coding: future_fstrings -*-\nname = f\"{é}\"\n".as_bytes()).unwrap(),
            "# -*- coding: future_fstrings -*-\nname = f\"{é}\"\n"
        );
        assert!(matches!(
            decode(b"# coding: klingon\nx = '\xff'\n"),
            Err(DecodeError::UnknownEncoding(_))
        ));
    }
}
