//! Job payloads: the `class` and `args` a queue holds, read and encoded as
//! Ruby Resque writes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::numbers;
#[cfg(doc)]
use super::ruby_float;

/// The `class` and `args` of a job payload, as read from a queue.
///
/// Other members of the payload (node-resque's `queue`, plugin ids) are not
/// kept here: code that moves a payload moves its original bytes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobPayload {
    /// The job's class name, as the enqueuer spelled it.
    pub class: String,
    /// Positional arguments.
    pub args: Vec<Value>,
}

impl JobPayload {
    /// Parses a payload, with an error that says what is wrong with it.
    ///
    /// ```
    /// let p = resque::payload::JobPayload::parse(r#"{"class":"Archive","args":[44]}"#).unwrap();
    /// assert_eq!(p.class, "Archive");
    /// assert!(resque::payload::JobPayload::parse("{nope").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw)
    }
}

/// Why job arguments could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Serialization failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The arguments serialized to something other than a JSON array.
    #[error("args must serialize to a JSON array, not {0}")]
    NotAnArray(String),
    /// A NaN or infinite float, which JSON cannot carry.
    #[error("{}", numbers::not_finite_message(*.position, *.value))]
    NotFinite {
        /// The argument's position, from 1 (0 when the args are no sequence).
        position: usize,
        /// The float.
        value: f64,
    },
}

/// Encodes a payload as compact JSON, `class` first, as Ruby Resque does,
/// floats spelled as Ruby spells them ([`ruby_float`]), so that Ruby's
/// `Resque::Job.destroy` and resque-scheduler's `remove_delayed`, which match
/// payloads by their bytes, find it.
///
/// ```
/// let json = resque::payload::encode_job("Archive", &(44, "masterbrew")).unwrap();
/// assert_eq!(json, r#"{"class":"Archive","args":[44,"masterbrew"]}"#);
/// let json = resque::payload::encode_job("Fl", &(1e20, 1e-5, 100.0, 2.5)).unwrap();
/// assert_eq!(json, r#"{"class":"Fl","args":[1.0e+20,1.0e-05,100.0,2.5]}"#);
/// assert!(resque::payload::encode_job("Archive", &44).is_err());
/// assert!(resque::payload::encode_job("Fl", &(f64::NAN,)).is_err());
/// ```
pub fn encode_job<A: Serialize + ?Sized>(class: &str, args: &A) -> Result<String, EncodeError> {
    let args = encode_args(args)?;
    let class = serde_json::to_string(class)?;
    let mut json = String::with_capacity(20 + class.len() + args.len());
    json.push_str("{\"class\":");
    json.push_str(&class);
    json.push_str(",\"args\":");
    json.push_str(&args);
    json.push('}');
    Ok(json)
}

/// Encodes a job's arguments alone, as the `args` array of its payload
/// ([`encode_job`]'s rules).
///
/// ```
/// assert_eq!(resque::payload::encode_args(&(44, "masterbrew", 2.0)).unwrap(), r#"[44,"masterbrew",2.0]"#);
/// assert!(resque::payload::encode_args(&44).is_err());
/// ```
pub fn encode_args<A: Serialize + ?Sized>(args: &A) -> Result<String, EncodeError> {
    let args = numbers::to_ruby_json(args)?;
    if !args.starts_with('[') {
        return Err(EncodeError::NotAnArray(args));
    }
    Ok(args)
}
