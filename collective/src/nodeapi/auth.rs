//! Who is asking: a node's API key against the crypt hash it registered.
//!
//! sha-crypt costs 5000 rounds of SHA-512 by design, so a key verified once
//! is remembered as the SHA-256 of the key next to the hash it matched;
//! the next request with the same key and the same stored hash is a table
//! lookup. A new registration changes the stored hash, which invalidates
//! the entry by itself. A key that does not verify against this member's
//! copy of the state is checked once more after a linearizable read: the
//! node may have registered through another member a moment ago.
//!
//! Hashing runs on the blocking pool, one at a time per member: a fleet of
//! nodes booting at once must not take the CPU from the Raft heartbeats
//! (200 simultaneous checks on the async workers cost the leader its lease
//! in the fleet test); nodes wait a little longer instead.

use std::collections::HashMap;
use std::sync::Mutex;

use cohort_api::nodeapi::{APIKEY_HEADER, NODE_HEADER};
use hyper::HeaderMap;

use super::{ApiRefusal, NodeApiService, header};

/// Keys already verified, per node: (stored hash, SHA-256 of the key).
pub struct KeyCache {
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
    /// One sha-crypt check at a time.
    hashing: tokio::sync::Semaphore,
}

impl Default for KeyCache {
    fn default() -> KeyCache {
        KeyCache {
            verified: Mutex::default(),
            hashing: tokio::sync::Semaphore::new(1),
        }
    }
}

const KEY_ATTR: &str = "crypted.selfapikey";
/// Longest key accepted (the agent sends 43 characters).
const MAX_KEY: usize = 128;

impl NodeApiService {
    /// The node a request comes from, or why not.
    pub(super) async fn authenticate(&self, headers: &HeaderMap) -> Result<String, ApiRefusal> {
        let node = header(headers, NODE_HEADER).ok_or_else(|| {
            ApiRefusal::Unauthorized(format!(
                "send headers {NODE_HEADER} and {APIKEY_HEADER} (the node's API key)"
            ))
        })?;
        let key = header(headers, APIKEY_HEADER)
            .filter(|k| k.len() <= MAX_KEY)
            .ok_or_else(|| {
                ApiRefusal::Unauthorized(format!("send header {APIKEY_HEADER}: the node's API key"))
            })?;
        let stored = self.member.core().state.read(|s| stored_hash(s, node));
        if let Some(h) = &stored
            && self.keys.check(node, key, h).await
        {
            return Ok(node.to_owned());
        }
        let stored = self
            .member
            .read_linearizable(|s| stored_hash(s, node))
            .await
            .map_err(|e| ApiRefusal::Unavailable(e.to_string()))?;
        let verified = match &stored {
            Some(h) => self.keys.check(node, key, h).await,
            None => false,
        };
        match stored {
            Some(_) if verified => Ok(node.to_owned()),
            Some(_) => Err(ApiRefusal::Unauthorized(format!(
                "wrong API key for node {node}"
            ))),
            None => Err(ApiRefusal::Unauthorized(format!(
                "node {node} has no API key registered; run `cohort nodedeploy {node} -n PROFILE` \
                 and let the node register one"
            ))),
        }
    }
}

fn stored_hash(state: &cohort_state::State, node: &str) -> Option<String> {
    state
        .inventory()
        .node_value(node, KEY_ATTR)
        .map(|v| v.value.to_owned())
        .filter(|v| !v.is_empty())
}

impl KeyCache {
    /// Whether `key` matches `stored` for `node`, from the cache or by
    /// hashing (and then cached).
    async fn check(&self, node: &str, key: &str, stored: &str) -> bool {
        let digest = crate::server::sha256(key.as_bytes());
        let known = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(node)
            .is_some_and(|(h, d)| h == stored && *d == digest);
        if known {
            return true;
        }
        let Ok(_turn) = self.hashing.acquire().await else {
            return false;
        };
        let (k, h) = (key.to_owned(), stored.to_owned());
        let ok = tokio::task::spawn_blocking(move || crate::crypt::verify(&k, &h))
            .await
            .unwrap_or(false);
        if ok {
            self.verified
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(node.to_owned(), (stored.to_owned(), digest));
        }
        ok
    }
}
