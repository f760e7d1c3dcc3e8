//! Queue lists as workers take them: order is priority, `*` is every queue
//! (alphabetically), globs such as `file_*` match known queues, and
//! `!pattern` excludes queues from the rest of the list.

use crate::error::{Error, Result};

/// A worker's queue list.
///
/// ```
/// use resque::queues::QueueList;
/// let list = QueueList::parse("critical,file_*,*,!slow").unwrap();
/// let known = ["slow", "file_b", "mail", "critical", "file_a"].map(String::from);
/// assert_eq!(list.resolve(&known), ["critical", "file_a", "file_b", "mail"]);
/// assert_eq!(list.to_string(), "critical,file_*,*,!slow");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueList {
    items: Vec<String>,
}

impl QueueList {
    /// Parses a comma-separated list. An empty name (`a,,b`, `a,`) is an
    /// error, not a queue.
    ///
    /// ```
    /// use resque::queues::QueueList;
    /// let err = QueueList::parse("mail,,file").unwrap_err();
    /// assert!(err.to_string().contains("empty queue name"), "{err}");
    /// ```
    pub fn parse(input: &str) -> Result<Self> {
        Self::from_items(input.split(',').map(str::to_string))
    }

    /// A list from separate items (each may itself hold commas).
    pub fn from_items(items: impl IntoIterator<Item = String>) -> Result<Self> {
        let given: Vec<String> = items.into_iter().collect();
        let items: Vec<String> =
            given.iter().flat_map(|i| i.split(',')).map(|s| s.trim().to_string()).collect();
        let input = given.join(",");
        if items.iter().all(String::is_empty) {
            return Err(Error::InvalidQueues {
                input,
                reason: "no queue given (use '*' for every queue)".into(),
            });
        }
        if let Some(at) = items.iter().position(String::is_empty) {
            return Err(Error::InvalidQueues {
                input,
                reason: format!(
                    "empty queue name at position {} (two commas in a row, or a comma at either end)",
                    at + 1
                ),
            });
        }
        if items.iter().all(|i| i.starts_with('!')) {
            return Err(Error::InvalidQueues {
                input,
                reason: "only exclusions: name at least one queue or '*'".into(),
            });
        }
        if let Some(bad) = items.iter().find(|i| *i == "!") {
            return Err(Error::InvalidQueues {
                input: input.clone(),
                reason: format!("{bad:?} excludes nothing"),
            });
        }
        Ok(QueueList { items })
    }

    /// The names and patterns the list takes from, as given: all but its
    /// exclusions.
    pub(crate) fn included(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str).filter(|i| !i.starts_with('!'))
    }

    /// Whether resolving needs the set of known queues (globs or exclusions).
    pub fn is_dynamic(&self) -> bool {
        self.items.iter().any(|i| i.starts_with('!') || is_glob(i))
    }

    /// The queues to poll, in priority order, given every known queue.
    pub fn resolve(&self, known: &[String]) -> Vec<String> {
        let mut sorted: Vec<&String> = known.iter().collect();
        sorted.sort();
        let mut out: Vec<String> = Vec::new();
        for item in self.items.iter().filter(|i| !i.starts_with('!')) {
            if is_glob(item) {
                for q in sorted.iter().filter(|q| glob_match(item, q)) {
                    if !out.contains(q) {
                        out.push((*q).clone());
                    }
                }
            } else if !out.contains(item) {
                out.push(item.clone());
            }
        }
        let exclusions: Vec<&str> = self.items.iter().filter_map(|i| i.strip_prefix('!')).collect();
        out.retain(|q| !exclusions.iter().any(|ex| glob_match(ex, q)));
        out
    }
}

