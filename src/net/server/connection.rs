//! One WebSocket client: the original server's readPump and writePump as one task.
//!
//! A single task `select!`s over the client's frames, its outbox's doorbell, the keepalive
//! timer and shutdown. Two tasks over `split()` halves would share the socket through a lock
//! and cost a second task per client; one task writes while it is not reading, which is what
//! a client that is being written to needs anyway, and a write that cannot finish within the
//! write timeout cuts the client off rather than stall anything else.

use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::Shared;
use super::bell::Bell;
use super::protocol::{self, ProtocolError};
use super::rate::{RateLimit, Verdict};
use crate::{ClientId, CloseReason, Command, Doorbell, Event, OutboxReceiver, Player, RecvError};

/// How long a closing connection waits for the client's close frame in reply.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);

/// Serves one upgraded client until it leaves, is cut off, or the server shuts down; the
/// engine forgets the client before this returns.
pub(crate) async fn serve<S>(ws: WebSocketStream<S>, shared: Arc<Shared>, player: Player)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let bell = Bell::new(shared.pacer.clone());
    let (tx, outbox) = crate::outbox_with_doorbell(shared.config.outbox_capacity, bell.clone());
    let client = shared.engine.connect(player, tx);
    let now = Instant::now();
    let mut connection = Connection {
        limit: RateLimit::new(shared.config.rate, now),
        next_ping: now + shared.config.ping_period,
        last_heard: now,
        ws,
        shared,
        client,
        outbox,
        bell,
    };
    let end = connection.run().await;
    connection.shared.engine.disconnect(client);
    tracing::debug!(%client, ?end, "connection ended");
    connection.finish(end).await;
}

/// Why a connection ends.
#[derive(Debug)]
enum End {
    /// The client sent a close frame.
    ClientClosed,
    /// The socket failed or ended without a close frame.
    Gone,
    Shutdown,
    /// The engine cut the client off: its outbox was full.
    SlowConsumer,
    /// A write did not finish within the write timeout.
    WriteTimeout,
    RateLimit,
    TooBig,
    /// Nothing, not even a pong, within the pong timeout.
    Silent,
}

struct Connection<S> {
    ws: WebSocketStream<S>,
    shared: Arc<Shared>,
    client: ClientId,
    outbox: OutboxReceiver,
    bell: Arc<Bell>,
    limit: RateLimit,
    last_heard: Instant,
    next_ping: Instant,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    async fn run(&mut self) -> End {
        let welcome = protocol::welcome(self.client, &self.shared.engine_name);
        if let Some(end) = self.send_now(Message::Text(welcome)).await {
            return end;
        }
        // The shutdown watch and the keepalive timer live across turns of the loop. Made anew
        // each turn, they would join the token's waiter list and the runtime's timer wheel
        // and leave them again on every frame written, both shared by every connection.
        let token = self.shared.shutdown.clone();
        let mut shutdown = pin!(token.cancelled());
        let mut keepalive = pin!(sleep_until(self.keepalive_due()));
        let bell = self.bell.clone();
        loop {
            let step = tokio::select! {
                biased;
                () = &mut shutdown => Some(End::Shutdown),
                () = bell.rung() => self.deliver().await,
                frame = self.ws.next() => self.receive(frame).await,
                () = &mut keepalive => {
                    let step = self.keepalive().await;
                    // Frames heard since it was set moved the deadline later, never earlier:
                    // a timer that fires early finds nothing due and is set again.
                    keepalive.as_mut().reset(self.keepalive_due());
                    step
                }
            };
            if let Some(end) = step {
                return end;
            }
        }
    }

    /// When the keepalive next has something to do: a ping, or giving up on a silent client.
    fn keepalive_due(&self) -> Instant {
        let silent_at = self.last_heard + self.shared.config.pong_timeout;
        self.next_ping.min(silent_at)
    }

