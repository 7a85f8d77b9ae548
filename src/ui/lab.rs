//! The lab pane: tcpscope's own sockets with their live state, and the call log.

use super::theme::Theme;
use crate::app::{App, Pane};
use crate::tracker::Phase;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn draw(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let focused = app.pane == Pane::Lab;
    let [sockets, calls] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(area);
    let b = Block::default()
        .borders(Borders::ALL)
        .title(" Lab sockets (a act, L close) ")
        .border_style(theme.focus_border(focused));
    let inner = b.inner(sockets);
    f.render_widget(b, sockets);
    let height = usize::from(inner.height);
    let start = app.sel.lab.saturating_sub(height.saturating_sub(1));
    let mut lines: Vec<Line<'_>> = Vec::new();
    if app.lab.sockets.is_empty() {
        lines.push(Line::styled(
            "no lab socket yet: a, then l (listen) or c (connect)",
            theme.dim(),
        ));
    }
    for (i, e) in app.lab.sockets.iter().enumerate().skip(start).take(height) {
        // The live state, as the tracker has it for this inode.
        let state = app
            .rows
            .iter()
            .find(|r| e.open && e.inode != 0 && r.inode == e.inode)
            .map(|r| r.state);
        let mut spans = vec![match state {
            Some(s) => Span::styled(format!("{:<11} ", s.name()), theme.state(s)),
            None if e.open => Span::styled(format!("{:<11} ", "…"), theme.dim()),
            None => Span::styled(format!("{:<11} ", "closed"), theme.state(Phase::Gone)),
        }];
        spans.push(Span::raw(e.text.clone()));
        let mut line = Line::from(spans);
        if !e.open {
            line = line.style(theme.ghost());
        }
        if i == app.sel.lab && focused {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);

    let b = Block::default().borders(Borders::ALL).title(" Calls ");
    let inner = b.inner(calls);
    f.render_widget(b, calls);
    // The newest calls, at the bottom, as in a shell.
    let height = usize::from(inner.height);
    let skip = app.lab.log.len().saturating_sub(height);
    let lines: Vec<Line<'_>> = app
        .lab
        .log
        .iter()
        .skip(skip)
        .map(|(text, failed)| {
            if *failed {
                Line::styled(text.clone(), theme.warn())
            } else {
                Line::raw(text.clone())
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
