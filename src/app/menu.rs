//! The actions menu: exactly the actions valid for the selected socket (a lab socket of
//! tcpscope's own, or another process's, in its state), and what each asks before it runs.

use super::action::PromptKind;
use super::effect::{Effect, Foreign, LabCall, Peer};
use crate::actions::lab::LabId;
use crate::model::TcpState;
use std::net::{Shutdown, SocketAddr};

/// What choosing a menu item does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Asks for the call's arguments first (the prompt is prefilled from what is selected).
    Ask(PromptKind),
    /// The effect itself; confirmed first when it touches another process's socket.
    Run(Effect),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub key: char,
    pub label: String,
    pub choice: Choice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub title: String,
    pub items: Vec<MenuItem>,
    pub sel: usize,
}

fn item(key: char, label: &str, choice: Choice) -> MenuItem {
    MenuItem {
        key,
        label: label.to_string(),
        choice,
    }
}

fn lab(call: LabCall) -> Choice {
    Choice::Run(Effect::Lab(call))
}

/// What the lab can do now, before choosing a socket.
pub fn lab_new_items() -> Vec<MenuItem> {
    vec![
        item(
            'l',
            "listen…  a new lab listener",
            Choice::Ask(PromptKind::LabListen),
        ),
        item(
            'c',
            "connect…  a new lab client",
            Choice::Ask(PromptKind::LabConnect),
        ),
    ]
}

/// The menu for one of tcpscope's lab sockets in `state` (`None`: closed, or not seen yet).
pub fn lab_items(
    id: LabId,
    listener: bool,
    open: bool,
    state: Option<TcpState>,
    local: Option<SocketAddr>,
) -> Vec<MenuItem> {
    let mut items = Vec::new();
    if !open {
        if local.is_some() {
            items.push(item(
                'b',
                "rebind…  a new listener on this address, with chosen options",
                Choice::Ask(PromptKind::LabRebind(id)),
            ));
        }
        return items;
    }
    if listener {
        items.push(item(
            'A',
            "accept()  take a connection from the queue",
            lab(LabCall::Accept(id)),
        ));
        items.push(item(
            'x',
            "close()  stop listening (the port is free once no connection of it remains)",
            lab(LabCall::Close(id)),
        ));
        items.push(item(
            'b',
            "rebind…  another listener on this address (a live listener blocks it)",
            Choice::Ask(PromptKind::LabRebind(id)),
        ));
        return items;
    }
    let connected = !matches!(state, Some(TcpState::Close | TcpState::SynSent));
    if connected {
        items.push(item(
            's',
            "send()…  send data",
            Choice::Ask(PromptKind::LabSend(id)),
        ));
    }
    items.push(item(
        'r',
        "recv()  read what has arrived",
        lab(LabCall::Read(id)),
    ));
    if connected {
        items.push(item(
            'w',
            "shutdown(SHUT_WR)  send FIN, keep reading",
            lab(LabCall::Shutdown(id, Shutdown::Write)),
        ));
        items.push(item(
            'R',
            "shutdown(SHUT_RD)  stop reading (nothing is sent)",
            lab(LabCall::Shutdown(id, Shutdown::Read)),
        ));
        items.push(item(
            'B',
            "shutdown(SHUT_RDWR)  send FIN, stop reading",
            lab(LabCall::Shutdown(id, Shutdown::Both)),
        ));
    }
    items.push(item(
        'x',
        "close()  FIN (RST if data is unread)",
        lab(LabCall::Close(id)),
    ));
    items.push(item(
        'X',
        "close() with SO_LINGER {1, 0}  RST, no TIME_WAIT",
        lab(LabCall::CloseLinger0(id)),
    ));
    if local.is_some() {
        items.push(item(
            'b',
            "rebind…  a listener on this address, with chosen options",
            Choice::Ask(PromptKind::LabRebind(id)),
        ));
    }
    items
}