    /// Writes what the outbox holds, flushing once at the end, and counts each frame's time
    /// from its outbox to the end of that flush, when its write completed, in the server's
    /// delivery histogram, and a directed frame's ([`is_directed`]) in the directed one too. A
    /// frame whose write failed or timed out is not counted.
    async fn deliver(&mut self) -> Option<End> {
        let batch = self.shared.config.outbox_capacity;
        let write = async {
            // Allocated per drain, not kept per connection: most drains carry a frame or two,
            // and an idle client then holds nothing for them.
            let mut queued_at = Vec::new();
            let mut closed = None;
            while queued_at.len() < batch {
                match self.outbox.try_recv_stamped() {
                    Ok(stamped) => {
                        let frame = protocol::event_frame(&stamped.event);
                        self.ws.feed(Message::Text(frame)).await?;
                        queued_at.push((stamped.queued_at, is_directed(&stamped.event)));
                    }
                    Err(RecvError::Empty) => {
                        // The engine closes an outbox before it lets go of it; a close with
                        // nothing left to read is the end even while it still holds on.
                        closed = self.outbox.close_reason();
                        break;
                    }
                    Err(RecvError::Closed(reason)) => {
                        closed = Some(reason);
                        break;
                    }
                }
            }
            if queued_at.len() == batch {
                // More may be queued: come back after giving the other branches a turn.
                self.bell.ring();
            }
            self.ws.flush().await?;
            let written = std::time::Instant::now();
            let metrics = &self.shared.metrics;
            // A doorbell outbox stamps every event: none is `None` here.
            for &(at, directed) in &queued_at {
                let Some(at) = at else { continue };
                let waited = written.saturating_duration_since(at);
                metrics.frame_delivery.record(waited);
                if directed {
                    metrics.directed_delivery.record(waited);
                }
            }
            Ok::<_, WsError>((queued_at.len(), closed))
        };
        match timeout(self.shared.config.write_timeout, write).await {
            Err(_) => Some(End::WriteTimeout),
            Ok(Err(_)) => Some(End::Gone),
            Ok(Ok((sent, closed))) => {
                self.shared.metrics.messages_out.inc_by(sent as u64);
                closed.map(|reason| match reason {
                    CloseReason::SlowConsumer => End::SlowConsumer,
                    CloseReason::Disconnected => End::Gone,
                })
            }
        }
    }

    async fn receive(&mut self, frame: Option<Result<Message, WsError>>) -> Option<End> {
        self.last_heard = Instant::now();
        let Some(frame) = frame else {
            return Some(End::Gone);
        };
        match frame {
            Ok(Message::Text(text)) => self.on_text(&text).await,
            Ok(Message::Binary(_)) => {
                self.shared.metrics.protocol_errors.inc();
                self.send_now(Message::Text(ProtocolError::BinaryFrame.frame()))
                    .await
            }
            // tungstenite queued the pong; send it now rather than with the next event.
            Ok(Message::Ping(_)) => self.flush().await,
            Ok(Message::Pong(_) | Message::Frame(_)) => None,
            Ok(Message::Close(_)) => Some(End::ClientClosed),
            Err(WsError::Capacity(_)) => Some(End::TooBig),
            Err(_) => Some(End::Gone),
        }
    }

    async fn on_text(&mut self, text: &str) -> Option<End> {
        let metrics = &self.shared.metrics;
        // `receive` just stamped `last_heard` with this frame's arrival.
        match self.limit.check(self.last_heard) {
            Verdict::Allow => {}
            Verdict::DropAndWarn => {
                metrics.rate_limited.inc();
                let warning = ProtocolError::RateLimited(self.shared.config.rate).frame();
                return self.send_now(Message::Text(warning)).await;
            }
            Verdict::Drop => {
                metrics.rate_limited.inc();
                return None;
            }
            Verdict::Close => {
                metrics.rate_limited.inc();
                return Some(End::RateLimit);
            }
        }
        metrics.messages_in.inc();
        // The original server's HandlePanic: a fault in handling one message costs that
        // message and its room, never the server.
        let handled = AssertUnwindSafe(handle(&self.shared, self.client, text, self.last_heard))
            .catch_unwind()
            .await;
        let refusal = match handled {
            Ok(Ok(())) => return None,
            Ok(Err(ProtocolError::Busy)) => {
                self.shared.metrics.shouts_refused_busy.inc();
                ProtocolError::Busy
            }
            Ok(Err(refusal)) => {
                self.shared.metrics.protocol_errors.inc();
                refusal
            }
            Err(payload) => {
                super::panic::contain(&self.shared, self.client, payload);
                ProtocolError::Internal
            }
        };
        self.send_now(Message::Text(refusal.frame())).await
    }

    async fn keepalive(&mut self) -> Option<End> {
        let now = Instant::now();
        if now >= self.last_heard + self.shared.config.pong_timeout {
            return Some(End::Silent);
        }
        if now >= self.next_ping {
            self.next_ping = now + self.shared.config.ping_period;
            return self.send_now(Message::Ping(Default::default())).await;
        }
        None
    }

