//! One simulated player: connects, plays its role in the scenario, and records what it sees.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::frames::{self, Kind, Received};
use super::stats::{Latency, Live};
use super::{LoadConfig, Scenario};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many `say`s a `match` player sends per match before it leaves.
const SAYS_PER_MATCH: u32 = 3;
/// How long a player with nothing to send sleeps before it looks again.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// What a client does, decided by its index so that every run of a scenario deals the same
/// roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Idle,
    /// Joins a room and, once matched, says at the set rate until the end.
    Chat,
    /// Joins, waits for the match, says a few times, leaves, joins again.
    Match,
    /// Connects, then never reads until the run ends (the stall's one slow client).
    Stalled,
}

fn role(scenario: Scenario, index: usize, clients: usize) -> Role {
    match scenario {
        Scenario::Stall if index + 1 == clients && index > 0 => Role::Stalled,
        Scenario::Idle | Scenario::Broadcast | Scenario::Flood | Scenario::Stall => Role::Idle,
        Scenario::Chat => Role::Chat,
        Scenario::Match => Role::Match,
        // The original game's profile: most players in matched rooms chatting, some in
        // matchmaking churn, a few shouts a second over everyone.
        Scenario::Mixed => {
            if index % 10 < 7 {
                Role::Chat
            } else {
                Role::Match
            }
        }
    }
}

/// Microseconds since the Unix epoch: the one clock every worker process shares.
pub(crate) fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A stalled client's receive buffer: small, so that its stall reaches the server's outbox
/// within the run instead of filling megabytes of loopback buffers first.
const STALLED_RECEIVE_BUFFER: u32 = 4096;
/// Most shouts the flood's shouter writes at one wake.
const FLOOD_BURST: u32 = 256;
/// Most shouts the flood's shouter leaves unanswered. The server answers each shout, with the
/// shout itself or with `busy`, and stops reading a client that does not read its answers;
/// a shouter that only wrote would then wait on a full socket while the server waited on it,
/// and be cut at the write timeout. Four bursts keep the pipe full at 100,000 a second.
const FLOOD_WINDOW: u32 = 4 * FLOOD_BURST;
/// The most a client reads from its socket at once. A shout or a tick is well under it; a
/// longer frame (a `say` of the largest text) takes several reads.
const READ_BUFFER: usize = 512;
/// How long a stalled client reads at the end of the run to learn whether it was cut.
const STALLED_DRAIN: Duration = Duration::from_secs(5);

/// When a client plays: it connects at `start_at`; the gaps between shouts count from
/// `steady_from` (the end of the ramp); it stops at `stop`.
pub(crate) struct Timing {
    pub start_at: Instant,
    pub steady_from: Instant,
}

/// Runs client `index` from `timing.start_at` until `stop`.
pub(crate) async fn run(
    index: usize,
    config: Arc<LoadConfig>,
    live: Arc<Live>,
    timing: Timing,
    stop: CancellationToken,
) {
    let Timing {
        start_at,
        steady_from,
    } = timing;
    tokio::select! {
        () = stop.cancelled() => return,
        () = sleep_until(start_at) => {}
    }
    let ws = match connect(index, &config).await {
        Ok(ws) => ws,
        Err(kind) => {
            Live::add(&live.connect_failed);
            live.error(format!("connect: {kind}"));
            return;
        }
    };
    Live::add(&live.connect_ok);
    Live::add(&live.connected);
    let mut player = Player::new(index, config, live.clone(), ws, steady_from);
    if player.role == Role::Stalled {
        player.stall(&stop).await;
    } else {
        player.play(&stop).await;
    }
    live.connected
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

async fn connect(index: usize, config: &LoadConfig) -> Result<WebSocketStream<TcpStream>, String> {
    let uri: tokio_tungstenite::tungstenite::http::Uri =
        config.url.parse().map_err(|e| format!("bad url: {e}"))?;
    let host = uri.host().unwrap_or("127.0.0.1");
    let port = uri.port_u16().unwrap_or(80);
    let addr = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("resolve: {e}"))?
        .next()
        .ok_or("resolve: no address")?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("socket: {}", e.kind()))?;
    if role(config.scenario, index, config.clients) == Role::Stalled {
        socket
            .set_recv_buffer_size(STALLED_RECEIVE_BUFFER)
            .map_err(|e| format!("receive buffer: {}", e.kind()))?;
    }
    // Several loopback source addresses, each with its own ephemeral port range.
    if !config.sources.is_empty() && addr.is_ipv4() {
        let source = config.sources[index % config.sources.len()];
        socket
            .bind((source, 0).into())
            .map_err(|e| format!("bind {source}: {}", e.kind()))?;
    }
    let stream = timeout(CONNECT_TIMEOUT, socket.connect(addr))
        .await
        .map_err(|_| "tcp timeout".to_owned())?
        .map_err(|e| format!("tcp {}", e.kind()))?;
    let _ = stream.set_nodelay(true);
    let url = format!("{}?player=load-{index}&nick=load-{index}", config.url);
    // The generator's footprint per connection stays small, as the server's does. tungstenite
    // zeroes up to a read buffer before each read (twice a frame: the read, then the one that
    // finds the socket empty), so it is sized for the frames it reads, not a page.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0);
    let handshake = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config));
    match timeout(CONNECT_TIMEOUT, handshake).await {
        Err(_) => Err("handshake timeout".to_owned()),
        Ok(Err(WsError::Http(response))) => Err(format!("http {}", response.status().as_u16())),
        Ok(Err(error)) => Err(format!("handshake: {error}")),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}

