//! `--pidfile`: the pid of the process that works (or supervises), for
//! monit, init scripts and `kill -QUIT $(cat ...)`.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::CliError;

/// Refuses a pidfile that names a running process; a stale one (its process
/// is gone, or it holds no pid) is logged and left to be overwritten.
pub(crate) fn check(path: &Path) -> Result<(), CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(CliError::Pidfile { path: path.to_path_buf(), action: "read", source }),
    };
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 && pid as u32 != std::process::id() => {
            if is_running(pid) {
                return Err(CliError::PidfileInUse { path: path.to_path_buf(), pid });
            }
            tracing::warn!(pidfile = %path.display(), pid, "stale pidfile: pid {pid} is not running; overwriting it");
        }
        Ok(_) => {}
        Err(_) => {
            tracing::warn!(pidfile = %path.display(), "pidfile holds no pid; overwriting it");
        }
    }
    Ok(())
}

/// Whether `pid` is a live process (a zombie, dead but not yet reaped, is not).
fn is_running(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => !is_zombie(pid),
        Err(_) => false,
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rfind(')').map(|i| stat[i + 1..].trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// A pidfile this process wrote; removed on drop if it still holds our pid.
#[derive(Debug)]
pub(crate) struct Pidfile {
    path: PathBuf,
    pid: u32,
}

impl Pidfile {
    /// Writes this process's pid to `path` (through a temporary file and a
    /// rename, so that a reader never sees it half written).
    pub(crate) fn create(path: &Path) -> Result<Self, CliError> {
        let pid = std::process::id();
        let error = |source| CliError::Pidfile { path: path.to_path_buf(), action: "write", source };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{pid}.tmp"));
        let tmp = PathBuf::from(tmp);
        if let Err(e) = std::fs::write(&tmp, format!("{pid}\n")).and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(error(e));
        }
        tracing::debug!(pidfile = %path.display(), pid, "wrote pidfile");
        Ok(Pidfile { path: path.to_path_buf(), pid })
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path).is_ok_and(|t| t.trim() == self.pid.to_string());
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(pidfile = %self.path.display(), "could not remove the pidfile: {e}");
            }
        }
    }
}
