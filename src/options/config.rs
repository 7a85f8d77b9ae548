//! The settings a run uses, resolved in one place: the command line over the config file over
//! the defaults. Pure: the caller (cli) finds and reads the file, and says which values the
//! command line gave; this module parses the file's text and picks each setting's value.
//!
//! The file (`$XDG_CONFIG_HOME/tcpscope/config.toml`, else `~/.config/tcpscope/config.toml`):
//!
//! ```toml
//! interval = 500        # ms between snapshots (the view, watch)
//! ghost_secs = 30       # seconds a closed connection stays (the view, watch)
//! full_every = 10       # seconds between full dumps with kernel events (the view)
//! events = "auto"       # auto, bpf, tracefs, off (the view, watch)
//! color = "auto"        # auto, always, never (every command)
//!
//! [colors]              # per state: a colour name, 0 to 255, or #rrggbb
//! time_wait = "yellow"
//! close_wait = "#ff5f5f"
//! ```

use super::ColorChoice;
use crate::model::color::{Colour, Palette, PaletteKey};
use crate::sources::events::EventsMode;
use clap::ValueEnum;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Files larger than this are refused unread: a config file is a few lines.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The default file: `$XDG_CONFIG_HOME/tcpscope/config.toml` when that is set to an absolute
/// path (the XDG rule: a relative one is ignored), else `$HOME/.config/tcpscope/config.toml`.
pub fn default_path(xdg_config_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    let base = xdg_config_home
        .map(Path::new)
        .filter(|p| p.is_absolute())
        .map(Path::to_path_buf)
        .or_else(|| {
            home.map(Path::new)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".config"))
        })?;
    Some(base.join("tcpscope").join("config.toml"))
}

/// The file as written; every key optional, any other key an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    interval: Option<Spanned<i64>>,
    ghost_secs: Option<Spanned<i64>>,
    full_every: Option<Spanned<i64>>,
    events: Option<Spanned<String>>,
    color: Option<Spanned<String>>,
    colors: Option<BTreeMap<String, Spanned<String>>>,
}

/// What the file sets, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSettings {
    pub interval: Option<u64>,
    pub ghost_secs: Option<u64>,
    pub full_every: Option<u64>,
    pub events: Option<EventsMode>,
    pub color: Option<ColorChoice>,
    /// `[colors]`, in the file's order of keys (sorted).
    pub colors: Vec<(String, PaletteKey, Colour)>,
}

/// What is wrong with a file: where (a 1-based line when known), which key, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl FileError {
    /// One line: `PATH:LINE: KEY: MESSAGE`.
    pub fn describe(&self, path: &Path) -> String {
        let mut s = path.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
        }
        if let Some(key) = &self.key {
            s.push_str(&format!(": {key}"));
        }
        s.push_str(": ");
        s.push_str(&self.message);
        s
    }
}

fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A number checked by the command line's own rule (`options::number`), so that the file and
/// the flag refuse the same values in the same words.
fn number(
    text: &str,
    key: &str,
    v: Option<Spanned<i64>>,
    rule: fn(&str) -> Result<u64, String>,
) -> Result<Option<u64>, FileError> {
    v.map(|v| {
        rule(&v.get_ref().to_string()).map_err(|message| FileError {
            line: Some(line_of(text, v.span().start)),
            key: Some(key.into()),
            message,
        })
    })
    .transpose()
}

fn choice<T: ValueEnum>(
    text: &str,
    key: &str,
    v: Option<Spanned<String>>,
) -> Result<Option<T>, FileError> {
    v.map(|v| {
        T::from_str(v.get_ref(), true).map_err(|_| {
            let names: Vec<String> = T::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value)
                .filter(|p| !p.is_hide_set())
                .map(|p| p.get_name().to_string())
                .collect();
            FileError {
                line: Some(line_of(text, v.span().start)),
                key: Some(key.into()),
                message: format!("{:?} is not one of {}", v.get_ref(), names.join(", ")),
            }
        })
    })
    .transpose()
}

