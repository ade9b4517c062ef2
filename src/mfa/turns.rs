//! One request at a time per gateway session, for apps the gateway asks after every answer
//! whether a session is still its user's (`identity.whoami.after_each_answer`). Without turns,
//! a request that puts another user into the session, one that renders a page as that user and
//! one that switches the session back could all reach the app before the second one is
//! checked, and the check would see the first user again. Within one gateway process only:
//! requests of one session spread over several gateways are not ordered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

type Turn = tokio::sync::Mutex<()>;

#[derive(Default)]
pub struct Turns {
    live: Mutex<HashMap<[u8; 32], Weak<Turn>>>,
}

impl Turns {
    /// Waits (at most `wait`) until no other request of this session is between being
    /// forwarded and being checked. `None`: waited too long.
    pub async fn take(&self, session: [u8; 32], wait: Duration) -> Option<OwnedMutexGuard<()>> {
        let turn = {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            if live.len() >= 1024 && live.len().is_power_of_two() {
                live.retain(|_, t| t.strong_count() > 0);
            }
            match live.get(&session).and_then(Weak::upgrade) {
                Some(turn) => turn,
                None => {
                    let turn = Arc::new(Turn::default());
                    live.insert(session, Arc::downgrade(&turn));
                    turn
                }
            }
        };
        tokio::time::timeout(wait, turn.lock_owned()).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_request_of_a_session_at_a_time_and_other_sessions_free() {
        let turns = Turns::default();
        let wait = Duration::from_millis(50);
        let first = turns.take([1; 32], wait).await.expect("first turn");
        assert!(turns.take([1; 32], wait).await.is_none(), "second waits");
        assert!(
            turns.take([2; 32], wait).await.is_some(),
            "other sessions go on"
        );
        drop(first);
        assert!(
            turns.take([1; 32], wait).await.is_some(),
            "next turn after the first"
        );
    }

    #[tokio::test]
    async fn finished_sessions_are_forgotten() {
        let turns = Turns::default();
        for i in 0..3000u32 {
            let mut id = [0; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            drop(turns.take(id, Duration::from_millis(50)).await);
        }
        assert!(turns.live.lock().unwrap().len() < 2048);
    }
}