    /// Sends one frame of the server's own (not from the outbox) and flushes.
    async fn send_now(&mut self, message: Message) -> Option<End> {
        let send = self.ws.send(message);
        match timeout(self.shared.config.write_timeout, send).await {
            Ok(Ok(())) => {
                self.shared.metrics.messages_out.inc();
                None
            }
            Ok(Err(_)) => Some(End::Gone),
            Err(_) => Some(End::WriteTimeout),
        }
    }

    async fn flush(&mut self) -> Option<End> {
        match timeout(self.shared.config.write_timeout, self.ws.flush()).await {
            Ok(Ok(())) => None,
            Ok(Err(_)) => Some(End::Gone),
            Err(_) => Some(End::WriteTimeout),
        }
    }

    /// Says goodbye in the way `end` calls for, within bounded time.
    async fn finish(mut self, end: End) {
        let metrics = &self.shared.metrics;
        let (code, reason) = match end {
            End::Gone => return,
            End::WriteTimeout => {
                // The socket does not take writes: a close frame would not get through either.
                metrics.slow_consumer_cuts.inc();
                return;
            }
            End::ClientClosed => {
                // tungstenite queued the reply to the client's close frame.
                let _ = timeout(CLOSE_REPLY_WAIT, self.ws.flush()).await;
                return;
            }
            End::Shutdown => {
                // Deliver what the engine queued before the shutdown, then go.
                let _ = self.deliver().await;
                (CloseCode::Away, "server shutting down")
            }
            End::SlowConsumer => {
                metrics.slow_consumer_cuts.inc();
                (
                    CloseCode::Policy,
                    "slow consumer: more than the outbox's events unread",
                )
            }
            End::RateLimit => {
                // The messages let through before the limit still get their answers.
                let _ = self.deliver().await;
                (CloseCode::Policy, "rate limit exceeded")
            }
            End::TooBig => (CloseCode::Size, "message too big"),
            End::Silent => (
                CloseCode::Normal,
                "no frame or pong within the pong timeout",
            ),
        };
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let goodbye = async {
            self.ws.close(Some(frame)).await?;
            // Wait for the client's close frame so that it, not the server, holds TIME_WAIT.
            while self.ws.next().await.is_some() {}
            Ok::<_, WsError>(())
        };
        let _ = timeout(CLOSE_REPLY_WAIT, goodbye).await;
    }
}

/// Whether `event` goes to some clients (a relay, a room's event, an answer), not to every
/// client at once as `Shouted` and `Tick` do: a directed frame does not wait behind a
/// broadcast's wake-ups (`bell.rs`), and the server times it on its own.
fn is_directed(event: &Event) -> bool {
    !matches!(event, Event::Shouted { .. } | Event::Tick { .. })
}

/// Parses one frame, received at `now`, and hands its command to the engine, waiting (without
/// holding the thread) while the engine's queue is full: the backpressure reaches this client's
/// reads. A shout over the fan-out budget is refused instead. It takes no connection, whose
/// socket would have to be shared across the wait.
async fn handle(
    shared: &Shared,
    client: ClientId,
    text: &str,
    now: Instant,
) -> Result<(), ProtocolError> {
    let command = protocol::parse(client, text)?;
    let shout = matches!(command, Command::Shout { .. });
    if shout {
        // Every connected client is a recipient (upgrades in progress too, which only makes
        // the charge a little higher than the deliveries).
        let recipients = u64::try_from(shared.metrics.connections.get()).unwrap_or(0);
        if !shared.admission.admit(recipients, now) {
            return Err(ProtocolError::Busy);
        }
    }
    #[cfg(debug_assertions)]
    if let Some(trigger) = &shared.config.panic_trigger
        && text.contains(trigger.as_str())
    {
        panic!("test hook: a panic injected while handling {client}");
    }
    if shout {
        // A shout puts an event into every client's outbox: thousands of pushes, milliseconds
        // of work (on lock, under the engine's lock). On a blocking thread it leaves this
        // worker to the other connections' writes meanwhile. This connection reads nothing
        // more until it is done, so its commands keep their order.
        let engine = shared.engine.clone();
        let fan_out = tokio::task::spawn_blocking(move || engine.submit(client, command));
        if let Err(error) = fan_out.await
            && error.is_panic()
        {
            // Caught by the caller, as a panic in the engine here would be.
            std::panic::resume_unwind(error.into_panic());
        }
        return Ok(());
    }
    shared.engine.submit_async(client, command).await;
    Ok(())
}