/// Where a chatting or matching player is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seat {
    None,
    Joining,
    Matched { says_left: u32 },
    Leaving,
}

struct Player {
    index: usize,
    role: Role,
    config: Arc<LoadConfig>,
    live: Arc<Live>,
    ws: WebSocketStream<TcpStream>,
    seat: Seat,
    /// The intended time of the next `say`: latency counts from it, not from when the send
    /// happened, so a stalled server cannot hide behind a generator that waited for it.
    next_say: Option<(Instant, u64)>,
    next_shout: Option<(Instant, u64)>,
    /// Gaps between shouts count from here (the end of the ramp).
    steady_from: Instant,
    /// When this client last sent a shout (a shouter) or received one (everyone else).
    last_shout: Option<Instant>,
    /// The flood's shouter: shouts sent whose answer (the shout, or `busy`) has not arrived.
    unanswered: u32,
}

impl Player {
    fn new(
        index: usize,
        config: Arc<LoadConfig>,
        live: Arc<Live>,
        ws: WebSocketStream<TcpStream>,
        steady_from: Instant,
    ) -> Player {
        let role = role(config.scenario, index, config.clients);
        let next_shout = (index < config.shouters()).then(|| {
            // Shouters spread over the first period so that their shouts do not coincide.
            let period = config.shout_period();
            let offset = period.mul_f64(index as f64 / config.shouters() as f64);
            let at = Instant::now() + offset;
            (at, unix_micros() + offset.as_micros() as u64)
        });
        Player {
            index,
            role,
            config,
            live,
            ws,
            seat: Seat::None,
            next_say: None,
            next_shout,
            steady_from,
            last_shout: None,
            unanswered: 0,
        }
    }

    /// A shouter: the first `shouters()` clients.
    fn shouts(&self) -> bool {
        self.index < self.config.shouters()
    }

    /// In the stall, the gap since this client's last shout (sent by the shouter, received by
    /// a reader), when both ends lie after the ramp: the shouter's is the control, the
    /// readers' are what a stalled client must not stretch.
    fn shout_gap(&mut self, now: Instant) {
        if self.config.scenario != Scenario::Stall {
            return;
        }
        if let Some(last) = self.last_shout
            && last >= self.steady_from
        {
            let micros = u64::try_from(now.duration_since(last).as_micros()).unwrap_or(u64::MAX);
            let longest = if self.shouts() {
                &self.live.sender_gap_max_us
            } else {
                &self.live.reader_gap_max_us
            };
            longest.fetch_max(micros, std::sync::atomic::Ordering::Relaxed);
        }
        self.last_shout = Some(now);
    }

