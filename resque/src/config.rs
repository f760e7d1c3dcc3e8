//! `resque.yml`: Redis addresses by environment, in Ruby Resque's shape.
//!
//! ```yaml
//! development: localhost:6379
//! test: localhost:6379:1
//! production: redis://redis.internal:6379/0
//! ```
//!
//! The environment comes from `RESQUE_ENV`, else `RAILS_ENV`, else
//! `RACK_ENV`, else `development`. A value may also be a map with `url`, or
//! `host`, `port`, `db`, `password` and `namespace`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The environment name used to pick a `resque.yml` entry.
pub fn environment() -> String {
    ["RESQUE_ENV", "RAILS_ENV", "RACK_ENV"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "development".to_string())
}

/// A parsed `resque.yml`.
///
/// ```
/// let yaml = "development: localhost:6379\nproduction:\n  host: redis1\n  port: 6380\n  db: 2\n";
/// let config = resque::config::Config::parse(yaml, "resque.yml").unwrap();
/// assert_eq!(config.address_for("development").unwrap(), "localhost:6379");
/// assert_eq!(config.address_for("production").unwrap(), "redis://redis1:6380/2");
/// assert!(config.address_for("staging").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    envs: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Entry {
    Address(String),
    Parts {
        url: Option<String>,
        host: Option<String>,
        port: Option<u16>,
        db: Option<u32>,
        password: Option<String>,
        namespace: Option<String>,
    },
}

impl Config {
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses YAML text; `path` is used in error messages.
    pub fn parse(text: &str, path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let envs: BTreeMap<String, Entry> = serde_yaml_ng::from_str(text).map_err(|e| Error::Config {
            path: path.clone(),
            reason: format!("expected a map of environment name to Redis address: {e}"),
        })?;
        Ok(Config { path, envs })
    }

    fn entry(&self, env: &str) -> Result<&Entry> {
        self.envs.get(env).ok_or_else(|| Error::Config {
            path: self.path.clone(),
            reason: format!(
                "no entry for environment {env:?} (it has: {})",
                self.envs.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// The Redis address for an environment, in a form
    /// [`crate::RedisAddress`] parses.
    pub fn address_for(&self, env: &str) -> Result<String> {
        Ok(match self.entry(env)? {
            Entry::Address(s) => s.clone(),
            Entry::Parts { url: Some(url), .. } => url.clone(),
            Entry::Parts { url: None, host, port, db, password, .. } => {
                let auth = password.as_ref().map(|p| format!(":{p}@")).unwrap_or_default();
                format!(
                    "redis://{auth}{}:{}/{}",
                    host.as_deref().unwrap_or("127.0.0.1"),
                    port.unwrap_or(6379),
                    db.unwrap_or(0)
                )
            }
        })
    }

    /// The namespace an environment's entry names, if it names one (the
    /// client then uses it over the address's own).
    pub fn namespace_for(&self, env: &str) -> Result<Option<&str>> {
        Ok(match self.entry(env)? {
            Entry::Parts { namespace: Some(ns), .. } => Some(ns.as_str()),
            _ => None,
        })
    }
}
