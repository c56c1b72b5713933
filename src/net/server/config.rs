//! Every limit the server enforces, with the original server's defaults. The CLI exposes each
//! one as a flag with an environment variable beside it.

use std::num::NonZeroU32;
use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The default `fanout_budget`, in deliveries per second: one core's worth of writes at their
/// dearest.
///
/// Measured on the project's 2-core machine: the server sent about 255,000 frames a second at
/// 61% of one core when frames queue up (several per write, ~2.4 µs of CPU each), but ~10.8 µs
/// each at one frame per write, the case of a reader that keeps up. 1 s / 10.8 µs is ~92,600
/// frames a second per core, rounded down to 90,000: the writes of admitted shouts can take at
/// most one core even when no frames queue, which leaves the other for reads, the engine, says
/// and ticks (19,000 a second at `--max-clients`). It has not been measured at full scale: to
/// change it, change this constant (`--fanout-budget`'s default follows) and the figure in
/// docs/PROTOCOL.md and docs/SERVER.md.
pub const DEFAULT_FANOUT_BUDGET: u32 = 90_000;

/// The server's default tick phases (`serve --tick-phases`): see
/// [`ServerConfig::tick_phases`].
pub const DEFAULT_TICK_PHASES: u32 = 20;

/// How the server treats its clients. The engine's own knobs (tick period, match timeout)
/// live in [`EngineConfig`](crate::EngineConfig).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The most WebSocket clients served at once; past it an upgrade gets HTTP 503. Checked
    /// against the open-files limit at start.
    pub max_clients: usize,
    /// Events queued for one client before it is cut off as a slow consumer (the original's
    /// `send` channel of 256).
    pub outbox_capacity: usize,
    /// The largest frame or message a client may send, in bytes; past it, close 1009.
    pub max_message: usize,
    /// Messages per second a client may send (a burst of one second's worth is allowed).
    pub rate: u32,
    /// Deliveries per second the server admits for `shout`s, each charged one delivery per
    /// connected client; a shout over it is refused with `busy` (see `admission`). `None`
    /// admits every shout.
    pub fanout_budget: Option<NonZeroU32>,
    /// How often the server pings an idle client.
    pub ping_period: Duration,
    /// How long a client may stay silent (no frame, no pong) before it is closed.
    pub pong_timeout: Duration,
    /// How long one write to a client may take before the client is cut off.
    pub write_timeout: Duration,
    /// tungstenite's read buffer per connection, allocated up front and written through,
    /// so all of it is resident. Its default of 128 KiB would be most of an idle
    /// connection's memory. Measured with 2,000 idle clients on the lock engine: 4 KiB gave
    /// 10.5 KB of server memory per client, 1 KiB 7.4 KB, 512 bytes 6.7 KB. Client frames
    /// are a few hundred bytes at most; a larger one is read in several pieces.
    pub read_buffer: usize,
    /// Bytes of outgoing frames gathered before a write; a drain of the outbox flushes once
    /// at its end whatever this is. The buffer grows only when used.
    pub write_buffer: usize,
    /// How long shutdown waits for clients to take their close frame before it ends anyway.
    pub shutdown_grace: Duration,
    /// Into how many phase groups the engine splits its clients for the tick
    /// ([`EngineConfig::tick_phases`](crate::EngineConfig), passed on by
    /// [`engine_config`](ServerConfig::engine_config)): each client still hears one `tick` a
    /// second, but group `g` (client id modulo this) hears it `g/N` of a second in, so the
    /// second's ticks go out in N smaller bursts instead of one. The clock task tells the
    /// engine the time often enough for each phase to land on time ([`clock_interval`]). 1
    /// ticks everyone at once; 0 counts as 1. The default, 20 (a burst every 50 ms), is
    /// measured in `reports/targets/phases-mixed-10k.md` against 1: at 10,000 mixed clients it
    /// halved the tick p99 and cut the relay p99 by about a third (docs/LOAD.md).
    pub tick_phases: u32,
    /// A test hook, compiled into debug builds only and settable only from code, never from
    /// the command line or the wire: a `say` whose data contains this text panics while it is
    /// handled, to prove that a panic is caught, logged and contained.
    #[cfg(debug_assertions)]
    pub panic_trigger: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_clients: 19_000,
            outbox_capacity: crate::DEFAULT_OUTBOX_CAPACITY,
            max_message: 4096,
            rate: 50,
            fanout_budget: NonZeroU32::new(DEFAULT_FANOUT_BUDGET),
            ping_period: Duration::from_secs(54),
            pong_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            read_buffer: 512,
            write_buffer: 16 * 1024,
            shutdown_grace: Duration::from_secs(4),
            tick_phases: DEFAULT_TICK_PHASES,
            #[cfg(debug_assertions)]
            panic_trigger: None,
        }
    }
}

impl ServerConfig {
    /// `engine` with the settings a server needs of it: the engine relays the finished
    /// `said` / `shouted` frame, so its size limit is the client's plus the envelope; and it
    /// ticks in the server's `tick_phases`.
    pub fn engine_config(&self, engine: crate::EngineConfig) -> crate::EngineConfig {
        crate::EngineConfig {
            max_message_bytes: self.max_message + super::ENVELOPE_BYTES,
            tick_phases: self.tick_phases,
            ..engine
        }
    }

    /// tungstenite's settings for one connection.
    pub(crate) fn websocket(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer)
            .write_buffer_size(self.write_buffer)
            // A slow client is cut off by the outbox bound and the write timeout; this only
            // stops one that never reads from growing the buffer without end meanwhile.
            .max_write_buffer_size(self.write_buffer.max(self.max_message) * 8)
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_message))
    }
}

/// The longest the clock task waits between telling the engine the time: a match timeout
/// ends at most this late.
const CLOCK_INTERVAL: Duration = Duration::from_millis(250);

/// The shortest: below it the clock task's wake-ups would cost more than the late phases it
/// saves.
const MIN_CLOCK_INTERVAL: Duration = Duration::from_millis(10);

/// How often the clock task tells the engine the time, for a tick period split into `phases`
/// phases: `min(250 ms, period / phases)`, but never under 10 ms, so each phase group's tick
/// goes out within one interval of its slot (0 phases count as 1).
pub(crate) fn clock_interval(period: Duration, phases: u32) -> Duration {
    (period / phases.max(1)).clamp(MIN_CLOCK_INTERVAL, CLOCK_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_keeps_up_with_the_phases_within_its_bounds() {
        let second = Duration::from_secs(1);
        let ms = Duration::from_millis;
        assert_eq!(clock_interval(second, 0), ms(250));
        assert_eq!(clock_interval(second, 1), ms(250));
        assert_eq!(clock_interval(second, 4), ms(250));
        assert_eq!(clock_interval(second, 10), ms(100));
        assert_eq!(clock_interval(second, 1000), ms(10));
        assert_eq!(clock_interval(Duration::ZERO, 3), ms(10));
    }
}
