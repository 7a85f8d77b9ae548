//! Actions in: selection and scrolling, panes and overlays, and the hand-off to the prompt,
//! the dialogs and the scenario.

use super::App;
use super::action::{Action, Pane, PromptKind};
use super::effect::Effect;
use super::overlay::Overlay;
use super::view::{PortSummary, Row};

impl App {
    pub fn selected_port(&self) -> Option<&PortSummary> {
        self.sel.port.checked_sub(1).and_then(|i| self.ports.get(i))
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.visible.get(self.sel.row).map(|&i| &self.rows[i])
    }

    /// The selected line of the transitions pane.
    pub fn selected_transition(&self) -> Option<&crate::tracker::Transition> {
        self.log.get(*self.log_visible.get(self.sel.log)?)
    }

    /// The connection the focused pane points at: the selected row, or in the transitions
    /// log the selected transition's connection.
    pub fn focused_row(&self) -> Option<&Row> {
        match self.pane {
            Pane::Log => {
                let id = self.selected_transition()?.conn;
                self.rows.iter().find(|r| r.id == id)
            }
            _ => self.selected_row(),
        }
    }

    pub(super) fn clamp(&mut self) {
        self.sel.port = self.sel.port.min(self.ports.len());
        self.sel.row = self.sel.row.min(self.visible.len().saturating_sub(1));
        self.sel.log = self.sel.log.min(self.log_visible.len().saturating_sub(1));
        self.sel.lab = self.sel.lab.min(self.lab.sockets.len().saturating_sub(1));
    }

    /// Moves the selection of the focused pane by `delta`, within bounds.
    pub(super) fn move_by(&mut self, delta: isize) {
        let (sel, len) = match self.pane {
            Pane::Ports => (&mut self.sel.port, self.ports.len() + 1),
            Pane::Connections => (&mut self.sel.row, self.visible.len()),
            Pane::Log => (&mut self.sel.log, self.log_visible.len()),
            Pane::Lab => (&mut self.sel.lab, self.lab.sockets.len()),
        };
        let max = len.saturating_sub(1) as isize;
        *sel = (*sel as isize + delta).clamp(0, max.max(0)) as usize;
        if self.pane == Pane::Ports {
            self.sel.row = 0;
            self.rebuild_visible();
        }
    }

