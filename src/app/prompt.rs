//! The bottom prompt: the filter in the CLI's own language, and the lab calls' arguments.

use super::App;
use super::action::{Action, PromptKind};
use super::effect::{Effect, LabCall};
use crate::options::FilterArgs;
use clap::Parser;

/// A filter line in the CLI's own language.
#[derive(Parser)]
#[command(no_binary_name = true)]
struct FilterLine {
    #[command(flatten)]
    filter: FilterArgs,
    /// With every namespace shown: only this one's (as --container).
    #[arg(long, value_name = "NS", conflicts_with = "container")]
    netns: Option<String>,
    /// Words to find in what the view shows (state, addresses, owner, command line).
    #[arg(value_name = "TEXT")]
    words: Vec<String>,
}

impl App {
    pub(super) fn open_prompt(&mut self, kind: PromptKind, text: String) {
        self.prompt.kind = kind;
        self.prompt.text = Some(text);
        self.prompt.error = None;
    }

    /// The prompt's text for a lab call, parsed; `Err` says what is wrong with it.
    pub(super) fn lab_call(kind: PromptKind, line: &str) -> Result<LabCall, String> {
        use crate::actions::lab::{ConnectSpec, ListenSpec};
        match kind {
            PromptKind::LabListen => ListenSpec::parse(line).map(LabCall::Listen),
            PromptKind::LabConnect => ConnectSpec::parse(line).map(LabCall::Connect),
            PromptKind::LabSend(id) => {
                Ok(LabCall::Send(id, line.replace("\\n", "\n").into_bytes()))
            }
            PromptKind::LabRebind(id) => {
                let (mut reuseaddr, mut reuseport) = (false, false);
                for w in line.split_whitespace() {
                    match w {
                        "reuseaddr" => reuseaddr = true,
                        "reuseport" => reuseport = true,
                        "none" => {}
                        _ => {
                            return Err(format!(
                                "unknown option {w:?} (reuseaddr, reuseport; SO_EXCLUSIVEADDRUSE does not exist on Linux)"
                            ));
                        }
                    }
                }
                Ok(LabCall::Rebind {
                    id,
                    reuseaddr,
                    reuseport,
                })
            }
            PromptKind::Filter => Err("not a lab prompt".into()),
        }
    }

    pub(super) fn apply_prompt(&mut self, action: Action) {
        let Some(text) = self.prompt.text.as_mut() else {
            return;
        };
        match action {
            Action::FilterChar(c) => text.push(c),
            Action::FilterBackspace => {
                text.pop();
            }
            Action::FilterClear => text.clear(),
            Action::FilterCancel => {
                self.prompt.text = None;
                self.prompt.error = None;
                let unchanged = match self.prompt.kind {
                    PromptKind::Filter if self.filter_text.is_empty() => "no filter".to_string(),
                    PromptKind::Filter => format!("filter unchanged: {}", self.filter_text),
                    _ => "cancelled: nothing was done".to_string(),
                };
                self.say(unchanged, true);
            }
            Action::FilterSubmit if self.prompt.kind != PromptKind::Filter => {
                let line = text.clone();
                match Self::lab_call(self.prompt.kind, &line) {
                    Ok(call) => {
                        self.pending.push(Effect::Lab(call));
                        self.prompt.text = None;
                        self.prompt.error = None;
                    }
                    Err(e) => self.prompt.error = Some(e),
                }
            }
            Action::FilterSubmit => {
                let line = text.clone();
                let parsed = FilterLine::try_parse_from(line.split_whitespace());
                if parsed.as_ref().is_ok_and(|p| p.netns.is_some()) && self.namespaces.is_none() {
                    self.prompt.error = Some(
                        "--netns: this view shows one namespace, chosen when it starts (tcpscope --netns all shows every one)".into(),
                    );
                    return;
                }
                match parsed {
                    Ok(parsed) => {
                        self.filter = parsed.filter.filter();
                        if let Some(ns) = parsed.netns {
                            self.filter.namespace = Some(ns);
                        }
                        self.filter.words = parsed.words;
                        // A new filter looks at every port: ANDed with a port chosen
                        // before, it would hide what it finds elsewhere.
                        self.sel.port = 0;
                        self.sel.log = 0;
                        self.filter_text = line;
                        self.prompt.error = None;
                        self.prompt.text = None;
                        self.sel.row = 0;
                        self.rebuild_visible();
                        self.rebuild_log_visible();
                        self.clamp();
                    }
                    Err(e) => {
                        let text = e.to_string();
                        self.prompt.error = Some(
                            text.lines()
                                .next()
                                .unwrap_or("bad filter")
                                .trim_start_matches("error: ")
                                .to_string(),
                        );
                    }
                }
            }
            Action::Quit => self.quit = true,
            _ => {}
        }
    }
}
