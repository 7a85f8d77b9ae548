//! Acting on what is selected: the actions menu, its confirmations, the effects queued for
//! the main loop, and their outcomes.

use super::App;
use super::action::{Action, Pane, PromptKind};
use super::confirm;
use super::effect::{EffectDone, Foreign, Peer};
use super::menu::{self, Choice, Menu};
use super::overlay::Overlay;
use super::view::{Row, ServicePort};
use crate::model::TcpState;
use crate::tracker::Phase;

impl App {
    /// The address a server would bind for the selected port: ports pane, connection or lab
    /// socket. `None` when nothing local is selected.
    pub(super) fn selected_bind_addr(&self) -> Option<std::net::SocketAddr> {
        match self.pane {
            Pane::Ports => {
                let p = self.selected_port()?;
                let ServicePort::Local(port) = p.port else {
                    return None;
                };
                let row = self.rows.iter().find(|r| p.has(r))?;
                Some(menu::unspecified(std::net::SocketAddr::new(
                    row.local.ip(),
                    port,
                )))
            }
            Pane::Lab => self
                .lab
                .sockets
                .get(self.sel.lab)
                .and_then(|e| e.local)
                .map(menu::unspecified),
            _ => self.focused_row().map(|r| menu::unspecified(r.local)),
        }
    }

    /// The namespace of what is selected (0: the view's own, as for the lab's sockets).
    pub(super) fn selected_netns(&self) -> u32 {
        match self.pane {
            Pane::Ports => self.selected_port().map_or(0, |p| p.netns),
            Pane::Lab => 0,
            _ => self.focused_row().map_or(0, |r| r.netns),
        }
    }

    /// The actions menu for what is selected.
    pub(super) fn open_actions(&mut self) {
        let menu = match self.pane {
            Pane::Lab => {
                let mut items = menu::lab_new_items();
                let mut title = " Lab ".to_string();
                if let Some(e) = self.lab.sockets.get(self.sel.lab) {
                    title = format!(" {} ", e.text);
                    items.extend(menu::lab_items(
                        e.id,
                        e.listener,
                        e.open,
                        self.lab_state(e.inode),
                        e.local,
                    ));
                }
                Menu {
                    title,
                    items,
                    sel: 0,
                }
            }
            Pane::Ports => {
                let Some(addr) = self.selected_bind_addr() else {
                    self.say("select a local port first".into(), false);
                    return;
                };
                Menu {
                    title: format!(" Port {} ", addr.port()),
                    items: vec![
                        menu::MenuItem {
                            key: 'b',
                            label: "can-bind  could a server bind this port now?".into(),
                            choice: Choice::Run(super::effect::Effect::CanBind(
                                addr,
                                self.selected_netns(),
                            )),
                        },
                        menu::MenuItem {
                            key: 'l',
                            label: "listen…  a lab listener on this port".into(),
                            choice: Choice::Ask(PromptKind::LabListen),
                        },
                    ],
                    sel: 0,
                }
            }
            Pane::Connections | Pane::Log => {
                let Some(r) = self.focused_row() else {
                    self.say("no socket selected".into(), false);
                    return;
                };
                if r.ghost {
                    self.say("this connection is gone: nothing to act on".into(), false);
                    return;
                }
                let Phase::State(state) = r.state else {
                    return;
                };
                let title = format!(" {} {} > {} ", state.name(), r.local, r.remote);
                let items = match r
                    .lab
                    .and_then(|id| self.lab.sockets.iter().find(|e| e.id == id))
                {
                    Some(e) => menu::lab_items(e.id, e.listener, e.open, Some(state), e.local),
                    None => menu::foreign_items(&Foreign {
                        netns: r.netns,
                        local: r.local,
                        remote: r.remote,
                        state,
                        inode: r.inode,
                        owners: r.owners.clone(),
                        peer: self.peer_of(r),
                    }),
                };
                Menu {
                    title,
                    items,
                    sel: 0,
                }
            }
        };
        self.overlay = Overlay::Menu(menu);
    }

    /// The other end of a connection: the socket of this namespace with the mirrored ends,
    /// if it has one. A loopback peer is always here, so one no socket has is gone (every
    /// state is tracked, whatever the view's filter shows).
    fn peer_of(&self, r: &Row) -> Peer {
        if r.remote.port() == 0 {
            return Peer::Unknown;
        }
        let mirror = self
            .rows
            .iter()
            .filter(|o| o.netns == r.netns && o.local == r.remote && o.remote == r.local)
            .min_by_key(|o| o.ghost);
        match mirror {
            Some(o) if !o.ghost => match o.state {
                Phase::State(s) => Peer::Here(s),
                Phase::Gone => Peer::Gone,
            },
            Some(_) => Peer::Gone,
            None if r.remote.ip().is_loopback() => Peer::Gone,
            None => Peer::Unknown,
        }
    }

