//! The config file: found (the XDG way, or `--config`), read with a bound, parsed and put
//! under the command line (`options::config::Settings::resolve`), then written back into the
//! parsed arguments, so that every command runs with the resolved values.

use super::args::{Cli, Command};
use crate::model::safe_text::for_terminal;
use crate::options::config::{self, FileSettings, Given, GivenSettings, Settings};
use clap::ArgMatches;
use clap::parser::ValueSource;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Which file was read, or why none was.
#[derive(Debug, Clone)]
pub enum Found {
    Read(PathBuf),
    Missing(PathBuf),
    /// The default path, where this user may not look (a program run as another user, with
    /// HOME still the caller's): as if there were no file. `--config FILE` is never skipped.
    Unreadable(PathBuf),
    Refused,
    NoPath,
}

/// Finds, reads and applies the config file to `cli`. Err: one line for the user (exit 2).
pub fn apply(matches: &ArgMatches, cli: &mut Cli) -> Result<(Settings, Found), String> {
    let (found, file) = find_and_read(cli)?;
    let given = given(matches, cli);
    let path = match &found {
        Found::Read(p) => Some(p.as_path()),
        _ => None,
    };
    let settings = Settings::resolve(given, path.zip(file.as_ref()));
    cli.color = settings.color.value;
    match &mut cli.command {
        None => {
            cli.tui.interval = settings.interval.value;
            cli.tui.ghost_secs = settings.ghost_secs.value;
            cli.tui.full_every = settings.full_every.value;
            cli.tui.events = settings.events.value;
        }
        Some(Command::Watch(args)) => {
            args.interval = settings.interval.value;
            args.ghost_secs = settings.ghost_secs.value;
            args.events = settings.events.value;
        }
        _ => {}
    }
    Ok((settings, found))
}

fn find_and_read(cli: &Cli) -> Result<(Found, Option<FileSettings>), String> {
    if cli.no_config {
        return Ok((Found::Refused, None));
    }
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => {
            let xdg = std::env::var_os("XDG_CONFIG_HOME");
            let home = std::env::var_os("HOME");
            match config::default_path(xdg.as_deref(), home.as_deref()) {
                Some(p) => (p, false),
                None => return Ok((Found::NoPath, None)),
            }
        }
    };
    let shown = || for_terminal(&path.display().to_string()).into_owned();
    let text = match read_bounded(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok((Found::Missing(path), None));
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && !explicit => {
            return Ok((Found::Unreadable(path), None));
        }
        Err(e) => return Err(format!("{}: {e}", shown())),
    };
    let settings =
        config::parse(&text).map_err(|e| for_terminal(&e.describe(&path)).into_owned())?;
    Ok((Found::Read(path), Some(settings)))
}

/// A regular file of at most `MAX_FILE_BYTES`, in UTF-8.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let too_big = || {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "larger than {} KiB: not a config file",
                config::MAX_FILE_BYTES / 1024
            ),
        )
    };
    if meta.len() > config::MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(config::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > config::MAX_FILE_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8"))
}

/// What the command line gave: clap's values, and which the user typed (`value_source`).
fn given(matches: &ArgMatches, cli: &Cli) -> GivenSettings {
    let sub = matches.subcommand().map_or(matches, |(_, m)| m);
    let typed = |id: &str| {
        [matches, sub]
            .iter()
            .any(|m| m.value_source(id) == Some(ValueSource::CommandLine))
    };
    let mut given = GivenSettings {
        color: of(cli.color, typed("color")),
        ..GivenSettings::default()
    };
    match &cli.command {
        None => {
            let t = &cli.tui;
            given.interval = of(t.interval, typed("interval"));
            given.ghost_secs = of(t.ghost_secs, typed("ghost_secs"));
            given.full_every = of(t.full_every, typed("full_every"));
            given.events = of(t.events, typed("events"));
        }
        Some(Command::Watch(a)) => {
            given.interval = of(a.interval, typed("interval"));
            given.ghost_secs = of(a.ghost_secs, typed("ghost_secs"));
            given.events = of(a.events, typed("events"));
        }
        Some(Command::Config(a)) => {
            given.interval = of(a.interval, typed("interval"));
            given.ghost_secs = of(a.ghost_secs, typed("ghost_secs"));
            given.full_every = of(a.full_every, typed("full_every"));
            given.events = of(a.events, typed("events"));
        }
        _ => {}
    }
    given
}

fn name(v: &impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}

fn of<T>(value: T, on_command_line: bool) -> Given<T> {
    Given {
        value,
        on_command_line,
    }
}

/// `tcpscope config`: each setting, its value and where it comes from.
pub fn print(settings: &Settings, found: &Found) -> anyhow::Result<()> {
    use std::io::Write;
    let file = match found {
        Found::Read(p) => p.display().to_string(),
        Found::Missing(p) => format!("none ({} does not exist)", p.display()),
        Found::Unreadable(p) => format!("none ({} may not be read: skipped)", p.display()),
        Found::Refused => "none (--no-config)".into(),
        Found::NoPath => "none (neither XDG_CONFIG_HOME nor HOME is set)".into(),
    };
    let mut lines = vec![format!("{:<18} {file}", "config file")];
    let mut row = |key: &str, value: String, origin: &config::Origin| {
        lines.push(format!("{key:<18} {value:<10} {origin}"));
    };
    row(
        "interval",
        settings.interval.value.to_string(),
        &settings.interval.origin,
    );
    row(
        "ghost_secs",
        settings.ghost_secs.value.to_string(),
        &settings.ghost_secs.origin,
    );
    row(
        "full_every",
        settings.full_every.value.to_string(),
        &settings.full_every.origin,
    );
    row(
        "events",
        name(&settings.events.value),
        &settings.events.origin,
    );
    row("color", name(&settings.color.value), &settings.color.origin);
    if let Found::Read(p) = found {
        let origin = config::Origin::File(p.clone());
        for (state, colour) in &settings.colors {
            row(&format!("colors.{state}"), format!("{colour:?}"), &origin);
        }
    }
    // Paths are the user's, made safe line by line.
    let text: String = lines
        .iter()
        .map(|l| for_terminal(l).into_owned() + "\n")
        .collect();
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