/// The menu for another process's socket.
pub fn foreign_items(target: &Foreign) -> Vec<MenuItem> {
    let mut items = Vec::new();
    // SOCK_DESTROY acts on full sockets in any state but CLOSE, and on TIME_WAIT entries.
    if target.state != TcpState::Close {
        items.push(item(
            'K',
            abort_label(target),
            Choice::Run(Effect::Abort(target.clone())),
        ));
    }
    // A graceful shutdown needs a process holding the socket, and a state where shutdown()
    // still does something.
    if !target.owners.is_empty()
        && matches!(
            target.state,
            TcpState::Established | TcpState::CloseWait | TcpState::SynRecv | TcpState::Listen
        )
    {
        items.push(item(
            'G',
            if target.state == TcpState::Listen {
                "graceful shutdown  shutdown(SHUT_RDWR) on the owner's behalf: stops listening…"
            } else {
                "graceful shutdown  shutdown(SHUT_RDWR) on the owner's behalf (FIN)…"
            },
            Choice::Run(Effect::GracefulShutdown(target.clone())),
        ));
    }
    items.push(item(
        'b',
        "can-bind  could a server bind this port now?",
        Choice::Run(Effect::CanBind(unspecified(target.local), target.netns)),
    ));
    items
}

/// What an abort does, in the menu's few words: only a connected end with a live peer sends
/// a RST.
fn abort_label(target: &Foreign) -> &'static str {
    match target.state {
        TcpState::TimeWait => {
            "remove  SOCK_DESTROY, like ss -K (nothing is sent; the port is free)…"
        }
        TcpState::Listen => {
            "abort  SOCK_DESTROY, like ss -K (stops accepting; queued connections get a RST)…"
        }
        TcpState::SynSent | TcpState::LastAck | TcpState::Closing => {
            "abort  SOCK_DESTROY, like ss -K (nothing is sent)…"
        }
        TcpState::FinWait2 if target.inode == 0 => {
            "remove  SOCK_DESTROY, like ss -K (an orphan: nothing is sent)…"
        }
        _ if target.peer == Peer::Gone => {
            "abort  SOCK_DESTROY, like ss -K (its peer is gone already)…"
        }
        _ => "abort  SOCK_DESTROY, like ss -K (RST to the peer)…",
    }
}

/// The same port on the unspecified address of its family: what a server binds.
pub fn unspecified(addr: SocketAddr) -> SocketAddr {
    let ip: std::net::IpAddr = match addr {
        SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Owner;

    fn foreign(state: TcpState, owned: bool) -> Foreign {
        Foreign {
            local: "127.0.0.1:8080".parse().unwrap(),
            remote: "127.0.0.1:40000".parse().unwrap(),
            state,
            inode: if owned { 7 } else { 0 },
            netns: 0,
            peer: Peer::Unknown,
            owners: owned
                .then(|| Owner {
                    pid: 42,
                    comm: "srv".into(),
                    cmdline: "srv".into(),
                    fd: 3,
                })
                .into_iter()
                .collect(),
        }
    }

    fn keys(items: &[MenuItem]) -> String {
        items.iter().map(|i| i.key).collect()
    }

    #[test]
    fn foreign_menus_offer_what_the_state_allows() {
        assert_eq!(
            keys(&foreign_items(&foreign(TcpState::Established, true))),
            "KGb"
        );
        assert_eq!(
            keys(&foreign_items(&foreign(TcpState::TimeWait, false))),
            "Kb"
        );
        assert_eq!(
            keys(&foreign_items(&foreign(TcpState::FinWait2, true))),
            "Kb"
        );
        assert_eq!(
            keys(&foreign_items(&foreign(TcpState::Established, false))),
            "Kb"
        );
    }

    #[test]
    fn the_abort_says_what_is_sent_in_that_state() {
        let label = |state, owned| foreign_items(&foreign(state, owned))[0].label.clone();
        assert!(label(TcpState::Established, true).contains("RST to the peer"));
        for quiet in [TcpState::TimeWait, TcpState::SynSent, TcpState::LastAck] {
            let text = label(quiet, false);
            assert!(!text.contains("RST"), "{quiet:?}: {text}");
            assert!(text.contains("nothing is sent"), "{quiet:?}: {text}");
        }
        assert!(label(TcpState::TimeWait, false).starts_with("remove"));
        let mut gone = foreign(TcpState::CloseWait, true);
        gone.peer = Peer::Gone;
        assert!(foreign_items(&gone)[0].label.contains("peer is gone"));
    }

    #[test]
    fn lab_menus_follow_role_and_state() {
        let local = Some("127.0.0.1:8080".parse().unwrap());
        assert_eq!(keys(&lab_items(1, true, true, None, local)), "Axb");
        assert_eq!(
            keys(&lab_items(
                2,
                false,
                true,
                Some(TcpState::Established),
                local
            )),
            "srwRBxXb"
        );
        assert_eq!(keys(&lab_items(3, true, false, None, local)), "b");
        assert_eq!(keys(&lab_items(3, false, false, None, None)), "");
    }
}
