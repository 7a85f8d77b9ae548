//! Screens drawn over the panes: help, the details of one connection, the filter prompt.

use super::theme::Theme;
use super::{diagram, text};
use crate::app::{App, confirm::Confirm, keys::help_lines, menu::Menu};
use crate::model::TcpState;
use crate::model::accept_queue::AcceptQueue;
use crate::sources::owners::OWNERS_NEED;
use crate::tracker::{ConnId, Phase, Reset};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use std::collections::HashSet;

/// The keys, from line `top`; on a terminal too small for all of them, the title says which
/// lines show and that the help scrolls.
pub fn help(f: &mut Frame<'_>, area: Rect, top: usize, theme: Theme) {
    let all = help_lines();
    let r = centered(area, 76, all.len() as u16 + 2);
    let rows = usize::from(r.height.saturating_sub(2));
    let lines: Vec<Line<'_>> = all
        .iter()
        .skip(top)
        .take(rows)
        .map(|&(text, note)| {
            if note {
                Line::styled(text, theme.dim())
            } else {
                Line::raw(text)
            }
        })
        .collect();
    let title = if rows < all.len() {
        format!(
            " Keys {}-{} of {} (↑↓ PgUp PgDn scroll, ? or Esc close) ",
            top + 1,
            top + lines.len(),
            all.len()
        )
    } else {
        " Keys (? or Esc to close) ".to_string()
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}

pub fn details(f: &mut Frame<'_>, area: Rect, app: &App, id: ConnId, theme: Theme) {
    f.render_widget(Clear, area);
    let Some(conn) = app.tracker().connection(id) else {
        f.render_widget(
            Paragraph::new("this connection is no longer remembered (ghost time passed)").block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Details (Esc to close) "),
            ),
            area,
        );
        return;
    };
    let title = format!(
        " {} > {}  (Esc to close) ",
        text::endpoint(&conn.local()),
        text::endpoint(&conn.remote())
    );
    let b = Block::default().borders(Borders::ALL).title(title);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(56)]).areas(inner);

    let entered = conn.timeline.last().map(|e| e.ts_ns());
    let in_state = text::in_state(
        conn.state,
        app.now_ns
            .saturating_sub(entered.unwrap_or(conn.first_seen_ns)),
        entered.is_some(),
        conn.timer(app.snapshot_ns)
            .map(|t| (t, app.now_ns.saturating_sub(app.snapshot_ns))),
    );
    let lower_bound = if in_state.starts_with('≥') {
        " (in it already when tcpscope first saw it)"
    } else {
        ""
    };
    let mut lines = vec![
        Line::from(vec![
            Span::raw("state  "),
            Span::styled(conn.state.name(), theme.state(conn.state)),
            Span::styled(format!("  for {in_state}{lower_bound}"), theme.dim()),
        ]),
        if super::panes::hidden_owner(app, &conn.owners, conn.inode, conn.is_ghost()) {
            Line::from(vec![
                Span::raw("owner  "),
                Span::styled(
                    format!("hidden: another user's process ({OWNERS_NEED})"),
                    theme.warn(),
                ),
            ])
        } else {
            Line::raw(format!("owner  {}", text::owner(conn.owners.first())))
        },
    ];
    if conn.seen_in_snapshot() && !conn.is_ghost() {
        let timer = conn
            .timer(app.snapshot_ns)
            .map(|t| text::timer(&t, app.now_ns.saturating_sub(app.snapshot_ns)))
            .unwrap_or_else(|| "none".into());
        let (recv_q, send_q) = conn.queues();
        let listening = conn.state == Phase::State(TcpState::Listen);
        if listening {
            // A listener's queues are its accept queue and backlog; it has no rtt or cwnd.
            let q = AcceptQueue::of(recv_q, send_q);
            lines.push(Line::raw(format!(
                "accept queue {recv_q} of backlog {send_q}"
            )));
            let style = if q.flagged() {
                theme.warn()
            } else {
                theme.dim()
            };
            lines.push(Line::styled(format!("       {}", q.explain()), style));
        } else {
            lines.push(Line::raw(format!(
                "queues recv {recv_q} send {send_q}   timer {timer}"
            )));
        }
        if let Some(i) = conn
            .last_seen
            .as_ref()
            .and_then(|s| s.tcp_info)
            .filter(|_| !listening)
        {
            lines.push(Line::raw(format!(
                "rtt {:.3} ms ± {:.3}  cwnd {}  retrans {}",
                f64::from(i.rtt_us) / 1000.0,
                f64::from(i.rttvar_us) / 1000.0,
                i.cwnd,
                i.total_retrans
            )));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "timeline  (+ since the first transition, Δ since the one before)",
        theme.dim(),
    ));
    let first = conn
        .timeline
        .first()
        .map_or(conn.first_seen_ns, |e| e.ts_ns());
    let mut prev = first;
    for e in &conn.timeline {
        let reset = match e.reset {
            Some(Reset::Sent) => "  RST sent",
            Some(Reset::Received) => "  RST received",
            None => "",
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "+{:>9.6}s  Δ{:>9.6}s  ",
                    (e.ts_ns() - first.min(e.ts_ns())) as f64 / 1e9,
                    (e.ts_ns().saturating_sub(prev)) as f64 / 1e9
                ),
                theme.dim(),
            ),
            Span::styled(e.from.name(), theme.state(e.from)),
            Span::raw(" → "),
            Span::styled(e.to.name(), theme.state(e.to)),
            Span::styled(format!("  {}{reset}", e.source.name()), theme.dim()),
        ]));
        prev = e.ts_ns();
    }
    if conn.timeline.is_empty() {
        lines.push(Line::styled(
            "no transition since tcpscope started",
            theme.dim(),
        ));
    }
    if conn.timeline_dropped > 0 {
        lines.push(Line::styled(
            format!("({} older entries dropped)", conn.timeline_dropped),
            theme.dim(),
        ));
    }
    if let Phase::State(s) = conn.state {
        lines.push(Line::raw(""));
        lines.push(Line::styled(s.meaning(), theme.state(conn.state)));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), left);

    let mut path: HashSet<Phase> = conn.timeline.iter().flat_map(|e| [e.from, e.to]).collect();
    path.insert(conn.state);
    f.render_widget(
        Paragraph::new(diagram::lines(&path, conn.state, theme)),
        right,
    );
}

