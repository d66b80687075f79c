//! Exactly-once application of client requests.
//!
//! A client (one CLI invocation, one daemon connection) numbers its requests;
//! a write forwarded to a leader that crashed after committing may be sent
//! again, and must not be applied twice (`noderename a b` twice would fail
//! the second time, `groups,=x` would warn). The table keeps, per client, the
//! highest sequence number applied and the response it got: a retry of that
//! number gets the same response without applying; an older number is
//! refused as stale.
//!
//! The table is bounded deterministically: a client is forgotten once its
//! last request is [`WINDOW_MS`] older than the current request's `now_ms`
//! (the leader's clock, stamped in the log, so every member forgets at the
//! same entry). An index by `(last_ms, client)` makes that sweep cost only
//! the entries it drops. A hard cap on clients bounds a burst of short-lived
//! clients inside one window, evicting the oldest first. Rejected: a
//! per-entry TTL checked on lookup (the table would never shrink), and
//! sweeping on a timer (a timer is not part of the log, so members would
//! disagree).
//!
//! The table is part of the state and of snapshots: a member restored from
//! a snapshot must dedupe exactly as one that applied the whole log.

use std::collections::{BTreeMap, BTreeSet};

use crate::{ClientId, Response};

/// How long a client's last response is kept: far beyond any retry loop.
pub const WINDOW_MS: u64 = 15 * 60 * 1000;

/// Most clients remembered at once.
pub const MAX_CLIENTS: usize = 100_000;

/// The last request of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) last_ms: u64,
    pub(crate) response: Response,
}

/// What to do with an incoming request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not seen: apply it.
    Fresh,
    /// The client's last request again: answer this, do not apply.
    Repeat(Response),
    /// Older than the client's last request, which is `last`.
    Stale { last: u64 },
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Dedupe {
    clients: BTreeMap<ClientId, Entry>,
    /// The same entries by age, oldest first.
    by_age: BTreeSet<(u64, ClientId)>,
}

impl Dedupe {
    /// Forgets the clients whose last request is a full window old.
    pub(crate) fn expire(&mut self, now_ms: u64) {
        while let Some(&(last_ms, client)) = self.by_age.first() {
            if now_ms.saturating_sub(last_ms) < WINDOW_MS {
                break;
            }
            self.by_age.pop_first();
            self.clients.remove(&client);
        }
    }

    pub(crate) fn check(&self, client: ClientId, seq: u64) -> Verdict {
        match self.clients.get(&client) {
            Some(e) if e.seq == seq => Verdict::Repeat(e.response.clone()),
            Some(e) if seq < e.seq => Verdict::Stale { last: e.seq },
            _ => Verdict::Fresh,
        }
    }

    /// Records the response to a fresh request.
    pub(crate) fn record(&mut self, client: ClientId, seq: u64, now_ms: u64, response: Response) {
        let entry = Entry {
            seq,
            last_ms: now_ms,
            response,
        };
        if let Some(old) = self.clients.insert(client, entry) {
            self.by_age.remove(&(old.last_ms, client));
        }
        self.by_age.insert((now_ms, client));
        while self.clients.len() > MAX_CLIENTS {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.clients.remove(&oldest);
        }
    }

    /// Loads one entry from a snapshot; `false` if the client is already
    /// there (a damaged snapshot).
    pub(crate) fn load(&mut self, client: ClientId, entry: Entry) -> bool {
        if self.clients.contains_key(&client) {
            return false;
        }
        self.by_age.insert((entry.last_ms, client));
        self.clients.insert(client, entry);
        true
    }

    /// Every entry by client id.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (ClientId, &Entry)> + '_ {
        self.clients.iter().map(|(c, e)| (*c, e))
    }

    pub(crate) fn get(&self, client: ClientId) -> Option<&Entry> {
        self.clients.get(&client)
    }

    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }
}
