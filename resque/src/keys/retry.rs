//! The keys of automatic retries: resque-retry's layout, shared with Ruby's
//! plugin (see `docs/PROTOCOL.md`).

use super::Keys;

/// resque-retry's key prefix for a job's attempt counter.
const RETRY: &str = "resque-retry";

/// The prefix of the key that keeps the failure of a run that is retried
/// (resque-retry's `MultipleWithRetrySuppression.failure_key`).
const FAILURE: &str = "failure-";

impl Keys {
    /// `resque-retry:<class>:<identifier>`: a job's attempt counter, without
    /// the identifier part when there is none (resque-retry's
    /// `redis_retry_key`: the parts joined with `:`, then every whitespace
    /// character removed).
    ///
    /// ```
    /// let keys = resque::keys::Keys::new("resque");
    /// assert_eq!(
    ///     keys.retry_counter("Archive", Some("1315dd4143fb7d7abe77328729da673b8bfa3313")),
    ///     "resque:resque-retry:Archive:1315dd4143fb7d7abe77328729da673b8bfa3313"
    /// );
    /// assert_eq!(keys.retry_counter("Clean Up", None), "resque:resque-retry:CleanUp");
    /// ```
    pub fn retry_counter(&self, class: &str, identifier: Option<&str>) -> String {
        self.key(&retry_counter_name(class, identifier))
    }

    /// `failure-resque-retry:<class>:<identifier>`: the failure of the run
    /// that is being retried, kept while its retry waits.
    ///
    /// ```
    /// let keys = resque::keys::Keys::new("resque");
    /// assert_eq!(keys.retry_failure("Archive", None), "resque:failure-resque-retry:Archive");
    /// ```
    pub fn retry_failure(&self, class: &str, identifier: Option<&str>) -> String {
        self.key(&format!("{FAILURE}{}", retry_counter_name(class, identifier)))
    }

    /// The counter key that a `failure-resque-retry:...` key names, both
    /// with the namespace; `None` for any other key.
    pub fn retry_counter_of_failure(&self, failure_key: &str) -> Option<String> {
        let name = self.strip(failure_key)?.strip_prefix(FAILURE)?;
        name.starts_with(RETRY).then(|| self.key(name))
    }

    /// The pattern matching every `failure-resque-retry:*` key (for `SCAN`).
    pub fn retry_failure_pattern(&self) -> String {
        self.key(&format!("{FAILURE}{RETRY}:*"))
    }
}

/// resque-retry's `redis_retry_key`, without the namespace.
fn retry_counter_name(class: &str, identifier: Option<&str>) -> String {
    let mut name = format!("{RETRY}:{class}");
    if let Some(id) = identifier {
        name.push(':');
        name.push_str(id);
    }
    // Ruby's `gsub(/\s/, '')`: space, \t, \n, \v, \f, \r.
    name.retain(|c| !matches!(c, ' ' | '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r'));
    name
}
