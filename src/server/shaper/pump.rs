//! One direction of one connection: read what the sender wrote, plan when it leaves
//! (`schedule.rs`), hold it until then, write it to the receiver.
//!
//! The reader and the writer run side by side, joined by a queue bounded in bytes
//! (`max_in_flight`): when it is full the reader stops reading and TCP pushes back on
//! the sender, as a full window would. A stall stops both: the reader takes nothing more
//! and the writer holds what is queued. The impairments are re-read from the proxy's
//! live settings at every read and every wait, so a change applies to the next byte.
//!
//! The proxy never looks inside the bytes: `ws://`, `wss://` and anything else pass
//! through as they came.

use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, sleep_until};

use super::impair::{Direction, Link};
use super::schedule::Schedule;

/// The most a single read takes: large enough for loopback speed, small enough that a
/// read's pieces are planned promptly.
const READ_SIZE: usize = 64 * 1024;

/// Sees every piece of data the proxy delivers, on the process's monotonic clock (the
/// `tokio::time` clock, so paused in tests that pause it).
///
/// With a server in the same process (the mocks, the echo socket) these timestamps split
/// a round trip into uplink transit, server time and downlink transit: the tap gets the
/// bytes, so it can find the WebSocket frames in them (the proxy itself never parses).
/// Called on the connection's task right after the write: keep it short.
pub trait Tap: Send + Sync + fmt::Debug {
    /// `delivery` was just written to its receiver.
    fn delivered(&self, delivery: &Delivery<'_>);
}

/// A piece of data the proxy delivered, and when.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Delivery<'a> {
    /// The connection, numbered from 0 in accept order.
    pub connection: u64,
    /// Which way it went.
    pub direction: Direction,
    /// The offset of `bytes` in this direction's stream.
    pub offset: u64,
    /// The data.
    pub bytes: &'a [u8],
    /// When the proxy read it from the sender.
    pub arrived: Instant,
    /// When the schedule let it go (the writer wakes up to ~1 ms later: tokio's timer).
    pub released: Instant,
    /// When the write to the receiver returned.
    pub written: Instant,
}

/// How one direction ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The sender closed and the close was passed on.
    Finished,
    /// An impairment ends the connection (a byte limit reached, a stall timed out):
    /// close both peers.
    Close(&'static str),
    /// A socket failed (reset by its peer, or written after the peer left): reset the
    /// other peer too, as a broken path would.
    Broken(io::Error),
}

/// What one direction needs to know.
#[derive(Debug)]
pub(crate) struct Flow {
    pub direction: Direction,
    pub connection: u64,
    pub seed: u64,
    pub max_in_flight: usize,
    pub link: watch::Receiver<Link>,
    pub tap: Option<Arc<dyn Tap>>,
}

#[derive(Debug)]
enum Item {
    Data { bytes: Bytes, offset: u64, arrived: Instant, release: Instant },
    Eof { release: Instant },
    Close { release: Instant },
}

impl Item {
    fn release(&self) -> Instant {
        match self {
            Item::Data { release, .. } | Item::Eof { release } | Item::Close { release } => {
                *release
            }
        }
    }
}

/// Moves one direction until the sender closes, an impairment ends it, or a socket
/// fails.
pub(crate) async fn pump<R, W>(src: R, dst: W, flow: Flow) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // Permits are bytes in flight; a read never exceeds the budget, so it always fits.
    let max_in_flight = flow.max_in_flight.max(1);
    let read_size = READ_SIZE.min(max_in_flight);
    let budget = Semaphore::new(max_in_flight);
    let (tx, rx) = mpsc::unbounded_channel();
    let reader = read_side(src, tx, &budget, read_size, &flow);
    let writer = write_side(dst, rx, &budget, &flow);
    let mut reader = std::pin::pin!(reader);
    let mut writer = std::pin::pin!(writer);
    tokio::select! {
        end = &mut writer => end,
        read = &mut reader => match read {
            Ok(()) => writer.await,
            Err(e) => End::Broken(e),
        },
    }
}

