//! A worker's id, `<host>:<pid>:<queues>`: built and taken apart by one rule.
//!
//! Ruby Resque builds `"#{hostname}:#{pid}:#{queues.join(',')}"` and splits
//! it with `split(':', 3)`. Every crate of resque-rs builds and reads ids
//! through [`WorkerId`], so the rule lives here alone.
//!
//! Splitting follows Ruby whenever the second part is a number, which it
//! is for every hostname without a `:`. A hostname that holds `:` (an IPv6
//! address, say `fe80::1`) would make Ruby's split read a piece of the
//! host as the pid; here the pid is then the last of the first run of
//! all-digit parts, so `fe80::1:4211:mail` is host `fe80::1`, pid 4211,
//! queues `mail`. The queue list keeps any `:` of its own.

use std::fmt;

/// A worker id: host, pid and the queue list as the worker was given it.
///
/// ```
/// use resque::WorkerId;
///
/// let id = WorkerId::new("web1", 4211, "critical,*");
/// assert_eq!(id.to_string(), "web1:4211:critical,*");
///
/// let parsed = WorkerId::parse("web1:4211:critical,*");
/// assert_eq!(parsed, id);
/// assert_eq!(parsed.host(), "web1");
/// assert_eq!(parsed.pid(), Some(4211));
/// assert_eq!(parsed.queues().collect::<Vec<_>>(), ["critical", "*"]);
///
/// // A host with `:` in it, and a queue name with `:` in it.
/// let v6 = WorkerId::parse("fe80::1:4211:jobs:high,low");
/// assert_eq!((v6.host(), v6.pid(), v6.queue_list()), ("fe80::1", Some(4211), "jobs:high,low"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WorkerId {
    text: String,
    host: usize,
    pid: Option<u32>,
    queues: usize,
}

impl WorkerId {
    /// The id of a worker on `host` with process id `pid` listening on
    /// `queues` (a comma-separated list, as given: `critical,*`).
    pub fn new(host: &str, pid: u32, queues: &str) -> Self {
        let text = format!("{host}:{pid}:{queues}");
        let queues_at = text.len() - queues.len();
        WorkerId { text, host: host.len(), pid: Some(pid), queues: queues_at }
    }

    /// Reads any id, as Ruby does (see the module docs). It never fails: a
    /// missing or non-numeric pid is `None`, a missing queue list empty.
    pub fn parse(id: &str) -> Self {
        let (host, pid, queues) = split(id.as_bytes());
        let pid = std::str::from_utf8(pid).ok().and_then(|p| p.parse().ok());
        WorkerId { text: id.to_string(), host: host.len(), pid, queues: id.len() - queues.len() }
    }

    /// The parts of an id as bytes (host, pid, queues; a missing part is
    /// empty), by the same rule as [`parse`](Self::parse): an id a peer
    /// wrote need not be UTF-8.
    ///
    /// ```
    /// use resque::WorkerId;
    /// assert_eq!(WorkerId::split_bytes(b"web1:4211:\xff"), (&b"web1"[..], &b"4211"[..], &b"\xff"[..]));
    /// assert_eq!(WorkerId::split_bytes(b"web1:4211"), (&b"web1"[..], &b"4211"[..], &b""[..]));
    /// ```
    pub fn split_bytes(id: &[u8]) -> (&[u8], &[u8], &[u8]) {
        split(id)
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The hostname part.
    pub fn host(&self) -> &str {
        &self.text[..self.host]
    }

    /// The process id, when the id has a numeric one.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The queue list as written (`critical,*`), empty when missing.
    pub fn queue_list(&self) -> &str {
        &self.text[self.queues..]
    }

    /// The queue list's entries, split at `,` (none when it is empty).
    pub fn queues(&self) -> impl Iterator<Item = &str> {
        let list = self.queue_list();
        list.split(',').filter(move |_| !list.is_empty())
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkerId").field(&self.text).finish()
    }
}

impl std::str::FromStr for WorkerId {
    type Err = std::convert::Infallible;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Ok(WorkerId::parse(id))
    }
}