/// Parses and checks a config file's text.
pub fn parse(text: &str) -> Result<FileSettings, FileError> {
    let raw: Text = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        // The key is what the line names before `=` (or the table, `[colors]`).
        let key = line
            .and_then(|l| text.lines().nth(l - 1))
            .map(|l| l.split('=').next().unwrap_or("").trim().to_string())
            .filter(|k| !k.is_empty() && k.len() <= 64);
        let message = e.message().lines().next().unwrap_or("not TOML").trim();
        FileError {
            line,
            key,
            message: message.to_string(),
        }
    })?;
    let mut colors = Vec::new();
    for (name, value) in raw.colors.unwrap_or_default() {
        let line = Some(line_of(text, value.span().start));
        let key = Some(format!("colors.{name}"));
        let Some(which) = PaletteKey::parse(&name) else {
            return Err(FileError {
                line,
                key,
                message:
                    "not a state: the kernel's names (time_wait, close_wait, fin_wait1 …) or gone"
                        .into(),
            });
        };
        let colour =
            Colour::parse(value.get_ref()).map_err(|message| FileError { line, key, message })?;
        colors.push((name, which, colour));
    }
    Ok(FileSettings {
        interval: number(text, "interval", raw.interval, super::number::interval_ms)?,
        ghost_secs: number(
            text,
            "ghost_secs",
            raw.ghost_secs,
            super::number::ghost_secs,
        )?,
        full_every: number(
            text,
            "full_every",
            raw.full_every,
            super::number::full_every,
        )?,
        events: choice(text, "events", raw.events)?,
        color: choice(text, "color", raw.color)?,
        colors,
    })
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    CommandLine,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::CommandLine => f.write_str("command line"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// A value clap has (the command line's or clap's default), and whether the user typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Given<T> {
    pub value: T,
    pub on_command_line: bool,
}

impl<T> Given<T> {
    pub fn default(value: T) -> Given<T> {
        Given {
            value,
            on_command_line: false,
        }
    }
}

/// What the command line gave, for every setting (a command without the flag gives the
/// default, not typed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenSettings {
    pub interval: Given<u64>,
    pub ghost_secs: Given<u64>,
    pub full_every: Given<u64>,
    pub events: Given<EventsMode>,
    pub color: Given<ColorChoice>,
}

impl Default for GivenSettings {
    /// The command line's defaults (as `TuiArgs` and `WatchArgs` have them).
    fn default() -> Self {
        GivenSettings {
            interval: Given::default(1000),
            ghost_secs: Given::default(60),
            full_every: Given::default(10),
            events: Given::default(EventsMode::Auto),
            color: Given::default(ColorChoice::Auto),
        }
    }
}

/// The settings a run uses, each with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub interval: Setting<u64>,
    pub ghost_secs: Setting<u64>,
    pub full_every: Setting<u64>,
    pub events: Setting<EventsMode>,
    pub color: Setting<ColorChoice>,
    /// The states' colours: the defaults with the file's `[colors]` over them.
    pub palette: Palette,
    /// The file's `[colors]` entries, as written.
    pub colors: Vec<(String, Colour)>,
}

fn pick<T>(given: Given<T>, file: Option<T>, path: Option<&Path>) -> Setting<T> {
    match (given.on_command_line, file, path) {
        (true, _, _) => Setting {
            value: given.value,
            origin: Origin::CommandLine,
        },
        (false, Some(value), Some(path)) => Setting {
            value,
            origin: Origin::File(path.to_path_buf()),
        },
        _ => Setting {
            value: given.value,
            origin: Origin::Default,
        },
    }
}

