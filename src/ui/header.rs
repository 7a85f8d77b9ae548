//! The header: where the data comes from, counts per state, TIME_WAIT and CLOSE_WAIT history.

use super::theme::Theme;
use crate::app::App;
use crate::model::TcpState;
use crate::tracker::Phase;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

pub fn draw(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let [info, counts, history] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let i = &app.info;
    let mut spans = vec![
        Span::styled("tcpscope", theme.state(Phase::State(TcpState::Established))),
        Span::raw(format!(
            "  {}  netns {}  {}  every {} ms  ",
            i.host, i.netns, i.source, i.interval_ms
        )),
    ];
    if i.owners_hidden {
        // Before the events' reason, which can be long: this one must not be cut.
        spans.push(Span::styled(
            "owners: yours only (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)  ",
            theme.warn(),
        ));
    }
    match &i.inferred_reason {
        None => match &i.event_source {
            Some(by) => spans.push(Span::raw(format!("events: traced ({by})"))),
            None => spans.push(Span::raw("events: traced")),
        },
        Some(reason) => spans.push(Span::styled(
            format!("events: inferred ({reason})"),
            theme.warn(),
        )),
    }
    if app.paused {
        spans.push(Span::styled("  PAUSED", theme.warn()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), info);

    let mut counts_line = Vec::new();
    for st in TcpState::ALL {
        let n = app.counts.of(st);
        if n > 0 && st != TcpState::Close {
            counts_line.push(Span::styled(
                format!("{} {n}  ", st.name()),
                theme.state(Phase::State(st)),
            ));
        }
    }
    // A CLOSE socket (a failed connect, a reset) is in no kernel table: `ss`, `list` and a
    // snapshot never show it, only the events that saw it close. Said apart, so that the
    // counts before it are the ones `ss` gives.
    let closed_fds = app.counts.of(TcpState::Close);
    if closed_fds > 0 {
        counts_line.push(Span::styled(
            format!("CLOSE {closed_fds} (fd still open; seen by events, not by ss)  "),
            theme.state(Phase::State(TcpState::Close)),
        ));
    }
    let ghosts = app.counts.ghosts();
    if ghosts > 0 {
        counts_line.push(Span::styled(format!("closed {ghosts}"), theme.ghost()));
    }
    if counts_line.is_empty() {
        counts_line.push(Span::styled("no TCP sockets yet", theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(counts_line)), counts);

    let [tw_label, tw, cw_label, cw] = Layout::horizontal([
        Constraint::Length(16),
        Constraint::Fill(1),
        Constraint::Length(17),
        Constraint::Fill(1),
    ])
    .areas(history);
    let (tws, cws): (Vec<u64>, Vec<u64>) = app.history.iter().copied().unzip();
    let last = |v: &[u64]| v.last().copied().unwrap_or(0);
    f.render_widget(
        Paragraph::new(Span::styled(
            format!("TIME_WAIT {:>5} ", last(&tws)),
            theme.state(Phase::State(TcpState::TimeWait)),
        )),
        tw_label,
    );
    f.render_widget(
        Paragraph::new(Span::styled(
            format!(" CLOSE_WAIT {:>5} ", last(&cws)),
            theme.state(Phase::State(TcpState::CloseWait)),
        )),
        cw_label,
    );
    let tail = |v: &[u64], width: u16| v[v.len().saturating_sub(usize::from(width))..].to_vec();
    f.render_widget(
        Sparkline::default()
            .data(tail(&tws, tw.width))
            .style(theme.state(Phase::State(TcpState::TimeWait))),
        tw,
    );
    f.render_widget(
        Sparkline::default()
            .data(tail(&cws, cw.width))
            .style(theme.state(Phase::State(TcpState::CloseWait))),
        cw,
    );
}
