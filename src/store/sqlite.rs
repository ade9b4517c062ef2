//! The embedded durable store: SQLite in WAL mode in the data directory.

use super::{CodeUse, DurableStore, FactorRecord, Invite, StoreError};
use crate::keys::Sealed;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;
use std::path::Path;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged enrollment survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        MIGRATIONS.run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// A write of one small row (readiness): fails as a real write would on a full disk or a
    /// read-only file system. The value changes each time: SQLite skips an update that
    /// changes nothing, which would prove nothing.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO readiness_probe (id, writes) VALUES (1, 1)
             ON CONFLICT (id) DO UPDATE SET writes = (readiness_probe.writes + 1) % 1000000",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn factor_record(row: &sqlx::sqlite::SqliteRow) -> Result<FactorRecord, StoreError> {
    let counter: Option<i64> = row.try_get("counter")?;
    let version: i64 = row.try_get("version")?;
    Ok(FactorRecord {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        user: row.try_get("user_name")?,
        method: row.try_get("method")?,
        secret: Sealed {
            key_id: row.try_get("key_id")?,
            nonce: row.try_get("nonce")?,
            ciphertext: row.try_get("ciphertext")?,
        },
        counter: counter
            .map(u64::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt("negative factor counter"))?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        version: u32::try_from(version).map_err(|_| StoreError::Corrupt("factor version"))?,
    })
}

const FACTOR_COLUMNS: &str =
    "id, realm, user_name, method, key_id, nonce, ciphertext, counter, created_at, last_used_at, version";

fn counter_to_db(counter: u64) -> Result<i64, StoreError> {
    i64::try_from(counter).map_err(|_| StoreError::Corrupt("factor counter out of range"))
}

