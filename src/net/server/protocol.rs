//! The wire protocol (docs/PROTOCOL.md): JSON text frames tagged by `type`, parsed into engine
//! commands, and engine events encoded into frames.
//!
//! A `said` or `shouted` frame is encoded once, when the server receives the `say` or `shout`,
//! and the engine relays that finished frame as its opaque payload: every recipient's writer
//! sends the same bytes, and a shout to 19,000 clients is one encoding, not 19,000.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::{ClientId, Command, CommandKind, ErrorCode, Event, RoomId};

/// A frame a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Join { limit: u8 },
    Leave,
    Say { data: Value },
    Shout { text: String },
}

/// Why a frame from a client was not a command. The codes are stable: clients match on them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("the frame is not JSON: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    UnknownType(String),
    #[error("{0}")]
    InvalidField(String),
    #[error("binary frames are not part of the protocol: send JSON text")]
    BinaryFrame,
    #[error("over the rate limit of {0} messages per second: this message was dropped")]
    RateLimited(u32),
    /// A shout over the server's fan-out budget; nothing reached the engine.
    #[error("the server is delivering all the shouts it can: this shout was dropped, try later")]
    Busy,
    #[error("the server failed while handling your message; your room was dissolved")]
    Internal,
}

impl ProtocolError {
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::InvalidJson(_) => "invalid_json",
            ProtocolError::UnknownType(_) => "unknown_type",
            ProtocolError::InvalidField(_) => "invalid_field",
            ProtocolError::BinaryFrame => "binary_frame",
            ProtocolError::RateLimited(_) => "rate_limited",
            ProtocolError::Busy => "busy",
            ProtocolError::Internal => "internal_error",
        }
    }

    /// The command refused, for the errors that refuse a whole command rather than a frame.
    pub fn command(&self) -> Option<CommandKind> {
        match self {
            ProtocolError::Busy => Some(CommandKind::Shout),
            _ => None,
        }
    }

    /// The `error` frame that tells the client.
    pub fn frame(&self) -> Utf8Bytes {
        encode(&ErrorFrame {
            kind: "error",
            code: self.code(),
            message: &self.to_string(),
            command: self.command(),
        })
    }
}

/// Parses one text frame from `client` into the command to submit. `say` and `shout` come back
/// with their outgoing frame already encoded as the payload.
pub fn parse(client: ClientId, text: &str) -> Result<Command, ProtocolError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| ProtocolError::InvalidJson(e.to_string()))?;
    match value.get("type").and_then(Value::as_str) {
        Some("join" | "leave" | "say" | "shout") => {}
        Some(other) => {
            return Err(ProtocolError::UnknownType(format!(
                "unknown message type `{other}`: expected join, leave, say or shout"
            )));
        }
        None => {
            return Err(ProtocolError::UnknownType(
                "a message needs a string field `type`".to_owned(),
            ));
        }
    }
    let message: ClientMessage =
        serde_json::from_value(value).map_err(|e| ProtocolError::InvalidField(e.to_string()))?;
    Ok(match message {
        ClientMessage::Join { limit } => Command::Join { limit },
        ClientMessage::Leave => Command::Leave,
        ClientMessage::Say { data } => Command::Say {
            data: encode_string(&SaidFrame {
                kind: "said",
                from: client,
                data: &data,
            }),
        },
        ClientMessage::Shout { text } => Command::Shout {
            text: encode_string(&ShoutedFrame {
                kind: "shouted",
                from: client,
                text: &text,
            }),
        },
    })
}

/// How many bytes the `said` envelope adds around a client's `data`, at most: the engine's size
/// limit applies to the encoded frame, so it is the client's limit plus this.
pub const ENVELOPE_BYTES: usize = 64;

/// The first frame of every connection.
pub fn welcome(client: ClientId, engine: &str) -> Utf8Bytes {
    #[derive(Serialize)]
    struct Welcome<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        client: ClientId,
        engine: &'a str,
    }
    encode(&Welcome {
        kind: "welcome",
        client,
        engine,
    })
}

/// The frame that carries `event` to a client.
pub fn event_frame(event: &Event) -> Utf8Bytes {
    match event {
        // Encoded once by `parse` when the client sent it; shared by every recipient.
        Event::Said { data: frame, .. } | Event::Shouted { text: frame, .. } => shared(frame),
        Event::Tick { at } => tick_frame(*at),
        Event::Joined { room, members } => encode(&RoomFrame {
            kind: "joined",
            room: room_name(room),
            members: Some(members),
            client: None,
            limit: Some(room.limit),
        }),
        Event::MemberJoined { room, client } => room_event("member_joined", room, Some(*client)),
        Event::Matched { room, members } => encode(&RoomFrame {
            kind: "matched",
            room: room_name(room),
            members: Some(members),
            client: None,
            limit: None,
        }),
        Event::MemberLeft { room, client } => room_event("member_left", room, Some(*client)),
        Event::Left { room } => room_event("left", room, None),
        Event::MatchTimeout { room } => room_event("match_timeout", room, None),
        Event::Error { code, command } => engine_error(*code, *command),
    }
}

/// The room's name on the wire: `r<limit>-<n>`.
pub fn room_name(room: &RoomId) -> String {
    room.to_string()
}

fn room_event(kind: &'static str, room: &RoomId, client: Option<ClientId>) -> Utf8Bytes {
    encode(&RoomFrame {
        kind,
        room: room_name(room),
        members: None,
        client,
        limit: None,
    })
}

fn engine_error(code: ErrorCode, command: CommandKind) -> Utf8Bytes {
    encode(&ErrorFrame {
        kind: "error",
        code: code.as_str(),
        message: code.describe(),
        command: Some(command),
    })
}

