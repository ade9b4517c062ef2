//! Where each record lives under the prefix (the layout is described in the module above).

use super::RedisStore;

impl RedisStore {
    pub(super) fn challenge_key(&self, id: &str) -> String {
        format!("{}{{c}}:{id}", self.prefix)
    }

    pub(super) fn pending_key(&self) -> String {
        format!("{}{{c}}:pending", self.prefix)
    }

    pub(super) fn session_key(&self, sid: &str) -> String {
        format!("{}{{{sid}}}:s", self.prefix)
    }

    pub(super) fn credentials_key(&self, sid: &str) -> String {
        format!("{}{{{sid}}}:sb", self.prefix)
    }

    pub(super) fn binding_key(&self, credential: &str) -> String {
        format!("{}b:{credential}", self.prefix)
    }

    pub(super) fn burned_key(&self, credential: &str) -> String {
        format!("{}burned:{credential}", self.prefix)
    }

    pub(super) fn user_key(&self, realm: &str, user: &str) -> String {
        format!("{}u:{}:{realm}:{user}", self.prefix, realm.len())
    }

    pub(super) fn all_sessions_key(&self) -> String {
        format!("{}sessions", self.prefix)
    }

    pub(super) fn reaper_key(&self) -> String {
        format!("{}reaper", self.prefix)
    }

    pub(super) fn failures_key(&self, subject: &str) -> String {
        format!("{}{{rl}}:n:{subject}", self.prefix)
    }

    pub(super) fn lock_key(&self, subject: &str) -> String {
        format!("{}{{rl}}:l:{subject}", self.prefix)
    }

    pub(super) fn locks_key(&self) -> String {
        format!("{}{{rl}}:locks", self.prefix)
    }
}
