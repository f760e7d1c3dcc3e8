//! Looking inside the Redis behind a [`Client`]: the server's `INFO`, and any
//! key under the namespace with its type, size and contents, as resque-web's
//! Stats tab shows them.
//!
//! ```no_run
//! # fn main() -> resque::Result<()> {
//! let client = resque::Client::new("redis://127.0.0.1:6379")?;
//! for name in client.keys_in_namespace()? {
//!     let key = client.key_summary(&name)?;
//!     println!("{} {} {}", key.name, key.kind, key.size);
//! }
//! // Or every key's summary in two round trips:
//! let all = client.key_summaries(&client.keys_in_namespace()?)?;
//! println!("{} keys", all.len());
//! let page = client.key_contents("queue:file_serve", 0, 20)?;
//! println!("{:?}", page.values);
//! # Ok(()) }
//! ```

use redis::Commands;
use serde::Serialize;

use super::{texts, Client};
use crate::error::Result;
use crate::payload;

/// The Redis type of a key, as `TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyKind {
    /// No such key.
    None,
    /// A string.
    String,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set.
    Zset,
    /// A hash.
    Hash,
    /// A stream.
    Stream,
    /// A type this version does not know.
    Other,
}

impl KeyKind {
    fn from_type(name: &str) -> Self {
        match name {
            "none" => KeyKind::None,
            "string" => KeyKind::String,
            "list" => KeyKind::List,
            "set" => KeyKind::Set,
            "zset" => KeyKind::Zset,
            "hash" => KeyKind::Hash,
            "stream" => KeyKind::Stream,
            _ => KeyKind::Other,
        }
    }

    /// The name `TYPE` answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::None => "none",
            KeyKind::String => "string",
            KeyKind::List => "list",
            KeyKind::Set => "set",
            KeyKind::Zset => "zset",
            KeyKind::Hash => "hash",
            KeyKind::Stream => "stream",
            KeyKind::Other => "other",
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key under the namespace: its name (without the namespace), type and
/// size (elements for a collection, bytes for a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeySummary {
    /// The name without the namespace.
    pub name: String,
    /// Its Redis type.
    pub kind: KeyKind,
    /// Elements for a list, set, sorted set, hash or stream; bytes for a
    /// string; 0 for a key that does not exist.
    pub size: u64,
}

/// A page of one key's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeyContents {
    /// The key, its type and size.
    #[serde(flatten)]
    pub summary: KeySummary,
    /// Where the page starts.
    pub start: usize,
    /// The page: a string's value; list, set or sorted-set members (a
    /// sorted set's as `member: score`); a hash's fields as `field: value`.
    /// A stream's entries are not shown.
    pub values: Vec<String>,
}

impl Client {
    /// Every key under the namespace, without the namespace, sorted.
    pub fn keys_in_namespace(&self) -> Result<Vec<String>> {
        let pattern = self.keys().pattern_all();
        let full: Vec<Vec<u8>> =
            self.with_conn(|c| c.scan_match::<_, Vec<u8>>(&pattern).and_then(|it| it.collect()))?;
        let full = texts(full);
        let mut names: Vec<String> =
            full.iter().filter_map(|k| self.keys().strip(k)).map(str::to_string).collect();
        names.sort();
        Ok(names)
    }

    /// The server's `INFO`, as `(field, value)` pairs in the order Redis
    /// prints them (section headers left out).
    pub fn redis_info(&self) -> Result<Vec<(String, String)>> {
        let text: String = self.with_conn(|c| redis::cmd("INFO").query(c))?;
        Ok(parse_info(&text))
    }

    /// A key under the namespace: its type and size.
    pub fn key_summary(&self, name: &str) -> Result<KeySummary> {
        let mut summaries = self.key_summaries(std::slice::from_ref(&name))?;
        Ok(summaries.pop().unwrap_or(KeySummary { name: name.to_string(), kind: KeyKind::None, size: 0 }))
    }

