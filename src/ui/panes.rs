//! The three panes: ports, connections of the selected port, the transitions log. Only the
//! rows that fit are built.

use super::columns;
use super::text;
use super::theme::Theme;
use crate::app::{App, FLASH_NS, Pane};
use crate::model::TcpState;
use crate::model::accept_queue::AcceptQueue;
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
        let head = format!("{label:<7}{total:>6} ");
        let room = usize::from(inner.width).saturating_sub(head.chars().count() + 1);
        let mut spans = vec![Span::raw(head)];
        if let Some(p) = port.filter(|p| p.listeners > 0) {
            // The listener's owner, or "listen" when it is not known; cut with … when the
            // pane is narrow, never to a bare first letter.
            let who = match &p.owner {
                Some(o) => crate::model::safe_text::for_terminal(&o.comm).into_owned(),
                None if app.info.owners_hidden => HIDDEN.to_string(),
                None => "listen".to_string(),
            };
            let full = p
                .listener
                .and_then(|id| app.tracker().connection(id))
                .is_some_and(|c| {
                    let (queued, backlog) = c.queues();
                    AcceptQueue::of(queued, backlog) == AcceptQueue::Full
                });
            let room = if full { room.saturating_sub(5) } else { room };
            spans.push(Span::styled(
                format!("{} ", text::clip(&who, room.max(2))),
                theme.state(Phase::State(TcpState::Listen)),
            ));
            if full {
                // Its accept queue is over the backlog: new handshakes are being dropped.
                spans.push(Span::styled("FULL ", theme.warn()));
            }
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
        " sort: {}{}{}",
        app.sorting.key.name(),
        if app.sorting.descending { " ↓" } else { "" },
        if app.show_ghosts {
            ""
        } else {
            "  closed hidden (g)"
        }
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
    let on_screen =
        &app.visible[start.min(app.visible.len())..(start + height).min(app.visible.len())];
    // With several namespaces, each row's namespace after its state.
    let netns_w = if app.namespaces.is_some() { 15 } else { 0 };
    let widths = columns::fit(
        usize::from(inner.width),
        STATE_WIDTH + netns_w,
        needs(app, on_screen),
    );
    let since_snapshot = app.now_ns.saturating_sub(app.snapshot_ns);
    let rows: Vec<Row<'_>> = on_screen
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
            let mut cells = vec![Cell::from(state).style(state_style)];
            if let Some(ns) = app.netns_label(r.netns) {
                cells.push(Cell::from(text::clip_middle(&ns, 14)));
            }
            cells.extend([
                // Lab sockets say so in the Owner column, or next to their address when
                // the table is too narrow for owners.
                Cell::from(match r.lab {
                    Some(id) if widths.owner.is_none() => {
                        // The address gives up the middle of its host, never its port.
                        let suffix = format!(" lab#{id}");
                        let room = widths.local.saturating_sub(suffix.len());
                        format!("{}{suffix}", text::endpoint_fit(&r.local, room))
                    }
                    _ => text::endpoint_fit(&r.local, widths.local),
                }),
                Cell::from(text::endpoint_fit(&r.remote, widths.remote)),
            ]);
            let optional = optional_cells(app, r, since_snapshot);
            cells.extend(optional.into_iter().take(widths.optional).map(Cell::from));
            if let Some(w) = widths.owner {
                cells.push(Cell::from(owner_cell(app, r, w)));
            }
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
    let mut constraints = vec![Constraint::Length(STATE_WIDTH as u16)];
    let mut header = vec!["State"];
    if app.namespaces.is_some() {
        constraints.push(Constraint::Length(14));
        header.push("NetNS");
    }
    constraints.extend([
        Constraint::Length(widths.local as u16),
        Constraint::Length(widths.remote as u16),
    ]);
    header.extend(["Local", "Remote"]);
    for (name, w) in columns::OPTIONAL.iter().take(widths.optional) {
        constraints.push(Constraint::Length(*w as u16));
        header.push(name);
    }
    if let Some(w) = widths.owner {
        constraints.push(Constraint::Length(w as u16));
        header.push("Owner");
    }
    let table = Table::new(rows, constraints)
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(1);
    f.render_widget(table, inner);
    if !widths.all_shown() {
        hidden_strip(f, area, app, widths, since_snapshot, theme);
    }
    if app.visible.is_empty() {
        let empty = if app.rows.is_empty() {
            "waiting for the first snapshot…".to_string()
        } else {
            no_match(app)
        };
        let mut r = inner;
        r.y += 1;
        r.height = r.height.saturating_sub(1);
        f.render_widget(Paragraph::new(Span::styled(empty, theme.dim())), r);
    }
}

/// Why the table is empty: the filter, the port chosen in the ports pane, or both (the two
/// are ANDed, and the line says so, with what the filter finds on other ports).
fn no_match(app: &App) -> String {
    let Some(port) = app.selected_port() else {
        return format!(
            "no connection matches the filter {}",
            app.filter_text.trim()
        );
    };
    let elsewhere = app.matching_elsewhere;
    let which = port.port.label();
    match (app.filter_text.trim(), elsewhere) {
        ("", _) => format!("no connection on {which}"),
        (f, 0) => format!("no connection on {which} matches {f}, nor on any other port"),
        (f, n) => format!(
            "no connection on {which} matches {f}: {n} on other ports (the filter applies to the port chosen on the left; ↑ to `all`)"
        ),
    }
}

/// The State column: `→ ESTABLISHED` and a space.
const STATE_WIDTH: usize = 13;

