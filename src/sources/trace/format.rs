//! The text of a tracefs event `format` file (`events/<system>/<name>/format`): the event's ID and
//! where each field sits in a record.
//!
//! Offsets are read from the file rather than hard-coded because they change between kernels
//! (fields get added, reordered or resized).

use crate::sources::bytes::array_at;
use std::net::IpAddr;

/// One `field:` line of a format file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub offset: usize,
    pub size: usize,
    pub signed: bool,
}

/// A parsed format file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFormat {
    pub name: String,
    /// The value of `common_type` in this event's records.
    pub id: u16,
    pub fields: Vec<Field>,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("event format has no `name:` line")]
    MissingName,
    #[error("event format {name:?} has no `ID:` line")]
    MissingId { name: String },
    #[error("event format {name:?}: bad ID {value:?}")]
    BadId { name: String, value: String },
    #[error("event format: bad field line {line:?}")]
    BadField { line: String },
    #[error("event {event:?} has no field {field:?}")]
    MissingField { event: String, field: String },
}

impl EventFormat {
    pub fn parse(text: &str) -> Result<EventFormat, FormatError> {
        let mut name = None;
        let mut id = None;
        let mut fields = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("name:") {
                name.get_or_insert_with(|| rest.trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("ID:") {
                id.get_or_insert_with(|| rest.trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("field:") {
                let field = parse_field(rest).ok_or_else(|| FormatError::BadField {
                    line: line.to_owned(),
                })?;
                fields.push(field);
            }
        }
        let name = name
            .filter(|n| !n.is_empty())
            .ok_or(FormatError::MissingName)?;
        let Some(value) = id else {
            return Err(FormatError::MissingId { name });
        };
        let Ok(id) = value.parse::<u16>() else {
            return Err(FormatError::BadId { name, value });
        };
        Ok(EventFormat { name, id, fields })
    }

    pub fn field(&self, name: &str) -> Result<&Field, FormatError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| FormatError::MissingField {
                event: self.name.clone(),
                field: name.to_owned(),
            })
    }
}

/// Parses what follows `field:`, e.g. `__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;`.
fn parse_field(rest: &str) -> Option<Field> {
    let mut parts = rest.split(';');
    let name = field_name(parts.next()?)?;
    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in parts {
        let Some((key, value)) = part.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "offset" => offset = Some(value.parse().ok()?),
            "size" => size = Some(value.parse().ok()?),
            "signed" => signed = Some(value.parse::<u8>().ok()? != 0),
            _ => {}
        }
    }
    Some(Field {
        name,
        offset: offset?,
        size: size?,
        // Kernels before 2.6.32 had no `signed:`; it does not affect where the bytes are.
        signed: signed.unwrap_or(false),
    })
}

/// The last identifier of a C declaration, array suffixes dropped: `const void * skaddr` →
/// `skaddr`, `__u8 saddr[4]` → `saddr`.
fn field_name(decl: &str) -> Option<String> {
    let mut decl = decl.trim_end();
    while let Some(inner) = decl.strip_suffix(']') {
        decl = inner.rsplit_once('[')?.0.trim_end();
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let start = decl
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_ident(c))
        .last()
        .map(|(i, _)| i)?;
    let name = decl.get(start..)?;
    // An identifier cannot start with a digit; `foo 4` is not a declaration.
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(name.to_owned())
}

