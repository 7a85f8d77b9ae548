//! The lab scenario pane: the step just played (its calls and what they gave, the narration,
//! the myth it corrects), each actor's path so far, the next step; and the state diagram
//! with the chosen actor's path.

use super::diagram;
use super::theme::Theme;
use crate::app::App;
use crate::app::scenario::ScenarioView;
use crate::tracker::Phase;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// The columns the narration keeps beside the diagram.
const NARRATION_MIN: u16 = 70;

pub fn draw(f: &mut Frame<'_>, area: Rect, app: &App, sc: &ScenarioView, theme: Theme) {
    // The narration first: it keeps 70 columns, and the diagram is whole where there is room
    // for both (from 125 columns), cut at its right otherwise.
    let diagram_w = (diagram::width() + 2).min(area.width.saturating_sub(NARRATION_MIN));
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(diagram_w)]).areas(area);
    let title = format!(
        " Lab: {}  step {}/{}  (n next, r restart, d actor) ",
        sc.title,
        sc.played,
        sc.steps.len()
    );
    let mut lines: Vec<Line<'_>> = Vec::new();
    match sc
        .played
        .checked_sub(1)
        .and_then(|i| sc.steps.get(i).map(|s| (i, s)))
    {
        None => lines.push(Line::raw(sc.summary.clone())),
        Some((i, step)) => {
            lines.push(Line::styled(
                format!("Step {}:", i + 1),
                theme.focus_border(true),
            ));
            for r in sc.results.get(i).into_iter().flatten() {
                lines.push(Line::raw(format!("  {r}")));
            }
            lines.push(Line::raw(step.narrate.clone()));
            if let Some(m) = &step.myth {
                lines.push(Line::styled(format!("Myth: {m}"), theme.warn()));
            }
            for (actor, want) in &step.expect {
                lines.push(Line::styled(
                    format!("  expected of {actor}: {}", want.join(" → ")),
                    theme.dim(),
                ));
            }
        }
    }
    lines.push(Line::raw(""));
    for actor in &sc.actors {
        let (path, now) = sc.path(actor, app.tracker());
        let mut spans = vec![Span::raw(format!("{:<10} ", actor.name))];
        match now {
            Some(s) => spans.push(Span::styled(s.name(), theme.state(s))),
            None => spans.push(Span::styled("not seen yet", theme.dim())),
        }
        if path.len() > 1 {
            let text: Vec<&str> = path.iter().map(|s| s.name()).collect();
            spans.push(Span::styled(format!("  {}", text.join(" → ")), theme.dim()));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    match sc.steps.get(sc.played) {
        Some(next) => lines.push(Line::styled(
            format!("next (n): {}", next.calls.join("; ")),
            theme.dim(),
        )),
        None => lines.push(Line::styled("the end: r plays it again", theme.dim())),
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(theme.focus_border(true)),
        ),
        left,
    );

    let actor = sc.actors.get(sc.diagram_actor);
    let (path, now) = actor.map_or((Vec::new(), None), |a| sc.path(a, app.tracker()));
    let title = match actor {
        Some(a) => format!(" {}: its path ", a.name),
        None => " state diagram ".to_string(),
    };
    f.render_widget(
        Paragraph::new(diagram::lines(
            &ScenarioView::path_set(&path),
            now.unwrap_or(Phase::Gone),
            theme,
        ))
        .block(Block::default().borders(Borders::ALL).title(title)),
        right,
    );
}
