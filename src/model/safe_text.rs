//! Text from the system or a file made safe for a terminal: process names and command lines,
//! scenario titles and narration, namespace names. Anyone can name a process `\e]2;OWNED\a`
//! (prctl PR_SET_NAME) and hold a socket; written raw, root's terminal would obey it. Control
//! characters (C0, DEL, C1) are shown as `\xNN`, and the invisible characters that reorder or
//! hide text (bidirectional overrides, zero-width marks) as `\u{NNNN}`. JSON output keeps the
//! exact text, escaped as JSON does.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as it is.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `s`, with what a terminal would act on shown escaped; borrowed when nothing needs it.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if u32::from(c) <= 0xff {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey_and_nothing_else() {
        assert_eq!(for_terminal("\u{1b}]2;OWNED\u{7}"), "\\x1b]2;OWNED\\x07");
        assert_eq!(
            for_terminal("a\rb\nc\u{7f}\u{9b}"),
            "a\\x0db\\x0ac\\x7f\\x9b"
        );
        assert_eq!(for_terminal("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert!(matches!(for_terminal("nginx: worker"), Cow::Borrowed(_)));
        assert_eq!(for_terminal("café ☕ 名前"), "café ☕ 名前");
    }
}