/// The widths the rows on the screen need.
fn needs(app: &App, on_screen: &[usize]) -> columns::Needs {
    let mut n = columns::Needs::default();
    for &i in on_screen {
        let r = &app.rows[i];
        let lab = r.lab.map_or(0, |id| format!(" lab#{id}").len());
        // Room for ` lab#1` after the address, where it goes when Owner does not fit.
        n.local = n.local.max(text::endpoint(&r.local).chars().count() + lab);
        n.remote = n.remote.max(text::endpoint(&r.remote).chars().count());
        let short = owner_short(app, r);
        let long = match r.lab {
            Some(_) => short.clone(),
            None => text::owner_long(r.owners.first()),
        };
        n.owner = n.owner.max(short.chars().count());
        n.owner_long = n.owner_long.max(long.chars().count());
    }
    n
}

/// The cells after the addresses and before Owner, as `columns::OPTIONAL` names them.
fn optional_cells(app: &App, r: &crate::app::view::Row, since_snapshot: u64) -> [String; 4] {
    // Queues and timers as the latest snapshot has them (rows are rebuilt less often).
    let conn = app.tracker().connection(r.id);
    let (recv_q, send_q) = conn.map_or((r.recv_q, r.send_q), |c| c.queues());
    // A closed connection has no timer left: its last snapshot's would still count down.
    let timer = conn
        .filter(|_| !r.ghost)
        .and_then(|c| c.timer(app.snapshot_ns));
    [
        timer
            .map(|t| text::timer(&t, since_snapshot))
            .unwrap_or_default(),
        if r.state == Phase::State(TcpState::Listen) && AcceptQueue::of(recv_q, send_q).flagged() {
            // A listener's Recv-Q is its accept queue, Send-Q its backlog.
            format!("{recv_q}!")
        } else {
            recv_q.to_string()
        },
        send_q.to_string(),
        text::in_state(
            r.state,
            app.now_ns.saturating_sub(r.since_ns),
            r.since_entered,
            timer.map(|t| (t, since_snapshot)),
        ),
    ]
}

/// The Owner cell in `width`: with the command line when it fits, else the name and pid
/// (cut with `…`). tcpscope's own lab sockets say so instead of naming tcpscope.
fn owner_cell(app: &App, r: &crate::app::view::Row, width: usize) -> String {
    if r.lab.is_some() || owner_hidden(app, r) {
        return owner_short(app, r);
    }
    let long = text::owner_long(r.owners.first());
    if long.chars().count() <= width {
        return long;
    }
    text::clip(&owner_short(app, r), width)
}

/// `nginx/4242`, or `lab#1` for tcpscope's own lab sockets (rather than naming tcpscope),
/// or `(hidden)` for another user's that tcpscope may not see.
fn owner_short(app: &App, r: &crate::app::view::Row) -> String {
    match r.lab {
        Some(id) => format!("lab#{id}"),
        None if owner_hidden(app, r) => HIDDEN.to_string(),
        None => text::owner(r.owners.first()),
    }
}

/// What the Owner column says of a socket whose owner tcpscope may not read.
const HIDDEN: &str = "(hidden)";

/// Whether a row has an owner that tcpscope may not read.
fn owner_hidden(app: &App, r: &crate::app::view::Row) -> bool {
    hidden_owner(app, &r.owners, r.inode, r.ghost)
}

/// Whether a socket has an owner that tcpscope may not read: one with a file (TIME_WAITs and
/// ghosts have none), no owner found, and other users' fd tables closed to us.
pub(super) fn hidden_owner(
    app: &App,
    owners: &[crate::model::Owner],
    inode: u64,
    ghost: bool,
) -> bool {
    app.info.owners_hidden && owners.is_empty() && inode != 0 && !ghost
}

/// The selected row's columns that did not fit, on the table's bottom border: at 80×24 the
/// queues, the time in state and the owner are still one glance away.
fn hidden_strip(
    f: &mut Frame<'_>,
    area: Rect,
    app: &App,
    widths: columns::Widths,
    since_snapshot: u64,
    theme: Theme,
) {
    let Some(r) = app.visible.get(app.sel.row).map(|&i| &app.rows[i]) else {
        return;
    };
    let cells = optional_cells(app, r, since_snapshot);
    let mut parts: Vec<String> = columns::OPTIONAL
        .iter()
        .zip(cells)
        .skip(widths.optional)
        .filter(|(_, v)| !v.is_empty())
        .map(|((name, _), v)| format!("{name} {v}"))
        .collect();
    let owner = owner_short(app, r);
    if widths.owner.is_none() && !owner.is_empty() {
        // First, as the one that matters most when the strip is cut; unlabelled, as
        // `nginx/4242` says what it is.
        parts.insert(0, owner);
    }
    if parts.is_empty() {
        return;
    }
    let room = usize::from(area.width.saturating_sub(4));
    let strip = text::clip(&format!(" {} ", parts.join(" · ")), room);
    let bottom = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1,
        x: area.x + 1,
        width: area.width.saturating_sub(2),
    };
    if area.height >= 3 {
        f.render_widget(Paragraph::new(Span::styled(strip, theme.dim())), bottom);
    }
}

pub fn log(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let focused = app.pane == Pane::Log;
    let title = if app.log_visible.len() == app.log.len() {
        format!(" Transitions {} ", app.log.len())
    } else {
        format!(
            " Transitions {} of {} (filter: {}) ",
            app.log_visible.len(),
            app.log.len(),
            app.filter_text.trim()
        )
    };
    let b = block(title, focused, theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = usize::from(inner.height);
    let start = scroll(app.sel.log, height);
    let lines: Vec<Line<'_>> = app
        .log_visible
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .filter_map(|(i, &j)| Some((i, app.log.get(j)?)))
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
                spans.push(Span::styled(
                    format!("  {}", text::owner(Some(o))),
                    theme.dim(),
                ));
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