    /// The state of a lab socket as the tracker has it.
    pub(super) fn lab_state(&self, inode: u64) -> Option<TcpState> {
        self.rows
            .iter()
            .find(|r| inode != 0 && r.inode == inode && !r.ghost)
            .and_then(|r| match r.state {
                Phase::State(s) => Some(s),
                Phase::Gone => None,
            })
    }

    /// Keys while a menu or a confirmation dialog is open.
    pub(super) fn apply_dialog(&mut self, action: Action) {
        let overlay = std::mem::replace(&mut self.overlay, Overlay::None);
        match (overlay, action) {
            (_, Action::Quit) => self.quit = true,
            (Overlay::Confirm(c), Action::Confirm) => self.pending.push(c.effect),
            (Overlay::Confirm(_), Action::Back) => {
                self.say("cancelled: nothing was done".into(), true);
            }
            (
                Overlay::Menu(mut m),
                Action::Up | Action::Down | Action::ScrollUp | Action::ScrollDown,
            ) => {
                let n = m.items.len().max(1);
                m.sel = if matches!(action, Action::Up | Action::ScrollUp) {
                    (m.sel + n - 1) % n
                } else {
                    (m.sel + 1) % n
                };
                self.overlay = Overlay::Menu(m);
            }
            (Overlay::Menu(m), Action::Select) => {
                if let Some(item) = m.items.into_iter().nth(m.sel) {
                    self.choose(item.choice);
                }
            }
            (Overlay::Menu(m), Action::MenuPick(c)) => {
                match m.items.iter().position(|i| i.key == c) {
                    Some(i) => {
                        let choice = m.items[i].choice.clone();
                        self.choose(choice);
                    }
                    None => self.overlay = Overlay::Menu(m),
                }
            }
            (Overlay::Menu(_), Action::Back) => {
                self.say("menu closed: nothing was done".into(), true);
            }
            (other, _) => self.overlay = other,
        }
    }

    /// A menu item was chosen: ask for arguments, confirm, or run.
    pub(super) fn choose(&mut self, choice: Choice) {
        match choice {
            Choice::Run(effect) => match confirm::confirm(&effect) {
                Some(c) => self.overlay = Overlay::Confirm(c),
                None => self.pending.push(effect),
            },
            Choice::Ask(kind) => self.ask(kind),
        }
    }

    /// Opens the prompt for a call's arguments, prefilled from what is selected.
    fn ask(&mut self, kind: PromptKind) {
        match kind {
            PromptKind::LabListen => {
                let port = match self.selected_port().map(|p| p.port) {
                    Some(ServicePort::Local(p)) if self.pane == Pane::Ports => p,
                    _ => 8080,
                };
                self.open_prompt(PromptKind::LabListen, format!("127.0.0.1:{port}"));
            }
            PromptKind::LabConnect => {
                let to = self
                    .lab
                    .sockets
                    .iter()
                    .rev()
                    .find(|e| e.listener && e.open)
                    .and_then(|e| e.local)
                    .map_or("127.0.0.1:8080".to_string(), |a| a.to_string());
                self.open_prompt(PromptKind::LabConnect, to);
            }
            PromptKind::LabSend(id) => self.open_prompt(PromptKind::LabSend(id), "hello\\n".into()),
            PromptKind::LabRebind(id) => {
                let e = self.lab.sockets.iter().find(|e| e.id == id);
                let mut words = Vec::new();
                if e.is_some_and(|e| e.reuseaddr) {
                    words.push("reuseaddr");
                }
                if e.is_some_and(|e| e.reuseport) {
                    words.push("reuseport");
                }
                self.open_prompt(PromptKind::LabRebind(id), words.join(" "));
            }
            PromptKind::Filter => self.open_prompt(PromptKind::Filter, self.filter_text.clone()),
        }
    }

    /// The main loop ran an effect.
    pub fn on_effect_done(&mut self, done: EffectDone) {
        self.say(done.status, done.ok);
        if let Some((title, lines)) = done.report {
            self.overlay = Overlay::Report(title, lines, 0);
        }
        if let (Some(update), Some(sc)) = (done.scenario, self.scenario.as_mut()) {
            sc.played = update.played;
            sc.results = update.results;
            sc.actors = update.actors;
            sc.diagram_actor = sc.diagram_actor.min(sc.actors.len().saturating_sub(1));
            self.dirty = true;
        }
        if let Some(lab) = done.lab {
            let grew = lab.sockets.len() > self.lab.sockets.len();
            self.lab = lab;
            if grew {
                self.sel.lab = self.lab.sockets.len() - 1;
            }
            self.lab_open = true;
            self.dirty = true;
            self.clamp();
        }
    }
}
