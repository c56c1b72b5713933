//! The generator's side of the wire protocol (docs/PROTOCOL.md): the frames a player sends,
//! written straight into text, and the little it reads of each frame it receives.
//!
//! The generator shares the machine with the server it measures, so its cost per frame is
//! cost the server's figures pay for. A received frame is parsed into [`Received`], a
//! struct of only the fields the measurement and the player's moves need, borrowed from the
//! frame's text where they can be: no JSON tree, no map, no string copied per frame. Every
//! other field (`from`, `room`, `members`, `message`, …) is skipped as it is read.

use std::borrow::Cow;

use serde::Deserialize;

/// What a frame is, by its `type`: the ones a player acts on or times, and the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Said,
    Shouted,
    Tick,
    Matched,
    Left,
    MatchTimeout,
    Error,
    /// `welcome`, `joined`, `member_joined`, `member_left`, and any type added later.
    #[serde(other)]
    Other,
}

/// The fields of a received frame the generator reads; each is present only in the frames of
/// the kinds its comment names.
#[derive(Debug, Deserialize)]
pub(crate) struct Received<'a> {
    #[serde(rename = "type")]
    pub kind: Kind,
    /// `said`: the sender's `data`, as this generator's players write it.
    #[serde(default)]
    pub data: Option<SaidData>,
    /// `shouted`: the text, which this generator's shouters make their intended send time
    /// (µs since the Unix epoch, as digits).
    #[serde(default, borrow)]
    pub text: Option<Text<'a>>,
    /// `tick`: milliseconds since the server started.
    #[serde(default)]
    pub at: Option<u64>,
    /// `error`: its stable code.
    #[serde(default, borrow)]
    pub code: Option<Text<'a>>,
}

/// A string field, borrowed from the frame's text unless it holds an escape. A newtype
/// because serde borrows a `Cow` only when it is the field's whole type, never inside an
/// `Option`.
#[derive(Debug, Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// The `data` of a `say` this generator sent: `t`, the intended send time in µs since the Unix
/// epoch (and `c`, the sender's index, which nothing reads).
#[derive(Debug, Deserialize)]
pub(crate) struct SaidData {
    pub t: Option<u64>,
}

impl<'a> Received<'a> {
    /// Reads `text`; `None` when it is not a JSON object with a known-shaped `type`.
    pub(crate) fn parse(text: &'a str) -> Option<Received<'a>> {
        serde_json::from_str(text).ok()
    }

    /// A `shouted` frame's intended send time, in µs since the Unix epoch.
    pub(crate) fn shouted_at(&self) -> Option<u64> {
        self.text.as_ref()?.0.parse().ok()
    }
}

/// `join` a room of `limit`.
pub(crate) fn join(limit: u8) -> String {
    format!(r#"{{"type":"join","limit":{limit}}}"#)
}

pub(crate) fn leave() -> String {
    r#"{"type":"leave"}"#.to_owned()
}

/// `say` the intended send time `t` (µs since the Unix epoch) as player `index`.
pub(crate) fn say(t: u64, index: usize) -> String {
    format!(r#"{{"type":"say","data":{{"t":{t},"c":{index}}}}}"#)
}

/// `shout` the intended send time `t` (µs since the Unix epoch), as digits.
pub(crate) fn shout(t: u64) -> String {
    format!(r#"{{"type":"shout","text":"{t}"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_player_sends_is_the_protocols_json() {
        let json = |text: String| -> serde_json::Value {
            serde_json::from_str(&text).expect("every frame sent is JSON")
        };
        assert_eq!(json(join(4)), serde_json::json!({"type":"join","limit":4}));
        assert_eq!(json(leave()), serde_json::json!({"type":"leave"}));
        assert_eq!(
            json(say(1_700_000_000_123_456, 42)),
            serde_json::json!({"type":"say","data":{"t":1_700_000_000_123_456_u64,"c":42}})
        );
        assert_eq!(
            json(shout(17)),
            serde_json::json!({"type":"shout","text":"17"})
        );
    }

    #[test]
    fn every_server_frame_reads_as_its_kind_with_the_fields_that_are_timed() {
        let said =
            Received::parse(r#"{"type":"said","from":3,"data":{"t":99,"c":1}}"#).expect("said");
        assert_eq!(said.kind, Kind::Said);
        assert_eq!(said.data.and_then(|d| d.t), Some(99));

        let shouted =
            Received::parse(r#"{"type":"shouted","from":3,"text":"1234"}"#).expect("shouted");
        assert_eq!(shouted.kind, Kind::Shouted);
        assert_eq!(shouted.shouted_at(), Some(1234));
        assert!(
            matches!(shouted.text, Some(Text(Cow::Borrowed(_)))),
            "the text is borrowed from the frame, not copied"
        );

        let tick = Received::parse(r#"{"type":"tick","at":12000}"#).expect("tick");
        assert_eq!((tick.kind, tick.at), (Kind::Tick, Some(12_000)));

        let error = Received::parse(
            r#"{"type":"error","code":"not_in_room","message":"you are \"not\" in a room","command":"say"}"#,
        )
        .expect("error");
        assert_eq!(error.kind, Kind::Error);
        assert_eq!(error.code.map(|c| c.0), Some(Cow::from("not_in_room")));

        for (text, kind) in [
            (
                r#"{"type":"matched","room":"r2-4","members":[3,7]}"#,
                Kind::Matched,
            ),
            (r#"{"type":"left","room":"r2-4"}"#, Kind::Left),
            (
                r#"{"type":"match_timeout","room":"r2-4"}"#,
                Kind::MatchTimeout,
            ),
            (
                r#"{"type":"welcome","client":9,"engine":"lock/1"}"#,
                Kind::Other,
            ),
            (
                r#"{"type":"member_joined","room":"r2-4","client":3}"#,
                Kind::Other,
            ),
            (
                r#"{"type":"joined","room":"r2-4","members":[3,7],"limit":2}"#,
                Kind::Other,
            ),
            (r#"{"type":"something_new","x":{"y":[1]}}"#, Kind::Other),
        ] {
            assert_eq!(Received::parse(text).map(|r| r.kind), Some(kind), "{text}");
        }
    }

    #[test]
    fn a_frame_that_is_not_a_typed_object_reads_as_nothing() {
        for text in ["", "nope", "[1,2]", r#"{"at":5}"#, r#"{"type":7}"#] {
            assert!(Received::parse(text).is_none(), "{text}");
        }
        for text in [
            r#"{"type":"shouted","from":1,"text":"hello"}"#,
            r#"{"type":"shouted","from":1,"text":"a \"quoted\" shout"}"#,
        ] {
            let odd = Received::parse(text).expect("a shout from someone else reads");
            assert_eq!(odd.shouted_at(), None, "{text}");
        }
    }
}
