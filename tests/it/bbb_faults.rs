//! The BBB client against a raw TCP stub: every way a server can fail, each a clear error
//! within the timeout, never a panic; and the simulator's own faults.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bbb_connector::bbb::{checksum, normalize_base_url, BbbClient, BbbError, BbbServer, ChecksumAlgorithm};
use bbb_connector::simulator::Fault;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::bbb_client::client_for;
use crate::helpers::{spawn_simulator, SHARED_SECRET};

const TIMEOUT: Duration = Duration::from_secs(1);

/// What the stub does with each connection.
#[derive(Clone)]
enum Behaviour {
    Close,
    Silent,
    Answer(Vec<u8>),
}

/// A one-behaviour HTTP stub on 127.0.0.1:0; sends the request lines it reads to `seen`.
async fn stub(behaviour: Behaviour) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (behaviour, seen) = (behaviour.clone(), seen.clone());
            tokio::spawn(async move {
                let mut request = vec![0u8; 16 * 1024];
                let read = socket.read(&mut request).await.unwrap_or(0);
                let _ =
                    seen.send(String::from_utf8_lossy(&request[..read]).lines().next().unwrap_or_default().to_owned());
                match behaviour {
                    Behaviour::Close => drop(socket),
                    Behaviour::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
                    Behaviour::Answer(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                        let _ = socket.shutdown().await;
                    }
                }
            });
        }
    });
    (addr, received)
}

fn client(addr: SocketAddr) -> BbbClient {
    BbbClient::new(BbbServer {
        api_base: normalize_base_url(&format!("http://{addr}/bigbluebutton/")).unwrap(),
        secret: SecretString::from(SHARED_SECRET.to_owned()),
        algorithm: ChecksumAlgorithm::Sha256,
        timeout: TIMEOUT,
    })
    .unwrap()
}

fn http(status: &str, content_type: &str, body: &str) -> Behaviour {
    Behaviour::Answer(
        format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            .into_bytes(),
    )
}

async fn outcome_of(behaviour: Behaviour) -> (Result<bool, BbbError>, Duration) {
    let (addr, _) = stub(behaviour).await;
    let started = Instant::now();
    let outcome = client(addr).is_meeting_running("abc").await;
    (outcome, started.elapsed())
}

#[tokio::test]
async fn every_failure_is_a_clear_error_within_the_timeout() {
    let huge = {
        let mut bytes =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 10485760\r\n\r\n<response>".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024 - 10));
        Behaviour::Answer(bytes)
    };
    let cases = [
        (Behaviour::Close, "unreachable"),
        (Behaviour::Silent, "did not answer within"),
        (http("502 Bad Gateway", "text/html", "<html><body>502 Bad Gateway</body></html>"), "HTTP 502"),
        (http("200 OK", "text/html", "<!DOCTYPE html><html><body>Welcome to nginx</body></html>"), "HTML page"),
        (http("200 OK", "text/xml", "<response><returncode>SUCCESS</returncode><running>tr"), "not BBB XML"),
        (http("200 OK", "text/xml", ""), "empty answer"),
        (huge, "larger than"),
    ];

    for (behaviour, expected) in cases {
        let (outcome, elapsed) = outcome_of(behaviour).await;

        let error = outcome.expect_err(expected);
        assert!(error.to_string().contains(expected), "{expected}: got {error}");
        assert!(elapsed < TIMEOUT + Duration::from_secs(1), "{expected}: took {elapsed:?}");
        assert!(!error.to_string().contains("checksum="), "{error}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    let error = client(SocketAddr::from(([127, 0, 0, 1], port))).get_meetings().await.unwrap_err();

    assert!(matches!(error, BbbError::Transport(_)), "{error:?}");
    assert!(error.to_string().to_lowercase().contains("refused"), "{error}");
}

#[tokio::test]
async fn a_good_answer_parses_and_the_request_checksum_verifies() {
    let (addr, mut seen) = stub(http(
        "200 OK",
        "text/xml",
        "<response><returncode>SUCCESS</returncode><running>true</running></response>",
    ))
    .await;

    let running = client(addr).is_meeting_running("abc").await.unwrap();

    assert!(running);
    let request_line = seen.recv().await.unwrap();
    let target = request_line.split_whitespace().nth(1).unwrap();
    let (path, query) = target.split_once('?').unwrap();
    assert_eq!(path, "/bigbluebutton/api/isMeetingRunning");
    let (signed, presented) = query.split_once("&checksum=").unwrap();
    assert_eq!(presented, checksum(ChecksumAlgorithm::Sha256, "isMeetingRunning", signed, SHARED_SECRET));
}

#[tokio::test]
async fn simulator_faults_reach_the_client_as_the_right_errors_and_recovery_is_immediate() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    client.get_meetings().await.unwrap();
    let cases = [
        (Fault::Down, "unreachable"),
        (Fault::Garbage, "not BBB XML"),
        (Fault::Html500, "HTTP 500"),
        (Fault::Slow(Duration::from_secs(3)), "did not answer within"),
    ];

    for (fault, expected) in cases {
        simulator.set_fault(Some(fault.clone()));

        let error = client.get_meetings().await.unwrap_err();

        assert!(error.to_string().contains(expected), "{fault:?}: {error}");
        simulator.set_fault(None);
        client.get_meetings().await.unwrap_or_else(|err| panic!("after {fault:?}: {err}"));
    }
}
