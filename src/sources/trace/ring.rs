//! The binary ring-buffer pages read from `per_cpu/cpuN/trace_pipe_raw`.
//!
//! Layout from `events/header_page` and `events/header_event`, and from the kernel's
//! `kernel/trace/ring_buffer.c`. Only 64-bit kernels are handled (an 8-byte `commit` word).
//! Everything is bounds-checked: a page is kernel data, but a short read or a kernel with a
//! different layout must give `malformed`, never a panic.

use crate::sources::bytes::{slice_at, u32_at, u64_at};

/// `u64 timestamp` then `local_t commit`; the events follow.
pub const PAGE_HEADER_LEN: usize = 16;

/// Events were overwritten before this page (`RB_MISSED_EVENTS`).
const MISSED_EVENTS: u64 = 1 << 31;
/// Their count is stored right after the data (`RB_MISSED_STORED`).
const MISSED_STORED: u64 = 1 << 30;
/// The data length: `commit & ~RB_MISSED_MASK`, as the kernel's `rb_page_size()`. The kernel
/// adds the flags as a sign-extended `int`, so the bits above 31 may be set and are ignored.
const COMMIT_LEN_MASK: u64 = (1 << 30) - 1;

const TYPE_DATA_LEN_MAX: u32 = 28;
const TYPE_PADDING: u32 = 29;
const TYPE_TIME_EXTEND: u32 = 30;
const TYPE_TIME_STAMP: u32 = 31;
const TS_SHIFT: u32 = 27;
/// An absolute time stamp carries 59 bits; the top 5 come from the running time stamp.
const ABS_TS_BITS: u32 = 59;

/// One data event: its time stamp and its payload (the record `format` files describe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub ts: u64,
    pub data: &'a [u8],
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageOutcome {
    pub records: usize,
    /// Events the kernel dropped before this page (ring overrun); 0 if none.
    pub lost: u64,
    /// The kernel said events were lost but not how many (lost then counts 1).
    pub lost_unknown_count: bool,
    /// The page or an event in it was cut short or inconsistent; parsing stopped there.
    pub malformed: bool,
}

