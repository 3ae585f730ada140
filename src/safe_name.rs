//! File names made from what a server says: one safe name inside the directory it is written to.
//!
//! Attachment names, Aleph file names and archive names come from the server, and a hostile or
//! careless server can send `../../.bashrc`, `/etc/cron.d/x`, `C:\Windows\x`, `CON`, names with
//! line breaks or with right-to-left overrides that disguise an extension. [`safe_file_name`]
//! turns any of them into one plain file name that stays inside the directory it is joined to,
//! on Unix and on Windows.

/// The longest name [`safe_file_name`] gives, in bytes (most file systems allow 255).
pub const MAX_FILE_NAME_BYTES: usize = 200;

/// The name given when nothing of the original name is left.
const UNNAMED: &str = "unnamed";

/// The longest extension kept when a long name is shortened.
const MAX_EXTENSION_BYTES: usize = 16;

/// Reduces `name` (typically from a server) to one safe file name: joined to a directory, it
/// names a file directly inside that directory.
///
/// - separators (`/`, `\`), the characters Windows refuses (`< > : " | ? *`), control characters
///   and the invisible characters that reorder text (right-to-left overrides and their kin) each
///   become `_`; so no absolute path, drive letter, `..` component or NTFS stream survives;
/// - trailing dots and spaces are removed (Windows drops them), and a leading dot becomes `_`
///   (no hidden files, no `.` or `..`);
/// - a name Windows reserves for a device (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`,
///   `LPT0`–`LPT9`, with any extension and in any case) gets a leading `_`;
/// - the result is at most [`MAX_FILE_NAME_BYTES`] bytes, cut on a character boundary and keeping
///   a short extension;
/// - it is never empty (`unnamed`).
///
/// A name that is already safe comes back unchanged, and the function is idempotent. Two
/// different names can give the same result (`a/b` and `a_b`): a caller that saves several files
/// into one directory must still avoid overwriting one with another.
///
/// ```
/// use casefile::safe_file_name;
///
/// assert_eq!(safe_file_name("report.pdf"), "report.pdf");
/// assert_eq!(safe_file_name("../../etc/passwd"), "_._.._etc_passwd");
/// assert_eq!(safe_file_name("/etc/passwd"), "_etc_passwd");
/// assert_eq!(safe_file_name("C:\\evil.exe"), "C__evil.exe");
/// assert_eq!(safe_file_name("nul.txt"), "_nul.txt");
/// assert_eq!(safe_file_name("minutes\r\n.pdf"), "minutes__.pdf");
/// assert_eq!(safe_file_name(".."), "unnamed");
/// assert_eq!(safe_file_name(""), "unnamed");
/// ```
pub fn safe_file_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| if is_unsafe_char(c) { '_' } else { c })
        .collect();
    let mut name = trim_end(&replaced).to_owned();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    let mut name = shorten(&name, MAX_FILE_NAME_BYTES);
    if is_reserved(&name) {
        name.insert(0, '_');
        name = shorten(&name, MAX_FILE_NAME_BYTES);
    }
    if name.is_empty() {
        return UNNAMED.to_owned();
    }
    name
}

/// Characters that never go into a file name.
fn is_unsafe_char(c: char) -> bool {
    matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
        || c.is_control()
        || is_reordering(c)
}

/// Invisible characters that change the order text is shown in (`invoice\u{202E}fdp.exe` is
/// shown as `invoiceexe.pdf`), and the byte-order mark.
fn is_reordering(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// `name` without trailing dots and white space.
fn trim_end(name: &str) -> &str {
    name.trim_end_matches(|c: char| c == '.' || c.is_whitespace())
}

/// `name` cut to at most `max` bytes on a character boundary, keeping a short extension, and
/// without trailing dots and white space.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let extension = name
        .rfind('.')
        .map(|at| &name[at..])
        .filter(|ext| ext.len() <= MAX_EXTENSION_BYTES && ext.len() > 1);
    let keep = max - extension.map_or(0, str::len);
    let mut end = keep;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let mut short = trim_end(&name[..end]).to_owned();
    if let Some(extension) = extension {
        short.push_str(extension);
    }
    trim_end(&short).to_owned()
}

/// Whether Windows reserves the name for a device: the part before the first dot (without
/// trailing spaces) is `CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9` or `LPT0`–`LPT9` (also with a
/// superscript digit), in any case.
fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let (Some(prefix), Some(digit)) = (upper.get(..3), upper.get(3..)) else {
                return false;
            };
            matches!(prefix, "COM" | "LPT")
                && (matches!(digit.as_bytes(), [b'0'..=b'9']) || matches!(digit, "¹" | "²" | "³"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_in_any_case_and_with_extensions() {
        for name in [
            "CON",
            "con",
            "Nul.txt",
            "com1",
            "LPT9.tar.gz",
            "aux ",
            "COM¹",
            "conin$",
        ] {
            assert!(
                safe_file_name(name).starts_with('_'),
                "{name} -> {}",
                safe_file_name(name)
            );
        }
        for name in ["CONSOLE", "com10", "lpt", "nullify.txt", "icon.png"] {
            assert_eq!(safe_file_name(name), name);
        }
    }

    #[test]
    fn long_names_keep_their_extension_and_a_char_boundary() {
        let name = format!("{}.pdf", "é".repeat(300));
        let safe = safe_file_name(&name);
        assert!(safe.len() <= MAX_FILE_NAME_BYTES, "{}", safe.len());
        assert!(safe.ends_with("é.pdf"), "{safe}");
    }

    #[test]
    fn reordering_characters_cannot_disguise_an_extension() {
        assert_eq!(safe_file_name("invoice\u{202E}fdp.exe"), "invoice_fdp.exe");
    }
}
