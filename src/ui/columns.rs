//! The connections table's column widths, fitted to the rows on the screen: addresses as wide
//! as the widest one shown (cut in the host's middle, never in the port, when the table is
//! too narrow), then as many of the other columns as fit, in order, and the Owner column last
//! with the width that is left, up to its command line.

/// The optional columns before Owner, in the order they are given up, and their widths.
pub const OPTIONAL: [(&str, usize); 4] =
    [("Timer", 9), ("Recv-Q", 6), ("Send-Q", 6), ("In st.", 7)];

/// The Owner column is shown only with this much room at least (`nginx/4242` and a margin),
/// unless every owner shown is shorter.
const OWNER_MIN: usize = 12;

/// An address column is never narrower than this (`…]:65535` and a little host).
const ADDRESS_MIN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widths {
    pub local: usize,
    pub remote: usize,
    /// How many of `OPTIONAL` are shown.
    pub optional: usize,
    /// The Owner column's width, when it is shown.
    pub owner: Option<usize>,
}

impl Widths {
    /// Whether every column is on the screen (else the selected row's others go below).
    pub fn all_shown(&self) -> bool {
        self.optional == OPTIONAL.len() && self.owner.is_some()
    }
}

/// What the rows on the screen need: their widest local and remote address, their widest
/// owner (`nginx/4242`) and the widest with its command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub local: usize,
    pub remote: usize,
    pub owner: usize,
    pub owner_long: usize,
}

/// The widths for a table `width` wide whose first columns (State, NetNS) take `fixed`,
/// columns one space apart.
pub fn fit(width: usize, fixed: usize, needs: Needs) -> Widths {
    let local = needs.local.max("Local".len());
    let remote = needs.remote.max("Remote".len());
    let mut used = fixed + 1 + local + 1 + remote;
    if used > width {
        let room = width.saturating_sub(fixed + 2);
        let (local, remote) = share(room, local, remote);
        return Widths {
            local,
            remote,
            optional: 0,
            owner: None,
        };
    }
    let mut optional = 0;
    for (_, w) in OPTIONAL {
        if used + 1 + w > width {
            break;
        }
        used += 1 + w;
        optional += 1;
    }
    let owner_min = OWNER_MIN.min(needs.owner.max("Owner".len()));
    let owner = (optional == OPTIONAL.len() && used + 1 + owner_min <= width).then(|| {
        let room = width - used - 1;
        needs.owner_long.max(owner_min).min(room)
    });
    Widths {
        local,
        remote,
        optional,
        owner,
    }
}

/// `room` shared between two columns that want `a` and `b`: each gets what it wants when
/// that fits, else at least half (and `ADDRESS_MIN`), the other what is left.
fn share(room: usize, a: usize, b: usize) -> (usize, usize) {
    if a + b <= room {
        return (a, b);
    }
    let half = (room / 2).max(ADDRESS_MIN);
    match (a <= half, b <= half) {
        (true, _) => (a, room.saturating_sub(a).max(ADDRESS_MIN)),
        (_, true) => (room.saturating_sub(b).max(ADDRESS_MIN), b),
        _ => (half, room.saturating_sub(half).max(ADDRESS_MIN)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: usize = 13;

    fn needs(local: usize, remote: usize, owner: usize, owner_long: usize) -> Needs {
        Needs {
            local,
            remote,
            owner,
            owner_long,
        }
    }

    #[test]
    fn addresses_get_their_full_width_and_owner_the_rest_up_to_its_command_line() {
        // 160 columns less the ports pane: an IPv6 listener of 28 characters stays whole.
        let w = fit(116, STATE, needs(28, 21, 10, 40));
        assert_eq!((w.local, w.remote), (28, 21));
        assert_eq!(w.optional, OPTIONAL.len());
        // 116 - (13 + 29 + 22 + 10 + 7 + 7 + 8) = 20 left for Owner, plus its space.
        assert_eq!(w.owner, Some(19));
        // On a wide terminal the whole command line fits, and no more is taken.
        assert_eq!(fit(220, STATE, needs(28, 21, 10, 40)).owner, Some(40));
    }

    #[test]
    fn a_narrow_table_gives_up_the_last_columns_first_and_says_so() {
        // 80 columns less a 22-column ports pane.
        let w = fit(56, STATE, needs(14, 15, 10, 10));
        assert_eq!((w.local, w.remote, w.optional, w.owner), (14, 15, 1, None));
        assert!(!w.all_shown());
    }

    #[test]
    fn addresses_too_wide_for_the_table_share_what_there_is() {
        let w = fit(56, STATE, needs(28, 39, 10, 10));
        assert_eq!(w.local + w.remote, 56 - STATE - 2);
        assert_eq!(w.local, 41 / 2);
        assert_eq!(w.optional, 0);
        // A short one keeps its width, the long one gets the rest.
        let w = fit(56, STATE, needs(14, 39, 10, 10));
        assert_eq!((w.local, w.remote), (14, 56 - STATE - 2 - 14));
    }
}
