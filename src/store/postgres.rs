//! The shared durable store: PostgreSQL, for several gateways. Every check-and-set is one
//! conditional statement, so gateways racing on one database still accept a code once.

use super::{CodeUse, DurableStore, FactorRecord, Invite, StoreError};
use crate::keys::Sealed;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects (pooled; `sslmode` and credentials from the URL) and applies pending migrations.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let store = Self::connect(url, max_connections)?;
        store.migrate().await?;
        Ok(store)
    }

    /// A pool that connects lazily: the gateway starts (and reports not ready) while the
    /// database is down, and recovers by itself when it returns.
    pub fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // Also how long a request waits before its 503 while the database cannot be
            // reached (a refused connection is retried until then). Not shorter: a burst of
            // logins queues for the pool's connections, and one second turned such a burst
            // into 503s (10,000 parallel logins on three gateways, in CI). Readiness does not
            // wait on it: its probe has a bound of its own (400 ms).
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(options);
        Ok(PostgresStore { pool })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATIONS.run(&self.pool).await?;
        Ok(())
    }

    /// A write of one small row (readiness): fails as a real write would on a full disk or a
    /// read-only standby.
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

fn factor_record(row: &PgRow) -> Result<FactorRecord, StoreError> {
    let counter: Option<i64> = row.try_get("counter")?;
    let version: i32 = row.try_get("version")?;
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

fn counter_to_db(counter: u64) -> Result<i64, StoreError> {
    i64::try_from(counter).map_err(|_| StoreError::Corrupt("factor counter out of range"))
}

const FACTOR_COLUMNS: &str =
    "id, realm, user_name, method, key_id, nonce, ciphertext, counter, created_at, last_used_at, version";

impl DurableStore for PostgresStore {
    async fn factor(
        &self,
        realm: &str,
        user: &str,
        method: &str,
    ) -> Result<Option<FactorRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {FACTOR_COLUMNS} FROM factors
             WHERE realm = $1 AND user_name = $2 AND method = $3"
        ))
        .bind(realm)
        .bind(user)
        .bind(method)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(factor_record).transpose()
    }

    async fn put_factor(&self, r: &FactorRecord) -> Result<(), StoreError> {
        put_factor_on(&mut *self.pool.acquire().await?, r).await
    }

    async fn factors(&self, realm: &str, user: &str) -> Result<Vec<FactorRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FACTOR_COLUMNS} FROM factors
             WHERE realm = $1 AND user_name = $2 ORDER BY method"
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
            "UPDATE factors SET key_id = $3, nonce = $4, ciphertext = $5
             WHERE id = $1 AND key_id = $2",
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

    async fn record_factor_step(
        &self,
        realm: &str,
        user: &str,
        factor_id: &str,
        counter: u64,
        now: i64,
    ) -> Result<bool, StoreError> {
        // One conditional UPDATE: under READ COMMITTED a racing UPDATE re-checks the condition
        // on the row the first one wrote, so only one of them matches.
        let done = sqlx::query(
            "UPDATE factors SET counter = $4, last_used_at = $5
             WHERE realm = $1 AND user_name = $2 AND id = $3 AND (counter IS NULL OR counter < $4)",
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
            sqlx::query("DELETE FROM factors WHERE realm = $1 AND user_name = $2 AND method = $3")
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
        // One round trip: the conditional UPDATE and the count of what is left. The count
        // reads the snapshot from before the UPDATE (a CTE's change is not visible to its
        // statement), so the code just used is taken off.
        let row = sqlx::query(
            "WITH used AS (
                 UPDATE recovery_codes SET used_at = $4
                 WHERE realm = $1 AND user_name = $2 AND code_hash = $3 AND used_at IS NULL
                 RETURNING 1
             )
             SELECT (SELECT COUNT(*) FROM used) AS used,
                    (SELECT COUNT(*) FROM recovery_codes
                     WHERE realm = $1 AND user_name = $2 AND used_at IS NULL) AS unused,
                    (SELECT COUNT(*) FROM recovery_codes
                     WHERE realm = $1 AND user_name = $2 AND code_hash = $3
                       AND used_at IS NOT NULL) AS spent",
        )
        .bind(realm)
        .bind(user)
        .bind(&hash[..])
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let used: i64 = row.try_get("used")?;
        let unused: i64 = row.try_get("unused")?;
        if used != 1 {
            let spent: i64 = row.try_get("spent")?;
            return Ok(if spent > 0 {
                CodeUse::Spent
            } else {
                CodeUse::Unknown
            });
        }
        u32::try_from(unused - 1)
            .map(CodeUse::Consumed)
            .map_err(|_| StoreError::Corrupt("negative count"))
    }

    async fn recovery_codes_left(&self, realm: &str, user: &str) -> Result<u32, StoreError> {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE realm = $1 AND user_name = $2 AND used_at IS NULL",
        )
        .bind(realm)
        .bind(user)
        .fetch_one(&self.pool)
        .await?;
        u32::try_from(left).map_err(|_| StoreError::Corrupt("negative count"))
    }

    async fn recovery_codes_shown(&self, realm: &str, user: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes_unseen WHERE realm = $1 AND user_name = $2")
            .bind(realm)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn recovery_codes_unseen(&self, realm: &str, user: &str) -> Result<bool, StoreError> {
        let unseen: Option<i64> = sqlx::query_scalar(
            "SELECT u.created_at FROM recovery_codes_unseen u WHERE u.realm = $1 AND u.user_name = $2
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
             VALUES ($1, $2, $3, $4, $5, $6)
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
             WHERE realm = $1 AND user_name = $2 AND code_hash = $3 AND expires_at > $4",
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
             WHERE realm = $1 AND user_name = $2 AND expires_at > $3",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
            "UPDATE devices SET last_used_at = $4,
                 expires_at = CASE WHEN expires_at < $5 THEN $5 ELSE expires_at END
             WHERE realm = $1 AND user_name = $2 AND id = $3 AND expires_at > $4",
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
             WHERE realm = $1 AND user_name = $2 AND expires_at > $3
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
            "DELETE FROM devices WHERE realm = $1 AND user_name = $2 AND ($3 IS NULL OR id = $3)",
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
            "INSERT INTO enrollment_windows (realm, opened_at) VALUES ($1, $2)
             ON CONFLICT (realm) DO NOTHING",
        )
        .bind(realm)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT opened_at FROM enrollment_windows WHERE realm = $1")
                .bind(realm)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn enrollment_opened(&self, realm: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT opened_at FROM enrollment_windows WHERE realm = $1")
                .bind(realm)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn note_unenrolled(&self, realm: &str, user: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO unenrolled (realm, user_name, first_seen_at, last_seen_at)
             VALUES ($1, $2, $3, $3)
             ON CONFLICT (realm, user_name) DO UPDATE SET last_seen_at = $3",
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
             WHERE realm = $1 ORDER BY user_name",
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
            "INSERT INTO key_fingerprint (id, fingerprint, written_at) VALUES (1, $1, $2)
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
async fn put_factor_on(conn: &mut sqlx::PgConnection, r: &FactorRecord) -> Result<(), StoreError> {
    let counter = r.counter.map(counter_to_db).transpose()?;
    let version =
        i32::try_from(r.version).map_err(|_| StoreError::Corrupt("factor version out of range"))?;
    // Replaced by (realm, user, method): a new id, secret and counter, as a new enrollment.
    sqlx::query(&format!(
        "INSERT INTO factors ({FACTOR_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// `replace_recovery_codes` on a connection.
async fn replace_codes_on(
    conn: &mut sqlx::PgConnection,
    realm: &str,
    user: &str,
    hashes: &[[u8; 32]],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE realm = $1 AND user_name = $2")
        .bind(realm)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    let hashes: Vec<Vec<u8>> = hashes.iter().map(|h| h.to_vec()).collect();
    sqlx::query(
        "INSERT INTO recovery_codes (realm, user_name, code_hash, created_at)
         SELECT $1, $2, h, $4 FROM UNNEST($3::bytea[]) AS h",
    )
    .bind(realm)
    .bind(user)
    .bind(&hashes)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // Unseen until the user is shown the set (`recovery_codes_shown`).
    sqlx::query(
        "INSERT INTO recovery_codes_unseen (realm, user_name, created_at) VALUES ($1, $2, $3)
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

    /// A fresh schema of its own on the test server (MFA_TEST_DATABASE_URL), so tests running
    /// side by side never see each other's rows.
    pub async fn fresh() -> PostgresStore {
        let base = std::env::var("MFA_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("t{:016x}", rand::random::<u64>());
        let admin = PostgresStore::connect(&base, 1).unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin.pool)
            .await
            .expect("PostgreSQL must run for these tests (scripts/test starts it)");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        PostgresStore::open(&url, 8).await.unwrap()
    }

    #[tokio::test]
    async fn tls_is_used_when_the_url_asks_for_it() {
        let base = std::env::var("MFA_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let separator = if base.contains('?') { '&' } else { '?' };
        let store =
            PostgresStore::connect(&format!("{base}{separator}sslmode=require"), 1).unwrap();
        let encrypted: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(encrypted);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_passes_the_durable_store_suite() {
        super::super::suite::durable_store_suite(&fresh().await).await;
    }
}