async fn read_side<R>(
    mut src: R,
    tx: mpsc::UnboundedSender<Item>,
    budget: &Semaphore,
    read_size: usize,
    flow: &Flow,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
{
    let mut link = flow.link.clone();
    let mut schedule = Schedule::new(flow.seed);
    let mut buf = BytesMut::new();
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    loop {
        // A stalled link takes nothing: the sender's buffers fill behind it.
        while link.borrow_and_update().get(flow.direction).get_stall().is_some() {
            changed(&mut link).await;
        }
        // Reuses the buffer once the writer has dropped what was split off it.
        buf.reserve(read_size);
        let n = src.read_buf(&mut (&mut buf).limit(read_size)).await?;
        let arrived = Instant::now();
        let impairments = *link.borrow().get(flow.direction);
        if n == 0 {
            let release = schedule.close(arrived, &impairments);
            let _ = tx.send(Item::Eof { release });
            return Ok(());
        }
        let mut data = buf.split_to(n).freeze();
        let mut limit_reached = false;
        if let Some(limit) = impairments.get_limit_bytes() {
            let left = limit.saturating_sub(offset);
            if n as u64 >= left {
                data.truncate(usize::try_from(left).unwrap_or(usize::MAX));
                limit_reached = true;
            }
        }
        if !data.is_empty() {
            let permits = u32::try_from(data.len()).expect("a read is at most READ_SIZE");
            // The semaphore is never closed, so this only waits.
            if let Ok(taken) = budget.acquire_many(permits).await {
                taken.forget();
            }
            schedule.plan(arrived, offset, data.len(), &impairments, &mut pieces);
            for piece in &pieces {
                let bytes = data.slice(piece.start..piece.end);
                let item = Item::Data {
                    bytes,
                    offset: offset + piece.start as u64,
                    arrived,
                    release: piece.release,
                };
                if tx.send(item).is_err() {
                    return Ok(());
                }
            }
            offset += data.len() as u64;
        }
        if limit_reached {
            let _ = tx.send(Item::Close { release: schedule.last_release(arrived) });
            return Ok(());
        }
    }
}

async fn write_side<W>(
    mut dst: W,
    mut rx: mpsc::UnboundedReceiver<Item>,
    budget: &Semaphore,
    flow: &Flow,
) -> End
where
    W: AsyncWrite + Unpin,
{
    let mut link = flow.link.clone();
    let mut held = None;
    let mut stalled_since = None;
    loop {
        let stall = link.borrow_and_update().get(flow.direction).get_stall();
        if let Some(stall) = stall {
            let since = *stalled_since.get_or_insert_with(Instant::now);
            match stall.close_after() {
                Some(after) => tokio::select! {
                    () = changed(&mut link) => {}
                    () = sleep_until(since + after) => return End::Close("the stall timed out"),
                },
                None => changed(&mut link).await,
            }
            continue;
        }
        stalled_since = None;
        let item = match held.take() {
            Some(item) => item,
            None => tokio::select! {
                item = rx.recv() => match item {
                    Some(item) => item,
                    // The reader failed; `pump` reports that.
                    None => return End::Finished,
                },
                () = changed(&mut link) => continue,
            },
        };
        // A due piece goes at once: tokio's timer rounds every deadline up to its next
        // 1 ms tick, which would add a millisecond per hop to an untouched link.
        if item.release() > Instant::now() {
            tokio::select! {
                () = sleep_until(item.release()) => {}
                // A stall may have begun: look again before writing.
                () = changed(&mut link) => {
                    held = Some(item);
                    continue;
                }
            }
        }
        match item {
            Item::Data { bytes, offset, arrived, release } => {
                if let Err(e) = dst.write_all(&bytes).await {
                    return End::Broken(e);
                }
                budget.add_permits(bytes.len());
                if let Some(tap) = &flow.tap {
                    tap.delivered(&Delivery {
                        connection: flow.connection,
                        direction: flow.direction,
                        offset,
                        bytes: &bytes,
                        arrived,
                        released: release,
                        written: Instant::now(),
                    });
                }
            }
            Item::Eof { .. } => {
                return match dst.shutdown().await {
                    Ok(()) => End::Finished,
                    Err(e) => End::Broken(e),
                };
            }
            Item::Close { .. } => return End::Close("the byte limit was reached"),
        }
    }
}

/// Waits for the settings to change. The proxy owns the sender for as long as any
/// connection runs, so an error means it is gone: then nothing changes any more.
async fn changed(link: &mut watch::Receiver<Link>) {
    if link.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
