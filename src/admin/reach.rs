//! Where sessions and locks are reached: a shared store every process reaches, or the running
//! gateway's memory through its admin listener; and what a command says when neither answers.

use super::remote;
use super::state::{self, StateOp, StateReply};
use super::{Admin, AdminError};

/// Where sessions and locks are: a shared store every process reaches, or the running
/// gateway's memory (reached through its admin listener, or not at all without one).
pub(super) enum StateAccess {
    Direct(crate::store::AnyEphemeral),
    Gateway(remote::GatewayClient),
    Unreachable,
}

/// Whether a running gateway holds the lock file (a file that cannot be opened counts as held:
/// not knowing is not proof of a stopped gateway).
fn gateway_holds(lock: &std::path::Path) -> bool {
    match std::fs::OpenOptions::new().write(true).open(lock) {
        Ok(file) => match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        },
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// Why sessions and locks could not be asked for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Absent {
    /// Nothing listens at the admin address: the gateway is stopped, and with it the memory
    /// its sessions and locks lived in.
    NotRunning(std::net::SocketAddr),
    /// No admin listener is configured: a running gateway may hold some.
    NoListener,
}

impl Absent {
    pub(super) fn note(self) -> String {
        match self {
            Absent::NotRunning(addr) => format!(
                "note: the gateway is not running (nothing answers at {addr}); it keeps sessions and locks in its memory, so there are none. Users, factors and invitations are read from the database."
            ),
            Absent::NoListener => "note: sessions and locks are not shown: this gateway keeps them in its own memory and the config has no admin listener (admin.address) to reach it. Users, factors and invitations are read from the database.".to_string(),
        }
    }
}

impl Admin {
    pub(super) async fn state(&self, op: StateOp, now: i64) -> Result<StateReply, AdminError> {
        match &self.state {
            StateAccess::Direct(store) => Ok(state::apply(store, op, now).await?),
            StateAccess::Gateway(client) => match client.send(&op, now).await {
                Err(remote::RemoteError::Connect(addr, e))
                    if e.kind() == std::io::ErrorKind::ConnectionRefused =>
                {
                    // Refused is not proof of "stopped" (another address, a firewall): only a
                    // lock no running gateway holds is.
                    let lock = crate::mfa::running_lock_file(&self.config);
                    if gateway_holds(&lock) {
                        return Err(AdminError::Unreachable {
                            addr,
                            lock: lock.display().to_string(),
                        });
                    }
                    self.without_state(op, Absent::NotRunning(addr))
                }
                answer => Ok(answer?),
            },
            StateAccess::Unreachable => self.without_state(op, Absent::NoListener),
        }
    }

    /// The answer when the state is out of reach. A stopped gateway's memory is gone: it has
    /// no sessions or locks, so reads are empty and ends end nothing, but a lock cannot be set.
    /// Without a listener a running gateway may have some: reads are empty (and say so),
    /// changes are refused.
    fn without_state(&self, op: StateOp, why: Absent) -> Result<StateReply, AdminError> {
        let reply = match (op, why) {
            (StateOp::Sessions { .. }, _) => StateReply::Sessions(Vec::new()),
            (StateOp::Locks, _) => StateReply::Locks(Vec::new()),
            (StateOp::EndSession { .. }, Absent::NotRunning(_)) => StateReply::Done(false),
            (StateOp::EndUserSessions { .. }, Absent::NotRunning(_)) => StateReply::Count(0),
            (StateOp::SetLock { until: None, .. }, Absent::NotRunning(_)) => {
                StateReply::Done(false)
            }
            (StateOp::SetLock { until: Some(_), .. }, Absent::NotRunning(addr)) => {
                return Err(AdminError::NotRunning(addr))
            }
            (_, Absent::NoListener) => return Err(AdminError::NoAdminListener),
        };
        if let Ok(mut absent) = self.absent.lock() {
            *absent = Some(why);
        }
        Ok(reply)
    }
}