    /// The stalled client: reads nothing until the run ends, then reads what is left to learn
    /// whether the server cut it (a close, or the connection gone), and says goodbye if not.
    async fn stall(&mut self, stop: &CancellationToken) {
        Live::add(&self.live.stalled);
        stop.cancelled().await;
        let cut = timeout(STALLED_DRAIN, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return true,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .unwrap_or(false);
        if cut {
            Live::add(&self.live.stalled_cut);
        } else {
            let _ = timeout(Duration::from_secs(5), self.ws.close(None)).await;
        }
    }

    async fn play(&mut self, stop: &CancellationToken) {
        if self.role != Role::Idle && self.join().await.is_err() {
            return;
        }
        // One stop future and one timer for the whole run, not one of each per frame: a timer
        // made anew per loop registers in tokio's timer wheel and leaves it again for every
        // frame received, which a client that mostly listens pays on every frame.
        let stopped = stop.cancelled();
        let timer = sleep_until(Instant::now() + IDLE_WAIT);
        tokio::pin!(stopped, timer);
        loop {
            let due = [self.next_say, self.next_shout]
                .into_iter()
                .flatten()
                .map(|(at, _)| at)
                .min();
            match due {
                Some(at) if timer.deadline() != at => timer.as_mut().reset(at),
                None if timer.is_elapsed() => timer.as_mut().reset(Instant::now() + IDLE_WAIT),
                _ => {}
            }
            let step = tokio::select! {
                () = &mut stopped => {
                    // A reader that heard nothing since its last shout: that silence is a gap.
                    self.shout_gap(Instant::now());
                    break;
                }
                frame = self.ws.next() => self.receive(frame).await,
                () = &mut timer => self.scheduled().await,
            };
            if step.is_err() {
                return;
            }
        }
        // Leave as a client should: a close frame, and the server's in reply.
        let goodbye = async {
            self.ws.close(None).await?;
            while self.ws.next().await.is_some() {}
            Ok::<_, WsError>(())
        };
        let _ = timeout(Duration::from_secs(5), goodbye).await;
    }

    async fn send(&mut self, frame: String) -> Result<(), ()> {
        match self.ws.send(Message::text(frame)).await {
            Ok(()) => {
                Live::add(&self.live.sent);
                Ok(())
            }
            Err(error) => {
                self.live.error(format!("send: {}", short(&error)));
                Err(())
            }
        }
    }

    async fn join(&mut self) -> Result<(), ()> {
        self.seat = Seat::Joining;
        self.send(frames::join(self.config.room_size)).await
    }

    /// The flood's shouter: every shout due by `now` from `at` on, at most [`FLOOD_BURST`] of
    /// them in one write (a timer wakes it at most once a millisecond) and at most
    /// [`FLOOD_WINDOW`] unanswered, and no backlog beyond that: it shouts as fast as it can up
    /// to the rate, and latency counts from the send, for the flood's question is who is cut,
    /// not how late.
    async fn flood(&mut self, mut at: Instant, now: Instant, period: Duration) -> Result<(), ()> {
        let sent = unix_micros();
        let room = FLOOD_WINDOW
            .saturating_sub(self.unanswered)
            .min(FLOOD_BURST);
        if room == 0 {
            // Read the answers first; look again at the timer's next tick.
            self.next_shout = Some((now + Duration::from_millis(1), sent));
            return Ok(());
        }
        let mut burst = 0;
        while at <= now && burst < room {
            if let Err(error) = self.ws.feed(Message::text(frames::shout(sent))).await {
                self.live.error(format!("send: {}", short(&error)));
                return Err(());
            }
            Live::add(&self.live.sent);
            self.unanswered += 1;
            at += period;
            burst += 1;
        }
        self.next_shout = Some((at.max(now), sent));
        if let Err(error) = self.ws.flush().await {
            self.live.error(format!("send: {}", short(&error)));
            return Err(());
        }
        Ok(())
    }

    /// Sends whatever is due: a `say` (then maybe a `leave`), a `shout`.
    async fn scheduled(&mut self) -> Result<(), ()> {
        let now = Instant::now();
        if let Some((at, intended)) = self.next_say
            && at <= now
        {
            let period = self.config.say_period();
            self.next_say = Some((at + period, intended + period.as_micros() as u64));
            self.send(frames::say(intended, self.index)).await?;
            if let Seat::Matched { says_left } = &mut self.seat
                && self.role == Role::Match
            {
                *says_left -= 1;
                if *says_left == 0 {
                    self.next_say = None;
                    self.seat = Seat::Leaving;
                    self.send(frames::leave()).await?;
                }
            }
        }
        if let Some((at, intended)) = self.next_shout
            && at <= now
        {
            let period = self.config.shout_period();
            if self.config.scenario == Scenario::Flood {
                self.flood(at, now, period).await?;
            } else {
                self.next_shout = Some((at + period, intended + period.as_micros() as u64));
                self.shout_gap(now);
                self.send(frames::shout(intended)).await?;
            }
        }
        Ok(())
    }

    async fn receive(&mut self, frame: Option<Result<Message, WsError>>) -> Result<(), ()> {
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or("none".to_owned(), |f| u16::from(f.code).to_string());
                self.live.error(format!("closed by server: {code}"));
                return Err(());
            }
            Some(Ok(_)) => return Ok(()),
            Some(Err(error)) => {
                self.live.error(format!("receive: {}", short(&error)));
                return Err(());
            }
            None => {
                self.live.error("receive: connection ended".to_owned());
                return Err(());
            }
        };
        Live::add(&self.live.received);
        let Some(frame) = Received::parse(&text) else {
            self.live.error("receive: not a protocol frame".to_owned());
            return Ok(());
        };
        match frame.kind {
            Kind::Said => {
                if let Some(sent) = frame.data.and_then(|data| data.t) {
                    self.live
                        .latency(Latency::Relay, unix_micros().saturating_sub(sent));
                }
            }
            Kind::Shouted => {
                // Only the flood's shouter counts, and in the flood every shout is its own.
                self.unanswered = self.unanswered.saturating_sub(1);
                if !self.shouts() {
                    self.shout_gap(Instant::now());
                }
                if let Some(sent) = frame.shouted_at() {
                    self.live
                        .latency(Latency::Shout, unix_micros().saturating_sub(sent));
                }
            }
            Kind::Tick => {
                if let (Some(at), Some(started)) = (frame.at, self.config.server_started_unix_ms) {
                    let stamped_us = started.saturating_add(at).saturating_mul(1000);
                    self.live
                        .latency(Latency::Tick, unix_micros().saturating_sub(stamped_us));
                }
            }
            Kind::Matched if self.seat == Seat::Joining => {
                self.seat = Seat::Matched {
                    says_left: SAYS_PER_MATCH,
                };
                // Spread the first say over one period so that a room's members do not all
                // speak in the same instant.
                let period = self.config.say_period();
                let offset = period.mul_f64((self.index % 97) as f64 / 97.0);
                let intended = unix_micros() + offset.as_micros() as u64;
                self.next_say = Some((Instant::now() + offset, intended));
            }
            Kind::Left if self.seat == Seat::Leaving => self.join().await?,
            Kind::MatchTimeout => {
                self.next_say = None;
                self.join().await?;
            }
            Kind::Error => {
                let code = frame.code.as_ref().map_or("?", |code| &code.0);
                if code == "busy" {
                    self.unanswered = self.unanswered.saturating_sub(1);
                    Live::add(&self.live.busy);
                } else {
                    self.live.error(format!("error event: {code}"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// An error's kind without the details that make every instance unique.
fn short(error: &WsError) -> String {
    match error {
        WsError::Io(io) => format!("io {}", io.kind()),
        WsError::ConnectionClosed | WsError::AlreadyClosed => "closed".to_owned(),
        WsError::Protocol(p) => format!("protocol {p}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stall's last client is the one that stops reading, never its shouter; everyone
    /// else in the flood and the stall reads (the shouter is picked by index, not role).
    #[test]
    fn the_stall_stops_only_its_last_client() {
        assert_eq!(role(Scenario::Stall, 199, 200), Role::Stalled);
        assert_eq!(role(Scenario::Stall, 0, 200), Role::Idle);
        assert_eq!(role(Scenario::Stall, 198, 200), Role::Idle);
        assert_eq!(
            role(Scenario::Stall, 0, 1),
            Role::Idle,
            "a lone client shouts"
        );
        assert!((0..200).all(|i| role(Scenario::Flood, i, 200) == Role::Idle));
        assert_eq!(role(Scenario::Mixed, 7, 200), Role::Match);
    }
}
