//! Lua scripts and their KEYS/ARGV layout, stated once: each script's body
//! is a `.lua` file next to the Rust that calls it, and its [`Lua`] names
//! every fixed key and argument in order. The body reads them by those
//! names (`KEYS[K.inflight]`, `ARGV[A.entry]`) from a prelude made from the
//! same list, and a [`Call`] fills them by name, so the two sides cannot
//! disagree about an offset. Keys and arguments after the fixed ones (lists
//! of any length) follow at `NK + 1` and `NA + 1`.

use std::borrow::Cow;
use std::sync::OnceLock;

use redis::{Cmd, Connection, FromRedisValue, RedisResult, Script, ToRedisArgs};

/// A script: its name, its fixed keys and arguments, and its body.
pub(crate) struct Lua {
    name: &'static str,
    keys: &'static [&'static str],
    args: &'static [&'static str],
    body: &'static str,
    script: OnceLock<Script>,
}

impl Lua {
    /// A script whose body names the fixed `keys` and `args` as `K.<name>`
    /// and `A.<name>`.
    pub(crate) const fn new(
        name: &'static str,
        keys: &'static [&'static str],
        args: &'static [&'static str],
        body: &'static str,
    ) -> Self {
        Lua { name, keys, args, body, script: OnceLock::new() }
    }

    /// The source Redis runs: the prelude naming the layout, then the body.
    pub(crate) fn source(&self) -> String {
        fn table(name: &str, items: &[&str]) -> String {
            let fields: Vec<String> =
                items.iter().enumerate().map(|(i, n)| format!("{n} = {}", i + 1)).collect();
            format!(
                "local {name} = setmetatable({{{}}}, {{__index = function(_, n) error('no {name}.' .. tostring(n)) end}})\n",
                fields.join(", ")
            )
        }
        format!(
            "{}local NK = {}\n{}local NA = {}\n{}",
            table("K", self.keys),
            self.keys.len(),
            table("A", self.args),
            self.args.len(),
            self.body
        )
    }

    /// The script, its SHA-1 computed once per process rather than per call.
    fn script(&self) -> &Script {
        self.script.get_or_init(|| Script::new(&self.source()))
    }

    /// A call of the script, to fill by name.
    pub(crate) fn call<'a>(&'static self) -> Call<'a> {
        Call {
            lua: self,
            keys: vec![None; self.keys.len()],
            args: vec![None; self.args.len()],
            more_keys: Vec::new(),
            more_args: Vec::new(),
        }
    }
}

/// One call of a [`Lua`] script, its keys and arguments given by name.
/// An argument given by [`Call::arg_bytes`] is borrowed, not copied, until
/// the command is built (a payload of many megabytes is copied once).
pub(crate) struct Call<'a> {
    lua: &'static Lua,
    keys: Vec<Option<Vec<Cow<'a, [u8]>>>>,
    args: Vec<Option<Vec<Cow<'a, [u8]>>>>,
    more_keys: Vec<Vec<Cow<'a, [u8]>>>,
    more_args: Vec<Vec<Cow<'a, [u8]>>>,
}

fn owned<'a>(value: impl ToRedisArgs) -> Vec<Cow<'a, [u8]>> {
    value.to_redis_args().into_iter().map(Cow::Owned).collect()
}

fn slot(names: &[&str], name: &str, script: &str, what: &str) -> usize {
    match names.iter().position(|n| *n == name) {
        Some(i) => i,
        // A misspelled name is a bug in this crate, found by the script's tests.
        None => panic!("script {script} has no {what} named {name}"),
    }
}

impl<'a> Call<'a> {
    /// Sets the fixed key `name`.
    pub(crate) fn key(&mut self, name: &str, value: impl ToRedisArgs) -> &mut Self {
        let i = slot(self.lua.keys, name, self.lua.name, "key");
        self.keys[i] = Some(owned(value));
        self
    }

    /// Sets the fixed argument `name`.
    pub(crate) fn arg(&mut self, name: &str, value: impl ToRedisArgs) -> &mut Self {
        let i = slot(self.lua.args, name, self.lua.name, "argument");
        self.args[i] = Some(owned(value));
        self
    }

