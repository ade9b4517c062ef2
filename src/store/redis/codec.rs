//! How challenges and sessions are laid out in Redis hashes, and ids as hex.

use crate::keys::Sealed;
use crate::store::ephemeral::{Challenge, ChallengeStage, FactorState, Session};
use crate::store::StoreError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;

pub use crate::ops::hex::{hex, unhex};

pub fn sealed_json(s: &Sealed) -> Value {
    json!({ "key": s.key_id, "nonce": B64.encode(&s.nonce), "ct": B64.encode(&s.ciphertext) })
}

pub fn sealed_from(v: &Value) -> Option<Sealed> {
    Some(Sealed {
        key_id: v.get("key")?.as_str()?.to_string(),
        nonce: B64.decode(v.get("nonce")?.as_str()?).ok()?,
        ciphertext: B64.decode(v.get("ct")?.as_str()?).ok()?,
    })
}

fn state_json(state: &FactorState) -> Value {
    json!({ "method": state.method, "data": B64.encode(&state.data) })
}

fn state_from(v: &Value) -> Option<FactorState> {
    Some(FactorState {
        method: v.get("method")?.as_str()?.to_string(),
        data: B64.decode(v.get("data")?.as_str()?).ok()?,
    })
}

/// The factors' states of a challenge, as one field.
fn began_json(began: &[FactorState]) -> String {
    Value::Array(began.iter().map(state_json).collect()).to_string()
}

fn began_from(text: &str) -> Option<Vec<FactorState>> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.as_array()?.iter().map(state_from).collect()
}

pub fn stage_json(stage: &ChallengeStage) -> String {
    match stage {
        ChallengeStage::Verify => json!({ "kind": "verify" }),
        ChallengeStage::Invite => json!({ "kind": "invite" }),
        ChallengeStage::Enroll { pending } => {
            json!({ "kind": "enroll", "pending": state_json(pending) })
        }
        ChallengeStage::AcknowledgeRecoveryCodes { codes } => {
            json!({ "kind": "acknowledge", "codes": sealed_json(codes) })
        }
    }
    .to_string()
}

pub fn stage_from(text: &str) -> Option<ChallengeStage> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v.get("kind")?.as_str()? {
        "verify" => Some(ChallengeStage::Verify),
        "invite" => Some(ChallengeStage::Invite),
        // Without its sealed codes (written by a gateway before they were kept) the stage
        // cannot show them again: unreadable, and the login starts over.
        "acknowledge" => Some(ChallengeStage::AcknowledgeRecoveryCodes {
            codes: sealed_from(v.get("codes")?)?,
        }),
        // One written by a gateway before enrollments were any factor's (`factor`, `secret`)
        // is unreadable too: that login starts over.
        "enroll" => Some(ChallengeStage::Enroll {
            pending: state_from(v.get("pending")?)?,
        }),
        _ => None,
    }
}

pub type Fields = HashMap<String, String>;

fn field<T: std::str::FromStr>(f: &Fields, name: &str) -> Result<T, StoreError> {
    f.get(name)
        .and_then(|v| v.parse().ok())
        .ok_or(StoreError::Corrupt("a stored record lacks a field"))
}

fn text(f: &Fields, name: &str) -> Result<String, StoreError> {
    f.get(name)
        .cloned()
        .ok_or(StoreError::Corrupt("a stored record lacks a field"))
}

pub fn challenge_from(id: &str, f: &Fields) -> Result<Challenge, StoreError> {
    let withheld: Value = serde_json::from_str(&text(f, "withheld")?)
        .map_err(|_| StoreError::Corrupt("withheld answer"))?;
    Ok(Challenge {
        id: id.to_string(),
        realm: text(f, "realm")?,
        app: text(f, "app")?,
        user: text(f, "user")?,
        created_at: field(f, "created_at")?,
        expires_at: field(f, "expires_at")?,
        failures: field(f, "failures")?,
        revision: field(f, "revision")?,
        stage: stage_from(&text(f, "stage")?).ok_or(StoreError::Corrupt("challenge stage"))?,
        // Absent from challenges an older gateway stored: nothing was begun then.
        began: match f.get("began") {
            Some(text) => began_from(text).ok_or(StoreError::Corrupt("challenge factor state"))?,
            None => Vec::new(),
        },
        withheld: sealed_from(&withheld).ok_or(StoreError::Corrupt("withheld answer"))?,
    })
}

pub fn session_from(f: &Fields) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: unhex(&text(f, "id")?).ok_or(StoreError::Corrupt("session id"))?,
        realm: text(f, "realm")?,
        app: text(f, "app")?,
        user: text(f, "user")?,
        created_at: field(f, "created_at")?,
        last_seen_at: field(f, "last_seen_at")?,
        mfa_at: field(f, "mfa_at")?,
        idle_timeout_secs: field(f, "idle")?,
        absolute_expires_at: field(f, "abs")?,
        // Absent from sessions an older gateway stored.
        user_agent: f.get("ua").cloned().unwrap_or_default(),
        client: f.get("client").cloned().unwrap_or_default(),
    })
}

/// A session as hash fields.
pub fn session_fields(s: &Session) -> Vec<(&'static str, String)> {
    vec![
        ("id", hex(&s.id_hash)),
        ("realm", s.realm.clone()),
        ("app", s.app.clone()),
        ("user", s.user.clone()),
        ("created_at", s.created_at.to_string()),
        ("last_seen_at", s.last_seen_at.to_string()),
        ("mfa_at", s.mfa_at.to_string()),
        ("idle", s.idle_timeout_secs.to_string()),
        ("abs", s.absolute_expires_at.to_string()),
        ("ua", s.user_agent.clone()),
        ("client", s.client.clone()),
    ]
}

/// A challenge as hash fields.
pub fn challenge_fields(c: &Challenge) -> Vec<(&'static str, String)> {
    vec![
        ("realm", c.realm.clone()),
        ("app", c.app.clone()),
        ("user", c.user.clone()),
        ("created_at", c.created_at.to_string()),
        ("expires_at", c.expires_at.to_string()),
        ("failures", c.failures.to_string()),
        ("revision", c.revision.to_string()),
        ("stage", stage_json(&c.stage)),
        ("began", began_json(&c.began)),
        ("withheld", sealed_json(&c.withheld).to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_ids_round_trip() {
        for stage in [
            ChallengeStage::Invite,
            ChallengeStage::Verify,
            ChallengeStage::AcknowledgeRecoveryCodes {
                codes: Sealed {
                    key_id: "k2".into(),
                    nonce: vec![4; 24],
                    ciphertext: vec![5; 40],
                },
            },
            ChallengeStage::Enroll {
                pending: FactorState {
                    method: "totp".into(),
                    data: vec![0, 1, 2, 255],
                },
            },
        ] {
            assert_eq!(stage_from(&stage_json(&stage)), Some(stage));
        }
        let began = vec![FactorState {
            method: "sent_code".into(),
            data: b"state".to_vec(),
        }];
        assert_eq!(began_from(&began_json(&began)), Some(began));
        assert_eq!(began_from("[]"), Some(vec![]));
        // A stage written without its codes is not taken for one that has them.
        assert_eq!(stage_from(r#"{"kind":"acknowledge"}"#), None);
        let id = [0xab; 32];
        assert_eq!(unhex(&hex(&id)), Some(id));
        assert_eq!(unhex("zz"), None);
    }
}
