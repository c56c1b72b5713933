//! [`Call`]: the one way the specification describes a call of the engine contract. The model
//! and the linearizability checker apply calls as made (clients by the ids an engine returned);
//! scripts and race scenarios are lists of calls written before any id exists, so each names
//! its clients its own way ([`ClientName`]) and a runner turns every call into a made one as
//! it makes it.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::command::Command;
use crate::domain::ids::{ClientId, Player};

/// One call of the engine contract. `C` names the client a call is about: the id an engine
/// returned (the default, for calls as made), a script's connect-order index (`usize`), or a
/// race scenario's [`Who`](crate::verify::scenario::Who).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Call<C: ClientName = ClientId> {
    /// `connect`: made, with the id the engine returned and the player; in a list written
    /// before the run, nothing (`()`): the engine picks the id.
    Connect(C::Connect),
    Submit(C, Command),
    Disconnect(C),
    /// `tick`: made, the time it passed; in a script or scenario, by how much the caller moves
    /// its own clock on before it ticks.
    Tick(Duration),
}

/// How a list of calls names a client, and so what its connects say.
pub trait ClientName: Clone + fmt::Debug + Eq + Hash {
    /// What a `Connect` carries.
    type Connect: Clone + fmt::Debug + Eq + Hash;
}

/// A made connect: the id the engine returned, for the player that asked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Connected {
    pub client: ClientId,
    pub player: Player,
}

impl ClientName for ClientId {
    type Connect = Connected;
}

/// A script's clients: by the order they connected (0 is the first).
impl ClientName for usize {
    type Connect = ();
}

impl<C: ClientName<Connect = ()>> Call<C> {
    /// Connects a new client, whose id the engine picks.
    pub fn connect() -> Call<C> {
        Call::Connect(())
    }
}

impl<C: ClientName> Call<C> {
    pub fn join(client: C, limit: u8) -> Call<C> {
        Call::Submit(client, Command::Join { limit })
    }

    pub fn leave(client: C) -> Call<C> {
        Call::Submit(client, Command::Leave)
    }

    pub fn say(client: C, data: impl Into<Arc<str>>) -> Call<C> {
        Call::Submit(client, Command::Say { data: data.into() })
    }

    pub fn shout(client: C, text: impl Into<Arc<str>>) -> Call<C> {
        Call::Submit(client, Command::Shout { text: text.into() })
    }

    /// The client the call names, if it names one.
    pub fn client(&self) -> Option<&C> {
        match self {
            Call::Submit(client, _) | Call::Disconnect(client) => Some(client),
            Call::Connect(_) | Call::Tick(_) => None,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Connect(Connected { client, .. }) => write!(f, "connect → {client}"),
            Call::Submit(client, command) => match command {
                Command::Join { limit } => write!(f, "{client} join {limit}"),
                Command::Leave => write!(f, "{client} leave"),
                Command::Say { data } => write!(f, "{client} say {data:?}"),
                Command::Shout { text } => write!(f, "{client} shout {text:?}"),
            },
            Call::Disconnect(client) => write!(f, "disconnect {client}"),
            Call::Tick(now) => write!(f, "tick {now:?}"),
        }
    }
}