    /// Sets the fixed argument `name` to `bytes`, borrowed until the
    /// command is built.
    pub(crate) fn arg_bytes(&mut self, name: &str, bytes: &'a [u8]) -> &mut Self {
        let i = slot(self.lua.args, name, self.lua.name, "argument");
        self.args[i] = Some(vec![Cow::Borrowed(bytes)]);
        self
    }

    /// Adds keys after the fixed ones (from `KEYS[NK + 1]` on).
    pub(crate) fn more_keys<T: ToRedisArgs>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.more_keys.extend(values.into_iter().map(owned));
        self
    }

    /// Adds arguments after the fixed ones (from `ARGV[NA + 1]` on).
    pub(crate) fn more_args<T: ToRedisArgs>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.more_args.extend(values.into_iter().map(owned));
        self
    }

    /// The `EVALSHA` command, to send as it is or in a pipeline.
    pub(crate) fn command(&self) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.lua.script().get_hash()).arg(self.keys.len() + self.more_keys.len());
        let fixed = |values: &[Option<Vec<Cow<'a, [u8]>>>], names: &[&str], what: &str| {
            for (value, name) in values.iter().zip(names) {
                if value.is_none() {
                    panic!("script {}: {what} {name} not given", self.lua.name);
                }
            }
        };
        fixed(&self.keys, self.lua.keys, "key");
        fixed(&self.args, self.lua.args, "argument");
        let all = self
            .keys
            .iter()
            .flatten()
            .chain(&self.more_keys)
            .chain(self.args.iter().flatten())
            .chain(&self.more_args);
        for parts in all {
            for part in parts {
                cmd.arg(part.as_ref());
            }
        }
        cmd
    }

    /// Runs the call, loading the script first when Redis does not have it.
    pub(crate) fn invoke<T: FromRedisValue>(&self, conn: &mut Connection) -> RedisResult<T> {
        run(self.lua, &self.command(), conn)
    }
}

/// Runs `command` (a [`Call::command`] of `lua`), loading the script first
/// when Redis does not have it (after a restart or `SCRIPT FLUSH`).
pub(crate) fn run<T: FromRedisValue>(lua: &Lua, command: &Cmd, conn: &mut Connection) -> RedisResult<T> {
    match command.query(conn) {
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            lua.script().load(conn)?;
            command.query(conn)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SAMPLE: Lua = Lua::new("sample", &["list", "set"], &["first", "count"], "return 1\n");

    #[test]
    fn the_prelude_names_every_key_and_argument_in_order() {
        let source = SAMPLE.source();
        assert!(source.contains("local K = setmetatable({list = 1, set = 2}"), "{source}");
        assert!(source.contains("local A = setmetatable({first = 1, count = 2}"), "{source}");
        assert!(source.contains("local NK = 2\n") && source.contains("local NA = 2\n"), "{source}");
        assert!(source.ends_with("return 1\n"));
    }

    #[test]
    fn a_call_lays_keys_and_arguments_out_as_declared() {
        let mut call = SAMPLE.call();
        // Given out of order: placed by name.
        call.arg("count", 3).key("set", "s").arg("first", "a").key("list", "l");
        call.more_keys(["q1", "q2"]).more_args(["x"]);
        let packed = String::from_utf8_lossy(&call.command().get_packed_command()).into_owned();
        let words: Vec<&str> =
            packed.split("\r\n").filter(|w| !w.starts_with('$') && !w.starts_with('*')).collect();
        assert_eq!(words[0], "EVALSHA");
        assert_eq!(&words[2..], ["4", "l", "s", "q1", "q2", "a", "3", "x", ""]);
    }

    #[test]
    #[should_panic(expected = "script sample has no key named lsit")]
    fn a_misspelled_name_is_caught() {
        SAMPLE.call().key("lsit", "l");
    }

    #[test]
    #[should_panic(expected = "script sample: argument count not given")]
    fn a_missing_argument_is_caught() {
        let mut call = SAMPLE.call();
        call.key("list", "l").key("set", "s").arg("first", "a");
        call.command();
    }
}
