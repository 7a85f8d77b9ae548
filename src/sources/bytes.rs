//! Reading the kernel's binary records (netlink answers, the eBPF ring, ftrace pages):
//! fixed-width values at an offset, in the host's byte order unless named `be`, each `None`
//! when the record is too short. Every decoder of `sources` reads through these, so none
//! indexes past what the kernel (or a corrupted buffer) actually gave.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `len` bytes at `at`.
pub fn slice_at(d: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    d.get(at..at.checked_add(len)?)
}

/// `N` bytes at `at`.
pub fn array_at<const N: usize>(d: &[u8], at: usize) -> Option<[u8; N]> {
    slice_at(d, at, N)?.try_into().ok()
}

pub fn u8_at(d: &[u8], at: usize) -> Option<u8> {
    d.get(at).copied()
}

pub fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    array_at(d, at).map(u16::from_ne_bytes)
}

/// A port or other network-order u16.
pub fn be16_at(d: &[u8], at: usize) -> Option<u16> {
    array_at(d, at).map(u16::from_be_bytes)
}

pub fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    array_at(d, at).map(u32::from_ne_bytes)
}

pub fn i32_at(d: &[u8], at: usize) -> Option<i32> {
    array_at(d, at).map(i32::from_ne_bytes)
}

pub fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    array_at(d, at).map(u64::from_ne_bytes)
}

pub fn ipv4_at(d: &[u8], at: usize) -> Option<Ipv4Addr> {
    array_at::<4>(d, at).map(Ipv4Addr::from)
}

pub fn ipv6_at(d: &[u8], at: usize) -> Option<Ipv6Addr> {
    array_at::<16>(d, at).map(Ipv6Addr::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_at_offsets_and_nothing_past_the_end() {
        let d = [1u8, 0, 0, 0, 0x1f, 0x90, 0, 0];
        assert_eq!(u32_at(&d, 0), Some(u32::from_ne_bytes([1, 0, 0, 0])));
        assert_eq!(be16_at(&d, 4), Some(8080));
        assert_eq!(u64_at(&d, 0), Some(u64::from_ne_bytes(d)));
        assert_eq!(u64_at(&d, 1), None);
        assert_eq!(u16_at(&d, usize::MAX), None);
        assert_eq!(slice_at(&d, 7, 1), Some(&d[7..]));
        assert_eq!(slice_at(&d, 8, 1), None);
        assert_eq!(ipv4_at(&[127, 0, 0, 1], 0), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(ipv6_at(&d, 0), None);
    }
}
