//! The device registry: enrolled units, their stores and keys, when they were last seen,
//! and which are revoked. Kept in SQLite so a restart loses nothing.
//!
//! Every write is one transaction with `synchronous=FULL` in WAL mode: an enrollment that
//! was answered is on disk. The schema version is `PRAGMA user_version`; the tables are
//! created on first start. Calls block (a disk write can take milliseconds on a small
//! server), so handlers run them with `spawn_blocking`. The connection sits behind a mutex
//! held only for the duration of one call.
//! SQLite is built into the binary (rusqlite's `bundled`), whatever the host has.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use visavis_api::Mode;
pub use visavis_api::fleet::admin::DeviceRecord;
use visavis_api::fleet::enrollment::Claims;

/// Version of the schema below, in `PRAGMA user_version`. 2 added
/// `devices.token_expires_at` (see [`DeviceRegistry::enroll`]).
const SCHEMA_VERSION: i64 = 2;

/// From version 1: the expiry of the token that enrolled each unit, unknown for units
/// enrolled before (any newer-or-equal token may re-key them, as before).
const MIGRATE_1_TO_2: &str = "ALTER TABLE devices ADD COLUMN token_expires_at INTEGER;";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS devices (
    device_id   TEXT PRIMARY KEY NOT NULL,
    public_key  TEXT,
    store       TEXT,
    location    TEXT,
    mode        TEXT,
    enrolled_at INTEGER,
    last_seen   INTEGER,
    revoked_at  INTEGER,
    token_expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS used_enrollment_nonces (
    nonce     TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL,
    used_at   INTEGER NOT NULL
);
";

/// Why the registry could not answer.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the device registry {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("the device registry: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Why an enrollment was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollRefusal {
    Revoked,
    TokenUsed,
    /// The unit enrolled with a token issued after this one (it expires later): an old,
    /// unused seed must not take the unit over.
    TokenSuperseded,
}

/// The registry.
#[derive(Debug)]
pub struct DeviceRegistry {
    conn: Mutex<Connection>,
}

