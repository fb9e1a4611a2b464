//! Slow clients held by the bench process itself: connections that sent a partial request head
//! and nothing more, as a slow-loris flood does, held open while wrk measures `/healthz`.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;

/// How many slow connections are held during the measure.
pub const COUNT: usize = 1_000;
/// One header line and never the blank line that ends the head.
const PARTIAL_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n";
/// File descriptors kept for everything else the bench opens (database pools, wrk's pipes).
const RESERVED_FILES: u64 = 200;

/// Raises the open-file limit of the bench to its hard limit; how many slow connections fit.
pub fn affordable() -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            eprintln!("bench: cannot raise the open-file limit: {error}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1_024)
        }
    };
    let fit = usize::try_from(limit.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
    if fit < COUNT {
        eprintln!("bench: the open-file limit is {limit}: only {fit} slow connections instead of {COUNT}");
    }
    fit.min(COUNT)
}

/// Slow connections, open until dropped.
pub struct SlowClients {
    streams: Vec<TcpStream>,
}

impl SlowClients {
    /// Opens `count` connections to `addr`, each sending a partial head.
    pub fn open(addr: SocketAddr, count: usize) -> anyhow::Result<Self> {
        let mut streams = Vec::with_capacity(count);
        for _ in 0..count {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .with_context(|| format!("slow connection {} of {count}", streams.len() + 1))?;
            stream.write_all(PARTIAL_HEAD)?;
            stream.set_nonblocking(true)?;
            streams.push(stream);
        }
        Ok(Self { streams })
    }

    /// How many the service has not closed yet.
    pub fn still_open(&self) -> usize {
        self.streams.iter().filter(|stream| is_open(stream)).count()
    }
}

/// Open: nothing to read yet (a closed one reads end of stream or an error).
fn is_open(mut stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Err(error) if error.kind() == ErrorKind::WouldBlock)
}
