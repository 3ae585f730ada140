//! A small HTTP/1.1 server on 127.0.0.1 that runs on the test's own runtime, for tests of
//! waiting (rate limits, Retry-After, timeouts) under `#[tokio::test(start_paused = true)]`.
//!
//! wiremock answers from a thread of its own: while a paused runtime waits for it, the runtime
//! is idle and tokio moves the clock on to the next timer (a read timeout, say), so a test
//! could time out on nothing. This server's socket events reach the same runtime at once over
//! loopback, the clock only moves while every task waits on a timer, and the arrival times it
//! records are on the test's (paused) clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The largest request head or body the server reads; a test never sends more.
const MAX_REQUEST: usize = 64 * 1024;

/// One answer: a status, headers, a JSON body, and how long to wait before sending it.
#[derive(Clone, Debug)]
pub struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Answer {
    /// `status` with a JSON `body`.
    pub fn json(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }

    /// Waits `delay` (on the runtime's clock) before answering.
    pub fn delay(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// When its head was read, on the runtime's clock.
    pub at: Instant,
    /// The request line, e.g. `POST /api/v1/attachments/x/export HTTP/1.1`.
    pub line: String,
}

/// The server; it stops with the runtime.
pub struct LocalServer {
    uri: String,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
}

impl LocalServer {
    /// Starts a server that answers its `n`th request (from 0) with `answer(n)`.
    pub async fn start(answer: impl Fn(usize) -> Answer + Send + Sync + 'static) -> LocalServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let log = arrivals.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, log.clone(), answer.clone()));
            }
        });
        LocalServer { uri, arrivals }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// Every request received so far, in order of arrival.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }
}

/// Answers the requests of one connection until the client closes it.
async fn serve(
    mut socket: TcpStream,
    log: Arc<Mutex<Vec<Arrival>>>,
    answer: Arc<impl Fn(usize) -> Answer>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(end) = read_until_head_end(&mut socket, &mut buf).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_REQUEST);
        while buf.len() < end + length {
            if !read_more(&mut socket, &mut buf).await {
                return;
            }
        }
        buf.drain(..end + length);
        let n = {
            let mut log = log.lock().unwrap();
            log.push(Arrival {
                at: Instant::now(),
                line: head.lines().next().unwrap_or_default().to_owned(),
            });
            log.len() - 1
        };
        let answer = answer(n);
        tokio::time::sleep(answer.delay).await;
        let mut response = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            answer.status,
            answer.body.len()
        );
        for (name, value) in &answer.headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&answer.body);
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads until `buf` holds a whole request head; returns where its body starts, or `None` when
/// the connection ends (or the head grows past [`MAX_REQUEST`]).
async fn read_until_head_end(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        if buf.len() > MAX_REQUEST || !read_more(socket, buf).await {
            return None;
        }
    }
}

/// Reads what the socket has; false when it is closed or failed.
async fn read_more(socket: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match socket.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}
