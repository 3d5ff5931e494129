use super::*;

fn entries(text: &str) -> (String, Vec<LogEntry>) {
    let doc = parse(text.as_bytes()).unwrap();
    (
        doc.metadata["log_format"].as_str().unwrap().to_string(),
        doc.log_entries,
    )
}

#[test]
fn hdfs_lines() {
    let (format, e) = entries(
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating\n081109 203807 222 WARN dfs.FSNamesystem: BLOCK* x\n",
    );
    assert_eq!(format, "hdfs");
    assert_eq!(e[0].timestamp.as_deref(), Some("2008-11-09T20:36:15"));
    assert_eq!(
        (
            e[0].level.as_deref(),
            e[0].component.as_deref(),
            e[0].pid.as_deref()
        ),
        (
            Some("INFO"),
            Some("dfs.DataNode$PacketResponder"),
            Some("148")
        )
    );
    assert_eq!(e[0].message, "PacketResponder 1 terminating");
    assert_eq!((e[1].line, e[1].level.as_deref()), (2, Some("WARN")));
}

#[test]
fn stack_traces_stay_with_their_entry() {
    let log = "2024-03-01T12:00:03Z ERROR [main] app.Db: connection lost\njava.io.IOException: reset\n\tat a.b.C.run(C.java:10)\n2024-03-01 12:00:04,5 INFO app.Db: reconnected\n";
    let (format, e) = entries(log);
    assert_eq!(format, "iso");
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].line, e[0].end_line), (1, 3));
    assert!(e[0].message.ends_with("at a.b.C.run(C.java:10)"));
    assert_eq!(e[0].timestamp.as_deref(), Some("2024-03-01T12:00:03Z"));
    assert_eq!(
        (e[0].component.as_deref(), e[0].pid.as_deref()),
        (Some("app.Db"), Some("main"))
    );
    assert_eq!(e[1].timestamp.as_deref(), Some("2024-03-01T12:00:04.5"));
}

#[test]
fn syslog_apache_android_and_pipe_formats() {
    let (f, e) =
        entries("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\n");
    assert_eq!(f, "syslog");
    assert_eq!(
        (
            e[0].host.as_deref(),
            e[0].component.as_deref(),
            e[0].pid.as_deref()
        ),
        (Some("LabSZ"), Some("sshd"), Some("24200"))
    );
    let (f, e) = entries("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\n");
    assert_eq!(f, "apache-error");
    assert_eq!(
        (e[0].timestamp.as_deref(), e[0].level.as_deref()),
        (Some("2005-12-04T04:47:44"), Some("NOTICE"))
    );
    let (f, e) = entries("03-17 16:13:38.811  1702  2395 E WindowManager: boom: really\n");
    assert_eq!(f, "android");
    assert_eq!(
        (
            e[0].level.as_deref(),
            e[0].component.as_deref(),
            e[0].message.as_str()
        ),
        (Some("ERROR"), Some("WindowManager"), "boom: really")
    );
    let (f, e) = entries("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579\n");
    assert_eq!(f, "pipe");
    assert_eq!(e[0].timestamp.as_deref(), Some("2017-12-23T22:15:29.606"));
}

#[test]
fn unknown_formats_still_ingest_line_by_line() {
    let (f, e) = entries("something happened\nan ERROR occurred here\n  indented continuation\n");
    assert_eq!(f, "plain");
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].level.as_deref(), Some("ERROR"));
    assert_eq!(e[1].end_line, 3);
}

#[test]
fn json_lines_are_recognised_by_content() {
    let (f, e) = entries(
        "{\"level\":\"error\",\"msg\":\"boom\",\"time\":\"2024-01-01T00:00:00Z\"}\n\n{\"level\":\"info\",\"msg\":\"ok\"}\n",
    );
    assert_eq!(f, "json-lines");
    assert_eq!(e.len(), 2);
    assert_eq!(
        (e[0].level.as_deref(), e[0].message.as_str(), e[1].line),
        (Some("ERROR"), "boom", 3)
    );
}
