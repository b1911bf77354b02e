//! CPU time and proportional memory (PSS) of a process or a whole process tree, from /proc.

use std::collections::BTreeMap;
use std::fs;

/// Clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// A `/proc/…/stat` line's command name and the fields after it (from field 3, the state).
/// The name is in parentheses and may contain spaces: split after the last ')'.
fn split_stat(text: &str) -> Option<(&str, Vec<&str>)> {
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let fields = text.get(close + 1..)?.split_whitespace().collect();
    Some((text.get(open + 1..close)?, fields))
}

/// utime+stime in seconds, from a stat line's fields after the name (field 3, the state,
/// first: utime is field 14, stime 15).
fn cpu_of(fields: &[&str]) -> Option<f64> {
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// (ppid, utime+stime in seconds) of `pid`, or `None` if it is gone.
fn stat(pid: u32) -> Option<(u32, f64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = split_stat(&text)?;
    // ppid is field 4.
    let ppid = fields.get(1)?.parse().ok()?;
    Some((ppid, cpu_of(&fields)?))
}

/// CPU seconds (user + system) used so far by `pid`.
pub fn cpu_seconds(pid: u32) -> f64 {
    stat(pid).map_or(0.0, |(_, s)| s)
}

/// CPU seconds (user + system) used so far by each group of `pid`'s threads alive now,
/// grouped by name with digits taken out (`queue0:src` and `queue2:src` are `queue#:src`),
/// with how many threads each group has.
pub fn thread_seconds(pid: u32) -> BTreeMap<String, (usize, f64)> {
    let mut groups = BTreeMap::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return groups;
    };
    for task in tasks.flatten() {
        let Ok(text) = fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((name, fields)) = split_stat(&text) else {
            continue;
        };
        let Some(seconds) = cpu_of(&fields) else {
            continue;
        };
        let entry = groups.entry(thread_group(name)).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += seconds;
    }
    groups
}

/// The CPU `pid`'s groups of threads used since `before` (a [`thread_seconds`] of it taken
/// `secs` ago), as % of one core, busiest first: (group, how many threads now, %). Groups
/// that used nothing are left out.
pub fn thread_share(
    pid: u32,
    before: &BTreeMap<String, (usize, f64)>,
    secs: f64,
) -> Vec<(String, usize, f64)> {
    let mut shares: Vec<(String, usize, f64)> = thread_seconds(pid)
        .into_iter()
        .map(|(name, (count, s))| {
            let s0 = before.get(&name).map_or(0.0, |(_, s0)| *s0);
            (name, count, (s - s0).max(0.0) / secs * 100.0)
        })
        .filter(|(_, _, percent)| *percent > 0.0)
        .collect();
    shares.sort_by(|a, b| b.2.total_cmp(&a.2));
    shares
}

/// The busiest `n` of a [`thread_share`], as `name (threads) %, …`.
pub fn busiest(shares: &[(String, usize, f64)], n: usize) -> String {
    shares
        .iter()
        .take(n)
        .map(|(name, count, percent)| format!("{name} ({count}) {percent:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A thread's name with every run of digits made `#`.
fn thread_group(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('#') {
            out.push('#');
        }
    }
    out
}

/// PSS of `pid` in kB (0 if unreadable).
pub fn pss_kb(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// `pid` and all its descendants alive now.
pub fn tree(pid: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|p| stat(p).map(|(ppid, _)| (p, ppid)))
                .collect()
        })
        .unwrap_or_default();
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    out
}

/// The threads of `pids` that run above the ordinary priority: a negative nice value or a
/// real-time scheduling policy, as `"<name> (nice N, policy P)"`.
pub fn raised_threads(pids: &[u32]) -> Vec<String> {
    let mut raised = Vec::new();
    for pid in pids {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(text) = fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            let Some((name, fields)) = split_stat(&text) else {
                continue;
            };
            // Field 3 (state) first: nice is field 19, the scheduling policy field 41
            // (0 normal, 3 batch, 5 idle; 1, 2 and 6 real-time or deadline).
            let nice: i64 = fields.get(16).and_then(|v| v.parse().ok()).unwrap_or(0);
            let policy: u32 = fields.get(38).and_then(|v| v.parse().ok()).unwrap_or(0);
            if nice < 0 || matches!(policy, 1 | 2 | 6) {
                raised.push(format!("{name} (nice {nice}, policy {policy})"));
            }
        }
    }
    raised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_grouped_by_name_without_digits() {
        assert_eq!(thread_group("queue12:src"), "queue#:src");
        assert_eq!(thread_group("tokio-rt-worker"), "tokio-rt-worker");
        assert_eq!(thread_group("a1b22"), "a#b#");
    }

    #[test]
    fn this_process_s_threads_are_counted() {
        use std::sync::mpsc;
        let (spun, wait) = mpsc::channel();
        let (stop, stopped) = mpsc::channel::<()>();
        let spin = std::thread::Builder::new()
            .name("spin7".into())
            .spawn(move || {
                // 200 ms of CPU (20 ticks), then wait to be counted.
                let t = std::time::Instant::now();
                let mut x = 0u64;
                while t.elapsed() < std::time::Duration::from_millis(200) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                spun.send(()).unwrap();
                let _ = stopped.recv();
            })
            .unwrap();
        wait.recv().unwrap();
        let groups = thread_seconds(std::process::id());
        stop.send(()).unwrap();
        spin.join().unwrap();
        let (threads, seconds) = groups["spin#"];
        assert_eq!(threads, 1);
        assert!(seconds > 0.0, "{groups:?}");
    }
}
