//! Line formats of plain-text logs. Each is a regex with named groups; the one that matches most of a
//! file's first lines is used for the whole file. Group names: `ts` (a timestamp the format's
//! `timestamp` function turns into ISO 8601), `level`, `component`, `host`, `pid`, `message`.
//!
//! Field boundaries follow the loghub conventions (Zhu et al., ISSRE 2023) so parsed entries can be
//! checked against its ground truth; where those put a host in the component position (syslog) the
//! host is reported as `host`.

use regex::{Captures, Regex};

pub(crate) struct LineFormat {
    pub name: &'static str,
    pub regex: Regex,
    /// Turns the captures into an ISO 8601 timestamp, when the format has a full date.
    pub timestamp: fn(&Captures) -> Option<String>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| i as u32 + 1)
}

fn g<'a>(c: &'a Captures, name: &str) -> &'a str {
    c.name(name).map(|m| m.as_str()).unwrap_or_default()
}

pub(crate) fn formats() -> Vec<LineFormat> {
    let re = |s: &str| Regex::new(s).expect("built-in log format regex is valid");
    vec![
        // HDFS: 081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 ...
        LineFormat {
            name: "hdfs",
            regex: re(
                r"^(?P<date>\d{6}) (?P<time>\d{6}) (?P<pid>\d+) (?P<level>[A-Z]+) (?P<component>.*?): (?P<message>.*)$",
            ),
            timestamp: |c| {
                let (d, t) = (g(c, "date"), g(c, "time"));
                Some(format!(
                    "20{}-{}-{}T{}:{}:{}",
                    &d[0..2],
                    &d[2..4],
                    &d[4..6],
                    &t[0..2],
                    &t[2..4],
                    &t[4..6]
                ))
            },
        },
        // Zookeeper: 2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - msg
        LineFormat {
            name: "zookeeper",
            regex: re(
                r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}),(?P<ms>\d{3}) - (?P<level>[A-Z]+)\s+\[(?P<pid>.*?):(?P<component>.*?)@(?P<line>\d+)\] - (?P<message>.*)$",
            ),
            timestamp: |c| Some(format!("{}T{}.{}", g(c, "date"), g(c, "time"), g(c, "ms"))),
        },
        // Spark, Hadoop: 17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: msg
        LineFormat {
            name: "spark",
            regex: re(
                r"^(?P<date>\d{2}/\d{2}/\d{2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<level>[A-Z]+) (?P<component>.*?): (?P<message>.*)$",
            ),
            timestamp: |c| {
                let d = g(c, "date");
                Some(format!(
                    "20{}-{}-{}T{}",
                    &d[0..2],
                    &d[3..5],
                    &d[6..8],
                    g(c, "time")
                ))
            },
        },
        // Apache error log: [Sun Dec 04 04:47:44 2005] [notice] msg
        LineFormat {
            name: "apache-error",
            regex: re(
                r"^\[(?P<wday>\w{3}) (?P<mon>\w{3}) (?P<day>\d{2}) (?P<time>\d{2}:\d{2}:\d{2}(?:\.\d+)?) (?P<year>\d{4})\] \[(?P<level>[^\]]+)\] (?P<message>.*)$",
            ),
            timestamp: |c| {
                Some(format!(
                    "{}-{:02}-{}T{}",
                    g(c, "year"),
                    month(g(c, "mon"))?,
                    g(c, "day"),
                    g(c, "time")
                ))
            },
        },
        // Android logcat: 03-17 16:13:38.811  1702  2395 D WindowManager: msg
        LineFormat {
            name: "android",
            regex: re(
                r"^(?P<date>\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}\.\d{3})\s+(?P<pid>\d+)\s+(?P<tid>\d+) (?P<level>[VDIWEFA]) (?P<component>.*?):\s+(?P<message>.*)$",
            ),
            timestamp: |_| None,
        },
        // HealthApp: 20171223-22:15:29:606|Step_LSC|30002312|msg
        LineFormat {
            name: "pipe",
            regex: re(
                r"^(?P<d>\d{8})-(?P<time>\d{1,2}:\d{1,2}:\d{1,2}):(?P<ms>\d{1,3})\|(?P<component>[^|]*)\|(?P<pid>[^|]*)\|(?P<message>.*)$",
            ),
            timestamp: |c| {
                let d = g(c, "d");
                let t: Vec<u32> = g(c, "time")
                    .split(':')
                    .filter_map(|x| x.parse().ok())
                    .collect();
                let ms: u32 = g(c, "ms").parse().ok()?;
                Some(format!(
                    "{}-{}-{}T{:02}:{:02}:{:02}.{ms:03}",
                    &d[0..4],
                    &d[4..6],
                    &d[6..8],
                    t.first()?,
                    t.get(1)?,
                    t.get(2)?
                ))
            },
        },
        // syslog (OpenSSH, Linux): Dec 10 06:55:46 LabSZ sshd[24200]: msg
        LineFormat {
            name: "syslog",
            regex: re(
                r"^(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2}) (?P<host>\S+) (?P<component>[^\[:]+?)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)$",
            ),
            // syslog carries no year: the timestamp is left to the raw line.
            timestamp: |_| None,
        },
        // ISO timestamp, level, optional [thread] and component: 2024-03-01T12:00:03Z ERROR [main] app.Db: msg
        LineFormat {
            name: "iso",
            regex: re(
                r"^(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+\[?(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL|CRIT)\]?\s+(?:\[(?P<pid>[^\]]*)\]\s+)?(?:(?P<component>[\w.$/-]+?):\s+)?(?P<message>.*)$",
            ),
            timestamp: |c| Some(g(c, "ts").replacen(' ', "T", 1).replace(',', ".")),
        },
    ]
}

/// Canonical level names, so `--level ERROR` finds Android's `E` and syslog's `err`.
pub(crate) fn canonical_level(raw: &str) -> String {
    let up = raw.trim().to_ascii_uppercase();
    match up.as_str() {
        "V" | "VERBOSE" | "TRACE" | "FINEST" | "FINER" => "TRACE",
        "D" | "DEBUG" | "FINE" => "DEBUG",
        "I" | "INFO" | "INFORMATION" => "INFO",
        "NOTICE" => "NOTICE",
        "W" | "WARN" | "WARNING" => "WARN",
        "E" | "ERR" | "ERROR" | "SEVERE" => "ERROR",
        "F" | "A" | "FATAL" | "CRIT" | "CRITICAL" | "ALERT" | "EMERG" | "PANIC" | "ASSERT" => {
            "FATAL"
        }
        _ => return up,
    }
    .to_string()
}
