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

fn xml_entries(text: &str) -> Vec<LogEntry> {
    let doc = crate::parse(
        docvec_types::Format::Log,
        text.as_bytes(),
        &Default::default(),
    )
    .expect("parses");
    assert_eq!(doc.metadata["log_format"], "xml");
    doc.log_entries
}

#[test]
fn log4j_xml_layout() {
    let e = xml_entries(
        r#"<log4j:event logger="com.example.Db" timestamp="1311255839587" level="ERROR" thread="main">
<log4j:message><![CDATA[connection refused]]></log4j:message>
<log4j:throwable><![CDATA[java.net.ConnectException: Connection refused
	at java.net.PlainSocketImpl.socketConnect(Native Method)]]></log4j:throwable>
<log4j:properties><log4j:data name="log4jmachinename" value="web1"/></log4j:properties>
</log4j:event>

<log4j:event logger="com.example.App" timestamp="1311255840000" level="INFO" thread="main">
<log4j:message><![CDATA[started]]></log4j:message>
</log4j:event>
"#,
    );
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].timestamp.as_deref(), Some("2011-07-21T13:43:59.587Z"));
    assert_eq!(e[0].level.as_deref(), Some("ERROR"));
    assert_eq!(e[0].component.as_deref(), Some("com.example.Db"));
    assert_eq!(e[0].pid.as_deref(), Some("main"));
    assert_eq!(e[0].host.as_deref(), Some("web1"));
    assert!(
        e[0].message
            .starts_with("connection refused\njava.net.ConnectException")
    );
    assert!(e[0].message.ends_with("(Native Method)"));
    assert_eq!((e[0].line, e[0].end_line), (1, 6));
    assert_eq!((e[1].line, e[1].end_line), (8, 10));
    assert!(e[1].raw.starts_with("<log4j:event") && e[1].raw.ends_with("</log4j:event>"));
}

#[test]
fn java_util_logging_xml() {
    let e = xml_entries(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE log SYSTEM "logger.dtd">
<log>
<record>
  <date>2024-03-01T12:00:03.500Z</date>
  <millis>1709294403500</millis>
  <logger>app.db</logger>
  <level>SEVERE</level>
  <thread>1</thread>
  <message>cannot reach db &amp; cache</message>
  <exception><message>java.io.IOException: down</message><frame><class>app.Db</class></frame></exception>
</record>
</log>
"#,
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].timestamp.as_deref(), Some("2024-03-01T12:00:03.500Z"));
    assert_eq!(e[0].level.as_deref(), Some("ERROR"));
    assert_eq!(e[0].component.as_deref(), Some("app.db"));
    assert_eq!(
        e[0].message,
        "cannot reach db & cache\njava.io.IOException: down\napp.Db"
    );
    assert_eq!((e[0].line, e[0].end_line), (4, 12));
}

#[test]
fn windows_events_and_log4j2_xml() {
    let e = xml_entries(
        r#"<Events>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Service Control Manager"/><EventID Qualifiers="16384">7036</EventID><Level>2</Level><TimeCreated SystemTime="2024-03-01T12:00:03.1234567Z"/><Execution ProcessID="640" ThreadID="3424"/><Computer>DESKTOP-1</Computer></System><EventData><Data Name="param1">Windows Update</Data><Data Name="param2">stopped</Data></EventData></Event>
</Events>"#,
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].level.as_deref(), Some("ERROR"));
    assert_eq!(
        e[0].timestamp.as_deref(),
        Some("2024-03-01T12:00:03.1234567Z")
    );
    assert_eq!(e[0].component.as_deref(), Some("Service Control Manager"));
    assert_eq!(e[0].host.as_deref(), Some("DESKTOP-1"));
    assert_eq!(e[0].pid.as_deref(), Some("640"));
    assert_eq!(e[0].message, "Windows Update; stopped");

    let e = xml_entries(
        r#"<Events xmlns="http://logging.apache.org/log4j/2.0/events">
<Event thread="main" level="WARN" loggerName="org.example.Cache" threadId="1">
  <Instant epochSecond="1709294403" nanoOfSecond="250000000"/>
  <Message>cache miss ratio high</Message>
</Event>
<Event thread="main" level="DEBUG" loggerName="org.example.Cache" threadId="1"><Instant epochSecond="1709294404" nanoOfSecond="0"/><Message>hit</Message></Event>
</Events>"#,
    );
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].timestamp.as_deref(), Some("2024-03-01T12:00:03.250Z"));
    assert_eq!(
        (e[0].level.as_deref(), e[0].component.as_deref()),
        (Some("WARN"), Some("org.example.Cache"))
    );
    assert_eq!(e[0].message, "cache miss ratio high");
    assert_eq!((e[1].line, e[1].level.as_deref()), (6, Some("DEBUG")));
}

#[test]
fn xml_logs_cut_off_or_hostile() {
    // A log cut off mid-record keeps its complete records, with a warning.
    let text = "<log><record><level>INFO</level><message>one</message></record>\n<record><level>WARN</level><mess";
    let doc = crate::parse(
        docvec_types::Format::Log,
        text.as_bytes(),
        &Default::default(),
    )
    .expect("parses");
    assert_eq!(doc.log_entries.len(), 1);
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
    // Entities are not expanded: a billion-laughs document stays as small as it is.
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<log><record><level>INFO</level><message>&lol2;</message></record></log>"#;
    let e = xml_entries(bomb);
    assert_eq!(e[0].message, "&lol2;");
    // Broken from the first record on: a clear error.
    let err = crate::parse(
        docvec_types::Format::Log,
        b"<log><record><level>INFO</lvl></record></log>",
        &Default::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("XML log"), "{err}");
}

#[test]
fn xml_logs_are_sniffed_among_xml_files() {
    use std::path::Path;
    let head = br#"<?xml version="1.0"?><log><record><date>2024-01-01</date><level>INFO</level>"#;
    assert_eq!(
        crate::detect_format(Path::new("app.xml"), head),
        Some(docvec_types::Format::Log)
    );
    assert_eq!(
        crate::detect_format(
            Path::new("pom.xml"),
            b"<project><modelVersion>4.0.0</modelVersion>"
        ),
        None
    );
}
