//! `tcpscope completions SHELL` and `tcpscope man`: generated from the clap definition of the
//! command line, so that they cannot drift from it.

use super::args::{Cli, CompletionsArgs, ManArgs};
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "tcpscope", &mut script);
    write_out(&script).context("writing the completion script")
}

/// tcpscope(1), or one command's page (`man lab run`: tcpscope-lab-run(1)). An unknown command
/// is one line and exit 2.
pub fn man(args: &ManArgs) -> anyhow::Result<i32> {
    let mut cmd = Cli::command();
    // Built, the subcommands know their full names (tcpscope-list) and the global options.
    cmd.build();
    let mut page = cmd;
    for name in &args.command {
        let Some(sub) = page
            .get_subcommands()
            .find(|s| !s.is_hide_set() && s.get_name() == name)
        else {
            let known: Vec<&str> = page
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(clap::Command::get_name)
                .collect();
            let what = if known.is_empty() {
                format!("{} has no commands", page.get_name())
            } else {
                format!("the commands are {}", known.join(", "))
            };
            eprintln!(
                "tcpscope: no manual page for {:?}: {what}",
                crate::model::safe_text::for_terminal(name)
            );
            return Ok(super::EXIT_USAGE);
        };
        page = sub.clone();
    }
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(concat!("tcpscope ", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    write_out(&roff).context("writing the manual page")?;
    Ok(0)
}

fn write_out(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}
