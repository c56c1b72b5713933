//! Delivery into outboxes, shared by every engine: count what was delivered, close and
//! remember a full outbox's client, never wait. The model (`spec::model`) keeps its own copy of
//! these rules on purpose: it shares no delivery code with the engines, so a mistake here shows
//! up as a difference from it.

use std::collections::BTreeSet;

use crate::domain::command::CommandKind;
use crate::domain::event::{ErrorCode, Event};
use crate::domain::ids::ClientId;
use crate::domain::outbox::{CloseReason, OutboxSender, PushError};
use crate::domain::snapshot::Counters;

/// Delivers events for one piece of work.
///
/// A full outbox is closed at once (so nothing more lands in it) and its client is added to
/// `cuts`; the owner removes those clients, lowest id first, when the work is done. Deferring
/// the removal keeps a cut from reshaping a room in the middle of delivering to it, and makes
/// the order of cut effects the same in every engine.
pub(crate) struct Courier<'a> {
    pub(crate) counters: &'a mut Counters,
    pub(crate) cuts: &'a mut BTreeSet<ClientId>,
}

impl Courier<'_> {
    pub(crate) fn send(&mut self, to: ClientId, outbox: &OutboxSender, event: Event) {
        match outbox.try_push(event) {
            Ok(()) => self.counters.events_delivered += 1,
            Err(PushError::Full) => {
                if outbox.close(CloseReason::SlowConsumer) {
                    self.counters.slow_consumer_cuts += 1;
                    self.cuts.insert(to);
                }
            }
            Err(PushError::Closed) => {}
        }
    }

    pub(crate) fn error(
        &mut self,
        to: ClientId,
        outbox: &OutboxSender,
        code: ErrorCode,
        command: CommandKind,
    ) {
        self.counters.errors += 1;
        self.send(to, outbox, Event::Error { code, command });
    }
}