impl Settings {
    /// The command line over the file over the defaults: the one place that decides.
    pub fn resolve(given: GivenSettings, file: Option<(&Path, &FileSettings)>) -> Settings {
        let path = file.map(|(p, _)| p);
        let f = file.map(|(_, f)| f.clone()).unwrap_or_default();
        let mut palette = Palette::default();
        for (_, key, colour) in &f.colors {
            palette.set(*key, *colour);
        }
        Settings {
            interval: pick(given.interval, f.interval, path),
            ghost_secs: pick(given.ghost_secs, f.ghost_secs, path),
            full_every: pick(given.full_every, f.full_every, path),
            events: pick(given.events, f.events, path),
            color: pick(given.color, f.color, path),
            palette,
            colors: f.colors.iter().map(|(n, _, c)| (n.clone(), *c)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    #[test]
    fn the_xdg_directory_wins_over_home_when_absolute() {
        let p =
            |x: Option<&str>, h: Option<&str>| default_path(x.map(OsStr::new), h.map(OsStr::new));
        let want = |s: &str| Some(PathBuf::from(s));
        assert_eq!(p(Some("/x"), Some("/h")), want("/x/tcpscope/config.toml"));
        assert_eq!(p(None, Some("/h")), want("/h/.config/tcpscope/config.toml"));
        assert_eq!(
            p(Some("rel"), Some("/h")),
            want("/h/.config/tcpscope/config.toml")
        );
        assert_eq!(p(Some(""), None), None);
    }

    #[test]
    fn a_file_sets_every_key() {
        let f = parse(
            "interval = 500\nghost_secs = 0\nfull_every = 3\nevents = \"off\"\ncolor = \"Never\"\n[colors]\ntime_wait = \"yellow\"\ngone = \"#010203\"\n",
        )
        .unwrap();
        assert_eq!(f.interval, Some(500));
        assert_eq!(f.ghost_secs, Some(0));
        assert_eq!(f.full_every, Some(3));
        assert_eq!(f.events, Some(EventsMode::Off));
        assert_eq!(f.color, Some(ColorChoice::Never));
        assert_eq!(f.colors.len(), 2);
        assert_eq!(parse("").unwrap(), FileSettings::default());
    }

    #[test]
    fn a_bad_file_names_the_line_and_the_key() {
        let err = |t: &str| parse(t).unwrap_err();
        let e = err("# mine\ninterval = 5\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("interval")));
        assert_eq!(
            e.message,
            "the interval in milliseconds is a whole number from 10 to 3600000"
        );
        let e = err("ghost_secs = 1\ncolour = \"never\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("colour")));
        assert!(
            e.message.contains("unknown field `colour`"),
            "{}",
            e.message
        );
        let e = err("events = \"ebpf\"");
        assert_eq!(e.key.as_deref(), Some("events"));
        assert_eq!(e.message, "\"ebpf\" is not one of auto, bpf, tracefs, off");
        let e = err("interval = \"fast\"");
        assert_eq!(e.key.as_deref(), Some("interval"));
        let e = err("[colors]\nhalf_open = \"red\"");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("colors.half_open"))
        );
        let e = err("[colors]\ntime_wait = \"purpleish\"");
        assert!(e.message.contains("is not a colour"), "{}", e.message);
        let e = err("interval = = 3");
        assert_eq!(e.line, Some(1));
        assert_eq!(e.describe(Path::new("/c.toml")).lines().count(), 1, "{e:?}");
        assert!(e.describe(Path::new("/c.toml")).starts_with("/c.toml:1: "));
    }

    #[test]
    fn the_command_line_beats_the_file_which_beats_the_defaults() {
        let file =
            parse("interval = 500\nghost_secs = 5\n[colors]\ntime_wait = \"yellow\"").unwrap();
        let path = Path::new("/c.toml");
        let given = GivenSettings {
            ghost_secs: Given {
                value: 7,
                on_command_line: true,
            },
            ..GivenSettings::default()
        };
        let s = Settings::resolve(given, Some((path, &file)));
        assert_eq!(s.interval.value, 500);
        assert_eq!(s.interval.origin, Origin::File(path.into()));
        assert_eq!(s.ghost_secs.value, 7);
        assert_eq!(s.ghost_secs.origin, Origin::CommandLine);
        assert_eq!(s.full_every.value, 10);
        assert_eq!(s.full_every.origin, Origin::Default);
        assert_eq!(s.palette.state(TcpState::TimeWait), Colour::Yellow);
        let none = Settings::resolve(given, None);
        assert_eq!(none.interval.origin, Origin::Default);
        assert_eq!(none.palette, Palette::default());
    }
}
