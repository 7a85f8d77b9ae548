//! `--color auto|always|never`: the one decision whether tcpscope colours its output, made
//! once per run for every command and handed down (to the view's theme, to `list`'s table).

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset or empty.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour: `always` and `never` as they say; `auto` only on a terminal, and not
    /// when NO_COLOR is set to anything but the empty string (https://no-color.org).
    pub fn colours(self, stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }

    /// The name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn auto_colours_a_terminal_unless_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(ColorChoice::Auto.colours(true, None));
        assert!(ColorChoice::Auto.colours(true, empty));
        assert!(!ColorChoice::Auto.colours(true, set));
        assert!(!ColorChoice::Auto.colours(false, None));
        assert!(ColorChoice::Always.colours(false, set));
        assert!(!ColorChoice::Never.colours(true, None));
    }
}