impl AsRef<str> for WorkerId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

fn all_digits(part: &[u8]) -> bool {
    !part.is_empty() && part.iter().all(u8::is_ascii_digit)
}

/// Ruby's `split(':', 3)` when the second part is a number; else the pid
/// is the last of the first run of all-digit parts after the first.
fn split(id: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let parts: Vec<&[u8]> = id.split(|b| *b == b':').collect();
    let pid_at = if parts.len() > 1 && all_digits(parts[1]) {
        Some(1)
    } else {
        (1..parts.len()).find(|&i| all_digits(parts[i])).map(|first| {
            let mut last = first;
            while last + 1 < parts.len() && all_digits(parts[last + 1]) {
                last += 1;
            }
            last
        })
    };
    let Some(pid_at) = pid_at else {
        // No number anywhere: Ruby's split, whatever the parts hold.
        let mut it = id.splitn(3, |b| *b == b':');
        let host = it.next().unwrap_or_default();
        let pid = it.next().unwrap_or_default();
        return (host, pid, it.next().unwrap_or_default());
    };
    let host_len = parts[..pid_at].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
    let pid_start = host_len + 1;
    let pid_end = pid_start + parts[pid_at].len();
    let queues = if pid_end < id.len() { &id[pid_end + 1..] } else { &id[id.len()..] };
    (&id[..host_len], &id[pid_start..pid_end], queues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_as_ruby_splits_them_and_hosts_keep_their_colons() {
        let cases: [(&str, &str, Option<u32>, &str); 12] = [
            // Ruby: host, pid, queues_raw = worker_id.split(':', 3)
            ("web1:4211:critical,*", "web1", Some(4211), "critical,*"),
            ("web1:4211:jobs:2,mail", "web1", Some(4211), "jobs:2,mail"),
            ("web1:4211:5", "web1", Some(4211), "5"),
            ("web1:4211", "web1", Some(4211), ""),
            ("web1:4211:", "web1", Some(4211), ""),
            ("web1:x:mail", "web1", None, "mail"),
            ("web1", "web1", None, ""),
            ("", "", None, ""),
            // A host with `:` in it: the pid ends the first run of numbers.
            ("fe80::1:4211:mail", "fe80::1", Some(4211), "mail"),
            ("::1:77:a,b", "::1", Some(77), "a,b"),
            ("box:a:9:q", "box:a", Some(9), "q"),
            ("fe80::1:4211", "fe80::1", Some(4211), ""),
        ];
        for (id, host, pid, queues) in cases {
            let w = WorkerId::parse(id);
            assert_eq!((w.host(), w.pid(), w.queue_list()), (host, pid, queues), "{id:?}");
            assert_eq!(w.as_str(), id);
        }
    }

    #[test]
    fn built_ids_parse_back() {
        for (host, pid, queues) in [("web1", 1, "a,b"), ("fe80::1", 4211, "jobs:high,*"), ("h", 2, "")] {
            let built = WorkerId::new(host, pid, queues);
            let parsed = WorkerId::parse(built.as_str());
            assert_eq!(parsed, built, "{built}");
            assert_eq!((parsed.host(), parsed.pid(), parsed.queue_list()), (host, Some(pid), queues));
        }
        assert_eq!(WorkerId::new("h", 2, "").queues().count(), 0);
        assert_eq!(WorkerId::new("h", 2, "a,,b").queues().collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn bytes_split_by_the_same_rule() {
        assert_eq!(WorkerId::split_bytes(b"fe80::1:9:\xff,a"), (&b"fe80::1"[..], &b"9"[..], &b"\xff,a"[..]));
        assert_eq!(WorkerId::split_bytes(b"h:\xff:q"), (&b"h"[..], &b"\xff"[..], &b"q"[..]));
    }
}
