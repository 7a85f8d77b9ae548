//! Drawing: the app state to a ratatui frame. No I/O here.

mod columns;
pub mod diagram;
mod header;
mod lab;
mod overlays;
mod panes;
mod scenario;
mod text;
pub mod theme;

use crate::app::{App, Overlay, Pane};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use theme::Theme;

/// Where each pane was drawn, for mouse clicks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub ports: Rect,
    pub connections: Rect,
    pub log: Rect,
    pub lab: Rect,
}

impl Areas {
    /// The pane and the list index under a click at (column, row), given the app's scroll.
    pub fn hit(&self, app: &App, column: u16, row: u16) -> Option<(Pane, usize)> {
        let inside = |r: Rect| {
            column > r.x
                && column < r.x + r.width.saturating_sub(1)
                && row > r.y
                && row < r.y + r.height.saturating_sub(1)
        };
        let offset = |r: Rect, header: u16, sel: usize| {
            let height = usize::from(r.height.saturating_sub(2 + header));
            let start = sel.saturating_sub(height.saturating_sub(1));
            (row.checked_sub(r.y + 1 + header)).map(|k| start + usize::from(k))
        };
        if inside(self.ports) {
            return offset(self.ports, 0, app.sel.port).map(|i| (Pane::Ports, i));
        }
        if inside(self.connections) {
            return offset(self.connections, 1, app.sel.row).map(|i| (Pane::Connections, i));
        }
        if inside(self.log) {
            return offset(self.log, 0, app.sel.log).map(|i| (Pane::Log, i));
        }
        // The lab's socket list is its left part.
        let lab_list = Rect {
            width: self.lab.width * 45 / 100,
            ..self.lab
        };
        if inside(lab_list) {
            return offset(lab_list, 0, app.sel.lab).map(|i| (Pane::Lab, i));
        }
        None
    }
}

/// Draws the whole screen; returns where the panes went.
pub fn draw(f: &mut Frame<'_>, app: &mut App, theme: Theme) -> Areas {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    header::draw(f, head, app, theme);
    // A lab scenario takes the full width below the live view: narration and diagram.
    let (body, scenario_area) = if app.scenario.is_some() {
        let h = 18.min(body.height.saturating_sub(8));
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(h)]).areas(body);
        (top, bottom)
    } else {
        (body, Rect::default())
    };
    // Narrow, the ports pane still has room for `:8080   12 nginx`.
    let ports_width = match body.width {
        140.. => 42,
        110..140 => 30,
        _ => 22,
    };
    let [ports, right] =
        Layout::horizontal([Constraint::Length(ports_width), Constraint::Fill(1)]).areas(body);
    let log_height = (body.height / 3).clamp(4, 14);
    let lab_height = if app.lab_open {
        (body.height * 2 / 5).clamp(6, 16)
    } else {
        0
    };
    let log_height = if app.lab_open {
        (body.height / 5).clamp(3, 8)
    } else {
        log_height
    };
    let log_height = if app.scenario.is_some() {
        (body.height / 4).clamp(3, 8)
    } else {
        log_height
    };
    let [conns, lab_area, log] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(lab_height),
        Constraint::Length(log_height),
    ])
    .areas(right);
    app.page = usize::from(conns.height.saturating_sub(3));
    panes::ports(f, ports, app, theme);
    panes::connections(f, conns, app, theme);
    panes::log(f, log, app, theme);
    if let Some(sc) = &app.scenario {
        scenario::draw(f, scenario_area, app, sc, theme);
    }
    if app.lab_open {
        lab::draw(f, lab_area, app, theme);
    }
    overlays::prompt(f, foot, app, theme);
    if let Overlay::Help(top) = &mut app.overlay {
        // Scrolled no further than its last line at the bottom, so Up moves at once.
        let rows = usize::from(body.height.saturating_sub(2));
        *top = (*top).min(crate::app::keys::help_lines().len().saturating_sub(rows));
    }
    match &app.overlay {
        Overlay::None => {}
        Overlay::Help(top) => overlays::help(f, body, *top, theme),
        Overlay::Details(id) => overlays::details(f, body, app, *id, theme),
        Overlay::Menu(menu) => overlays::menu(f, body, menu, theme),
        Overlay::Confirm(c) => overlays::confirm(f, body, c, theme),
        Overlay::Report(title, lines, top) => overlays::report(f, body, title, lines, *top, theme),
    }
    Areas {
        ports,
        connections: conns,
        log,
        lab: if app.lab_open {
            lab_area
        } else {
            Rect::default()
        },
    }
}
