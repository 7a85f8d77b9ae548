//! The three panes: ports, connections of the selected port, the transitions log. Only the
//! rows that fit are built.

use super::text;
use super::theme::Theme;
use crate::app::{App, FLASH_NS, Pane};
use crate::model::TcpState;
use crate::tracker::{Phase, Reset};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

fn block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.focus_border(focused))
}

/// The states counted in the ports pane, with their short names, in the order of a
/// connection's life (LISTEN is shown as the owner instead).
const PORT_COUNTS: [(TcpState, &str); 10] = [
    (TcpState::SynSent, "SS"),
    (TcpState::SynRecv, "SR"),
    (TcpState::Established, "E"),
    (TcpState::FinWait1, "F1"),
    (TcpState::FinWait2, "F2"),
    (TcpState::Closing, "CG"),
    (TcpState::TimeWait, "TW"),
    (TcpState::CloseWait, "CW"),
    (TcpState::LastAck, "LA"),
    (TcpState::Close, "C"),
];

/// The first index to show so that `sel` is visible in `height` rows.
fn scroll(sel: usize, height: usize) -> usize {
    sel.saturating_sub(height.saturating_sub(1))
}

pub fn ports(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let focused = app.pane == Pane::Ports;
    let b = block(format!(" Ports {} ", app.ports.len()), focused, theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = usize::from(inner.height);
    let start = scroll(app.sel.port, height);
    let all_total: usize = app.ports.iter().map(|p| p.total()).sum();
    let mut lines = Vec::new();
    for i in start..(start + height).min(app.ports.len() + 1) {
        let port = i.checked_sub(1).and_then(|j| app.ports.get(j));
        let (label, total) = match port {
            None => ("all".to_string(), all_total),
            Some(p) => match app.netns_label(p.netns) {
                // Two containers' :8080 are two lines, each with its namespace.
                Some(ns) => (
                    format!("{} {}", text::clip_middle(&ns, 12), p.port.label()),
                    p.total(),
                ),
                None => (p.port.label(), p.total()),
            },
        };
        let mut spans = vec![Span::raw(format!("{label:<7}{total:>6} "))];
        if let Some(p) = port.filter(|p| p.listeners > 0) {
            // The listener's owner, or just "L" when it is not known.
            let who = p
                .owner
                .as_ref()
                .map_or("L".to_string(), |o| o.comm.to_string());
            spans.push(Span::styled(
                format!("{who} "),
                theme.state(Phase::State(TcpState::Listen)),
            ));
        }
        // Counts per state, teardown order, as far as the pane is wide.
        let counts = port.map_or(&app.counts, |p| &p.counts);
        for (st, abbr) in PORT_COUNTS {
            let n = counts.of(st);
            if n > 0 {
                spans.push(Span::styled(
                    format!("{abbr}:{n} "),
                    theme.state(Phase::State(st)),
                ));
            }
        }
        let mut line = Line::from(spans);
        if i == app.sel.port {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn connections(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let focused = app.pane == Pane::Connections;
    let which = app.selected_port().map_or("all ports".to_string(), |p| {
        match app.netns_label(p.netns) {
            Some(ns) => format!("{ns} {}", p.port.label()),
            None => p.port.label(),
        }
    });
    let filter = if app.filter_text.is_empty() {
        String::new()
    } else {
        format!(" filter: {}", app.filter_text)
    };
    let sort = format!(
        " sort: {}{}",
        app.sorting.key.name(),
        if app.sorting.descending { " ↓" } else { "" }
    );
    let b = block(
        format!(
            " Connections {which} ({}){filter}{sort} ",
            app.visible.len()
        ),
        focused,
        theme,
    );
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = usize::from(inner.height.saturating_sub(1));
    let start = scroll(app.sel.row, height);
    // State, local and remote always; then as many of the others as fit, in this order.
    let optional = [
        ("Timer", 9),
        ("Recv-Q", 6),
        ("Send-Q", 6),
        ("In st.", 7),
        ("Owner", 16),
    ];
    // With several namespaces, each row's namespace after its state.
    let netns_w = if app.namespaces.is_some() { 14 } else { 0 };
    let mut used = 13 + 16 + 16 + 2 + netns_w;
    let shown = optional
        .iter()
        .take_while(|(_, w)| {
            used += w + 1;
            used <= usize::from(inner.width)
        })
        .count();
    let owner_shown = shown == optional.len();
    let since_snapshot = app.now_ns.saturating_sub(app.snapshot_ns);
    let rows: Vec<Row<'_>> = app.visible
        [start.min(app.visible.len())..(start + height).min(app.visible.len())]
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let r = &app.rows[i];
            let flashing = !r.ghost
                && r.last_change
                    .is_some_and(|(t, _)| app.now_ns.saturating_sub(t) < FLASH_NS);
            let state = if flashing {
                format!("→ {}", r.state.name())
            } else {
                r.state.name().to_string()
            };
            let state_style = if r.ghost {
                theme.ghost()
            } else if flashing {
                theme.flash(r.state)
            } else {
                theme.state(r.state)
            };
            // Queues and timers as the latest snapshot has them (rows are rebuilt less often).
            let conn = app.tracker().connection(r.id);
            let (recv_q, send_q) = conn.map_or((r.recv_q, r.send_q), |c| c.queues());
            let optional_cells = [
                conn.and_then(|c| c.timer(app.snapshot_ns))
                    .map(|t| text::timer(&t, since_snapshot))
                    .unwrap_or_default(),
                recv_q.to_string(),
                send_q.to_string(),
                text::in_state(
                    r.state,
                    app.now_ns.saturating_sub(r.since_ns),
                    r.since_entered,
                    conn.and_then(|c| c.timer(app.snapshot_ns))
                        .map(|t| (t, since_snapshot)),
                ),
                // tcpscope's own lab sockets say so instead of naming tcpscope.
                r.lab
                    .map_or_else(|| text::owner(r.owners.first()), |id| format!("lab#{id}")),
            ];
            let mut cells = vec![Cell::from(state).style(state_style)];
            if let Some(ns) = app.netns_label(r.netns) {
                cells.push(Cell::from(text::clip_middle(&ns, 14)));
            }
            cells.extend([
                // Lab sockets say so in the Owner column, or next to their address when
                // the table is too narrow for owners.
                Cell::from(match r.lab {
                    Some(id) if !owner_shown => format!("{} lab#{id}", text::endpoint(&r.local)),
                    _ => text::endpoint(&r.local),
                }),
                Cell::from(text::endpoint(&r.remote)),
            ]);
            cells.extend(optional_cells.into_iter().take(shown).map(Cell::from));
            let mut row = Row::new(cells);
            if r.ghost {
                row = row.style(theme.ghost());
            }
            if start + k == app.sel.row && focused {
                row = row.style(theme.selected());
            }
            row
        })
        .collect();
    let mut widths = vec![Constraint::Length(13)];
    let mut header = vec!["State"];
    if app.namespaces.is_some() {
        widths.push(Constraint::Length(14));
        header.push("NetNS");
    }
    widths.extend([Constraint::Fill(1), Constraint::Fill(1)]);
    header.extend(["Local", "Remote"]);
    for (name, w) in optional.iter().take(shown) {
        widths.push(Constraint::Length(*w as u16));
        header.push(name);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(1);
    f.render_widget(table, inner);
    if app.visible.is_empty() {
        let empty = if app.rows.is_empty() {
            "waiting for the first snapshot…"
        } else {
            "no connection matches"
        };
        let mut r = inner;
        r.y += 1;
        r.height = r.height.saturating_sub(1);
        f.render_widget(Paragraph::new(Span::styled(empty, theme.dim())), r);
    }
}

pub fn log(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let focused = app.pane == Pane::Log;
    let b = block(format!(" Transitions {} ", app.log.len()), focused, theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = usize::from(inner.height);
    let start = scroll(app.sel.log, height);
    let lines: Vec<Line<'_>> = app
        .log
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, t)| {
            let age = text::duration(app.now_ns.saturating_sub(t.ts_ns));
            let mut spans = vec![
                Span::styled(format!("{age:>7} ago  "), theme.dim()),
                Span::raw(format!(
                    "{} > {}  ",
                    text::endpoint(&t.local),
                    text::endpoint(&t.remote)
                )),
                Span::styled(t.from.name(), theme.state(t.from)),
                Span::raw(" → "),
                Span::styled(t.to.name(), theme.state(t.to)),
                Span::styled(format!("  {}", t.source.name()), theme.dim()),
            ];
            match t.reset {
                Some(Reset::Sent) => spans.push(Span::styled("  RST sent", theme.warn())),
                Some(Reset::Received) => spans.push(Span::styled("  RST received", theme.warn())),
                None => {}
            }
            if let Some(o) = t.owners.first() {
                spans.push(Span::styled(format!("  {}/{}", o.comm, o.pid), theme.dim()));
            }
            let mut line = Line::from(spans);
            if focused && i == app.sel.log {
                line = line.style(theme.selected());
            }
            if t.to == Phase::Gone {
                line = line.patch_style(theme.ghost());
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