impl DurableStore for SqliteStore {
    async fn factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> Result<Option<FactorRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {FACTOR_COLUMNS} FROM factors
             WHERE realm = ?1 AND user_name = ?2 AND method = ?3"
        ))
        .bind(realm)
        .bind(user)
        .bind(method)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(factor_record).transpose()
    }

    async fn factors(&self, realm: &str, user: &str) -> Result<Vec<FactorRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FACTOR_COLUMNS} FROM factors
             WHERE realm = ?1 AND user_name = ?2 ORDER BY method"
        ))
        .bind(realm)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(factor_record).collect()
    }

    async fn all_factors(&self) -> Result<Vec<FactorRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FACTOR_COLUMNS} FROM factors ORDER BY realm, user_name, method"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(factor_record).collect()
    }

    async fn reseal_factor(
        &self,
        factor_id: &str,
        old_key_id: &str,
        secret: &Sealed,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE factors SET key_id = ?3, nonce = ?4, ciphertext = ?5
             WHERE id = ?1 AND key_id = ?2",
        )
        .bind(factor_id)
        .bind(old_key_id)
        .bind(&secret.key_id)
        .bind(&secret.nonce)
        .bind(&secret.ciphertext)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_factor(&self, r: &FactorRecord) -> Result<(), StoreError> {
        put_factor_on(&mut *self.pool.acquire().await?, r).await
    }

    async fn record_factor_step(
        &self,
        realm: &str,
        user: &str,
        factor_id: &str,
        counter: u64,
        now: i64,
    ) -> Result<bool, StoreError> {
        // One conditional UPDATE: the check and the write cannot interleave with another's.
        let done = sqlx::query(
            "UPDATE factors SET counter = ?4, last_used_at = ?5
             WHERE realm = ?1 AND user_name = ?2 AND id = ?3 AND (counter IS NULL OR counter < ?4)",
        )
        .bind(realm)
        .bind(user)
        .bind(factor_id)
        .bind(counter_to_db(counter)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM factors WHERE realm = ?1 AND user_name = ?2 AND method = ?3")
                .bind(realm)
                .bind(user)
                .bind(method)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_recovery_codes(
        &self,
        realm: &str,
        user: &str,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        replace_codes_on(&mut tx, realm, user, hashes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn enroll_factor(
        &self,
        record: &FactorRecord,
        hashes: &[[u8; 32]],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        put_factor_on(&mut tx, record).await?;
        replace_codes_on(&mut tx, &record.realm, &record.user, hashes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_recovery_code(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<CodeUse, StoreError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ?4
             WHERE realm = ?1 AND user_name = ?2 AND code_hash = ?3 AND used_at IS NULL",
        )
        .bind(realm)
        .bind(user)
        .bind(&hash[..])
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() != 1 {
            let spent: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM recovery_codes
                 WHERE realm = ?1 AND user_name = ?2 AND code_hash = ?3 AND used_at IS NOT NULL)",
            )
            .bind(realm)
            .bind(user)
            .bind(&hash[..])
            .fetch_one(&self.pool)
            .await?;
            return Ok(if spent {
                CodeUse::Spent
            } else {
                CodeUse::Unknown
            });
        }
        // In this process's file: a second statement costs no round trip worth saving.
        Ok(CodeUse::Consumed(
            self.recovery_codes_left(realm, user).await?,
        ))
    }

    async fn recovery_codes_left(&self, realm: &str, user: &str) -> Result<u32, StoreError> {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE realm = ?1 AND user_name = ?2 AND used_at IS NULL",
        )
        .bind(realm)
        .bind(user)
        .fetch_one(&self.pool)
        .await?;
        u32::try_from(left).map_err(|_| StoreError::Corrupt("negative count"))
    }

    async fn recovery_codes_shown(&self, realm: &str, user: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes_unseen WHERE realm = ?1 AND user_name = ?2")
            .bind(realm)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn recovery_codes_unseen(&self, realm: &str, user: &str) -> Result<bool, StoreError> {
        let unseen: Option<i64> = sqlx::query_scalar(
            "SELECT u.created_at FROM recovery_codes_unseen u WHERE u.realm = ?1 AND u.user_name = ?2
             AND EXISTS (SELECT 1 FROM recovery_codes c WHERE c.realm = u.realm AND c.user_name = u.user_name AND c.used_at IS NULL)",
        )
        .bind(realm)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        Ok(unseen.is_some())
    }

    async fn put_invite(&self, invite: &Invite, hash: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO enrollment_invites (realm, user_name, code_hash, created_at, expires_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (realm, user_name) DO UPDATE SET code_hash = excluded.code_hash,
                 created_at = excluded.created_at, expires_at = excluded.expires_at,
                 created_by = excluded.created_by",
        )
        .bind(&invite.realm)
        .bind(&invite.user)
        .bind(&hash[..])
        .bind(invite.created_at)
        .bind(invite.expires_at)
        .bind(&invite.created_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_invite(
        &self,
        realm: &str,
        user: &str,
        hash: &[u8; 32],
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM enrollment_invites
             WHERE realm = ?1 AND user_name = ?2 AND code_hash = ?3 AND expires_at > ?4",
        )
        .bind(realm)
        .bind(user)
        .bind(&hash[..])
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn invite(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Option<Invite>, StoreError> {
        let row = sqlx::query(
            "SELECT created_at, expires_at, created_by FROM enrollment_invites
             WHERE realm = ?1 AND user_name = ?2 AND expires_at > ?3",
        )
        .bind(realm)
        .bind(user)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Invite {
                realm: realm.to_string(),
                user: user.to_string(),
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                created_by: row.try_get("created_by")?,
            })
        })
        .transpose()
    }

    async fn put_device(&self, device: &super::Device) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devices (realm, user_name, id, created_at, last_used_at, expires_at, user_agent, client)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(&device.realm)
        .bind(&device.user)
        .bind(&device.id)
        .bind(device.created_at)
        .bind(device.last_used_at)
        .bind(device.expires_at)
        .bind(&device.user_agent)
        .bind(&device.client)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn use_device(
        &self,
        realm: &str,
        user: &str,
        id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE devices SET last_used_at = ?4,
                 expires_at = CASE WHEN expires_at < ?5 THEN ?5 ELSE expires_at END
             WHERE realm = ?1 AND user_name = ?2 AND id = ?3 AND expires_at > ?4",
        )
        .bind(realm)
        .bind(user)
        .bind(id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn devices(
        &self,
        realm: &str,
        user: &str,
        now: i64,
    ) -> Result<Vec<super::Device>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, last_used_at, expires_at, user_agent, client FROM devices
             WHERE realm = ?1 AND user_name = ?2 AND expires_at > ?3
             ORDER BY last_used_at DESC, id",
        )
        .bind(realm)
        .bind(user)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(super::Device {
                    realm: realm.to_string(),
                    user: user.to_string(),
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    expires_at: row.try_get("expires_at")?,
                    user_agent: row.try_get("user_agent")?,
                    client: row.try_get("client")?,
                })
            })
            .collect()
    }

    async fn remove_devices(
        &self,
        realm: &str,
        user: &str,
        id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM devices WHERE realm = ?1 AND user_name = ?2 AND (?3 IS NULL OR id = ?3)",
        )
        .bind(realm)
        .bind(user)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn open_enrollment(&self, realm: &str, now: i64) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO enrollment_windows (realm, opened_at) VALUES (?1, ?2)
             ON CONFLICT (realm) DO NOTHING",
        )
        .bind(realm)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT opened_at FROM enrollment_windows WHERE realm = ?1")
                .bind(realm)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn enrollment_opened(&self, realm: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT opened_at FROM enrollment_windows WHERE realm = ?1")
                .bind(realm)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn note_unenrolled(&self, realm: &str, user: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO unenrolled (realm, user_name, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (realm, user_name) DO UPDATE SET last_seen_at = ?3",
        )
        .bind(realm)
        .bind(user)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn unenrolled(&self, realm: &str) -> Result<Vec<super::Unenrolled>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_name, first_seen_at, last_seen_at FROM unenrolled
             WHERE realm = ?1 ORDER BY user_name",
        )
        .bind(realm)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(super::Unenrolled {
                    user: row.try_get("user_name")?,
                    first_seen_at: row.try_get("first_seen_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                })
            })
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn key_fingerprint(&self) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT fingerprint FROM key_fingerprint WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn claim_key_fingerprint(
        &self,
        fingerprint: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO key_fingerprint (id, fingerprint, written_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(fingerprint)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT fingerprint FROM key_fingerprint WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// `put_factor` on a connection (a transaction's, for `enroll_factor`).
async fn put_factor_on(
    conn: &mut sqlx::SqliteConnection,
    r: &FactorRecord,
) -> Result<(), StoreError> {
    let counter = r.counter.map(counter_to_db).transpose()?;
    // Replaced by (realm, user, method): a new id, secret and counter, as a new enrollment.
    sqlx::query(&format!(
        "INSERT INTO factors ({FACTOR_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (realm, user_name, method) DO UPDATE SET
            id = excluded.id, key_id = excluded.key_id, nonce = excluded.nonce,
            ciphertext = excluded.ciphertext, counter = excluded.counter,
            created_at = excluded.created_at, last_used_at = excluded.last_used_at,
            version = excluded.version"
    ))
    .bind(&r.id)
    .bind(&r.realm)
    .bind(&r.user)
    .bind(&r.method)
    .bind(&r.secret.key_id)
    .bind(&r.secret.nonce)
    .bind(&r.secret.ciphertext)
    .bind(counter)
    .bind(r.created_at)
    .bind(r.last_used_at)
    .bind(i64::from(r.version))
    .execute(conn)
    .await?;
    Ok(())
}

/// `replace_recovery_codes` on a connection.
async fn replace_codes_on(
    conn: &mut sqlx::SqliteConnection,
    realm: &str,
    user: &str,
    hashes: &[[u8; 32]],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE realm = ?1 AND user_name = ?2")
        .bind(realm)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (realm, user_name, code_hash, created_at) VALUES (?1, ?2, ?3, ?4)")
            .bind(realm)
            .bind(user)
            .bind(&hash[..])
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    // Unseen until the user is shown the set (`recovery_codes_shown`).
    sqlx::query(
        "INSERT INTO recovery_codes_unseen (realm, user_name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (realm, user_name) DO UPDATE SET created_at = excluded.created_at",
    )
    .bind(realm)
    .bind(user)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fresh() -> (SqliteStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "mfa-sqlite-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.db");
        (SqliteStore::open(&path).await.unwrap(), path)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_passes_the_durable_store_suite() {
        let (store, _) = fresh().await;
        super::super::suite::durable_store_suite(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn enrollments_survive_reopening_the_file() {
        let (store, path) = fresh().await;
        let record = super::super::suite::sample_factor("main", "alice");
        store.put_factor(&record).await.unwrap();
        store
            .replace_recovery_codes("main", "alice", &[[7u8; 32]], 1)
            .await
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            reopened.factor("main", "alice", "totp").await.unwrap(),
            Some(record)
        );
        assert_eq!(
            reopened.recovery_codes_left("main", "alice").await.unwrap(),
            1
        );
    }
}