impl Field {
    /// The field's raw bytes in one record's data; `None` if the record is too short.
    pub fn bytes_in<'a>(&self, data: &'a [u8]) -> Option<&'a [u8]> {
        data.get(self.offset..self.offset.checked_add(self.size)?)
    }

    /// `N` bytes at the field's offset, only if the field is exactly `N` bytes wide.
    fn array_in<const N: usize>(&self, data: &[u8]) -> Option<[u8; N]> {
        if self.size != N {
            return None;
        }
        array_at(data, self.offset)
    }

    pub fn u16_in(&self, data: &[u8]) -> Option<u16> {
        self.array_in(data).map(u16::from_ne_bytes)
    }

    pub fn i32_in(&self, data: &[u8]) -> Option<i32> {
        self.array_in(data).map(i32::from_ne_bytes)
    }

    pub fn u64_in(&self, data: &[u8]) -> Option<u64> {
        self.array_in(data).map(u64::from_ne_bytes)
    }

    /// A `__u8 addr[4]` field.
    pub fn ipv4_in(&self, data: &[u8]) -> Option<IpAddr> {
        self.array_in::<4>(data).map(|o| IpAddr::V4(o.into()))
    }

    /// A `__u8 addr[16]` field.
    pub fn ipv6_in(&self, data: &[u8]) -> Option<IpAddr> {
        self.array_in::<16>(data).map(|o| IpAddr::V6(o.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INET_SOCK_SET_STATE: &str = "name: inet_sock_set_state
ID: 2287
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:int oldstate;\toffset:16;\tsize:4;\tsigned:1;
\tfield:int newstate;\toffset:20;\tsize:4;\tsigned:1;
\tfield:__u16 sport;\toffset:24;\tsize:2;\tsigned:0;
\tfield:__u8 saddr[4];\toffset:32;\tsize:4;\tsigned:0;
\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:enum sk_rst_reason reason;\toffset:28;\tsize:4;\tsigned:0;

print fmt: \"family=%s ...\", REC->family
";

    fn field(name: &str, offset: usize, size: usize, signed: bool) -> Field {
        Field {
            name: name.to_owned(),
            offset,
            size,
            signed,
        }
    }

    #[test]
    fn parses_inet_sock_set_state() {
        let f = EventFormat::parse(INET_SOCK_SET_STATE).unwrap();
        assert_eq!(f.name, "inet_sock_set_state");
        assert_eq!(f.id, 2287);
        assert_eq!(
            f.fields,
            vec![
                field("common_type", 0, 2, false),
                field("common_flags", 2, 1, false),
                field("common_preempt_count", 3, 1, false),
                field("common_pid", 4, 4, true),
                field("skaddr", 8, 8, false),
                field("oldstate", 16, 4, true),
                field("newstate", 20, 4, true),
                field("sport", 24, 2, false),
                field("saddr", 32, 4, false),
                field("saddr_v6", 40, 16, false),
                field("reason", 28, 4, false),
            ]
        );
        assert_eq!(f.field("saddr_v6").unwrap().size, 16);
        assert_eq!(f.field("reason").unwrap().offset, 28);
    }

    #[test]
    fn field_names_from_declarations() {
        let cases = [
            ("const void * skaddr", "skaddr"),
            ("const void *skaddr", "skaddr"),
            ("__u8 saddr[4]", "saddr"),
            ("char comm[TASK_COMM_LEN]", "comm"),
            ("int grid[2][3]", "grid"),
            ("__data_loc char[] name", "name"),
            ("enum sk_rst_reason reason", "reason"),
            ("u64 x2 ", "x2"),
        ];
        for (decl, want) in cases {
            assert_eq!(field_name(decl).as_deref(), Some(want), "{decl}");
        }
        for bad in ["", "   ", "int *", "int 4", "saddr[4", "x]"] {
            assert_eq!(field_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn truncated_file() {
        // Cut inside the first field line: that line is incomplete, not silently dropped.
        let cut = INET_SOCK_SET_STATE.find("size:2").unwrap();
        let err = EventFormat::parse(&INET_SOCK_SET_STATE[..cut]).unwrap_err();
        assert!(matches!(err, FormatError::BadField { .. }), "{err:?}");

        // Cut before the ID line.
        let err = EventFormat::parse("name: inet_sock_set_state\n").unwrap_err();
        assert!(
            matches!(&err, FormatError::MissingId { name } if name == "inet_sock_set_state"),
            "{err:?}"
        );

        // Cut after the header: no fields, which `field()` then reports.
        let f = EventFormat::parse("name: x\nID: 7\nformat:\n").unwrap();
        assert_eq!((f.id, f.fields.len()), (7, 0));
        assert!(f.field("skaddr").is_err());

        // Every prefix parses or fails without panicking.
        for cut in 0..=INET_SOCK_SET_STATE.len() {
            let _ = EventFormat::parse(&INET_SOCK_SET_STATE[..cut]);
        }
    }

    #[test]
    fn garbage() {
        assert!(matches!(
            EventFormat::parse(""),
            Err(FormatError::MissingName)
        ));
        assert!(matches!(
            EventFormat::parse("\u{0}\u{1}binary\n;;;:::\n[]"),
            Err(FormatError::MissingName)
        ));
        assert!(matches!(
            EventFormat::parse("name:\nID: 1\n"),
            Err(FormatError::MissingName)
        ));
        for id in ["ID: x", "ID: -1", "ID: 70000", "ID:"] {
            let text = format!("name: e\n{id}\n");
            assert!(
                matches!(EventFormat::parse(&text), Err(FormatError::BadId { .. })),
                "{id}"
            );
        }
        for line in [
            "field:int a;\toffset:x;\tsize:4;\tsigned:1;",
            "field:int a;\toffset:0;\tsigned:1;",
            "field:int a;\tsize:4;",
            "field:;\toffset:0;\tsize:4;",
            "field:",
            "field:int a;\toffset:-4;\tsize:4;",
        ] {
            let text = format!("name: e\nID: 1\nformat:\n\t{line}\n");
            assert!(
                matches!(EventFormat::parse(&text), Err(FormatError::BadField { .. })),
                "{line}"
            );
        }
    }

    #[test]
    fn ignores_other_lines_and_optional_signed() {
        let text = "junk before\nname: e\nID: 12\nformat:\n\tfield:int a;\toffset:4;\tsize:4;\n\
                    print fmt: \"field:int b;\toffset:0;\tsize:4;\"\n";
        let f = EventFormat::parse(text).unwrap();
        assert_eq!(f.fields, vec![field("a", 4, 4, false)]);
    }

    #[test]
    fn missing_field_error_names_event_and_field() {
        let f = EventFormat::parse(INET_SOCK_SET_STATE).unwrap();
        let err = f.field("protocol").unwrap_err();
        assert!(
            matches!(&err, FormatError::MissingField { event, field }
                if event == "inet_sock_set_state" && field == "protocol"),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("inet_sock_set_state") && msg.contains("protocol"),
            "{msg}"
        );
    }

    #[test]
    fn reads_fields() {
        let f = EventFormat::parse(INET_SOCK_SET_STATE).unwrap();
        let mut rec = vec![0u8; 56];
        rec[0..2].copy_from_slice(&2287u16.to_ne_bytes());
        rec[8..16].copy_from_slice(&0xffff_8880_1234_5678u64.to_ne_bytes());
        rec[16..20].copy_from_slice(&(-7i32).to_ne_bytes());
        rec[24..26].copy_from_slice(&443u16.to_ne_bytes());
        rec[32..36].copy_from_slice(&[127, 0, 0, 1]);

        assert_eq!(f.field("common_type").unwrap().u16_in(&rec), Some(2287));
        assert_eq!(
            f.field("skaddr").unwrap().u64_in(&rec),
            Some(0xffff_8880_1234_5678)
        );
        assert_eq!(f.field("oldstate").unwrap().i32_in(&rec), Some(-7));
        assert_eq!(f.field("sport").unwrap().u16_in(&rec), Some(443));
        assert_eq!(
            f.field("saddr").unwrap().bytes_in(&rec),
            Some(&[127, 0, 0, 1][..])
        );
        assert_eq!(
            f.field("saddr_v6").unwrap().bytes_in(&rec).unwrap().len(),
            16
        );
    }

    #[test]
    fn size_mismatch_returns_none() {
        let f = EventFormat::parse(INET_SOCK_SET_STATE).unwrap();
        let rec = vec![0u8; 56];
        assert_eq!(f.field("sport").unwrap().i32_in(&rec), None);
        assert_eq!(f.field("sport").unwrap().u64_in(&rec), None);
        assert_eq!(f.field("oldstate").unwrap().u16_in(&rec), None);
        assert_eq!(f.field("skaddr").unwrap().i32_in(&rec), None);
        assert_eq!(f.field("common_flags").unwrap().u16_in(&rec), None);
    }

    #[test]
    fn out_of_bounds_reads_return_none() {
        let f = EventFormat::parse(INET_SOCK_SET_STATE).unwrap();
        let saddr_v6 = f.field("saddr_v6").unwrap();
        let sport = f.field("sport").unwrap();
        let skaddr = f.field("skaddr").unwrap();
        let oldstate = f.field("oldstate").unwrap();
        let rec = vec![0u8; 56];
        // A record ending one byte early loses exactly the last field.
        assert_eq!(saddr_v6.bytes_in(&rec[..55]), None);
        assert!(saddr_v6.bytes_in(&rec).is_some());
        for len in 0..=56 {
            let r = &rec[..len];
            assert_eq!(sport.u16_in(r).is_some(), len >= 26, "{len}");
            assert_eq!(skaddr.u64_in(r).is_some(), len >= 16, "{len}");
            assert_eq!(oldstate.i32_in(r).is_some(), len >= 20, "{len}");
        }
        // Offsets near usize::MAX must not overflow.
        let huge = field("huge", usize::MAX - 1, 4, false);
        assert_eq!(huge.bytes_in(&rec), None);
        assert_eq!(huge.i32_in(&rec), None);
        let wide = field("wide", 8, usize::MAX, false);
        assert_eq!(wide.bytes_in(&rec), None);
    }
}
