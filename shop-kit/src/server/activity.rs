//! What one connection has been doing: when it last read or wrote, whether a request's head is
//! arriving or a request is being served. The connection loop closes a connection by it: one
//! that has sent no request within the header timeout of its accept, a head that trickles in,
//! one idle for the idle timeout, and, when the service is near its cap, the longest idle first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::ServerLimits;

/// Why a connection is closed by the server.
pub(super) enum Expired {
    /// Not one byte within the header timeout of its accept.
    Silent,
    /// A request's head began arriving and was not complete within the header timeout.
    SlowHead,
    /// No byte either way and no request in flight for the idle timeout.
    Idle,
}

/// What a connection has been doing, in milliseconds since it opened.
pub(super) struct Activity {
    opened: Instant,
    /// The last byte read or written.
    last: AtomicU64,
    /// When the first byte of a request's head arrived, while no request is being served; a
    /// new connection counts from its accept, so one that says nothing is closed as a slow
    /// head would be.
    head_since: AtomicU64,
    /// Whether it has read a byte yet.
    spoke: std::sync::atomic::AtomicBool,
    /// Requests being served (HTTP/2 has several at once).
    serving: AtomicUsize,
    /// Wakes the watch when a head begins.
    head_began: tokio::sync::Notify,
}

/// `head_since` when no head is arriving.
const NO_HEAD: u64 = u64::MAX;

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            spoke: std::sync::atomic::AtomicBool::new(false),
            serving: AtomicUsize::new(0),
            head_began: tokio::sync::Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        self.spoke.store(true, Ordering::Relaxed);
        if self.serving.load(Ordering::Relaxed) == 0 {
            let began = self.head_since.compare_exchange(
                NO_HEAD,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if began.is_ok() {
                self.head_began.notify_one();
            }
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    /// How long it has been idle: no request in flight and no byte either way; `None` while a
    /// request is being served.
    pub(super) fn idle_for(&self) -> Option<Duration> {
        if self.serving.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let since = self.now().saturating_sub(self.last.load(Ordering::Relaxed));
        Some(Duration::from_millis(since))
    }

    /// A request's head is complete: it is being served until the guard drops.
    pub(super) fn request_began(self: &Arc<Self>) -> Serving {
        self.serving.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NO_HEAD, Ordering::Relaxed);
        Serving(self.clone())
    }

    /// Resolves when the connection has outlived one of its limits.
    pub(super) async fn expired(&self, limits: &ServerLimits) -> Expired {
        let header = u64::try_from(limits.header_read_timeout.as_millis()).unwrap_or(u64::MAX);
        let idle = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
        loop {
            let now = self.now();
            let head_since = self.head_since.load(Ordering::Relaxed);
            let mut next = now.saturating_add(idle);
            if head_since != NO_HEAD {
                let due = head_since.saturating_add(header);
                if now >= due {
                    if !self.spoke.load(Ordering::Relaxed) {
                        return Expired::Silent;
                    }
                    return Expired::SlowHead;
                }
                next = next.min(due);
            }
            if self.serving.load(Ordering::Relaxed) == 0 {
                let due = self.last.load(Ordering::Relaxed).saturating_add(idle);
                if now >= due {
                    return Expired::Idle;
                }
                next = next.min(due);
            }
            let wait = next.saturating_sub(now).max(20);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = self.head_began.notified() => {}
            }
        }
    }
}

/// A request being served.
pub(super) struct Serving(Arc<Activity>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::Relaxed);
        self.0.wrote();
    }
}

/// A connection's socket that notes when it reads and writes.
pub(super) struct Watched {
    pub(super) inner: TcpStream,
    pub(super) activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