fn to_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DeviceRegistry {
    /// Open (or create) the registry at `path`. Its folder must exist.
    pub fn open(path: &Path) -> Result<DeviceRegistry, RegistryError> {
        let open_err = |message: String| RegistryError::Open {
            path: path.to_owned(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(open_err(format!(
                "its folder {} does not exist: create it, or set `database` to a path in an existing folder",
                dir.display()
            )));
        }
        if path.is_dir() {
            return Err(open_err(
                "this is a folder: set `database` to a file in it, such as registry.sqlite3".into(),
            ));
        }
        let conn = Connection::open(path).map_err(|e| {
            open_err(format!(
                "{e} (may the user running rendezvous read and write it and its folder?)"
            ))
        })?;
        let setup = || -> rusqlite::Result<i64> {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "busy_timeout", 5000)?;
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if version == 0 {
                conn.execute_batch(SCHEMA)?;
                conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            } else if version == 1 {
                conn.execute_batch(&format!(
                    "BEGIN; {MIGRATE_1_TO_2} PRAGMA user_version = 2; COMMIT;"
                ))?;
            }
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
        };
        let version = setup().map_err(|e| {
            open_err(format!(
                "{e} (is it an SQLite database written by rendezvous, and writable?)"
            ))
        })?;
        if version != SCHEMA_VERSION {
            return Err(open_err(format!(
                "schema version {version}, this rendezvous knows {SCHEMA_VERSION}: use the rendezvous that wrote it, or a new file"
            )));
        }
        Ok(DeviceRegistry {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record `public_key` for the unit the token's `claims` name, in one transaction.
    /// Tokens are ordered by their expiry (`provision bundle` gives each the same lifetime):
    /// a unit enrolled with one token cannot be re-keyed by an older token, only by the same
    /// or a newer one (a unit re-provisioned with a new seed).
    pub fn enroll(
        &self,
        claims: &Claims,
        public_key: &str,
        now: u64,
    ) -> Result<Result<(), EnrollRefusal>, RegistryError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing: Option<(Option<String>, Option<i64>, Option<i64>)> = tx
            .query_row(
                "SELECT public_key, revoked_at, token_expires_at FROM devices WHERE device_id = ?1",
                params![claims.device_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if existing
            .as_ref()
            .is_some_and(|(_, revoked, _)| revoked.is_some())
        {
            return Ok(Err(EnrollRefusal::Revoked));
        }
        let used: Option<String> = tx
            .query_row(
                "SELECT device_id FROM used_enrollment_nonces WHERE nonce = ?1",
                params![claims.nonce],
                |r| r.get(0),
            )
            .optional()?;
        if used.is_some() {
            // A retry after a lost answer is fine; anyone else with the token is not.
            let same = existing.is_some_and(|(key, _, _)| key.as_deref() == Some(public_key));
            return Ok(if same {
                Ok(())
            } else {
                Err(EnrollRefusal::TokenUsed)
            });
        }
        if let Some((_, _, Some(newest))) = existing
            && to_i64(claims.expires_at) < newest
        {
            return Ok(Err(EnrollRefusal::TokenSuperseded));
        }
        tx.execute(
            "INSERT INTO devices (device_id, public_key, store, location, mode, enrolled_at, last_seen,
                                  token_expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
             ON CONFLICT(device_id) DO UPDATE SET public_key = ?2, store = ?3, location = ?4,
                 mode = ?5, enrolled_at = ?6, last_seen = ?6, token_expires_at = ?7",
            params![
                claims.device_id,
                public_key,
                claims.store,
                claims.location,
                claims.mode.as_str(),
                to_i64(now),
                to_i64(claims.expires_at)
            ],
        )?;
        tx.execute(
            "INSERT INTO used_enrollment_nonces (nonce, device_id, used_at) VALUES (?1, ?2, ?3)",
            params![claims.nonce, claims.device_id, to_i64(now)],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// The unit's record, if it ever enrolled or was revoked.
    pub fn get(&self, device_id: &str) -> Result<Option<DeviceRecord>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT device_id, store, location, mode, public_key, enrolled_at, last_seen, revoked_at
             FROM devices WHERE device_id = ?1",
        )?;
        Ok(stmt.query_row(params![device_id], record).optional()?)
    }

    /// Note that the unit just authenticated. `false`: it is unknown or revoked after all
    /// (revoked since it was checked), and nothing was written.
    pub fn seen(&self, device_id: &str, now: u64) -> Result<bool, RegistryError> {
        let changed = self.conn().execute(
            "UPDATE devices SET last_seen = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, to_i64(now)],
        )?;
        Ok(changed == 1)
    }

    /// Revoke the unit (recorded even if it never enrolled: a lost SD card can be revoked
    /// before it boots). Returns when it was revoked; revoking twice keeps the first time.
    pub fn revoke(&self, device_id: &str, now: u64) -> Result<u64, RegistryError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO devices (device_id, revoked_at) VALUES (?1, ?2)
             ON CONFLICT(device_id) DO UPDATE SET revoked_at = COALESCE(revoked_at, ?2)",
            params![device_id, to_i64(now)],
        )?;
        let at: Option<i64> = conn.query_row(
            "SELECT revoked_at FROM devices WHERE device_id = ?1",
            params![device_id],
            |r| r.get(0),
        )?;
        Ok(to_u64(at).unwrap_or(now))
    }

    /// Every unit, by id.
    pub fn list(&self) -> Result<Vec<DeviceRecord>, RegistryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT device_id, store, location, mode, public_key, enrolled_at, last_seen, revoked_at
             FROM devices ORDER BY device_id",
        )?;
        let rows = stmt.query_map([], record)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    Ok(DeviceRecord {
        device_id: r.get(0)?,
        store: r.get(1)?,
        location: r.get(2)?,
        // Written from a checked token, so a word that is no mode is a damaged registry.
        mode: r
            .get::<_, Option<String>>(3)?
            .map(|m| m.parse::<Mode>())
            .transpose()
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
            })?,
        public_key: r.get(4)?,
        enrolled_at: to_u64(r.get(5)?),
        last_seen: to_u64(r.get(6)?),
        revoked_at: to_u64(r.get(7)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(device: &str, nonce: &str) -> Claims {
        Claims {
            device_id: device.into(),
            store: "Paris 9e".into(),
            location: "Cabine 3".into(),
            mode: Mode::FittingRoom,
            expires_at: 10_000,
            nonce: nonce.into(),
        }
    }

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "visavis-registry-{name}-{}",
            visavis_api::fleet::b64(&visavis_api::fleet::random::<6>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("registry.sqlite3")
    }

    #[test]
    fn a_token_enrolls_once_and_a_retry_with_the_same_key_is_fine() {
        let db = temp_db("once");
        let r = DeviceRegistry::open(&db).unwrap();
        assert_eq!(r.enroll(&claims("u1", "n1"), "key-a", 100).unwrap(), Ok(()));
        assert_eq!(r.enroll(&claims("u1", "n1"), "key-a", 101).unwrap(), Ok(()));
        assert_eq!(
            r.enroll(&claims("u1", "n1"), "key-b", 102).unwrap(),
            Err(EnrollRefusal::TokenUsed)
        );
        let rec = r.get("u1").unwrap().unwrap();
        assert_eq!(rec.public_key.as_deref(), Some("key-a"));
        assert_eq!(rec.store.as_deref(), Some("Paris 9e"));
        assert_eq!(rec.mode, Some(Mode::FittingRoom), "read back as written");
        // Re-provisioned with a new token: the new key replaces the old one.
        assert_eq!(r.enroll(&claims("u1", "n2"), "key-c", 200).unwrap(), Ok(()));
        assert_eq!(
            r.get("u1").unwrap().unwrap().public_key.as_deref(),
            Some("key-c")
        );
    }

    #[test]
    fn an_older_token_cannot_rekey_a_unit_a_newer_one_can() {
        let db = temp_db("generations");
        let r = DeviceRegistry::open(&db).unwrap();
        let token = |nonce: &str, expires_at| Claims {
            expires_at,
            ..claims("u1", nonce)
        };
        assert_eq!(
            r.enroll(&token("new", 20_000), "key-a", 100).unwrap(),
            Ok(())
        );
        // A superseded seed, never used, from an IT laptop.
        assert_eq!(
            r.enroll(&token("old", 10_000), "key-evil", 101).unwrap(),
            Err(EnrollRefusal::TokenSuperseded)
        );
        assert_eq!(
            r.get("u1").unwrap().unwrap().public_key.as_deref(),
            Some("key-a")
        );
        // The newest token retried by the unit that used it: still welcome.
        assert_eq!(
            r.enroll(&token("new", 20_000), "key-a", 102).unwrap(),
            Ok(())
        );
        // Re-provisioned with a newer seed: re-keyed.
        assert_eq!(
            r.enroll(&token("newer", 30_000), "key-b", 103).unwrap(),
            Ok(())
        );
        assert_eq!(
            r.get("u1").unwrap().unwrap().public_key.as_deref(),
            Some("key-b")
        );
        assert_eq!(
            r.enroll(&token("new-unused", 20_000), "key-evil", 104)
                .unwrap(),
            Err(EnrollRefusal::TokenSuperseded)
        );
    }

    #[test]
    fn a_version_1_registry_is_upgraded_and_keeps_its_units() {
        let db = temp_db("v1");
        {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch(
                "CREATE TABLE devices (device_id TEXT PRIMARY KEY NOT NULL, public_key TEXT,
                     store TEXT, location TEXT, mode TEXT, enrolled_at INTEGER,
                     last_seen INTEGER, revoked_at INTEGER);
                 CREATE TABLE used_enrollment_nonces (nonce TEXT PRIMARY KEY NOT NULL,
                     device_id TEXT NOT NULL, used_at INTEGER NOT NULL);
                 INSERT INTO devices (device_id, public_key) VALUES ('u1', 'key-a');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let r = DeviceRegistry::open(&db).unwrap();
        assert_eq!(
            r.get("u1").unwrap().unwrap().public_key.as_deref(),
            Some("key-a")
        );
        assert_eq!(r.enroll(&claims("u1", "n1"), "key-b", 100).unwrap(), Ok(()));
        drop(r);
        let again = DeviceRegistry::open(&db).unwrap();
        assert_eq!(
            again
                .enroll(&claims("u1", "n0").clone(), "key-c", 101)
                .unwrap(),
            Ok(()),
            "the same generation (expiry) may re-key"
        );
    }

    #[test]
    fn revoked_units_cannot_enroll_and_revoking_works_before_enrollment() {
        let db = temp_db("revoke");
        let r = DeviceRegistry::open(&db).unwrap();
        assert_eq!(r.revoke("lost-card", 50).unwrap(), 50);
        assert_eq!(
            r.revoke("lost-card", 60).unwrap(),
            50,
            "the first time is kept"
        );
        assert_eq!(
            r.enroll(&claims("lost-card", "n"), "k", 70).unwrap(),
            Err(EnrollRefusal::Revoked)
        );
        assert_eq!(r.list().unwrap().len(), 1);
        assert!(
            !r.seen("lost-card", 80).unwrap(),
            "a revoked unit is not seen"
        );
        assert!(!r.seen("never-heard-of", 80).unwrap());
        assert_eq!(r.get("lost-card").unwrap().unwrap().last_seen, None);
    }

    #[test]
    fn the_registry_survives_reopening() {
        let db = temp_db("reopen");
        {
            let r = DeviceRegistry::open(&db).unwrap();
            r.enroll(&claims("u1", "n1"), "key-a", 100)
                .unwrap()
                .unwrap();
            assert!(r.seen("u1", 150).unwrap());
        }
        let r = DeviceRegistry::open(&db).unwrap();
        let rec = r.get("u1").unwrap().unwrap();
        assert_eq!((rec.enrolled_at, rec.last_seen), (Some(100), Some(150)));
        assert_eq!(
            r.enroll(&claims("u1", "n1"), "key-z", 200).unwrap(),
            Err(EnrollRefusal::TokenUsed),
            "used tokens stay used across restarts"
        );
    }

    #[test]
    fn a_file_that_is_not_a_registry_is_refused_clearly() {
        let db = temp_db("garbage");
        std::fs::write(
            &db,
            b"this is not sqlite, just some text long enough to be a header",
        )
        .unwrap();
        let e = DeviceRegistry::open(&db).unwrap_err().to_string();
        assert!(e.contains("SQLite database written by rendezvous"), "{e}");
        let e = DeviceRegistry::open(Path::new("/nonexistent/dir/registry.sqlite3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let e = DeviceRegistry::open(db.parent().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a folder"), "{e}");
    }
}
