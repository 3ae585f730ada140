//! `casefile-sandbox`, the sandbox as a server for programs in any language (issue 15, "The
//! sandbox as a server for any language"): the built binary is run as a user runs it, and what it
//! prints is used, by casefile's own clients, to reach the three APIs it serves.
#![cfg(all(
    feature = "testkit",
    feature = "atlos",
    feature = "aleph",
    feature = "atlas"
))]

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BINARY: &str = env!("CARGO_BIN_EXE_casefile-sandbox");

/// The sandbox binary with small data, so it starts fast; killed when dropped.
fn sandbox(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args([
            "--incidents",
            "8",
            "--entities",
            "12,5",
            "--attachments",
            "4",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Reads up to `max` lines of the running server's stdout, stopping after the line for which
/// `last` holds. A server that exits or goes quiet first fails the test.
async fn read_lines(child: &mut Child, max: usize, last: impl Fn(&str) -> bool) -> Vec<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut reader = BufReader::new(stdout).lines();
    let mut lines = Vec::new();
    for _ in 0..max {
        let line = tokio::time::timeout(Duration::from_secs(60), reader.next_line())
            .await
            .expect("the sandbox printed nothing within a minute")
            .expect("reading the sandbox's stdout")
            .expect("the sandbox closed its stdout before printing its endpoints");
        let done = last(&line);
        lines.push(line);
        if done {
            return lines;
        }
    }
    panic!("no end line in the first {max} lines: {lines:#?}");
}

async fn json_endpoints(child: &mut Child) -> Value {
    let lines = read_lines(child, 1, |_| true).await;
    serde_json::from_str(&lines[0]).expect("the --json line is one JSON object")
}

/// One call to each API, with clients configured only from what the binary printed.
async fn use_all_three(endpoints: &Value) {
    let text = |pointer: &str| {
        endpoints
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer} missing in {endpoints}"))
            .to_owned()
    };
    let atlos = casefile::atlos::Client::builder()
        .base_url(text("/env/ATLOS_URL"))
        .token(text("/env/ATLOS_API_TOKEN"))
        .build()
        .unwrap();
    let incidents = atlos.incidents().list().first_page().await.unwrap();
    assert!(!incidents.items.is_empty(), "no incidents");

    let aleph = casefile::aleph::Client::builder()
        .base_url(text("/env/ALEPHCLIENT_HOST"))
        .api_key(text("/env/ALEPHCLIENT_API_KEY"))
        .build()
        .unwrap();
    let collections = aleph.collections().list().first_page().await.unwrap();
    assert!(!collections.items.is_empty(), "no collections");

    let digest = casefile::atlas::Client::builder()
        .base_url(text("/env/ATLAS_URL"))
        .digest(text("/env/ATLAS_USERNAME"), text("/env/ATLAS_API_KEY"))
        .build()
        .unwrap();
    let attachments = digest.attachments().list().first_page().await.unwrap();
    assert!(!attachments.items.is_empty(), "no attachments (digest)");
    let bearer = casefile::atlas::Client::builder()
        .base_url(text("/atlas/url"))
        .token(text("/atlas/token"))
        .build()
        .unwrap();
    let attachments = bearer.attachments().list().first_page().await.unwrap();
    assert!(!attachments.items.is_empty(), "no attachments (bearer)");
}

#[tokio::test]
async fn json_output_names_three_working_apis() {
    let mut child = sandbox(&["--json"]).spawn().unwrap();
    let endpoints = json_endpoints(&mut child).await;
    for platform in ["atlos", "aleph", "atlas"] {
        let url = endpoints[platform]["url"].as_str().unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{platform} at {url}");
    }
    assert_eq!(endpoints["aleph"]["url"], endpoints["env"]["ALEPH_URL"]);
    assert_eq!(
        endpoints["atlos"]["token"],
        endpoints["env"]["ATLOS_API_TOKEN"]
    );
    use_all_three(&endpoints).await;
    // Still serving after the calls: the process runs until it is stopped.
    assert!(child.try_wait().unwrap().is_none(), "the sandbox exited");
}

#[tokio::test]
async fn text_output_is_shell_exports_of_working_settings() {
    let mut child = sandbox(&[]).spawn().unwrap();
    let lines = read_lines(&mut child, 30, |line| {
        line.starts_with("export ATLAS_API_KEY=")
    })
    .await;
    assert!(
        lines[0].starts_with("Atlos  http://127.0.0.1:"),
        "{lines:#?}"
    );
    // `export NAME='value'` lines, read back as a POSIX shell would.
    let env: serde_json::Map<String, Value> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("export "))
        .map(|assignment| {
            let (name, quoted) = assignment.split_once('=').unwrap();
            let value = quoted
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap();
            (name.to_owned(), Value::String(value.to_owned()))
        })
        .collect();
    assert_eq!(env.len(), 11, "{env:#?}");
    let atlas_line = lines.iter().find(|l| l.starts_with("Atlas  ")).unwrap();
    let bearer = lines
        .iter()
        .skip_while(|l| !l.starts_with("Atlas  "))
        .find_map(|l| l.trim().strip_prefix("token"))
        .unwrap()
        .trim();
    let endpoints = serde_json::json!({
        "env": env,
        "atlas": {"url": atlas_line.trim_start_matches("Atlas").trim(), "token": bearer},
    });
    use_all_three(&endpoints).await;
}

/// Free ports right now: bound, read, released.
fn free_ports() -> [u16; 3] {
    let listeners: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    [0, 1, 2].map(|i| listeners[i].local_addr().unwrap().port())
}

#[tokio::test]
async fn serves_on_the_ports_asked_for() {
    let [atlos, aleph, atlas] = free_ports();
    let (atlos, aleph, atlas) = (atlos.to_string(), aleph.to_string(), atlas.to_string());
    let mut child = sandbox(&[
        "--json",
        "--atlos-port",
        &atlos,
        "--aleph-port",
        &aleph,
        &format!("--atlas-port={atlas}"),
    ])
    .spawn()
    .unwrap();
    let endpoints = json_endpoints(&mut child).await;
    assert_eq!(
        endpoints["atlos"]["url"],
        format!("http://127.0.0.1:{atlos}")
    );
    assert_eq!(
        endpoints["aleph"]["url"],
        format!("http://127.0.0.1:{aleph}")
    );
    assert_eq!(
        endpoints["atlas"]["url"],
        format!("http://127.0.0.1:{atlas}")
    );
    use_all_three(&endpoints).await;
}

#[tokio::test]
async fn a_taken_port_fails_with_status_1_and_says_which() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = sandbox(&["--json", "--aleph-port", &port])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "printed endpoints it does not serve"
    );
    drop(taken);
}

#[tokio::test]
async fn bad_usage_exits_2_with_the_usage_on_stderr() {
    for args in [
        &["--bogus"][..],
        &["--port"],
        &["--port", "http"],
        &["--port", "65535"],
        &["--entities", "10,x"],
        &["--json=yes"],
    ] {
        let output = Command::new(BINARY).args(args).output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("casefile-sandbox: "),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("Usage: casefile-sandbox"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let help = Command::new(BINARY).arg("--help").output().await.unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage: casefile-sandbox") && text.contains("--json"),
        "{text}"
    );
}
