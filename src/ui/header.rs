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

    history_line(f, history, app, theme);
}

/// TIME_WAIT and CLOSE_WAIT over the last snapshots, each sparkline scaled to the peak its
/// label names (a bar of 1 and one of 13,835 would otherwise look alike).
fn history_line(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let (tws, cws): (Vec<u64>, Vec<u64>) = app.history.iter().copied().unzip();
    // The width a label needs does not depend on the data shown, only on the numbers' width.
    let half = area.width / 2;
    let mut draw = |v: &[u64], state: TcpState, x: u16, width: u16, gap: &str| {
        let label_for = |shown: &[u64]| {
            let last = shown.last().copied().unwrap_or(0);
            let peak = shown.iter().copied().max().unwrap_or(0);
            format!("{gap}{} {last:>5} (peak {peak:>5}) ", state.name())
        };
        // The label first, then as many samples as fit after it.
        let guess = label_for(v).chars().count() as u16;
        let bars = width.saturating_sub(guess);
        let shown = &v[v.len().saturating_sub(usize::from(bars))..];
        let label = label_for(shown);
        let label_w = (label.chars().count() as u16).min(width);
        let style = theme.state(Phase::State(state));
        let [l, s] = Layout::horizontal([Constraint::Length(label_w), Constraint::Fill(1)])
            .areas(Rect { x, width, ..area });
        f.render_widget(Paragraph::new(Span::styled(label, style)), l);
        let peak = shown.iter().copied().max().unwrap_or(0).max(1);
        f.render_widget(
            Sparkline::default()
                .data(shown.to_vec())
                .max(peak)
                .style(style),
            s,
        );
    };
    draw(&tws, TcpState::TimeWait, area.x, half, "");
    // A space between the first sparkline and the second label.
    draw(
        &cws,
        TcpState::CloseWait,
        area.x + half,
        area.width - half,
        " ",
    );
}
