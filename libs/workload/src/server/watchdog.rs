//! The life of one served connection, after its handshake: it ends when its client is done, when
//! no byte has moved on it for the idle timeout, at its [`Deadline`] (a certificate on it expires,
//! or it reached its maximum age), or when the server shuts down. Whichever comes first asks
//! hyper for a graceful close (requests in flight finish; an
//! idle HTTP/1 connection closes at once, HTTP/2 says GOAWAY); a connection still open
//! [`DRAIN_TIMEOUT`] after that is dropped.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::deadline::{Deadline, EndOfLife};

/// How long a connection asked to close may take to finish what it is doing.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// When a connection last moved a byte, in milliseconds since it was opened.
#[derive(Debug, Clone)]
pub struct Activity {
    opened: Instant,
    last_millis: Arc<AtomicU64>,
}

impl Activity {
    pub fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_millis: Arc::default(),
        }
    }

    fn touch(&self) {
        let millis = self.opened.elapsed().as_millis() as u64;
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_millis.load(Ordering::Relaxed))
    }
}

/// A stream that records its [`Activity`] on every read and write that moves bytes.
#[derive(Debug)]
pub struct Watched<T> {
    inner: T,
    activity: Activity,
}

impl<T> Watched<T> {
    pub fn new(inner: T, activity: Activity) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a connection was closed by the server before its client was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client finished (or the connection failed): nothing to say.
    ByClient,
    Idle,
    /// Its deadline came.
    Expired(EndOfLife),
    Shutdown,
}

/// Drives `connection` until it ends, asking it to close (`close`, hyper's graceful shutdown)
/// after `idle` without a byte moving (`None`: never, lab mode), at `deadline`, or when
/// `shutdown` says so.
pub async fn drive<C: Future>(
    connection: C,
    mut close: impl FnMut(Pin<&mut C>),
    activity: &Activity,
    idle: Option<Duration>,
    deadline: Deadline,
    mut shutdown: watch::Receiver<bool>,
) -> (Ended, Option<C::Output>) {
    let mut connection = std::pin::pin!(connection);
    let mut ended = Ended::ByClient;
    loop {
        let wake = idle.map(|idle| activity.last() + idle);
        tokio::select! {
            output = connection.as_mut() => return (ended, Some(output)),
            () = sleep_until(wake), if ended == Ended::ByClient => {
                if idle.is_some_and(|idle| Instant::now() >= activity.last() + idle) {
                    ended = Ended::Idle;
                } else {
                    // Bytes moved since this wake was set: look again later.
                    continue;
                }
                close(connection.as_mut());
            }
            () = tokio::time::sleep_until(deadline.at()), if ended == Ended::ByClient => {
                ended = Ended::Expired(deadline.reason());
                close(connection.as_mut());
            }
            changed = shutdown.changed(), if ended == Ended::ByClient => {
                // A dropped sender means the server is gone: close too.
                let _ = changed;
                ended = Ended::Shutdown;
                close(connection.as_mut());
            }
            () = tokio::time::sleep(DRAIN_TIMEOUT), if ended != Ended::ByClient => {
                return (ended, None);
            }
        }
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that never ends by itself, and ends once asked to close.
    struct Endless {
        asked: bool,
    }

    impl Future for Endless {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            if self.asked {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    fn ask(mut endless: Pin<&mut Endless>) {
        endless.asked = true;
    }

    /// A deadline later than any test runs.
    fn far() -> Deadline {
        Deadline::earliest(
            Instant::now(),
            std::time::SystemTime::now(),
            None,
            None,
            Duration::from_secs(365 * 24 * 3600),
        )
    }

    fn quiet() -> watch::Receiver<bool> {
        let (sender, receiver) = watch::channel(false);
        std::mem::forget(sender);
        receiver
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_on_which_nothing_moves_is_closed_at_the_idle_timeout() {
        let activity = Activity::new();
        let started = Instant::now();
        let idle = Some(Duration::from_secs(5));
        let (ended, output) = drive(
            Endless { asked: false },
            ask,
            &activity,
            idle,
            far(),
            quiet(),
        )
        .await;
        assert_eq!((ended, output), (Ended::Idle, Some(())));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn activity_moves_the_idle_timeout() {
        let activity = Activity::new();
        let started = Instant::now();
        let toucher = activity.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                toucher.touch();
            }
        });
        let idle = Some(Duration::from_secs(3));
        let (ended, _) = drive(
            Endless { asked: false },
            ask,
            &activity,
            idle,
            far(),
            quiet(),
        )
        .await;
        assert_eq!(ended, Ended::Idle);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(13),
            "three seconds after the last byte"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_idle_timeout_only_shutdown_ends_it() {
        let (stop, shutdown) = watch::channel(false);
        let started = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let _ = stop.send(true);
        });
        let (ended, _) = drive(
            Endless { asked: false },
            ask,
            &Activity::new(),
            None,
            far(),
            shutdown,
        )
        .await;
        assert_eq!(ended, Ended::Shutdown);
        assert_eq!(started.elapsed(), Duration::from_secs(3600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_is_still_closed_at_its_deadline() {
        let activity = Activity::new();
        let toucher = activity.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                toucher.touch();
            }
        });
        let (started, started_at) = (Instant::now(), std::time::SystemTime::now());
        let deadline = Deadline::earliest(
            started,
            started_at,
            Some(started_at + Duration::from_secs(90)),
            None,
            Duration::from_secs(3600),
        );
        let idle = Some(Duration::from_secs(5));
        let (ended, output) = drive(
            Endless { asked: false },
            ask,
            &activity,
            idle,
            deadline,
            quiet(),
        )
        .await;
        assert_eq!(
            (ended, output),
            (Ended::Expired(EndOfLife::PeerCertificateExpired), Some(()))
        );
        assert_eq!(started.elapsed(), Duration::from_secs(90));
    }
}
