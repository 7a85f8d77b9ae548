//! The command line: parse, enter the namespace, dispatch. Errors become one line on stderr.

pub mod args;
mod can_bind;
mod config;
mod confirm;
mod docs;
mod kill;
mod lab;
mod list;
mod shutdown;
mod watch;

use crate::model::safe_text::for_terminal;
use crate::sources::netns::NetnsChoice;
use args::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};

/// Exit code for bad input (as clap uses).
pub const EXIT_USAGE: i32 = 2;

pub fn main() -> i32 {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (m, cli)));
    let (matches, mut cli) = match parsed {
        Ok(parsed) => parsed,
        Err(e) if !e.use_stderr() => {
            // --help and --version; a full disk or a closed pipe is said, not ignored.
            use std::io::Write;
            let text = e.render().to_string();
            let mut out = std::io::stdout().lock();
            return match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => 0,
                Err(err) => {
                    eprintln!("tcpscope: writing the help: {err}");
                    1
                }
            };
        }
        Err(e) => {
            let text = e.to_string();
            // One line: clap's first, and the next when the first only announces it
            // ("the following required arguments were not provided:").
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("bad arguments");
            let first = first.trim_start_matches("error: ");
            match (first.ends_with(':'), lines.next()) {
                (true, Some(next)) => eprintln!("tcpscope: {first} {next}"),
                _ => eprintln!("tcpscope: {first}"),
            }
            return EXIT_USAGE;
        }
    };
    // The config file under the command line, for every command but those that print what
    // the binary is (and the lab's helper process, which must not depend on a user's file).
    let resolved = if matches!(
        &cli.command,
        Some(Command::Completions(_) | Command::Man(_) | Command::LabForeign)
    ) {
        None
    } else {
        match config::apply(&matches, &mut cli) {
            Ok(resolved) => Some(resolved),
            Err(line) => {
                eprintln!("tcpscope: {line}");
                return EXIT_USAGE;
            }
        }
    };
    let netns = match &cli.command {
        Some(Command::List(args)) => args.sockets.netns.as_ref(),
        Some(Command::Watch(args)) => args.sockets.netns.as_ref(),
        Some(Command::CanBind(args)) => args.netns.as_ref(),
        Some(Command::Kill(args)) => args.sockets.netns.as_ref(),
        Some(Command::Shutdown(args)) => args.sockets.netns.as_ref(),
        Some(
            Command::Lab(_)
            | Command::LabForeign
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Config(_),
        ) => None,
        None => cli.tui.sockets.netns.as_ref(),
    };
    let all = netns == Some(&NetnsChoice::All);
    if all
        && !matches!(
            &cli.command,
            None | Some(
                Command::List(_) | Command::Watch(_) | Command::Kill(_) | Command::Shutdown(_)
            )
        )
    {
        eprintln!(
            "tcpscope: --netns all: only `list`, `watch`, `kill` and `shutdown` take it yet; name one namespace (NAME, pid:PID or a path)"
        );
        return EXIT_USAGE;
    }
    crate::sources::namespaces::remember_start();
    if let Some(choice) = netns
        && let Err(e) = crate::sources::netns::enter_choice(choice)
    {
        eprintln!("tcpscope: {}", for_terminal(&e.to_string()));
        return EXIT_USAGE;
    }
    if cli.command.is_none() && !crate::tui::has_terminal() {
        eprintln!(
            "tcpscope: no terminal for the interactive view: use `tcpscope list` (or `list --json`) for a table, `tcpscope watch` for transitions"
        );
        return EXIT_USAGE;
    }
    // Whether to colour, decided here once for every command.
    let palette = resolved
        .as_ref()
        .map_or_else(Default::default, |(settings, _)| settings.palette);
    let colour = {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR");
        cli.color
            .colours(std::io::stdout().is_terminal(), no_color.as_deref())
    };
    let theme = crate::ui::theme::Theme::new(colour, palette);
    // Every command gives an exit code; errors are one line and exit 1.
    let result = match &cli.command {
        Some(Command::List(args)) => list::run(args, colour.then_some(palette)).map(|()| 0),
        Some(Command::Watch(args)) => watch::run(args).map(|()| 0),
        Some(Command::CanBind(args)) => can_bind::run(args),
        Some(Command::Kill(args)) => kill::run(args),
        Some(Command::Shutdown(args)) => shutdown::run(args),
        Some(Command::Lab(args)) => lab::run(args, theme),
        Some(Command::Completions(args)) => docs::completions(args).map(|()| 0),
        Some(Command::Man(args)) => docs::man(args),
        Some(Command::Config(_)) => match &resolved {
            Some((settings, found)) => config::print(settings, found).map(|()| 0),
            None => Ok(0),
        },
        Some(Command::LabForeign) => Ok(crate::scenario::foreign::serve()),
        None => crate::tui::run(
            &cli.tui,
            &netns.map_or_else(|| "(this one)".to_string(), NetnsChoice::describe),
            theme,
        )
        .map(|()| 0),
    };
    match result {
        Ok(code) => code,
        // A reader of the output that went away (`| head`) is no error.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            // Errors quote files, names and kernel text: made safe for the terminal.
            eprintln!("tcpscope: {}", for_terminal(&format!("{e:#}")));
            1
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