impl QueueList {
    /// [`resolve`](Self::resolve) for known queues whose names are any
    /// bytes, as read from `queues`: globs and exclusions match each name
    /// as text (each byte that is not UTF-8 as `\xNN`, see
    /// [`escape_bytes`](crate::payload::escape_bytes)), and the exact names
    /// come back.
    ///
    /// ```
    /// use resque::queues::QueueList;
    /// let known = [b"mail".to_vec(), b"bad\xff".to_vec()];
    /// assert_eq!(QueueList::parse("*").unwrap().resolve_bytes(&known), [b"bad\xff".to_vec(), b"mail".to_vec()]);
    /// assert_eq!(QueueList::parse(r"bad\x*").unwrap().resolve_bytes(&known), [b"bad\xff".to_vec()]);
    /// assert_eq!(QueueList::parse("*,!bad*").unwrap().resolve_bytes(&known), [b"mail".to_vec()]);
    /// ```
    pub fn resolve_bytes(&self, known: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let texts: Vec<String> =
            known.iter().map(|name| crate::payload::escape_bytes(name).into_owned()).collect();
        // Every known name shown as each text (a UTF-8 name is its own
        // text), sorted: one pass, not one per resolved queue.
        let mut by_text: std::collections::HashMap<&str, Vec<&Vec<u8>>> = std::collections::HashMap::new();
        for (name, text) in known.iter().zip(&texts) {
            by_text.entry(text.as_str()).or_default().push(name);
        }
        let mut out: Vec<Vec<u8>> = Vec::new();
        for text in self.resolve(&texts) {
            match by_text.get_mut(text.as_str()) {
                // A name listed but not known, as given.
                None => out.push(text.into_bytes()),
                Some(exact) => {
                    exact.sort();
                    exact.dedup();
                    // `resolve` gives each text once, so each name comes once.
                    out.extend(exact.iter().map(|name| (*name).clone()));
                }
            }
        }
        out
    }
}

impl std::fmt::Display for QueueList {
    /// The list as given, comma-joined: the last part of a worker id.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.items.join(","))
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell-style matching as Ruby's `File.fnmatch?`: `*`, `?`, `[abc]`, `[a-z]`, `[!a]`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_from(&p, &t)
}

fn match_from(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|skip| match_from(&p[1..], &t[skip..])),
        Some('?') => !t.is_empty() && match_from(&p[1..], &t[1..]),
        Some('[') => match (t.first(), class_end(p)) {
            (Some(&c), Some(end)) => class_matches(&p[1..end], c) && match_from(&p[end + 1..], &t[1..]),
            (Some(&c), None) => c == '[' && match_from(&p[1..], &t[1..]),
            (None, _) => false,
        },
        Some(&c) => t.first() == Some(&c) && match_from(&p[1..], &t[1..]),
    }
}

fn class_end(p: &[char]) -> Option<usize> {
    let start = if matches!(p.get(1), Some('!' | '^')) { 2 } else { 1 };
    // A ']' right after the opening bracket is a literal.
    (start + 1..p.len()).find(|&i| p[i] == ']')
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negated, class) = match class.first() {
        Some('!' | '^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == '-' {
            hit |= class[i] <= c && c <= class[i + 2];
            i += 3;
        } else {
            hit |= class[i] == c;
            i += 1;
        }
    }
    hit != negated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn static_lists_keep_their_order_and_need_no_lookup() {
        let l = QueueList::parse("high, low ,high").unwrap();
        assert!(!l.is_dynamic());
        assert_eq!(l.resolve(&[]), ["high", "low"]);
    }

    #[test]
    fn star_is_every_queue_alphabetically() {
        let l = QueueList::parse("*").unwrap();
        assert_eq!(l.resolve(&known(&["b", "c", "a"])), ["a", "b", "c"]);
    }

    #[test]
    fn mixed_lists_keep_priority_and_drop_repeats() {
        let l = QueueList::parse("c,*").unwrap();
        assert_eq!(l.resolve(&known(&["b", "c", "a"])), ["c", "a", "b"]);
    }

    #[test]
    fn exclusions_apply_to_the_whole_list() {
        let l = QueueList::parse("!file_*,*").unwrap();
        assert_eq!(l.resolve(&known(&["file_a", "mail", "file_b"])), ["mail"]);
    }

    #[test]
    fn globs() {
        assert!(glob_match("file_*", "file_serve"));
        assert!(!glob_match("file_*", "files"));
        assert!(glob_match("q?", "q1"));
        assert!(glob_match("q[0-9]", "q7"));
        assert!(!glob_match("q[!0-9]", "q7"));
        assert!(glob_match("*_high", "mail_high"));
        assert!(glob_match("a[", "a["));
    }

    #[test]
    fn bad_lists_say_why() {
        assert!(QueueList::parse("").unwrap_err().to_string().contains("no queue"));
        assert!(QueueList::parse(" , ").unwrap_err().to_string().contains("no queue"));
        for bad in ["q,,", "a,,b", ",a", "a, ,b"] {
            let err = QueueList::parse(bad).unwrap_err().to_string();
            assert!(err.contains("empty queue name") && err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        assert!(QueueList::parse("a,,b").unwrap_err().to_string().contains("position 2"));
        assert!(QueueList::parse("!a").unwrap_err().to_string().contains("only exclusions"));
    }
}
