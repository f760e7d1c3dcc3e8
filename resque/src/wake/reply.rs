//! Whole RESP replies out of the bytes read so far from a nonblocking
//! socket: how long the first one is, and what it says.

/// What a reply to a blocking list command says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reply {
    /// A value: the list had an element.
    Value,
    /// Nil: the command timed out on an empty list.
    Nil,
    /// An error reply, its text.
    Error(String),
}

/// The first complete reply in `buf`: its length in bytes, and what it
/// says; `None` while it is incomplete.
pub(super) fn first(buf: &[u8]) -> Option<(usize, Reply)> {
    element(buf, 0)
}

fn element(buf: &[u8], at: usize) -> Option<(usize, Reply)> {
    let kind = *buf.get(at)?;
    let rest = buf.get(at + 1..)?;
    let line_len = rest.windows(2).position(|w| w == b"\r\n")?;
    let line = &rest[..line_len];
    let after_line = at + 1 + line_len + 2;
    let number = || std::str::from_utf8(line).ok().and_then(|n| n.parse::<i64>().ok());
    match kind {
        b'+' | b':' | b',' | b'#' => Some((after_line, Reply::Value)),
        b'_' => Some((after_line, Reply::Nil)),
        b'-' => Some((after_line, Reply::Error(String::from_utf8_lossy(line).into_owned()))),
        b'$' => match number() {
            Some(n) if n < 0 => Some((after_line, Reply::Nil)),
            Some(n) => {
                let end = after_line + usize::try_from(n).ok()? + 2;
                (buf.len() >= end).then_some((end, Reply::Value))
            }
            None => Some((after_line, Reply::Error("a malformed reply".into()))),
        },
        b'*' => match number() {
            Some(n) if n < 0 => Some((after_line, Reply::Nil)),
            Some(n) => {
                let mut end = after_line;
                for _ in 0..n {
                    end = element(buf, end)?.0;
                }
                Some((end, if n == 0 { Reply::Nil } else { Reply::Value }))
            }
            None => Some((after_line, Reply::Error("a malformed reply".into()))),
        },
        _ => Some((after_line, Reply::Error("an unexpected reply".into()))),
    }
}

#[cfg(test)]
mod tests {
    use super::{first, Reply};

    #[test]
    fn replies_are_whole_or_not_yet() {
        let job = b"$14\r\n{\"class\":\"A\"}\r\n";
        assert_eq!(first(job), None, "one byte short of the length");
        let job = b"$13\r\n{\"class\":\"A\"}\r\n$-1\r\n";
        assert_eq!(first(job), Some((20, Reply::Value)));
        assert_eq!(first(&job[..19]), None);
        assert_eq!(first(&job[20..]), Some((5, Reply::Nil)));
        assert_eq!(first(b"*-1\r\n"), Some((5, Reply::Nil)));
        assert_eq!(first(b"*2\r\n$1\r\nq\r\n$1\r\nj\r\n"), Some((18, Reply::Value)));
        assert_eq!(first(b"*2\r\n$1\r\nq\r\n$1\r\n"), None);
        assert_eq!(
            first(b"-ERR unknown command 'BLMOVE'\r\n"),
            Some((31, Reply::Error("ERR unknown command 'BLMOVE'".into())))
        );
        assert_eq!(first(b"-ERR unkno"), None);
        assert_eq!(first(b""), None);
    }
}