/// Parses one page read from `trace_pipe_raw`, calling `sink` for each data event in order.
/// `page` may be a partial read; whatever whole events it holds are still delivered.
pub fn parse_page(page: &[u8], sink: &mut dyn FnMut(RawRecord<'_>)) -> PageOutcome {
    let mut out = PageOutcome::default();
    let (Some(page_ts), Some(commit)) = (u64_at(page, 0), u64_at(page, 8)) else {
        out.malformed = true;
        return out;
    };
    let Ok(data_len) = usize::try_from(commit & COMMIT_LEN_MASK) else {
        out.malformed = true;
        return out;
    };
    let avail = page.get(PAGE_HEADER_LEN..).unwrap_or_default();
    let data = match avail.get(..data_len) {
        Some(data) => data,
        None => {
            out.malformed = true;
            avail
        }
    };

    if commit & MISSED_EVENTS != 0 {
        let stored = if commit & MISSED_STORED != 0 {
            let count = u64_at(avail, data_len);
            // The flag promised a count that the read did not include.
            out.malformed |= count.is_none();
            count
        } else {
            None
        };
        match stored {
            // The kernel only flags a nonzero count; keep `lost` nonzero with the flag anyway.
            Some(count) => out.lost = count.max(1),
            None => {
                out.lost = 1;
                out.lost_unknown_count = true;
            }
        }
    }

    if !parse_events(data, page_ts, sink, &mut out.records) {
        out.malformed = true;
    }
    out
}

/// Walks the events of a page's data; false if one is cut short or inconsistent.
fn parse_events(
    data: &[u8],
    mut ts: u64,
    sink: &mut dyn FnMut(RawRecord<'_>),
    records: &mut usize,
) -> bool {
    let mut pos = 0usize;
    while pos < data.len() {
        let Some(word) = u32_at(data, pos) else {
            return false;
        };
        let (type_len, delta) = split_header(word);
        let delta = u64::from(delta);
        // array[0], the u32 after the header; only some types have it.
        let array0 = || u32_at(data, pos.checked_add(4)?);
        let len = match type_len {
            TYPE_PADDING if delta == 0 => return true,
            TYPE_PADDING => {
                // A discarded event: skipped, but its delta still counts (as libtraceevent does).
                let Some(len) = array0().and_then(|a| usize::try_from(a).ok()) else {
                    return false;
                };
                ts = ts.wrapping_add(delta);
                4usize.checked_add(len)
            }
            TYPE_TIME_EXTEND => {
                let Some(high) = array0() else {
                    return false;
                };
                ts = ts.wrapping_add((u64::from(high) << TS_SHIFT) | delta);
                Some(8)
            }
            TYPE_TIME_STAMP => {
                let Some(high) = array0() else {
                    return false;
                };
                ts = fix_abs_ts((u64::from(high) << TS_SHIFT) | delta, ts);
                Some(8)
            }
            0 => {
                // array[0] counts itself: the payload starts after it and is 4 bytes shorter.
                let Some(len) = array0().and_then(|a| usize::try_from(a).ok()) else {
                    return false;
                };
                let payload = len
                    .checked_sub(4)
                    .and_then(|n| slice_at(data, pos.checked_add(8)?, n));
                let Some(payload) = payload else {
                    return false;
                };
                ts = ts.wrapping_add(delta);
                sink(RawRecord { ts, data: payload });
                *records += 1;
                4usize.checked_add(len)
            }
            n @ 1..=TYPE_DATA_LEN_MAX => {
                let Some(len) = usize::try_from(n).ok().and_then(|n| n.checked_mul(4)) else {
                    return false;
                };
                let Some(payload) = pos.checked_add(4).and_then(|at| slice_at(data, at, len))
                else {
                    return false;
                };
                ts = ts.wrapping_add(delta);
                sink(RawRecord { ts, data: payload });
                *records += 1;
                4usize.checked_add(len)
            }
            // type_len has 5 bits: every value is matched above.
            _ => return false,
        };
        // Events are 4-byte aligned; an event running past the data is inconsistent.
        let next = len
            .and_then(|l| l.checked_next_multiple_of(4))
            .and_then(|l| pos.checked_add(l));
        match next {
            Some(next) if next <= data.len() => pos = next,
            _ => return false,
        }
    }
    true
}

/// The kernel's `rb_fix_abs_ts()`: take the top 5 bits from the running time stamp, and carry
/// into them if the low bits wrapped.
fn fix_abs_ts(abs: u64, prev: u64) -> u64 {
    let msb = prev & !((1u64 << ABS_TS_BITS) - 1);
    if msb == 0 {
        return abs;
    }
    let ts = abs | msb;
    if ts < prev {
        ts.wrapping_add(1 << ABS_TS_BITS)
    } else {
        ts
    }
}

/// The event header is the C bitfield `u32 type_len:5, time_delta:27`, whose bit order
/// follows the byte order.
fn split_header(word: u32) -> (u32, u32) {
    if cfg!(target_endian = "big") {
        (word >> 27, word & ((1 << 27) - 1))
    } else {
        (word & 0x1f, word >> 5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_SIZE: usize = 4096;

    fn join_header(type_len: u32, delta: u32) -> u32 {
        assert!(type_len < 32 && delta < (1 << 27));
        if cfg!(target_endian = "big") {
            (type_len << 27) | delta
        } else {
            type_len | (delta << 5)
        }
    }

    /// Writes pages the way the kernel does.
    struct PageBuilder {
        ts: u64,
        data: Vec<u8>,
        /// `Some(None)`: missed events, count not stored.
        missed: Option<Option<u64>>,
    }

    impl PageBuilder {
        fn new(ts: u64) -> Self {
            PageBuilder {
                ts,
                data: Vec::new(),
                missed: None,
            }
        }

        fn word(&mut self, type_len: u32, delta: u32) -> &mut Self {
            self.u32(join_header(type_len, delta))
        }

        fn u32(&mut self, v: u32) -> &mut Self {
            self.data.extend_from_slice(&v.to_ne_bytes());
            self
        }

        fn bytes(&mut self, b: &[u8]) -> &mut Self {
            self.data.extend_from_slice(b);
            self.data.resize(self.data.len().next_multiple_of(4), 0);
            self
        }

        /// An event of up to 112 bytes, length in the header.
        fn small(&mut self, delta: u32, payload: &[u8]) -> &mut Self {
            assert!(!payload.is_empty() && payload.len() <= 112);
            let words = payload.len().div_ceil(4) as u32;
            self.word(words, delta).bytes(payload)
        }

        /// An event with its length in array[0], as the kernel writes those over 112 bytes.
        fn long(&mut self, delta: u32, payload: &[u8]) -> &mut Self {
            let len = payload.len().next_multiple_of(4) as u32 + 4;
            self.word(0, delta).u32(len).bytes(payload)
        }

        fn extend(&mut self, delta: u64) -> &mut Self {
            let low = (delta & ((1 << 27) - 1)) as u32;
            self.word(TYPE_TIME_EXTEND, low).u32((delta >> 27) as u32)
        }

        fn abs(&mut self, ts: u64) -> &mut Self {
            let low = (ts & ((1 << 27) - 1)) as u32;
            self.word(TYPE_TIME_STAMP, low).u32((ts >> 27) as u32)
        }

        /// A discarded event: `array0` (its size after the header) overwrites its first word.
        fn discarded(&mut self, delta: u32, array0: usize) -> &mut Self {
            assert!(delta != 0 && array0 >= 4 && array0.is_multiple_of(4));
            self.word(TYPE_PADDING, delta)
                .u32(array0 as u32)
                .bytes(&vec![0xee; array0 - 4])
        }

        /// Padding to the end of the page: counted in the data length.
        fn pad_to_end(&mut self) -> &mut Self {
            self.word(TYPE_PADDING, 0);
            self.data.resize(PAGE_SIZE - PAGE_HEADER_LEN, 0xdd);
            self
        }

        fn missed(&mut self, count: Option<u64>) -> &mut Self {
            self.missed = Some(count);
            self
        }

        /// The whole 4096-byte page.
        fn build(&self) -> Vec<u8> {
            let mut commit = self.data.len() as u64;
            let mut page = self.ts.to_ne_bytes().to_vec();
            let mut tail = Vec::new();
            if let Some(count) = self.missed {
                if let Some(count) = count {
                    tail = count.to_ne_bytes().to_vec();
                    commit += MISSED_STORED;
                }
                // local_add(RB_MISSED_EVENTS): (1 << 31) as an int, sign-extended to long.
                commit = commit.wrapping_add(i64::from(i32::MIN) as u64);
            }
            page.extend_from_slice(&commit.to_ne_bytes());
            page.extend_from_slice(&self.data);
            page.extend_from_slice(&tail);
            assert!(page.len() <= PAGE_SIZE);
            page.resize(PAGE_SIZE, 0);
            page
        }
    }

    fn parse(page: &[u8]) -> (Vec<(u64, Vec<u8>)>, PageOutcome) {
        let mut got = Vec::new();
        let out = parse_page(page, &mut |r| got.push((r.ts, r.data.to_vec())));
        assert_eq!(out.records, got.len());
        (got, out)
    }

    fn rec(ts: u64, data: &[u8]) -> (u64, Vec<u8>) {
        (ts, data.to_vec())
    }

    #[test]
    fn small_events() {
        let page = PageBuilder::new(1000)
            .small(0, &[1, 2, 3, 4])
            .small(5, &[5, 6, 7, 8, 9, 10, 11, 12])
            .small((1 << 27) - 1, &[0xaa; 112])
            .build();
        let (got, out) = parse(&page);
        assert_eq!(
            got,
            vec![
                rec(1000, &[1, 2, 3, 4]),
                rec(1005, &[5, 6, 7, 8, 9, 10, 11, 12]),
                rec(1005 + (1 << 27) - 1, &[0xaa; 112]),
            ]
        );
        assert_eq!(
            out,
            PageOutcome {
                records: 3,
                ..Default::default()
            }
        );
    }

    #[test]
    fn empty_page() {
        let (got, out) = parse(&PageBuilder::new(7).build());
        assert!(got.is_empty());
        assert_eq!(out, PageOutcome::default());
        // Just the header, as a read of an empty page's used part.
        let (_, out) = parse(&PageBuilder::new(7).build()[..PAGE_HEADER_LEN]);
        assert_eq!(out, PageOutcome::default());
    }

    #[test]
    fn long_event() {
        let payload: Vec<u8> = (0..200u8).collect();
        let page = PageBuilder::new(10)
            .long(3, &payload)
            .small(1, &[9; 4])
            .build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(13, &payload), rec(14, &[9; 4])]);
        assert!(!out.malformed);
    }

    #[test]
    fn long_event_length_not_multiple_of_4() {
        // array[0] = 4 + 5: a 5-byte payload; the next event is at the next 4-byte boundary.
        let page = PageBuilder::new(0)
            .word(0, 1)
            .u32(9)
            .bytes(&[1, 2, 3, 4, 5])
            .small(1, &[7; 4])
            .build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(1, &[1, 2, 3, 4, 5]), rec(2, &[7; 4])]);
        assert!(!out.malformed);
    }

    #[test]
    fn long_event_with_bad_length() {
        for array0 in [0u32, 3] {
            let page = PageBuilder::new(0).word(0, 1).u32(array0).build();
            let (got, out) = parse(&page);
            assert!(got.is_empty());
            assert!(out.malformed, "{array0}");
        }
        // Longer than the data.
        let page = PageBuilder::new(0)
            .word(0, 1)
            .u32(400)
            .bytes(&[0; 8])
            .build();
        let (got, out) = parse(&page);
        assert!(got.is_empty() && out.malformed);
        // array[0] near u32::MAX must not overflow anything.
        let page = PageBuilder::new(0).word(0, 1).u32(u32::MAX).build();
        assert!(parse(&page).1.malformed);
    }

    #[test]
    fn time_extend() {
        let big = (5u64 << 27) + 123;
        let page = PageBuilder::new(1_000_000)
            .small(10, &[1; 4])
            .extend(big)
            .small(0, &[2; 4])
            .small(7, &[3; 4])
            .build();
        let (got, out) = parse(&page);
        assert_eq!(
            got,
            vec![
                rec(1_000_010, &[1; 4]),
                rec(1_000_010 + big, &[2; 4]),
                rec(1_000_017 + big, &[3; 4]),
            ]
        );
        assert!(!out.malformed);
    }

    #[test]
    fn absolute_time_stamp() {
        let abs = (3u64 << 40) + 99;
        let page = PageBuilder::new(5000)
            .small(1, &[1; 4])
            .abs(abs)
            .small(0, &[2; 4])
            .small(2, &[3; 4])
            .build();
        let (got, out) = parse(&page);
        assert_eq!(
            got,
            vec![rec(5001, &[1; 4]), rec(abs, &[2; 4]), rec(abs + 2, &[3; 4])]
        );
        assert!(!out.malformed);
    }

    #[test]
    fn absolute_time_stamp_keeps_top_bits() {
        let top = 0b10110u64 << 59;
        let low = (1u64 << 59) - 1;
        // The low 59 bits move forward: the top 5 bits stay.
        let page = PageBuilder::new(top | 1000)
            .abs(2000)
            .small(0, &[1; 4])
            .build();
        assert_eq!(parse(&page).0, vec![rec(top | 2000, &[1; 4])]);
        // The low 59 bits wrapped: the kernel carries into the top bits.
        let page = PageBuilder::new(top | (low - 5))
            .abs(3)
            .small(0, &[1; 4])
            .build();
        assert_eq!(parse(&page).0, vec![rec((top + (1 << 59)) | 3, &[1; 4])]);
    }

    #[test]
    fn discarded_event_is_skipped() {
        let page = PageBuilder::new(100)
            .small(1, &[1; 4])
            .discarded(4, 20)
            .discarded(1, 200)
            .small(2, &[2; 4])
            .build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(101, &[1; 4]), rec(108, &[2; 4])]);
        assert!(!out.malformed);
    }

    #[test]
    fn discarded_event_past_the_data_is_malformed() {
        let page = PageBuilder::new(0)
            .small(1, &[1; 4])
            .word(TYPE_PADDING, 1)
            .u32(64)
            .build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(1, &[1; 4])]);
        assert!(out.malformed);
    }

    #[test]
    fn terminating_padding_stops() {
        let page = PageBuilder::new(50).small(1, &[1; 4]).pad_to_end().build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(51, &[1; 4])]);
        assert_eq!(
            out,
            PageOutcome {
                records: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn tail_of_page_as_discarded_event() {
        // rb_reset_tail() usually closes a page with a discarded event (delta 1) up to its end.
        let mut b = PageBuilder::new(50);
        b.small(1, &[1; 4]);
        let rest = PAGE_SIZE - PAGE_HEADER_LEN - b.data.len();
        let page = b.discarded(1, rest - 4).build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(51, &[1; 4])]);
        assert!(!out.malformed);
    }

    #[test]
    fn missed_events_with_stored_count() {
        let page = PageBuilder::new(0)
            .small(1, &[1; 4])
            .missed(Some(12345))
            .build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(1, &[1; 4])]);
        assert_eq!(
            out,
            PageOutcome {
                records: 1,
                lost: 12345,
                lost_unknown_count: false,
                malformed: false,
            }
        );
    }

    #[test]
    fn missed_events_without_count() {
        let page = PageBuilder::new(0).small(1, &[1; 4]).missed(None).build();
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(1, &[1; 4])]);
        assert_eq!(
            out,
            PageOutcome {
                records: 1,
                lost: 1,
                lost_unknown_count: true,
                malformed: false,
            }
        );
    }

    #[test]
    fn missed_events_on_an_empty_page() {
        let (got, out) = parse(&PageBuilder::new(0).missed(Some(3)).build());
        assert!(got.is_empty());
        assert_eq!((out.lost, out.malformed), (3, false));
    }

    #[test]
    fn page_shorter_than_header() {
        let page = PageBuilder::new(1).small(1, &[1; 4]).build();
        for len in 0..PAGE_HEADER_LEN {
            let (got, out) = parse(&page[..len]);
            assert!(got.is_empty());
            assert_eq!(
                out,
                PageOutcome {
                    malformed: true,
                    ..Default::default()
                },
                "{len}"
            );
        }
    }

    /// A page with one of each kind of event.
    fn mixed_page() -> PageBuilder {
        let mut b = PageBuilder::new(1 << 40);
        b.small(1, &[1; 4])
            .long(2, &[2; 150])
            .extend(1 << 30)
            .small(0, &[3; 12])
            .discarded(3, 8)
            .abs(1 << 45)
            .small(4, &[4; 8])
            .long(5, &[5; 113]);
        b
    }

    fn check_every_cut(b: &PageBuilder, lost: u64) {
        let page = b.build();
        let data_end = PAGE_HEADER_LEN + b.data.len();
        let full_end = data_end + if b.missed.flatten().is_some() { 8 } else { 0 };
        let (all, out) = parse(&page);
        assert!(!out.malformed && all.len() >= 4);
        for cut in 0..=PAGE_SIZE {
            let (got, out) = parse(&page[..cut]);
            assert_eq!(out.malformed, cut < full_end, "cut at {cut}");
            // Whatever is delivered is a prefix of the whole page's records.
            assert_eq!(got[..], all[..got.len()], "cut at {cut}");
            if cut >= data_end {
                assert_eq!(got.len(), all.len(), "cut at {cut}");
            }
            if cut >= full_end {
                assert_eq!(out.lost, lost, "cut at {cut}");
            }
        }
    }

    #[test]
    fn truncation_at_every_offset() {
        check_every_cut(&mixed_page(), 0);
    }

    #[test]
    fn truncation_at_every_offset_with_stored_missed_count() {
        let mut b = mixed_page();
        b.missed(Some(77));
        check_every_cut(&b, 77);
    }

    #[test]
    fn truncated_stored_count_is_unknown() {
        let page = PageBuilder::new(0)
            .small(1, &[1; 4])
            .missed(Some(9))
            .build();
        let (got, out) = parse(&page[..PAGE_HEADER_LEN + 8 + 4]);
        assert_eq!(got.len(), 1);
        assert!(out.malformed && out.lost_unknown_count);
        assert_eq!(out.lost, 1);
    }

    #[test]
    fn data_length_beyond_page_is_malformed() {
        let mut page = PageBuilder::new(0).small(1, &[1; 4]).build();
        page[8..16].copy_from_slice(&((1u64 << 30) - 1).to_ne_bytes());
        let (got, out) = parse(&page);
        // The real event is delivered; the zero words after it are not events.
        assert_eq!(got.first(), Some(&rec(1, &[1; 4])));
        assert!(out.malformed);
    }

    #[test]
    fn odd_data_length_is_malformed() {
        let mut page = PageBuilder::new(0).small(1, &[1; 4]).build();
        page[8..16].copy_from_slice(&10u64.to_ne_bytes());
        let (got, out) = parse(&page);
        assert_eq!(got, vec![rec(1, &[1; 4])]);
        assert!(out.malformed);
    }

    #[test]
    fn garbage_never_panics() {
        // A simple deterministic generator; every page gets a plausible data length.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let mut page: Vec<u8> = (0..PAGE_SIZE).map(|_| next() as u8).collect();
            let commit = next() & 0xffff_ffff_c000_0fff;
            page[8..16].copy_from_slice(&commit.to_ne_bytes());
            let cut = (next() as usize) % (PAGE_SIZE + 1);
            let (got, out) = parse(&page[..cut]);
            assert_eq!(got.len(), out.records);
        }
    }
}
