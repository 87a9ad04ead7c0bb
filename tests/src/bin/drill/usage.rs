//! CPU time and peak memory of the processes a drill measures.

use std::process::Child;

/// CPU seconds and peak resident memory.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub cpu_s: f64,
    pub peak_kb: u64,
}

impl Usage {
    /// Several processes (or several lives of one): CPU adds up, the peak is the highest.
    pub fn and(self, other: Usage) -> Usage {
        Usage {
            cpu_s: self.cpu_s + other.cpu_s,
            peak_kb: self.peak_kb.max(other.peak_kb),
        }
    }
}

/// Waits for a child with `wait4`: its exit code (None if a signal ended it) and its usage.
pub fn wait_usage(child: &Child) -> std::io::Result<(Option<i32>, Usage)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child's pid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: `status` and `ru` are valid for writes; `pid` is a child of this process not yet
    // reaped.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if r != pid {
        return Err(std::io::Error::last_os_error());
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok((
        code,
        Usage {
            cpu_s: secs(ru.ru_utime) + secs(ru.ru_stime),
            peak_kb: ru.ru_maxrss as u64,
        },
    ))
}

/// The usage so far of a running process, from /proc (zeros if it is gone).
pub fn proc_usage(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Usage {
        cpu_s: (ticks(11) + ticks(12)) / hz,
        peak_kb,
    }
}