/// Every client gets the same tick within a few microseconds, usually on the same worker
/// thread: the last encoding is kept per thread and reused while the time is the same.
fn tick_frame(at: Duration) -> Utf8Bytes {
    thread_local! {
        static LAST: RefCell<Option<(Duration, Utf8Bytes)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if let Some((when, frame)) = last
            && *when == at
        {
            return frame.clone();
        }
        #[derive(Serialize)]
        struct Tick {
            #[serde(rename = "type")]
            kind: &'static str,
            at: u64,
        }
        let frame = encode(&Tick {
            kind: "tick",
            at: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
        });
        *last = Some((at, frame.clone()));
        frame
    })
}

/// A frame encoded earlier, as a WebSocket text payload without copying it.
fn shared(frame: &Arc<str>) -> Utf8Bytes {
    struct Owner(Arc<str>);
    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    // The check walks the bytes once more; it is what keeps this free of `unsafe`, and it is
    // a scan, not an encoding.
    Utf8Bytes::try_from(Bytes::from_owner(Owner(frame.clone())))
        .unwrap_or_else(|_| Utf8Bytes::from(frame.to_string()))
}

#[derive(Serialize)]
struct RoomFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<&'a [ClientId]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<ClientId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u8>,
}

#[derive(Serialize)]
struct ErrorFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<CommandKind>,
}

#[derive(Serialize)]
struct SaidFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    from: ClientId,
    data: &'a Value,
}

#[derive(Serialize)]
struct ShoutedFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    from: ClientId,
    text: &'a str,
}

fn encode_string<T: Serialize>(frame: &T) -> Arc<str> {
    // Serializing plain structs of strings, numbers and JSON values cannot fail.
    Arc::from(serde_json::to_string(frame).unwrap_or_default())
}

fn encode<T: Serialize>(frame: &T) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(frame: &Utf8Bytes) -> Value {
        serde_json::from_str(frame.as_str()).expect("every frame is JSON")
    }

    #[test]
    fn commands_parse_and_say_carries_its_finished_frame() {
        let me = ClientId(7);
        assert_eq!(
            parse(me, r#"{"type":"join","limit":3}"#),
            Ok(Command::Join { limit: 3 })
        );
        assert_eq!(parse(me, r#"{"type":"leave"}"#), Ok(Command::Leave));
        let Ok(Command::Say { data }) = parse(me, r#"{"type":"say","data":{"x":[1,2]}}"#) else {
            panic!("say did not parse");
        };
        let said = event_frame(&Event::Said {
            room: RoomId { limit: 2, seq: 1 },
            from: me,
            data,
        });
        assert_eq!(
            json(&said),
            serde_json::json!({"type":"said","from":7,"data":{"x":[1,2]}})
        );
    }

    #[test]
    fn bad_frames_get_the_right_code() {
        let me = ClientId(1);
        let code = |text: &str| parse(me, text).err().map(|e| e.code());
        assert_eq!(code("{nope"), Some("invalid_json"));
        assert_eq!(code(r#"{"type":"dance"}"#), Some("unknown_type"));
        assert_eq!(code(r#"{"limit":2}"#), Some("unknown_type"));
        assert_eq!(code(r#"{"type":7}"#), Some("unknown_type"));
        assert_eq!(
            code(r#"{"type":"join","limit":"two"}"#),
            Some("invalid_field")
        );
        assert_eq!(
            code(r#"{"type":"join","limit":300}"#),
            Some("invalid_field")
        );
        assert_eq!(code(r#"{"type":"join"}"#), Some("invalid_field"));
        assert_eq!(code(r#"{"type":"shout","text":5}"#), Some("invalid_field"));
        let frame = json(&ProtocolError::BinaryFrame.frame());
        assert_eq!(frame["type"], "error");
        assert_eq!(frame["code"], "binary_frame");
        assert_eq!(frame.get("command"), None);
        let busy = json(&ProtocolError::Busy.frame());
        assert_eq!(busy["code"], "busy");
        assert_eq!(busy["command"], "shout", "{busy}");
    }

    #[test]
    fn events_encode_as_documented() {
        let room = RoomId { limit: 2, seq: 4 };
        let members: Arc<[ClientId]> = Arc::from(vec![ClientId(3), ClientId(7)]);
        let cases = [
            (
                Event::Joined {
                    room,
                    members: members.clone(),
                },
                serde_json::json!({"type":"joined","room":"r2-4","members":[3,7],"limit":2}),
            ),
            (
                Event::Matched { room, members },
                serde_json::json!({"type":"matched","room":"r2-4","members":[3,7]}),
            ),
            (
                Event::MemberLeft {
                    room,
                    client: ClientId(3),
                },
                serde_json::json!({"type":"member_left","room":"r2-4","client":3}),
            ),
            (
                Event::Tick {
                    at: Duration::from_millis(12_000),
                },
                serde_json::json!({"type":"tick","at":12000}),
            ),
            (
                Event::Error {
                    code: ErrorCode::NotInRoom,
                    command: CommandKind::Say,
                },
                serde_json::json!({"type":"error","code":"not_in_room",
                    "message":"you are not in a room: join one first","command":"say"}),
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(json(&event_frame(&event)), expected, "{event:?}");
        }
        assert_eq!(
            json(&welcome(ClientId(9), "lock/1")),
            serde_json::json!({"type":"welcome","client":9,"engine":"lock/1"})
        );
    }

    #[test]
    fn a_repeated_tick_is_the_same_frame_and_a_new_time_a_new_one() {
        let a = tick_frame(Duration::from_secs(1));
        let b = tick_frame(Duration::from_secs(1));
        let c = tick_frame(Duration::from_secs(2));
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert_eq!(c.as_str(), r#"{"type":"tick","at":2000}"#);
    }
}
