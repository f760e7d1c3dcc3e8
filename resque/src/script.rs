//! Lua scripts: each one's SHA-1 computed once per process, not per call.

use std::sync::OnceLock;

use redis::Script;

/// The script in `cell`, made from `source` on first use.
pub(crate) fn cached(cell: &'static OnceLock<Script>, source: &str) -> &'static Script {
    cell.get_or_init(|| Script::new(source))
}