    pub fn apply(&mut self, action: Action) {
        if self.prompt.text.is_some() {
            self.apply_prompt(action);
            return;
        }
        if matches!(self.overlay, Overlay::Menu(_) | Overlay::Confirm(_)) {
            self.apply_dialog(action);
            return;
        }
        if self.apply_modal(action) {
            return;
        }
        let page = self.page.max(1) as isize;
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.overlay = Overlay::Help(0),
            Action::Back => self.overlay = Overlay::None,
            Action::Up | Action::ScrollUp => self.move_by(-1),
            Action::Down | Action::ScrollDown => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::Home => self.move_by(isize::MIN / 2),
            Action::End => self.move_by(isize::MAX / 2),
            Action::NextPane => {
                self.pane = match self.pane {
                    Pane::Ports => Pane::Connections,
                    Pane::Connections if self.lab_open => Pane::Lab,
                    Pane::Connections | Pane::Lab => Pane::Log,
                    Pane::Log => Pane::Ports,
                };
            }
            Action::PrevPane => {
                self.pane = match self.pane {
                    Pane::Ports => Pane::Log,
                    Pane::Connections => Pane::Ports,
                    Pane::Log if self.lab_open => Pane::Lab,
                    Pane::Log | Pane::Lab => Pane::Connections,
                };
            }
            Action::OpenActions => self.open_actions(),
            Action::ScenarioNext | Action::ScenarioRestart | Action::DiagramActor => {
                self.apply_scenario(action);
            }
            Action::CanBind => match self.selected_bind_addr() {
                Some(addr) => {
                    self.say(format!("probing {addr}…"), true);
                    self.pending
                        .push(Effect::CanBind(addr, self.selected_netns()));
                }
                None => {
                    self.say(
                        "select a local port (a listener's, or one in the lab) to ask about".into(),
                        false,
                    );
                }
            },
            Action::ToggleLab => {
                self.lab_open = !self.lab_open;
                if self.lab_open {
                    self.pane = Pane::Lab;
                } else if self.pane == Pane::Lab {
                    self.pane = Pane::Connections;
                }
            }
            Action::OpenDetails => {
                let id = match self.pane {
                    Pane::Log => self.selected_transition().map(|t| t.conn),
                    _ => self.selected_row().map(|r| r.id),
                };
                if let Some(id) = id {
                    self.overlay = Overlay::Details(id);
                }
            }
            Action::StartFilter => self.open_prompt(PromptKind::Filter, self.filter_text.clone()),
            Action::SortNext => {
                self.sorting.key = self.sorting.key.next();
                self.rebuild_visible();
            }
            Action::SortReverse => {
                self.sorting.descending = !self.sorting.descending;
                self.rebuild_visible();
            }
            Action::CopyRow | Action::CopyRowJson => match self.focused_row() {
                Some(r) => {
                    let (text, what) = if action == Action::CopyRow {
                        (r.as_text(), "the row")
                    } else {
                        (r.as_json(), "the row as JSON")
                    };
                    self.pending.push(Effect::Copy { text, what });
                }
                None => self.say("no row to copy".into(), false),
            },
            Action::ToggleMouse => {
                self.mouse_captured = !self.mouse_captured;
                self.pending.push(Effect::MouseCapture(self.mouse_captured));
            }
            Action::ToggleGhosts => {
                self.show_ghosts = !self.show_ghosts;
                self.rebuild_visible();
                self.clamp();
                let ghosts = self.counts.ghosts();
                if self.show_ghosts {
                    self.say(format!("closed connections shown ({ghosts})"), true);
                } else {
                    self.say(
                        format!("closed connections hidden ({ghosts}): g shows them again"),
                        true,
                    );
                }
            }
            Action::TogglePause => {
                self.paused = !self.paused;
                if !self.paused {
                    self.refresh_view();
                }
            }
            Action::Click(pane, i) => {
                self.pane = pane;
                match pane {
                    Pane::Ports => {
                        self.sel.port = i.min(self.ports.len());
                        self.sel.row = 0;
                        self.rebuild_visible();
                    }
                    Pane::Connections => self.sel.row = i,
                    Pane::Log => self.sel.log = i,
                    Pane::Lab => self.sel.lab = i,
                }
                self.clamp();
            }
            Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterClear
            | Action::FilterSubmit
            | Action::FilterCancel
            | Action::Select
            | Action::MenuPick(_)
            | Action::Confirm => {}
        }
    }

    /// The help and the reports take every key while open: they scroll, Esc (or `?` for the
    /// help) closes them, Ctrl-C and q quit, and nothing else reaches the hidden panes (a key
    /// pressed in the help must not move a selection the user cannot see). Over the details,
    /// keys that move or reorder the panes are dropped, and the rest act on the connection
    /// shown. Returns whether the action was taken here.
    fn apply_modal(&mut self, action: Action) -> bool {
        let page = self.page.max(1) as isize;
        let (top, len) = match &mut self.overlay {
            Overlay::Help(top) => (top, super::keys::help_lines().len()),
            Overlay::Report(_, lines, top) => {
                let len = lines.len();
                (top, len)
            }
            Overlay::Details(_) => return moves_the_panes(action),
            _ => return false,
        };
        let delta: isize = match action {
            Action::Up | Action::ScrollUp => -1,
            Action::Down | Action::ScrollDown => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Home => isize::MIN / 2,
            Action::End => isize::MAX / 2,
            Action::Quit => {
                self.quit = true;
                return true;
            }
            Action::Back | Action::ToggleHelp => {
                self.overlay = Overlay::None;
                return true;
            }
            _ => return true,
        };
        let max = len.saturating_sub(1) as isize;
        *top = (*top as isize).saturating_add(delta).clamp(0, max) as usize;
        true
    }

    pub(super) fn apply_scenario(&mut self, action: Action) {
        let Some(sc) = self.scenario.as_mut() else {
            self.say(
                "no scenario: `tcpscope lab NAME` opens one (`tcpscope lab list`)".into(),
                false,
            );
            return;
        };
        match action {
            Action::ScenarioNext if sc.finished() => {
                self.say("the scenario is over: r plays it again".into(), true);
            }
            Action::ScenarioNext => self.pending.push(Effect::ScenarioNext),
            Action::ScenarioRestart => self.pending.push(Effect::ScenarioRestart),
            _ => sc.diagram_actor = (sc.diagram_actor + 1) % sc.actors.len().max(1),
        }
    }
}

/// Actions that move a selection, switch or reorder the panes: hidden under the details.
fn moves_the_panes(action: Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::ScrollUp
            | Action::ScrollDown
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End
            | Action::NextPane
            | Action::PrevPane
            | Action::Click(..)
            | Action::SortNext
            | Action::SortReverse
            | Action::ToggleGhosts
    )
}
