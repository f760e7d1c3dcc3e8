//! The scheduler: delayed and recurring jobs on resque-scheduler's keys.
mod lock;
mod promote;
mod timing;
pub use timing::{parse_interval, CronTiming, Timing};