/// A box of `width` × `height` in the middle of `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

pub fn menu(f: &mut Frame<'_>, area: Rect, menu: &Menu, theme: Theme) {
    let mut lines: Vec<Line<'_>> = menu
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let line = Line::raw(format!(" {}  {}", item.key, item.label));
            if i == menu.sel {
                line.style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            " nothing can be done to this socket",
            theme.dim(),
        ));
    }
    lines.push(Line::styled(
        " key or ↑↓ Enter to choose, Esc to close",
        theme.dim(),
    ));
    let width = lines
        .iter()
        .map(|l| l.width() as u16)
        .chain([menu.title.chars().count() as u16])
        .max()
        .unwrap_or(20)
        + 4;
    let r = centered(area, width, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(menu.title.clone())
                .border_style(theme.focus_border(true)),
        ),
        r,
    );
}

pub fn confirm(f: &mut Frame<'_>, area: Rect, c: &Confirm, theme: Theme) {
    let mut lines: Vec<Line<'_>> = c.lines.iter().map(|l| Line::raw(l.clone())).collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "y: do it    n or Esc: cancel (nothing is touched)",
        theme.warn(),
    ));
    let width = 78.min(area.width);
    // Room for wrapped lines: a generous guess from the text length.
    let rows: u16 = lines
        .iter()
        .map(|l| {
            (l.width() as u16)
                .div_ceil(width.saturating_sub(2).max(1))
                .max(1)
        })
        .sum();
    let r = centered(area, width, rows + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {} ", c.title))
                .border_style(theme.warn()),
        ),
        r,
    );
}

pub fn report(
    f: &mut Frame<'_>,
    area: Rect,
    title: &str,
    lines: &[String],
    top: usize,
    theme: Theme,
) {
    f.render_widget(Clear, area);
    let text: Vec<Line<'_>> = lines
        .iter()
        .skip(top)
        .map(|l| {
            if l.starts_with("- ") || l.starts_with("  ") {
                Line::raw(l.clone())
            } else {
                Line::styled(l.clone(), theme.focus_border(true))
            }
        })
        .collect();
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {title}  (↑↓ scroll, Esc to close) ")),
        ),
        area,
    );
}

pub fn prompt(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let (label, hint) = app.prompt.kind.label();
    let line = match (&app.prompt.text, &app.prompt.error, app.status_shown()) {
        (Some(text), Some(err), _) => Line::from(vec![
            Span::raw(format!("{label}{text}")),
            Span::styled(format!("   {err}"), theme.warn()),
        ]),
        (Some(text), None, _) => Line::from(vec![
            Span::raw(format!("{label}{text}")),
            Span::styled(format!("   {hint}   Enter apply, Esc cancel"), theme.dim()),
        ]),
        (None, _, Some(s)) => Line::styled(
            s.text.clone(),
            if s.ok { theme.dim() } else { theme.warn() },
        ),
        (None, _, None) => Line::styled(
            "q quit  ? help  Tab pane  Enter details  / filter  a act  b can-bind  L lab",
            theme.dim(),
        ),
    };
    f.render_widget(Paragraph::new(line), area);
}