    /// Keys under the namespace with their types and sizes, in the order
    /// given: one pipeline of `TYPE`s, then one of the size commands.
    pub fn key_summaries<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<KeySummary>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = names.iter().map(|n| self.keys().key(n.as_ref())).collect();
        let mut types = redis::pipe();
        for key in &full {
            types.cmd("TYPE").arg(key);
        }
        let kinds: Vec<String> = self.with_conn(|c| types.query(c))?;
        let kinds: Vec<KeyKind> = kinds.iter().map(|k| KeyKind::from_type(k)).collect();
        let mut sizes = redis::pipe();
        let mut sized = 0usize;
        for (key, kind) in full.iter().zip(&kinds) {
            let command = match kind {
                KeyKind::None | KeyKind::Other => continue,
                KeyKind::String => "STRLEN",
                KeyKind::List => "LLEN",
                KeyKind::Set => "SCARD",
                KeyKind::Zset => "ZCARD",
                KeyKind::Hash => "HLEN",
                KeyKind::Stream => "XLEN",
            };
            sizes.cmd(command).arg(key);
            sized += 1;
        }
        let mut sizes: std::vec::IntoIter<u64> =
            if sized == 0 { Vec::new() } else { self.with_conn(|c| sizes.query::<Vec<u64>>(c))? }.into_iter();
        Ok(names
            .iter()
            .zip(kinds)
            .map(|(name, kind)| {
                let size = match kind {
                    KeyKind::None | KeyKind::Other => 0,
                    _ => sizes.next().unwrap_or(0),
                };
                KeySummary { name: name.as_ref().to_string(), kind, size }
            })
            .collect())
    }

    /// Up to `count` elements of a key under the namespace from position
    /// `start` (a set's members and a hash's fields sorted, so pages are
    /// stable).
    pub fn key_contents(&self, name: &str, start: usize, count: usize) -> Result<KeyContents> {
        let summary = self.key_summary(name)?;
        let full = self.keys().key(name);
        let (first, stop) = crate::client::range_bounds(start, count).unwrap_or((0, -1));
        let text = |raw: Vec<Vec<u8>>| raw.into_iter().map(payload::into_text).collect::<Vec<_>>();
        let page = |mut all: Vec<String>| -> Vec<String> {
            all.sort();
            all.into_iter().skip(start).take(count).collect()
        };
        let values: Vec<String> = match summary.kind {
            KeyKind::None | KeyKind::Other | KeyKind::Stream => Vec::new(),
            _ if count == 0 => Vec::new(),
            KeyKind::String => {
                let v: Option<Vec<u8>> = self.with_conn(|c| c.get(&full))?;
                if start == 0 {
                    v.into_iter().map(payload::into_text).collect()
                } else {
                    Vec::new()
                }
            }
            KeyKind::List => text(self.with_conn(|c| c.lrange(&full, first, stop))?),
            KeyKind::Set => page(text(self.with_conn(|c| c.smembers(&full))?)),
            KeyKind::Zset => {
                let pairs: Vec<(Vec<u8>, String)> =
                    self.with_conn(|c| c.zrange_withscores(&full, first, stop))?;
                pairs.into_iter().map(|(m, s)| format!("{}: {s}", payload::escape_bytes(&m))).collect()
            }
            KeyKind::Hash => {
                let pairs: Vec<(Vec<u8>, Vec<u8>)> = self.with_conn(|c| c.hgetall(&full))?;
                page(
                    pairs
                        .into_iter()
                        .map(|(k, v)| format!("{}: {}", payload::escape_bytes(&k), payload::escape_bytes(&v)))
                        .collect(),
                )
            }
        };
        Ok(KeyContents { summary, start, values })
    }
}

/// `INFO`'s text as pairs: `field:value` lines, comments and blanks skipped.
fn parse_info(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_text_becomes_pairs_without_headers() {
        let text = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Clients\r\nconnected_clients:3\r\ndb0:keys=2,expires=0\r\n";
        assert_eq!(
            parse_info(text),
            vec![
                ("redis_version".to_string(), "7.0.15".to_string()),
                ("redis_mode".to_string(), "standalone".to_string()),
                ("connected_clients".to_string(), "3".to_string()),
                ("db0".to_string(), "keys=2,expires=0".to_string()),
            ]
        );
    }

    #[test]
    fn type_names_round_trip() {
        for name in ["none", "string", "list", "set", "zset", "hash", "stream"] {
            assert_eq!(KeyKind::from_type(name).as_str(), name);
        }
        assert_eq!(KeyKind::from_type("vectorset"), KeyKind::Other);
    }
}
